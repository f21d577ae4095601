//! Stage 3 — **who runs it**: consumers (ECS, Lambda, App Runner, Batch) and where they run,
//! what a change or a hook names (`target`, `proposal`, `resource_type`), the consumer index and
//! its store, and discovery. May import `util`, `image`, `binary`.

pub mod consumer;
pub mod consumer_index;
pub mod discovery;
pub mod index_store;
pub mod lambda_index;
pub mod placement;
pub mod proposal;
pub mod resource_type;
pub mod service;
pub mod service_deployment;
pub mod target;
