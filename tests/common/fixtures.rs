//! The real documents in `tests/fixtures` (copied from `../shared/corpus`) and the sample
//! events in `events/`, shared by the integration tests and the examples.
#![allow(dead_code)]

use std::path::PathBuf;

use ecr_arch_guard::event::EcrEvent;

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The bytes of a fixture.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The fixtures the AWS-side tests and examples push: the Mac accident (arm64 only, platform in
/// the config), its amd64 sibling, and Docker Hub's hello-world index (attestations, windows).
pub mod images {
    pub const ARM_MANIFEST: &str =
        "oci-manifest-hello-world-arm64-platform-in-config-descriptor.json";
    pub const ARM_CONFIG: &str = "image-config-hello-world-arm64-no-variant.json";
    pub const AMD_MANIFEST: &str = "oci-manifest-hello-world-amd64-dockerhub.json";
    pub const AMD_CONFIG: &str = "image-config-hello-world-amd64-oci-dockerhub.json";
    pub const INDEX: &str = "oci-index-hello-world-dockerhub-attestations-windows.json";
}

/// A sample event of `events/` as JSON, to change before parsing it with [`parsed`].
pub fn event_value(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// An event as the Lambda receives it.
pub fn parsed(v: serde_json::Value) -> EcrEvent {
    serde_json::from_value(v).unwrap_or_else(|e| panic!("not an ECR event: {e}"))
}

/// A sample event of `events/`, parsed as the Lambda receives it.
pub fn event(name: &str) -> EcrEvent {
    parsed(event_value(name))
}

/// A consumer-change sample of `events/` (`change-*.json`), parsed as the Lambda receives it.
pub fn change_event(name: &str) -> ecr_arch_guard::event::change::CloudTrailEvent {
    serde_json::from_value(event_value(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// What the alert for `events/push-arm64-only-tagged.json` must say: the image, what fails and
/// where, the fixes, the JSON verdict.
pub const ARM64_ALERT_SAYS: [&str; 7] = [
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/grafana:latest",
    "exec format error",
    "App Runner",
    "docker pull --platform linux/amd64",
    "docker buildx build --platform linux/amd64,linux/arm64",
    "docker buildx imagetools inspect",
    "\"verdict\": \"mismatch\"",
];
