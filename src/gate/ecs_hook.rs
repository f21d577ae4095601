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

use serde::Serialize;
use serde_json::Value;

use super::ruling::{Ruling, RulingKind};
use super::Unknown;
use crate::image::RegistryId;
use crate::util::error::Error;

/// The stage the guard is meant for: no task of the new revision has started.
pub const STAGE: &str = "PRE_SCALE_UP";

/// The stages ECS runs again when a deployment rolls back ("When a roll back happens, Amazon
/// ECS runs the lifecycle hooks for the following lifecycle stages: PRODUCTION_TRAFFIC_SHIFT,
/// TEST_TRAFFIC_SHIFT", ECS Developer Guide, "Lifecycle hooks for Amazon ECS service
/// deployments"), each with the weights of its own traffic.
pub const ROLLBACK_STAGES: [&str; 2] = ["TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"];

#[derive(Clone, Debug, Default)]
pub struct ExecutionDetails {
    pub service_arn: Option<String>,
    pub target_service_revision_arn: Option<String>,
    pub test_traffic_weights: Value,
    pub production_traffic_weights: Value,
}

/// A lifecycle hook invocation, read leniently: a field missing, null or of another type is
/// absent (the hook must answer whatever comes; a function error rolls the deployment back).
#[derive(Clone, Debug, Default)]
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
    /// Nothing in the payload can be judged (no or no valid target revision): answered as
    /// `DEPLOY_GATE_UNKNOWN` says, and alerted as not judged.
    Unjudgeable(String),
}

impl LifecycleRequest {
    /// The payload's documented fields; an error only when it is not a JSON object.
    pub fn parse(payload: Value) -> Result<LifecycleRequest, Error> {
        let Value::Object(top) = payload else {
            return Err(Error::Malformed(
                "an ECS lifecycle hook payload is a JSON object".into(),
            ));
        };
        let text = |m: &serde_json::Map<String, Value>, k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let execution_details = match top.get("executionDetails") {
            Some(Value::Object(d)) => ExecutionDetails {
                service_arn: text(d, "serviceArn"),
                target_service_revision_arn: text(d, "targetServiceRevisionArn"),
                test_traffic_weights: d.get("testTrafficWeights").cloned().unwrap_or_default(),
                production_traffic_weights: d
                    .get("productionTrafficWeights")
                    .cloned()
                    .unwrap_or_default(),
            },
            _ => ExecutionDetails::default(),
        };
        Ok(LifecycleRequest {
            execution_id: text(&top, "executionId"),
            lifecycle_stage: text(&top, "lifecycleStage"),
            resource_arn: text(&top, "resourceArn"),
            execution_details,
        })
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

    /// Whether the target revision is judged. Every stage is judged but a rollback: at the two
    /// stages ECS runs again during a rollback ([`ROLLBACK_STAGES`]), the stage's own weights
    /// with the target revision at 0 and another revision at 100 (the guide's rollback payload)
    /// return to the revision that ran before, which passes unread. The same weights at any
    /// other stage are a forward deployment (at PRE_PRODUCTION_TRAFFIC_SHIFT the blue revision
    /// still takes all traffic) and are judged.
    pub fn classify(&self) -> Classified {
        let Some(revision_arn) = self.execution_details.target_service_revision_arn.clone() else {
            return Classified::Unjudgeable(format!(
                "{}: the payload names no executionDetails.targetServiceRevisionArn, so there \
                 is no revision to judge",
                self.describe()
            ));
        };
        if !is_revision_arn(&revision_arn) {
            return Classified::Unjudgeable(format!(
                "{}: {revision_arn:?} is not a service revision ARN \
                 (arn:PARTITION:ecs:REGION:ACCOUNT:service-revision/CLUSTER/SERVICE/ID)",
                self.describe()
            ));
        }
        let stage = self.lifecycle_stage.as_deref().unwrap_or("");
        let weights = match stage {
            "TEST_TRAFFIC_SHIFT" => Some(&self.execution_details.test_traffic_weights),
            "PRODUCTION_TRAFFIC_SHIFT" => Some(&self.execution_details.production_traffic_weights),
            _ => None,
        };
        let rolling_back = weights.is_some_and(|w| {
            w.get(&revision_arn).and_then(Value::as_f64) == Some(0.0)
                && w.as_object().is_some_and(|m| {
                    m.iter()
                        .any(|(k, v)| *k != revision_arn && v.as_f64() == Some(100.0))
                })
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

/// `arn:PARTITION:ecs:REGION:ACCOUNT:service-revision/CLUSTER/SERVICE/ID`.
fn is_revision_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_, partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    let path = resource.strip_prefix("service-revision/").unwrap_or("");
    *arn_ == "arn"
        && !partition.is_empty()
        && *service == "ecs"
        && !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && path.split('/').count() == 3
        && path.split('/').all(|p| !p.is_empty())
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

    /// The guide's forward PRE_PRODUCTION_TRAFFIC_SHIFT (target at 0, blue at 100) was taken
    /// for a rollback and passed unread: only the two stages ECS runs again in a rollback read
    /// the weights, each its own traffic's.
    #[test]
    fn only_the_guides_rollback_stages_can_be_a_rollback() {
        let back = json!({REVISION: 0, BLUE: 100});
        for stage in [
            "RECONCILE_SERVICE",
            "PRE_SCALE_UP",
            "POST_SCALE_UP",
            "POST_TEST_TRAFFIC_SHIFT",
            "PRE_PRODUCTION_TRAFFIC_SHIFT",
            "POST_PRODUCTION_TRAFFIC_SHIFT",
            "SOMETHING_NEW",
        ] {
            assert!(
                matches!(
                    payload(stage, back.clone()).classify(),
                    Classified::Judge { .. }
                ),
                "{stage} is judged"
            );
        }
        assert!(matches!(
            payload("PRODUCTION_TRAFFIC_SHIFT", back.clone()).classify(),
            Classified::Pass(r) if r.contains("rollback")
        ));
        // TEST_TRAFFIC_SHIFT reads the test weights: production at blue 100 is normal there.
        assert!(matches!(
            payload("TEST_TRAFFIC_SHIFT", back.clone()).classify(),
            Classified::Judge { .. }
        ));
        let mut test_back = payload("TEST_TRAFFIC_SHIFT", json!({}));
        test_back.execution_details.test_traffic_weights = back;
        assert!(matches!(test_back.classify(), Classified::Pass(_)));
    }

    /// Whatever ECS sends, an answer: missing or null details, bad ARNs, wrong types.
    #[test]
    fn payloads_without_a_valid_revision_are_unjudgeable_not_errors() {
        for p in [
            json!({"executionId": "e", "lifecycleStage": "PRE_SCALE_UP", "resourceArn": "r"}),
            json!({"executionId": "e", "lifecycleStage": "PRE_SCALE_UP", "executionDetails": null}),
            json!({"executionId": "e", "lifecycleStage": 7, "executionDetails": {"targetServiceRevisionArn": 12}}),
            json!({"executionId": "e", "lifecycleStage": "PRE_SCALE_UP",
                   "executionDetails": {"targetServiceRevisionArn": "not-an-arn"}}),
            json!({"executionId": "e", "lifecycleStage": "PRE_SCALE_UP",
                   "executionDetails": {"targetServiceRevisionArn": "arn:aws:ecs:us-west-2:123456789012:service/c/s"}}),
        ] {
            let r = LifecycleRequest::parse(p.clone()).unwrap();
            assert!(
                matches!(r.classify(), Classified::Unjudgeable(_)),
                "{p}: {:?}",
                r.classify()
            );
        }
        assert!(LifecycleRequest::parse(json!([1])).is_err());
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
