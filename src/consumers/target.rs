//! The consumer a change names (or the CLI's ARN names): enough to read its current state.

use std::fmt;

use crate::consumers::consumer::ConsumerKind;
use crate::consumers::consumer_index::Slot;
use crate::consumers::proposal::Proposal;
use crate::image::RegistryId;
use crate::util::error::Error;

/// The consumer a change names: enough to read its current state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A task definition ARN (`…:task-definition/FAMILY:REVISION`), or a family (its latest
    /// ACTIVE revision).
    EcsTaskDefinition(String),
    /// A service of a cluster (names or ARNs, as the call gave them).
    EcsService { cluster: String, service: String },
    /// A function name or ARN.
    LambdaFunction(String),
    /// A service ARN.
    AppRunnerService(String),
    /// A job definition ARN (`…:job-definition/NAME:REVISION`), or a name (its latest ACTIVE
    /// revision).
    BatchJobDefinition(String),
    /// An ECS service revision ARN (`…:service-revision/CLUSTER/SERVICE/ID`): what an ECS
    /// deployment is about to start, its image tags already resolved to digests by ECS.
    EcsServiceRevision(String),
    /// An ECS Express Mode service (its service ARN, `…:service/CLUSTER/NAME`).
    EcsExpressService(String),
    /// A resource as a CloudFormation or Cloud Control API operation proposes it (a hook).
    Proposed(Box<Proposal>),
}

impl Target {
    pub fn kind(&self) -> ConsumerKind {
        match self {
            Target::EcsTaskDefinition(_) => ConsumerKind::EcsTaskDefinition,
            Target::EcsService { .. } => ConsumerKind::EcsService,
            Target::LambdaFunction(_) => ConsumerKind::LambdaFunction,
            Target::AppRunnerService(_) => ConsumerKind::AppRunnerService,
            Target::BatchJobDefinition(_) => ConsumerKind::BatchJobDefinition,
            Target::EcsServiceRevision(_) | Target::EcsExpressService(_) => {
                ConsumerKind::EcsService
            }
            Target::Proposed(p) => p.resource_type.consumer_kind(),
        }
    }

    /// The consumer index's slot this consumer occupies; `None` for what the index does not
    /// hold (a service revision, a proposed resource).
    pub fn slot(&self) -> Option<Slot> {
        let kind = self.kind();
        Some(match self {
            Target::EcsService { cluster, service } => {
                Slot::new(kind, &format!("{}/{}", short(cluster), short(service)))
            }
            Target::EcsTaskDefinition(s)
            | Target::LambdaFunction(s)
            | Target::AppRunnerService(s)
            | Target::BatchJobDefinition(s)
            | Target::EcsExpressService(s) => Slot::new(kind, s),
            Target::EcsServiceRevision(_) | Target::Proposed(_) => return None,
        })
    }

    /// The consumer named by an ARN (the CLI's argument), with the account and region the ARN
    /// names: ECS task definitions and services, Lambda functions, App Runner services, Batch
    /// job definitions.
    pub fn from_arn(arn: &str) -> Result<(Target, RegistryId), Error> {
        let bad = || {
            Error::Usage(format!(
                "{arn:?} is not the ARN of an ECS task definition or service, a Lambda function, \
                 an App Runner service or a Batch job definition"
            ))
        };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [_, _, service, region, account, resource] = parts.as_slice() else {
            return Err(bad());
        };
        if !parts[0].eq("arn") || resource.is_empty() {
            return Err(bad());
        }
        let scope = RegistryId::new(Some(account), Some(region));
        let target = match (*service, resource.split_once(['/', ':'])) {
            ("ecs", Some(("task-definition", _))) => Target::EcsTaskDefinition(arn.to_string()),
            ("ecs", Some(("service", rest))) => match rest.split_once('/') {
                // Long ARN format: service/CLUSTER/NAME.
                Some((cluster, name)) => Target::EcsService {
                    cluster: cluster.to_string(),
                    service: name.to_string(),
                },
                // Old format, service/NAME: the default cluster.
                None => Target::EcsService {
                    cluster: "default".into(),
                    service: rest.to_string(),
                },
            },
            ("lambda", Some(("function", _))) => Target::LambdaFunction(arn.to_string()),
            ("apprunner", Some(("service", _))) => Target::AppRunnerService(arn.to_string()),
            ("batch", Some(("job-definition", _))) => Target::BatchJobDefinition(arn.to_string()),
            _ => return Err(bad()),
        };
        Ok((target, scope))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::EcsService { cluster, service } => {
                write!(f, "{} {}/{}", self.kind(), short(cluster), short(service))
            }
            Target::EcsTaskDefinition(s)
            | Target::LambdaFunction(s)
            | Target::AppRunnerService(s)
            | Target::BatchJobDefinition(s) => write!(f, "{} {s}", self.kind()),
            Target::EcsServiceRevision(arn) => {
                // service-revision/CLUSTER/SERVICE/ID
                let path = arn.split(":service-revision/").nth(1).unwrap_or(arn);
                match path.rsplit_once('/') {
                    Some((service, id)) => write!(f, "{} {service} revision {id}", self.kind()),
                    None => write!(f, "{} revision {arn}", self.kind()),
                }
            }
            Target::EcsExpressService(arn) => {
                let path = arn.split(":service/").nth(1).unwrap_or(arn);
                write!(f, "{} {path} (Express Mode)", self.kind())
            }
            Target::Proposed(p) => write!(f, "{} {} (proposed)", self.kind(), p.name()),
        }
    }
}

/// The last `/` segment of an ARN (a name stays as it is).
fn short(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_targets_slot_is_the_one_its_listed_consumer_occupies() {
        let slot = |t: Target| t.slot().unwrap().id;
        assert_eq!(
            slot(Target::EcsService {
                cluster: "arn:aws:ecs:us-east-1:111122223333:cluster/prod".into(),
                service: "web".into()
            }),
            "prod/web"
        );
        assert_eq!(
            slot(Target::EcsExpressService(
                "arn:aws:ecs:us-east-1:111122223333:service/default/api".into()
            )),
            "default/api"
        );
        assert_eq!(slot(Target::EcsTaskDefinition("web:7".into())), "web");
        assert_eq!(slot(Target::LambdaFunction("thumbs".into())), "thumbs");
        assert_eq!(
            slot(Target::BatchJobDefinition("nightly".into())),
            "nightly"
        );
        assert_eq!(
            Target::EcsServiceRevision(
                "arn:aws:ecs:us-east-1:111122223333:service-revision/prod/web/1".into()
            )
            .slot(),
            None
        );
    }

    #[test]
    fn arns_name_their_consumer_and_scope() {
        let (t, scope) =
            Target::from_arn("arn:aws:ecs:eu-west-1:111122223333:service/prod/web").unwrap();
        assert_eq!(
            t,
            Target::EcsService {
                cluster: "prod".into(),
                service: "web".into()
            }
        );
        assert_eq!(scope.account.as_deref(), Some("111122223333"));
        assert_eq!(scope.region.as_deref(), Some("eu-west-1"));
        for arn in [
            "arn:aws:ecs:us-east-1:111122223333:task-definition/web:3",
            "arn:aws:lambda:us-east-1:111122223333:function:fn",
            "arn:aws:apprunner:us-east-1:111122223333:service/api/0123456789abcdef0123456789abcdef",
            "arn:aws:batch:us-east-1:111122223333:job-definition/nightly:4",
        ] {
            assert!(Target::from_arn(arn).is_ok(), "{arn}");
        }
        for bad in [
            "web:3",
            "arn:aws:s3:::bucket",
            "arn:aws:ecs:us-east-1:1:cluster/x",
            "",
        ] {
            assert!(Target::from_arn(bad).is_err(), "{bad}");
        }
    }
}
