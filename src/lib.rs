//! # ecr-arch-guard
//!
//! Stops `exec format error` before it reaches production: works out which
//! `os/architecture/variant` an image pushed to Amazon ECR really runs on, compares that with
//! what its consumers need, and says so.
//!
//! The pure core (no AWS in it):
//! - [`platform`]: `os/arch[/variant]`, containerd-style normalisation, what runs on what.
//! - [`digest`]: `sha256:` digests, verification of everything read.
//! - [`manifest`]: lenient OCI/Docker manifest, index and schema1 parsing; media types.
//! - [`image_config`]: the config blob's platform fields.
//! - [`resolve`]: digest → platforms through the [`ports::Fetch`] trait (skips attestations).
//! - [`consumer`]: the services that run an image, ECR image references, who will fail.
//! - [`discovery`]: consumers listed per service behind one trait, cached with a TTL.
//! - [`policy`]: required platforms and where they come from.
//! - [`verdict`]: fits / mismatch / not-an-image / skipped, as one JSON object.
//! - [`advice`]: what a mismatch breaks and the commands that fix it.
//! - [`lambda_index`]: Lambda functions pointed at an image index, which Lambda refuses.
//! - [`scan`]: the audit of a registry through the [`ports::Catalog`] trait and the guard.
//!
//! Sources and entry points: [`layout`] (OCI layout / docker save tar), [`cli`].

pub mod actions;
pub mod advice;
pub mod alert;
pub mod aws;
pub mod cache;
pub mod cli;
pub mod consumer;
pub mod digest;
pub mod discovery;
pub mod error;
pub mod event;
pub mod handler;
pub mod image;
pub mod image_config;
pub mod inputs;
pub mod lambda_index;
pub mod layout;
pub mod logging;
pub mod manifest;
pub mod marker;
pub mod media_type;
pub mod memory;
pub mod message;
pub mod platform;
pub mod policy;
pub mod ports;
pub mod report;
pub mod resolve;
pub mod scan;
pub mod settings;
pub mod verdict;

pub use error::Error;
