//! Image config parsing: never a panic.
#![no_main]

use ecr_arch_guard::image::image_config::ImageConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = ImageConfig::parse(data) {
        let _ = c.platform();
    }
});
