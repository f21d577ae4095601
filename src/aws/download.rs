//! The one HTTPS GET of a blob from the presigned URL that GetDownloadUrlForLayer returns.
//! Https only (plain http only when explicitly allowed, for local tests), size-capped, and the
//! URL never appears in an error or a log line: it carries credentials.

use std::time::Duration;

use crate::error::Error;

#[derive(Clone, Debug)]
pub struct Download {
    client: reqwest::Client,
    allow_http: bool,
}

impl Download {
    /// Connect timeout 5 s, whole download 20 s (a config blob is at most 1 MiB).
    pub fn new(allow_http: bool) -> Result<Download, Error> {
        Download::with_timeouts(allow_http, Duration::from_secs(5), Duration::from_secs(20))
    }

    /// With explicit timeouts (tests inject a slow store).
    pub fn with_timeouts(
        allow_http: bool,
        connect: Duration,
        total: Duration,
    ) -> Result<Download, Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect)
            .timeout(total)
            .redirect(reqwest::redirect::Policy::limited(3))
            .https_only(!allow_http)
            .build()
            .map_err(|e| Error::Permanent(format!("cannot build the HTTPS client: {e}")))?;
        Ok(Download { client, allow_http })
    }

    /// GETs at most `max_bytes` from `url`.
    pub async fn get(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, Error> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|_| Error::Permanent("download URL is not a valid URL".into()))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            other => {
                return Err(Error::Permanent(format!(
                    "refusing a download URL with scheme {other:?}: only https is accepted"
                )))
            }
        }
        let host = parsed.host_str().unwrap_or("").to_string();
        let mut resp = self.client.get(parsed).send().await.map_err(|e| {
            Error::Transient(format!(
                "blob download from {host} failed: {}",
                e.without_url()
            ))
        })?;
        let status = resp.status();
        if !status.is_success() {
            // 403 is an expired presigned URL, 5xx the store: both worth a retry with a new URL.
            return Err(Error::Transient(format!(
                "blob download from {host}: HTTP {status}"
            )));
        }
        if let Some(len) = resp.content_length() {
            if len > max_bytes {
                return Err(Error::TooLarge {
                    what: "downloaded blob".into(),
                    size: len,
                    limit: max_bytes,
                });
            }
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| {
            Error::Transient(format!(
                "blob download from {host} broke off: {}",
                e.without_url()
            ))
        })? {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > max_bytes {
                return Err(Error::TooLarge {
                    what: "downloaded blob".into(),
                    size: body.len() as u64,
                    limit: max_bytes,
                });
            }
        }
        Ok(body)
    }
}
