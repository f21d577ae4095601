//! The image config blob: where a single-image manifest says what platform it runs on.

use serde::Deserialize;

use crate::image::platform::{ImagePlatform, Platform};
use crate::util::error::Error;

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
    /// What a container of the image runs (`config` of the OCI image config: `Entrypoint`,
    /// `Cmd`, `Env`, `WorkingDir`), read for the deep check.
    #[serde(default, deserialize_with = "lenient_run")]
    pub config: RunConfig,
}

/// The execution parameters of an image config. Each field is read leniently: `null`, a
/// missing field or a value of another shape is empty (a string where a list is expected is
/// the one-element list Docker would make of it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
}

impl RunConfig {
    /// An environment variable of the image (`Env`'s last `NAME=` wins, as Docker applies them).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    }
}

fn lenient_run<'de, D: serde::Deserializer<'de>>(d: D) -> Result<RunConfig, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    let list = |key: &str| -> Vec<String> {
        match v.get(key) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            Some(serde_json::Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    Ok(RunConfig {
        entrypoint: list("Entrypoint"),
        cmd: list("Cmd"),
        env: list("Env"),
        working_dir: v
            .get("WorkingDir")
            .and_then(|w| w.as_str())
            .unwrap_or_default()
            .to_string(),
    })
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

    #[test]
    fn the_run_config_is_read_leniently() {
        let c = ImageConfig::parse(
            br#"{"architecture":"arm64","os":"linux","config":{"Entrypoint":["/app/server"],
               "Cmd":null,"Env":["PATH=/usr/bin","PATH=/opt/bin:/usr/bin"],"WorkingDir":"/app"}}"#,
        )
        .unwrap();
        assert_eq!(c.config.entrypoint, ["/app/server"]);
        assert!(c.config.cmd.is_empty());
        assert_eq!(c.config.var("PATH"), Some("/opt/bin:/usr/bin"));
        assert_eq!(c.config.working_dir, "/app");
        let odd = ImageConfig::parse(br#"{"config":{"Cmd":"run.sh","Env":5}}"#).unwrap();
        assert_eq!(odd.config.cmd, ["run.sh"]);
        assert!(ImageConfig::parse(br#"{"config":null}"#)
            .unwrap()
            .config
            .cmd
            .is_empty());
    }
}
