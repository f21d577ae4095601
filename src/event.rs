//! Stage 4 — **what comes in**: ECR's EventBridge events (`ecr`, re-exported here), CloudTrail
//! consumer changes (`change`), ECS's deployment and task state changes (`ecs_deployment`, `ecs_task`), and the dead-letter queue's messages (`replay`). May import the
//! stages below (`util`, `image`, `binary`, `consumers`).

pub mod change;
pub mod ecr;
pub mod ecs_deployment;
pub mod ecs_task;
pub mod replay;

pub use ecr::*;
