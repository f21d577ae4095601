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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_config_keeps_os_version_as_detail() {
        let c = ImageConfig::parse(
            br#"{"architecture":"amd64","os":"windows","os.version":"10.0.20348.2849","rootfs":{"type":"layers"}}"#,
        )
        .unwrap();
        let p = c.platform().unwrap();
        assert_eq!(p.platform.to_string(), "windows/amd64");
        assert_eq!(p.os_version.as_deref(), Some("10.0.20348.2849"));
    }

    #[test]
    fn aarch64_and_x86_64_spellings_and_empty_or_unknown_configs() {
        let p = |s: &[u8]| {
            ImageConfig::parse(s)
                .unwrap()
                .platform()
                .map(|p| p.platform.to_string())
        };
        assert_eq!(
            p(br#"{"architecture":"aarch64","os":"linux","variant":"v8"}"#).as_deref(),
            Some("linux/arm64")
        );
        assert_eq!(
            p(br#"{"architecture":"x86_64","os":"Linux"}"#).as_deref(),
            Some("linux/amd64")
        );
        assert_eq!(p(br#"{"architecture":"","os":""}"#), None);
        assert_eq!(p(br#"{"architecture":"unknown","os":"unknown"}"#), None);
        assert_eq!(p(br#"{}"#), None, "no rootfs required");
        assert!(ImageConfig::parse(b"[1,2]").is_err());
        assert!(ImageConfig::parse(br#"{"architecture":5}"#).is_err());
    }
}
