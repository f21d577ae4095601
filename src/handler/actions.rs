//! What the guard does about a verdict: the marker tag (before the alert, so the alert can say
//! what happened to it), the alert (a mismatch and/or an index a Lambda function cannot use),
//! and the organisation mode's "cannot read account" alert. Whether it acts at all for an
//! image replicated here is decided here too.

use crate::act::alert;
use crate::act::alert_claim::{AlertClaims, Claim};
use crate::act::message::Notify;
use crate::consumers::lambda_index::LambdaIndexUse;
use crate::event::{Origin, Push};
use crate::handler::settings::{Replication, Settings};
use crate::image::ports::{Registry, TagOutcome};
use crate::image::resolve::Resolution;
use crate::judge::policy::RequiredFrom;
use crate::judge::verdict::{ActionKind, ActionReport, ActionStatus, Verdict, VerdictKind};
use crate::util::error::Error;

/// The ports and settings the actions use.
pub struct Actor<'a, R: Registry, N: Notify> {
    pub settings: &'a Settings,
    pub registry: &'a R,
    pub notifier: &'a N,
    /// One alert per event across environments, when a claim store is configured.
    pub claims: Option<&'a AlertClaims>,
}

impl<R: Registry, N: Notify> Actor<'_, R, N> {
    /// Tags and alerts as the verdict calls for. An alert that cannot be sent fails the event
    /// (Lambda retries, then the dead-letter queue); a tag that fails is reported and never
    /// stops the alert.
    pub async fn act(
        &self,
        push: &Push,
        resolution: &Resolution,
        lambda: &[LambdaIndexUse],
        verdict: &mut Verdict,
    ) -> Result<(), Error> {
        let mismatch = verdict.verdict == VerdictKind::Mismatch;
        // Mislabelled (the deep check): alerted, never marker-tagged — the marker names the
        // label's architectures, which are exactly what is wrong.
        let mislabelled = verdict.verdict == VerdictKind::Mislabelled;
        if !mismatch && !mislabelled && lambda.is_empty() {
            return Ok(());
        }
        if !self.acts_here(push, verdict, lambda) {
            verdict.warnings.push(format!(
                "{}: judged against the rules and default, as the guard of the region it was \
                 pushed to did, which reports it; no alert or tag here (REPLICATION=local-policy; \
                 judge acts in every region)",
                push.origin.describe().unwrap_or_default()
            ));
            return Ok(());
        }
        if mismatch {
            self.tag(push, resolution, verdict).await;
        }
        self.alert(push, lambda, verdict).await
    }

    /// Organisation mode, the member account cannot be read: its own alert ("cannot read
    /// account X") and a `skipped` verdict that says why, with no retry (it would only repeat
    /// the alert). Without the alert action the error fails the invocation: never a silent pass.
    pub async fn unreadable(
        &self,
        push: &Push,
        account: &str,
        reason: &str,
    ) -> Result<Verdict, Error> {
        tracing::error!(
            account,
            reason,
            "cannot read the member account; the push is not checked"
        );
        let mut v = Verdict::skipped(format!("cannot read account {account}: {reason}"));
        v.set_image(&push.image);
        if !self.settings.actions.alert {
            return Err(Error::AccountUnreadable {
                account: account.to_string(),
                reason: reason.to_string(),
            });
        }
        let topic = self.settings.alert_topic_arn.clone();
        if self.settings.dry_run {
            v.actions.push(alerted(ActionStatus::WouldSend, topic));
        } else {
            let message = alert::unreadable(&push.image, reason);
            let status = self
                .publish_once(push, "unreadable", &message, &mut v.warnings)
                .await?;
            v.actions.push(alerted(status, topic));
        }
        Ok(v)
    }

    /// Whether the guard acts on this verdict in this region. Always for a push; for a
    /// replicated image with `REPLICATION=local-policy`, only when what decided is this region's
    /// own: its repository tag or its consumers (a Lambda function here that cannot use an index
    /// included). Rules and default were already applied, and reported, where it was pushed.
    fn acts_here(&self, push: &Push, verdict: &Verdict, lambda: &[LambdaIndexUse]) -> bool {
        match (&push.origin, self.settings.replication) {
            (Origin::Push, _) | (_, Replication::Judge) => true,
            (Origin::Replication { .. }, _) => {
                !lambda.is_empty()
                    || matches!(
                        verdict.required_from,
                        Some(RequiredFrom::RepositoryTag | RequiredFrom::Consumers)
                    )
            }
        }
    }

    /// The marker tag on the same digest (PutImage of the manifest bytes already read).
    async fn tag(&self, push: &Push, r: &Resolution, verdict: &mut Verdict) {
        if !self.settings.actions.tag {
            return;
        }
        let marker = self.settings.tag_template.render(
            push.image.tag.as_deref(),
            push.digest(),
            &verdict.architecture_list(),
        );
        let (status, detail) = if push.image.tag.as_deref() == Some(marker.as_str()) {
            (ActionStatus::AlreadyTagged, marker)
        } else if self.settings.dry_run {
            (ActionStatus::WouldTag, marker)
        } else {
            match self
                .registry
                .put_tag(
                    &push.image.repository,
                    &r.manifest_bytes,
                    &r.media_type,
                    push.digest(),
                    &marker,
                )
                .await
            {
                Ok(TagOutcome::Tagged) => (ActionStatus::Tagged, marker),
                Ok(TagOutcome::AlreadyTagged) => (ActionStatus::AlreadyTagged, marker),
                Err(e) => {
                    tracing::warn!(error = %e, tag = %marker, "marker tag failed; the alert still goes out");
                    (ActionStatus::Failed, format!("{marker}: {e}"))
                }
            }
        };
        verdict
            .actions
            .push(ActionReport::new(ActionKind::Tag, status, Some(detail)));
    }

    /// The alert for a mismatch and/or an index a Lambda function cannot use (alone: for a
    /// consumer change, where the image is not tagged: it may fit its other consumers).
    pub async fn alert(
        &self,
        push: &Push,
        lambda: &[LambdaIndexUse],
        verdict: &mut Verdict,
    ) -> Result<(), Error> {
        if !self.settings.actions.alert {
            return Ok(());
        }
        let topic = self.settings.alert_topic_arn.clone();
        if self.settings.dry_run {
            verdict
                .actions
                .push(alerted(ActionStatus::WouldSend, topic));
            return Ok(());
        }
        // The alert's JSON shows the action as sent: it is, if this returns Ok.
        let mut shown = verdict.clone();
        shown
            .actions
            .push(alerted(ActionStatus::Sent, topic.clone()));
        let message = alert::compose(&shown, &push.image, lambda);
        let status = self
            .publish_once(push, "alert", &message, &mut verdict.warnings)
            .await?;
        verdict.actions.push(alerted(status, topic));
        Ok(())
    }

    /// Publishes `message` unless another delivery of the same event (`what` about this image)
    /// sent it or is sending it ([`crate::act::alert_claim`]); `Sent` or `OtherDelivery`. Without a
    /// claim store or an event id, or when the store fails, it is simply published (the failure
    /// is logged and said in `warnings`, which the `AlertClaimFailures` metric counts).
    async fn publish_once(
        &self,
        push: &Push,
        what: &str,
        message: &crate::act::message::Message,
        warnings: &mut Vec<String>,
    ) -> Result<ActionStatus, Error> {
        let claim = match (self.claims, &push.event_id) {
            (Some(claims), Some(id)) => {
                let image = format!("{}@{}-{what}", push.image.repository.name, push.digest());
                let key = AlertClaims::key(id, &image);
                match claims.claim(&key).await {
                    Ok(Claim::Mine(version)) => Some((claims, key, version)),
                    Ok(Claim::Sent) | Ok(Claim::InFlight) => {
                        tracing::info!(
                            key,
                            "alert sent by another delivery of this event; not sent again"
                        );
                        return Ok(ActionStatus::OtherDelivery);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "alert claim unavailable; sending (perhaps twice, never not at all)");
                        warnings.push(crate::act::alert_claim::unavailable_warning(&e));
                        None
                    }
                }
            }
            _ => None,
        };
        let sent = self.notifier.publish(message).await;
        if let Some((claims, key, version)) = &claim {
            claims.settle(key, version, sent.is_ok()).await;
        }
        sent.map(|_| ActionStatus::Sent)
    }
}

fn alerted(status: ActionStatus, topic: Option<String>) -> ActionReport {
    ActionReport::new(ActionKind::Alert, status, topic)
}
