//! A legacy `docker save` image (`manifest.json` with `Config`, `RepoTags`, `Layers`): judged by
//! its config file alone (no manifest), and deep-checked from its layer tars, each identified by
//! the config's `rootfs.diff_ids` (the digest of the uncompressed tar a legacy save stores).

use std::path::Path;

use serde::Deserialize;

use super::Layout;
use crate::binary::rootfs::LayerRef;
use crate::image::digest::Digest;
use crate::image::image_config::ImageConfig;
use crate::image::media_type::{self, MediaType};
use crate::image::resolve::{Limits, Outcome, Resolution};
use crate::util::error::Error;

impl Layout {
    /// Resolves a legacy `docker save` image from its config file alone. Its digest is the
    /// config's (the image ID), checked against the file name when that is a digest.
    pub fn resolve_legacy(&self, path: &str, limits: &Limits) -> Result<Resolution, Error> {
        let bytes = self.read_file(path, limits.max_config_bytes)?;
        let digest = Digest::of(&bytes);
        let stem = Path::new(path)
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n.trim_end_matches(".json"))
            .unwrap_or_default();
        if stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit()) && stem != digest.hex() {
            return Err(Error::DigestMismatch {
                expected: format!("sha256:{stem}"),
                actual: digest.to_string(),
            });
        }
        let config = ImageConfig::parse(&bytes)?;
        let outcome = match config.platform() {
            Some(p) => Outcome::Image(vec![p]),
            None => Outcome::NotAnImage("config has no runnable os/architecture".into()),
        };
        Ok(Resolution {
            digest,
            media_type: MediaType::from(media_type::DOCKER_CONFIG),
            manifest_bytes: Vec::new(),
            outcome,
            attestations: 0,
            artifacts: 0,
            children: Vec::new(),
        })
    }

    /// The deep-check target of a legacy `docker save` image: its config's label and run
    /// parameters, and its layer tars, each identified by the config's `rootfs.diff_ids` (the
    /// digest of the uncompressed tar, which is what a legacy save stores).
    pub fn legacy_target(
        &self,
        config_path: &str,
        layer_paths: &[String],
        limits: &Limits,
    ) -> Result<Option<crate::binary::deep::target::Target>, Error> {
        let bytes = self.read_file(config_path, limits.max_config_bytes)?;
        let config = ImageConfig::parse(&bytes)?;
        let Some(label) = config.platform() else {
            return Ok(None);
        };
        #[derive(Deserialize)]
        struct RootFs {
            #[serde(default)]
            diff_ids: Vec<String>,
        }
        #[derive(Deserialize)]
        struct WithRootFs {
            #[serde(default)]
            rootfs: Option<RootFs>,
        }
        let ids = serde_json::from_slice::<WithRootFs>(&bytes)
            .ok()
            .and_then(|c| c.rootfs)
            .map(|r| r.diff_ids)
            .unwrap_or_default();
        if ids.len() != layer_paths.len() {
            return Err(Error::Malformed(format!(
                "{config_path}: {} diff_ids for {} layers in manifest.json",
                ids.len(),
                layer_paths.len()
            )));
        }
        let layers = ids
            .iter()
            .zip(layer_paths)
            .map(|(id, path)| {
                Ok(LayerRef {
                    digest: Digest::parse(id)?,
                    media_type: media_type::DOCKER_LAYER_TAR.to_string(),
                    path: Some(path.clone()),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Some(crate::binary::deep::target::Target {
            manifest: Digest::of(&bytes),
            label: label.platform,
            run: config.config,
            layers,
        }))
    }
}
