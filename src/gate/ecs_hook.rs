//! The ECS deployment lifecycle hook: the payload ECS invokes a Lambda hook with, and the answer.
//!
//! Shapes from the ECS Developer Guide, "Lambda hooks for Amazon ECS service deployments": the
//! payload carries `executionId`, `lifecycleStage` (PRE_SCALE_UP: "before Amazon ECS launches
//! the green service revision tasks"), `resourceArn` (the service deployment) and
//! `executionDetails` with `serviceArn`, `targetServiceRevisionArn`, `testTrafficWeights` and
//! `productionTrafficWeights`. The answer is `hookStatus` SUCCEEDED (the deployment continues),
//! FAILED (ECS rolls back to the last successful service revision) or IN_PROGRESS; "if your
//! function doesn't return a valid hookStatus, or if it fails, Amazon ECS rolls back the
//! deployment" — so the guard always answers, and its own failures answer SUCCEEDED unless
//! configured strict.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ruling::{Ruling, RulingKind};
use super::Unknown;
use crate::error::Error;
use crate::image::RegistryId;

/// The stage the guard is meant for: no task of the new revision has started.
pub const STAGE: &str = "PRE_SCALE_UP";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutionDetails {
    pub service_arn: Option<String>,
    pub target_service_revision_arn: Option<String>,
    pub test_traffic_weights: Value,
    pub production_traffic_weights: Value,
}

/// A lifecycle hook invocation.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LifecycleRequest {
    pub execution_id: Option<String>,
    pub lifecycle_stage: Option<String>,
    pub resource_arn: Option<String>,
    pub execution_details: ExecutionDetails,
}

/// What to do with an invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified {
    /// Judge the images of this service revision.
    Judge { revision_arn: String },
    /// SUCCEEDED without a read, with the reason.
    Pass(String),
}

impl LifecycleRequest {
    pub fn parse(payload: Value) -> Result<LifecycleRequest, Error> {
        serde_json::from_value(payload)
            .map_err(|e| Error::Malformed(format!("not an ECS lifecycle hook payload: {e}")))
    }

    /// The account and region of the revision (`arn:aws:ecs:REGION:ACCOUNT:service-revision/…`).
    pub fn scope(&self) -> RegistryId {
        let arn = self
            .execution_details
            .target_service_revision_arn
            .as_deref()
            .or(self.execution_details.service_arn.as_deref())
            .unwrap_or("");
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let part = |i: usize| parts.get(i).copied().filter(|s| !s.is_empty());
        RegistryId::new(part(4), part(3))
    }

    /// `ECS service my-cluster/my-service, revision 9313423515462893900 (PRE_SCALE_UP)`.
    pub fn describe(&self) -> String {
        let service = self
            .execution_details
            .service_arn
            .as_deref()
            .and_then(|a| a.split(":service/").nth(1))
            .unwrap_or("?");
        let revision = self
            .execution_details
            .target_service_revision_arn
            .as_deref()
            .and_then(|a| a.rsplit('/').next())
            .unwrap_or("?");
        format!(
            "ECS service {service}, revision {revision} ({})",
            self.lifecycle_stage.as_deref().unwrap_or("?")
        )
    }

    /// Whether the target revision is judged. A rollback (the target revision's production
    /// weight at 0 while another revision's is at 100: the guide, "Lifecycle hooks during
    /// rollback") is let through: it returns to the revision that ran before.
    pub fn classify(&self) -> Classified {
        let Some(revision_arn) = self
            .execution_details
            .target_service_revision_arn
            .clone()
            .filter(|a| !a.is_empty())
        else {
            return Classified::Pass(
                "the payload names no targetServiceRevisionArn: nothing to judge".into(),
            );
        };
        let weights = &self.execution_details.production_traffic_weights;
        let weight = |arn: &str| weights.get(arn).and_then(Value::as_f64);
        let rolling_back = weight(&revision_arn) == Some(0.0)
            && weights.as_object().is_some_and(|m| {
                m.iter()
                    .any(|(k, v)| *k != revision_arn && v.as_f64() == Some(100.0))
            });
        if rolling_back {
            return Classified::Pass(format!(
                "{}: a rollback to the previous revision, not judged",
                self.describe()
            ));
        }
        Classified::Judge { revision_arn }
    }

    /// The answer for `ruling`.
    pub fn respond(&self, ruling: &Ruling, unknown: Unknown) -> LifecycleResponse {
        let failed = match ruling.kind {
            RulingKind::Pass => false,
            RulingKind::Refuse => true,
            RulingKind::NotJudged => unknown == Unknown::Fail,
        };
        LifecycleResponse {
            hook_status: if failed {
                LifecycleStatus::Failed
            } else {
                LifecycleStatus::Succeeded
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LifecycleStatus {
    Succeeded,
    Failed,
}

/// The answer: only the documented field (the reason is logged and, for a refusal, alerted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleResponse {
    pub hook_status: LifecycleStatus,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REVISION: &str =
        "arn:aws:ecs:us-west-2:123456789012:service-revision/my-cluster/my-service/9313423515462893900";
    const BLUE: &str =
        "arn:aws:ecs:us-west-2:123456789012:service-revision/my-cluster/my-service/1920498462936580504";

    fn payload(stage: &str, production: Value) -> LifecycleRequest {
        LifecycleRequest::parse(json!({
            "executionId": "e8d5a28f-eb01-4f3c-9454-a30ba6dc54bc",
            "lifecycleStage": stage,
            "resourceArn": "arn:aws:ecs:us-west-2:123456789012:service-deployment/my-cluster/my-service/EZe5RNVLH6PPzHXINuP28",
            "executionDetails": {
                "serviceArn": "arn:aws:ecs:us-west-2:123456789012:service/my-cluster/my-service",
                "targetServiceRevisionArn": REVISION,
                "testTrafficWeights": {},
                "productionTrafficWeights": production
            }
        }))
        .unwrap()
    }

    #[test]
    fn the_target_revision_is_judged_and_a_rollback_is_not() {
        let p = payload(STAGE, json!({}));
        assert_eq!(
            p.classify(),
            Classified::Judge {
                revision_arn: REVISION.into()
            }
        );
        assert_eq!(p.scope().account.as_deref(), Some("123456789012"));
        assert_eq!(p.scope().region.as_deref(), Some("us-west-2"));
        assert_eq!(
            p.describe(),
            "ECS service my-cluster/my-service, revision 9313423515462893900 (PRE_SCALE_UP)"
        );
        let rollback = payload("PRODUCTION_TRAFFIC_SHIFT", json!({REVISION: 0, BLUE: 100}));
        assert!(matches!(rollback.classify(), Classified::Pass(r) if r.contains("rollback")));
        let forward = payload("PRODUCTION_TRAFFIC_SHIFT", json!({REVISION: 100, BLUE: 0}));
        assert!(matches!(forward.classify(), Classified::Judge { .. }));
    }

    #[test]
    fn only_a_refusal_or_the_strict_policy_fails_the_deployment() {
        let p = payload(STAGE, json!({}));
        let status = |kind, unknown| {
            serde_json::to_value(p.respond(&Ruling::new(kind, String::new()), unknown)).unwrap()
        };
        assert_eq!(
            status(RulingKind::Refuse, Unknown::Pass),
            json!({"hookStatus": "FAILED"})
        );
        assert_eq!(
            status(RulingKind::NotJudged, Unknown::Pass),
            json!({"hookStatus": "SUCCEEDED"})
        );
        assert_eq!(
            status(RulingKind::NotJudged, Unknown::Fail),
            json!({"hookStatus": "FAILED"})
        );
        assert_eq!(
            status(RulingKind::Pass, Unknown::Fail),
            json!({"hookStatus": "SUCCEEDED"})
        );
    }
}
