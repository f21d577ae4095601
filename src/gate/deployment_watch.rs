//! The deployment watcher's configuration and decision: what it does about an ECS service
//! deployment ([`crate::event::ecs_deployment`]) whose revision was judged. ECS documents
//! lifecycle hooks for its blue/green, linear and canary strategies only; the watcher covers
//! every deployment, rolling ones included, whatever started it, within seconds of ECS's
//! event, and can stop it (StopServiceDeployment, ROLLBACK).
//!
//! Pure: no AWS call.

use serde::Serialize;

use crate::gate::RulingKind;
use crate::judge::verdict::Verdict;
use crate::util::error::Error;

/// `ECS_DEPLOYMENT_GUARD` (template parameter `EcsDeploymentGuard`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Watch {
    /// ECS deployment events are not watched (the default).
    #[default]
    Off,
    /// A deployment of a wrong-architecture image is alerted.
    Alert,
    /// … and stopped with a rollback to the previous revision.
    Rollback,
}

impl Watch {
    pub fn read(value: Option<String>) -> Result<Watch, Error> {
        let Some(v) = value else {
            return Ok(Watch::Off);
        };
        match v.to_ascii_lowercase().as_str() {
            "off" => Ok(Watch::Off),
            "alert" => Ok(Watch::Alert),
            "rollback" => Ok(Watch::Rollback),
            other => Err(Error::Usage(format!(
                "ECS_DEPLOYMENT_GUARD: {other:?}; use off, alert or rollback"
            ))),
        }
    }
}

/// What the watcher does about one judged deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Fits (or was passed): nothing.
    Nothing,
    /// Wrong architecture: the alert (sent by the judgement), no stop.
    Alert,
    /// Wrong architecture: the alert and StopServiceDeployment(ROLLBACK).
    AlertAndRollBack,
    /// Could not be judged: the "not judged" alert, never a stop.
    NotJudged,
}

/// The watcher's answer to one ECS deployment event (the Lambda's response).
#[derive(Clone, Debug, Serialize)]
pub struct WatchReport {
    /// "ECS service CLUSTER/NAME deployment ecs-svc/…".
    pub deployment: String,
    /// The service deployment found for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_deployment: Option<String>,
    /// What was done; `None` when the event was not for the watcher.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    /// Whether this delivery called StopServiceDeployment (another delivery or environment
    /// may have: then false).
    pub rolled_back: bool,
    /// Why (the skip reason, or the ruling's message).
    pub reason: String,
    pub verdicts: Vec<Verdict>,
}

impl WatchReport {
    pub fn skipped(deployment: &str, reason: impl Into<String>) -> WatchReport {
        WatchReport {
            deployment: deployment.to_string(),
            service_deployment: None,
            step: None,
            rolled_back: false,
            reason: reason.into(),
            verdicts: Vec::new(),
        }
    }

    /// The step was a refusal (alerted, and rolled back under `rollback`).
    pub fn refused(&self) -> bool {
        matches!(self.step, Some(Step::Alert | Step::AlertAndRollBack))
    }
}

/// The step for a ruling under `watch`: only a refusal is ever rolled back.
pub fn step(watch: Watch, ruling: RulingKind) -> Step {
    match (ruling, watch) {
        (RulingKind::Refuse, Watch::Rollback) => Step::AlertAndRollBack,
        (RulingKind::Refuse, _) => Step::Alert,
        (RulingKind::NotJudged, _) => Step::NotJudged,
        _ => Step::Nothing,
    }
}

/// The event name a deployment's verdicts carry (and so its alert): the deployment, and what
/// the guard does about a mismatch under `watch`.
pub fn event_name(deployment: &str, watch: Watch) -> String {
    let what = match watch {
        Watch::Rollback => {
            "ecr-arch-guard stops it with a rollback to the previous revision \
             (StopServiceDeployment, ECS_DEPLOYMENT_GUARD=rollback)"
        }
        _ => {
            "alert only (ECS_DEPLOYMENT_GUARD=alert): its tasks will fail to start until the \
             service is pointed at a fitting image; roll it back now with aws ecs \
             stop-service-deployment --stop-type ROLLBACK"
        }
    };
    format!("ECS service deployment {deployment} in progress; {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refusal_under_rollback_is_stopped() {
        assert_eq!(
            step(Watch::Rollback, RulingKind::Refuse),
            Step::AlertAndRollBack
        );
        assert_eq!(step(Watch::Alert, RulingKind::Refuse), Step::Alert);
        assert_eq!(
            step(Watch::Rollback, RulingKind::NotJudged),
            Step::NotJudged
        );
        assert_eq!(step(Watch::Rollback, RulingKind::Pass), Step::Nothing);
    }

    #[test]
    fn the_setting_is_read_and_a_bad_value_named() {
        assert_eq!(Watch::read(None).unwrap(), Watch::Off);
        assert_eq!(
            Watch::read(Some("RollBack".into())).unwrap(),
            Watch::Rollback
        );
        assert_eq!(Watch::read(Some("alert".into())).unwrap(), Watch::Alert);
        let e = Watch::read(Some("stop".into())).unwrap_err();
        assert!(e.to_string().contains("ECS_DEPLOYMENT_GUARD"), "{e}");
    }
}
