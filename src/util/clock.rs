//! Wall-clock time in whole seconds since the Unix epoch, as the records the guard shares
//! between environments carry it (the consumer index's ages, the alert claims' leases); tests
//! put their own [`Clock`] in its place.

use std::sync::Arc;

/// Seconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system's clock.
pub fn system() -> Clock {
    Arc::new(now)
}

/// Seconds since the Unix epoch now (0 for a clock set before 1970).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
