//! Stage 4 — **what comes in**: ECR's EventBridge events (`ecr`, re-exported here), CloudTrail
//! consumer changes (`change`), and the dead-letter queue's messages (`replay`). May import the
//! stages below (`util`, `image`, `binary`, `consumers`).

pub mod change;
pub mod ecr;
pub mod replay;

pub use ecr::*;
