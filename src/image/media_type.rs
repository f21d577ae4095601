//! Media types: the constants of the documents the guard reads, and [`MediaType`], the value
//! that travels with a manifest, an index or a config.

use std::fmt;

use serde::Serialize;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_V1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const DOCKER_V1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// An uncompressed layer tar (Docker image spec; what a legacy `docker save` holds).
pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
/// Some old pushes label the config blob as plain bytes; its content decides.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Every manifest media type ECR may hold, for `acceptedMediaTypes`.
pub const ACCEPTED: [&str; 5] = [
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_LIST,
    DOCKER_V2,
    DOCKER_V1_SIGNED,
];

pub fn is_index(mt: &str) -> bool {
    mt == OCI_INDEX || mt == DOCKER_LIST
}

pub fn is_image_manifest(mt: &str) -> bool {
    mt == OCI_MANIFEST || mt == DOCKER_V2 || mt == DOCKER_V1_SIGNED || mt == DOCKER_V1
}

pub fn is_image_config(mt: &str) -> bool {
    mt == OCI_CONFIG || mt == DOCKER_CONFIG || mt == OCTET_STREAM
}

/// A media type as a registry or a document states it (`application/vnd.oci.image.index.v1+json`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MediaType(String);

impl MediaType {
    pub fn new(s: impl Into<String>) -> MediaType {
        MediaType(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An OCI image index or a Docker manifest list.
    pub fn is_index(&self) -> bool {
        is_index(&self.0)
    }

    /// A single image's manifest (OCI, Docker schema2 or schema1).
    pub fn is_image(&self) -> bool {
        is_image_manifest(&self.0)
    }

    /// As a config's media type: something other than an image config (a Helm chart, a
    /// signature, an SBOM, OCI's empty config).
    pub fn is_artifact(&self) -> bool {
        !self.0.is_empty() && !is_image_config(&self.0)
    }
}

/// Reads as the text it is (`mt.as_deref()` on an `Option<MediaType>`, `&mt[..]`).
impl std::ops::Deref for MediaType {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for MediaType {
    fn from(s: &str) -> Self {
        MediaType(s.to_string())
    }
}

impl From<String> for MediaType {
    fn from(s: String) -> Self {
        MediaType(s)
    }
}

impl PartialEq<&str> for MediaType {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert!(MediaType::from(OCI_INDEX).is_index() && MediaType::from(DOCKER_LIST).is_index());
        assert!(MediaType::from(DOCKER_V2).is_image() && !MediaType::from(OCI_INDEX).is_image());
        assert!(MediaType::from("application/vnd.cncf.helm.config.v1+json").is_artifact());
        assert!(!MediaType::from(OCI_CONFIG).is_artifact() && !MediaType::from("").is_artifact());
    }
}
