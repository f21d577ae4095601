//! The guard on a consumer change: the CloudTrail event → the consumer's current state (through
//! the discovery adapter) → each ECR image it runs, read and resolved like a push → judged
//! against this consumer's platforms → the alert. The image is never tagged here: it may well
//! fit its other consumers.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{log_verdict, Guard};
use crate::act::message::Notify;
use crate::consumers::consumer::{self, Consumer, ConsumerKind};
use crate::consumers::discovery::Discover;
use crate::consumers::lambda_index;
use crate::event::change::{self, Change, Classified, CloudTrailEvent};
use crate::event::{Origin, Push};
use crate::image::digest::Digest;
use crate::image::manifest::Manifest;
use crate::image::media_type::MediaType;
use crate::image::platform::Platform;
use crate::image::ports::Registry;
use crate::image::resolve::{self, Outcome};
use crate::image::{Image, Repository};
use crate::judge::policy::{Decision, RequiredFrom, Requirement};
use crate::judge::verdict::Verdict;
use crate::util::error::Error;

impl<R: Registry, N: Notify, D: Discover> Guard<R, N, D> {
    /// Handles one CloudTrail event of a watched call and logs each verdict (one per image the
    /// consumer runs). An error means the invocation must fail (retry, then dead-letter queue).
    pub async fn handle_change(&self, event: &CloudTrailEvent) -> Result<Vec<Verdict>, Error> {
        let result = self.judge_change_event(event).await;
        match &result {
            Ok(verdicts) => verdicts.iter().for_each(log_verdict),
            Err(e) => tracing::error!(
                error = %e,
                retryable = e.is_retryable(),
                event_id = event.id.as_deref().unwrap_or(""),
                "consumer change failed; the invocation fails so that Lambda retries it"
            ),
        }
        result
    }

    async fn judge_change_event(&self, event: &CloudTrailEvent) -> Result<Vec<Verdict>, Error> {
        let change = match change::classify(event)? {
            Classified::Skip(reason) => return Ok(vec![Verdict::skipped(reason)]),
            Classified::Judge(c) => c,
        };
        match self.judge_change_once(&change, true).await {
            // Deleted since the call (or a call on something already gone): nothing runs it.
            Err(Error::NotFound(what)) => Ok(vec![self.not_judged(
                &change,
                &change.target.to_string(),
                format!("{} no longer exists ({what})", change.target),
            )]),
            other => other,
        }
    }

    /// [`Guard::judge_consumer`] once per event id: a second delivery (or a hook invoked again
    /// for the same request) gets the first one's verdicts, marked as such, and acts no more.
    pub(super) async fn judge_change_once(
        &self,
        change: &Change,
        act: bool,
    ) -> Result<Vec<Verdict>, Error> {
        if let Some(id) = &change.event_id {
            if let Some(mut previous) = self.changes.get(id) {
                for v in &mut previous {
                    v.mark_earlier_delivery(&format!(
                        "duplicate delivery of event {id}: already handled"
                    ));
                }
                return Ok(previous);
            }
        }
        let verdicts = self.judge_consumer(change, act).await?;
        if let Some(id) = &change.event_id {
            self.changes.insert(id.clone(), verdicts.clone());
        }
        Ok(verdicts)
    }

    /// Judges every image the consumer a change names runs now, against that consumer (the
    /// CLI's `consumer` with `act` false). One verdict per distinct image reference;
    /// [`Error::NotFound`] when the consumer does not exist.
    pub async fn judge_consumer(&self, change: &Change, act: bool) -> Result<Vec<Verdict>, Error> {
        let consumers = self.read_consumer(change).await?;
        if consumers.is_empty() {
            return Ok(vec![self.not_judged(
                change,
                &change.target.to_string(),
                format!(
                    "{} names no container image to judge (a .zip function, a source-code App \
                     Runner service, an ECS service whose task sets hold its task definitions)",
                    change.target
                ),
            )]);
        }
        let mut by_image: BTreeMap<&str, Vec<Consumer>> = BTreeMap::new();
        for c in &consumers {
            by_image.entry(&c.image).or_default().push(c.clone());
        }
        let mut verdicts = Vec::new();
        for (image, users) in by_image {
            verdicts.push(self.judge_image_for(change, image, &users, act).await?);
        }
        Ok(verdicts)
    }

    /// The consumer's state; for a Lambda call refused for its image, the function (or, when the
    /// refused call was its creation, Lambda's default x86_64) with the image it asked for.
    async fn read_consumer(&self, change: &Change) -> Result<Vec<Consumer>, Error> {
        let source = self.sources.discovery.source();
        let read = source.consumer(&change.scope, &change.target).await;
        self.index_change(change, &read).await;
        let Some(req) = &change.requested else {
            return read;
        };
        let current = match read {
            Err(Error::NotFound(_)) => Vec::new(),
            other => other?,
        };
        let arm = match &req.architectures {
            Some(a) => a.iter().any(|x| x.eq_ignore_ascii_case("arm64")),
            None => current
                .first()
                .and_then(|c| c.platform.as_ref())
                .is_some_and(|p| p.architecture == "arm64"),
        };
        let (arch, label) = if arm {
            ("arm64", "arm64")
        } else {
            ("amd64", "x86_64")
        };
        let name = current.first().map(|c| c.name.clone()).unwrap_or_else(|| {
            let t = change.target.to_string();
            t.rsplit([':', ' ']).next().unwrap_or(&t).to_string()
        });
        Ok(vec![Consumer {
            kind: ConsumerKind::LambdaFunction,
            arn: current.first().map(|c| c.arn.clone()).unwrap_or_default(),
            name,
            image: req.image.clone(),
            platform: Platform::from_parts("linux", arch, None),
            architecture_label: label.into(),
            detail: Some(format!("{} was refused: {}", change.event_name, req.error)),
        }])
    }

    /// Writes what was just read of the consumer into its slot of the consumer index, so the
    /// next push, in any environment, sees it. Never fails the event: the next refresh lists
    /// the consumer anyway.
    async fn index_change(&self, change: &Change, read: &Result<Vec<Consumer>, Error>) {
        let Some(slot) = change.target.slot() else {
            return;
        };
        let state = match read {
            Ok(found) => found.clone(),
            Err(Error::NotFound(_)) => Vec::new(),
            Err(_) => return,
        };
        let discovery = &self.sources.discovery;
        match discovery.record_change(&change.scope, &slot, state).await {
            Ok(true) => {
                tracing::info!(slot = %slot.id, kind = %slot.kind, "consumer index updated")
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(
                error = %e,
                slot = %slot.id,
                "consumer index not updated; the next refresh lists this consumer anyway"
            ),
        }
    }

    /// A verdict that judges nothing, with the reason and the change.
    fn not_judged(&self, change: &Change, consumer: &str, reason: String) -> Verdict {
        let mut v = Verdict::skipped(reason);
        v.change = Some(change.report(consumer));
        v
    }

    /// One image reference of the consumer, judged against the platforms of `users` (the
    /// consumer's entries naming it: several on mixed EC2 capacity).
    pub(super) async fn judge_image_for(
        &self,
        change: &Change,
        reference: &str,
        users: &[Consumer],
        act: bool,
    ) -> Result<Verdict, Error> {
        let who = format!("{} {}", users[0].kind, users[0].name);
        let skip = |reason: String| {
            let mut v = self.not_judged(change, &who, reason);
            v.consumers = consumer::reports(users, &[]);
            v
        };
        let Some(mut image) = Image::parse_ecr_uri(reference) else {
            return Ok(skip(format!(
                "{reference} is not an Amazon ECR image (Docker Hub, ECR Public, GHCR, ...): \
                 not judged"
            )));
        };
        if image.digest.is_none() {
            // The tag is resolved by reading its manifest (BatchGetImage by tag): its digest is
            // computed from the bytes, and the bytes are resolved right here, so the image
            // costs no second manifest read.
            let tag = image.tag.clone().unwrap_or_else(|| "latest".into());
            match self.resolve_tag(&image.repository, &tag).await {
                Ok((digest, media_type)) => {
                    image.digest = Some(digest);
                    image.media_type = media_type;
                }
                Err(e) => return self.unreadable_image(e, reference, skip),
            }
        }
        let push = Push::new(change.event_id.clone(), image, Origin::Push)
            .ok_or_else(|| Error::Malformed(format!("{reference}: no digest")))?;
        let resolution = match self.read(&push, false).await {
            Ok(Ok(r)) => r,
            Ok(Err(reason)) => return Ok(skip(reason)),
            Err(e) => return self.unreadable_image(e, reference, skip),
        };
        let required = consumer::required_platforms(users);
        let mut warnings: Vec<String> = users
            .iter()
            .filter(|c| c.platform.is_none())
            .map(|c| {
                format!(
                    "{} {}: architecture unknown ({}); not judged for it",
                    c.kind,
                    c.name,
                    c.detail.as_deref().unwrap_or("not reported")
                )
            })
            .collect();
        if required.is_empty() {
            let mut v = skip(format!(
                "the architecture of {who} cannot be told: {}",
                warnings.join("; ")
            ));
            v.set_image(&push.image);
            return Ok(v);
        }
        // The CLI's `--require` (plan) overrides what the consumer needs, as it overrides every
        // other source for `check`.
        let decision = Decision::Check(match &self.settings.require {
            Some(platforms) => Requirement {
                platforms: platforms.clone(),
                from: RequiredFrom::Flag,
            },
            None => Requirement {
                platforms: required,
                from: RequiredFrom::Consumers,
            },
        });
        let mut verdict = Verdict::judge(&resolution, &decision);
        verdict.set_image(&push.image);
        self.deep_check(&push.image.repository, &resolution, &mut verdict)
            .await;
        verdict.change = Some(change.report(&who));
        let lambda = lambda_index::uses(&resolution, users);
        if matches!(resolution.outcome, Outcome::Image(_)) {
            verdict.consumers = consumer::reports(users, &verdict.platforms);
            if !lambda.is_empty() {
                warnings.push(lambda_index::warning(&resolution, &lambda));
            }
        }
        verdict.warnings.extend(warnings);
        let wrong = matches!(
            verdict.verdict,
            crate::judge::verdict::VerdictKind::Mismatch
                | crate::judge::verdict::VerdictKind::Mislabelled
        );
        if act && (wrong || !lambda.is_empty()) {
            self.actor().alert(&push, &lambda, &mut verdict).await?;
        }
        Ok(verdict)
    }

    /// The digest and media type `repository:tag` points at now, its resolution kept in the
    /// warm cache.
    async fn resolve_tag(
        &self,
        repository: &Repository,
        tag: &str,
    ) -> Result<(Digest, Option<MediaType>), Error> {
        let key = format!(
            "{}/{}/{}:{tag}",
            repository.registry.account.as_deref().unwrap_or(""),
            repository.registry.region.as_deref().unwrap_or(""),
            repository.name
        );
        if !self.tag_ttl.is_zero() {
            if let Some(hit) = self.tags.get_fresh(&key, self.tag_ttl) {
                return Ok(hit);
            }
        }
        let max = self.limits.max_manifest_bytes;
        let fetched = self.registry.manifest_by_tag(repository, tag, max).await?;
        let digest = Digest::of(&fetched.bytes);
        if self.resolutions.get(&digest).is_none() {
            let manifest = Manifest::parse(&fetched.bytes, fetched.media_type.as_deref())?;
            let src = self.reads.fetch(&self.registry, repository);
            let r = resolve::resolve_parsed(
                &src,
                digest.clone(),
                manifest,
                fetched.bytes,
                &self.limits,
            )
            .await?;
            self.resolutions.insert(digest.clone(), Arc::new(r));
        }
        if !self.tag_ttl.is_zero() {
            self.tags
                .insert(key, (digest.clone(), fetched.media_type.clone()));
        }
        Ok((digest, fetched.media_type))
    }

    /// An image the consumer names that cannot be read: not there (the consumer cannot pull
    /// it either), or in an account this guard cannot read, is said in the verdict; anything
    /// else (throttling, an outage) fails the event so it is retried.
    fn unreadable_image(
        &self,
        e: Error,
        reference: &str,
        skip: impl Fn(String) -> Verdict,
    ) -> Result<Verdict, Error> {
        match e {
            Error::NotFound(what) => Ok(skip(format!(
                "{reference} does not exist ({what}): the consumer cannot pull it \
                 (CannotPullContainerError), whatever its architecture"
            ))),
            Error::AccountUnreadable { account, reason } => Ok(skip(format!(
                "{reference} is in account {account}, which this guard cannot read: {reason}"
            ))),
            Error::Permanent(m) if m.contains("AccessDenied") => Ok(skip(format!(
                "{reference} cannot be read with the guard's permissions: {m}"
            ))),
            other => Err(other),
        }
    }
}
