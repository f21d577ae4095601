//! One alert per event across Lambda environments, measured on moto (ECR, SNS to a queue, S3):
//! the same push event (the Mac-pulled arm64-only grafana:latest, judged against linux/amd64)
//! delivered to two guard instances — each wired exactly as the Lambda's
//! (`aws::wiring::lambda_guard`), each its own warm environment — at once and one after the
//! other. Without alert claims: 2 alerts. With them (`ALERT_CLAIMS_BUCKET`): 1, the other
//! delivery reporting `sent-by-another-delivery`. And when the first delivery fails to publish
//! (its invocation fails), the retry in another environment still sends it: 1, never 0.

#![recursion_limit = "256"]

mod common;

use common::grafana::{Grafana, REPO};
use common::images::ARM_MANIFEST;
use common::local_aws::*;
use ecr_arch_guard::aws::wiring::{lambda_guard, LambdaGuard};
use ecr_arch_guard::handler::settings::Settings;
use ecr_arch_guard::handler::Answer;
use serde_json::Value;

const BUCKET: &str = "guard-state";

fn guard(local: &Grafana, claims: bool, topic: &str) -> LambdaGuard {
    let settings = Settings {
        alert_topic_arn: Some(topic.to_string()),
        alert_claims_bucket: claims.then(|| BUCKET.to_string()),
        // The gap filler serves blobs over plain http (local tests only).
        allow_http_downloads: true,
        ..Settings::default()
    };
    lambda_guard(settings, local.config.clone()).unwrap()
}

fn push(id: &str) -> Value {
    let digest = sha256(&common::fixture(ARM_MANIFEST));
    let mut e = push_event(REPO, &digest, "latest", OCI_MANIFEST, OCI_CONFIG);
    e["id"] = id.into();
    e
}

/// The alert action's status in a push verdict, or the invocation's error.
fn status(answer: Result<Answer, ecr_arch_guard::Error>) -> String {
    match answer {
        Ok(Answer::Push(v)) => v
            .actions
            .iter()
            .find(|a| a.action == "alert")
            .map(|a| a.status.as_str().to_string())
            .unwrap_or_else(|| format!("no alert: {:?}", v.verdict)),
        Ok(other) => panic!("{other:?}"),
        Err(e) => format!("error: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deliveries_of_one_event_alert_once_and_a_failed_first_still_alerts() {
    let local = Grafana::start().await;
    state_bucket(&local.config, BUCKET).await;
    let topic = local.topic.clone();

    // Before: no claims. At once, two environments: two alerts.
    let (a, b) = (guard(&local, false, &topic), guard(&local, false, &topic));
    let e = push("evt-before");
    let (x, y) = tokio::join!(a.handle_any(e.clone()), b.handle_any(e.clone()));
    assert_eq!((status(x), status(y)), ("sent".into(), "sent".into()));
    assert_eq!(
        local.alerts().await.len(),
        2,
        "before: one alert per delivery"
    );

    // With claims, at once: one alert; the other delivery says who sent it.
    let (a, b) = (guard(&local, true, &topic), guard(&local, true, &topic));
    let e = push("evt-concurrent");
    let (x, y) = tokio::join!(a.handle_any(e.clone()), b.handle_any(e.clone()));
    let mut statuses = [status(x), status(y)];
    statuses.sort();
    assert_eq!(statuses, ["sent", "sent-by-another-delivery"]);
    assert_eq!(local.alerts().await.len(), 1, "at once: one alert");

    // One after the other: one alert.
    let e = push("evt-sequential");
    assert_eq!(status(a.handle_any(e.clone()).await), "sent");
    assert_eq!(
        status(b.handle_any(e.clone()).await),
        "sent-by-another-delivery"
    );
    assert_eq!(
        local.alerts().await.len(),
        1,
        "one after the other: one alert"
    );

    // The first delivery cannot publish (a topic that does not exist): its invocation fails
    // (Lambda would retry it); the delivery in the other environment sends the alert.
    let broken = guard(
        &local,
        true,
        &format!("arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic"),
    );
    let e = push("evt-first-failed");
    assert!(status(broken.handle_any(e.clone()).await).starts_with("error: "));
    assert_eq!(status(b.handle_any(e.clone()).await), "sent");
    assert_eq!(local.alerts().await.len(), 1, "never lost: one alert");
}
