//! The real `bootstrap` binary under AWS's own Lambda Runtime Interface Emulator
//! (`aws-lambda-rie`, the one `sam local` runs inside its containers), taken from the pinned
//! `aws-sam-cli` wheel by `scripts/setup-python` into `.venv/bin/aws-lambda-rie`.
//!
//! Facts this harness relies on, measured with aws-sam-cli 1.170.0's emulator:
//! - flags `--runtime-interface-emulator-address` (where invocations are POSTed),
//!   `--runtime-api-address` (the Runtime API the handler talks to; its default port 9001
//!   would collide between tests), `--log-level` (info here: its debug lines, one per
//!   Runtime API request, are not needed); the rest of the command line is the handler;
//! - the handler is spawned on the first invocation, with the emulator's environment;
//! - `POST /2015-03-31/functions/function/invocations` answers with the handler's response,
//!   or, for a runtime `/error`, HTTP 200 with the error document (`errorType`,
//!   `errorMessage`), which is how an error is told apart here; a handler that exits gives
//!   HTTP 502 (`Runtime.ExitError`) and a fresh process on the next invocation;
//! - the `INIT REPORT(durationMs: …)` line is the handler's start-up (spawn to its first
//!   `GET /runtime/invocation/next`).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::local_aws::REGION;
use super::loopback::{free_port, project};

/// What the function answered for one invocation.
#[derive(Clone, Debug)]
pub enum Outcome {
    Response(serde_json::Value),
    /// The function failed the invocation (Lambda would retry it, then dead-letter it).
    Error(serde_json::Value),
}

/// The `bootstrap` binary of this build: the `lambda/` package's, which `cargo test` and
/// `cargo build` here build beside this test or example (`target/<profile>/deps/…` or
/// `target/<profile>/examples/…` → `target/<profile>/bootstrap`).
pub fn bootstrap() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = profile_dir.join("bootstrap");
    assert!(
        bin.exists(),
        "{} missing: build the Lambda with `cargo build -p ecr-arch-guard-lambda` (a plain \
         `cargo test` or `cargo build` in the project builds it)",
        bin.display()
    );
    bin
}

/// `bootstrap` running under AWS's Runtime Interface Emulator; stopped when dropped.
pub struct Lambda {
    child: Child,
    invoke_addr: String,
    /// The emulator's output, the function's own log lines among it, drained continuously.
    logs: Arc<Mutex<String>>,
    drains: Vec<std::thread::JoinHandle<()>>,
}

impl Lambda {
    /// Starts the emulator with this build's `bootstrap` and `env` (plus the Lambda and local
    /// AWS variables, pointed at `endpoint`).
    pub fn start(endpoint: &str, env: &[(&str, &str)]) -> Lambda {
        Lambda::start_bin(&bootstrap(), endpoint, env)
    }

    /// Like [`Lambda::start`] with a given `bootstrap` binary (e.g. the release build).
    pub fn start_bin(bin: &Path, endpoint: &str, env: &[(&str, &str)]) -> Lambda {
        let rie = project().join(".venv/bin/aws-lambda-rie");
        assert!(
            rie.exists(),
            "{} is missing: run scripts/test (or scripts/setup-python), which extracts it from the pinned aws-sam-cli",
            rie.display()
        );
        let invoke_addr = format!("127.0.0.1:{}", free_port());
        let runtime_addr = format!("127.0.0.1:{}", free_port());
        let mut cmd = Command::new(rie);
        cmd.args([
            "--runtime-interface-emulator-address",
            &invoke_addr,
            "--runtime-api-address",
            &runtime_addr,
            "--log-level",
            "info",
        ])
        .arg(bin)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_FUNCTION_NAME", "ecr-arch-guard-guard")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_TIMEOUT", "60")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/ecr-arch-guard-guard",
        )
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("ALLOW_HTTP_DOWNLOADS", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start aws-lambda-rie");
        let logs: Arc<Mutex<String>> = Arc::default();
        let mut drains = Vec::new();
        let out = child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn Read + Send>);
        let err = child
            .stderr
            .take()
            .map(|e| Box::new(e) as Box<dyn Read + Send>);
        for pipe in [out, err].into_iter().flatten() {
            let logs = logs.clone();
            drains.push(std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut l = logs.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            }));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&invoke_addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "aws-lambda-rie did not listen on {invoke_addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Lambda {
            child,
            invoke_addr,
            logs,
            drains,
        }
    }

    /// Invokes the function with `event` (as the Lambda Invoke API would) and waits for the
    /// answer.
    pub fn invoke(&mut self, event: &serde_json::Value) -> Outcome {
        let body = event.to_string();
        let mut s = TcpStream::connect(&self.invoke_addr).expect("connect to aws-lambda-rie");
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let head = format!(
            "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.invoke_addr,
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body.as_bytes()).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)
            .expect("an answer from aws-lambda-rie within 120 s");
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let chunked = head.lines().any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("transfer-encoding:") && l.contains("chunked")
        });
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_string()
        };
        let value: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|_| serde_json::Value::from(body.clone()));
        let is_error_document = value.get("errorType").is_some() && value.get("verdict").is_none();
        if status == 200 && !is_error_document {
            Outcome::Response(value)
        } else {
            Outcome::Error(value)
        }
    }

    /// The handler's start-up as the emulator measured it (`INIT REPORT durationMs`: spawn to
    /// the first `GET /runtime/invocation/next`), once the first invocation has started it
    /// (waits up to 10 s for the line).
    pub fn init_duration(&self) -> Option<Duration> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = {
                let logs = self.logs.lock().unwrap();
                logs.lines()
                    .find(|l| l.contains("INIT REPORT"))
                    .and_then(|line| line.split("durationMs:").nth(1))
                    .and_then(|ms| ms.trim().trim_end_matches(')').trim().parse::<f64>().ok())
            };
            if let Some(ms) = found {
                return Some(Duration::from_secs_f64(ms / 1000.0));
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The process id of the function (the emulator's child), once it runs.
    pub fn function_pid(&self) -> Option<u32> {
        let parent = self.child.id();
        std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // pid (comm) state ppid …: comm may hold spaces, so split after the last ')'.
            let ppid: u32 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            (ppid == parent).then_some(pid)
        })
    }

    /// The emulator's Invoke API as an endpoint for an SDK Lambda client
    /// (`AWS_ENDPOINT_URL_LAMBDA`); the function's name there is `function`.
    pub fn invoke_endpoint(&self) -> String {
        format!("http://{}", self.invoke_addr)
    }

    /// Everything logged so far (the emulator's lines and the function's).
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Stops the emulator and the function and returns what they logged.
    pub fn stop(mut self) -> String {
        self.kill();
        for d in self.drains.drain(..) {
            let _ = d.join();
        }
        self.logs()
    }

    fn kill(&mut self) {
        if let Some(pid) = self.function_pid() {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An HTTP/1.1 chunked body decoded (RFC 9112 §7.1: `SIZE-IN-HEX[;ext]\r\nDATA\r\n` … `0\r\n`),
/// as the emulator sends a larger answer.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((line, after)) = rest.split_once("\r\n") {
        let size =
            usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}
