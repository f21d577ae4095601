//! The guard as a deployment watcher: ECS's `ECS Deployment State Change` event → the service's
//! ongoing service deployment (through the `Discover` port) → its target revision judged as the
//! ECS lifecycle hook judges it → one alert per deployment (the alert claims make it one across
//! environments) and, with `ECS_DEPLOYMENT_GUARD=rollback`, one StopServiceDeployment(ROLLBACK).
//! Never for a rollback deployment, never a stop for what could not be judged (that is alerted
//! as not judged), and nothing for a deployment whose own lifecycle hook calls this function
//! (the hook judges it before its tasks start).

use serde_json::Value;

use super::Guard;
use crate::act::alert_claim::{AlertClaims, Claim};
use crate::act::message::Notify;
use crate::consumers::discovery::Discover;
use crate::event::change::{Change, Target};
use crate::event::ecs_deployment::{Classified, DeploymentEvent};
use crate::gate::deployment_watch::{self, Step, Watch, WatchReport};
use crate::gate::{Ruling, RulingKind, Unknown};
use crate::image::ports::Registry;
use crate::image::RegistryId;
use crate::judge::verdict::Verdict;
use crate::util::error::Error;

impl<R: Registry, N: Notify, D: Discover> Guard<R, N, D> {
    /// Handles one ECS Deployment State Change event. An error (a transient ECS error finding
    /// the deployment, a failed stop or alert) fails the invocation so that Lambda retries it.
    pub async fn watch_deployment(&self, payload: &Value) -> Result<WatchReport, Error> {
        let event = DeploymentEvent::parse(payload);
        let subject = event.describe();
        let report = self.watch(&event, &subject).await;
        match &report {
            Ok(r) => tracing::info!(
                deployment = %subject,
                step = ?r.step,
                rolled_back = r.rolled_back,
                reason = %r.reason,
                "ECS deployment watched"
            ),
            Err(e) => tracing::error!(
                error = %e,
                deployment = %subject,
                "ECS deployment watch failed; the invocation fails so that Lambda retries it"
            ),
        }
        report.inspect(|r| r.verdicts.iter().for_each(super::log_verdict))
    }

    async fn watch(&self, event: &DeploymentEvent, subject: &str) -> Result<WatchReport, Error> {
        let watch = self.settings.gate.watch;
        if watch == Watch::Off {
            return Ok(WatchReport::skipped(
                subject,
                "the deployment watcher is off (ECS_DEPLOYMENT_GUARD)",
            ));
        }
        let service = match event.classify() {
            Classified::Skip(reason) => return Ok(WatchReport::skipped(subject, reason)),
            Classified::Watch(service) => service,
        };
        let scope = event.scope();
        let source = self.sources.discovery.source();
        let found = source
            .ongoing_deployment(&scope, &service.cluster, &service.name)
            .await;
        let deployment = match found {
            Ok(Some(d)) => d,
            Ok(None) => {
                return Ok(WatchReport::skipped(
                    subject,
                    "no ongoing service deployment: it finished, or another superseded it",
                ))
            }
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => {
                let ruling = Ruling::failed(subject, &e.to_string());
                return self
                    .deployment_not_judged(event, subject, &scope, ruling, None)
                    .await;
            }
        };
        if deployment.rolling_back() {
            return Ok(WatchReport::skipped(
                subject,
                format!("ECS is rolling it back already ({})", deployment.status),
            ));
        }
        let function = self.settings.gate.function_name.as_deref().unwrap_or("");
        if deployment.hooks_call(function) {
            return Ok(WatchReport::skipped(
                subject,
                "its lifecycle hook calls this function, which judges it there",
            ));
        }
        let Some(revision) = deployment.target_revision.clone() else {
            let ruling = Ruling::failed(subject, "the service deployment names no target revision");
            return self
                .deployment_not_judged(event, subject, &scope, ruling, Some(&deployment.arn))
                .await;
        };
        let change = Change {
            event_id: Some(format!("ecs-deployment/{}", deployment.arn)),
            event_name: deployment_watch::event_name(&deployment.arn, watch),
            event_time: None,
            // The event name names the deployment; ECS's event does not say who started it.
            caller: None,
            scope: scope.clone(),
            target: Target::EcsServiceRevision(revision),
            requested: None,
        };
        // Judged and alerted as a consumer change; a failure to alert (or a transient read)
        // fails the invocation (retried, then dead-lettered and alarmed), never a lost alert.
        let (ruling, verdicts) = match self.judge_change_once(&change, true).await {
            Err(e) if e.is_retryable() => return Err(e),
            judged => super::gate::ruling_on(subject, judged),
        };
        let step = deployment_watch::step(watch, ruling.kind);
        let earlier = verdicts.iter().any(Verdict::from_earlier_delivery);
        if step == Step::NotJudged && !earlier {
            self.send_unjudged(subject, &scope, &ruling, Unknown::Pass)
                .await?;
        }
        let rolled_back = match step {
            // A dry run (the CLI's `event --dry-run`) stops nothing, as it alerts nothing.
            Step::AlertAndRollBack if self.settings.dry_run => false,
            Step::AlertAndRollBack => self.roll_back_once(&scope, &deployment.arn).await?,
            _ => false,
        };
        Ok(WatchReport {
            deployment: subject.to_string(),
            service_deployment: Some(deployment.arn),
            step: Some(step),
            rolled_back,
            reason: ruling.message,
            verdicts,
        })
    }

    /// The "not judged" report and alert (once per event in this environment).
    async fn deployment_not_judged(
        &self,
        event: &DeploymentEvent,
        subject: &str,
        scope: &RegistryId,
        ruling: Ruling,
        deployment: Option<&str>,
    ) -> Result<WatchReport, Error> {
        let key = format!(
            "unjudged/{}",
            event.id.clone().unwrap_or_else(|| subject.to_string())
        );
        if self.changes.get(&key).is_none() {
            self.send_unjudged(subject, scope, &ruling, Unknown::Pass)
                .await?;
            self.changes.insert(key, Vec::new());
        }
        debug_assert_eq!(ruling.kind, RulingKind::NotJudged);
        Ok(WatchReport {
            deployment: subject.to_string(),
            service_deployment: deployment.map(str::to_string),
            step: Some(Step::NotJudged),
            rolled_back: false,
            reason: ruling.message,
            verdicts: Vec::new(),
        })
    }

    /// StopServiceDeployment(ROLLBACK) for `arn`, once across deliveries and environments when
    /// the alert claims are on (a claim of its own, `rollbacks/…`); without them every delivery
    /// calls it, which ECS documents as harmless ("ROLLBACK_REQUESTED - The service deployment
    /// continues the rollback operation"). Whether this delivery stopped it; a failed stop is
    /// an error (the invocation fails and is retried).
    async fn roll_back_once(&self, scope: &RegistryId, arn: &str) -> Result<bool, Error> {
        let key = AlertClaims::rollback_key(arn);
        let claim = match &self.claims {
            None => None,
            Some(claims) => match claims.claim(&key).await {
                Ok(Claim::Mine(version)) => Some((claims, version)),
                Ok(Claim::Sent | Claim::InFlight) => return Ok(false),
                Err(e) => {
                    tracing::warn!(error = %e, deployment = arn, "rollback claim unavailable; stopping all the same");
                    None
                }
            },
        };
        let stopped = self.sources.discovery.source().roll_back(scope, arn).await;
        if let Some((claims, version)) = claim {
            claims.settle(&key, &version, stopped.is_ok()).await;
        }
        match stopped {
            Ok(()) => {
                tracing::warn!(
                    deployment = arn,
                    "service deployment stopped: ECS rolls it back"
                );
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }
}
