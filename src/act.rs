//! Stage 6 — **what the guard does about a verdict**: the alert text (`alert`), the message and
//! its `Notify` port, one alert per event across environments (`alert_claim`), the report shared
//! by the alert and the CLI. May import the stages below.

pub mod alert;
pub mod alert_claim;
pub mod message;
pub mod report;
