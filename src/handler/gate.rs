//! The guard as a deployment gate: a CloudFormation Lambda Hook request or an ECS lifecycle
//! hook payload → the consumer it proposes or is about to start (read through the `Discover`
//! port) → each image judged against it, as for a consumer change → the ruling → the hook's
//! answer. Always an answer, never an error: a hook whose function fails blocks (CloudFormation
//! with FailureMode FAIL) or rolls back (ECS) what was never judged.

use serde_json::{Map, Value};

use super::Guard;
use crate::act::message::Notify;
use crate::consumers::discovery::Discover;
use crate::event::change::{Change, Target};
use crate::gate::cloudformation::{self, HookRequest};
use crate::gate::ecs_hook::{self, LifecycleRequest};
use crate::gate::{GateAnswer, Kind, Mode, Ruling, RulingKind};
use crate::image::digest::Digest;
use crate::image::ports::Registry;
use crate::judge::verdict::Verdict;
use crate::util::error::Error;

impl<R: Registry, N: Notify, D: Discover> Guard<R, N, D> {
    /// Answers a hook payload of `kind` (see [`crate::gate::recognise`]).
    pub async fn handle_gate(&self, kind: Kind, payload: Value) -> GateAnswer {
        match kind {
            Kind::CloudFormation => self.cloudformation_hook(payload).await,
            Kind::EcsLifecycle => self.ecs_hook(payload).await,
        }
    }

    /// A CloudFormation (or Cloud Control API) resource operation. A refusal is alerted only in
    /// `warn` mode, where the change goes ahead; with `fail` the caller sees the message.
    async fn cloudformation_hook(&self, payload: Value) -> GateAnswer {
        let request = HookRequest::parse(payload).unwrap_or_default();
        let subject = request.describe();
        let (ruling, verdicts) = match request.classify() {
            cloudformation::Classified::Pass(reason) => {
                (Ruling::pass(&format!("{subject}: {reason}")), Vec::new())
            }
            cloudformation::Classified::Judge(proposal) => {
                // The token is the request's, which CloudFormation may share between the
                // resources of one operation: one resource's proposal is the unit.
                let event_id = request.client_request_token.as_ref().map(|token| {
                    format!(
                        "{token}/{}/{}",
                        proposal.logical_id,
                        Digest::of(proposal.properties.to_string().as_bytes())
                    )
                });
                let change = Change {
                    event_id,
                    event_name: request.action_invocation_point.clone().unwrap_or_default(),
                    event_time: None,
                    caller: request.stack_id.clone().filter(|s| !s.is_empty()),
                    scope: request.scope(),
                    target: Target::Proposed(proposal),
                    requested: None,
                };
                let alert_refusals = self.settings.gate.mode == Mode::Warn;
                self.rule(&subject, &change, alert_refusals).await
            }
        };
        let response = request.respond(&ruling, self.settings.gate.unknown);
        self.answer(Kind::CloudFormation, &subject, response, ruling, verdicts)
    }

    /// An ECS deployment at a lifecycle stage (PRE_SCALE_UP: before any task of the target
    /// revision starts). A refusal is alerted (once per execution); what could not be judged
    /// passes, logged and alerted, unless `DEPLOY_GATE_UNKNOWN=fail`.
    async fn ecs_hook(&self, payload: Value) -> GateAnswer {
        let request = LifecycleRequest::parse(payload).unwrap_or_default();
        let subject = request.describe();
        let unknown = self.settings.gate.unknown;
        let (ruling, verdicts) = match request.classify() {
            ecs_hook::Classified::Pass(reason) => (Ruling::pass(&reason), Vec::new()),
            ecs_hook::Classified::Unjudgeable(reason) => {
                let ruling = Ruling::new(RulingKind::NotJudged, reason);
                self.alert_unjudged(&subject, &request.scope(), &ruling, unknown)
                    .await;
                (ruling, Vec::new())
            }
            ecs_hook::Classified::Judge { revision_arn } => {
                let change = Change {
                    event_id: request.execution_id.clone(),
                    event_name: format!(
                        "ECS deployment lifecycle hook {} (a mismatch fails the hook: ECS rolls \
                         the deployment back to the last successful revision)",
                        request.lifecycle_stage.as_deref().unwrap_or("?")
                    ),
                    event_time: None,
                    caller: request.resource_arn.clone(),
                    scope: request.scope(),
                    target: Target::EcsServiceRevision(revision_arn),
                    requested: None,
                };
                let (ruling, verdicts) = self.rule(&subject, &change, true).await;
                let earlier = verdicts.iter().any(Verdict::from_earlier_delivery);
                if ruling.kind == RulingKind::NotJudged && !earlier {
                    self.alert_unjudged(&subject, &change.scope, &ruling, unknown)
                        .await;
                }
                (ruling, verdicts)
            }
        };
        let response = request.respond(&ruling, unknown);
        self.answer(Kind::EcsLifecycle, &subject, response, ruling, verdicts)
    }

    /// The ruling on a resource as proposed (the CLI's `plan`), exactly as the CloudFormation
    /// hook rules on it, without any action.
    pub async fn rule_on_proposal(&self, subject: &str, change: &Change) -> (Ruling, Vec<Verdict>) {
        self.rule(subject, change, false).await
    }

    /// Judges what `change` names within the gate's deadline, and rules on it.
    pub(super) async fn rule(
        &self,
        subject: &str,
        change: &Change,
        act: bool,
    ) -> (Ruling, Vec<Verdict>) {
        let deadline = self.settings.gate.deadline;
        let judged = tokio::time::timeout(deadline, self.judge_change_once(change, act)).await;
        match judged {
            Ok(judged) => ruling_on(subject, judged),
            Err(_) => (
                Ruling::failed(
                    subject,
                    &format!(
                        "the reads did not finish within {} s (DEPLOY_GATE_DEADLINE_SECONDS)",
                        deadline.as_secs()
                    ),
                ),
                Vec::new(),
            ),
        }
    }

    /// The alert for a deployment the gate could not judge, saying what its answer did: let
    /// through (`DEPLOY_GATE_UNKNOWN=pass`) or refused (`fail`). The hook must answer whatever
    /// happens (a failed ECS hook rolls the deployment back): a failure to publish is logged, not
    /// raised.
    pub(super) async fn alert_unjudged(
        &self,
        subject: &str,
        scope: &crate::image::RegistryId,
        ruling: &Ruling,
        unknown: crate::gate::Unknown,
    ) {
        if let Err(e) = self.send_unjudged(subject, scope, ruling, unknown).await {
            tracing::error!(error = %e, subject, "the unjudged-deployment alert could not be sent");
        }
    }

    /// [`Guard::alert_unjudged`], its failure returned (the deployment watcher, which answers
    /// nobody, fails its invocation instead: Lambda retries it).
    pub(super) async fn send_unjudged(
        &self,
        subject: &str,
        scope: &crate::image::RegistryId,
        ruling: &Ruling,
        unknown: crate::gate::Unknown,
    ) -> Result<(), Error> {
        if !self.settings.actions.alert || self.settings.dry_run {
            return Ok(());
        }
        let message =
            crate::gate::unjudged_alert::gate_unjudged(subject, scope, &ruling.message, unknown);
        self.notifier.publish(&message).await.map(|_| ())
    }

    /// Logs the ruling (one line) and wraps the answer.
    fn answer(
        &self,
        kind: Kind,
        subject: &str,
        response: impl serde::Serialize,
        ruling: Ruling,
        verdicts: Vec<Verdict>,
    ) -> GateAnswer {
        let response = match serde_json::to_value(response) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let status = response
            .get("hookStatus")
            .and_then(Value::as_str)
            .unwrap_or("");
        let level_error = ruling.kind == RulingKind::NotJudged;
        let images = verdicts.len();
        if level_error {
            tracing::error!(gate = ?kind, subject, status, images, message = %ruling.message, "deployment not judged");
        } else {
            tracing::info!(gate = ?kind, subject, status, images, message = %ruling.message, "deployment gate");
        }
        verdicts.iter().for_each(super::log_verdict);
        GateAnswer {
            response,
            verdicts,
            ruling,
            kind,
        }
    }
}

/// The ruling on what judging `subject` gave: its verdicts, or why nothing was judged (what it
/// names does not exist; the reads failed).
pub(super) fn ruling_on(
    subject: &str,
    judged: Result<Vec<Verdict>, Error>,
) -> (Ruling, Vec<Verdict>) {
    match judged {
        Ok(verdicts) => (Ruling::of(subject, &verdicts), verdicts),
        Err(Error::NotFound(what)) => (
            Ruling::new(
                RulingKind::NotJudged,
                format!("ecr-arch-guard could not judge {subject}: {what} does not exist."),
            ),
            Vec::new(),
        ),
        Err(e) => (Ruling::failed(subject, &e.to_string()), Vec::new()),
    }
}
