//! A layout's layers for the deep check: its [`LayerSource`], layer files streamed from the
//! directory or the tar, never read whole.

use std::io::Read;

use super::Layout;
use crate::binary::rootfs::{LayerRef, LayerSource};
use crate::util::error::Error;

/// Layers are read from the layout's files: `blobs/sha256/<hex>` by digest, or a legacy
/// `docker save` tar's `<id>/layer.tar` by path; streamed, never read whole.
impl LayerSource for Layout {
    fn open(&self, layer: &LayerRef) -> Result<Box<dyn Read + Send>, Error> {
        let rel = match &layer.path {
            Some(p) => p.clone(),
            None => Self::blob_path(&layer.digest),
        };
        match self.open_file(&rel) {
            Ok((file, _)) => Ok(file),
            Err(Error::NotFound(_)) => Err(Error::NotFound(
                "in the layout (saved without its layers?)".into(),
            )),
            Err(e) => Err(e),
        }
    }
}
