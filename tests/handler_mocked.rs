//! The Lambda handler against aws-smithy-mocks ECR and SNS clients: exact requests, call counts
//! per event kind, alert contents, PutImage arguments, each skip and each error path.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput;
use aws_sdk_ecr::operation::get_download_url_for_layer::{
    GetDownloadUrlForLayerError, GetDownloadUrlForLayerOutput,
};
use aws_sdk_ecr::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_ecr::operation::put_image::{PutImageError, PutImageOutput};
use aws_sdk_ecr::types::error::{
    ImageAlreadyExistsException, ImageTagAlreadyExistsException, LayerInaccessibleException,
};
use aws_sdk_ecr::types::{Image, ImageFailure, ImageFailureCode, ImageIdentifier, Tag};
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::body::SdkBody;
use common::fixture;
use common::http::BlobServer;
use common::images::{ARM_CONFIG, ARM_MANIFEST, INDEX};
use ecr_arch_guard::aws::download::Download;
use ecr_arch_guard::aws::ecr::Ecr;
use ecr_arch_guard::aws::sns::Sns;
use ecr_arch_guard::digest::Digest;
use ecr_arch_guard::event::EcrEvent;
use ecr_arch_guard::handler::Guard;
use ecr_arch_guard::media_type;
use ecr_arch_guard::platform;
use ecr_arch_guard::settings::{Actions, Settings};
use ecr_arch_guard::verdict::{Verdict, VerdictKind};
use ecr_arch_guard::Error;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ecr-arch-guard-alerts";

fn event(name: &str) -> EcrEvent {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn event_json(v: serde_json::Value) -> EcrEvent {
    serde_json::from_value(v).unwrap()
}

#[derive(Clone, Debug)]
struct Published {
    subject: String,
    message: String,
    /// name -> (SNS data type, value)
    attributes: HashMap<String, (String, String)>,
}

impl Published {
    fn attribute(&self, name: &str) -> (&str, &str) {
        let (t, v) = &self.attributes[name];
        (t.as_str(), v.as_str())
    }
}

#[derive(Clone, Debug)]
struct PutCall {
    repository: String,
    tag: String,
    digest: String,
    media_type: String,
    manifest: String,
}

/// An ECR that holds real documents, and an SNS topic, both mocked.
struct World {
    manifests: Arc<HashMap<String, (Vec<u8>, String)>>,
    urls: Arc<HashMap<String, String>>,
    blobs: BlobServer,
    repo_tags: Vec<(String, String)>,
    published: Arc<Mutex<Vec<Published>>>,
    puts: Arc<Mutex<Vec<PutCall>>>,
}

impl World {
    fn new() -> World {
        let blobs = BlobServer::start();
        let mut manifests = HashMap::new();
        let mut urls = HashMap::new();
        for (name, mt) in [
            (ARM_MANIFEST, media_type::OCI_MANIFEST),
            (INDEX, media_type::OCI_INDEX),
            (
                "oci-manifest-hello-world-amd64-dockerhub.json",
                media_type::OCI_MANIFEST,
            ),
        ] {
            let bytes = fixture(name);
            manifests.insert(Digest::of(&bytes).to_string(), (bytes, mt.to_string()));
        }
        for name in [
            ARM_CONFIG,
            "image-config-hello-world-amd64-oci-dockerhub.json",
        ] {
            let bytes = fixture(name);
            let d = Digest::of(&bytes).to_string();
            urls.insert(d.clone(), blobs.put(&d, &bytes));
        }
        World {
            manifests: Arc::new(manifests),
            urls: Arc::new(urls),
            blobs,
            repo_tags: Vec::new(),
            published: Arc::default(),
            puts: Arc::default(),
        }
    }

    fn batch_get_image(&self) -> Rule {
        let manifests = self.manifests.clone();
        mock!(aws_sdk_ecr::Client::batch_get_image)
            .match_requests(|r| {
                // By digest only, never by tag, with every manifest media type accepted.
                let ids = r.image_ids();
                ids.len() == 1
                    && ids[0].image_tag().is_none()
                    && ids[0].image_digest().is_some()
                    && r.repository_name() == Some("grafana")
                    && r.registry_id() == Some("123456789012")
                    && r.accepted_media_types().len() == 5
                    && media_type::ACCEPTED
                        .iter()
                        .all(|m| r.accepted_media_types().iter().any(|a| a == m))
            })
            .then_compute_output(move |r| {
                let digest = r.image_ids()[0].image_digest().unwrap().to_string();
                let id = ImageIdentifier::builder().image_digest(&digest).build();
                match manifests.get(&digest) {
                    Some((bytes, mt)) => BatchGetImageOutput::builder()
                        .images(
                            Image::builder()
                                .image_id(id)
                                .repository_name("grafana")
                                .image_manifest(String::from_utf8(bytes.clone()).unwrap())
                                .image_manifest_media_type(mt)
                                .build(),
                        )
                        .build(),
                    None => BatchGetImageOutput::builder()
                        .failures(
                            ImageFailure::builder()
                                .image_id(id)
                                .failure_code(ImageFailureCode::ImageNotFound)
                                .failure_reason("Requested image not found")
                                .build(),
                        )
                        .build(),
                }
            })
    }

    fn get_download_url(&self) -> Rule {
        let urls = self.urls.clone();
        mock!(aws_sdk_ecr::Client::get_download_url_for_layer)
            .match_requests(|r| {
                r.repository_name() == Some("grafana") && r.layer_digest().is_some()
            })
            .then_compute_response(move |r| match urls.get(r.layer_digest().unwrap()) {
                Some(url) => aws_smithy_mocks::MockResponse::Output(
                    GetDownloadUrlForLayerOutput::builder()
                        .download_url(url)
                        .layer_digest(r.layer_digest().unwrap())
                        .build(),
                ),
                None => aws_smithy_mocks::MockResponse::Error(
                    GetDownloadUrlForLayerError::LayerInaccessibleException(
                        LayerInaccessibleException::builder()
                            .message("layer gone")
                            .build(),
                    ),
                ),
            })
    }

    fn list_tags(&self) -> Rule {
        let tags = self.repo_tags.clone();
        mock!(aws_sdk_ecr::Client::list_tags_for_resource)
            .match_requests(|r| {
                r.resource_arn() == Some("arn:aws:ecr:us-east-1:123456789012:repository/grafana")
            })
            .then_compute_output(move |_| {
                let mut out = ListTagsForResourceOutput::builder();
                for (k, v) in &tags {
                    out = out.tags(Tag::builder().key(k).value(v).build().unwrap());
                }
                out.build()
            })
    }

    fn put_image(&self) -> Rule {
        let puts = self.puts.clone();
        mock!(aws_sdk_ecr::Client::put_image).then_compute_output(move |r| {
            puts.lock().unwrap().push(PutCall {
                repository: r.repository_name().unwrap_or_default().into(),
                tag: r.image_tag().unwrap_or_default().into(),
                digest: r.image_digest().unwrap_or_default().into(),
                media_type: r.image_manifest_media_type().unwrap_or_default().into(),
                manifest: r.image_manifest().unwrap_or_default().into(),
            });
            PutImageOutput::builder().build()
        })
    }

    fn publish(&self) -> Rule {
        let published = self.published.clone();
        mock!(aws_sdk_sns::Client::publish)
            .match_requests(|r| r.topic_arn() == Some(TOPIC))
            .then_compute_output(move |r| {
                let attributes = r
                    .message_attributes()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                let value = v.string_value().unwrap_or_default().to_string();
                                (k.clone(), (v.data_type().to_string(), value))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                published.lock().unwrap().push(Published {
                    subject: r.subject().unwrap_or_default().into(),
                    message: r.message().unwrap_or_default().into(),
                    attributes,
                });
                PublishOutput::builder().message_id("m-1").build()
            })
    }
}

fn settings(actions: Actions) -> Settings {
    Settings {
        actions,
        alert_topic_arn: Some(TOPIC.into()),
        allow_http_downloads: true,
        ..Settings::default()
    }
}

fn alert_only() -> Actions {
    Actions {
        alert: true,
        tag: false,
    }
}

fn alert_and_tag() -> Actions {
    Actions {
        alert: true,
        tag: true,
    }
}

struct Rules {
    bgi: Rule,
    url: Rule,
    tags: Rule,
    put: Rule,
    publish: Rule,
}

impl Rules {
    fn of(w: &World) -> Rules {
        Rules {
            bgi: w.batch_get_image(),
            url: w.get_download_url(),
            tags: w.list_tags(),
            put: w.put_image(),
            publish: w.publish(),
        }
    }

    fn counts(&self) -> [usize; 5] {
        [
            self.bgi.num_calls(),
            self.url.num_calls(),
            self.tags.num_calls(),
            self.put.num_calls(),
            self.publish.num_calls(),
        ]
    }
}

fn guard_with(settings: Settings, ecr_rules: &[&Rule], sns_rules: &[&Rule]) -> Guard<Ecr, Sns> {
    let ecr = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, ecr_rules.iter().copied());
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, sns_rules.iter().copied());
    let download = Download::new(settings.allow_http_downloads).unwrap();
    Guard::new(settings, Ecr::new(ecr, download), Sns::new(sns, TOPIC))
}

fn guard(settings: Settings, r: &Rules) -> Guard<Ecr, Sns> {
    guard_with(settings, &[&r.bgi, &r.url, &r.tags, &r.put], &[&r.publish])
}

fn platforms(v: &Verdict) -> String {
    ecr_arch_guard::platform::join(&v.platforms)
}

#[tokio::test]
async fn arm64_only_tagged_push_alerts_once_with_the_fix_and_minimum_calls() {
    let w = World::new();
    let r = Rules::of(&w);
    let g = guard(settings(alert_only()), &r);
    let v = g
        .handle(&event("push-arm64-only-tagged.json"))
        .await
        .unwrap();
    assert_eq!(v.verdict, VerdictKind::Mismatch);
    assert_eq!(platforms(&v), "linux/arm64");
    assert_eq!(ecr_arch_guard::platform::join(&v.missing), "linux/amd64");
    assert_eq!(v.required_from.as_ref().unwrap().to_string(), "default");
    // BatchGetImage + GetDownloadUrlForLayer + 1 GET; ListTagsForResource; Publish.
    assert_eq!(r.counts(), [1, 1, 1, 0, 1]);
    assert_eq!(w.blobs.count(), 1);

    let published = w.published.lock().unwrap();
    let alert = &published[0];
    assert_eq!(alert.subject, "arm64-only image pushed: grafana:latest");
    assert!(alert.subject.len() <= 100);
    let uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/grafana:latest";
    for needle in [
        uri,
        "exec format error",
        "App Runner",
        "docker pull --platform linux/amd64",
        "docker buildx build --platform linux/amd64,linux/arm64",
        "docker buildx imagetools inspect",
        "\"verdict\": \"mismatch\"",
    ] {
        assert!(
            alert.message.contains(needle),
            "alert lacks {needle:?}:\n{}",
            alert.message
        );
    }
    assert!(
        !alert.message.contains("X-Amz-Signature"),
        "never leak the presigned URL"
    );
    assert_eq!(alert.attribute("verdict"), ("String", "mismatch"));
    assert_eq!(alert.attribute("repository"), ("String", "grafana"));
    assert_eq!(
        alert.attribute("architectures"),
        ("String.Array", r#"["arm64"]"#)
    );
    assert_eq!(v.actions.len(), 1);
    assert_eq!(v.actions[0].status, "sent");
}

#[tokio::test]
async fn multi_platform_index_push_fits_with_one_manifest_read_and_no_alert() {
    let w = World::new();
    let r = Rules::of(&w);
    let g = guard(settings(alert_and_tag()), &r);
    let v = g
        .handle(&event("push-multi-platform-index.json"))
        .await
        .unwrap();
    assert_eq!(v.verdict, VerdictKind::Fits, "{v:?}");
    assert_eq!(r.counts(), [1, 0, 1, 0, 0]);
    assert_eq!(w.blobs.count(), 0);
}

#[tokio::test]
async fn a_multi_platform_mismatch_lists_every_architecture_for_filter_policies() {
    let w = World::new();
    let r = Rules::of(&w);
    let mut s = settings(alert_only());
    s.required = ecr_arch_guard::platform::parse_list("linux/loong64").unwrap();
    let g = guard(s, &r);
    let v = g
        .handle(&event("push-multi-platform-index.json"))
        .await
        .unwrap();
    assert_eq!(v.verdict, VerdictKind::Mismatch, "{v:?}");
    let alert = w.published.lock().unwrap()[0].clone();
    let (data_type, value) = alert.attribute("architectures");
    assert_eq!(data_type, "String.Array");
    let archs: Vec<String> = serde_json::from_str(value).unwrap();
    // One element per architecture, sorted, so `{"architectures": ["arm64"]}` matches it.
    assert_eq!(
        archs,
        ["386", "amd64", "arm", "arm64", "mips64le", "ppc64le", "riscv64", "s390x"]
    );
}

#[tokio::test]
async fn tag_action_puts_the_marker_on_the_same_digest_and_redelivery_does_not_tag_twice() {
    let w = World::new();
    let r = Rules::of(&w);
    let g = guard(settings(alert_and_tag()), &r);
    let e = event("push-arm64-only-tagged.json");
    let v = g.handle(&e).await.unwrap();
    let puts = w.puts.lock().unwrap().clone();
    assert_eq!(puts.len(), 1);
    let put = &puts[0];
    assert_eq!(put.repository, "grafana");
    assert_eq!(put.tag, "latest-arm64-only");
    assert_eq!(put.digest, e.detail.image_digest.clone().unwrap());
    assert_eq!(put.media_type, media_type::OCI_MANIFEST);
    assert_eq!(
        put.manifest.as_bytes(),
        fixture(ARM_MANIFEST),
        "the exact manifest bytes"
    );
    assert_eq!(v.actions[0].status, "tagged");
    assert!(w.published.lock().unwrap()[0]
        .message
        .contains("latest-arm64-only"));

    // The same event again (EventBridge delivers at least once): nothing more happens.
    let again = g.handle(&e).await.unwrap();
    assert!(again.reason.unwrap().contains("duplicate delivery"));
    assert_eq!(r.counts(), [1, 1, 1, 1, 1]);

    // The marker tag's own push event is recognised: no loop.
    let marker = g.handle(&event("push-marker-tag.json")).await.unwrap();
    assert_eq!(marker.verdict, VerdictKind::Skipped);
    assert!(marker.reason.unwrap().contains("marker tag"));
    assert_eq!(r.counts(), [1, 1, 1, 1, 1]);
}

/// The arm64-only push with alert and tag, PutImage answered by `put` (a failure).
async fn arm64_push_where_put_image_fails(put: &Rule) -> (Verdict, World) {
    let w = World::new();
    let r = Rules::of(&w);
    let g = guard_with(
        settings(alert_and_tag()),
        &[&r.bgi, &r.url, &r.tags, put],
        &[&r.publish],
    );
    let v = g
        .handle(&event("push-arm64-only-tagged.json"))
        .await
        .unwrap();
    assert_eq!(
        r.publish.num_calls(),
        1,
        "the alert goes out whatever the tag did"
    );
    (v, w)
}

#[tokio::test]
async fn image_already_exists_means_already_tagged() {
    let put = mock!(aws_sdk_ecr::Client::put_image).then_error(|| {
        PutImageError::ImageAlreadyExistsException(
            ImageAlreadyExistsException::builder()
                .message("exists")
                .build(),
        )
    });
    let (v, _) = arm64_push_where_put_image_fails(&put).await;
    assert_eq!(v.actions[0].status, "already-tagged");
    assert_eq!(v.actions[1].status, "sent");
}

#[tokio::test]
async fn tag_failure_on_an_immutable_repository_is_reported_and_the_alert_still_goes_out() {
    let put = mock!(aws_sdk_ecr::Client::put_image).then_error(|| {
        PutImageError::ImageTagAlreadyExistsException(
            ImageTagAlreadyExistsException::builder()
                .message("immutable")
                .build(),
        )
    });
    let (v, w) = arm64_push_where_put_image_fails(&put).await;
    assert_eq!(v.verdict, VerdictKind::Mismatch);
    assert_eq!(v.actions[0].action, "tag");
    assert_eq!(v.actions[0].status, "failed");
    assert!(v.actions[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("immutable"));
    assert_eq!(v.actions[1].status, "sent");
    assert!(w.published.lock().unwrap()[0]
        .message
        .contains("Marker tag: failed"));
}

#[tokio::test]
async fn skips_cost_no_api_call() {
    let w = World::new();
    let r = Rules::of(&w);
    let g = guard(settings(alert_and_tag()), &r);
    for (name, why) in [
        ("push-untagged-child.json", "untagged"),
        ("delete.json", "DELETE"),
        ("push-failure.json", "FAILURE"),
    ] {
        let v = g.handle(&event(name)).await.unwrap();
        assert_eq!(v.verdict, VerdictKind::Skipped, "{name}");
        assert!(
            v.reason.as_deref().unwrap().contains(why),
            "{name}: {:?}",
            v.reason
        );
    }
    for (name, why) in [
        (
            "ecr-event-referrer-action-restore.json",
            "not an ECR image push or replication",
        ),
        ("ecr-event-replication-failed.json", "\"FAILED\""),
        ("ecr-event-pull-through-cache.json", "pull-through-cache"),
    ] {
        let e: EcrEvent = serde_json::from_slice(&fixture(name)).unwrap();
        let v = g.handle(&e).await.unwrap();
        assert_eq!(v.verdict, VerdictKind::Skipped, "{name}");
        assert!(v.reason.unwrap().contains(why), "{name}");
    }
    assert_eq!(r.counts(), [0, 0, 0, 0, 0]);
}

/// The marker's own push event is recognised exactly (its `{arch}` is this image's): for free
/// in the environment that just tagged it, for the image read in a cold one; never judged,
/// tagged or alerted again.
#[tokio::test]
async fn the_markers_own_push_is_skipped_warm_for_free_and_cold_after_one_read() {
    let w = World::new();
    let r = Rules::of(&w);
    let g = guard(settings(alert_and_tag()), &r);
    let v = g
        .handle(&event("push-arm64-only-tagged.json"))
        .await
        .unwrap();
    assert_eq!(v.actions[0].detail.as_deref(), Some("latest-arm64-only"));
    let before = r.counts();
    let v = g.handle(&event("push-marker-tag.json")).await.unwrap();
    assert_eq!(v.verdict, VerdictKind::Skipped);
    assert!(v.reason.unwrap().contains("marker tag of this image"));
    assert_eq!(r.counts(), before, "warm: no call at all");

    let w = World::new();
    let r = Rules::of(&w);
    let cold = guard(settings(alert_and_tag()), &r);
    let v = cold.handle(&event("push-marker-tag.json")).await.unwrap();
    assert_eq!(v.verdict, VerdictKind::Skipped);
    assert_eq!(
        r.counts(),
        [1, 1, 0, 0, 0],
        "cold: the image read (manifest, config URL), no tag, no alert"
    );
}

#[tokio::test]
async fn untagged_push_without_media_type_costs_one_read_and_inspect_untagged_judges_it() {
    let w = World::new();
    let r = Rules::of(&w);
    let mut e = serde_json::to_value(event("push-untagged-child.json")).unwrap();
    e["detail"]
        .as_object_mut()
        .unwrap()
        .remove("manifest-media-type");
    let g = guard(settings(alert_only()), &r);
    let v = g.handle(&event_json(e.clone())).await.unwrap();
    assert_eq!(v.verdict, VerdictKind::Skipped);
    assert_eq!(r.counts(), [1, 0, 0, 0, 0]);

    let r = Rules::of(&w);
    let g = guard(
        Settings {
            inspect_untagged: true,
            ..settings(alert_only())
        },
        &r,
    );
    let v = g.handle(&event("push-untagged-child.json")).await.unwrap();
    assert_eq!(v.verdict, VerdictKind::Fits);
    assert_eq!(v.tag, None);
}

#[tokio::test]
async fn untagged_arm64_push_by_digest_gets_a_digest_marker_tag() {
    let w = World::new();
    let r = Rules::of(&w);
    let g = guard(
        Settings {
            inspect_untagged: true,
            ..settings(alert_and_tag())
        },
        &r,
    );
    let mut e = serde_json::to_value(event("push-arm64-only-tagged.json")).unwrap();
    e["detail"]["image-tag"] = "".into();
    let v = g.handle(&event_json(e)).await.unwrap();
    assert_eq!(v.verdict, VerdictKind::Mismatch);
    let tag = w.puts.lock().unwrap()[0].tag.clone();
    assert_eq!(tag, "411caf340c82-arm64-only");
    assert!(w.published.lock().unwrap()[0]
        .subject
        .contains("grafana@sha256:411caf34"));
}

#[tokio::test]
async fn repository_tag_decides_and_is_cached() {
    let mut w = World::new();
    w.repo_tags = vec![("ecr-arch-guard:platforms".into(), "linux/arm64".into())];
    let r = Rules::of(&w);
    let g = guard(settings(alert_only()), &r);
    let v = g
        .handle(&event("push-arm64-only-tagged.json"))
        .await
        .unwrap();
    assert_eq!(v.verdict, VerdictKind::Fits);
    assert_eq!(v.required_from.unwrap().to_string(), "repository-tag");
    let v = g
        .handle(&event("push-multi-platform-index.json"))
        .await
        .unwrap();
    assert_eq!(v.verdict, VerdictKind::Fits);
    assert_eq!(
        r.tags.num_calls(),
        1,
        "one ListTagsForResource per repository per TTL"
    );

    let mut w = World::new();
    w.repo_tags = vec![("ecr-arch-guard:platforms".into(), "off".into())];
    let r = Rules::of(&w);
    let g = guard(settings(alert_only()), &r);
    let v = g
        .handle(&event("push-arm64-only-tagged.json"))
        .await
        .unwrap();
    assert_eq!(v.verdict, VerdictKind::Skipped);
    assert_eq!(r.publish.num_calls(), 0);

    let mut w = World::new();
    w.repo_tags = vec![("ecr-arch-guard:platforms".into(), "arm64".into())];
    let r = Rules::of(&w);
    let g = guard(settings(alert_only()), &r);
    let v = g
        .handle(&event("push-arm64-only-tagged.json"))
        .await
        .unwrap();
    assert_eq!(
        v.verdict,
        VerdictKind::Mismatch,
        "an invalid tag is ignored, the default decides"
    );
    assert!(v.warnings[0].contains("invalid"));
}

/// AWS tag values allow letters, digits, spaces and `+ - = . _ : / @` (no comma), and the AWS
/// CLI shorthand splits `Value=a,b` as a list: `linux/amd64 linux/arm64` and
/// `linux/amd64+linux/arm64` are how a user writes two platforms, and both must be read. Before,
/// such a value was dropped for the default, and an amd64-only image passed.
#[tokio::test]
async fn repository_tag_values_separated_by_spaces_or_plus_are_read() {
    let amd64 = Digest::of(&fixture("oci-manifest-hello-world-amd64-dockerhub.json"));
    for value in [
        "linux/amd64 linux/arm64",
        "linux/amd64+linux/arm64",
        "linux/amd64,linux/arm64",
        " linux/amd64 + linux/arm64 ",
    ] {
        let mut w = World::new();
        w.repo_tags = vec![("ecr-arch-guard:platforms".into(), value.into())];
        let r = Rules::of(&w);
        let g = guard(settings(alert_only()), &r);
        let mut e = serde_json::to_value(event("push-arm64-only-tagged.json")).unwrap();
        e["detail"]["image-digest"] = amd64.to_string().into();
        let v = g.handle(&event_json(e)).await.unwrap();
        assert_eq!(v.verdict, VerdictKind::Mismatch, "{value:?}: {v:?}");
        assert_eq!(v.required_from.unwrap().to_string(), "repository-tag");
        assert_eq!(platform::join(&v.missing), "linux/arm64", "{value:?}");
        assert!(v.warnings.is_empty(), "{value:?}: {:?}", v.warnings);
    }
    // A value the guard cannot read is never dropped silently: the verdict says so.
    let mut w = World::new();
    w.repo_tags = vec![(
        "ecr-arch-guard:platforms".into(),
        "linux/amd64 arm64".into(),
    )];
    let r = Rules::of(&w);
    let g = guard(settings(alert_only()), &r);
    let mut e = serde_json::to_value(event("push-arm64-only-tagged.json")).unwrap();
    e["detail"]["image-digest"] = amd64.to_string().into();
    let v = g.handle(&event_json(e)).await.unwrap();
    assert_eq!(v.required_from.unwrap().to_string(), "default");
    assert!(
        v.warnings[0].contains("\"linux/amd64 arm64\"") && v.warnings[0].contains("ignored"),
        "{:?}",
        v.warnings
    );
}

#[tokio::test]
async fn rules_decide_when_the_repository_has_no_tag() {
    let w = World::new();
    let r = Rules::of(&w);
    let s = Settings {
        rules: ecr_arch_guard::policy::parse_rules("graf*=linux/arm64").unwrap(),
        ..settings(alert_only())
    };
    let g = guard(s, &r);
    let v = g
        .handle(&event("push-arm64-only-tagged.json"))
        .await
        .unwrap();
    assert_eq!(v.verdict, VerdictKind::Fits);
    assert_eq!(v.required_from.unwrap().to_string(), "rule:graf*");
}

#[tokio::test]
async fn a_digest_is_read_once_per_warm_environment() {
    let w = World::new();
    let r = Rules::of(&w);
    let g = guard(settings(alert_only()), &r);
    let mut e = serde_json::to_value(event("push-arm64-only-tagged.json")).unwrap();
    g.handle(&event_json(e.clone())).await.unwrap();
    e["id"] = "another-event".into();
    e["detail"]["image-tag"] = "stable".into();
    let v = g.handle(&event_json(e)).await.unwrap();
    assert_eq!(v.verdict, VerdictKind::Mismatch);
    assert_eq!(r.bgi.num_calls(), 1);
    assert_eq!(r.url.num_calls(), 1);
    assert_eq!(w.blobs.count(), 1);
    assert_eq!(
        r.publish.num_calls(),
        2,
        "a new tag on the image is a new alert"
    );
}

#[tokio::test]
async fn image_deleted_before_it_is_read_is_skipped() {
    let w = World::new();
    let r = Rules::of(&w);
    let g = guard(settings(alert_only()), &r);
    let mut e = serde_json::to_value(event("push-arm64-only-tagged.json")).unwrap();
    e["detail"]["image-digest"] = Digest::of(b"gone").to_string().into();
    let v = g.handle(&event_json(e)).await.unwrap();
    assert_eq!(v.verdict, VerdictKind::Skipped);
    assert!(v.reason.unwrap().contains("deleted"));
}

#[tokio::test]
async fn config_layer_inaccessible_mid_flight_is_skipped() {
    let w = World::new();
    let r = Rules::of(&w);
    let url = mock!(aws_sdk_ecr::Client::get_download_url_for_layer).then_error(|| {
        GetDownloadUrlForLayerError::LayerInaccessibleException(
            LayerInaccessibleException::builder().message("x").build(),
        )
    });
    let g = guard_with(
        settings(alert_only()),
        &[&r.bgi, &url, &r.tags],
        &[&r.publish],
    );
    let v = g
        .handle(&event("push-arm64-only-tagged.json"))
        .await
        .unwrap();
    assert_eq!(v.verdict, VerdictKind::Skipped);
    assert_eq!(r.publish.num_calls(), 0);
}

fn http_error(status: u16, code: &str) -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        status.try_into().unwrap(),
        SdkBody::from(format!(
            r#"{{"__type":"{code}","message":"{code} injected"}}"#
        )),
    )
}

#[tokio::test]
async fn throttling_and_5xx_from_ecr_fail_the_invocation_as_retryable() {
    for (status, code) in [
        (400, "ThrottlingException"),
        (500, "ServerException"),
        (503, "ServiceUnavailable"),
    ] {
        let w = World::new();
        let r = Rules::of(&w);
        let bgi = mock!(aws_sdk_ecr::Client::batch_get_image)
            .then_http_response(move || http_error(status, code));
        let g = guard_with(
            settings(alert_only()),
            &[&bgi, &r.url, &r.tags],
            &[&r.publish],
        );
        let err = g
            .handle(&event("push-arm64-only-tagged.json"))
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{code}: {err}");
        assert!(bgi.num_calls() >= 1);
        assert_eq!(r.publish.num_calls(), 0);
    }
}

/// A 5xx without a modelled error code (a load balancer's HTML page, an empty body) is as
/// transient as a modelled ServerException: the event is retried, never dropped as permanent.
#[tokio::test]
async fn unmodelled_5xx_and_429_answers_are_retryable() {
    let html = "<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>";
    for (status, body) in [(502u16, html), (500, ""), (503, ""), (429, "")] {
        let w = World::new();
        let r = Rules::of(&w);
        let bgi = mock!(aws_sdk_ecr::Client::batch_get_image).then_http_response(move || {
            aws_smithy_runtime_api::http::Response::new(
                status.try_into().unwrap(),
                SdkBody::from(body),
            )
        });
        let g = guard_with(
            settings(alert_only()),
            &[&bgi, &r.url, &r.tags],
            &[&r.publish],
        );
        let err = g
            .handle(&event("push-arm64-only-tagged.json"))
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "HTTP {status} {body:?}: {err}");
        assert_eq!(r.publish.num_calls(), 0);
    }
}

#[tokio::test]
async fn access_denied_is_a_non_retryable_failure_not_a_pass() {
    let w = World::new();
    let r = Rules::of(&w);
    let bgi = mock!(aws_sdk_ecr::Client::batch_get_image)
        .then_http_response(|| http_error(400, "AccessDeniedException"));
    let g = guard_with(
        settings(alert_only()),
        &[&bgi, &r.url, &r.tags],
        &[&r.publish],
    );
    let err = g
        .handle(&event("push-arm64-only-tagged.json"))
        .await
        .unwrap_err();
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("AccessDenied"), "{err}");
}

#[tokio::test]
async fn sns_failure_fails_the_invocation() {
    let w = World::new();
    let r = Rules::of(&w);
    let publish =
        mock!(aws_sdk_sns::Client::publish).then_http_response(|| http_error(500, "InternalError"));
    let g = guard_with(
        settings(alert_and_tag()),
        &[&r.bgi, &r.url, &r.tags, &r.put],
        &[&publish],
    );
    let e = event("push-arm64-only-tagged.json");
    let err = g.handle(&e).await.unwrap_err();
    assert!(err.to_string().contains("alert not sent"), "{err}");
    assert!(publish.num_calls() >= 1);
    // The retry (same event) is not mistaken for a duplicate: it tries the alert again.
    let err2 = g.handle(&e).await.unwrap_err();
    assert!(err2.to_string().contains("alert not sent"));
}

#[tokio::test]
async fn plain_http_download_urls_are_refused_unless_allowed() {
    let w = World::new();
    let r = Rules::of(&w);
    let s = Settings {
        allow_http_downloads: false,
        ..settings(alert_only())
    };
    let g = guard(s, &r);
    let err = g
        .handle(&event("push-arm64-only-tagged.json"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("only https"), "{err}");
    assert!(!err.to_string().contains("X-Amz-Signature"));
    assert_eq!(w.blobs.count(), 0);
}

#[tokio::test]
async fn malformed_push_event_is_a_clear_error() {
    let w = World::new();
    let r = Rules::of(&w);
    let g = guard(settings(alert_only()), &r);
    // AWS's documentation sample has a placeholder digest that is not 64 hex characters.
    let e: EcrEvent = serde_json::from_slice(&fixture("ecr-event-push-tagged.json")).unwrap();
    let err = g.handle(&e).await.unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{err}");
    assert!(err.to_string().contains("image-digest"));
}

/// SNS speaks the query protocol: errors are XML.
fn sns_error(status: u16, code: &str) -> aws_smithy_runtime_api::http::Response {
    let code = if code == "ThrottlingException" {
        "Throttling"
    } else {
        "InternalError"
    };
    aws_smithy_runtime_api::http::Response::new(
        status.try_into().unwrap(),
        SdkBody::from(format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} injected</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        )),
    )
}

#[tokio::test]
async fn throttling_and_5xx_on_every_other_call_are_retried_then_fail_or_are_reported() {
    use aws_sdk_ecr::Client as E;
    for (status, code) in [(400, "ThrottlingException"), (500, "ServerException")] {
        // GetDownloadUrlForLayer, ListTagsForResource, Publish: the SDK retries, then the
        // invocation fails as retryable (Lambda retries, then the dead-letter queue).
        for op in ["GetDownloadUrlForLayer", "ListTagsForResource", "Publish"] {
            let w = World::new();
            let r = Rules::of(&w);
            let failing = match op {
                "GetDownloadUrlForLayer" => mock!(E::get_download_url_for_layer)
                    .then_http_response(move || http_error(status, code)),
                "ListTagsForResource" => mock!(E::list_tags_for_resource)
                    .then_http_response(move || http_error(status, code)),
                _ => mock!(aws_sdk_sns::Client::publish)
                    .then_http_response(move || sns_error(status, code)),
            };
            let g = match op {
                "GetDownloadUrlForLayer" => guard_with(
                    settings(alert_only()),
                    &[&r.bgi, &failing, &r.tags],
                    &[&r.publish],
                ),
                "ListTagsForResource" => guard_with(
                    settings(alert_only()),
                    &[&r.bgi, &r.url, &failing],
                    &[&r.publish],
                ),
                _ => guard_with(
                    settings(alert_only()),
                    &[&r.bgi, &r.url, &r.tags],
                    &[&failing],
                ),
            };
            let err = g
                .handle(&event("push-arm64-only-tagged.json"))
                .await
                .unwrap_err();
            assert!(err.is_retryable(), "{op} {code}: {err}");
            assert!(failing.num_calls() > 1, "{op} {code}: the SDK retried");
            if op != "Publish" {
                assert_eq!(r.publish.num_calls(), 0, "{op}: no verdict, no alert");
            }
        }
        // PutImage: the marker tag fails (reported), the alert still goes out.
        let put = mock!(E::put_image).then_http_response(move || http_error(status, code));
        let (v, w) = arm64_push_where_put_image_fails(&put).await;
        assert!(put.num_calls() > 1, "PutImage retried");
        assert_eq!(v.actions[0].status, "failed");
        assert_eq!(v.actions[1].status, "sent");
        let alerts = w.published.lock().unwrap().clone();
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].message.contains("Marker tag: failed"));
    }
}

#[tokio::test]
async fn a_stalled_blob_download_times_out_as_retryable() {
    let w = World::new();
    let r = Rules::of(&w);
    let config = fixture(ARM_CONFIG);
    let digest = Digest::of(&config).to_string();
    let url = w
        .blobs
        .put_slow(&digest, &config, std::time::Duration::from_secs(3));
    let slow_url = mock!(aws_sdk_ecr::Client::get_download_url_for_layer).then_output(move || {
        GetDownloadUrlForLayerOutput::builder()
            .download_url(&url)
            .layer_digest(&digest)
            .build()
    });
    let ecr = mock_client!(
        aws_sdk_ecr,
        RuleMode::MatchAny,
        [&r.bgi, &slow_url, &r.tags]
    );
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&r.publish]);
    let download = Download::with_timeouts(
        true,
        std::time::Duration::from_millis(500),
        std::time::Duration::from_millis(300),
    )
    .unwrap();
    let g = Guard::new(
        settings(alert_only()),
        Ecr::new(ecr, download),
        Sns::new(sns, TOPIC),
    );
    let started = std::time::Instant::now();
    let err = g
        .handle(&event("push-arm64-only-tagged.json"))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "did not wait for the stalled store"
    );
    assert!(!err.to_string().contains("X-Amz-Signature"), "{err}");
    assert_eq!(r.publish.num_calls(), 0);
}
