//! `moto_server` (from the project's `.venv`, see `requirements-dev.txt`) on a free 127.0.0.1
//! port, stopped when dropped (also when a test panics).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::loopback::{free_port, project};

/// A running `moto_server`, killed on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    pub fn start() -> Moto {
        let bin = project().join(".venv/bin/moto_server");
        assert!(
            bin.exists(),
            "{} is missing: run scripts/test (or scripts/demo), which creates .venv from requirements-dev.txt",
            bin.display()
        );
        let port = free_port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = s.write_all(
                    b"GET /moto-api/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                );
                let mut buf = [0u8; 12];
                if s.read(&mut buf).map(|n| n > 0).unwrap_or(false) {
                    return moto;
                }
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One JSON-protocol call to moto, as the harness (not the guard) makes it.
pub fn call(
    moto_port: u16,
    service: &str,
    target: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let body = body.to_string();
    let mut upstream = TcpStream::connect(("127.0.0.1", moto_port)).unwrap();
    let request = format!(
        "POST / HTTP/1.1\r\nhost: 127.0.0.1:{moto_port}\r\nx-amz-target: {target}\r\n\
         content-type: application/x-amz-json-1.1\r\n\
         authorization: AWS4-HMAC-SHA256 Credential=testing/20261125/us-east-1/{service}/aws4_request, \
         SignedHeaders=host, Signature=0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    upstream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer).unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    serde_json::from_slice(&answer[split + 4..]).unwrap()
}

/// The digest moto's ECR gives `repository:tag` (BatchGetImage, moto's own digest of the
/// manifest bytes).
pub fn ecr_digest(moto_port: u16, repository: &str, tag: &str) -> Option<String> {
    let body = serde_json::json!({"repositoryName": repository, "imageIds": [{"imageTag": tag}]})
        .to_string();
    let mut upstream = TcpStream::connect(("127.0.0.1", moto_port)).ok()?;
    let request = format!(
        "POST / HTTP/1.1\r\nhost: 127.0.0.1:{moto_port}\r\n\
         x-amz-target: AmazonEC2ContainerRegistry_V20150921.BatchGetImage\r\n\
         content-type: application/x-amz-json-1.1\r\n\
         authorization: AWS4-HMAC-SHA256 Credential=testing/20261125/us-east-1/ecr/aws4_request, \
         SignedHeaders=host, Signature=0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    upstream.write_all(request.as_bytes()).ok()?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer).ok()?;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let json: serde_json::Value = serde_json::from_slice(&answer[split + 4..]).ok()?;
    json["images"][0]["imageId"]["imageDigest"]
        .as_str()
        .map(str::to_string)
}
