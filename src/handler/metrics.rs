//! Metrics: one CloudWatch Embedded Metric Format (EMF) line per invocation, written to
//! standard output, which CloudWatch Logs turns into metrics (no API call, no IAM). Format:
//! "Specification: Embedded metric format", CloudWatch User Guide; the test validates every
//! line against the JSON schema and the rules that specification gives.
//!
//! Namespace `ecr-arch-guard`; one dimension set, `FunctionName` (low cardinality: one metric
//! per function); with `METRICS_PER_REPOSITORY=true` also `FunctionName, Repository` (one
//! custom metric per repository and metric name: they cost money). Metrics, all `Count` but
//! `Duration` (`Milliseconds`): `Events`, `Fits`, `Mismatches`, `NotAnImage`, `Skipped`,
//! `Errors` (the invocation failed: retried, then the dead-letter queue), `AlertsSent`,
//! `TagsWritten`, `TagsFailed`, `DiscoveryFailures` (a service whose consumers could not be
//! listed), `GateRefusals` (a deployment gate answered FAILED: a CloudFormation hook or an ECS
//! lifecycle hook refused a change), `GateUnjudged` (a gate could not judge a change and let
//! it through, `DEPLOY_GATE_UNKNOWN=pass`), `AlertClaimFailures` (an alert sent without its
//! claim because the state bucket failed: missing, denied, unreachable), `Duration` (the judgement, from event in to
//! verdict out).
//!
//! A writer of our own rather than `metrics_cloudwatch_embedded`: that crate is a backend of the
//! `metrics` facade (a global recorder, histograms, the facade's macros) for applications with
//! open-ended metrics; the guard writes one fixed document per invocation, which this file does
//! in a hundred lines checked against AWS's own schema.

use serde_json::{json, Map, Value};

use crate::handler::inputs;
use crate::judge::verdict::{ActionKind, ActionStatus, Verdict, VerdictKind};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "ecr-arch-guard";

/// Every metric with its unit, in the order they are written.
pub const METRICS: [(&str, &str); 14] = [
    ("Events", "Count"),
    ("Fits", "Count"),
    ("Mismatches", "Count"),
    ("NotAnImage", "Count"),
    ("Skipped", "Count"),
    ("Errors", "Count"),
    ("AlertsSent", "Count"),
    ("TagsWritten", "Count"),
    ("TagsFailed", "Count"),
    ("DiscoveryFailures", "Count"),
    ("GateRefusals", "Count"),
    ("GateUnjudged", "Count"),
    ("AlertClaimFailures", "Count"),
    ("Duration", "Milliseconds"),
];

/// What one invocation did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Invocation {
    pub fits: u32,
    pub mismatches: u32,
    pub not_an_image: u32,
    pub skipped: u32,
    pub errors: u32,
    pub alerts_sent: u32,
    pub tags_written: u32,
    pub tags_failed: u32,
    pub discovery_failures: u32,
    pub gate_refusals: u32,
    pub gate_unjudged: u32,
    /// Alerts sent without a claim because the claim store failed (they may go out twice).
    pub alert_claim_failures: u32,
    pub duration_ms: f64,
    /// The repositories the verdicts name (distinct).
    pub repositories: Vec<String>,
}

impl Invocation {
    /// Counts one verdict (a push has one, a consumer change one per image). A duplicate
    /// delivery's actions were taken earlier and are not counted again.
    pub fn count(&mut self, v: &Verdict) {
        match v.verdict {
            VerdictKind::Fits => self.fits += 1,
            VerdictKind::Mismatch | VerdictKind::Mislabelled => self.mismatches += 1,
            VerdictKind::NotAnImage => self.not_an_image += 1,
            VerdictKind::Skipped => self.skipped += 1,
        }
        for a in v.actions.iter().filter(|a| !a.earlier_delivery) {
            match (a.action, a.status) {
                (ActionKind::Alert, ActionStatus::Sent) => self.alerts_sent += 1,
                (ActionKind::Tag, ActionStatus::Tagged) => self.tags_written += 1,
                (ActionKind::Tag, ActionStatus::Failed) => self.tags_failed += 1,
                _ => {}
            }
        }
        self.discovery_failures += v
            .warnings
            .iter()
            .filter(|w| inputs::is_unknown_service(w))
            .count() as u32;
        self.alert_claim_failures += v
            .warnings
            .iter()
            .filter(|w| crate::act::alert_claim::is_unavailable_warning(w))
            .count() as u32;
        if let Some(r) = &v.repository {
            if !self.repositories.contains(r) {
                self.repositories.push(r.clone());
            }
        }
    }

    /// The EMF document for this invocation. `per_repository`: add the `Repository`
    /// dimension when the invocation concerned exactly one repository.
    pub fn emf(&self, function: &str, timestamp_ms: u64, per_repository: bool) -> Value {
        let values = [
            1.0,
            self.fits.into(),
            self.mismatches.into(),
            self.not_an_image.into(),
            self.skipped.into(),
            self.errors.into(),
            self.alerts_sent.into(),
            self.tags_written.into(),
            self.tags_failed.into(),
            self.discovery_failures.into(),
            self.gate_refusals.into(),
            self.gate_unjudged.into(),
            self.alert_claim_failures.into(),
            self.duration_ms,
        ];
        let mut dimensions = vec![json!(["FunctionName"])];
        let mut root = Map::new();
        root.insert("FunctionName".into(), function.into());
        if let ([repository], true) = (self.repositories.as_slice(), per_repository) {
            dimensions.push(json!(["FunctionName", "Repository"]));
            root.insert("Repository".into(), repository.as_str().into());
        }
        let metrics: Vec<Value> = METRICS
            .iter()
            .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
            .collect();
        for ((name, _), value) in METRICS.iter().zip(values) {
            root.insert((*name).into(), json!(value));
        }
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": dimensions,
                    "Metrics": metrics,
                }]
            }),
        );
        Value::Object(root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::verdict::ActionReport;

    #[test]
    fn counts_verdicts_actions_and_discovery_failures_once() {
        let mut v = Verdict::skipped("x");
        v.verdict = VerdictKind::Mismatch;
        v.repository = Some("grafana".into());
        v.actions = vec![
            ActionReport::new(ActionKind::Tag, ActionStatus::Tagged, None),
            ActionReport::new(ActionKind::Alert, ActionStatus::Sent, None),
        ];
        v.warnings = vec![
            "consumers in ecs are unknown (denied); the consumers found do not decide alone".into(),
        ];
        let mut m = Invocation::default();
        m.count(&v);
        let mut again = v.clone();
        again
            .actions
            .iter_mut()
            .for_each(|a| a.earlier_delivery = true);
        m.count(&again);
        assert_eq!(
            (
                m.mismatches,
                m.alerts_sent,
                m.tags_written,
                m.discovery_failures
            ),
            (2, 1, 1, 2)
        );
        let line = m.emf("guard", 1_764_064_800_000, true);
        assert_eq!(line["Repository"], "grafana");
        assert_eq!(line["Events"], 1.0);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"][1][1],
            "Repository"
        );
        let off = m.emf("guard", 1, false);
        assert!(off.get("Repository").is_none());
    }
}
