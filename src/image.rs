//! Stage 1 — **what was pushed**: platforms, digests, media types, manifests, indexes and image
//! configs, the image reference (`reference`, re-exported here), the guard's marker tags, the
//! registry ports the image is read through (`ports`, `layer`), and the resolution of a digest
//! to the platforms it serves. May import `util` only.

pub mod digest;
pub mod image_config;
pub mod layer;
pub mod manifest;
pub mod marker;
pub mod media_type;
pub mod memory;
pub mod platform;
pub mod ports;
pub mod reads;
pub mod reference;
pub mod resolve;

pub use reference::*;
