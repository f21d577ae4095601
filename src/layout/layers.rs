//! A layout's layers for the deep check: its [`LayerSource`] (layer files streamed from the
//! directory or the tar, never read whole) and a legacy `docker save` image's target (its layer
//! tars, identified by the config's `diff_ids`).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use serde::Deserialize;

use super::{clean, io, Layout, Store};
use crate::digest::Digest;
use crate::error::Error;
use crate::image_config::ImageConfig;
use crate::media_type;
use crate::resolve::Limits;
use crate::rootfs::{LayerRef, LayerSource};

/// Layers are read from the layout's files: `blobs/sha256/<hex>` by digest, or a legacy
/// `docker save` tar's `<id>/layer.tar` by path; streamed, never read whole.
impl LayerSource for Layout {
    fn open(&self, layer: &LayerRef) -> Result<Box<dyn Read + Send>, Error> {
        let rel = match &layer.path {
            Some(p) => clean(p)?,
            None => Self::blob_path(&layer.digest),
        };
        match &self.store {
            Store::Dir(root) => {
                let path = root.join(&rel);
                let file = File::open(&path).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => {
                        Error::NotFound("in the layout (saved without its layers?)".into())
                    }
                    _ => io(&path, e),
                })?;
                Ok(Box::new(file))
            }
            Store::Tar { path, entries } => {
                let mut name = rel.clone();
                for _ in 0..8 {
                    let entry = entries.get(&name).ok_or_else(|| {
                        Error::NotFound("in the tar (saved without its layers?)".into())
                    })?;
                    if let Some(target) = &entry.link {
                        name = target.clone();
                        continue;
                    }
                    let mut file = File::open(path).map_err(|e| io(path, e))?;
                    file.seek(SeekFrom::Start(entry.offset))
                        .map_err(|e| io(path, e))?;
                    return Ok(Box::new(file.take(entry.size)));
                }
                Err(Error::Malformed(format!(
                    "{rel}: too many links in the tar"
                )))
            }
        }
    }
}

impl Layout {
    /// The deep-check target of a legacy `docker save` image: its config's label and run
    /// parameters, and its layer tars, each identified by the config's `rootfs.diff_ids` (the
    /// digest of the uncompressed tar, which is what a legacy save stores).
    pub fn legacy_target(
        &self,
        config_path: &str,
        layer_paths: &[String],
        limits: &Limits,
    ) -> Result<Option<crate::deep::target::Target>, Error> {
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
        Ok(Some(crate::deep::target::Target {
            manifest: Digest::of(&bytes),
            label: label.platform,
            run: config.config,
            layers,
        }))
    }
}

