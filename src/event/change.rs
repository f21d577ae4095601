//! Consumer changes: the CloudTrail management events ("AWS API Call via CloudTrail") of the
//! calls that point a service at an image or change its architecture, and which consumer each
//! one names. The guard reads that consumer's current state (not the event's request
//! parameters, which CloudTrail may truncate or omit; only a call Lambda refused, which changed
//! nothing, is judged by the image it asked for) and judges its images against it.
//!
//! The calls (eventSource / eventName, from each service's CloudTrail chapter and the
//! EventBridge event reference; Lambda's names carry its API version):
//! - ECS (`ecs.amazonaws.com`): `RegisterTaskDefinition`, `CreateService`, `UpdateService`,
//!   and Express Mode's `CreateExpressGatewayService`, `UpdateExpressGatewayService`;
//! - Lambda (`lambda.amazonaws.com`): `CreateFunction20150331`, `UpdateFunctionCode20150331v2`
//!   (the only call that changes an image function's image or its `Architectures`;
//!   UpdateFunctionConfiguration changes neither and is not watched), and the same call under
//!   the name `UpdateFunctionCode20150331` (in published CloudTrail data; see change/lambda.rs);
//! - App Runner (`apprunner.amazonaws.com`): `CreateService`, `UpdateService`;
//! - Batch (`batch.amazonaws.com`): `RegisterJobDefinition`.
//!
//! Pure: parsing and classification only.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Serialize;
use serde_json::Value;

use crate::image::RegistryId;
use crate::util::error::Error;

mod ecs;
mod lambda;

pub use crate::consumers::target::Target;

/// The EventBridge detail-type of CloudTrail's API call events.
pub const DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// Every watched call: `(source, eventSource, eventName)`. The template's rules are built
/// from the same list (a test compares them).
pub const WATCHED: [(&str, &str, &str); 11] = [
    ("aws.ecs", "ecs.amazonaws.com", "RegisterTaskDefinition"),
    ("aws.ecs", "ecs.amazonaws.com", "CreateService"),
    ("aws.ecs", "ecs.amazonaws.com", "UpdateService"),
    (
        "aws.ecs",
        "ecs.amazonaws.com",
        "CreateExpressGatewayService",
    ),
    (
        "aws.ecs",
        "ecs.amazonaws.com",
        "UpdateExpressGatewayService",
    ),
    (
        "aws.lambda",
        "lambda.amazonaws.com",
        "CreateFunction20150331",
    ),
    (
        "aws.lambda",
        "lambda.amazonaws.com",
        "UpdateFunctionCode20150331v2",
    ),
    // The same call under its earlier versioned name, found in published CloudTrail data.
    (
        "aws.lambda",
        "lambda.amazonaws.com",
        "UpdateFunctionCode20150331",
    ),
    ("aws.apprunner", "apprunner.amazonaws.com", "CreateService"),
    ("aws.apprunner", "apprunner.amazonaws.com", "UpdateService"),
    ("aws.batch", "batch.amazonaws.com", "RegisterJobDefinition"),
];

/// A CloudTrail API call event as EventBridge delivers it.
pub type CloudTrailEvent = EventBridgeEvent<Value>;

/// An image a refused Lambda call asked for (see [`Change::requested`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requested {
    pub image: String,
    /// `Architectures` of the request; `None`: the function's own (or Lambda's default).
    pub architectures: Option<Vec<String>>,
    /// Why Lambda refused it (`errorCode: errorMessage`).
    pub error: String,
}

/// A change worth judging: which consumer, in which account and region, by whom, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub event_id: Option<String>,
    /// The call (`RegisterTaskDefinition`); empty when judged on demand.
    pub event_name: String,
    pub event_time: Option<String>,
    /// The caller's ARN (`userIdentity.arn`), with the service that called for it, if any
    /// (`via cloudformation.amazonaws.com`).
    pub caller: Option<String>,
    /// Where the consumer lives.
    pub scope: RegistryId,
    pub target: Target,
    /// A Lambda CreateFunction / UpdateFunctionCode that Lambda refused for its image (an
    /// index, a wrong media type): nothing changed, so the function's state shows the old
    /// image; the image asked for is judged against the function instead, for the fix.
    pub requested: Option<Requested>,
}

/// What the verdict says about the change that triggered it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeReport {
    /// `None` when judged on demand (the CLI's `consumer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    pub event_time: Option<String>,
    pub caller: Option<String>,
    /// `ECS task definition web:12`.
    pub consumer: String,
}

impl Change {
    pub fn report(&self, consumer: &str) -> ChangeReport {
        ChangeReport {
            event_name: Some(self.event_name.clone()).filter(|n| !n.is_empty()),
            event_time: self.event_time.clone(),
            caller: self.caller.clone(),
            consumer: consumer.to_string(),
        }
    }
}

impl ChangeReport {
    /// `RegisterTaskDefinition at 2026-11-25T10:00:00Z by arn:aws:iam::…:user/dev`; `None`
    /// when judged on demand.
    pub fn line(&self) -> Option<String> {
        let mut s = self.event_name.clone()?;
        if let Some(t) = &self.event_time {
            s.push_str(&format!(" at {t}"));
        }
        if let Some(c) = &self.caller {
            s.push_str(&format!(" by {c}"));
        }
        Some(s)
    }
}

/// What to do with a CloudTrail event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified {
    Judge(Box<Change>),
    /// Not judged, and nothing read, with the reason.
    Skip(String),
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn present(v: &Value, key: &str) -> bool {
    v.get(key).is_some_and(|x| !x.is_null())
}

/// Which consumer a watched call changed, or why it is not judged. A watched call that names
/// no consumer at all is malformed input (an error, so it ends in the dead-letter queue).
pub fn classify(event: &CloudTrailEvent) -> Result<Classified, Error> {
    use Classified::Skip;
    let d = &event.detail;
    let source = text(d, &["eventSource"]).unwrap_or("");
    let name = text(d, &["eventName"]).unwrap_or("");
    if event.detail_type != DETAIL_TYPE
        || !WATCHED
            .iter()
            .any(|(s, es, n)| *s == event.source && *es == source && *n == name)
    {
        return Ok(Skip(format!(
            "not a watched consumer change (source {:?}, detail-type {:?}, eventName {name:?})",
            event.source, event.detail_type
        )));
    }
    let req = d.get("requestParameters").unwrap_or(&Value::Null);
    let resp = d.get("responseElements").unwrap_or(&Value::Null);
    let error = text(d, &["errorCode"]).map(|code| {
        let msg = text(d, &["errorMessage"]).unwrap_or("");
        format!("{code}: {msg}").trim_end_matches(": ").to_string()
    });
    let missing = |what: &str| {
        Error::Malformed(format!(
            "{source} {name} event names no {what} (neither requestParameters nor responseElements)"
        ))
    };
    let mut requested = None;
    let target = match (source, name) {
        ("ecs.amazonaws.com", _) => match ecs::target(name, req, resp, error.as_deref())? {
            Ok(target) => target,
            Err(skip) => return Ok(Skip(skip)),
        },
        ("lambda.amazonaws.com", _) => match lambda::target(name, req, resp, error.as_deref())? {
            Ok((target, asked)) => {
                requested = asked;
                target
            }
            Err(skip) => return Ok(Skip(skip)),
        },
        ("apprunner.amazonaws.com", "UpdateService") if !present(req, "sourceConfiguration") => {
            return Ok(Skip(
                "App Runner UpdateService without sourceConfiguration (instance, scaling, \
                 network or health settings only): the image is unchanged, nothing read"
                    .into(),
            ))
        }
        // A service built from source code (App Runner API Reference, SourceConfiguration:
        // CodeRepository or ImageRepository, one of them) runs no image of a registry.
        ("apprunner.amazonaws.com", _)
            if present(&req["sourceConfiguration"], "codeRepository")
                && !present(&req["sourceConfiguration"], "imageRepository") =>
        {
            return Ok(Skip(format!(
                "App Runner {name} of a source-code service (sourceConfiguration.codeRepository): \
                 no container image of a registry involved, nothing read"
            )))
        }
        ("apprunner.amazonaws.com", _) => Target::AppRunnerService(
            text(resp, &["service", "serviceArn"])
                .or_else(|| text(req, &["serviceArn"]))
                .ok_or_else(|| missing("service"))?
                .to_string(),
        ),
        ("batch.amazonaws.com", _) => Target::BatchJobDefinition(
            text(resp, &["jobDefinitionArn"])
                .or_else(|| text(req, &["jobDefinitionName"]))
                .ok_or_else(|| missing("job definition"))?
                .to_string(),
        ),
        // WATCHED holds only the calls above; a call added there without its arm is refused,
        // never a panic.
        _ => {
            return Err(Error::Malformed(format!(
                "{source} {name} is watched but has no reader"
            )))
        }
    };
    if let (Some(e), None) = (&error, &requested) {
        return Ok(Skip(format!("{name} failed ({e}): nothing changed")));
    }
    let caller = text(d, &["userIdentity", "arn"]).map(|arn| {
        match text(d, &["userIdentity", "invokedBy"]) {
            Some(by) => format!("{arn} via {by}"),
            None => arn.to_string(),
        }
    });
    let account = text(d, &["recipientAccountId"]).or(event.account.as_deref());
    let region = text(d, &["awsRegion"]).or(event.region.as_deref());
    Ok(Classified::Judge(Box::new(Change {
        event_id: event.id.clone(),
        event_name: name.to_string(),
        event_time: text(d, &["eventTime"]).map(str::to_string),
        caller,
        scope: RegistryId::new(account, region),
        target,
        requested,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(source: &str, detail: Value) -> CloudTrailEvent {
        serde_json::from_value(serde_json::json!({
            "version": "0", "id": "ev-1", "detail-type": DETAIL_TYPE, "source": source,
            "account": "123456789012", "time": "2026-11-25T10:00:00Z", "region": "us-east-1",
            "resources": [], "detail": detail
        }))
        .unwrap()
    }

    #[test]
    fn failed_calls_and_unwatched_ones_are_skipped_and_malformed_ones_are_errors() {
        let e = event(
            "aws.ecs",
            serde_json::json!({"eventSource": "ecs.amazonaws.com", "eventName": "RegisterTaskDefinition",
              "errorCode": "ClientException", "errorMessage": "bad", "requestParameters": {"family": "web"}}),
        );
        assert!(
            matches!(classify(&e).unwrap(), Classified::Skip(r) if r.contains("ClientException"))
        );
        let e = event(
            "aws.ecs",
            serde_json::json!({"eventSource": "ecs.amazonaws.com", "eventName": "DeleteService"}),
        );
        assert!(matches!(classify(&e).unwrap(), Classified::Skip(_)));
        let e = event(
            "aws.ecs",
            serde_json::json!({"eventSource": "ecs.amazonaws.com", "eventName": "RegisterTaskDefinition"}),
        );
        assert!(classify(&e).is_err());
    }

    /// App Runner's SourceConfiguration holds a CodeRepository or an ImageRepository (App
    /// Runner API Reference): a source-code service runs no registry image, so its record is
    /// enough to skip it.
    #[test]
    fn a_source_code_app_runner_service_is_skipped_unread() {
        let runner = |name: &str, source: Value| {
            classify(&event(
                "aws.apprunner",
                serde_json::json!({"eventSource": "apprunner.amazonaws.com", "eventName": name,
                  "requestParameters": {"serviceName": "web", "sourceConfiguration": source},
                  "responseElements": {"service": {"serviceArn": "arn:aws:apprunner:us-east-1:123456789012:service/web/1"}}}),
            ))
            .unwrap()
        };
        let code = serde_json::json!({"codeRepository": {"repositoryUrl": "https://github.com/o/r",
            "sourceCodeVersion": {"type": "BRANCH", "value": "main"}}});
        assert!(
            matches!(runner("CreateService", code.clone()), Classified::Skip(r) if r.contains("codeRepository"))
        );
        assert!(matches!(runner("UpdateService", code), Classified::Skip(_)));
        let image = serde_json::json!({"imageRepository": {"imageIdentifier":
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1", "imageRepositoryType": "ECR"}});
        assert!(matches!(
            runner("CreateService", image),
            Classified::Judge(_)
        ));
    }

    #[test]
    fn a_refused_lambda_image_update_is_judged_with_the_image_it_asked_for() {
        let e = event(
            "aws.lambda",
            serde_json::json!({"eventSource": "lambda.amazonaws.com", "eventName": "UpdateFunctionCode20150331v2",
              "errorCode": "InvalidParameterValueException",
              "errorMessage": "The image manifest or layer media type for the source image is not supported.",
              "requestParameters": {"functionName": "fn", "imageUri": "111122223333.dkr.ecr.us-east-1.amazonaws.com/r:1"}}),
        );
        let Classified::Judge(c) = classify(&e).unwrap() else {
            panic!("judged")
        };
        let r = c.requested.unwrap();
        assert_eq!(r.image, "111122223333.dkr.ecr.us-east-1.amazonaws.com/r:1");
        assert!(r
            .error
            .starts_with("InvalidParameterValueException: The image manifest"));
    }
}
