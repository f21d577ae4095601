//! Stage 0 — the tools every stage uses: the error type, the clock, small caches and limiters,
//! reading the environment, logging. Imports nothing of the crate.

pub mod cache;
pub mod clock;
pub mod ellipsis;
pub mod env_value;
pub mod error;
pub mod limiter;
pub mod logging;
