//! Images on disk as a [`Fetch`] source: an OCI image layout directory (`oci-layout`,
//! `index.json`, `blobs/sha256/…`), a tar of one (as `docker save` writes since Docker 25), or a
//! legacy `docker save` tar (`manifest.json` with `Config`/`RepoTags`/`Layers`).
//!
//! Tars are indexed once (name → offset) and read on demand, so multi-gigabyte saves with
//! their layers cost no memory: only manifests and configs are ever read.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::image::digest::Digest;
use crate::image::manifest::{Descriptor, Index};
use crate::image::media_type::MediaType;
use crate::image::ports::{Fetch, Fetched};
use crate::util::error::Error;

mod layers;
mod legacy;
mod tar_index;
use tar_index::{index_tar, TarEntry};

/// Annotations that name an image in a layout's `index.json`.
/// The fuller `io.containerd.image.name` comes first, so it is the name shown.
pub const REF_NAME_ANNOTATIONS: [&str; 2] = [
    "io.containerd.image.name",
    "org.opencontainers.image.ref.name",
];

/// An opened layout or tar.
#[derive(Debug)]
pub struct Layout {
    store: Store,
    candidates: Vec<Candidate>,
}

#[derive(Debug)]
enum Store {
    Dir(PathBuf),
    Tar {
        path: PathBuf,
        entries: HashMap<String, TarEntry>,
    },
}

/// One image the layout holds.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Names from annotations or `RepoTags`.
    pub names: Vec<String>,
    pub target: Target,
}

#[derive(Debug, Clone)]
pub enum Target {
    /// A manifest or index in `blobs/`.
    Manifest {
        digest: Digest,
        media_type: Option<String>,
    },
    /// A legacy `docker save` image: a config file and its layer tars (`<id>/layer.tar`).
    LegacyConfig { path: String, layers: Vec<String> },
}

impl Candidate {
    fn label(&self) -> String {
        let id = match &self.target {
            Target::Manifest { digest, .. } => digest.to_string(),
            Target::LegacyConfig { path, .. } => path.clone(),
        };
        if self.names.is_empty() {
            id
        } else {
            format!("{} ({id})", self.names.join(", "))
        }
    }
}

#[derive(Deserialize)]
struct LegacyManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Option<Vec<String>>,
}

const MAX_METADATA_BYTES: u64 = 4 * 1024 * 1024;

impl Layout {
    /// Opens a directory or a tar file.
    pub fn open(path: &Path) -> Result<Layout, Error> {
        let meta = std::fs::metadata(path).map_err(|e| io(path, e))?;
        let store = if meta.is_dir() {
            Store::Dir(path.to_path_buf())
        } else {
            Store::Tar {
                path: path.to_path_buf(),
                entries: index_tar(path)?,
            }
        };
        let mut layout = Layout {
            store,
            candidates: Vec::new(),
        };
        layout.candidates = layout.find_candidates()?;
        Ok(layout)
    }

    /// The images this layout holds.
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// Picks the image named `reference` (a ref-name annotation, a `RepoTags` entry, a suffix of
    /// one after `/`, or a digest), or the only image when no reference is given.
    pub fn select(&self, reference: Option<&str>) -> Result<&Candidate, Error> {
        let choices = || {
            self.candidates
                .iter()
                .map(|c| format!("  {}", c.label()))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let Some(reference) = reference else {
            return match self.candidates.as_slice() {
                [one] => Ok(one),
                [] => Err(Error::Usage("the layout holds no image".into())),
                _ => Err(Error::Usage(format!(
                    "the layout holds {} images; choose one with --ref:\n{}",
                    self.candidates.len(),
                    choices()
                ))),
            };
        };
        let matches: Vec<&Candidate> = self
            .candidates
            .iter()
            .filter(|c| {
                c.names.iter().any(|n| n == reference || n.ends_with(&format!("/{reference}")))
                    || matches!(&c.target, Target::Manifest { digest, .. } if digest.as_str() == reference)
            })
            .collect();
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(Error::Usage(format!(
                "no image named {reference:?} in the layout; it holds:\n{}",
                choices()
            ))),
            _ => Err(Error::Usage(format!(
                "{reference:?} names {} images; use a fuller name or a digest:\n{}",
                matches.len(),
                choices()
            ))),
        }
    }

    fn find_candidates(&self) -> Result<Vec<Candidate>, Error> {
        if let Some(bytes) = self.read_optional("oci-layout")? {
            #[derive(Deserialize)]
            struct Marker {
                #[serde(rename = "imageLayoutVersion")]
                version: String,
            }
            let marker: Marker = serde_json::from_slice(&bytes)
                .map_err(|e| Error::Malformed(format!("oci-layout: {e}")))?;
            if !marker.version.starts_with("1.") {
                return Err(Error::Malformed(format!(
                    "oci-layout: unsupported imageLayoutVersion {:?}",
                    marker.version
                )));
            }
        }
        let mut candidates: Vec<Candidate> = Vec::new();
        let index_json = self.read_optional("index.json")?;
        if let Some(bytes) = &index_json {
            let index: Index = serde_json::from_slice(bytes)
                .map_err(|e| Error::Malformed(format!("index.json: {e}")))?;
            for entry in &index.manifests {
                add_manifest_candidate(&mut candidates, entry)?;
            }
        }
        if candidates.is_empty() {
            if let Some(bytes) = self.read_optional("manifest.json")? {
                let entries: Vec<LegacyManifestEntry> = serde_json::from_slice(&bytes)
                    .map_err(|e| Error::Malformed(format!("manifest.json: {e}")))?;
                for e in entries {
                    candidates.push(Candidate {
                        names: e.repo_tags.unwrap_or_default(),
                        target: Target::LegacyConfig {
                            path: e.config,
                            layers: e.layers.unwrap_or_default(),
                        },
                    });
                }
            } else if index_json.is_none() {
                return Err(Error::Usage(
                    "not an OCI image layout or docker save tar: no index.json or manifest.json"
                        .into(),
                ));
            }
        }
        Ok(candidates)
    }

    pub(crate) fn blob_path(digest: &Digest) -> String {
        format!("blobs/sha256/{}", digest.hex())
    }

    fn read_optional(&self, rel: &str) -> Result<Option<Vec<u8>>, Error> {
        match self.read_file(rel, MAX_METADATA_BYTES) {
            Ok(b) => Ok(Some(b)),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads a file of the layout, at most `max` bytes.
    pub(crate) fn read_file(&self, rel: &str, max: u64) -> Result<Vec<u8>, Error> {
        let (file, size) = self.open_file(rel)?;
        if size > max {
            return Err(Error::TooLarge {
                what: rel.to_string(),
                size,
                limit: max,
            });
        }
        read_capped(file, rel, max, Path::new(rel))
    }

    /// A file of the layout as a stream, and its size (a tar's links followed): read on demand,
    /// never whole (a layer of a multi-gigabyte save).
    fn open_file(&self, rel: &str) -> Result<(Box<dyn Read + Send>, u64), Error> {
        let rel = clean(rel)?;
        match &self.store {
            Store::Dir(root) => {
                let path = root.join(&rel);
                let file = File::open(&path).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => Error::NotFound(rel.clone()),
                    _ => io(&path, e),
                })?;
                let size = file.metadata().map_err(|e| io(&path, e))?.len();
                Ok((Box::new(file), size))
            }
            Store::Tar { path, entries } => {
                let mut name = rel.clone();
                for _ in 0..8 {
                    let entry = entries
                        .get(&name)
                        .ok_or_else(|| Error::NotFound(rel.clone()))?;
                    if let Some(target) = &entry.link {
                        name = target.clone();
                        continue;
                    }
                    let mut file = File::open(path).map_err(|e| io(path, e))?;
                    file.seek(SeekFrom::Start(entry.offset))
                        .map_err(|e| io(path, e))?;
                    return Ok((Box::new(file.take(entry.size)), entry.size));
                }
                Err(Error::Malformed(format!(
                    "{rel}: too many links in the tar"
                )))
            }
        }
    }
}

fn add_manifest_candidate(
    candidates: &mut Vec<Candidate>,
    entry: &Descriptor,
) -> Result<(), Error> {
    let digest = entry.digest()?;
    let names: Vec<String> = REF_NAME_ANNOTATIONS
        .iter()
        .filter_map(|k| entry.annotations.get(*k).cloned())
        .filter(|n| !n.is_empty())
        .collect();
    if let Some(existing) = candidates
        .iter_mut()
        .find(|c| matches!(&c.target, Target::Manifest { digest: d, .. } if *d == digest))
    {
        for n in names {
            if !existing.names.contains(&n) {
                existing.names.push(n);
            }
        }
        return Ok(());
    }
    let mut names_dedup = names;
    names_dedup.dedup();
    candidates.push(Candidate {
        names: names_dedup,
        target: Target::Manifest {
            digest,
            media_type: Some(entry.media_type.clone()).filter(|m| !m.is_empty()),
        },
    });
    Ok(())
}

fn read_capped<R: Read>(reader: R, rel: &str, max: u64, path: &Path) -> Result<Vec<u8>, Error> {
    let mut buf = Vec::new();
    reader
        .take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| io(path, e))?;
    if buf.len() as u64 > max {
        return Err(Error::TooLarge {
            what: rel.to_string(),
            size: buf.len() as u64,
            limit: max,
        });
    }
    Ok(buf)
}

/// A relative path inside the layout: no `..`, no root, `./` dropped.
fn clean(rel: &str) -> Result<String, Error> {
    let mut parts: Vec<String> = Vec::new();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return Err(Error::Malformed(format!("{rel:?}: path leaves the layout"))),
        }
    }
    if parts.is_empty() {
        return Err(Error::Malformed(format!("{rel:?}: empty path")));
    }
    Ok(parts.join("/"))
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Fetch for Layout {
    async fn manifest(
        &self,
        digest: &Digest,
        hint: Option<&str>,
        max_bytes: u64,
    ) -> Result<Fetched, Error> {
        let bytes = self
            .read_file(&Self::blob_path(digest), max_bytes)
            .map_err(|e| match e {
                Error::NotFound(_) => {
                    Error::NotFound(format!("manifest {digest} (blob missing from the layout)"))
                }
                other => other,
            })?;
        Ok(Fetched {
            bytes,
            media_type: hint.map(MediaType::from),
        })
    }

    async fn blob(&self, digest: &Digest, max_bytes: u64) -> Result<Vec<u8>, Error> {
        self.read_file(&Self::blob_path(digest), max_bytes)
            .map_err(|e| match e {
                Error::NotFound(_) => {
                    Error::NotFound(format!("blob {digest} (missing from the layout)"))
                }
                other => other,
            })
    }
}
