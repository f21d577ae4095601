//! The CloudFormation Lambda Hook: the request CloudFormation (or Cloud Control API) sends for a
//! resource operation, what of it is judged, and the answer.
//!
//! Shapes from the CloudFormation Hooks User Guide, "Create Lambda functions to evaluate
//! resources for Lambda Hooks": the request carries `actionInvocationPoint`
//! (CREATE_PRE_PROVISION | UPDATE_PRE_PROVISION | DELETE_PRE_PROVISION), `requestData.targetName`
//! (the resource type), `targetLogicalId`, `targetModel.resourceProperties` (the proposed
//! properties, references already resolved) and `previousResourceProperties`; `stackId` is empty
//! when the caller is Cloud Control API. The answer is `hookStatus` SUCCESS | FAILED |
//! IN_PROGRESS, `errorCode` NonCompliant | InternalFailure when FAILED, `message` (truncated by
//! CloudFormation at 4,096 characters, by Cloud Control at 1,024) and `clientRequestToken`
//! echoed.

use serde::Deserialize;
use serde_json::Value;

pub use super::hook_response::{ErrorCode, HookResponse, HookStatus};
use super::ruling::{Ruling, RulingKind};
use super::Unknown;
pub use crate::consumers::proposal::Proposal;
pub use crate::consumers::resource_type::ResourceType;
use crate::image::RegistryId;
use crate::util::error::Error;

/// CloudFormation truncates the message at this many characters.
pub const MAX_MESSAGE_CLOUDFORMATION: usize = 4096;
/// Cloud Control API truncates the message at this many characters.
pub const MAX_MESSAGE_CLOUD_CONTROL: usize = 1024;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TargetModel {
    pub resource_properties: Value,
    pub previous_resource_properties: Value,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RequestData {
    pub target_name: Option<String>,
    pub target_type: Option<String>,
    pub target_logical_id: Option<String>,
    pub target_model: TargetModel,
}

/// A hook request (resource operations; stack and change-set operations are answered SUCCESS
/// unread, the template does not target them).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HookRequest {
    pub aws_account_id: Option<String>,
    pub stack_id: Option<String>,
    pub change_set_id: Option<String>,
    pub hook_type_name: Option<String>,
    pub action_invocation_point: Option<String>,
    pub request_data: RequestData,
    pub client_request_token: Option<String>,
}

/// What to do with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified {
    Judge(Box<Proposal>),
    /// SUCCESS without a read, with the reason.
    Pass(String),
}

impl HookRequest {
    /// Parses a hook request; only a payload that is not an object is an error (every field
    /// is read leniently and what is missing is answered for).
    pub fn parse(payload: Value) -> Result<HookRequest, Error> {
        serde_json::from_value(payload)
            .map_err(|e| Error::Malformed(format!("not a CloudFormation hook request: {e}")))
    }

    /// Cloud Control API, not a stack: `stackId` is empty (the guide, `stackId`).
    pub fn cloud_control(&self) -> bool {
        self.stack_id.as_deref().is_none_or(str::is_empty)
    }

    /// How long the message may be.
    pub fn max_message(&self) -> usize {
        if self.cloud_control() {
            MAX_MESSAGE_CLOUD_CONTROL
        } else {
            MAX_MESSAGE_CLOUDFORMATION
        }
    }

    /// The account (`awsAccountId`) and region (the stack ARN's; none for Cloud Control,
    /// where the function's own region is meant: a hook invokes a function of its region).
    pub fn scope(&self) -> RegistryId {
        let region = self
            .stack_id
            .as_deref()
            .and_then(|arn| arn.split(':').nth(3))
            .filter(|r| !r.is_empty());
        RegistryId::new(self.aws_account_id.as_deref(), region)
    }

    fn type_name(&self) -> &str {
        self.request_data.target_name.as_deref().unwrap_or("")
    }

    fn logical_id(&self) -> &str {
        self.request_data
            .target_logical_id
            .as_deref()
            .unwrap_or("(no logical id)")
    }

    /// `UPDATE_PRE_PROVISION of AWS::ECS::Service Web (stack web-prod)`: what was asked, for
    /// the message and the logs.
    pub fn describe(&self) -> String {
        let stack = self
            .stack_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .and_then(|arn| arn.split(":stack/").nth(1))
            .and_then(|s| s.split('/').next())
            .map(|s| format!("stack {s}"))
            .unwrap_or_else(|| "Cloud Control API".into());
        format!(
            "{} of {} {} ({stack})",
            self.action_invocation_point.as_deref().unwrap_or("?"),
            self.type_name(),
            self.logical_id()
        )
    }

    /// Whether the resource is judged, or why not (nothing read).
    pub fn classify(&self) -> Classified {
        use Classified::Pass;
        let point = self.action_invocation_point.as_deref().unwrap_or("");
        let Some(resource_type) = ResourceType::parse(self.type_name()) else {
            return Pass(format!(
                "{} is not a resource the guard judges (it targets {})",
                if self.type_name().is_empty() {
                    "a request without requestData.targetName"
                } else {
                    self.type_name()
                },
                ResourceType::ALL.map(ResourceType::type_name).join(", ")
            ));
        };
        match point {
            "CREATE_PRE_PROVISION" | "UPDATE_PRE_PROVISION" => {}
            "DELETE_PRE_PROVISION" => {
                return Pass("a deletion starts nothing: not judged".into());
            }
            other => {
                return Pass(format!(
                    "invocation point {other:?} is not a resource's pre-provision: not judged"
                ))
            }
        }
        let model = &self.request_data.target_model;
        let properties = model.resource_properties.clone();
        if !properties.is_object() {
            return Pass(format!(
                "{} {} came without its properties: nothing to judge",
                self.type_name(),
                self.logical_id()
            ));
        }
        if point == "UPDATE_PRE_PROVISION" && model.previous_resource_properties.is_object() {
            let deciding = resource_type.deciding_properties();
            if deciding
                .iter()
                .all(|k| properties.get(k) == model.previous_resource_properties.get(k))
            {
                return Pass(format!(
                    "the update changes none of {}: no image and no platform changes, nothing read",
                    deciding.join(", ")
                ));
            }
        }
        let proposal = Proposal {
            resource_type,
            logical_id: self.logical_id().to_string(),
            properties,
        };
        if let Some(reason) = no_image(&proposal) {
            return Pass(reason);
        }
        Classified::Judge(Box::new(proposal))
    }

    /// The answer to this request for `ruling`.
    pub fn respond(&self, ruling: &Ruling, unknown: Unknown) -> HookResponse {
        let (status, code) = match (ruling.kind, unknown) {
            (RulingKind::Pass, _) | (RulingKind::NotJudged, Unknown::Pass) => {
                (HookStatus::Success, None)
            }
            (RulingKind::Refuse, _) => (HookStatus::Failed, Some(ErrorCode::NonCompliant)),
            (RulingKind::NotJudged, Unknown::Fail) => (
                HookStatus::Failed,
                Some(if ruling.internal {
                    ErrorCode::InternalFailure
                } else {
                    ErrorCode::NonCompliant
                }),
            ),
        };
        HookResponse {
            hook_status: status,
            error_code: code,
            message: ruling.message_within(self.max_message()),
            client_request_token: self.client_request_token.clone(),
        }
    }
}

/// Why a proposed resource runs no container image (a .zip function, a source-code App Runner
/// service): nothing to read.
/// Why a proposal starts no container image (a .zip function, a code-built App Runner
/// service), if it does not: such a resource passes unread.
pub fn no_image(p: &Proposal) -> Option<String> {
    match p.resource_type {
        ResourceType::LambdaFunction
            if p.text(&["Code", "ImageUri"]).is_none()
                && p.text(&["PackageType"]) != Some("Image") =>
        {
            Some(format!(
                "Lambda function {} is a .zip function: no container image involved",
                p.name()
            ))
        }
        ResourceType::AppRunnerService
            if p.properties
                .pointer("/SourceConfiguration/ImageRepository")
                .is_none() =>
        {
            Some(format!(
                "App Runner service {} builds from a code repository: no container image involved",
                p.name()
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(point: &str, target: &str, props: Value, previous: Value) -> HookRequest {
        HookRequest::parse(json!({
            "awsAccountId": "123456789012",
            "stackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/web-prod/1a2345b6-0000-00a0-a123-00abc0abc000",
            "hookTypeName": "EcrArchGuard::Deploy::Gate",
            "actionInvocationPoint": point,
            "clientRequestToken": "tok-1",
            "requestData": {"targetName": target, "targetType": target, "targetLogicalId": "Web",
                "targetModel": {"resourceProperties": props, "previousResourceProperties": previous}},
            "requestContext": {"invocation": 1, "callbackContext": null}
        }))
        .unwrap()
    }

    #[test]
    fn scope_and_description_come_from_the_stack_arn() {
        let r = request(
            "CREATE_PRE_PROVISION",
            "AWS::ECS::TaskDefinition",
            json!({}),
            Value::Null,
        );
        assert_eq!(r.scope().region.as_deref(), Some("eu-west-1"));
        assert_eq!(r.scope().account.as_deref(), Some("123456789012"));
        assert_eq!(
            r.describe(),
            "CREATE_PRE_PROVISION of AWS::ECS::TaskDefinition Web (stack web-prod)"
        );
        assert!(!r.cloud_control());
        assert_eq!(r.max_message(), 4096);
        let mut cc = r.clone();
        cc.stack_id = Some(String::new());
        assert!(cc.cloud_control());
        assert_eq!(cc.max_message(), 1024);
        assert_eq!(cc.scope().region, None);
    }

    #[test]
    fn scaling_only_updates_deletes_and_other_types_pass_unread() {
        let props = json!({"TaskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3",
            "Cluster": "prod", "DesiredCount": 4});
        let previous = json!({"TaskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3",
            "Cluster": "prod", "DesiredCount": 2});
        let pass = |c: Classified| matches!(c, Classified::Pass(_));
        assert!(pass(
            request(
                "UPDATE_PRE_PROVISION",
                "AWS::ECS::Service",
                props.clone(),
                previous
            )
            .classify()
        ));
        let moved = json!({"TaskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2",
            "Cluster": "prod", "DesiredCount": 2});
        assert!(!pass(
            request(
                "UPDATE_PRE_PROVISION",
                "AWS::ECS::Service",
                props.clone(),
                moved
            )
            .classify()
        ));
        assert!(pass(
            request(
                "DELETE_PRE_PROVISION",
                "AWS::ECS::Service",
                Value::Null,
                props.clone()
            )
            .classify()
        ));
        assert!(pass(
            request(
                "CREATE_PRE_PROVISION",
                "AWS::S3::Bucket",
                json!({}),
                Value::Null
            )
            .classify()
        ));
        assert!(pass(
            request(
                "CREATE_PRE_PROVISION",
                "AWS::Lambda::Function",
                json!({"Runtime": "python3.12", "Code": {"S3Bucket": "b", "S3Key": "k"}}),
                Value::Null
            )
            .classify()
        ));
        assert!(pass(
            request("CREATE_PRE_PROVISION", "AWS::AppRunner::Service",
                json!({"SourceConfiguration": {"CodeRepository": {"RepositoryUrl": "https://github.com/x/y"}}}), Value::Null)
            .classify()
        ));
        let Classified::Judge(p) = request(
            "CREATE_PRE_PROVISION",
            "AWS::Lambda::Function",
            json!({"PackageType": "Image", "Code": {"ImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/r:1"},
                   "FunctionName": "resize"}),
            Value::Null,
        )
        .classify() else {
            panic!("an image function is judged")
        };
        assert_eq!(p.name(), "resize (Web)");
    }

    #[test]
    fn the_answer_follows_the_ruling_and_the_unknown_policy() {
        let r = request(
            "CREATE_PRE_PROVISION",
            "AWS::ECS::TaskDefinition",
            json!({}),
            Value::Null,
        );
        let refuse = Ruling::new(RulingKind::Refuse, "REFUSED: x".into());
        let out = serde_json::to_value(r.respond(&refuse, Unknown::Pass)).unwrap();
        assert_eq!(
            out,
            json!({"hookStatus": "FAILED", "errorCode": "NonCompliant", "message": "REFUSED: x",
                   "clientRequestToken": "tok-1"})
        );
        let mut unread = Ruling::new(RulingKind::NotJudged, "not judged: throttled".into());
        unread.internal = true;
        assert_eq!(
            r.respond(&unread, Unknown::Pass).hook_status,
            HookStatus::Success
        );
        let strict = r.respond(&unread, Unknown::Fail);
        assert_eq!(
            (strict.hook_status, strict.error_code),
            (HookStatus::Failed, Some(ErrorCode::InternalFailure))
        );
        let long = Ruling::new(RulingKind::Refuse, "y".repeat(5000));
        assert_eq!(
            r.respond(&long, Unknown::Pass).message.chars().count(),
            4096
        );
    }
}
