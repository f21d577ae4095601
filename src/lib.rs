//! # ecr-arch-guard
//!
//! Stops `exec format error` before it reaches production: works out which
//! `os/architecture/variant` an image pushed to Amazon ECR really runs on, compares that with
//! what its consumers need, and says so.
//!
//! One push event, from the Lambda's `bootstrap` to the alert:
//! [`aws::wiring`] builds the guard → [`event`] (which ECR events are inspected) →
//! [`handler`] (the pipeline) → [`resolve`] (the image read through [`ports::Registry`]) →
//! [`inputs`] (the repository tag, the consumers) → [`policy`] → [`verdict`] → [`actions`]
//! (the [`marker`] tag; the alert: [`alert`] and [`report`] compose a [`message`], which
//! [`ports::Notify`] sends).
//!
//! The pure core (no AWS in it):
//! - [`image`]: one image's identity (registry, repository, tag, digest); [`media_type`].
//! - [`platform`]: `os/arch[/variant]`, containerd-style normalisation, what runs on what.
//! - [`digest`]: `sha256:` digests, verification of everything read.
//! - [`manifest`]: lenient OCI/Docker manifest, index and schema1 parsing.
//! - [`image_config`]: the config blob's platform fields.
//! - [`resolve`]: digest → platforms and children through the [`ports::Fetch`] trait (skips
//!   attestations).
//! - [`consumer`]: the services that run an image, ECR image references, who will fail;
//!   [`placement`]: what an unset ECS/Batch architecture means where the task runs.
//! - [`discovery`]: consumers listed per service behind one trait, cached with a TTL.
//! - [`inputs`], [`policy`]: what decides, and the platforms required.
//! - [`verdict`]: fits / mismatch / not-an-image / skipped, as one JSON object.
//! - [`report`], [`advice`], [`lambda_index`]: what a mismatch breaks and the commands that
//!   fix it (Lambda functions pointed at an index, which Lambda refuses, among them).
//! - [`alert`], [`message`]: the SNS alert; [`marker`]: the marker tag and its recognition.
//! - [`handler`], [`actions`], [`cache`]: the guard's pipeline, what it does, its warm caches.
//! - [`gate`]: the deployment gates (CloudFormation Lambda Hook, ECS lifecycle hook): a change
//!   refused before anything runs.
//! - [`scan`]: the audit of a registry through the [`ports::Catalog`] trait and the guard,
//!   reading at the API's granularity ([`reads`]), with adaptive concurrency ([`limiter`]) at
//!   a paced rate ([`pace`]).
//! - [`settings`], [`logging`], [`error`]; [`memory`]: an in-memory registry for tests.
//!
//! Adapters and entry points: [`aws`] (every AWS SDK call, and the wiring), [`layout`] (OCI
//! layout / docker save tar), [`cli`]; the Lambda's `bootstrap` is `src/bin/bootstrap.rs`.

pub mod actions;
pub mod advice;
pub mod alert;
pub mod alert_claim;
pub mod aws;
pub mod cache;
pub mod change;
pub mod cli;
pub mod clock;
pub mod consumer;
pub mod consumer_index;
pub mod deep;
pub mod digest;
pub mod discovery;
pub mod elf;
pub mod ellipsis;
pub mod entrypoint;
pub mod env_value;
pub mod error;
pub mod event;
pub mod gate;
pub mod handler;
pub mod image;
pub mod image_config;
pub mod index_store;
pub mod inputs;
pub mod lambda_index;
pub mod layer_stream;
pub mod layout;
pub mod limiter;
pub mod logging;
pub mod manifest;
pub mod marker;
pub mod media_type;
pub mod memory;
pub mod message;
pub mod metrics;
pub mod pace;
pub mod placement;
pub mod platform;
pub mod policy;
pub mod ports;
pub mod reads;
pub mod replay;
pub mod report;
pub mod resolve;
pub mod rootfs;
pub mod scan;
pub mod scan_html;
pub mod service;
pub mod settings;
pub mod shebang;
pub mod tar_walk;
pub mod verdict;

pub use error::Error;
