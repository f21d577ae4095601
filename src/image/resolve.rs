//! From a digest to the set of platforms the image runs on, through a [`Fetch`] source.
//!
//! Reads the minimum: an index whose entries carry platforms costs one manifest read; a single
//! manifest costs the manifest plus its config blob. Attestations (`unknown/unknown` or
//! `vnd.docker.reference.type=attestation-manifest`) and artifacts (entries with an
//! `artifactType`) are skipped without being read. Entries without a platform and nested
//! indexes are resolved by reading the child. Every read is size-capped and digest-verified.

use std::collections::BTreeSet;

use crate::image::digest::Digest;
use crate::image::image_config::ImageConfig;
use crate::image::manifest::{Descriptor, ImageManifest, Manifest};
use crate::image::media_type::{self, MediaType};
use crate::image::platform::{ImagePlatform, Platform};
use crate::image::ports::{Fetch, Fetched};
use crate::util::error::Error;

/// Bounds on what a (possibly hostile) registry document can make us do.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_manifest_bytes: u64,
    pub max_config_bytes: u64,
    pub max_index_entries: usize,
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_manifest_bytes: 4 * 1024 * 1024,
            max_config_bytes: 1024 * 1024,
            max_index_entries: 1000,
            max_depth: 4,
        }
    }
}

/// What the image is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A runnable image for these platforms (sorted, de-duplicated, never empty).
    Image(Vec<ImagePlatform>),
    /// Not something a container runtime can run (signature, SBOM, helm chart, ...).
    NotAnImage(String),
}

/// The result of resolving one digest.
#[derive(Clone, Debug)]
pub struct Resolution {
    pub digest: Digest,
    pub media_type: MediaType,
    /// The verified bytes of the top-level manifest (re-used to retag without another read).
    pub manifest_bytes: Vec<u8>,
    pub outcome: Outcome,
    /// Attestation / builder entries skipped in indexes.
    pub attestations: usize,
    /// Artifact entries skipped in indexes.
    pub artifacts: usize,
    /// For an index: every manifest it refers to, nested indexes' entries included, in the
    /// order read (the scan leaves them out: they are judged with their index).
    pub children: Vec<Child>,
}

impl Resolution {
    /// The plain `os/arch[/variant]` platforms, de-duplicated and sorted.
    pub fn platforms(&self) -> Vec<Platform> {
        match &self.outcome {
            Outcome::Image(ps) => {
                let set: BTreeSet<Platform> = ps.iter().map(|p| p.platform.clone()).collect();
                set.into_iter().collect()
            }
            Outcome::NotAnImage(_) => Vec::new(),
        }
    }

    pub fn is_index(&self) -> bool {
        self.media_type.is_index()
    }

    /// For an index: the digest of its first image entry built for a platform that runs on
    /// `host` (from the entries' own `platform` fields). `None` for a single manifest, or when
    /// no entry names such a platform.
    pub fn entry_for(&self, host: &Platform) -> Option<Digest> {
        self.children
            .iter()
            .filter(|c| c.kind == ChildKind::Image)
            .find(|c| c.platform.as_ref().is_some_and(|p| p.runs_on(host)))
            .map(|c| c.digest.clone())
    }
}

/// What an index entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildKind {
    /// A runnable image (its platform from the entry, or from its own config).
    Image,
    /// A BuildKit attestation or builder entry (`unknown/unknown`).
    Attestation,
    /// An artifact (signature, SBOM, `artifactType`).
    Artifact,
    /// A nested index (its own entries follow as children too).
    Index,
}

/// A manifest an index refers to, at any depth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Child {
    pub digest: Digest,
    /// The entry's normalised `platform`, when it has one.
    pub platform: Option<Platform>,
    pub kind: ChildKind,
}

/// Reads a manifest by digest, checks its size and digest, and parses it.
pub async fn fetch_manifest<F: Fetch>(
    src: &F,
    digest: &Digest,
    hint: Option<&str>,
    limits: &Limits,
) -> Result<(Manifest, Vec<u8>), Error> {
    let fetched = src
        .manifest(digest, hint, limits.max_manifest_bytes)
        .await?;
    parse_fetched(digest, fetched, hint, limits)
}

/// Checks the size and digest of manifest bytes already read, and parses them.
pub fn parse_fetched(
    digest: &Digest,
    fetched: Fetched,
    hint: Option<&str>,
    limits: &Limits,
) -> Result<(Manifest, Vec<u8>), Error> {
    check_size(
        "manifest",
        digest,
        fetched.bytes.len(),
        limits.max_manifest_bytes,
    )?;
    crate::image::manifest::verify_manifest(digest, &fetched.bytes)?;
    let hint = fetched.media_type.as_deref().or(hint);
    let manifest = Manifest::parse(&fetched.bytes, hint)?;
    Ok((manifest, fetched.bytes))
}

/// Resolves `digest` (a manifest or index) to the platforms it runs on.
pub async fn resolve<F: Fetch>(
    src: &F,
    digest: &Digest,
    hint: Option<&str>,
    limits: &Limits,
) -> Result<Resolution, Error> {
    let (manifest, bytes) = fetch_manifest(src, digest, hint, limits).await?;
    resolve_parsed(src, digest.clone(), manifest, bytes, limits).await
}

/// Resolves an already fetched, verified and parsed top-level manifest.
pub async fn resolve_parsed<F: Fetch>(
    src: &F,
    digest: Digest,
    manifest: Manifest,
    bytes: Vec<u8>,
    limits: &Limits,
) -> Result<Resolution, Error> {
    let media_type = manifest.media_type().clone();
    let mut walk = Walk::default();
    let outcome = match manifest {
        Manifest::Schema1 { manifest, .. } => schema1_outcome(&manifest.architecture),
        Manifest::Image { manifest, .. } => image_outcome(src, &manifest, limits).await?,
        Manifest::Index { index, .. } => {
            if let Some(at) = index.artifact_type.as_deref().filter(|a| !a.is_empty()) {
                Outcome::NotAnImage(format!("index is an artifact (artifactType {at})"))
            } else {
                walk.index(src, index.manifests, limits).await?
            }
        }
    };
    Ok(Resolution {
        digest,
        media_type,
        manifest_bytes: bytes,
        outcome,
        attestations: walk.attestations,
        artifacts: walk.artifacts,
        children: walk.children,
    })
}

fn schema1_outcome(architecture: &str) -> Outcome {
    match Platform::from_parts("linux", architecture, None) {
        Some(platform) => Outcome::Image(vec![ImagePlatform {
            platform,
            os_version: None,
        }]),
        None => Outcome::NotAnImage("schema1 manifest without architecture".into()),
    }
}

async fn image_outcome<F: Fetch>(
    src: &F,
    manifest: &ImageManifest,
    limits: &Limits,
) -> Result<Outcome, Error> {
    if let Some(at) = manifest.artifact_type.as_deref().filter(|a| !a.is_empty()) {
        return Ok(Outcome::NotAnImage(format!(
            "artifact manifest (artifactType {at})"
        )));
    }
    let config_type = manifest.config.media_type.as_str();
    if !config_type.is_empty() && !media_type::is_image_config(config_type) {
        return Ok(Outcome::NotAnImage(format!(
            "artifact manifest (config mediaType {config_type})"
        )));
    }
    let digest = manifest.config.digest()?;
    let bytes = src.blob(&digest, limits.max_config_bytes).await?;
    check_size(
        "image config",
        &digest,
        bytes.len(),
        limits.max_config_bytes,
    )?;
    digest.verify(&bytes)?;
    let config = ImageConfig::parse(&bytes)?;
    Ok(match config.platform() {
        Some(p) => Outcome::Image(vec![p]),
        None => Outcome::NotAnImage(format!(
            "config has no runnable os/architecture ({:?}/{:?}): a signature, attestation or other artifact",
            config.os, config.architecture
        )),
    })
}

fn check_size(what: &str, digest: &Digest, len: usize, limit: u64) -> Result<(), Error> {
    if len as u64 > limit {
        return Err(Error::TooLarge {
            what: format!("{what} {digest}"),
            size: len as u64,
            limit,
        });
    }
    Ok(())
}

#[derive(Default)]
struct Walk {
    platforms: BTreeSet<ImagePlatform>,
    attestations: usize,
    artifacts: usize,
    entries: usize,
    children: Vec<Child>,
}

impl Walk {
    /// An entry whose platform its own manifest or config told (or that is not an image).
    fn fetched(&mut self, entry: &Descriptor, outcome: Outcome, not_images: &mut Vec<String>) {
        match outcome {
            Outcome::Image(ps) => {
                let platform = ps.first().map(|p| p.platform.clone());
                self.platforms.extend(ps);
                self.child(entry, platform, ChildKind::Image);
            }
            Outcome::NotAnImage(why) => {
                not_images.push(why);
                self.child(entry, None, ChildKind::Artifact);
            }
        }
    }

    fn child(&mut self, entry: &Descriptor, platform: Option<Platform>, kind: ChildKind) {
        if let Ok(digest) = entry.digest() {
            self.children.push(Child {
                digest,
                platform,
                kind,
            });
        }
    }

    /// Breadth-first over index entries; nested indexes add their entries one level deeper.
    async fn index<F: Fetch>(
        &mut self,
        src: &F,
        top: Vec<Descriptor>,
        limits: &Limits,
    ) -> Result<Outcome, Error> {
        let mut queue: Vec<(Descriptor, usize)> = top.into_iter().map(|d| (d, 1)).collect();
        let mut not_images: Vec<String> = Vec::new();
        while !queue.is_empty() {
            let mut next = Vec::new();
            for (entry, depth) in queue {
                self.entries += 1;
                if self.entries > limits.max_index_entries {
                    return Err(Error::LimitExceeded(format!(
                        "index has more than {} entries",
                        limits.max_index_entries
                    )));
                }
                let declared = entry.platform.as_ref().and_then(|p| {
                    Platform::from_parts(&p.os, &p.architecture, p.variant.as_deref())
                });
                if entry.reference_type() == Some("attestation-manifest")
                    || entry
                        .platform
                        .as_ref()
                        .is_some_and(|p| p.os == "unknown" || p.architecture == "unknown")
                {
                    self.attestations += 1;
                    self.child(&entry, declared, ChildKind::Attestation);
                    continue;
                }
                if entry
                    .artifact_type
                    .as_deref()
                    .is_some_and(|a| !a.is_empty())
                {
                    self.artifacts += 1;
                    self.child(&entry, declared, ChildKind::Artifact);
                    continue;
                }
                if let (Some(p), Some(platform)) = (&entry.platform, &declared) {
                    self.platforms.insert(ImagePlatform {
                        platform: platform.clone(),
                        os_version: p.os_version.clone().filter(|v| !v.is_empty()),
                    });
                    self.child(&entry, declared, ChildKind::Image);
                    continue;
                }
                // No usable platform on the entry: the child itself must say.
                let digest = entry.digest()?;
                let hint = Some(entry.media_type.as_str()).filter(|m| !m.is_empty());
                let (child, _) = fetch_manifest(src, &digest, hint, limits).await?;
                match child {
                    Manifest::Index { index, .. } => {
                        if depth >= limits.max_depth {
                            return Err(Error::LimitExceeded(format!(
                                "indexes nested deeper than {} levels",
                                limits.max_depth
                            )));
                        }
                        if index
                            .artifact_type
                            .as_deref()
                            .is_some_and(|a| !a.is_empty())
                        {
                            self.artifacts += 1;
                            self.child(&entry, None, ChildKind::Artifact);
                            continue;
                        }
                        self.child(&entry, None, ChildKind::Index);
                        next.extend(index.manifests.into_iter().map(|d| (d, depth + 1)));
                    }
                    Manifest::Image { manifest, .. } => {
                        let outcome = image_outcome(src, &manifest, limits).await?;
                        if matches!(outcome, Outcome::NotAnImage(_)) {
                            self.artifacts += 1;
                        }
                        self.fetched(&entry, outcome, &mut not_images);
                    }
                    Manifest::Schema1 { manifest, .. } => {
                        let outcome = schema1_outcome(&manifest.architecture);
                        self.fetched(&entry, outcome, &mut not_images);
                    }
                }
            }
            queue = next;
        }
        if self.platforms.is_empty() {
            let mut why = format!(
                "index has no runnable image ({} entries: {} attestation, {} artifact)",
                self.entries, self.attestations, self.artifacts
            );
            if let Some(first) = not_images.first() {
                why.push_str(&format!("; {first}"));
            }
            return Ok(Outcome::NotAnImage(why));
        }
        Ok(Outcome::Image(
            std::mem::take(&mut self.platforms).into_iter().collect(),
        ))
    }
}
