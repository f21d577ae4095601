//! The ECR events the guard receives, and which ones are worth inspecting.
//!
//! - `ECR Image Action`, action-type `PUSH`, result `SUCCESS`: an image pushed.
//! - `ECR Replication Action`, action-type `REPLICATE`, result `SUCCESS`: an image that
//!   replication copied into this account and region (the event is sent in the destination,
//!   with `source-account` and `source-region`). Judged here against this region's own policy;
//!   [`crate::handler::settings::Replication`] decides whether it alerts again.
//! - `ECR Pull Through Cache Action`: skipped, see [`PULL_THROUGH_CACHE_REASON`].
//!
//! Shapes from AWS's documented samples ("Amazon ECR events and EventBridge", ECR User
//! Guide; copies in `tests/fixtures`, sources in `tests/fixtures/SOURCES.md`).
//! `aws_lambda_events` has no ECR type, so the detail is our own kebab-case struct inside
//! [`EventBridgeEvent`]. Every detail field is optional, so every ECR event (referrer, scan,
//! archival) still parses and is skipped with a reason instead of failing the invocation.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};

use crate::image::digest::Digest;
use crate::image::media_type::{self, MediaType};
use crate::image::{Image, RegistryId, Repository};
use crate::util::error::Error;

/// The `detail` of an `ECR Image Action` or `ECR Replication Action` event (other ECR events
/// parse into it too, with the fields they share).
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
    /// Replication: the account the image was replicated from.
    #[serde(default)]
    pub source_account: Option<String>,
    /// Replication: the region the image was replicated from.
    #[serde(default)]
    pub source_region: Option<String>,
}

/// The Lambda's input.
pub type EcrEvent = EventBridgeEvent<EcrImageAction>;

pub const SOURCE: &str = "aws.ecr";
pub const DETAIL_TYPE: &str = "ECR Image Action";
pub const REPLICATION_DETAIL_TYPE: &str = "ECR Replication Action";
pub const PULL_THROUGH_CACHE_DETAIL_TYPE: &str = "ECR Pull Through Cache Action";

/// Why pull-through-cache events are not judged: ECR sends one when a pull of an upstream
/// image (Docker Hub, ECR Public, ...) through the cache is attempted, so the consumer that
/// pulled it is already starting it: nothing can be prevented any more; the cached image is the
/// upstream's own, chosen by whoever references it; and a re-sync sends the event again.
/// `scan` audits cached repositories like any other.
pub const PULL_THROUGH_CACHE_REASON: &str =
    "pull-through-cache sync: the image arrives when a consumer already pulls it, so \
     there is nothing left to prevent; not judged (ecr-arch-guard scan audits cached repositories)";

/// How an image arrived in the repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Origin {
    /// Pushed (or judged on demand by the CLI).
    #[default]
    Push,
    /// Copied here by ECR replication from another region and/or account.
    Replication {
        source_account: Option<String>,
        source_region: Option<String>,
    },
}

impl Origin {
    /// `replicated from 111111111111 (us-west-2)`, for reasons and warnings.
    pub fn describe(&self) -> Option<String> {
        match self {
            Origin::Push => None,
            Origin::Replication {
                source_account,
                source_region,
            } => Some(format!(
                "replicated from {} ({})",
                source_account.as_deref().unwrap_or("another account"),
                source_region.as_deref().unwrap_or("another region")
            )),
        }
    }
}

/// An image worth inspecting: pushed, replicated here, or named by the CLI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    pub event_id: Option<String>,
    /// Always with its digest (see [`Push::new`]); `tag` `None` for an untagged push.
    pub image: Image,
    pub origin: Origin,
}

impl Push {
    /// `None` when `image` has no digest: a push is always of one digest.
    pub fn new(event_id: Option<String>, image: Image, origin: Origin) -> Option<Push> {
        image.digest.as_ref()?;
        Some(Push {
            event_id,
            image,
            origin,
        })
    }

    /// The pushed digest.
    pub fn digest(&self) -> &Digest {
        self.image
            .digest
            .as_ref()
            .expect("Push::new refuses an image without a digest")
    }

    /// Whether the event says this is a single-image manifest (not an index). `None` when the
    /// event does not carry the media type (older events): the manifest must be read to know.
    pub fn is_single_manifest(&self) -> Option<bool> {
        self.image
            .media_type
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

/// Either an image to inspect (a push, or an image replicated here) or the reason it is
/// skipped. A successful push or replication event without a repository or with an invalid
/// digest is malformed input: an error, not a silent skip.
pub fn classify(event: &EcrEvent) -> Result<Classified, Error> {
    use Classified::Skip;
    let d = &event.detail;
    let action = d.action_type.as_deref().unwrap_or("");
    let result = d.result.as_deref().unwrap_or("");
    let origin = match (event.source.as_str(), event.detail_type.as_str()) {
        (SOURCE, DETAIL_TYPE) => {
            if action != "PUSH" {
                return Ok(Skip(format!("action-type {action:?} is not PUSH")));
            }
            if result != "SUCCESS" {
                return Ok(Skip(format!("push result {result:?} is not SUCCESS")));
            }
            Origin::Push
        }
        (SOURCE, REPLICATION_DETAIL_TYPE) => {
            if action != "REPLICATE" {
                return Ok(Skip(format!(
                    "replication action-type {action:?} is not REPLICATE"
                )));
            }
            if result != "SUCCESS" {
                return Ok(Skip(format!(
                    "replication result {result:?} is not SUCCESS: nothing arrived"
                )));
            }
            Origin::Replication {
                source_account: d.source_account.clone().filter(|a| !a.is_empty()),
                source_region: d.source_region.clone().filter(|r| !r.is_empty()),
            }
        }
        (SOURCE, PULL_THROUGH_CACHE_DETAIL_TYPE) => {
            return Ok(Skip(PULL_THROUGH_CACHE_REASON.to_string()))
        }
        _ => {
            return Ok(Skip(format!(
                "not an ECR image push or replication (source {:?}, detail-type {:?})",
                event.source, event.detail_type
            )))
        }
    };
    let repository = d
        .repository_name
        .clone()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            Error::Malformed(format!(
                "{} event has no repository-name",
                event.detail_type
            ))
        })?;
    let raw_digest = d.image_digest.as_deref().unwrap_or("");
    let digest = Digest::parse(raw_digest).map_err(|e| {
        Error::Malformed(format!(
            "{} event has no usable image-digest: {e}",
            event.detail_type
        ))
    })?;
    let image = Image {
        repository: Repository::new(
            RegistryId::new(event.account.as_deref(), event.region.as_deref()),
            repository,
        ),
        tag: d.image_tag.clone().filter(|t| !t.is_empty()),
        digest: Some(digest),
        media_type: d.manifest_media_type.as_deref().map(MediaType::from),
    };
    Push::new(event.id.clone(), image, origin)
        .map(Classified::Inspect)
        .ok_or_else(|| Error::Malformed("no digest".into()))
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
        assert_eq!(p.image.repository.name, "team/app");
        assert_eq!(p.image.tag, None, "empty tag = untagged");
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

    fn fixture_event(name: &str) -> serde_json::Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    /// AWS's documented samples (tests/fixtures/SOURCES.md): a completed replication is an
    /// image arriving in this region, inspected with where it came from; a failed one and a
    /// pull-through-cache sync are skipped with their reasons. The samples' digests are
    /// placeholders (not 64 hex characters), replaced by a real one.
    #[test]
    fn replication_is_inspected_with_its_origin_and_the_rest_is_skipped() {
        let digest = format!("sha256:{}", "b".repeat(64));
        let mut done = fixture_event("ecr-event-replication-completed.json");
        done["detail"]["image-digest"] = digest.clone().into();
        let e: EcrEvent = serde_json::from_value(done).unwrap();
        let Classified::Inspect(p) = classify(&e).unwrap() else {
            panic!("inspected")
        };
        assert_eq!(p.image.repository.name, "docker-hub/alpine");
        assert_eq!(
            p.image.repository.registry.region.as_deref(),
            Some("us-east-1"),
            "the destination"
        );
        assert_eq!(p.image.tag.as_deref(), Some("3.17.2"));
        assert_eq!(p.is_single_manifest(), None, "no media type: read to know");
        assert_eq!(
            p.origin,
            Origin::Replication {
                source_account: Some("123456789012".into()),
                source_region: Some("us-west-2".into())
            }
        );
        let mut failed = fixture_event("ecr-event-replication-failed.json");
        failed["detail"]["image-digest"] = digest.clone().into();
        let e: EcrEvent = serde_json::from_value(failed).unwrap();
        assert!(matches!(classify(&e).unwrap(), Classified::Skip(r) if r.contains("\"FAILED\"")));
        let e: EcrEvent =
            serde_json::from_value(fixture_event("ecr-event-pull-through-cache.json")).unwrap();
        assert!(
            matches!(classify(&e).unwrap(), Classified::Skip(r) if r == PULL_THROUGH_CACHE_REASON)
        );
        let e: EcrEvent =
            serde_json::from_value(fixture_event("ecr-event-referrer-action-restore.json"))
                .unwrap();
        assert!(matches!(classify(&e).unwrap(), Classified::Skip(_)));
    }
}
