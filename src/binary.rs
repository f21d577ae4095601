//! Stage 2 — **what the image executes** (the deep check): ELF headers, `#!` lines, the
//! entrypoint, layers streamed and decompressed, the merged root filesystem, and images saved on
//! disk (`layout`). May import `util` and `image`.

pub mod deep;
pub mod elf;
pub mod entrypoint;
pub mod layer_stream;
pub mod layout;
pub mod rootfs;
pub mod shebang;
pub mod tar_walk;
