//! EventBridge ECR event parsing and classification: never a panic.
#![no_main]

use ecr_arch_guard::event::{self, EcrEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = serde_json::from_slice::<EcrEvent>(data) {
        let _ = event::classify(&e);
    }
});
