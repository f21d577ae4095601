//! The image config blob: where a single-image manifest says what platform it runs on.

use serde::Deserialize;

use crate::error::Error;
use crate::platform::{ImagePlatform, Platform};

/// The few fields of an image config (OCI or Docker) that matter here. `rootfs`, history and
/// the rest are ignored, so minimal and odd configs still parse.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default, rename = "os.version")]
    pub os_version: Option<String>,
}

impl ImageConfig {
    pub fn parse(bytes: &[u8]) -> Result<ImageConfig, Error> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::Malformed(format!("bad image config: {e}")))
    }

    /// The normalised platform, or `None` when os or architecture is empty or `unknown`
    /// (cosign signatures, attestations): such a config is not a runnable image.
    pub fn platform(&self) -> Option<ImagePlatform> {
        let platform = Platform::from_parts(&self.os, &self.architecture, self.variant.as_deref())?;
        if platform.is_unknown() {
            return None;
        }
        Some(ImagePlatform {
            platform,
            os_version: self.os_version.clone().filter(|v| !v.is_empty()),
        })
    }
}
