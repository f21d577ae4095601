//! A fake Amazon ECR for the scan's call-count tests and its benchmark (`scripts/bench`): the
//! calls a scan makes — DescribeRepositories, DescribeImages, BatchGetImage,
//! GetDownloadUrlForLayer and the download it points at, ListTagsForResource — answered from
//! memory in ECR's JSON 1.1 protocol on a loopback port, each counted, with an optional delay
//! per call (what a real region's round trip costs) and injectable throttling. Async (hyper,
//! keep-alive), so at zero delay the scan, not the fake, is what is measured.
//!
//! Request and response shapes follow the ECR API reference (`imageIds`, `imageManifest`,
//! `imageManifestMediaType`, `failures`, `downloadUrl`, `nextToken`, `maxResults` ≤ 1000).

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ecr_arch_guard::digest::Digest;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use super::local_aws::ACCOUNT;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// What the fake registry holds, per repository: `indexes` multi-platform images (an index
/// tagged `v{i}` with an amd64 and an arm64 child and a BuildKit attestation manifest, all
/// three untagged and listed, as ECR lists them) and `singles` single-platform images tagged
/// `s{i}`, two of them per config (the same build as a Docker and as an OCI manifest), every
/// fifth config arm64.
#[derive(Clone, Copy, Debug)]
pub struct Fleet {
    pub repositories: usize,
    pub indexes: usize,
    pub singles: usize,
}

impl Fleet {
    /// Images DescribeImages lists (children and attestations included).
    pub fn listed(&self) -> usize {
        self.repositories * (self.indexes * 4 + self.singles)
    }

    /// Images the scan judges (indexes and singles; children go with their index).
    pub fn judged(&self) -> usize {
        self.repositories * (self.indexes + self.singles)
    }

    /// Distinct config blobs the singles refer to.
    pub fn single_configs(&self) -> usize {
        self.repositories * self.singles.div_ceil(2)
    }
}

struct Image {
    digest: String,
    media_type: &'static str,
    tags: Vec<String>,
    manifest: String,
}

struct Store {
    repositories: Vec<(String, Vec<Image>)>,
    blobs: HashMap<String, Vec<u8>>,
}

fn config(repo: &str, n: usize, arch: &str) -> Vec<u8> {
    format!(
        r#"{{"architecture":"{arch}","os":"linux","config":{{"Env":["PATH=/usr/bin"]}},"rootfs":{{"type":"layers","diff_ids":[]}},"history":[{{"created_by":"{repo} build {n}"}}]}}"#
    )
    .into_bytes()
}

fn manifest(media_type: &str, config_type: &str, config: &[u8]) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{media_type}","config":{{"mediaType":"{config_type}","digest":"{}","size":{}}},"layers":[]}}"#,
        Digest::of(config),
        config.len()
    )
}

impl Store {
    fn build(fleet: Fleet) -> Store {
        let mut blobs = HashMap::new();
        let mut keep = |bytes: Vec<u8>| {
            blobs.insert(Digest::of(&bytes).to_string(), bytes.clone());
            bytes
        };
        let mut repositories = Vec::new();
        for r in 0..fleet.repositories {
            let name = format!("team-{:02}/service-{r:02}", r % 7);
            let mut images = Vec::new();
            let image = |media_type, tags: Vec<String>, manifest: String| Image {
                digest: Digest::of(manifest.as_bytes()).to_string(),
                media_type,
                tags,
                manifest,
            };
            for i in 0..fleet.indexes {
                let mut entries = Vec::new();
                for arch in ["amd64", "arm64"] {
                    let c = keep(config(&name, 10_000 + i, arch));
                    let m = manifest(OCI_MANIFEST, OCI_CONFIG, &c);
                    entries.push(format!(
                        r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{},"platform":{{"architecture":"{arch}","os":"linux"}}}}"#,
                        Digest::of(m.as_bytes()),
                        m.len()
                    ));
                    images.push(image(OCI_MANIFEST, vec![], m));
                }
                let a = keep(format!(r#"{{"attestation":{i}}}"#).into_bytes());
                let att = format!(
                    r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[]}}"#,
                    Digest::of(&a),
                    a.len()
                );
                entries.push(format!(
                    r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{},"annotations":{{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"sha256:0"}},"platform":{{"architecture":"unknown","os":"unknown"}}}}"#,
                    Digest::of(att.as_bytes()),
                    att.len()
                ));
                images.push(image(OCI_MANIFEST, vec![], att));
                let index = format!(
                    r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{}]}}"#,
                    entries.join(",")
                );
                images.push(image(OCI_INDEX, vec![format!("v{i}")], index));
            }
            for i in 0..fleet.singles {
                let n = i / 2;
                let arch = if n % 5 == 4 { "arm64" } else { "amd64" };
                let c = keep(config(&name, n, arch));
                let (mt, ct) = if i % 2 == 0 {
                    (DOCKER_MANIFEST, DOCKER_CONFIG)
                } else {
                    (OCI_MANIFEST, OCI_CONFIG)
                };
                images.push(image(mt, vec![format!("s{i}")], manifest(mt, ct, &c)));
            }
            repositories.push((name, images));
        }
        Store {
            repositories,
            blobs,
        }
    }
}

struct State {
    store: Store,
    latency: Duration,
    base: String,
    calls: Mutex<BTreeMap<String, usize>>,
    /// How many more calls of an action answer ThrottlingException.
    throttle: Mutex<HashMap<String, usize>>,
}

/// The fake, serving until dropped.
pub struct FakeEcr {
    pub endpoint: String,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeEcr {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeEcr {
    /// Serves `fleet` on a loopback port, each answer `latency` late.
    pub async fn start(fleet: Fleet, latency: Duration) -> FakeEcr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            store: Store::build(fleet),
            latency,
            base: endpoint.clone(),
            calls: Mutex::default(),
            throttle: Mutex::default(),
        });
        let serving = state.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(state.answer(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeEcr {
            endpoint,
            state,
            server,
        }
    }

    /// Calls so far by action (`Download` for the blob GETs; `BatchGetImage.imageIds` counts
    /// the image ids asked for).
    pub fn calls(&self) -> BTreeMap<String, usize> {
        self.state.calls.lock().unwrap().clone()
    }

    pub fn reset_calls(&self) {
        self.state.calls.lock().unwrap().clear();
    }

    /// The next `n` calls of `action` answer ThrottlingException.
    pub fn throttle(&self, action: &str, n: usize) {
        self.state
            .throttle
            .lock()
            .unwrap()
            .insert(action.to_string(), n);
    }
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", "fake")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn error(code: &str, message: &str) -> Response<Full<Bytes>> {
    reply(400, json!({"__type": code, "message": message}))
}

/// One page of `items` from `nextToken` (an offset), at most `maxResults` (default 100, as
/// ECR's reference says; at most 1000).
fn page<T>(items: &[T], req: &Value) -> (std::ops::Range<usize>, Option<String>) {
    let from: usize = req["nextToken"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let size = req["maxResults"].as_u64().unwrap_or(100).clamp(1, 1000) as usize;
    let to = (from + size).min(items.len());
    let next = (to < items.len()).then(|| to.to_string());
    (from.min(to)..to, next)
}

impl State {
    fn count(&self, action: &str, n: usize) {
        *self
            .calls
            .lock()
            .unwrap()
            .entry(action.to_string())
            .or_default() += n;
    }

    fn repository(&self, req: &Value) -> Option<&(String, Vec<Image>)> {
        let name = req["repositoryName"].as_str()?;
        self.store.repositories.iter().find(|(n, _)| n == name)
    }

    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let action = req
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.to_str().ok())
            .and_then(|t| t.rsplit('.').next())
            .map(str::to_string);
        let path = req.uri().path().to_string();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let action = action.unwrap_or_else(|| "Download".to_string());
        self.count(&action, 1);
        {
            let mut throttle = self.throttle.lock().unwrap();
            if let Some(n) = throttle.get_mut(&action).filter(|n| **n > 0) {
                *n -= 1;
                return error("ThrottlingException", "Rate exceeded");
            }
        }
        if action == "Download" {
            let digest = path.trim_start_matches("/blobs/");
            return match self.store.blobs.get(digest) {
                Some(b) => Response::new(Full::new(Bytes::from(b.clone()))),
                None => Response::builder()
                    .status(404)
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
            };
        }
        let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        match action.as_str() {
            "DescribeRepositories" => {
                let (range, next) = page(&self.store.repositories, &req);
                let repos: Vec<Value> = self.store.repositories[range]
                    .iter()
                    .map(|(name, _)| {
                        json!({
                            "repositoryName": name,
                            "registryId": ACCOUNT,
                            "repositoryArn": format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{name}"),
                            "repositoryUri": format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{name}"),
                        })
                    })
                    .collect();
                reply(200, json!({"repositories": repos, "nextToken": next}))
            }
            "DescribeImages" => {
                let Some((name, images)) = self.repository(&req) else {
                    return error("RepositoryNotFoundException", "no such repository");
                };
                let (range, next) = page(images, &req);
                let details: Vec<Value> = images[range]
                    .iter()
                    .map(|i| {
                        let mut d = json!({
                            "registryId": ACCOUNT,
                            "repositoryName": name,
                            "imageDigest": i.digest,
                            "imageManifestMediaType": i.media_type,
                            "imagePushedAt": 1_764_000_000,
                            "imageSizeInBytes": i.manifest.len(),
                        });
                        if !i.tags.is_empty() {
                            d["imageTags"] = json!(i.tags);
                        }
                        d
                    })
                    .collect();
                reply(200, json!({"imageDetails": details, "nextToken": next}))
            }
            "BatchGetImage" => {
                let Some((name, images)) = self.repository(&req) else {
                    return error("RepositoryNotFoundException", "no such repository");
                };
                let ids = req["imageIds"].as_array().cloned().unwrap_or_default();
                if ids.is_empty() || ids.len() > 100 {
                    return error("InvalidParameterException", "1 to 100 imageIds");
                }
                self.count("BatchGetImage.imageIds", ids.len());
                let (mut found, mut failures) = (Vec::new(), Vec::new());
                for id in ids {
                    let digest = id["imageDigest"].as_str().unwrap_or_default();
                    match images.iter().find(|i| i.digest == digest) {
                        Some(i) => found.push(json!({
                            "registryId": ACCOUNT,
                            "repositoryName": name,
                            "imageId": {"imageDigest": i.digest},
                            "imageManifest": i.manifest,
                            "imageManifestMediaType": i.media_type,
                        })),
                        None => failures.push(json!({
                            "imageId": id,
                            "failureCode": "ImageNotFound",
                            "failureReason": "Requested image not found",
                        })),
                    }
                }
                reply(200, json!({"images": found, "failures": failures}))
            }
            "GetDownloadUrlForLayer" => {
                let digest = req["layerDigest"].as_str().unwrap_or_default();
                if !self.store.blobs.contains_key(digest) {
                    return error("LayersNotFoundException", "no such layer");
                }
                reply(
                    200,
                    json!({"downloadUrl": format!("{}/blobs/{digest}", self.base), "layerDigest": digest}),
                )
            }
            "ListTagsForResource" => reply(200, json!({"tags": []})),
            other => error("UnknownOperationException", other),
        }
    }
}
