//! ECS service deployment state change events (detail-type `ECS Deployment State Change`, ECS
//! Developer Guide, "Amazon ECS service deployment state change events"): ECS sends one for
//! every deployment of a service whatever started it (console, AWS CLI, Terraform, a script,
//! CloudFormation), within seconds. The deployment watcher judges the revision an initial
//! deployment rolls out.
//!
//! What the guide documents and this relies on:
//! - `detail.eventName` `SERVICE_DEPLOYMENT_IN_PROGRESS` "is sent for both initial deployments
//!   and rollback deployments. The difference between the two is in the `reason` field"; an
//!   initial one reads "ECS deployment ecs-svc/… in progress.", a rollback "ECS deployment
//!   circuit breaker: rolling back to deploymentId ecs-svc/…" (published records,
//!   events/SOURCES.md). Anything that says it is rolling back is left alone.
//! - `resources[0]` is the service's ARN (`arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME`;
//!   the old format `service/NAME` is in the default cluster).
//! - `detail.deploymentId` (`ecs-svc/2757582648257641111`) is the id of the service's
//!   `deployments[]` entry (DescribeServices), not the id of the service deployment ARN
//!   (`…:service-deployment/CLUSTER/NAME/r9i43YFjvgF_xlg7m2eJ1r`, ECS API Reference,
//!   StopServiceDeployment example): the watcher finds the service deployment by listing the
//!   service's ongoing ones (ListServiceDeployments).
//!
//! Pure: parsing and classification only.

use serde_json::Value;

use crate::image::RegistryId;

/// The EventBridge detail-type of ECS's service deployment events.
pub const DETAIL_TYPE: &str = "ECS Deployment State Change";

/// The only event the watcher acts on.
pub const IN_PROGRESS: &str = "SERVICE_DEPLOYMENT_IN_PROGRESS";

/// One ECS Deployment State Change event, as far as the watcher reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeploymentEvent {
    /// EventBridge's event id.
    pub id: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// `resources[0]`.
    pub service_arn: Option<String>,
    pub event_name: Option<String>,
    /// `ecs-svc/…`.
    pub deployment_id: Option<String>,
    pub reason: Option<String>,
}

/// What the watcher does with an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified {
    /// An initial deployment of this service is in progress: judge what it rolls out.
    Watch(ServiceName),
    /// Not for the watcher, with the reason.
    Skip(String),
}

/// A service, from its ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceName {
    pub arn: String,
    pub cluster: String,
    pub name: String,
}

impl ServiceName {
    /// `arn:PARTITION:ecs:REGION:ACCOUNT:service/CLUSTER/NAME`, or the old `service/NAME` (the
    /// default cluster).
    pub fn parse(arn: &str) -> Option<ServiceName> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "ecs" {
            return None;
        }
        let path = parts[5].strip_prefix("service/")?;
        let (cluster, name) = match path.split_once('/') {
            Some((c, n)) => (c, n),
            None => ("default", path),
        };
        if cluster.is_empty() || name.is_empty() || name.contains('/') {
            return None;
        }
        Some(ServiceName {
            arn: arn.to_string(),
            cluster: cluster.to_string(),
            name: name.to_string(),
        })
    }
}

impl std::fmt::Display for ServiceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ECS service {}/{}", self.cluster, self.name)
    }
}

/// Whether `event` is ECS's deployment state change event (`source` aws.ecs).
pub fn recognise(event: &Value) -> bool {
    event.get("detail-type").and_then(Value::as_str) == Some(DETAIL_TYPE)
        && event.get("source").and_then(Value::as_str) == Some("aws.ecs")
}

impl DeploymentEvent {
    /// Reads the fields the watcher uses; a missing or mistyped one is absent (never an
    /// error: the classification says why such an event is not watched).
    pub fn parse(event: &Value) -> DeploymentEvent {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let detail = event.get("detail");
        DeploymentEvent {
            id: text(event.get("id")),
            account: text(event.get("account")),
            region: text(event.get("region")),
            service_arn: text(event.get("resources").and_then(|r| r.get(0))),
            event_name: text(detail.and_then(|d| d.get("eventName"))),
            deployment_id: text(detail.and_then(|d| d.get("deploymentId"))),
            reason: text(detail.and_then(|d| d.get("reason"))),
        }
    }

    /// The account and Region the service is in.
    pub fn scope(&self) -> RegistryId {
        RegistryId::new(self.account.as_deref(), self.region.as_deref())
    }

    /// Whether the deployment is ECS rolling back (its `reason`).
    pub fn is_rollback(&self) -> bool {
        self.reason
            .as_deref()
            .is_some_and(|r| r.to_ascii_lowercase().contains("rolling back"))
    }

    pub fn classify(&self) -> Classified {
        let name = self.event_name.as_deref().unwrap_or("(no eventName)");
        if name != IN_PROGRESS {
            return Classified::Skip(format!(
                "ECS deployment event {name}: only {IN_PROGRESS} is watched"
            ));
        }
        if self.is_rollback() {
            return Classified::Skip(format!(
                "a rollback deployment ({}): never stopped",
                self.reason.as_deref().unwrap_or("")
            ));
        }
        match self.service_arn.as_deref().and_then(ServiceName::parse) {
            Some(service) => Classified::Watch(service),
            None => Classified::Skip(format!(
                "no ECS service ARN in resources[0] ({:?})",
                self.service_arn
            )),
        }
    }

    /// "ECS service CLUSTER/NAME deployment ecs-svc/…".
    pub fn describe(&self) -> String {
        let service = self
            .service_arn
            .as_deref()
            .and_then(ServiceName::parse)
            .map(|s| s.to_string())
            .unwrap_or_else(|| "ECS service (unnamed)".into());
        format!(
            "{service} deployment {}",
            self.deployment_id.as_deref().unwrap_or("(no deploymentId)")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The guide's example of an initial deployment starting (ECS Developer Guide, "Amazon ECS
    /// service deployment state change events"; `events/ecs-deployment-in-progress.json`).
    fn guide_example() -> Value {
        json!({
            "version": "0",
            "id": "ddca6449-b258-46c0-8653-e0e3a6EXAMPLE",
            "detail-type": "ECS Deployment State Change",
            "source": "aws.ecs",
            "account": "111122223333",
            "time": "2020-05-23T12:31:14Z",
            "region": "us-west-2",
            "resources": ["arn:aws:ecs:us-west-2:111122223333:service/default/servicetest"],
            "detail": {
                "eventType": "INFO",
                "eventName": "SERVICE_DEPLOYMENT_IN_PROGRESS",
                "deploymentId": "ecs-svc/123",
                "updatedAt": "2020-05-23T11:11:11Z",
                "reason": "ECS deployment deploymentId in progress."
            }
        })
    }

    #[test]
    fn the_guides_initial_deployment_is_watched() {
        let e = guide_example();
        assert!(recognise(&e));
        let d = DeploymentEvent::parse(&e);
        assert_eq!(d.deployment_id.as_deref(), Some("ecs-svc/123"));
        assert_eq!(d.scope().account.as_deref(), Some("111122223333"));
        let Classified::Watch(s) = d.classify() else {
            panic!("{:?}", d.classify())
        };
        assert_eq!(
            (s.cluster.as_str(), s.name.as_str()),
            ("default", "servicetest")
        );
        assert_eq!(
            d.describe(),
            "ECS service default/servicetest deployment ecs-svc/123"
        );
    }

    #[test]
    fn rollbacks_and_other_event_names_are_skipped() {
        let mut e = guide_example();
        e["detail"]["reason"] =
            "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/123.".into();
        assert!(
            matches!(DeploymentEvent::parse(&e).classify(), Classified::Skip(r) if r.contains("rollback"))
        );
        for name in ["SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED"] {
            let mut e = guide_example();
            e["detail"]["eventName"] = name.into();
            assert!(
                matches!(DeploymentEvent::parse(&e).classify(), Classified::Skip(r) if r.contains(name))
            );
        }
    }

    #[test]
    fn odd_shapes_are_skipped_never_an_error() {
        for broken in [
            json!({}),
            json!({"detail": null, "resources": "x"}),
            json!({"detail": {"eventName": IN_PROGRESS}, "resources": []}),
            json!({"detail": {"eventName": IN_PROGRESS}, "resources": ["arn:aws:ecs:r:a:cluster/x"]}),
            json!({"detail": {"eventName": 7}, "resources": [1]}),
        ] {
            assert!(
                matches!(
                    DeploymentEvent::parse(&broken).classify(),
                    Classified::Skip(_)
                ),
                "{broken}"
            );
        }
        assert!(!recognise(
            &json!({"detail-type": DETAIL_TYPE, "source": "custom"})
        ));
    }

    #[test]
    fn service_arns_in_both_formats() {
        let old = ServiceName::parse("arn:aws:ecs:us-east-1:111122223333:service/web").unwrap();
        assert_eq!(
            (old.cluster.as_str(), old.name.as_str()),
            ("default", "web")
        );
        let new = ServiceName::parse("arn:aws-cn:ecs:cn-north-1:1:service/prod/web").unwrap();
        assert_eq!((new.cluster.as_str(), new.name.as_str()), ("prod", "web"));
        for bad in [
            "arn:aws:ecs:r:a:service/",
            "arn:aws:ecs:r:a:service/a/b/c",
            "arn:aws:lambda:r:a:service/a/b",
            "service/a/b",
        ] {
            assert_eq!(ServiceName::parse(bad), None, "{bad}");
        }
    }
}
