//! One error type for the core; adapters map their failures into it.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid digest {0}")]
    InvalidDigest(String),
    #[error(
        "digest mismatch: expected {expected}, content hashes to {actual} (tampered or corrupt)"
    )]
    DigestMismatch { expected: String, actual: String },
    #[error("invalid platform {0}")]
    InvalidPlatform(String),
    #[error("malformed input: {0}")]
    Malformed(String),
    #[error("unsupported manifest media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("{what} is {size} bytes, over the {limit}-byte limit")]
    TooLarge { what: String, size: u64, limit: u64 },
    #[error("{0}")]
    LimitExceeded(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// A failure worth retrying (throttling, 5xx, network): Lambda should retry the event.
    #[error("transient failure: {0}")]
    Transient(String),
    /// The service asked to slow down (a throttling error code, HTTP 429) after the SDK's own
    /// retries: retryable, and the audit's signal to lower its concurrency.
    #[error("throttled: {0}")]
    Throttled(String),
    /// A failure that retrying will not fix (access denied, bad request, bad configuration).
    #[error("{0}")]
    Permanent(String),
    #[error("{0}")]
    Usage(String),
    /// Organisation mode: the member account's role cannot be assumed (missing, denied).
    #[error("cannot read account {account}: {reason}")]
    AccountUnreadable { account: String, reason: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Whether retrying the same event may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Transient(_) | Error::Throttled(_))
    }
}
