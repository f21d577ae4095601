//! A resource as a CloudFormation (or Cloud Control API) operation proposes it: what the
//! deployment gate judges.

use serde_json::Value;

use crate::consumers::resource_type::ResourceType;

/// A resource as a CloudFormation or Cloud Control operation proposes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub resource_type: ResourceType,
    /// The template's logical id (constructed by Cloud Control for its calls).
    pub logical_id: String,
    /// `targetModel.resourceProperties`, references resolved by CloudFormation.
    pub properties: Value,
}

impl Proposal {
    /// A property as a string (`""` and non-strings as absent).
    pub fn text(&self, path: &[&str]) -> Option<&str> {
        path.iter()
            .try_fold(&self.properties, |v, k| v.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The name a person knows it by: its name property, else the logical id.
    pub fn name(&self) -> String {
        let key = match self.resource_type {
            ResourceType::EcsTaskDefinition => "Family",
            ResourceType::EcsService | ResourceType::EcsExpressGatewayService => "ServiceName",
            ResourceType::LambdaFunction => "FunctionName",
            ResourceType::AppRunnerService => "ServiceName",
            ResourceType::BatchJobDefinition => "JobDefinitionName",
        };
        self.text(&[key])
            .map(|n| format!("{n} ({})", self.logical_id))
            .unwrap_or_else(|| self.logical_id.clone())
    }
}
