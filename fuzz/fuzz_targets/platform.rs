//! Platform parsing and normalisation: never a panic, always idempotent.
#![no_main]

use ecr_arch_guard::image::platform::{self, Platform};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = platform::parse_list(&s);
    let mut parts = s.splitn(3, '\n');
    let (os, arch, variant) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next());
    if let Some(p) = Platform::from_parts(os, arch, variant) {
        assert_eq!(Platform::from_parts(&p.os, &p.architecture, p.variant.as_deref()), Some(p));
    }
});
