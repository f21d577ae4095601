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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};

use super::local_aws::ACCOUNT;

pub use super::fleet::Fleet;
use super::fleet::{Image, Store};

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
    /// Stops serving when the fake is dropped.
    _server: super::hyper_server::Serving,
}

impl FakeEcr {
    /// Serves `fleet` on a loopback port, each answer `latency` late.
    pub async fn start(fleet: Fleet, latency: Duration) -> FakeEcr {
        let (listener, endpoint) = super::hyper_server::bind().await;
        let state = Arc::new(State {
            store: Store::build(fleet),
            latency,
            base: endpoint.clone(),
            calls: Mutex::default(),
            throttle: Mutex::default(),
        });
        let serving = state.clone();
        let server = super::hyper_server::serve(listener, move |req| {
            let state = serving.clone();
            async move { state.answer(req).await }
        });
        FakeEcr {
            endpoint,
            state,
            _server: server,
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

    /// Every tagged image: repository, tag, digest, manifest media type.
    pub fn tagged(&self) -> Vec<(String, String, String, &'static str)> {
        let store = &self.state.store;
        let each = store
            .repositories
            .iter()
            .flat_map(|(r, images)| images.iter().map(move |i| (r, i)));
        each.flat_map(|(r, i)| {
            i.tags
                .iter()
                .map(move |t| (r.clone(), t.clone(), i.digest.clone(), i.media_type))
        })
        .collect()
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
