//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod bench;
pub mod calls;
pub mod campaign;
pub mod ecs_mock;
pub mod estate_run;
pub mod fake_ecr;
pub mod fake_estate;
pub mod faults;
pub mod fixtures;
pub mod fleet;
pub mod gap_filler;
pub mod grafana;
pub mod http;
pub mod hyper_server;
pub mod image_layout;
pub mod lambda_rie;
pub mod local_aws;
pub mod loopback;
pub mod memory_ports;
pub mod moto;
pub mod push;
pub mod resolved_image_uri;
pub mod service_deployments;
pub mod service_revisions;
pub mod services;
pub mod smithy_world;

#[allow(unused_imports)] // each test binary uses its own subset
pub use fixtures::{
    change_event, event, event_value, fixture, fixture_path, images, parsed, ARM64_ALERT_SAYS,
};
