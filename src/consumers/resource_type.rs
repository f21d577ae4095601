//! The resource types the CloudFormation deployment gate judges, by their CloudFormation type
//! names, and which of their properties decide what runs where.

use crate::consumers::consumer::ConsumerKind;

/// The resource types the hook judges: everything that names a container image and the platform
/// it runs on. The template's hook targets exactly these (a test compares).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    EcsTaskDefinition,
    EcsService,
    EcsExpressGatewayService,
    LambdaFunction,
    AppRunnerService,
    BatchJobDefinition,
}

impl ResourceType {
    pub const ALL: [ResourceType; 6] = [
        ResourceType::EcsTaskDefinition,
        ResourceType::EcsService,
        ResourceType::EcsExpressGatewayService,
        ResourceType::LambdaFunction,
        ResourceType::AppRunnerService,
        ResourceType::BatchJobDefinition,
    ];

    /// The CloudFormation type name.
    pub fn type_name(self) -> &'static str {
        match self {
            ResourceType::EcsTaskDefinition => "AWS::ECS::TaskDefinition",
            ResourceType::EcsService => "AWS::ECS::Service",
            ResourceType::EcsExpressGatewayService => "AWS::ECS::ExpressGatewayService",
            ResourceType::LambdaFunction => "AWS::Lambda::Function",
            ResourceType::AppRunnerService => "AWS::AppRunner::Service",
            ResourceType::BatchJobDefinition => "AWS::Batch::JobDefinition",
        }
    }

    pub fn parse(name: &str) -> Option<ResourceType> {
        ResourceType::ALL
            .into_iter()
            .find(|t| t.type_name() == name)
    }

    /// The consumer such a resource is.
    pub fn consumer_kind(self) -> ConsumerKind {
        match self {
            ResourceType::EcsTaskDefinition => ConsumerKind::EcsTaskDefinition,
            ResourceType::EcsService | ResourceType::EcsExpressGatewayService => {
                ConsumerKind::EcsService
            }
            ResourceType::LambdaFunction => ConsumerKind::LambdaFunction,
            ResourceType::AppRunnerService => ConsumerKind::AppRunnerService,
            ResourceType::BatchJobDefinition => ConsumerKind::BatchJobDefinition,
        }
    }

    /// The properties that decide which image runs and on what (from each type's template
    /// reference). An update that changes none of them changes no image and no platform.
    pub(crate) fn deciding_properties(self) -> &'static [&'static str] {
        match self {
            ResourceType::EcsTaskDefinition => &[
                "ContainerDefinitions",
                "RuntimePlatform",
                "RequiresCompatibilities",
            ],
            // ForceNewDeployment makes ECS resolve the task definition's tags again.
            ResourceType::EcsService => &[
                "TaskDefinition",
                "LaunchType",
                "CapacityProviderStrategy",
                "Cluster",
                "ForceNewDeployment",
            ],
            ResourceType::EcsExpressGatewayService => {
                &["PrimaryContainer", "TaskDefinitionArn", "Cluster"]
            }
            ResourceType::LambdaFunction => &["Code", "Architectures", "PackageType"],
            ResourceType::AppRunnerService => &["SourceConfiguration"],
            ResourceType::BatchJobDefinition => &[
                "ContainerProperties",
                "NodeProperties",
                "EcsProperties",
                "PlatformCapabilities",
            ],
        }
    }
}
