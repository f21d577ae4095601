//! What the guard answers an event with: the Lambda's response.

use crate::gate::GateAnswer;
use crate::judge::verdict::Verdict;

/// The Lambda's response to one event: a verdict, or an array of them, or a hook's answer.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Answer {
    Push(Box<Verdict>),
    Change(Vec<Verdict>),
    /// A deployment gate's answer (the hook's response only).
    Gate(Box<GateAnswer>),
    /// The consumer index's refresh (a scheduled event).
    Refresh(Vec<crate::consumers::discovery::RefreshReport>),
    /// The deployment watcher's answer to an ECS Deployment State Change event.
    Watch(Box<crate::gate::deployment_watch::WatchReport>),
}
