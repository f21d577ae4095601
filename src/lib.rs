//! # ecr-arch-guard
//!
//! Stops `exec format error` before it reaches production: works out which
//! `os/architecture/variant` an image pushed to Amazon ECR really runs on, compares that with
//! what its consumers need, and says so.
//!
//! The tree shows the flow, by stage, each a folder whose module doc says what it may import —
//! a module imports only its own stage and those below (`tests/architecture.rs` checks it):
//!
//! | stage | what it holds |
//! | --- | --- |
//! | [`util`] | the error type, clock, caches, limiters, environment readers, logging |
//! | [`image`] | **what was pushed**: platforms, digests, manifests, configs, the registry ports, digest → platforms ([`image::resolve`]) |
//! | [`binary`] | **what it executes**: the deep check — ELF, `#!`, entrypoint, layers, the merged filesystem; images on disk ([`binary::layout`]) |
//! | [`consumers`] | **who runs it**: consumers and where they run, what a change names, discovery and the consumer index |
//! | [`event`] | **what comes in**: ECR events, CloudTrail consumer changes, dead-letter messages |
//! | [`judge`] | **the judgement**: policy, verdict, advice |
//! | [`act`] | **what is done about it**: the alert, its message and `Notify` port, one alert per event, the report |
//! | [`gate`] | **the deployment gates' answers**: CloudFormation Lambda Hook, ECS lifecycle hook |
//! | [`handler`] | **the guard's pipeline**: event → image → consumers → judgement → actions; its settings, inputs, metrics |
//! | [`scan`] | the audit of a registry through the same guard |
//! | [`aws`] | the only place the AWS SDK is named: the adapters and the wiring |
//! | [`cli`] | the command line |
//!
//! One push event, from the Lambda's `bootstrap` to the alert: [`aws::wiring`] builds the guard →
//! [`event`] (which ECR events are inspected) → [`handler`] (the pipeline) → [`image::resolve`]
//! (the image read through [`image::ports::Registry`]) → [`handler::inputs`] (the repository tag,
//! the consumers) → [`judge::policy`] → [`judge::verdict`] → [`handler::actions`] (the
//! [`image::marker`] tag; the alert: [`act::alert`] and [`act::report`] compose an
//! [`act::message`], which [`act::message::Notify`] sends). The Lambda's `bootstrap` is
//! `lambda/src/main.rs` (its own package, without the `cli` feature), the CLI's
//! `src/bin/ecr-arch-guard.rs`.

pub mod act;
pub mod aws;
pub mod binary;
#[cfg(feature = "cli")]
pub mod cli;
pub mod consumers;
pub mod event;
pub mod gate;
pub mod handler;
pub mod image;
pub mod judge;
pub mod scan;
pub mod util;

pub use util::error::Error;
