//! Manifest / index / schema1 parsing and resolution from memory: never a panic.
#![no_main]

use ecr_arch_guard::image::manifest::Manifest;
use ecr_arch_guard::image::memory::MemoryFetch;
use ecr_arch_guard::image::resolve::{self, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Manifest::parse(data, None);
    let store = MemoryFetch::new();
    let digest = store.put(data, None);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let _ = rt.block_on(resolve::resolve(&store, &digest, None, &Limits::default()));
});
