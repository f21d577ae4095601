//! Faults injected at the gap filler (the loopback proxy in front of moto), with a fixed seed:
//! what the guard meets on real AWS beyond the happy path, as each service documents it.
//!
//! - **Throttling**, in each service's own words: ECR and ECS (JSON 1.1 protocol) HTTP 400
//!   `ThrottlingException` (ECR and ECS API References, "Common Errors"); Lambda HTTP 429
//!   `TooManyRequestsException` (Lambda API Reference); SNS HTTP 429 `Throttled` (SNS API
//!   Reference, Publish, `ThrottledException`: query-protocol code "Throttled"); S3 HTTP 503
//!   `SlowDown` (S3 API Reference, "Error responses"); STS HTTP 400 `Throttling`.
//! - **Server errors**: HTTP 500 (`InternalFailure` / S3 `InternalError`) and 503
//!   (`ServiceUnavailable`).
//! - **A connection reset before the request is carried out**, and **after** it: the request
//!   reaches moto and is carried out (a claim written, an alert published, a tag written), the
//!   answer is lost — the case that makes a client retry what already happened.
//! - **A slow answer**: carried out, answered after [`SLOW`] (longer than the SDK clients'
//!   attempt timeout, `aws::timeouts::ATTEMPT`).
//! - **A hung connection**: nothing answered for [`HUNG`], then closed.
//! - **A download cut mid-body** (the presigned URL's blob): headers and half the body, then
//!   closed.
//! - **The state bucket down** (not drawn, set by a test): every S3 call answered 404
//!   `NoSuchBucket`, 403 `AccessDenied`, or 503.
//!
//! Decisions come from a xorshift generator seeded by the test, one draw per request in the
//! order requests arrive (with concurrent deliveries the interleaving is the scheduler's: the
//! counts repeat closely, not to the request).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::Duration;

use super::loopback::respond;

/// How long a slow answer waits (the SDK's attempt timeout is 5 s).
pub const SLOW: Duration = Duration::from_millis(5_500);
/// How long a hung connection is held before it is closed.
pub const HUNG: Duration = Duration::from_secs(8);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    Throttle,
    ServerError,
    Unavailable,
    ResetBefore,
    ResetAfter,
    Slow,
    Hung,
    CutBody,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::Throttle => "throttled",
            Fault::ServerError => "500",
            Fault::Unavailable => "503",
            Fault::ResetBefore => "reset before",
            Fault::ResetAfter => "reset after (carried out, answer lost)",
            Fault::Slow => "slow (past the attempt timeout)",
            Fault::Hung => "hung",
            Fault::CutBody => "download cut mid-body",
        }
    }
}

/// The state bucket as a test sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    Up,
    /// 404 `NoSuchBucket`: deleted or misnamed.
    Missing,
    /// 403 `AccessDenied`: a policy or role that does not allow it.
    Denied,
    /// 503 `ServiceUnavailable` on every call.
    Unreachable,
}

struct State {
    rng: u64,
    /// Faulted requests per 1,000.
    per_mille: u64,
    bucket: Bucket,
    injected: BTreeMap<(String, Fault), usize>,
    requests: usize,
    /// Faults for the next calls of an operation, in order (a test's script).
    scripted: Vec<(String, Fault)>,
}

/// The fault plan a gap filler applies.
pub struct Faults {
    state: Mutex<State>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            state: Mutex::new(State {
                rng: 0x9E37_79B9_7F4A_7C15,
                per_mille: 0,
                bucket: Bucket::Up,
                injected: BTreeMap::new(),
                requests: 0,
                scripted: Vec::new(),
            }),
        }
    }
}

impl Faults {
    /// From now on, `per_mille` of the AWS calls (and blob downloads) are faulted, drawn from
    /// `seed`.
    pub fn enable(&self, seed: u64, per_mille: u64) {
        let mut s = self.state.lock().unwrap();
        s.rng = seed.max(1);
        s.per_mille = per_mille;
    }

    pub fn disable(&self) {
        self.state.lock().unwrap().per_mille = 0;
    }

    pub fn set_bucket(&self, bucket: Bucket) {
        self.state.lock().unwrap().bucket = bucket;
    }

    /// Faults injected so far, by operation and kind.
    pub fn injected(&self) -> BTreeMap<(String, Fault), usize> {
        self.state.lock().unwrap().injected.clone()
    }

    /// Requests seen while faults were enabled.
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    /// The next call of `op` (e.g. `s3:PutObject`) meets `fault`, whatever the draw.
    pub fn script(&self, op: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .scripted
            .push((op.to_string(), fault));
    }

    /// Forgets the scripted faults not met.
    pub fn clear_script(&self) {
        self.state.lock().unwrap().scripted.clear();
    }

    /// What happens to `op` (`service:Operation`, or `GET blob`): `None` to serve it.
    pub fn decide(&self, op: &str) -> Option<Decision> {
        let mut s = self.state.lock().unwrap();
        if op.starts_with("s3:") && s.bucket != Bucket::Up {
            return Some(Decision::Bucket(s.bucket));
        }
        if let Some(at) = s.scripted.iter().position(|(o, _)| o == op) {
            let (_, fault) = s.scripted.remove(at);
            *s.injected.entry((op.to_string(), fault)).or_default() += 1;
            return Some(Decision::Fault(fault));
        }
        if s.per_mille == 0 {
            return None;
        }
        s.requests += 1;
        let draw = next(&mut s.rng);
        if draw % 1000 >= s.per_mille {
            return None;
        }
        let blob = op == "GET blob";
        // Slow and hung answers are rarer than refusals, as on AWS (and each costs seconds).
        let fault = match next(&mut s.rng) % 100 {
            _ if blob && draw % 2 == 0 => Fault::CutBody,
            0..=29 => Fault::Throttle,
            30..=44 => Fault::ServerError,
            45..=59 => Fault::Unavailable,
            60..=74 => Fault::ResetBefore,
            75..=91 => Fault::ResetAfter,
            92..=96 => Fault::Slow,
            _ => Fault::Hung,
        };
        let fault = if blob && matches!(fault, Fault::Throttle) {
            Fault::ServerError
        } else {
            fault
        };
        *s.injected.entry((op.to_string(), fault)).or_default() += 1;
        Some(Decision::Fault(fault))
    }
}

/// What the proxy does instead of serving a request as is.
#[derive(Clone, Copy, Debug)]
pub enum Decision {
    Fault(Fault),
    Bucket(Bucket),
}

fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// The service of `op` (`ecr:BatchGetImage` → `ecr`).
fn service(op: &str) -> &str {
    op.split(':').next().unwrap_or("")
}

/// Answers with a refusal of `fault`'s kind in `op`'s service's own error format; `false` for
/// faults that are not a refusal (the caller carries those out).
pub fn refuse(stream: &TcpStream, op: &str, fault: Fault) -> bool {
    let (status, code, message) = match fault {
        Fault::Throttle => match service(op) {
            "ecr" | "ecs" => ("400 Bad Request", "ThrottlingException", "Rate exceeded"),
            "lambda" => (
                "429 Too Many Requests",
                "TooManyRequestsException",
                "Rate exceeded",
            ),
            "sns" => ("429 Too Many Requests", "Throttled", "Rate exceeded"),
            "s3" => (
                "503 Slow Down",
                "SlowDown",
                "Please reduce your request rate.",
            ),
            _ => ("400 Bad Request", "Throttling", "Rate exceeded"),
        },
        Fault::ServerError => match service(op) {
            "s3" | "sns" => (
                "500 Internal Server Error",
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
            _ => (
                "500 Internal Server Error",
                "InternalFailure",
                "The request processing has failed because of an unknown error.",
            ),
        },
        Fault::Unavailable => (
            "503 Service Unavailable",
            "ServiceUnavailable",
            "The service is unavailable. Please try again later.",
        ),
        _ => return false,
    };
    error(stream, op, status, code, message);
    true
}

/// The state bucket's failure, as S3 answers it.
pub fn bucket_down(stream: &TcpStream, op: &str, bucket: Bucket) {
    match bucket {
        Bucket::Missing => error(
            stream,
            op,
            "404 Not Found",
            "NoSuchBucket",
            "The specified bucket does not exist",
        ),
        Bucket::Denied => error(stream, op, "403 Forbidden", "AccessDenied", "Access Denied"),
        _ => error(
            stream,
            op,
            "503 Service Unavailable",
            "ServiceUnavailable",
            "Please reduce your request rate.",
        ),
    }
}

/// An error document in the service's protocol: S3's XML `<Error>`, the query protocols'
/// `<ErrorResponse>` (SNS, STS), the JSON protocols' `__type` (ECR, ECS, Lambda).
fn error(stream: &TcpStream, op: &str, status: &str, code: &str, message: &str) {
    match service(op) {
        "s3" | "GET blob" => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>FAULT</RequestId></Error>"
            );
            respond(stream, status, "application/xml", &[], body.as_bytes());
        }
        "sns" | "sts" => {
            let body = format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
            );
            respond(stream, status, "text/xml", &[], body.as_bytes());
        }
        _ => {
            let body = serde_json::json!({"__type": code, "message": message}).to_string();
            respond(
                stream,
                status,
                "application/x-amz-json-1.1",
                &[("x-amzn-ErrorType", code.to_string())],
                body.as_bytes(),
            );
        }
    }
}

/// Closes the connection with a reset (SO_LINGER 0), answering nothing.
pub fn reset(stream: &TcpStream) {
    let _ = socket_linger_zero(stream);
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn socket_linger_zero(stream: &TcpStream) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a linger struct of the size given.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Writes `response` (a whole HTTP answer) with its body cut in half, then resets.
pub fn cut_body(mut stream: &TcpStream, response: &[u8]) {
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .unwrap_or(0);
    let half = split + (response.len() - split) / 2;
    let _ = stream.write_all(&response[..half]);
    let _ = stream.flush();
    reset(stream);
}
