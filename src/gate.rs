//! Stage 7 — deployment gates: the two places AWS documents where a Lambda function can refuse
//! a change before anything runs. May import the stages below (`util` … `act`).
//!
//! - A CloudFormation Lambda Hook ([`cloudformation`]; CloudFormation Hooks User Guide, "Create
//!   Lambda functions to evaluate resources for Lambda Hooks"): CloudFormation and Cloud Control
//!   API send the proposed properties of a resource at PRE_PROVISION and wait up to 30 s for
//!   `hookStatus` SUCCESS | FAILED (with `errorCode` NonCompliant | InternalFailure).
//! - An ECS deployment lifecycle hook ([`ecs_hook`]; ECS Developer Guide, "Lambda hooks for
//!   Amazon ECS service deployments"): ECS names the target service revision at PRE_SCALE_UP,
//!   before any task of it starts, and rolls the deployment back on `hookStatus` FAILED.
//!
//! What both judge is a consumer ([`crate::event::change::Target`]): the resource as proposed, or the
//! revision about to start; the images it names are judged against it exactly as a consumer
//! change is ([`crate::handler`]). [`ruling`] turns those verdicts into the gate's answer. Never
//! block what was not judged: an image outside ECR, one the guard cannot read, a read that does
//! not finish in time pass with the reason, unless `DEPLOY_GATE_UNKNOWN=fail`.
//!
//! Pure: payload parsing, classification and the answers; no AWS call.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::judge::verdict::Verdict;
use crate::util::env_value;
use crate::util::error::Error;

pub mod cloudformation;
pub mod deployment_watch;
pub mod ecs_hook;
pub mod hook_response;
#[cfg(feature = "cli")]
pub mod plan;
pub mod ruling;
pub mod unjudged_alert;

pub use ruling::{Ruling, RulingKind};

/// The CloudFormation hook's `FailureMode`, as the template set it (`DEPLOY_GATE`): what
/// CloudFormation does with a FAILED answer. With `warn` the change goes ahead, so a refusal is
/// also alerted; with `fail` the caller sees the message and nothing is deployed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// No CloudFormation hook is deployed (a hook payload is still answered).
    #[default]
    Off,
    Warn,
    Fail,
}

/// What a gate answers for what it could not judge (`DEPLOY_GATE_UNKNOWN`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unknown {
    /// Let it through, with the reason in the message (the default: never block what was
    /// not judged).
    #[default]
    Pass,
    /// Refuse it: only judged images are deployed.
    Fail,
}

/// The gates' configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateConfig {
    /// `DEPLOY_GATE`: `off`, `warn`, `fail`.
    pub mode: Mode,
    /// `DEPLOY_GATE_UNKNOWN`: `pass` (default) or `fail`.
    pub unknown: Unknown,
    /// `DEPLOY_GATE_DEADLINE_SECONDS` (default 20): the judgement's own time limit, inside the
    /// CloudFormation hook's 30 s and the function's timeout; past it the answer is "not
    /// judged: the reads did not finish".
    pub deadline: Duration,
    /// `ECS_DEPLOYMENT_GUARD`: the deployment watcher ([`deployment_watch`]).
    pub watch: deployment_watch::Watch,
    /// `AWS_LAMBDA_FUNCTION_NAME`: this function, so that the watcher leaves a deployment whose
    /// own lifecycle hook calls it to that hook.
    pub function_name: Option<String>,
    /// `ECS_TASK_STOPS` (`true`/`false`): explain stopped ECS tasks whose image does not fit
    /// the CPU they ran on.
    pub task_stops: bool,
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            mode: Mode::default(),
            unknown: Unknown::default(),
            deadline: Duration::from_secs(20),
            watch: deployment_watch::Watch::default(),
            function_name: None,
            task_stops: false,
        }
    }
}

impl GateConfig {
    /// Reads `DEPLOY_GATE`, `DEPLOY_GATE_UNKNOWN`, `DEPLOY_GATE_DEADLINE_SECONDS` through `get`
    /// (values already trimmed, empty as absent).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<GateConfig, Error> {
        let mut c = GateConfig::default();
        if let Some(v) = get("DEPLOY_GATE") {
            c.mode = match v.to_ascii_lowercase().as_str() {
                "off" => Mode::Off,
                "warn" => Mode::Warn,
                "fail" => Mode::Fail,
                other => {
                    return Err(Error::Usage(format!(
                        "DEPLOY_GATE: {other:?}; use off, warn or fail"
                    )))
                }
            };
        }
        if let Some(v) = get("DEPLOY_GATE_UNKNOWN") {
            c.unknown = match v.to_ascii_lowercase().as_str() {
                "pass" => Unknown::Pass,
                "fail" => Unknown::Fail,
                other => {
                    return Err(Error::Usage(format!(
                        "DEPLOY_GATE_UNKNOWN: {other:?}; use pass or fail"
                    )))
                }
            };
        }
        if let Some(d) = env_value::seconds(
            get("DEPLOY_GATE_DEADLINE_SECONDS"),
            "DEPLOY_GATE_DEADLINE_SECONDS",
            1,
            900,
        )? {
            c.deadline = d;
        }
        c.watch = deployment_watch::Watch::read(get("ECS_DEPLOYMENT_GUARD"))?;
        c.function_name = get("AWS_LAMBDA_FUNCTION_NAME");
        c.task_stops = match get("ECS_TASK_STOPS").map(|v| v.to_ascii_lowercase()) {
            None => false,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(other) => {
                return Err(Error::Usage(format!(
                    "ECS_TASK_STOPS: {other:?}; use true or false"
                )))
            }
        };
        Ok(c)
    }
}

/// What a gate answered, and why.
#[derive(Clone, Debug, Serialize)]
pub struct GateAnswer {
    /// The hook's answer, exactly what the Lambda function returns.
    #[serde(flatten)]
    pub response: Map<String, Value>,
    /// The verdict of each image the change deploys (empty when nothing was read).
    #[serde(skip)]
    pub verdicts: Vec<Verdict>,
    #[serde(skip)]
    pub ruling: Ruling,
    #[serde(skip)]
    pub kind: Kind,
}

impl GateAnswer {
    /// The answer was FAILED: the change does not proceed (CloudFormation with `FailureMode`
    /// FAIL; an ECS deployment rolls back).
    pub fn refused(&self) -> bool {
        self.response.get("hookStatus").and_then(Value::as_str) == Some("FAILED")
    }
}

/// Which gate a Lambda payload comes from, told by the fields each one documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `hookTypeName`, `actionInvocationPoint`, `requestData`.
    CloudFormation,
    /// `lifecycleStage` with `executionId`, `resourceArn` or `executionDetails`.
    EcsLifecycle,
}

/// The gate a payload is for, or `None` (an EventBridge event). An ECS lifecycle hook is told
/// by `lifecycleStage` with any of the other top-level fields the guide documents
/// (`executionId`, `resourceArn`, `executionDetails`), present even as null: a payload whose
/// details are missing must still be answered as a hook (a Lambda error rolls the deployment
/// back), never read as an EventBridge event. EventBridge events have none of these fields.
pub fn recognise(payload: &Value) -> Option<Kind> {
    let has = |k: &str| payload.get(k).is_some_and(|v| !v.is_null());
    let present = |k: &str| payload.get(k).is_some();
    if has("actionInvocationPoint") && has("requestData") {
        Some(Kind::CloudFormation)
    } else if present("lifecycleStage")
        && !present("detail-type")
        && ["executionId", "resourceArn", "executionDetails"]
            .iter()
            .any(|k| present(k))
    {
        Some(Kind::EcsLifecycle)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_told_apart_by_their_documented_fields() {
        let cfn = serde_json::json!({"hookTypeName": "x", "actionInvocationPoint": "CREATE_PRE_PROVISION",
            "requestData": {"targetName": "AWS::ECS::TaskDefinition"}});
        assert_eq!(recognise(&cfn), Some(Kind::CloudFormation));
        let ecs = serde_json::json!({"executionId": "e", "lifecycleStage": "PRE_SCALE_UP",
            "executionDetails": {"serviceArn": "s"}});
        assert_eq!(recognise(&ecs), Some(Kind::EcsLifecycle));
        for partial in [
            serde_json::json!({"executionId": "e", "lifecycleStage": "PRE_SCALE_UP", "resourceArn": "r"}),
            serde_json::json!({"executionId": "e", "lifecycleStage": "PRE_SCALE_UP", "executionDetails": null}),
            serde_json::json!({"lifecycleStage": null, "executionId": null}),
        ] {
            assert_eq!(recognise(&partial), Some(Kind::EcsLifecycle), "{partial}");
        }
        let push = serde_json::json!({"detail-type": "ECR Image Action", "detail": {}});
        assert_eq!(recognise(&push), None);
    }

    #[test]
    fn configuration_is_parsed_and_bad_values_are_named() {
        let c = GateConfig::read(|k| match k {
            "DEPLOY_GATE" => Some("WARN".into()),
            "DEPLOY_GATE_UNKNOWN" => Some("fail".into()),
            "DEPLOY_GATE_DEADLINE_SECONDS" => Some("12".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            (c.mode, c.unknown, c.deadline),
            (Mode::Warn, Unknown::Fail, Duration::from_secs(12))
        );
        assert_eq!(GateConfig::read(|_| None).unwrap(), GateConfig::default());
        for (k, v) in [
            ("DEPLOY_GATE", "block"),
            ("DEPLOY_GATE_UNKNOWN", "maybe"),
            ("DEPLOY_GATE_DEADLINE_SECONDS", "0"),
        ] {
            let e = GateConfig::read(|key| (key == k).then(|| v.to_string())).unwrap_err();
            assert!(e.to_string().contains(k), "{e}");
        }
    }
}
