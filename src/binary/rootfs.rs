//! An image's merged filesystem, read lazily from its layers: paths are looked up from the top
//! layer down, each layer streamed only as far as a lookup needs, so a binary in a small top
//! layer is found without opening the large base layer under it.
//!
//! Layer semantics from the OCI image spec (`layer.md`, "Whiteouts"): layers apply in order; a
//! `.wh.NAME` entry hides `NAME` in the layers below; `.wh..wh..opq` in a directory hides the
//! directory's contents in the layers below; entries of the same layer are not hidden by its
//! own whiteouts. A directory that a layer only implies (it holds `dir/file` but no `dir/`
//! entry) is a directory of that layer. Paths resolve as Linux resolves them
//! (`path_resolution(7)`): component by component, symbolic links followed — an absolute target
//! from the image's root, never the host's — at most 40 of them (`ELOOP`), `..` at the root
//! staying at the root; a name that climbs out of the root in a tar is not part of the image.
//!
//! Bounded: every byte goes through the image's [`Meter`](crate::binary::layer_stream::Meter); each
//! layer keeps an index of names (capped), and the first bytes only of the files asked for.

use crate::binary::layer_stream::Meter;

mod layer;

pub use layer::Tally;
use layer::{Layer, Node};

/// How many first bytes of a file are kept (an ELF's program headers and `PT_INTERP`).
pub const HEAD_BYTES: usize = 64 * 1024;
/// Symbolic links followed in one resolution (Linux's `MAXSYMLINKS`).
pub const MAX_SYMLINKS: usize = 40;
/// Names indexed across all layers (memory bound: about 100 bytes each).
pub const MAX_ENTRIES: usize = 300_000;

pub use crate::image::layer::{LayerRef, LayerSource};

/// Why a lookup could not be completed: the image is not checked, for this reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault(pub String);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    File,
    Dir,
    /// A directory the layer implies by holding something inside it.
    ImpliedDir,
    Symlink,
    Hardlink,
    Other,
}

/// A file found: where, and its first bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub path: String,
    pub head: Vec<u8>,
    /// The symbolic links followed on the way (`bin -> usr/bin`).
    pub links: Vec<String>,
}

/// What a path resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    File(Found),
    Missing(String),
    /// A directory, a device, a FIFO: nothing to execute.
    NotAFile(String),
    Loop(String),
}

pub struct MergedFs<'a> {
    source: &'a dyn LayerSource,
    meter: Meter,
    /// Bottom first.
    layers: Vec<Layer>,
    tally: Tally,
}

impl<'a> MergedFs<'a> {
    /// The filesystem of `layers` (bottom first), read through `source`, metered by `meter`.
    pub fn new(source: &'a dyn LayerSource, layers: &[LayerRef], meter: Meter) -> MergedFs<'a> {
        MergedFs {
            source,
            meter,
            layers: layers.iter().map(Layer::new).collect(),
            tally: Tally::default(),
        }
    }

    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// What the reads cost so far, and what they met.
    pub fn tally(&mut self) -> &mut Tally {
        &mut self.tally
    }

    /// Resolves an absolute path (relative names are the caller's to place) to a file and its
    /// first bytes.
    pub fn resolve(&mut self, path: &str) -> Result<Resolved, Fault> {
        let mut pending: Vec<String> = components(path).into_iter().rev().collect();
        let mut current: Vec<String> = Vec::new();
        let mut links = Vec::new();
        let mut hops = 0;
        while let Some(c) = pending.pop() {
            if c == ".." {
                current.pop();
                continue;
            }
            let candidate = join(&current, &c);
            let last = pending.is_empty();
            let Some((layer, node)) = self.lookup(&candidate, last)? else {
                return Ok(Resolved::Missing(format!("/{candidate}")));
            };
            match node.kind {
                NodeKind::Symlink => {
                    hops += 1;
                    if hops > MAX_SYMLINKS {
                        return Ok(Resolved::Loop(format!("/{candidate}")));
                    }
                    let target = node.link.unwrap_or_default();
                    links.push(format!("/{candidate} -> {target}"));
                    if target.starts_with('/') {
                        current.clear();
                    }
                    for part in components(&target).into_iter().rev() {
                        pending.push(part);
                    }
                }
                NodeKind::Dir | NodeKind::ImpliedDir if !last => current.push(c),
                NodeKind::File if last => {
                    let head = match node.head {
                        Some(h) => h,
                        None => self.layers[layer].head_of(
                            self.source,
                            &self.meter,
                            &mut self.tally,
                            &candidate,
                        )?,
                    };
                    return Ok(Resolved::File(Found {
                        path: format!("/{candidate}"),
                        head,
                        links,
                    }));
                }
                NodeKind::Hardlink if last => {
                    let target = node.link.unwrap_or_default();
                    let head = self.layers[layer].head_of(
                        self.source,
                        &self.meter,
                        &mut self.tally,
                        &target,
                    )?;
                    return Ok(Resolved::File(Found {
                        path: format!("/{candidate}"),
                        head,
                        links,
                    }));
                }
                NodeKind::File | NodeKind::Hardlink => {
                    return Ok(Resolved::Missing(format!(
                        "/{candidate}/… (/{candidate} is a file, not a directory)"
                    )))
                }
                _ => return Ok(Resolved::NotAFile(format!("/{candidate}"))),
            }
        }
        Ok(Resolved::NotAFile("/".into()))
    }

    /// The topmost layer's entry for `path`, honouring whiteouts and opaque directories.
    fn lookup(&mut self, path: &str, want_head: bool) -> Result<Option<(usize, Node)>, Fault> {
        for i in (0..self.layers.len()).rev() {
            if let Some(node) = self.find_in_layer(i, path, want_head)? {
                return Ok(Some((i, node)));
            }
            // Layer `i` is fully read by now: its whiteouts are all known.
            if self.hidden_below(i, path) {
                return Ok(None);
            }
        }
        Ok(None)
    }

    fn hidden_below(&self, i: usize, path: &str) -> bool {
        let l = &self.layers[i];
        if l.whiteouts.contains(path) {
            return true;
        }
        ancestors(path).any(|a| {
            l.whiteouts.contains(a)
                || l.opaque.contains(a)
                || l.index
                    .get(a)
                    .is_some_and(|n| !matches!(n.kind, NodeKind::Dir | NodeKind::ImpliedDir))
        })
    }

    /// `path`'s entry in layer `i`, reading the layer on as far as needed.
    fn find_in_layer(
        &mut self,
        i: usize,
        path: &str,
        want_head: bool,
    ) -> Result<Option<Node>, Fault> {
        if let Some(n) = self.layers[i].index.get(path) {
            return Ok(Some(n.clone()));
        }
        let inside = format!("{path}/");
        loop {
            // The file asked for; or, looking for a directory, the first entry inside it, which
            // ends this scan and is, in a layer that leaves its directories implied
            // (`app/server` with no `app/` entry), most often the very file the lookup goes on
            // to: its head is kept now, so the layer is not read a second time for it.
            let keep = |e: &crate::binary::tar_walk::Entry| {
                if want_head {
                    e.path == path
                } else {
                    e.path.starts_with(&inside)
                }
            };
            let Some(entry) =
                self.layers[i].next_entry(self.source, &self.meter, &mut self.tally, keep)?
            else {
                return Ok(None);
            };
            if !entry.escapes && (entry.path == path || entry.path.starts_with(&inside)) {
                return Ok(self.layers[i].index.get(path).cloned());
            }
        }
    }
}

/// `a/b/c` → `a`, `a/b`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(str::to_string)
        .collect()
}

fn join(dir: &[String], name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{}/{name}", dir.join("/"))
    }
}

fn join_str(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}
