//! A fake estate for discovery at scale (its call-count test and `scripts/bench` §7): Amazon
//! ECS (JSON 1.1), AWS Lambda (REST-JSON) and Amazon S3 (REST-XML, path-style) on one loopback
//! port, answered from memory, every call counted — and each API's documented rate quota
//! enforced as AWS enforces it, per account and region, with token buckets:
//! - ECS ("Request throttling for the Amazon ECS API"): cluster reads 50/20 per s, service
//!   reads 100/20, task definition reads 50/20 (burst/refill), over the limit `400
//!   ThrottlingException`;
//! - Lambda ("Lambda quotas"): GetFunction 100 per second, the rest of the control plane 15 per
//!   second, over the limit `429 TooManyRequestsException` with `Retry-After`;
//! - S3 GET/PUT: no throttling at these rates (3,500 PUT / 5,500 GET per second per prefix).
//!
//! Shapes follow the API references (ECS `clusterArns`, `serviceArns` ≤ 100 a page,
//! `nextToken`; Lambda `Functions`, `NextMarker`, `MaxItems` ≤ 50; S3 `ETag`, `If-None-Match` →
//! 304, `If-Match`/`If-None-Match: *` → 412 PreconditionFailed).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};

mod ecs;
mod lambda;
mod s3;

/// The estate: `clusters` × `services_per_cluster` Fargate services over `families` task
/// definition families (3 ACTIVE revisions each, services on the latest), and `functions`
/// Lambda functions of which the first `image_functions` are container images. Consumers name
/// `images` round-robin; every fourth family and every third function is arm64.
#[derive(Clone, Debug)]
pub struct EstateSpec {
    pub clusters: usize,
    pub services_per_cluster: usize,
    pub families: usize,
    pub functions: usize,
    pub image_functions: usize,
    pub images: Vec<String>,
}

impl EstateSpec {
    fn family_image(&self, f: usize) -> (&str, &str) {
        (
            &self.images[f % self.images.len()],
            if f % 4 == 3 { "ARM64" } else { "X86_64" },
        )
    }
}

const REVISIONS: usize = 3;

/// A token bucket as the service keeps it: a call takes a token or is throttled.
struct Bucket {
    burst: f64,
    per_second: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(burst: f64, per_second: f64) -> Bucket {
        Bucket {
            burst,
            per_second,
            tokens: burst,
            at: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.per_second)
            .min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn bucket_of(action: &str) -> Option<(&'static str, f64, f64)> {
    Some(match action {
        "ListClusters" | "DescribeClusters" => ("ecs-cluster-read", 50.0, 20.0),
        "ListServices" | "DescribeServices" => ("ecs-service-read", 100.0, 20.0),
        "ListTaskDefinitions" | "DescribeTaskDefinition" => ("ecs-td-read", 50.0, 20.0),
        "GetFunction" => ("lambda-get-function", 100.0, 100.0),
        "ListFunctions" => ("lambda-control-plane", 15.0, 15.0),
        _ => return None,
    })
}

#[derive(Default)]
struct Counts {
    calls: BTreeMap<String, usize>,
    throttled: BTreeMap<String, usize>,
}

struct State {
    spec: EstateSpec,
    latency: Duration,
    enforce: bool,
    counts: Mutex<Counts>,
    buckets: Mutex<HashMap<&'static str, Bucket>>,
    objects: Mutex<BTreeMap<String, (Vec<u8>, String)>>,
    next_etag: Mutex<u64>,
}

/// The fake, serving until dropped.
pub struct FakeEstate {
    pub endpoint: String,
    state: Arc<State>,
    /// Stops serving when the fake is dropped.
    _server: super::hyper_server::Serving,
}

type Answer = Response<Full<Bytes>>;

fn answer(status: u16, headers: &[(&str, String)], body: impl Into<Bytes>) -> Answer {
    let mut r = Response::builder().status(status);
    for (k, v) in headers {
        r = r.header(*k, v.as_str());
    }
    r.body(Full::new(body.into())).unwrap()
}

fn ecs_json(v: Value) -> Answer {
    answer(
        200,
        &[("content-type", "application/x-amz-json-1.1".into())],
        v.to_string(),
    )
}

fn page<T: Clone>(all: &[T], token: Option<&str>, size: usize) -> (Vec<T>, Option<String>) {
    let start: usize = token.and_then(|t| t.parse().ok()).unwrap_or(0);
    let end = (start + size).min(all.len());
    let next = (end < all.len()).then(|| end.to_string());
    (all[start.min(end)..end].to_vec(), next)
}

impl FakeEstate {
    /// Serves `spec`, each answer `latency` late; `enforce`: throttle over the quotas.
    pub async fn start(spec: EstateSpec, latency: Duration, enforce: bool) -> FakeEstate {
        let (listener, endpoint) = super::hyper_server::bind().await;
        let state = Arc::new(State {
            spec,
            latency,
            enforce,
            counts: Mutex::default(),
            buckets: Mutex::default(),
            objects: Mutex::default(),
            next_etag: Mutex::new(0),
        });
        let serving = state.clone();
        let server = super::hyper_server::serve(listener, move |req| {
            let state = serving.clone();
            async move { state.answer(req).await }
        });
        FakeEstate {
            endpoint,
            state,
            _server: server,
        }
    }

    /// Calls by action (S3: `GetObject`, `GetObject 304`, `PutObject`, `PutObject 412`,
    /// `ListObjectsV2`), throttled ones included.
    pub fn calls(&self) -> BTreeMap<String, usize> {
        self.state.counts.lock().unwrap().calls.clone()
    }

    /// Calls answered with a throttling error, by action.
    pub fn throttled(&self) -> BTreeMap<String, usize> {
        self.state.counts.lock().unwrap().throttled.clone()
    }

    pub fn reset(&self) {
        *self.state.counts.lock().unwrap() = Counts::default();
    }

    /// The S3 object at `bucket/key`.
    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let objects = self.state.objects.lock().unwrap();
        objects
            .get(&format!("{bucket}/{key}"))
            .map(|(b, _)| b.clone())
    }
}

impl State {
    fn count(&self, action: &str) {
        *self
            .counts
            .lock()
            .unwrap()
            .calls
            .entry(action.to_string())
            .or_default() += 1;
    }

    /// Whether the call may go on (else it is counted as throttled).
    fn admit(&self, action: &str) -> bool {
        let Some((name, burst, rate)) = bucket_of(action).filter(|_| self.enforce) else {
            return true;
        };
        let ok = self
            .buckets
            .lock()
            .unwrap()
            .entry(name)
            .or_insert_with(|| Bucket::new(burst, rate))
            .take();
        if !ok {
            *self
                .counts
                .lock()
                .unwrap()
                .throttled
                .entry(action.to_string())
                .or_default() += 1;
        }
        ok
    }

    async fn answer(&self, req: Request<Incoming>) -> Answer {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let method = req.method().as_str().to_string();
        let uri = req.uri().clone();
        let headers = req.headers().clone();
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = req.into_body().collect().await.unwrap().to_bytes();
        if let Some(t) = target {
            let action = t.rsplit('.').next().unwrap_or_default().to_string();
            self.count(&action);
            if !self.admit(&action) {
                return answer(
                    400,
                    &[],
                    json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
                        .to_string(),
                );
            }
            let input: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
            return self.ecs(&action, &input);
        }
        let path = uri.path();
        if let Some(rest) = path.strip_prefix("/2015-03-31/functions") {
            let action = if rest.trim_matches('/').is_empty() {
                "ListFunctions"
            } else {
                "GetFunction"
            };
            self.count(action);
            if !self.admit(action) {
                return answer(
                    429,
                    &[
                        ("x-amzn-errortype", "TooManyRequestsException".into()),
                        ("retry-after", "1".into()),
                    ],
                    json!({"Reason": "CallerRateLimitExceeded", "Type": "User", "message": "Rate exceeded"})
                        .to_string(),
                );
            }
            return self.lambda(rest.trim_matches('/'), uri.query().unwrap_or_default());
        }
        self.s3(
            &method,
            path,
            uri.query().unwrap_or_default(),
            &headers,
            body,
        )
    }
}
