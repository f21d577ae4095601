//! The campaign's events: the mix, and each event as AWS sends it.

use serde_json::{json, Value};

use super::super::event_value;
use super::super::grafana::REPO;
use super::super::local_aws::*;
use super::Kind;

/// One event of the campaign.
pub struct Event {
    pub kind: Kind,
    /// What names it in its alert's subject.
    pub token: String,
    pub payload: Value,
    /// Delivered to both environments at once.
    pub twice: bool,
    /// SNS is down for this event's every attempt (its Publish calls answered 503): the event
    /// ends in the dead-letter queue, and `replay` must judge and alert it afterwards.
    pub outage: bool,
}

/// The events of `plan`, in its order: unique ids and tags, 5 % of the asynchronous ones
/// delivered twice.
pub fn build(
    plan: &[Kind],
    seed: u64,
    arm_digest: &str,
    amd_digest: &str,
    change_tds: &[(String, String)],
    bad_revision: &str,
    good_revision: &str,
) -> Vec<Event> {
    let mut events = Vec::new();
    let mut rng = seed.max(1) ^ 0xA5A5_A5A5;
    let mut change_k = 0;
    for (i, kind) in plan.iter().enumerate() {
        let id = format!("camp-{seed}-{i}");
        let twice = !kind.is_hook() && *kind != Kind::Refresh && draw(&mut rng) % 100 < 5;
        // 2 % of the mismatching pushes meet an SNS outage through all their attempts.
        let outage = !twice && *kind == Kind::MismatchPush && draw(&mut rng) % 100 < 4;
        let (token, mut payload) = match kind {
            Kind::MismatchPush => {
                let tag = format!("cmp-m-{i:05}");
                (
                    tag.clone(),
                    push_event(REPO, arm_digest, &tag, OCI_MANIFEST, OCI_CONFIG),
                )
            }
            Kind::FittingPush => {
                let tag = format!("cmp-f-{i:05}");
                (
                    tag.clone(),
                    push_event(REPO, amd_digest, &tag, OCI_MANIFEST, OCI_CONFIG),
                )
            }
            Kind::MismatchReplication => {
                let tag = format!("cmp-r-{i:05}");
                (
                    tag.clone(),
                    replication_event(REPO, arm_digest, &tag, "eu-west-1"),
                )
            }
            Kind::ConsumerChange => {
                let (svc, td) = change_tds[change_k].clone();
                change_k += 1;
                (svc.clone(), update_service_event(&svc, &td))
            }
            Kind::HookCfnMismatch | Kind::HookCfnFit => {
                let tag = if *kind == Kind::HookCfnFit {
                    "amd"
                } else {
                    "latest"
                };
                let text = event_value("hook-cfn-create-task-definition.json")
                    .to_string()
                    .replace(&image_uri(REPO, "latest"), &image_uri(REPO, tag));
                let mut p: Value = serde_json::from_str(&text).unwrap();
                p["clientRequestToken"] = id.clone().into();
                (id.clone(), p)
            }
            Kind::HookEcsMismatch | Kind::HookEcsFit => {
                let revision = if *kind == Kind::HookEcsFit {
                    good_revision
                } else {
                    bad_revision
                };
                (
                    id.clone(),
                    super::super::service_revisions::pre_scale_up_payload(revision, &id),
                )
            }
            Kind::Refresh => (id.clone(), event_value("scheduled-refresh.json")),
        };
        if payload.get("detail-type").is_some() {
            payload["id"] = id.clone().into();
        }
        events.push(Event {
            kind: kind.clone(),
            token,
            payload,
            twice,
            outage,
        });
    }

    events
}

/// The mix of events, shuffled by `seed`: 35 % mismatching pushes, 15 % fitting pushes, 10 %
/// replications, 10 % consumer changes, 12 % CloudFormation hooks, 12 % ECS hooks (half of
/// each fitting), 6 % scheduled refreshes.
pub fn plan(size: usize, seed: u64) -> Vec<Kind> {
    let share = |p: usize| (size * p).div_ceil(100);
    let mut kinds = Vec::new();
    for (kind, n) in [
        (Kind::MismatchPush, share(35)),
        (Kind::FittingPush, share(15)),
        (Kind::MismatchReplication, share(10)),
        (Kind::ConsumerChange, share(10)),
        (Kind::HookCfnMismatch, share(6)),
        (Kind::HookCfnFit, share(6)),
        (Kind::HookEcsMismatch, share(6)),
        (Kind::HookEcsFit, share(6)),
        (Kind::Refresh, share(6)),
    ] {
        kinds.extend(std::iter::repeat_n(kind, n));
    }
    kinds.truncate(size);
    let mut rng = seed.max(1);
    for i in (1..kinds.len()).rev() {
        let j = (draw(&mut rng) % (i as u64 + 1)) as usize;
        kinds.swap(i, j);
    }
    kinds
}

pub fn draw(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// CloudTrail's UpdateService (events/change-ecs-update-service-arm64.json) of prod/`svc` to
/// the task definition `td`.
fn update_service_event(svc: &str, td: &str) -> Value {
    let mut e = event_value("change-ecs-update-service-arm64.json");
    let service_arn = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/{svc}");
    e["detail"]["requestParameters"] = json!({
        "cluster": "prod", "service": svc, "taskDefinition": td, "forceNewDeployment": false
    });
    let s = &mut e["detail"]["responseElements"]["service"];
    s["serviceArn"] = service_arn.into();
    s["serviceName"] = svc.into();
    s["clusterArn"] = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod").into();
    s["taskDefinition"] = td.into();
    e
}
