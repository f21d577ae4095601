//! Deployment-gate payloads (CloudFormation Lambda Hook, ECS lifecycle hook): recognised,
//! parsed, classified and answered for any JSON, never a panic.
#![no_main]

use ecr_arch_guard::gate::cloudformation::HookRequest;
use ecr_arch_guard::gate::ecs_hook::LifecycleRequest;
use ecr_arch_guard::gate::{recognise, Kind, Ruling, Unknown};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let ruling = Ruling::pass("fuzz");
    match recognise(&payload) {
        Some(Kind::CloudFormation) => {
            if let Ok(r) = HookRequest::parse(payload) {
                let _ = r.classify();
                let _ = r.describe();
                let _ = r.respond(&ruling, Unknown::Fail).message;
            }
        }
        Some(Kind::EcsLifecycle) => {
            if let Ok(r) = LifecycleRequest::parse(payload) {
                let _ = r.classify();
                let _ = r.describe();
                let _ = r.respond(&ruling, Unknown::Fail);
            }
        }
        None => {}
    }
});
