//! Local AWS for end-to-end runs, no account needed:
//!
//! - [`Moto`]: `moto_server` (from the project's `.venv`, see `requirements-dev.txt`) on a free
//!   127.0.0.1 port, stopped when dropped (also when a test panics).
//! - [`GapFiller`]: a loopback proxy in front of moto that fills the one ECR gap moto has:
//!   `GetDownloadUrlForLayer` (moto answers HTTP 500). It stores blobs per repository the way
//!   `docker push` uploads them (`PUT /upload/<digest>?repository=<name>`, digest verified),
//!   answers GetDownloadUrlForLayer like ECR (a download URL, or `LayersNotFoundException`), and
//!   serves the blob over plain http on loopback. Every other request goes to moto untouched.
//! - The real `bootstrap` binary runs under AWS's own Runtime Interface Emulator: see
//!   `lambda_rie.rs` beside this file.
//! - push helpers that put images into moto ECR like docker/buildx do, and the EventBridge
//!   events ECR would emit for those pushes.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::Digest as _;

// The includer (tests/common/mod.rs, or an example's crate root) declares `fixtures` beside us.
use super::fixtures::{fixture, images};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

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

/// An HTTP/1.1 request as read off the wire.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn read(stream: &TcpStream) -> Option<Request> {
        let mut reader = BufReader::new(stream.try_clone().ok()?);
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let mut parts = line.split_whitespace();
        let method = parts.next()?.to_string();
        let target = parts.next()?.to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).ok()? == 0 || h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.trim_end().split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body).ok()?;
        Some(Request {
            method,
            target,
            headers,
            body,
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn query(&self, key: &str) -> Option<String> {
        let q = self.target.split_once('?')?.1;
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.replace("%2F", "/"))
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("/")
    }
}

fn respond(
    mut stream: &TcpStream,
    status: &str,
    content_type: &str,
    extra: &[(&str, String)],
    body: &[u8],
) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

/// Blobs by (repository, digest), as ECR keeps layers per repository.
type BlobStore = Mutex<HashMap<(String, String), Vec<u8>>>;

/// The loopback proxy that fills moto's GetDownloadUrlForLayer gap.
pub struct GapFiller {
    pub endpoint: String,
    blobs: Arc<BlobStore>,
    pub downloads: Arc<Mutex<usize>>,
    /// Every AWS API call that went through, by operation (`ecr:BatchGetImage`, `GET blob`, …).
    calls: Arc<Mutex<Vec<String>>>,
}

impl GapFiller {
    pub fn start(moto: &Moto) -> GapFiller {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let blobs: Arc<BlobStore> = Arc::default();
        let downloads: Arc<Mutex<usize>> = Arc::default();
        let calls: Arc<Mutex<Vec<String>>> = Arc::default();
        let moto_port = moto.port;
        let (b, d, c, base) = (
            blobs.clone(),
            downloads.clone(),
            calls.clone(),
            endpoint.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (b, d, c, base) = (b.clone(), d.clone(), c.clone(), base.clone());
                std::thread::spawn(move || {
                    if let Some(req) = Request::read(&stream) {
                        if let Some(op) = operation(&req) {
                            c.lock().unwrap().push(op);
                        }
                        serve_gap(&stream, req, moto_port, &b, &d, &base);
                    }
                });
            }
        });
        GapFiller {
            endpoint,
            blobs,
            downloads,
            calls,
        }
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

/// The AWS operation a request is, as `service:Operation` (the IAM action name): the service from
/// the SigV4 credential scope; the operation from X-Amz-Target (JSON protocols), the body's
/// `Action` (query protocols), or method and path (REST protocols: the calls the guard makes).
/// `None` for the harness's own uploads.
fn operation(req: &Request) -> Option<String> {
    let path = req.path();
    if path.starts_with("/upload/") {
        return None;
    }
    if path.starts_with("/blobs/") {
        return Some("GET blob".into());
    }
    // Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/sns/aws4_request, …
    let service = req
        .header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unsigned");
    if let Some(t) = req.header("x-amz-target") {
        return Some(format!("{service}:{}", t.rsplit('.').next().unwrap_or(t)));
    }
    let body = String::from_utf8_lossy(&req.body);
    if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return Some(format!("{service}:{action}"));
    }
    let op = match (req.method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/2015-03-31/functions") => "ListFunctions".to_string(),
        ("GET", p) if p.starts_with("/2015-03-31/functions/") => "GetFunction".to_string(),
        ("POST", "/v1/describejobdefinitions") => "DescribeJobDefinitions".to_string(),
        (method, p) => format!("{method} {p}"),
    };
    Some(format!("{service}:{op}"))
}

/// Asserts that the guard called nothing its role is not granted: every call (as
/// `service:Operation`, see [`GapFiller::take_calls`]) is one of `granted`, the IAM actions the
/// SAM template grants; the blob GET is the presigned URL, which needs no action of its own.
pub fn assert_only_granted(calls: &[String], granted: &[&str]) {
    assert!(!calls.is_empty(), "no call was recorded");
    for call in calls.iter().filter(|c| c.as_str() != "GET blob") {
        assert!(
            granted.contains(&call.as_str()),
            "{call} is called but not granted: {calls:?}"
        );
    }
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
    let _ = client.write_all(&response);
    let _ = client.flush();
}

/// SDK clients pointed at the local endpoint.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    ecr_arch_guard::aws::config_loader()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_ecr::config::Credentials::new(
            "testing", "testing", None, None, "local",
        ))
        .load()
        .await
}

/// The event ECR sends for a push.
pub fn push_event(
    repository: &str,
    digest: &str,
    tag: &str,
    manifest_media_type: &str,
    config_media_type: &str,
) -> serde_json::Value {
    serde_json::json!({
        "version": "0",
        "id": format!("evt-{}-{}", &digest[7..19], if tag.is_empty() { "untagged" } else { tag }),
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": ACCOUNT,
        "time": "2026-11-25T10:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "result": "SUCCESS",
            "repository-name": repository,
            "image-digest": digest,
            "action-type": "PUSH",
            "image-tag": tag,
            "manifest-media-type": manifest_media_type,
            "artifact-media-type": config_media_type
        }
    })
}

/// The event ECR sends in the destination region when replication copied an image there
/// (shape of AWS's documented sample, tests/fixtures/ecr-event-replication-completed.json):
/// this account and region, `source-region` where it was pushed.
pub fn replication_event(
    repository: &str,
    digest: &str,
    tag: &str,
    source_region: &str,
) -> serde_json::Value {
    serde_json::json!({
        "version": "0",
        "id": format!("repl-{repository}-{}-{tag}", &digest[7..19]),
        "detail-type": "ECR Replication Action",
        "source": "aws.ecr",
        "account": ACCOUNT,
        "time": "2026-11-25T10:00:05Z",
        "region": REGION,
        "resources": [format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repository}")],
        "detail": {
            "result": "SUCCESS",
            "repository-name": repository,
            "image-digest": digest,
            "source-account": ACCOUNT,
            "action-type": "REPLICATE",
            "source-region": source_region,
            "image-tag": tag
        }
    })
}

/// Pushes like docker/buildx: blobs first, then the manifest by digest with its tag (if any).
pub async fn put_manifest(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    manifest: &[u8],
    media_type: &str,
    tag: Option<&str>,
) -> String {
    let digest = sha256(manifest);
    ecr.put_image()
        .repository_name(repository)
        .image_manifest(std::str::from_utf8(manifest).unwrap())
        .image_manifest_media_type(media_type)
        .image_digest(&digest)
        .set_image_tag(tag.map(str::to_string))
        .send()
        .await
        .expect("PutImage");
    digest
}

/// Pushes one image as `docker push` does: its config blob (`config`, a fixture name), then
/// the manifest (`manifest`, a fixture name) under `tag`. Returns the manifest's digest.
pub async fn push_image(
    ecr: &aws_sdk_ecr::Client,
    gap: &GapFiller,
    repository: &str,
    manifest: &str,
    config: &str,
    tag: Option<&str>,
) -> String {
    gap.upload(repository, &fixture(config));
    put_manifest(ecr, repository, &fixture(manifest), OCI_MANIFEST, tag).await
}

/// Pushes hello-world as `docker buildx build --platform … --push` does: the amd64 child
/// untagged (config blob first), then the index (amd64, arm64, windows, attestations) under
/// `tag`. Returns (child digest, index digest).
pub async fn push_multi_platform(
    ecr: &aws_sdk_ecr::Client,
    gap: &GapFiller,
    repository: &str,
    tag: &str,
) -> (String, String) {
    let child = push_image(
        ecr,
        gap,
        repository,
        images::AMD_MANIFEST,
        images::AMD_CONFIG,
        None,
    )
    .await;
    let index = put_manifest(
        ecr,
        repository,
        &fixture(images::INDEX),
        OCI_INDEX,
        Some(tag),
    )
    .await;
    (child, index)
}

/// Sets a repository's `ecr-arch-guard:platforms` tag: what its images must run on. moto takes
/// any value; ECR's API reference (Tag.Value) allows only letters, digits, spaces and
/// `_ . : / = + - @`, so a value AWS would refuse fails here instead of passing locally.
pub async fn require_platforms(ecr: &aws_sdk_ecr::Client, repository: &str, platforms: &str) {
    assert!(
        platforms
            .chars()
            .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)),
        "{platforms:?} is not a valid AWS tag value"
    );
    ecr.tag_resource()
        .resource_arn(format!(
            "arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repository}"
        ))
        .tags(
            aws_sdk_ecr::types::Tag::builder()
                .key("ecr-arch-guard:platforms")
                .value(platforms)
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("TagResource");
}

/// The image tags in a repository.
pub async fn image_tags(ecr: &aws_sdk_ecr::Client, repository: &str) -> Vec<String> {
    let out = ecr
        .list_images()
        .repository_name(repository)
        .send()
        .await
        .expect("ListImages");
    out.image_ids()
        .iter()
        .filter_map(|i| i.image_tag().map(str::to_string))
        .collect()
}

/// The alerts waiting in a queue subscribed to the topic (up to 10, received once), as the SNS
/// envelopes an SQS subscriber gets.
pub async fn queued_alerts(
    config: &aws_config::SdkConfig,
    queue_url: &str,
) -> Vec<serde_json::Value> {
    let out = aws_sdk_sqs::Client::new(config)
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("ReceiveMessage");
    out.messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap_or_default()).expect("SNS envelope"))
        .collect()
}

/// An SNS topic with an SQS queue subscribed to it (the subscriber tests and the demo read).
/// Returns (topic ARN, queue URL).
pub async fn topic_with_queue(
    config: &aws_config::SdkConfig,
    topic: &str,
    queue: &str,
) -> (String, String) {
    let topic_arn = aws_sdk_sns::Client::new(config)
        .create_topic()
        .name(topic)
        .send()
        .await
        .expect("CreateTopic")
        .topic_arn
        .unwrap();
    let queue_url = subscribe_queue(config, &topic_arn, queue, None).await;
    (topic_arn, queue_url)
}

/// A new SQS queue subscribed to the topic, with a subscription filter policy (on message
/// attributes) if given. Returns the queue URL.
pub async fn subscribe_queue(
    config: &aws_config::SdkConfig,
    topic_arn: &str,
    queue: &str,
    filter_policy: Option<&str>,
) -> String {
    let sqs = aws_sdk_sqs::Client::new(config);
    let queue_url = sqs
        .create_queue()
        .queue_name(queue)
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("queue ARN");
    let mut subscribe = aws_sdk_sns::Client::new(config)
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn);
    if let Some(policy) = filter_policy {
        subscribe = subscribe.attributes("FilterPolicy", policy);
    }
    subscribe.send().await.expect("Subscribe");
    queue_url
}

/// An IAM role in moto (Lambda's CreateFunction requires one that exists). IAM is called with a
/// raw query request: the project has no IAM SDK, and moto routes by the credential scope.
pub async fn create_role(endpoint: &str, name: &str) -> String {
    // Blocking I/O on a loopback socket: quick, and keeps the harness free of an HTTP client.
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let body = format!(
        "Action=CreateRole&Version=2010-05-08&RoleName={name}&AssumeRolePolicyDocument={}",
        urlencode(policy)
    );
    let mut s = TcpStream::connect(endpoint.trim_start_matches("http://")).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: local\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20261125/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "CreateRole: {out}");
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The ECR URI of `repository:tag` in the test registry.
pub fn image_uri(repository: &str, tag: &str) -> String {
    format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repository}:{tag}")
}

/// An ECS service on Fargate in `cluster` running `image`; `arch` is the task definition's
/// `runtimePlatform.cpuArchitecture` (`None`: unset, which ECS treats as X86_64).
pub async fn ecs_service(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    image: &str,
    arch: Option<aws_sdk_ecs::types::CpuArchitecture>,
) {
    use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, LaunchType, RuntimePlatform};
    ecs.create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .expect("CreateCluster");
    let td = ecs
        .register_task_definition()
        .family(service)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .set_runtime_platform(arch.map(|a| RuntimePlatform::builder().cpu_architecture(a).build()))
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(image)
                .essential(true)
                .build(),
        )
        .send()
        .await
        .expect("RegisterTaskDefinition")
        .task_definition
        .unwrap();
    ecs.create_service()
        .cluster(cluster)
        .service_name(service)
        .task_definition(td.task_definition_arn().unwrap())
        .launch_type(LaunchType::Fargate)
        .desired_count(1)
        .send()
        .await
        .expect("CreateService");
}

/// A Lambda function with `PackageType: Image`.
pub async fn lambda_image_function(
    lambda: &aws_sdk_lambda::Client,
    role: &str,
    name: &str,
    image: &str,
    arch: aws_sdk_lambda::types::Architecture,
) {
    lambda
        .create_function()
        .function_name(name)
        .package_type(aws_sdk_lambda::types::PackageType::Image)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .image_uri(image)
                .build(),
        )
        .role(role)
        .architectures(arch)
        .send()
        .await
        .expect("CreateFunction");
}
