//! ECS task state change events (detail-type `ECS Task State Change`, ECS Developer Guide,
//! "Amazon ECS task state change events"): sent for every task, of a service or standalone
//! (RunTask, EventBridge Scheduler, Step Functions), whatever started it. The task-stop
//! explainer reads the stopped ones to say why a task crash-loops when its image cannot run on
//! the CPU it got.
//!
//! What the guide and the API reference document and this relies on:
//! - `detail.lastStatus` STOPPED with `stopCode` and `stoppedReason` "when the event is
//!   generated for a stopped task"; the stop codes (ECS API Reference, Task `stopCode`):
//!   `TaskFailedToStart`, `EssentialContainerExited`, `UserInitiated`,
//!   `ServiceSchedulerInitiated`, `SpotInterruption`, `TerminationNotice`. Only the first two
//!   can be an image that does not run; the template's rule passes only those.
//! - each container's `image` and, "when a container uses an image hosted with Amazon ECR",
//!   its `imageDigest`: exactly what ran.
//! - the task's `attributes` `ecs.cpu-architecture` (`x86_64`, `arm64`), as ECS reports it on
//!   Fargate and EC2 tasks; without it the task definition's runtime platform is read.
//! - `group` (`service:NAME`, `family:NAME`), `startedBy` (`ecs-svc/…` for a service's
//!   deployment), `taskDefinitionArn`, `clusterArn`.
//!
//! Pure: parsing and classification only.

use serde_json::Value;

use crate::image::platform::Platform;
use crate::image::RegistryId;

/// The EventBridge detail-type of ECS's task state change events.
pub const DETAIL_TYPE: &str = "ECS Task State Change";

/// The stop codes an image that cannot run on the task's CPU ends in (the rest — a user, the
/// scheduler, Spot — stop healthy tasks).
pub const EXPLAINED_STOP_CODES: [&str; 2] = ["EssentialContainerExited", "TaskFailedToStart"];

/// One container of a stopped task.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskContainer {
    pub name: String,
    pub image: Option<String>,
    pub image_digest: Option<String>,
    pub exit_code: Option<i64>,
    pub reason: Option<String>,
}

impl TaskContainer {
    /// `REGISTRY/REPOSITORY@DIGEST`: the image the container ran, by the digest ECS reported
    /// (its tag, if any, dropped: the digest is what ran).
    pub fn image_at_digest(&self) -> Option<String> {
        let image = self.image.as_deref()?;
        let digest = self.image_digest.as_deref()?;
        let name = image.split('@').next().unwrap_or(image);
        let last_slash = name.rfind('/').map(|i| i + 1).unwrap_or(0);
        let name = match name[last_slash..].find(':') {
            Some(colon) => &name[..last_slash + colon],
            None => name,
        };
        Some(format!("{name}@{digest}"))
    }
}

/// One ECS Task State Change event, as far as the explainer reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskStop {
    pub id: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// EventBridge's `time` (RFC 3339).
    pub time: Option<String>,
    pub last_status: Option<String>,
    pub stop_code: Option<String>,
    pub stopped_reason: Option<String>,
    pub started_by: Option<String>,
    /// `service:NAME` or `family:NAME`.
    pub group: Option<String>,
    pub cluster_arn: Option<String>,
    pub task_arn: Option<String>,
    pub task_definition_arn: Option<String>,
    /// `ecs.cpu-architecture`.
    pub cpu_architecture: Option<String>,
    pub containers: Vec<TaskContainer>,
}

/// What the explainer does with an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified {
    /// A task that stopped as a wrong-architecture image makes it stop: judge its images.
    Explain,
    /// Not for the explainer, with the reason.
    Skip(String),
}

/// Whether `event` is ECS's task state change event (`source` aws.ecs).
pub fn recognise(event: &Value) -> bool {
    event.get("detail-type").and_then(Value::as_str) == Some(DETAIL_TYPE)
        && event.get("source").and_then(Value::as_str) == Some("aws.ecs")
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

impl TaskStop {
    /// Reads the fields the explainer uses; a missing or mistyped one is absent.
    pub fn parse(event: &Value) -> TaskStop {
        let d = event.get("detail").unwrap_or(&Value::Null);
        let field = |k: &str| text(d.get(k));
        let cpu_architecture = d
            .get("attributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|a| a.get("name").and_then(Value::as_str) == Some("ecs.cpu-architecture"))
            .and_then(|a| text(a.get("value")));
        let containers = d
            .get("containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| TaskContainer {
                name: text(c.get("name")).unwrap_or_default(),
                image: text(c.get("image")),
                image_digest: text(c.get("imageDigest")),
                exit_code: c.get("exitCode").and_then(Value::as_i64),
                reason: text(c.get("reason")),
            })
            .collect();
        TaskStop {
            id: text(event.get("id")),
            account: text(event.get("account")),
            region: text(event.get("region")),
            time: text(event.get("time")),
            last_status: field("lastStatus"),
            stop_code: field("stopCode"),
            stopped_reason: field("stoppedReason"),
            started_by: field("startedBy"),
            group: field("group"),
            cluster_arn: field("clusterArn"),
            task_arn: field("taskArn"),
            task_definition_arn: field("taskDefinitionArn"),
            cpu_architecture,
            containers,
        }
    }

    pub fn scope(&self) -> RegistryId {
        RegistryId::new(self.account.as_deref(), self.region.as_deref())
    }

    pub fn classify(&self) -> Classified {
        let status = self.last_status.as_deref().unwrap_or("(none)");
        if status != "STOPPED" {
            return Classified::Skip(format!("task {status}: only stopped tasks are explained"));
        }
        let code = self.stop_code.as_deref().unwrap_or("(none)");
        if !EXPLAINED_STOP_CODES.contains(&code) {
            return Classified::Skip(format!(
                "stop code {code}: a task stopped by a user, the scheduler or Spot, not by its image"
            ));
        }
        if self.task_definition_arn.is_none() {
            return Classified::Skip("no taskDefinitionArn".into());
        }
        if self
            .containers
            .iter()
            .all(|c| c.image_at_digest().is_none())
        {
            return Classified::Skip(
                "no container with an image digest (ECS reports one for ECR images)".into(),
            );
        }
        Classified::Explain
    }

    /// The platform the task ran on, from `ecs.cpu-architecture` (`x86_64`, `arm64`).
    pub fn platform(&self) -> Option<Platform> {
        match self
            .cpu_architecture
            .as_deref()?
            .to_ascii_lowercase()
            .as_str()
        {
            "x86_64" | "amd64" => "linux/amd64".parse().ok(),
            "arm64" | "aarch64" => "linux/arm64".parse().ok(),
            _ => None,
        }
    }

    /// The task group (`service:NAME`, `family:NAME`), or the task definition's family.
    pub fn group(&self) -> String {
        self.group.clone().unwrap_or_else(|| {
            let family = self
                .task_definition_arn
                .as_deref()
                .and_then(|a| a.rsplit('/').next())
                .and_then(|f| f.split(':').next())
                .unwrap_or("unknown");
            format!("family:{family}")
        })
    }

    /// The service's name when the group is `service:NAME`.
    pub fn service(&self) -> Option<&str> {
        self.group.as_deref()?.strip_prefix("service:")
    }

    /// The hour of the event (`2026-12-06T16`): the explainer alerts once per task group and
    /// image in it.
    pub fn hour(&self) -> String {
        self.time
            .as_deref()
            .filter(|t| t.len() >= 13)
            .map(|t| t[..13].to_string())
            .unwrap_or_else(|| "unknown-hour".into())
    }

    /// "stopped (EssentialContainerExited: Essential container in task exited; container app
    /// exit code 255)".
    pub fn why(&self) -> String {
        let mut why = format!(
            "{}: {}",
            self.stop_code.as_deref().unwrap_or("?"),
            self.stopped_reason.as_deref().unwrap_or("no reason given")
        );
        for c in &self.containers {
            if let Some(code) = c.exit_code.filter(|c| *c != 0) {
                why.push_str(&format!("; container {} exit code {code}", c.name));
            }
            if let Some(r) = &c.reason {
                why.push_str(&format!("; container {}: {r}", c.name));
            }
        }
        why
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stopped() -> Value {
        json!({
            "id": "e1", "detail-type": DETAIL_TYPE, "source": "aws.ecs",
            "account": "111122223333", "region": "us-west-2", "time": "2026-12-06T16:31:14Z",
            "detail": {
                "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
                "stopCode": "EssentialContainerExited",
                "stoppedReason": "Essential container in task exited",
                "group": "service:web", "startedBy": "ecs-svc/2757582648257641111",
                "clusterArn": "arn:aws:ecs:us-west-2:111122223333:cluster/prod",
                "taskArn": "arn:aws:ecs:us-west-2:111122223333:task/prod/abc",
                "taskDefinitionArn": "arn:aws:ecs:us-west-2:111122223333:task-definition/web:7",
                "attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
                "containers": [{
                    "name": "app", "exitCode": 255, "lastStatus": "STOPPED",
                    "image": "111122223333.dkr.ecr.us-west-2.amazonaws.com/team/app:latest",
                    "imageDigest": "sha256:411caf340c828657e915a83ed561a79d2b8150dabad4dc079d881cbfe6f86afe"
                }]
            }
        })
    }

    #[test]
    fn a_crashed_task_is_explained_with_what_it_ran_on() {
        let e = stopped();
        assert!(recognise(&e));
        let t = TaskStop::parse(&e);
        assert_eq!(t.classify(), Classified::Explain);
        assert_eq!(t.platform().unwrap().to_string(), "linux/amd64");
        assert_eq!(t.service(), Some("web"));
        assert_eq!(t.hour(), "2026-12-06T16");
        assert_eq!(
            t.containers[0].image_at_digest().unwrap(),
            "111122223333.dkr.ecr.us-west-2.amazonaws.com/team/app@sha256:411caf340c828657e915a83ed561a79d2b8150dabad4dc079d881cbfe6f86afe"
        );
        assert!(t.why().contains("exit code 255"), "{}", t.why());
    }

    #[test]
    fn healthy_stops_and_running_tasks_are_skipped() {
        for (field, value) in [
            ("stopCode", json!("UserInitiated")),
            ("stopCode", json!("ServiceSchedulerInitiated")),
            ("stopCode", json!("SpotInterruption")),
            ("lastStatus", json!("RUNNING")),
            ("containers", json!([{"name": "app", "image": "nginx:1"}])),
            ("taskDefinitionArn", Value::Null),
        ] {
            let mut e = stopped();
            e["detail"][field] = value.clone();
            assert!(
                matches!(TaskStop::parse(&e).classify(), Classified::Skip(_)),
                "{field}={value}"
            );
        }
        assert!(matches!(
            TaskStop::parse(&json!({})).classify(),
            Classified::Skip(_)
        ));
    }

    #[test]
    fn the_group_falls_back_to_the_family_and_an_unknown_cpu_is_none() {
        let mut e = stopped();
        e["detail"]["group"] = Value::Null;
        e["detail"]["attributes"] = json!([]);
        let t = TaskStop::parse(&e);
        assert_eq!(t.group(), "family:web");
        assert_eq!(t.platform(), None);
        let c = TaskContainer {
            image: Some("r.example/app@sha256:aa".into()),
            image_digest: Some("sha256:bb".into()),
            ..TaskContainer::default()
        };
        assert_eq!(c.image_at_digest().unwrap(), "r.example/app@sha256:bb");
        let c = TaskContainer {
            image: Some("localhost:5000/app:1".into()),
            image_digest: Some("sha256:bb".into()),
            ..TaskContainer::default()
        };
        assert_eq!(c.image_at_digest().unwrap(), "localhost:5000/app@sha256:bb");
    }
}
