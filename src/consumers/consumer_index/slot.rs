//! The slot a consumer occupies in the consumer index: what stays the same across its
//! revisions, so a consumer change replaces exactly what the listing found of it.

use serde::{Deserialize, Serialize};

use crate::consumers::consumer::{Consumer, ConsumerKind};

/// What one consumer occupies in the index: a consumer change replaces exactly its slot.
/// `id` is what stays the same across its revisions: `CLUSTER/SERVICE` for an ECS service, the
/// family of a task definition, a function's name, an App Runner service's `NAME/ID`, a job
/// definition's name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Slot {
    pub kind: ConsumerKind,
    pub id: String,
}

impl Slot {
    /// The slot of a consumer of `kind` named by `reference`: an ARN, or a name as a change
    /// gives it (`family`, `family:3`, `CLUSTER/SERVICE`, a function name or partial ARN).
    pub fn new(kind: ConsumerKind, reference: &str) -> Slot {
        let after = |marker: &str| {
            reference
                .split_once(marker)
                .map_or(reference, |(_, rest)| rest)
                .to_string()
        };
        let without_revision = |s: String| match s.rsplit_once(':') {
            Some((name, rev)) if rev.bytes().all(|b| b.is_ascii_digit()) => name.to_string(),
            _ => s,
        };
        let id = match kind {
            ConsumerKind::EcsService => {
                let path = after(":service/");
                match path.split_once('/') {
                    Some(_) => path,
                    // The old ARN format, service/NAME: the default cluster.
                    None if reference.contains(":service/") => format!("default/{path}"),
                    None => path,
                }
            }
            ConsumerKind::EcsTaskDefinition => without_revision(after("task-definition/")),
            ConsumerKind::LambdaFunction => {
                let rest = after("function:");
                rest.split(':').next().unwrap_or_default().to_string()
            }
            ConsumerKind::AppRunnerService => after(":service/"),
            ConsumerKind::BatchJobDefinition => without_revision(after("job-definition/")),
        };
        Slot { kind, id }
    }

    /// The slot `c` occupies (by its ARN; by its name when it has none).
    pub fn of(c: &Consumer) -> Slot {
        let reference = if c.arn.is_empty() { &c.name } else { &c.arn };
        Slot::new(c.kind, reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_the_same_from_arns_and_from_the_names_changes_give() {
        let s = |k, r| Slot::new(k, r).id;
        use ConsumerKind::*;
        assert_eq!(
            s(EcsService, "arn:aws:ecs:us-east-1:1:service/prod/web"),
            "prod/web"
        );
        assert_eq!(
            s(EcsService, "arn:aws:ecs:us-east-1:1:service/web"),
            "default/web"
        );
        assert_eq!(s(EcsService, "prod/web"), "prod/web");
        assert_eq!(
            s(
                EcsTaskDefinition,
                "arn:aws:ecs:us-east-1:1:task-definition/web:12"
            ),
            "web"
        );
        assert_eq!(s(EcsTaskDefinition, "web:12"), "web");
        assert_eq!(s(EcsTaskDefinition, "web"), "web");
        assert_eq!(
            s(
                LambdaFunction,
                "arn:aws:lambda:us-east-1:1:function:api:live"
            ),
            "api"
        );
        assert_eq!(s(LambdaFunction, "1:function:api"), "api");
        assert_eq!(s(LambdaFunction, "api"), "api");
        assert_eq!(
            s(
                AppRunnerService,
                "arn:aws:apprunner:us-east-1:1:service/web/8fe1"
            ),
            "web/8fe1"
        );
        assert_eq!(
            s(
                BatchJobDefinition,
                "arn:aws:batch:us-east-1:1:job-definition/nightly:4"
            ),
            "nightly"
        );
    }
}
