//! The real documents in `tests/fixtures` (copied from `../shared/corpus`), shared by the
//! integration tests and the examples (which include this file by path).
#![allow(dead_code)]

use std::path::PathBuf;

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
