//! A loopback proxy in front of moto that fills the gaps moto has where the guard reads:
//! - ECR `GetDownloadUrlForLayer` (moto answers HTTP 500). It stores blobs per repository the
//!   way `docker push` uploads them (`PUT /upload/<digest>?repository=<name>`, digest
//!   verified), answers GetDownloadUrlForLayer like ECR (a download URL, or
//!   `LayersNotFoundException`), and serves the blob over plain http on loopback.
//! - Lambda `GetFunction`'s `Code.ResolvedImageUri`: moto makes up its digest (a hash of the
//!   function's code record); Lambda reports the digest the image tag resolved to (Lambda API
//!   Reference, FunctionCodeLocation). The answer's digest is set to the one moto's own ECR
//!   gives for the tag.
//!
//! - STS `AssumeRole` into an account [`GapFiller::deny_account`] names: moto never evaluates a
//!   trust policy, so the refusal STS sends (403 `AccessDenied`) is answered here.
//! - ECS `DescribeServiceRevisions` (moto has no service revisions): answered from the
//!   revisions a test records at a deployment (`service_revisions.rs`).
//! - ECS `ListServiceDeployments`, `DescribeServiceDeployments`, `StopServiceDeployment` (moto
//!   has no service deployments): answered from the deployments a test records
//!   (`service_deployments.rs`), each stop recorded.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

pub use super::calls::assert_only_granted;
use super::calls::operation;
use super::faults::{self, Decision, Fault, Faults};
use super::loopback::{respond, Request};
use super::moto::Moto;
use super::push::sha256;
use super::resolved_image_uri;
use super::service_deployments::ServiceDeployments;
use super::service_revisions::ServiceRevisions;

/// Blobs by (repository, digest), as ECR keeps layers per repository.
type BlobStore = Mutex<HashMap<(String, String), Vec<u8>>>;

/// The loopback proxy that fills moto's GetDownloadUrlForLayer gap.
pub struct GapFiller {
    pub endpoint: String,
    blobs: Arc<BlobStore>,
    pub downloads: Arc<Mutex<usize>>,
    /// Every AWS API call that went through, by operation (`ecr:BatchGetImage`, `GET blob`, …).
    calls: Arc<Mutex<Vec<String>>>,
    /// Accounts whose roles STS refuses to let anyone assume.
    denied: Arc<Mutex<Vec<String>>>,
    /// ECS service revisions recorded by [`GapFiller::record_service_revision`].
    revisions: Arc<ServiceRevisions>,
    /// ECS service deployments recorded by [`GapFiller::record_service_deployment`].
    pub deployments: Arc<ServiceDeployments>,
    /// Added before every answer (benchmarks: a fake with the latency of a real call).
    latency: Arc<Mutex<std::time::Duration>>,
    /// Faults to inject (`faults.rs`).
    faults: Arc<Faults>,
}

impl GapFiller {
    pub fn start(moto: &Moto) -> GapFiller {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let blobs: Arc<BlobStore> = Arc::default();
        let downloads: Arc<Mutex<usize>> = Arc::default();
        let calls: Arc<Mutex<Vec<String>>> = Arc::default();
        let denied: Arc<Mutex<Vec<String>>> = Arc::default();
        let revisions = Arc::new(ServiceRevisions::new(moto.port));
        let deployments: Arc<ServiceDeployments> = Arc::default();
        let latency: Arc<Mutex<std::time::Duration>> = Arc::default();
        let moto_port = moto.port;
        let faults: Arc<Faults> = Arc::default();
        let (b, d, c, n, base, rv, l, f, sd) = (
            blobs.clone(),
            downloads.clone(),
            calls.clone(),
            denied.clone(),
            endpoint.clone(),
            revisions.clone(),
            latency.clone(),
            faults.clone(),
            deployments.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (b, d, c, n, base, rv, l, f, sd) = (
                    b.clone(),
                    d.clone(),
                    c.clone(),
                    n.clone(),
                    base.clone(),
                    rv.clone(),
                    l.clone(),
                    f.clone(),
                    sd.clone(),
                );
                std::thread::spawn(move || {
                    if let Some(req) = Request::read(&stream) {
                        let delay = *l.lock().unwrap();
                        if !delay.is_zero() && !req.path().starts_with("/upload/") {
                            std::thread::sleep(delay);
                        }
                        let op = operation(&req);
                        if let Some(op) = &op {
                            c.lock().unwrap().push(op.clone());
                        }
                        let serve = |stream: &TcpStream, req: Request| {
                            if let Some(account) = denied_assume_role(&req, &n.lock().unwrap()) {
                                return refuse_assume_role(stream, &account);
                            }
                            if req
                                .header("x-amz-target")
                                .is_some_and(|t| t.ends_with(".DescribeServiceRevisions"))
                            {
                                return rv.answer(stream, &req);
                            }
                            if sd.answer(stream, &req) {
                                return;
                            }
                            serve_gap(stream, req, moto_port, &b, &d, &base);
                        };
                        let decision = op.as_deref().and_then(|o| f.decide(o));
                        match decision {
                            None => serve(&stream, req),
                            Some(Decision::Bucket(bucket)) => {
                                faults::bucket_down(&stream, op.as_deref().unwrap_or(""), bucket)
                            }
                            Some(Decision::Fault(fault)) => {
                                let op = op.unwrap_or_default();
                                if faults::refuse(&stream, &op, fault) {
                                    return;
                                }
                                match fault {
                                    Fault::ResetBefore => faults::reset(&stream),
                                    Fault::Hung => {
                                        std::thread::sleep(faults::HUNG);
                                        faults::reset(&stream);
                                    }
                                    Fault::Slow => {
                                        let answer = capture(|s| serve(s, req));
                                        std::thread::sleep(faults::SLOW);
                                        let _ = (&stream).write_all(&answer);
                                    }
                                    Fault::ResetAfter => {
                                        // Carried out; the answer is lost.
                                        let _ = capture(|s| serve(s, req));
                                        faults::reset(&stream);
                                    }
                                    _ => {
                                        let answer = capture(|s| serve(s, req));
                                        faults::cut_body(&stream, &answer);
                                    }
                                }
                            }
                        }
                    }
                });
            }
        });
        GapFiller {
            endpoint,
            blobs,
            downloads,
            calls,
            denied,
            revisions,
            deployments,
            latency,
            faults,
        }
    }

    /// The faults this proxy injects (none until a test enables them).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// From now on every call (and blob download) is answered `latency` later.
    pub fn set_latency(&self, latency: std::time::Duration) {
        *self.latency.lock().unwrap() = latency;
    }

    /// Records the service revision ECS creates when `service` of `cluster` is deployed as it
    /// stands in moto now; its ARN (see [`ServiceRevisions::record`]).
    pub fn record_service_revision(&self, cluster: &str, service: &str) -> String {
        self.revisions.record(cluster, service)
    }

    /// Deploys `service` of `cluster` as it stands in moto: its revision recorded, and an
    /// IN_PROGRESS service deployment of it (whose lifecycle hook calls `hook_target`, if any).
    /// `(deployment ARN, revision ARN)`.
    pub fn record_service_deployment(
        &self,
        cluster: &str,
        service: &str,
        hook_target: Option<&str>,
    ) -> (String, String) {
        let revision = self.revisions.record(cluster, service);
        (self.deployments.record(&revision, hook_target), revision)
    }

    /// From now on STS refuses AssumeRole into any role of `account`.
    pub fn deny_account(&self, account: &str) {
        self.denied.lock().unwrap().push(account.to_string());
    }

    /// Uploads a blob into a repository as `docker push` would (digest checked by the store).
    pub fn upload(&self, repository: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let mut s = TcpStream::connect(self.endpoint.trim_start_matches("http://")).unwrap();
        let head = format!(
            "PUT /upload/{digest}?repository={} HTTP/1.1\r\nHost: local\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            repository.replace('/', "%2F"),
            bytes.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(bytes).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 201"), "upload failed: {out}");
        digest
    }

    pub fn download_count(&self) -> usize {
        *self.downloads.lock().unwrap()
    }

    /// The calls made since the last `take_calls`, in order.
    pub fn take_calls(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

/// What `serve` writes, read back through a loopback connection of its own (to delay it, cut it
/// or lose it).
fn capture(serve: impl FnOnce(&TcpStream)) -> Vec<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = client.read_to_end(&mut out);
        out
    });
    serve(&server);
    drop(server);
    reader.join().unwrap_or_default()
}

/// The account of an STS AssumeRole request into a denied account (the form body names the role
/// ARN, `:` encoded as `%3A`).
fn denied_assume_role(req: &Request, denied: &[String]) -> Option<String> {
    let body = String::from_utf8_lossy(&req.body);
    if !body.contains("Action=AssumeRole") {
        return None;
    }
    denied
        .iter()
        .find(|a| {
            body.contains(&format!("%3A%3A{a}%3Arole")) || body.contains(&format!("::{a}:role"))
        })
        .cloned()
}

/// STS's answer when no trust policy lets the caller in (STS API Reference, AssumeRole errors).
fn refuse_assume_role(stream: &TcpStream, account: &str) {
    let body = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{account}:role/ecr-arch-guard-audit</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    );
    respond(stream, "403 Forbidden", "text/xml", &[], body.as_bytes());
}

fn serve_gap(
    stream: &TcpStream,
    req: Request,
    moto_port: u16,
    blobs: &BlobStore,
    downloads: &Mutex<usize>,
    base: &str,
) {
    let path = req.path().to_string();
    if req.method == "PUT" && path.starts_with("/upload/") {
        let digest = path.trim_start_matches("/upload/").to_string();
        let repo = req.query("repository").unwrap_or_default();
        if sha256(&req.body) != digest {
            return respond(
                stream,
                "400 Bad Request",
                "text/plain",
                &[],
                b"digest mismatch",
            );
        }
        blobs.lock().unwrap().insert((repo, digest), req.body);
        return respond(stream, "201 Created", "text/plain", &[], b"");
    }
    if req.method == "GET" && path.starts_with("/blobs/") {
        let digest = path.trim_start_matches("/blobs/").to_string();
        let repo = req.query("repository").unwrap_or_default();
        *downloads.lock().unwrap() += 1;
        return match blobs.lock().unwrap().get(&(repo, digest)) {
            Some(b) => respond(stream, "200 OK", "application/octet-stream", &[], b),
            None => respond(stream, "404 Not Found", "text/plain", &[], b""),
        };
    }
    if req
        .header("x-amz-target")
        .is_some_and(|t| t.ends_with(".GetDownloadUrlForLayer"))
    {
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let repo = body["repositoryName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let digest = body["layerDigest"].as_str().unwrap_or_default().to_string();
        let found = blobs
            .lock()
            .unwrap()
            .contains_key(&(repo.clone(), digest.clone()));
        let ct = "application/x-amz-json-1.1";
        return if found {
            let url = format!(
                "{base}/blobs/{digest}?repository={}&X-Amz-Signature=local-presigned-secret",
                repo.replace('/', "%2F")
            );
            let out = serde_json::json!({"downloadUrl": url, "layerDigest": digest});
            respond(stream, "200 OK", ct, &[], out.to_string().as_bytes())
        } else {
            let out = serde_json::json!({
                "__type": "LayersNotFoundException",
                "message": format!("The specified layers could not be found in repository {repo}.")
            });
            respond(
                stream,
                "400 Bad Request",
                ct,
                &[("x-amzn-ErrorType", "LayersNotFoundException".into())],
                out.to_string().as_bytes(),
            )
        };
    }
    forward(stream, req, moto_port);
}

/// Sends the request to moto as it came and relays the answer.
fn forward(mut client: &TcpStream, req: Request, moto_port: u16) {
    let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", moto_port)) else {
        return respond(
            client,
            "502 Bad Gateway",
            "text/plain",
            &[],
            b"moto is not running",
        );
    };
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (k, v) in req.headers.iter().filter(|(k, _)| k != "connection") {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("connection: close\r\n\r\n");
    if upstream.write_all(head.as_bytes()).is_err() || upstream.write_all(&req.body).is_err() {
        return;
    }
    let mut response = Vec::new();
    let _ = upstream.read_to_end(&mut response);
    if req.method == "GET" && resolved_image_uri::is_get_function(req.path()) {
        response = resolved_image_uri::resolve(response, moto_port);
    }
    let _ = client.write_all(&response);
    let _ = client.flush();
}
