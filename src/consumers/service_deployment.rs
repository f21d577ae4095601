//! An ECS service deployment as the deployment watcher reads it (ECS API Reference,
//! ServiceDeploymentBrief and ServiceDeployment): which revision it rolls out, in which state,
//! and which Lambda functions its lifecycle hooks call.

/// One service deployment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceDeployment {
    /// `arn:…:service-deployment/CLUSTER/SERVICE/ID`.
    pub arn: String,
    /// PENDING | IN_PROGRESS | ROLLBACK_REQUESTED | … (ServiceDeploymentStatus).
    pub status: String,
    /// The service revision being deployed.
    pub target_revision: Option<String>,
    /// The ARNs of the lifecycle hooks' targets (`deploymentConfiguration.lifecycleHooks[]
    /// .hookTargetArn`): a service whose deployment calls the guard as its hook is judged there.
    pub hook_targets: Vec<String>,
}

impl ServiceDeployment {
    /// Whether ECS is rolling it back already.
    pub fn rolling_back(&self) -> bool {
        self.status.starts_with("ROLLBACK")
    }

    /// Whether a lifecycle hook of this deployment calls the Lambda function `function` (its
    /// name: `arn:…:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`).
    pub fn hooks_call(&self, function: &str) -> bool {
        !function.is_empty()
            && self.hook_targets.iter().any(|arn| {
                let mut parts = arn.split(':').skip(5);
                parts.next() == Some("function") && parts.next() == Some(function)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hook_is_known_by_its_function_name_with_or_without_a_qualifier() {
        let d = ServiceDeployment {
            hook_targets: vec![
                "arn:aws:lambda:us-west-2:111122223333:function:arch-guard-guard:live".into(),
            ],
            ..ServiceDeployment::default()
        };
        assert!(d.hooks_call("arch-guard-guard"));
        assert!(!d.hooks_call("arch-guard"));
        assert!(!d.hooks_call(""));
        assert!(ServiceDeployment {
            status: "ROLLBACK_IN_PROGRESS".into(),
            ..d
        }
        .rolling_back());
    }
}
