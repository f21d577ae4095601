//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod ecs_mock;
pub mod fixtures;
pub mod http;
pub mod lambda_rie;
pub mod local_aws;

#[allow(unused_imports)] // each test binary uses its own subset
pub use fixtures::{fixture, fixture_path, images};
