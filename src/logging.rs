//! The Lambda's logs: JSON lines for CloudWatch (`AWS_LAMBDA_LOG_FORMAT=JSON`, set by the
//! template's `LoggingConfig`), level from `AWS_LAMBDA_LOG_LEVEL` (or `RUST_LOG`), default INFO.
//!
//! Our own crate logs at the level asked for. Every other crate (the AWS SDK, hyper, rustls) is
//! capped at DEBUG whatever is asked: at TRACE they print request and response payloads, and a
//! GetDownloadUrlForLayer response is a presigned URL — a credential. Checked by
//! `tests/e2e_moto.rs` at INFO, DEBUG and TRACE.

use std::str::FromStr;

use lambda_runtime::tracing::subscriber::filter::{EnvFilter, LevelFilter};

/// The filter for a requested level (`INFO`, `debug`, `TRACE`, …; unknown = INFO).
pub fn filter(requested: Option<&str>) -> EnvFilter {
    let level = requested
        .and_then(|l| LevelFilter::from_str(l.trim()).ok())
        .unwrap_or(LevelFilter::INFO);
    let others = level.min(LevelFilter::DEBUG);
    EnvFilter::builder()
        .with_default_directive(others.into())
        .parse_lossy(format!(
            "ecr_arch_guard={level},bootstrap={level},lambda_runtime={}",
            others
        ))
}

/// Installs the subscriber (once, at init).
pub fn init() {
    let requested = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = lambda_runtime::tracing::subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter(requested.as_deref()));
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_crates_never_go_past_debug() {
        let f = filter(Some("TRACE")).to_string();
        assert!(f.contains("ecr_arch_guard=trace"), "{f}");
        assert!(f.contains("lambda_runtime=debug"), "{f}");
        let f = filter(Some("warn")).to_string();
        assert!(
            f.contains("ecr_arch_guard=warn") && f.contains("lambda_runtime=warn"),
            "{f}"
        );
        let f = filter(Some("nonsense")).to_string();
        assert!(f.contains("ecr_arch_guard=info"), "{f}");
    }
}
