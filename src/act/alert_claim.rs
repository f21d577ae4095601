//! One alert per event, across Lambda environments. EventBridge delivers at least once, and
//! Lambda may run two deliveries of the same event in two environments at once; each would
//! alert. Before it publishes, an environment *claims* the alert — a record written only if
//! none exists (a conditional write, the idempotency key being the event and the image) — and
//! settles it afterwards:
//!
//! - claimed: publish; then mark it `sent` (or `failed`, and the invocation fails as before, so
//!   Lambda retries and the retry takes the claim over);
//! - already `sent`: the alert went out from another delivery; not again;
//! - `sending` and younger than [`LEASE`]: another environment is publishing now; if it fails,
//!   its own invocation fails and its retry publishes; this one does not;
//! - `failed`, or `sending` older than the lease (that environment died before settling): taken
//!   over, over the version read, so only one taker publishes.
//!
//! Nothing is lost: no path skips an alert unless another delivery sent it or is sending it and
//! will be retried if it fails. A claim store that cannot be reached does not stop the alert
//! (it may then go out twice, never zero times). The store is a port ([`ClaimStore`]); the AWS
//! adapter keeps the records under `alerts/` of the stack's bucket, which expires them after a
//! day (a redelivery comes within hours: EventBridge retries for up to an hour, Lambda for up to
//! six).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::consumers::index_store::{Expect, MemoryVersions, Written};
use crate::util::clock::{self, Clock};
use crate::util::error::Error;

/// How long a claim being sent is respected. Between two bounds:
/// - longer than a whole invocation, so a live sender is never overtaken: the guard function's
///   timeout is 30 s (template.yaml; `tests/template_least_privilege.rs` holds it under this);
/// - shorter than [`FIRST_RETRY`], so the retry of a sender that died before settling (timed
///   out, crashed: Lambda counts both as function errors and retries them) finds its own claim
///   expired and sends. A lease longer than that retry's wait would lose the alert: the retry
///   would see `sending`, stand aside, and succeed.
pub const LEASE: Duration = Duration::from_secs(45);

/// How long Lambda waits before it retries a failed asynchronous invocation the first time:
/// "a one-minute wait between the first two attempts, and two minutes between the second and
/// third" (Lambda Developer Guide, "How Lambda handles errors and retries with asynchronous
/// invocation"; function errors include timeouts).
pub const FIRST_RETRY: Duration = Duration::from_secs(60);

const _: () = assert!(
    LEASE.as_secs() < FIRST_RETRY.as_secs(),
    "the retry of a sender that died must find its claim expired"
);

/// The start of the verdict warning when the claim store failed and the alert went out unclaimed.
const UNAVAILABLE: &str = "alert claim store unavailable";

/// The verdict warning for an alert sent without a claim because the store failed: `error`
/// says how (a missing bucket, access denied, an outage).
pub fn unavailable_warning(error: &Error) -> String {
    format!("{UNAVAILABLE} ({error}): the alert was sent without a claim, so another delivery of the same event may send it too")
}

/// Whether a verdict warning is [`unavailable_warning`] (the `AlertClaimFailures` metric).
pub fn is_unavailable_warning(warning: &str) -> bool {
    warning.starts_with(UNAVAILABLE)
}

/// A record's bytes and its version.
pub type Versioned = (Vec<u8>, String);

/// A store of small records written only over the version read.
pub trait ClaimStore: Send + Sync {
    /// The record at `key` and its version; `None` when there is none.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Versioned>, Error>>;

    /// Writes `body` at `key` if `expect` holds.
    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Vec<u8>,
        expect: Expect,
    ) -> BoxFuture<'a, Result<Written, Error>>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum State {
    Sending,
    Sent,
    Failed,
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    state: State,
    /// Seconds since the Unix epoch.
    at: u64,
    /// Who wrote it: a token drawn for each claim. A delivery whose own create was carried out
    /// but whose answer was lost (a reset after the write, an answer later than the client's
    /// timeout) is retried by the client, gets 412, and reads the record back: the token tells
    /// its own claim from another delivery's. Records written before the token have none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    owner: String,
}

/// A token no other claim draws: random keys from the OS (the standard library's `RandomState`
/// seeds its hasher from them), the process, the time in nanoseconds and a counter, hashed.
fn owner_token() -> String {
    use sha2::{Digest as _, Sha256};
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seed = format!(
        "{random:x}:{}:{nanos}:{}:{:p}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        &COUNTER
    );
    hex::encode(&Sha256::digest(seed.as_bytes())[..12])
}

/// `s` with every character but ASCII letters, digits, `-`, `.` and `_` replaced by `_`.
fn key_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a claim found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This environment sends the alert; settle it with this version.
    Mine(String),
    /// Another delivery sent it.
    Sent,
    /// Another environment is sending it now (and its retry will, if it fails).
    InFlight,
}

/// Claims and settles alerts in a [`ClaimStore`].
pub struct AlertClaims {
    store: Arc<dyn ClaimStore>,
    clock: Clock,
}

impl AlertClaims {
    pub fn new(store: Arc<dyn ClaimStore>) -> AlertClaims {
        AlertClaims {
            store,
            clock: clock::system(),
        }
    }

    /// With another clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> AlertClaims {
        self.clock = clock;
        self
    }

    /// The key of the alert about `image` for the event `event_id`: `alerts/EVENT/IMAGE`, each
    /// part reduced to characters safe in an object key.
    pub fn key(event_id: &str, image: &str) -> String {
        format!("alerts/{}/{}.json", key_safe(event_id), key_safe(image))
    }

    /// The key of the rollback of the ECS service deployment `arn` (one StopServiceDeployment
    /// across deliveries and environments): `rollbacks/ARN`.
    pub fn rollback_key(arn: &str) -> String {
        format!("rollbacks/{}.json", key_safe(arn))
    }

    fn record(&self, state: State, owner: &str) -> Vec<u8> {
        serde_json::to_vec(&Record {
            state,
            at: (self.clock)(),
            owner: owner.to_string(),
        })
        .expect("a record serialises")
    }

    /// Claims the alert at `key`.
    pub async fn claim(&self, key: &str) -> Result<Claim, Error> {
        let owner = owner_token();
        let sending = self.record(State::Sending, &owner);
        if let Written::Stored(v) = self.store.put(key, sending.clone(), Expect::Absent).await? {
            return Ok(Claim::Mine(v));
        }
        let Some((body, version)) = self.store.get(key).await? else {
            // Gone between the two calls (expired): claim it again, once.
            return Ok(match self.store.put(key, sending, Expect::Absent).await? {
                Written::Stored(v) => Claim::Mine(v),
                Written::Conflict => self.after_conflict(key, &owner).await?,
            });
        };
        let record: Option<Record> = serde_json::from_slice(&body).ok();
        let now = (self.clock)();
        let take_over = match record {
            Some(Record {
                state: State::Sent, ..
            }) => return Ok(Claim::Sent),
            // This claim's own create, carried out though its answer was lost: it is ours.
            Some(Record {
                state: State::Sending,
                owner: o,
                ..
            }) if o == owner => return Ok(Claim::Mine(version)),
            Some(Record {
                state: State::Sending,
                at,
                ..
            }) => now.saturating_sub(at) >= LEASE.as_secs(),
            // Failed, or unreadable: whoever wrote it did not send.
            _ => true,
        };
        if !take_over {
            return Ok(Claim::InFlight);
        }
        Ok(
            match self
                .store
                .put(key, sending, Expect::Version(version))
                .await?
            {
                Written::Stored(v) => Claim::Mine(v),
                Written::Conflict => self.after_conflict(key, &owner).await?,
            },
        )
    }

    /// A write of this claim (`owner`) lost to a conflict: ours all the same when the record
    /// now holds our token (the write was carried out and only its answer was lost, then the
    /// client's retry met its own record), otherwise another delivery's.
    async fn after_conflict(&self, key: &str, owner: &str) -> Result<Claim, Error> {
        let Some((body, version)) = self.store.get(key).await? else {
            return Ok(Claim::InFlight);
        };
        Ok(match serde_json::from_slice::<Record>(&body) {
            Ok(r) if r.state == State::Sending && r.owner == owner => Claim::Mine(version),
            Ok(Record {
                state: State::Sent, ..
            }) => Claim::Sent,
            _ => Claim::InFlight,
        })
    }

    /// Records how the claimed alert went (best effort: a record left `sending` is taken over
    /// after the lease).
    pub async fn settle(&self, key: &str, version: &str, sent: bool) {
        let state = if sent { State::Sent } else { State::Failed };
        let body = self.record(state, "");
        match self
            .store
            .put(key, body, Expect::Version(version.to_string()))
            .await
        {
            Ok(Written::Stored(_)) => {}
            Ok(Written::Conflict) => {
                tracing::warn!(key, "alert claim changed before it was settled")
            }
            Err(e) => {
                tracing::warn!(error = %e, key, "alert claim not settled; it is taken over after the lease")
            }
        }
    }
}

/// Records in memory (tests).
#[derive(Default)]
pub struct MemoryClaims {
    records: MemoryVersions<String>,
}

impl MemoryClaims {
    pub fn new() -> MemoryClaims {
        MemoryClaims::default()
    }
}

impl ClaimStore for MemoryClaims {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Versioned>, Error>> {
        let found = self.records.get(&key.to_string());
        Box::pin(async move { Ok(found) })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Vec<u8>,
        expect: Expect,
    ) -> BoxFuture<'a, Result<Written, Error>> {
        let answer = self.records.put(&key.to_string(), body, &expect);
        Box::pin(async move { Ok(answer) })
    }
}

#[cfg(test)]
mod tests;
