//! A tar indexed once: entry name → offset, size and link target, so that a multi-gigabyte
//! `docker save` is read on demand (only manifests and configs) and costs no memory. Names are
//! cleaned (no `..`, no root); links that climb out of the archive are dropped.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path};

use super::{clean, io};
use crate::util::error::Error;

#[derive(Debug, Clone)]
pub(super) struct TarEntry {
    pub(super) offset: u64,
    pub(super) size: u64,
    /// Symlink or hard link target, as a path inside the archive.
    pub(super) link: Option<String>,
}

pub(super) fn index_tar(path: &Path) -> Result<HashMap<String, TarEntry>, Error> {
    let file = File::open(path).map_err(|e| io(path, e))?;
    let mut magic = [0u8; 2];
    {
        let mut f = &file;
        let n = f.read(&mut magic).map_err(|e| io(path, e))?;
        if n == 2 && magic == [0x1f, 0x8b] {
            return Err(Error::Usage(format!(
                "{}: gzip-compressed; decompress it first (gunzip) or pass the docker save output as is",
                path.display()
            )));
        }
        f.seek(SeekFrom::Start(0)).map_err(|e| io(path, e))?;
    }
    let mut archive = tar::Archive::new(file);
    let mut entries = HashMap::new();
    let bad = |e: std::io::Error| {
        Error::Malformed(format!("{}: not a readable tar: {e}", path.display()))
    };
    for entry in archive.entries_with_seek().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        let raw_name = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let Ok(name) = clean(&raw_name) else { continue };
        let kind = entry.header().entry_type();
        let link = if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name()
                .map_err(bad)?
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            let joined = if kind.is_symlink() {
                // Symlinks are relative to the link's own directory.
                let dir = Path::new(&name).parent().unwrap_or(Path::new(""));
                resolve_dots(&dir.join(&target))
            } else {
                clean(&target).ok()
            };
            match joined {
                Some(j) => Some(j),
                None => continue,
            }
        } else if kind.is_file() {
            None
        } else {
            continue;
        };
        entries.insert(
            name,
            TarEntry {
                offset: entry.raw_file_position(),
                size: entry.size(),
                link,
            },
        );
    }
    Ok(entries)
}

/// Resolves `a/b/../c` to `a/c`; `None` if it climbs out of the archive.
fn resolve_dots(p: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(x) => parts.push(x.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            _ => return None,
        }
    }
    Some(parts.join("/"))
}
