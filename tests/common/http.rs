//! A loopback HTTP/1.1 server (on `loopback.rs`) that serves fixed bodies by path (stands in for the presigned
//! S3 URL that GetDownloadUrlForLayer returns). Counts requests.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::loopback::{respond, Request};

#[derive(Clone, Default)]
pub struct BlobServer {
    pub base: String,
    bodies: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    /// Paths answered only after this delay (a stalled store).
    slow: Arc<Mutex<HashMap<String, std::time::Duration>>>,
    pub requests: Arc<AtomicUsize>,
}

impl BlobServer {
    pub fn start() -> BlobServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = BlobServer {
            base,
            ..BlobServer::default()
        };
        let s = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let Some(request) = Request::read(&stream) else {
                    continue;
                };
                s.requests.fetch_add(1, Ordering::SeqCst);
                let path = request.path().to_string();
                let delay = s.slow.lock().unwrap().get(&path).copied();
                if let Some(d) = delay {
                    std::thread::sleep(d);
                }
                match s.bodies.lock().unwrap().get(&path) {
                    Some(b) => respond(&stream, "200 OK", "application/octet-stream", &[], b),
                    None => respond(&stream, "404 Not Found", "text/plain", &[], b""),
                }
            }
        });
        server
    }

    /// Serves `bytes` at `/blobs/<digest>` and returns a presigned-looking URL for it.
    pub fn put(&self, digest: &str, bytes: &[u8]) -> String {
        let path = format!("/blobs/{digest}");
        self.bodies
            .lock()
            .unwrap()
            .insert(path.clone(), bytes.to_vec());
        format!(
            "{}{path}?X-Amz-Signature=secret-signature&X-Amz-Credential=AKIAEXAMPLE",
            self.base
        )
    }

    /// Like [`BlobServer::put`], answered only after `delay`.
    pub fn put_slow(&self, digest: &str, bytes: &[u8], delay: std::time::Duration) -> String {
        self.slow
            .lock()
            .unwrap()
            .insert(format!("/blobs/{digest}"), delay);
        self.put(digest, bytes)
    }

    pub fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}
