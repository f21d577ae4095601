//! The Guard's own rules, over in-memory ports (no SDK, no HTTP): which events are judged and
//! which skipped, what decides, what is read and how often, the marker tag and its own push
//! event, the alert's contents, and that an alert which cannot be sent fails the invocation.
//! The adapters' exact requests and their error mapping are in `ecr_sns_mocked.rs`.

mod common;

use common::images::{AMD_MANIFEST, ARM_MANIFEST};
use common::memory_ports::{attribute, MemoryRegistry, Outbox, PutAnswer, REPOSITORY};
use common::{event, event_value, fixture, parsed, ARM64_ALERT_SAYS};
use ecr_arch_guard::event::EcrEvent;
use ecr_arch_guard::handler::settings::{Actions, Settings};
use ecr_arch_guard::handler::Guard;
use ecr_arch_guard::image::digest::Digest;
use ecr_arch_guard::image::media_type;
use ecr_arch_guard::image::platform;
use ecr_arch_guard::judge::verdict::{ActionKind, ActionStatus, Verdict, VerdictKind};
use ecr_arch_guard::Error;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ecr-arch-guard-alerts";

fn settings(tag: bool) -> Settings {
    Settings {
        actions: Actions { alert: true, tag },
        alert_topic_arn: Some(TOPIC.into()),
        ..Settings::default()
    }
}

struct World {
    registry: MemoryRegistry,
    outbox: Outbox,
    guard: Guard<MemoryRegistry, Outbox>,
}

impl World {
    fn new(settings: Settings) -> World {
        World::over(MemoryRegistry::new(), settings)
    }

    fn over(registry: MemoryRegistry, settings: Settings) -> World {
        let outbox = Outbox::default();
        let guard = Guard::new(settings, registry.clone(), outbox.clone());
        World {
            registry,
            outbox,
            guard,
        }
    }

    async fn handle(&self, e: &EcrEvent) -> Verdict {
        self.guard.handle(e).await.unwrap()
    }

    /// `[manifests, blobs, repository tags, puts, alerts]` so far.
    fn calls(&self) -> [usize; 5] {
        let [m, b, t, p] = self.registry.calls();
        [m, b, t, p, self.outbox.attempts()]
    }
}

#[tokio::test]
async fn an_arm64_only_push_is_read_once_and_alerts_once_with_the_fix() {
    let w = World::new(settings(false));
    let v = w.handle(&event("push-arm64-only-tagged.json")).await;
    assert_eq!(v.verdict, VerdictKind::Mismatch);
    assert_eq!(platform::join(&v.platforms), "linux/arm64");
    assert_eq!(platform::join(&v.missing), "linux/amd64");
    assert_eq!(v.required_from.unwrap().to_string(), "default");
    // The manifest, the config, the repository's tags once; one alert; no tag.
    assert_eq!(w.calls(), [1, 1, 1, 0, 1]);

    let sent = w.outbox.sent();
    let alert = &sent[0];
    assert_eq!(alert.subject, "arm64-only image pushed: grafana:latest");
    for needle in ARM64_ALERT_SAYS {
        assert!(
            alert.body.contains(needle),
            "lacks {needle:?}:\n{}",
            alert.body
        );
    }
    assert_eq!(attribute(alert, "verdict").as_deref(), Some("mismatch"));
    assert_eq!(attribute(alert, "repository").as_deref(), Some(REPOSITORY));
    assert_eq!(attribute(alert, "architectures").as_deref(), Some("arm64"));
    assert_eq!(v.actions.len(), 1);
    assert_eq!(v.actions[0].status, ActionStatus::Sent);
}

#[tokio::test]
async fn a_multi_platform_index_fits_from_the_index_alone() {
    let w = World::new(settings(true));
    let v = w.handle(&event("push-multi-platform-index.json")).await;
    assert_eq!(v.verdict, VerdictKind::Fits, "{v:?}");
    // The index carries every platform: no child, no config read; no action.
    assert_eq!(w.calls(), [1, 0, 1, 0, 0]);
}

#[tokio::test]
async fn a_multi_platform_mismatch_lists_every_architecture_for_filter_policies() {
    let mut s = settings(false);
    s.required = platform::parse_list("linux/loong64").unwrap();
    let w = World::new(s);
    let v = w.handle(&event("push-multi-platform-index.json")).await;
    assert_eq!(v.verdict, VerdictKind::Mismatch, "{v:?}");
    // One element per architecture, sorted, so `{"architectures": ["arm64"]}` matches it.
    assert_eq!(
        attribute(&w.outbox.sent()[0], "architectures").as_deref(),
        Some("386,amd64,arm,arm64,mips64le,ppc64le,riscv64,s390x")
    );
}

#[tokio::test]
async fn the_marker_goes_on_the_same_digest_before_the_alert_and_never_twice() {
    let w = World::new(settings(true));
    let e = event("push-arm64-only-tagged.json");
    let v = w.handle(&e).await;
    let puts = w.registry.puts();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].repository, REPOSITORY);
    assert_eq!(puts[0].tag, "latest-arm64-only");
    assert_eq!(Some(puts[0].digest.to_string()), e.detail.image_digest);
    assert_eq!(puts[0].media_type.as_str(), media_type::OCI_MANIFEST);
    assert_eq!(puts[0].manifest, fixture(ARM_MANIFEST), "the exact bytes");
    assert_eq!(v.actions[0].action, ActionKind::Tag);
    assert_eq!(v.actions[0].status, ActionStatus::Tagged);
    assert_eq!(v.actions[1].action, ActionKind::Alert);
    assert!(w.outbox.sent()[0].body.contains("latest-arm64-only"));

    // EventBridge delivers at least once: the same event again does nothing more.
    let again = w.handle(&e).await;
    assert!(again.reason.unwrap().contains("duplicate delivery"));
    assert_eq!(w.calls(), [1, 1, 1, 1, 1]);

    // The marker's own push event (warm, in the environment that tagged it): free.
    let marker = w.handle(&event("push-marker-tag.json")).await;
    assert_eq!(marker.verdict, VerdictKind::Skipped);
    assert!(marker.reason.unwrap().contains("marker tag of this image"));
    assert_eq!(w.calls(), [1, 1, 1, 1, 1]);

    // Cold (another environment): the image is read to know the marker is its own; no tag,
    // no alert, no policy read.
    let cold = World::new(settings(true));
    let v = cold.handle(&event("push-marker-tag.json")).await;
    assert_eq!(v.verdict, VerdictKind::Skipped);
    assert_eq!(cold.calls(), [1, 1, 0, 0, 0]);
}

#[tokio::test]
async fn a_tag_that_already_exists_or_fails_is_reported_and_the_alert_still_goes_out() {
    let w = World::new(settings(true));
    w.registry.answer_puts(PutAnswer::AlreadyTagged);
    let v = w.handle(&event("push-arm64-only-tagged.json")).await;
    assert_eq!(v.actions[0].status, ActionStatus::AlreadyTagged);
    assert_eq!(v.actions[1].status, ActionStatus::Sent);

    let w = World::new(settings(true));
    w.registry.answer_puts(PutAnswer::Fails(
        "tag invalid: the repository is immutable".into(),
    ));
    let v = w.handle(&event("push-arm64-only-tagged.json")).await;
    assert_eq!(v.verdict, VerdictKind::Mismatch);
    assert_eq!(v.actions[0].status, ActionStatus::Failed);
    assert!(v.actions[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("immutable"));
    assert_eq!(v.actions[1].status, ActionStatus::Sent);
    assert!(w.outbox.sent()[0].body.contains("Marker tag: failed"));
}

#[tokio::test]
async fn skipped_events_cost_no_call() {
    let w = World::new(settings(true));
    for (name, why) in [
        ("push-untagged-child.json", "untagged"),
        ("delete.json", "DELETE"),
        ("push-failure.json", "FAILURE"),
        ("pull-through-cache.json", "pull-through-cache"),
    ] {
        let v = w.handle(&event(name)).await;
        assert_eq!(v.verdict, VerdictKind::Skipped, "{name}");
        assert!(v.reason.as_deref().unwrap().contains(why), "{name}: {v:?}");
    }
    // AWS's own documented samples (tests/fixtures/SOURCES.md).
    for (name, why) in [
        (
            "ecr-event-referrer-action-restore.json",
            "not an ECR image push or replication",
        ),
        ("ecr-event-replication-failed.json", "\"FAILED\""),
        ("ecr-event-pull-through-cache.json", "pull-through-cache"),
    ] {
        let e: EcrEvent = serde_json::from_slice(&fixture(name)).unwrap();
        let v = w.handle(&e).await;
        assert_eq!(v.verdict, VerdictKind::Skipped, "{name}");
        assert!(v.reason.unwrap().contains(why), "{name}");
    }
    assert_eq!(w.calls(), [0, 0, 0, 0, 0]);
}

#[tokio::test]
async fn an_untagged_push_costs_one_read_without_a_media_type_and_is_judged_when_asked() {
    let mut e = event_value("push-untagged-child.json");
    e["detail"]
        .as_object_mut()
        .unwrap()
        .remove("manifest-media-type");
    let w = World::new(settings(false));
    let v = w.handle(&parsed(e)).await;
    assert_eq!(v.verdict, VerdictKind::Skipped);
    assert_eq!(
        w.calls(),
        [1, 0, 0, 0, 0],
        "only the manifest, to see it is a child"
    );

    let w = World::new(Settings {
        inspect_untagged: true,
        ..settings(false)
    });
    let v = w.handle(&event("push-untagged-child.json")).await;
    assert_eq!(v.verdict, VerdictKind::Fits);
    assert_eq!(v.tag, None);
}

#[tokio::test]
async fn an_untagged_arm64_push_gets_a_digest_marker() {
    let w = World::new(Settings {
        inspect_untagged: true,
        ..settings(true)
    });
    let mut e = event_value("push-arm64-only-tagged.json");
    e["detail"]["image-tag"] = "".into();
    let v = w.handle(&parsed(e)).await;
    assert_eq!(v.verdict, VerdictKind::Mismatch);
    assert_eq!(w.registry.puts()[0].tag, "411caf340c82-arm64-only");
    assert!(w.outbox.sent()[0]
        .subject
        .contains("grafana@sha256:411caf34"));
}

#[tokio::test]
async fn the_repository_tag_decides_first_and_is_read_once_per_ttl() {
    let w = World::new(settings(false));
    w.registry
        .set_repository_tag("ecr-arch-guard:platforms", "linux/arm64");
    let v = w.handle(&event("push-arm64-only-tagged.json")).await;
    assert_eq!(v.verdict, VerdictKind::Fits);
    assert_eq!(v.required_from.unwrap().to_string(), "repository-tag");
    let v = w.handle(&event("push-multi-platform-index.json")).await;
    assert_eq!(v.verdict, VerdictKind::Fits);
    assert_eq!(w.calls()[2], 1, "one read per repository per TTL");

    let w = World::new(settings(false));
    w.registry
        .set_repository_tag("ecr-arch-guard:platforms", "off");
    let v = w.handle(&event("push-arm64-only-tagged.json")).await;
    assert_eq!(v.verdict, VerdictKind::Skipped);
    assert_eq!(w.outbox.attempts(), 0);

    let w = World::new(settings(false));
    w.registry
        .set_repository_tag("ecr-arch-guard:platforms", "arm64");
    let v = w.handle(&event("push-arm64-only-tagged.json")).await;
    assert_eq!(
        v.verdict,
        VerdictKind::Mismatch,
        "unreadable: the default decides"
    );
    assert!(v.warnings[0].contains("invalid"));
}

/// AWS tag values allow letters, digits, spaces and `+ - = . _ : / @` (no comma), and the AWS
/// CLI shorthand splits `Value=a,b` as a list: `linux/amd64 linux/arm64` and
/// `linux/amd64+linux/arm64` are how a user writes two platforms, and both must be read.
#[tokio::test]
async fn repository_tag_values_separated_by_spaces_or_plus_are_read() {
    let amd64 = Digest::of(&fixture(AMD_MANIFEST)).to_string();
    let mut e = event_value("push-arm64-only-tagged.json");
    e["detail"]["image-digest"] = amd64.into();
    let e = parsed(e);
    for value in [
        "linux/amd64 linux/arm64",
        "linux/amd64+linux/arm64",
        "linux/amd64,linux/arm64",
        " linux/amd64 + linux/arm64 ",
    ] {
        let w = World::new(settings(false));
        w.registry
            .set_repository_tag("ecr-arch-guard:platforms", value);
        let v = w.handle(&e).await;
        assert_eq!(v.verdict, VerdictKind::Mismatch, "{value:?}: {v:?}");
        assert_eq!(v.required_from.unwrap().to_string(), "repository-tag");
        assert_eq!(platform::join(&v.missing), "linux/arm64", "{value:?}");
        assert!(v.warnings.is_empty(), "{value:?}: {:?}", v.warnings);
    }
    // A value the guard cannot read is never dropped silently: the verdict says so.
    let w = World::new(settings(false));
    w.registry
        .set_repository_tag("ecr-arch-guard:platforms", "linux/amd64 arm64");
    let v = w.handle(&e).await;
    assert_eq!(v.required_from.unwrap().to_string(), "default");
    assert!(
        v.warnings[0].contains("\"linux/amd64 arm64\"") && v.warnings[0].contains("ignored"),
        "{:?}",
        v.warnings
    );
}

#[tokio::test]
async fn rules_decide_when_the_repository_has_no_tag() {
    let w = World::new(Settings {
        rules: ecr_arch_guard::judge::policy::parse_rules("graf*=linux/arm64").unwrap(),
        ..settings(false)
    });
    let v = w.handle(&event("push-arm64-only-tagged.json")).await;
    assert_eq!(v.verdict, VerdictKind::Fits);
    assert_eq!(v.required_from.unwrap().to_string(), "rule:graf*");
}

#[tokio::test]
async fn a_digest_is_read_once_per_warm_environment_and_each_new_tag_alerts() {
    let w = World::new(settings(false));
    let mut e = event_value("push-arm64-only-tagged.json");
    w.handle(&parsed(e.clone())).await;
    e["id"] = "another-event".into();
    e["detail"]["image-tag"] = "stable".into();
    let v = w.handle(&parsed(e)).await;
    assert_eq!(v.verdict, VerdictKind::Mismatch);
    assert_eq!(w.calls(), [1, 1, 1, 0, 2]);
}

#[tokio::test]
async fn an_image_deleted_before_it_is_read_is_skipped_without_an_alert() {
    let w = World::new(settings(false));
    let mut e = event_value("push-arm64-only-tagged.json");
    e["detail"]["image-digest"] = Digest::of(b"gone").to_string().into();
    let v = w.handle(&parsed(e)).await;
    assert_eq!(v.verdict, VerdictKind::Skipped);
    assert!(v.reason.unwrap().contains("deleted"));

    let w = World::over(MemoryRegistry::without_configs(), settings(false));
    let v = w.handle(&event("push-arm64-only-tagged.json")).await;
    assert_eq!(
        v.verdict,
        VerdictKind::Skipped,
        "its config went mid-flight"
    );
    assert_eq!(w.outbox.attempts(), 0);
}

/// Nothing is lost: an alert that cannot be sent fails the invocation (Lambda retries it, then
/// the event goes to the dead-letter queue), and the retry is not taken for a duplicate.
#[tokio::test]
async fn an_alert_that_cannot_be_sent_fails_the_invocation_and_the_retry_sends_it() {
    let w = World::new(settings(true));
    w.outbox.fail(true);
    let e = event("push-arm64-only-tagged.json");
    let err = w.guard.handle(&e).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(w.outbox.attempts(), 1);

    w.outbox.fail(false);
    let v = w.handle(&e).await;
    assert_eq!(v.verdict, VerdictKind::Mismatch);
    assert_eq!(w.outbox.sent().len(), 1, "the retry sends the alert");
    assert_eq!(
        w.registry.puts().len(),
        2,
        "and re-puts the marker (idempotent)"
    );
}

#[tokio::test]
async fn a_malformed_push_event_is_a_clear_error() {
    let w = World::new(settings(false));
    // AWS's documentation sample has a placeholder digest that is not 64 hex characters.
    let e: EcrEvent = serde_json::from_slice(&fixture("ecr-event-push-tagged.json")).unwrap();
    let err = w.guard.handle(&e).await.unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{err}");
    assert!(err.to_string().contains("image-digest"));
    assert_eq!(w.calls(), [0, 0, 0, 0, 0]);
}
