//! One layer of a [`MergedFs`](super::MergedFs): its tar streamed on demand and indexed as it
//! goes (names, kinds, link targets, whiteouts, opaque directories, the directories it
//! implies), the first bytes kept of the files asked for, its stored bytes hashed and checked
//! against its digest once read to their end.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use super::{join_str, Fault, LayerRef, LayerSource, NodeKind, HEAD_BYTES, MAX_ENTRIES};
use crate::binary::layer_stream::{self, Meter};
use crate::binary::tar_walk::{Entry, Kind, TarWalk};

/// Times one layer may be opened again to fetch a file passed over before it was asked for.
const MAX_REOPENS: u32 = 4;

/// What reading the layers cost and met, across layers.
#[derive(Debug, Default)]
pub struct Tally {
    pub entries: usize,
    /// Layers opened (each reopen counted).
    pub opened: usize,
    /// Layers read to their end, their digest verified.
    pub verified: usize,
    /// Entries ignored, with why (names that climb out of the root).
    pub notes: Vec<String>,
}

#[derive(Clone, Debug)]
pub(super) struct Node {
    pub(super) kind: NodeKind,
    pub(super) link: Option<String>,
    pub(super) head: Option<Vec<u8>>,
}

enum Scan {
    Unopened,
    Open(Box<TarWalk<Box<dyn Read + Send>>>),
    Done,
}

pub(super) struct Layer {
    pub(super) layer: LayerRef,
    scan: Scan,
    /// The sha256 of the stored bytes, once they were read to their end.
    stored_digest: Arc<Mutex<Option<String>>>,
    pub(super) index: HashMap<String, Node>,
    pub(super) whiteouts: HashSet<String>,
    pub(super) opaque: HashSet<String>,
    reopens: u32,
}

impl Layer {
    pub(super) fn new(layer: &LayerRef) -> Layer {
        Layer {
            layer: layer.clone(),
            scan: Scan::Unopened,
            stored_digest: Arc::default(),
            index: HashMap::new(),
            whiteouts: HashSet::new(),
            opaque: HashSet::new(),
            reopens: 0,
        }
    }

    /// The next entry of the layer (opening it if need be), indexed; the head of a regular
    /// file kept when `keep` says so. `None` once the layer is read to its end.
    pub(super) fn next_entry(
        &mut self,
        source: &dyn LayerSource,
        meter: &Meter,
        tally: &mut Tally,
        keep: impl Fn(&Entry) -> bool,
    ) -> Result<Option<Entry>, Fault> {
        let layer = self;
        if let Scan::Unopened = layer.scan {
            let stored = source.open(&layer.layer).map_err(|e| {
                Fault(format!(
                    "layer {} cannot be read ({e})",
                    layer.layer.digest.short()
                ))
            })?;
            let hashed = Hashing {
                inner: stored,
                hasher: Some(Sha256::new()),
                result: layer.stored_digest.clone(),
            };
            let plain =
                layer_stream::open(Box::new(hashed), meter).map_err(|e| fault(&layer.layer, &e))?;
            layer.scan = Scan::Open(Box::new(TarWalk::new(plain)));
            tally.opened += 1;
        }
        let Scan::Open(walk) = &mut layer.scan else {
            return Ok(None);
        };
        let entry = match walk.next_entry() {
            Ok(Some(e)) => e,
            Ok(None) => {
                // Read to the end of the stored bytes, and check them against the digest.
                let Scan::Open(walk) = std::mem::replace(&mut layer.scan, Scan::Done) else {
                    return Ok(None);
                };
                let mut rest = walk.into_inner();
                std::io::copy(&mut rest, &mut std::io::sink())
                    .map_err(|e| fault(&layer.layer, &e))?;
                let got = layer
                    .stored_digest
                    .lock()
                    .map(|d| d.clone())
                    .unwrap_or_default();
                match got {
                    Some(hex) if hex == layer.layer.digest.hex() => tally.verified += 1,
                    Some(hex) => {
                        return Err(Fault(format!(
                            "layer {} does not match its digest (its bytes hash to sha256:{hex})",
                            layer.layer.digest
                        )))
                    }
                    None => {}
                }
                return Ok(None);
            }
            Err(e) => return Err(fault(&layer.layer, &e)),
        };
        if entry.escapes {
            tally.notes.push(format!(
                "layer {} names {:?} above the image's root: ignored",
                layer.layer.digest.short(),
                entry.path
            ));
            return Ok(Some(entry));
        }
        let head = if entry.kind == Kind::File && keep(&entry) {
            Some(
                walk.read_head(&entry, HEAD_BYTES)
                    .map_err(|e| fault(&layer.layer, &e))?,
            )
        } else {
            None
        };
        tally.entries += 1;
        if tally.entries > MAX_ENTRIES {
            return Err(Fault(format!(
                "the layers hold more than {MAX_ENTRIES} entries"
            )));
        }
        index(layer, &entry, head);
        Ok(Some(entry))
    }

    /// The first bytes of a regular file of the layer that was passed over: the layer is read
    /// again from its start (counted against the budget) up to the file.
    pub(super) fn head_of(
        &mut self,
        source: &dyn LayerSource,
        meter: &Meter,
        tally: &mut Tally,
        path: &str,
    ) -> Result<Vec<u8>, Fault> {
        if let Some(h) = self.index.get(path).and_then(|n| n.head.clone()) {
            return Ok(h);
        }
        let layer = self;
        layer.reopens += 1;
        if layer.reopens > MAX_REOPENS {
            return Err(Fault(format!(
                "layer {} would be read more than {MAX_REOPENS} times",
                layer.layer.digest
            )));
        }
        let stored = source.open(&layer.layer).map_err(|e| {
            Fault(format!(
                "layer {} cannot be read ({e})",
                layer.layer.digest.short()
            ))
        })?;
        tally.opened += 1;
        let plain = layer_stream::open(stored, meter).map_err(|e| fault(&layer.layer, &e))?;
        let mut walk = TarWalk::new(plain);
        loop {
            match walk.next_entry() {
                Ok(Some(e)) if e.path == path && e.kind == Kind::File => {
                    let head = walk
                        .read_head(&e, HEAD_BYTES)
                        .map_err(|err| fault(&layer.layer, &err))?;
                    if let Some(n) = layer.index.get_mut(path) {
                        n.head = Some(head.clone());
                    }
                    return Ok(head);
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(Fault(format!(
                        "layer {} no longer holds /{path} on a second read",
                        layer.layer.digest
                    )))
                }
                Err(e) => return Err(fault(&layer.layer, &e)),
            }
        }
    }
}

/// The stored bytes, hashed as they stream by; the digest is set when they end.
struct Hashing {
    inner: Box<dyn Read + Send>,
    hasher: Option<Sha256>,
    result: Arc<Mutex<Option<String>>>,
}

impl Read for Hashing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            if n == 0 {
                let hex = hex::encode(self.hasher.take().map(|h| h.finalize()).unwrap_or_default());
                if let Ok(mut r) = self.result.lock() {
                    *r = Some(hex);
                }
            } else {
                h.update(&buf[..n]);
            }
        }
        Ok(n)
    }
}

pub(super) fn fault(layer: &LayerRef, e: &std::io::Error) -> Fault {
    match layer_stream::stop_of(e) {
        Some(stop) => Fault(stop.to_string()),
        None => Fault(format!("layer {} is unreadable: {e}", layer.digest)),
    }
}

/// Records an entry: whiteouts and opaque markers, the node, and the directories it implies.
fn index(layer: &mut Layer, entry: &Entry, head: Option<Vec<u8>>) {
    let (dir, name) = match entry.path.rsplit_once('/') {
        Some((d, n)) => (d, n),
        None => ("", entry.path.as_str()),
    };
    if name == ".wh..wh..opq" {
        layer.opaque.insert(dir.to_string());
        imply(layer, dir);
        return;
    }
    if let Some(hidden) = name.strip_prefix(".wh.") {
        layer.whiteouts.insert(join_str(dir, hidden));
        imply(layer, dir);
        return;
    }
    let kind = match entry.kind {
        Kind::File => NodeKind::File,
        Kind::Dir => NodeKind::Dir,
        Kind::Symlink => NodeKind::Symlink,
        Kind::Hardlink => NodeKind::Hardlink,
        Kind::Other => NodeKind::Other,
    };
    layer.index.insert(
        entry.path.clone(),
        Node {
            kind,
            link: entry.link.clone(),
            head,
        },
    );
    imply(layer, dir);
}

fn imply(layer: &mut Layer, dir: &str) {
    let mut d = dir;
    while !d.is_empty() {
        if layer.index.contains_key(d) {
            break;
        }
        layer.index.insert(
            d.to_string(),
            Node {
                kind: NodeKind::ImpliedDir,
                link: None,
                head: None,
            },
        );
        d = d.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
    }
}
