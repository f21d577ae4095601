//! An image's layers as its manifest names them, and the port their stored bytes are read
//! through (the registry's presigned download, an OCI layout on disk, a `docker save` tar).

use std::io::Read;

use crate::image::digest::Digest;
use crate::util::error::Error;

/// A layer as its manifest describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerRef {
    /// The digest of its stored bytes (a legacy `docker save` layer: its uncompressed
    /// `diff_id`, which is the same thing there).
    pub digest: Digest,
    pub media_type: String,
    /// Where a legacy `docker save` tar keeps it (`<id>/layer.tar`); `None`: by digest.
    pub path: Option<String>,
}

/// Opens a layer's stored bytes (as the registry or the disk keeps them).
pub trait LayerSource {
    fn open(&self, layer: &LayerRef) -> Result<Box<dyn Read + Send>, Error>;
}
