//! The ECR and SNS adapters under the Guard, against aws-smithy-mocks clients: the exact requests
//! (BatchGetImage by digest with every accepted media type, GetDownloadUrlForLayer, the
//! repository ARN, PutImage's arguments, Publish's attributes and their SNS data types), the
//! calls per event kind on the wire, and how each AWS answer maps to the Guard's outcome
//! (ImageNotFound, LayerInaccessible, ImageAlreadyExists, an immutable tag, throttling, 5xx with
//! and without a modelled error, access denied, a failed Publish, a stalled or plain-http
//! download). The Guard's own rules, over in-memory ports, are in `guard_rules.rs`.

mod common;

use aws_sdk_ecr::operation::get_download_url_for_layer::{
    GetDownloadUrlForLayerError, GetDownloadUrlForLayerOutput,
};
use aws_sdk_ecr::operation::put_image::PutImageError;
use aws_sdk_ecr::types::error::{
    ImageAlreadyExistsException, ImageTagAlreadyExistsException, LayerInaccessibleException,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::body::SdkBody;
use common::images::{ARM_CONFIG, ARM_MANIFEST};
use common::smithy_world::*;
use common::{event, fixture, parsed, ARM64_ALERT_SAYS};
use ecr_arch_guard::aws::download::Download;
use ecr_arch_guard::aws::ecr::Ecr;
use ecr_arch_guard::aws::sns::Sns;
use ecr_arch_guard::handler::settings::Settings;
use ecr_arch_guard::handler::Guard;
use ecr_arch_guard::image::digest::Digest;
use ecr_arch_guard::image::media_type;
use ecr_arch_guard::judge::verdict::{Verdict, VerdictKind};

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
    assert_eq!(
        ecr_arch_guard::image::platform::join(&v.missing),
        "linux/amd64"
    );
    assert_eq!(v.required_from.as_ref().unwrap().to_string(), "default");
    // BatchGetImage + GetDownloadUrlForLayer + 1 GET; ListTagsForResource; Publish.
    assert_eq!(r.counts(), [1, 1, 1, 0, 1]);
    assert_eq!(w.blobs.count(), 1);

    let published = w.published.lock().unwrap();
    let alert = &published[0];
    assert_eq!(alert.subject, "arm64-only image pushed: grafana:latest");
    assert!(alert.subject.len() <= 100);
    for needle in ARM64_ALERT_SAYS {
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
async fn put_image_sends_the_same_manifest_bytes_media_type_and_digest_under_the_marker() {
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
async fn image_deleted_before_it_is_read_is_skipped() {
    let w = World::new();
    let r = Rules::of(&w);
    let g = guard(settings(alert_only()), &r);
    let mut e = serde_json::to_value(event("push-arm64-only-tagged.json")).unwrap();
    e["detail"]["image-digest"] = Digest::of(b"gone").to_string().into();
    let v = g.handle(&parsed(e)).await.unwrap();
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
        assert_eq!(
            matches!(err, ecr_arch_guard::Error::Throttled(_)),
            code == "ThrottlingException",
            "only throttling says throttled (the audit's signal to slow down): {err}"
        );
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
        assert_eq!(
            matches!(err, ecr_arch_guard::Error::Throttled(_)),
            status == 429,
            "HTTP 429 says throttled: {err}"
        );
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

/// SNS answers `KMSThrottling` (its code for KmsThrottlingException, SNS API Reference, Publish
/// errors) when the topic's KMS key is throttled: throttling, so the invocation fails as
/// retryable, never as a permanent failure (it was permanent before: the list said
/// `KMSThrottlingException`, which is the SDK's type name, not the code on the wire).
#[tokio::test]
async fn a_throttled_topic_key_fails_the_invocation_as_retryable() {
    let w = World::new();
    let r = Rules::of(&w);
    let publish = mock!(aws_sdk_sns::Client::publish).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            400.try_into().unwrap(),
            SdkBody::from(
                "<ErrorResponse><Error><Type>Sender</Type><Code>KMSThrottling</Code><Message>KMS throttled</Message></Error><RequestId>r</RequestId></ErrorResponse>",
            ),
        )
    });
    let g = guard_with(
        settings(alert_only()),
        &[&r.bgi, &r.url, &r.tags],
        &[&publish],
    );
    let err = g
        .handle(&event("push-arm64-only-tagged.json"))
        .await
        .unwrap_err();
    assert!(
        err.is_retryable()
            && err
                .to_string()
                .contains("throttled: sns:Publish: KMSThrottling"),
        "{err}"
    );
    // The SDK's own classifier does not count KMSThrottling, so it sends once; the retry is
    // Lambda's (the invocation fails as retryable).
    assert_eq!(publish.num_calls(), 1);
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
