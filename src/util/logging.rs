//! The Lambda's logs: JSON lines for CloudWatch (`AWS_LAMBDA_LOG_FORMAT=JSON`, set by the
//! template's `LoggingConfig`), level from `AWS_LAMBDA_LOG_LEVEL` (or `RUST_LOG`), default INFO.
//!
//! Our own crate logs at the level asked for. Every other crate (the AWS SDK, hyper, rustls) is
//! capped at DEBUG whatever is asked: at TRACE they print request and response payloads, and a
//! GetDownloadUrlForLayer response is a presigned URL — a credential. Checked by
//! `tests/e2e_moto.rs` at INFO, DEBUG and TRACE. Crates that log through `log` rather than
//! `tracing` (rustls's handshake details) are not bridged: their lines are dropped.

use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter for a requested level (`INFO`, `debug`, `TRACE`, …; unknown = INFO).
pub fn filter(requested: Option<&str>) -> Targets {
    let level = requested
        .map(str::trim)
        .filter(|l| !l.is_empty()) // `LevelFilter` reads "" as ERROR; an empty variable is unset
        .and_then(|l| LevelFilter::from_str(l).ok())
        .unwrap_or(LevelFilter::INFO);
    let others = level.min(LevelFilter::DEBUG);
    Targets::new()
        .with_default(others)
        .with_target("ecr_arch_guard", level)
        .with_target("bootstrap", level)
        .with_target("lambda_runtime", others)
}

/// Installs the subscriber (once, at init).
pub fn init() {
    let requested = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_ansi(false);
    let registry = tracing_subscriber::registry().with(filter(requested.as_deref()));
    if json {
        registry.with(layer.json()).init();
    } else {
        registry.with(layer).init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tracing::Level;

    #[test]
    fn other_crates_never_go_past_debug() {
        let f = filter(Some("TRACE"));
        assert!(f.would_enable("ecr_arch_guard::aws::download", &Level::TRACE));
        assert!(f.would_enable("bootstrap", &Level::TRACE));
        for other in [
            "aws_smithy_runtime::client",
            "hyper_util",
            "rustls",
            "lambda_runtime",
        ] {
            assert!(!f.would_enable(other, &Level::TRACE), "{other} at TRACE");
            assert!(f.would_enable(other, &Level::DEBUG), "{other} at DEBUG");
        }
    }

    #[test]
    fn the_requested_level_applies_to_everyone_below_debug() {
        let f = filter(Some(" warn "));
        assert!(f.would_enable("ecr_arch_guard", &Level::WARN));
        assert!(!f.would_enable("ecr_arch_guard", &Level::INFO));
        assert!(!f.would_enable("aws_config", &Level::INFO));
    }

    #[test]
    fn an_unknown_level_means_info() {
        for requested in [None, Some("nonsense"), Some("")] {
            let f = filter(requested);
            assert!(f.would_enable("ecr_arch_guard", &Level::INFO));
            assert!(!f.would_enable("ecr_arch_guard", &Level::DEBUG));
        }
    }
}
