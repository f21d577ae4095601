//! Which image manifests of a resolution the deep check reads, and what it needs of each: its
//! config's label and run parameters, and its layers. A single-image manifest is itself; of an
//! index, the images consumers pull: those whose platform serves a required platform (every
//! image of it when nothing is required).

use crate::binary::rootfs::LayerRef;
use crate::image::digest::Digest;
use crate::image::image_config::{ImageConfig, RunConfig};
use crate::image::manifest::{ImageManifest, Manifest};
use crate::image::platform::Platform;
use crate::image::ports::Fetch;
use crate::image::resolve::{ChildKind, Limits, Resolution};
use crate::util::error::Error;

/// One image manifest to deep-check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub manifest: Digest,
    pub label: Platform,
    pub run: RunConfig,
    pub layers: Vec<LayerRef>,
}

/// The targets of `resolution` for `required` (read through `src`: the child manifests and
/// configs, which the resolution has usually read already).
pub async fn targets<F: Fetch>(
    src: &F,
    resolution: &Resolution,
    required: &[Platform],
    limits: &Limits,
) -> Result<Vec<Target>, Error> {
    let mut out = Vec::new();
    if resolution.children.is_empty() {
        let manifest = Manifest::parse(
            &resolution.manifest_bytes,
            Some(resolution.media_type.as_str()),
        )?;
        if let Manifest::Image { manifest, .. } = manifest {
            out.extend(target(src, resolution.digest.clone(), &manifest, limits).await?);
        }
        return Ok(out);
    }
    for child in &resolution.children {
        if child.kind != ChildKind::Image {
            continue;
        }
        let serves = |p: &Platform| required.is_empty() || required.iter().any(|r| p.runs_on(r));
        if child.platform.as_ref().is_some_and(|p| !serves(p)) {
            continue;
        }
        let (m, _) =
            crate::image::resolve::fetch_manifest(src, &child.digest, None, limits).await?;
        let Manifest::Image { manifest, .. } = m else {
            continue;
        };
        if let Some(t) = target(src, child.digest.clone(), &manifest, limits).await? {
            // An entry without a platform is judged by its config's label.
            if child.platform.is_some() || serves(&t.label) {
                out.push(t);
            }
        }
    }
    Ok(out)
}

async fn target<F: Fetch>(
    src: &F,
    digest: Digest,
    manifest: &ImageManifest,
    limits: &Limits,
) -> Result<Option<Target>, Error> {
    let config_digest = manifest.config.digest()?;
    let bytes = src.blob(&config_digest, limits.max_config_bytes).await?;
    config_digest.verify(&bytes)?;
    let config = ImageConfig::parse(&bytes)?;
    let Some(label) = config.platform() else {
        return Ok(None);
    };
    let mut layers = Vec::with_capacity(manifest.layers.len());
    for l in &manifest.layers {
        layers.push(LayerRef {
            digest: l.digest()?,
            media_type: l.media_type.clone(),
            path: None,
        });
    }
    Ok(Some(Target {
        manifest: digest,
        label: label.platform,
        run: config.config,
        layers,
    }))
}
