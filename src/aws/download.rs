//! The one HTTPS GET of a blob from the presigned URL that GetDownloadUrlForLayer returns.
//! Https only (plain http only when explicitly allowed, for local tests), size-capped, and the
//! URL never appears in an error or a log line: it carries credentials.
//!
//! Built on the hyper + rustls stack the AWS SDK already links (no second HTTP client), and
//! created on the first download ([`LazyHttps`]): an index push, the most common event, never
//! needs it, so init does not pay for loading the trust roots.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::trust::TrustRoots;
use crate::util::error::Error;

/// The HTTPS client of the blob download and of the consumer index's S3 calls (one body type:
/// one copy of hyper's client in the binary).
pub(crate) type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// An HTTPS client trusting `roots` (plain http too when `allow_http`), connecting within
/// `connect`.
fn https_client(
    roots: TrustRoots,
    allow_http: bool,
    connect: Duration,
) -> Result<HttpsClient, String> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect));
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match roots {
        TrustRoots::Bundled => builder.with_tls_config(super::trust::bundled_rustls_config()?),
        TrustRoots::System => builder
            .with_native_roots()
            .map_err(|e| format!("cannot load the system's trust roots: {e}"))?,
    };
    let builder = if allow_http {
        builder.https_or_http()
    } else {
        builder.https_only()
    };
    let https = builder.enable_http1().wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

/// An [`HttpsClient`] built on its first request: building one loads the trust roots, which
/// an invocation that sends nothing through it (an index push, for the download) need not pay.
#[derive(Debug)]
pub(crate) struct LazyHttps {
    client: OnceLock<Result<HttpsClient, String>>,
    roots: TrustRoots,
    allow_http: bool,
    connect: Duration,
}

impl LazyHttps {
    pub(crate) fn new(roots: TrustRoots, allow_http: bool, connect: Duration) -> LazyHttps {
        LazyHttps {
            client: OnceLock::new(),
            roots,
            allow_http,
            connect,
        }
    }

    /// The client, built the first time.
    pub(crate) fn get(&self) -> Result<&HttpsClient, Error> {
        self.client
            .get_or_init(|| https_client(self.roots, self.allow_http, self.connect))
            .as_ref()
            .map_err(|e| Error::Permanent(e.clone()))
    }
}

#[derive(Clone, Debug)]
pub struct Download {
    client: Arc<LazyHttps>,
    allow_http: bool,
    connect: Duration,
    total: Duration,
}

impl Download {
    /// Connect timeout 5 s, whole download 20 s (a config blob is at most 1 MiB).
    pub fn new(allow_http: bool) -> Result<Download, Error> {
        Download::with_timeouts(allow_http, Duration::from_secs(5), Duration::from_secs(20))
    }

    /// Verifying against `roots` (compiled in by default, see [`super::trust`]).
    pub fn trusting(mut self, roots: TrustRoots) -> Download {
        self.client = Arc::new(LazyHttps::new(roots, self.allow_http, self.connect));
        self
    }

    /// With explicit timeouts (tests inject a slow store).
    pub fn with_timeouts(
        allow_http: bool,
        connect: Duration,
        total: Duration,
    ) -> Result<Download, Error> {
        Ok(Download {
            client: Arc::new(LazyHttps::new(TrustRoots::default(), allow_http, connect)),
            allow_http,
            connect,
            total,
        })
    }

    fn client(&self) -> Result<&HttpsClient, Error> {
        self.client.get()
    }

    /// The URL, checked: https only (plain http only when allowed); and its host, the only part
    /// of it ever shown (the rest carries credentials).
    fn checked(&self, url: &str) -> Result<(http::Uri, String), Error> {
        let uri: http::Uri = url
            .parse()
            .map_err(|_| Error::Permanent("download URL is not a valid URL".into()))?;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if self.allow_http => {}
            other => {
                return Err(Error::Permanent(format!(
                    "refusing a download URL with scheme {:?}: only https is accepted",
                    other.unwrap_or("")
                )))
            }
        }
        let host = uri.host().unwrap_or("").to_string();
        Ok((uri, host))
    }

    /// Starts a GET of `url` and hands over its body to be read as it arrives (a layer, for
    /// the deep check, which reads only as much of it as it needs); the answer's status is
    /// checked, the connection kept within the connect timeout.
    pub async fn stream(&self, url: &str) -> Result<Streamed, Error> {
        let (uri, host) = self.checked(url)?;
        let client = self.client()?;
        let resp = tokio::time::timeout(self.total, client.get(uri))
            .await
            .map_err(|_| Error::Transient(format!("layer download from {host} timed out")))?
            .map_err(|e| {
                Error::Transient(format!(
                    "layer download from {host} failed: {}",
                    super::error_chain(&e)
                ))
            })?;
        if !resp.status().is_success() {
            return Err(Error::Transient(format!(
                "layer download from {host}: HTTP {}",
                resp.status()
            )));
        }
        Ok(Streamed {
            body: resp.into_body(),
            host,
            idle: self.total,
            chunk: Bytes::new(),
            handle: tokio::runtime::Handle::current(),
        })
    }

    /// GETs at most `max_bytes` from `url`.
    pub async fn get(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, Error> {
        let (uri, host) = self.checked(url)?;
        let client = self.client()?;
        let fetch = async {
            let resp = client.get(uri).await.map_err(|e| {
                Error::Transient(format!(
                    "blob download from {host} failed: {}",
                    super::error_chain(&e)
                ))
            })?;
            let status = resp.status();
            if !status.is_success() {
                // 403 is an expired presigned URL, 5xx the store: both worth a retry with a new
                // URL. Redirects are not followed (a presigned GET does not redirect).
                return Err(Error::Transient(format!(
                    "blob download from {host}: HTTP {status}"
                )));
            }
            let declared = resp
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if let Some(len) = declared.filter(|l| *l > max_bytes) {
                return Err(too_large(len, max_bytes));
            }
            let mut body = resp.into_body();
            let mut out = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| {
                    Error::Transient(format!("blob download from {host} broke off: {e}"))
                })?;
                if let Some(chunk) = frame.data_ref() {
                    out.extend_from_slice(chunk);
                    if out.len() as u64 > max_bytes {
                        return Err(too_large(out.len() as u64, max_bytes));
                    }
                }
            }
            Ok(out)
        };
        tokio::time::timeout(self.total, fetch).await.map_err(|_| {
            Error::Transient(format!(
                "blob download from {host} timed out after {} ms",
                self.total.as_millis()
            ))
        })?
    }
}

/// A download's body, read as it arrives, from a blocking thread (the deep check runs on one:
/// `tokio::task::spawn_blocking`): each read waits on the runtime for the next bytes, at most
/// the download timeout between two.
pub struct Streamed {
    body: hyper::body::Incoming,
    /// The URL's host, for messages (never the URL).
    host: String,
    idle: Duration,
    chunk: Bytes,
    handle: tokio::runtime::Handle,
}

impl std::io::Read for Streamed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use bytes::Buf;
        while self.chunk.is_empty() {
            let (idle, body) = (self.idle, &mut self.body);
            let next = self
                .handle
                .block_on(async { tokio::time::timeout(idle, body.frame()).await });
            match next {
                Err(_) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("layer download from {} stalled", self.host),
                    ))
                }
                Ok(None) => return Ok(0),
                Ok(Some(Err(e))) => {
                    return Err(std::io::Error::other(format!(
                        "layer download from {} broke off: {e}",
                        self.host
                    )))
                }
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.chunk = data;
                    }
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

fn too_large(size: u64, limit: u64) -> Error {
    Error::TooLarge {
        what: "downloaded blob".into(),
        size,
        limit,
    }
}
