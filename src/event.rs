//! The EventBridge "ECR Image Action" event, and which ones are worth inspecting.
//!
//! `aws_lambda_events` has no ECR push type, so the detail is our own kebab-case struct inside
//! [`EventBridgeEvent`]. Every detail field is optional, so other ECR events (referrer,
//! replication, scan) still parse and are skipped with a reason instead of failing the
//! invocation.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::Error;
use crate::manifest::media_type;

/// The `detail` of an `ECR Image Action` event.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct EcrImageAction {
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub repository_name: Option<String>,
    #[serde(default)]
    pub image_digest: Option<String>,
    #[serde(default)]
    pub action_type: Option<String>,
    /// Present and `""` for an untagged push (a child of a multi-platform push).
    #[serde(default)]
    pub image_tag: Option<String>,
    #[serde(default)]
    pub manifest_media_type: Option<String>,
    #[serde(default)]
    pub artifact_media_type: Option<String>,
}

/// The Lambda's input.
pub type EcrEvent = EventBridgeEvent<EcrImageAction>;

pub const SOURCE: &str = "aws.ecr";
pub const DETAIL_TYPE: &str = "ECR Image Action";

/// A push worth inspecting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    pub event_id: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub repository: String,
    pub digest: Digest,
    /// `None` for an untagged push.
    pub tag: Option<String>,
    pub manifest_media_type: Option<String>,
}

impl Push {
    /// Whether the event says this is a single-image manifest (not an index). `None` when the
    /// event does not carry the media type (older events): the manifest must be read to know.
    pub fn is_single_manifest(&self) -> Option<bool> {
        self.manifest_media_type
            .as_deref()
            .filter(|m| !m.is_empty())
            .map(|m| !media_type::is_index(m))
    }
}

/// What to do with an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classified {
    Inspect(Push),
    /// Not inspected, with the reason.
    Skip(String),
}

/// Either a push to inspect or the reason it is skipped. A successful push event without a
/// repository or with an invalid digest is malformed input: an error, not a silent skip.
pub fn classify(event: &EcrEvent) -> Result<Classified, Error> {
    use Classified::Skip;
    if event.source != SOURCE || event.detail_type != DETAIL_TYPE {
        return Ok(Skip(format!(
            "not an ECR image action (source {:?}, detail-type {:?})",
            event.source, event.detail_type
        )));
    }
    let d = &event.detail;
    let action = d.action_type.as_deref().unwrap_or("");
    if action != "PUSH" {
        return Ok(Skip(format!("action-type {action:?} is not PUSH")));
    }
    let result = d.result.as_deref().unwrap_or("");
    if result != "SUCCESS" {
        return Ok(Skip(format!("push result {result:?} is not SUCCESS")));
    }
    let repository = d
        .repository_name
        .clone()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| Error::Malformed("ECR push event has no repository-name".into()))?;
    let raw_digest = d.image_digest.as_deref().unwrap_or("");
    let digest = Digest::parse(raw_digest)
        .map_err(|e| Error::Malformed(format!("ECR push event has no usable image-digest: {e}")))?;
    Ok(Classified::Inspect(Push {
        event_id: event.id.clone(),
        account: event.account.clone(),
        region: event.region.clone(),
        repository,
        digest,
        tag: d.image_tag.clone().filter(|t| !t.is_empty()),
        manifest_media_type: d.manifest_media_type.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(detail: serde_json::Value) -> EcrEvent {
        serde_json::from_value(serde_json::json!({
            "detail-type": "ECR Image Action", "source": "aws.ecr", "id": "e1",
            "account": "123456789012", "region": "eu-west-1", "detail": detail
        }))
        .unwrap()
    }

    #[test]
    fn push_with_unknown_fields_and_missing_optional_ones_is_inspected() {
        let e = ev(serde_json::json!({
            "result": "SUCCESS", "repository-name": "team/app", "action-type": "PUSH",
            "image-digest": format!("sha256:{}", "a".repeat(64)), "image-tag": "", "new-field": 1
        }));
        let Classified::Inspect(p) = classify(&e).unwrap() else {
            panic!("inspected")
        };
        assert_eq!(p.repository, "team/app");
        assert_eq!(p.tag, None, "empty tag = untagged");
        assert_eq!(p.is_single_manifest(), None, "no media type in the event");
    }

    #[test]
    fn non_push_and_failures_are_skipped_and_broken_pushes_are_errors() {
        let skip = |d| matches!(classify(&ev(d)).unwrap(), Classified::Skip(_));
        assert!(skip(
            serde_json::json!({"result": "SUCCESS", "action-type": "DELETE"})
        ));
        assert!(skip(
            serde_json::json!({"result": "FAILURE", "action-type": "PUSH"})
        ));
        assert!(skip(serde_json::json!({})));
        assert!(classify(&ev(
            serde_json::json!({"result": "SUCCESS", "action-type": "PUSH"})
        ))
        .is_err());
        assert!(classify(&ev(serde_json::json!({
            "result": "SUCCESS", "action-type": "PUSH", "repository-name": "r", "image-digest": "sha256:12"
        })))
        .is_err());
    }
}
