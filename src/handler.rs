//! The guard: ECR push event → verdict → actions. Glue only; every rule lives in the core.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::alert;
use crate::consumer::{self, Consumer};
use crate::digest::Digest;
use crate::discovery::{Discover, Discovery, Service};
use crate::error::Error;
use crate::event::{self, Classified, EcrEvent, Origin, Push};
use crate::image::{RegistryId, Repository};
use crate::lambda_index::{self, LambdaIndexUse};
use crate::manifest::Manifest;
use crate::platform;
use crate::policy::{self, Consumers, Inputs, RequiredFrom, Setting, REPOSITORY_TAG_KEY};
use crate::ports::{Notify, Registry, RepoFetch, TagOutcome};
use crate::resolve::{self, Limits, Resolution};
use crate::settings::{Replication, Settings};
use crate::verdict::{ActionReport, Verdict, VerdictKind};

/// How many digests and events a warm environment remembers.
const CACHE_ENTRIES: usize = 512;

/// The guard with its ports and its warm-environment caches.
pub struct Guard<R: Registry, N: Notify, D: Discover = NoDiscovery> {
    pub settings: Settings,
    pub limits: Limits,
    registry: R,
    notifier: N,
    discovery: Discovery<D>,
    resolutions: Mutex<HashMap<Digest, Arc<Resolution>>>,
    policies: Mutex<HashMap<Repository, (Instant, Option<Setting>)>>,
    handled: Mutex<HashMap<String, Verdict>>,
}

enum Read {
    Resolved(Arc<Resolution>),
    Skip(String),
}

/// A [`Discover`] for guards without discovery: no service, no consumer.
pub struct NoDiscovery;

impl Discover for NoDiscovery {
    async fn consumers(&self, _: &RegistryId, service: Service) -> Result<Vec<Consumer>, Error> {
        Err(Error::Permanent(format!(
            "discovery of {service} is not available in this build of the guard"
        )))
    }
}

impl<R: Registry, N: Notify> Guard<R, N, NoDiscovery> {
    /// A guard without discovery (consumers never decide).
    pub fn new(mut settings: Settings, registry: R, notifier: N) -> Self {
        settings.discovery.services.clear();
        Guard::with_discovery(settings, registry, notifier, NoDiscovery)
    }
}

impl<R: Registry, N: Notify, D: Discover> Guard<R, N, D> {
    /// A guard that discovers consumers of the services in `settings.discovery` through `source`.
    pub fn with_discovery(settings: Settings, registry: R, notifier: N, source: D) -> Self {
        Guard {
            discovery: Discovery::new(settings.discovery.clone(), source),
            settings,
            limits: Limits::default(),
            registry,
            notifier,
            resolutions: Mutex::new(HashMap::new()),
            policies: Mutex::new(HashMap::new()),
            handled: Mutex::new(HashMap::new()),
        }
    }

    pub fn registry(&self) -> &R {
        &self.registry
    }

    /// The resolution of a digest already read by this guard, if it is still cached.
    pub fn cached_resolution(&self, digest: &Digest) -> Option<Arc<Resolution>> {
        lock(&self.resolutions).get(digest).cloned()
    }

    /// Handles one event and logs the verdict as one line. An error means the invocation must
    /// fail (so Lambda retries and the event ends in the dead-letter queue).
    pub async fn handle(&self, event: &EcrEvent) -> Result<Verdict, Error> {
        let result = self.judge(event).await;
        match &result {
            Ok(v) => log_verdict(v),
            Err(e) => tracing::error!(
                error = %e,
                retryable = e.is_retryable(),
                event_id = event.id.as_deref().unwrap_or(""),
                "event failed; the invocation fails so that Lambda retries it"
            ),
        }
        result
    }

    async fn judge(&self, event: &EcrEvent) -> Result<Verdict, Error> {
        let push = match event::classify(event)? {
            Classified::Skip(reason) => return Ok(skipped_event(event, reason)),
            Classified::Inspect(push) => push,
        };
        let skip = |reason: String| Ok(with_push(Verdict::skipped(reason), &push));
        if let (Some(from), Replication::Off) = (push.origin.describe(), self.settings.replication)
        {
            return skip(format!(
                "{from}: replicated images are not judged (REPLICATION=off)"
            ));
        }
        if self.untagged_child_skipped(&push, push.is_single_manifest()) {
            return skip(untagged_reason());
        }
        if let Some(previous) = self.already_handled(&push) {
            return Ok(previous);
        }
        let verdict = match self.evaluate(&push, true).await {
            Err(Error::NotFound(what)) => {
                return skip(format!("image deleted before it could be read ({what})"));
            }
            Err(Error::AccountUnreadable { account, reason }) => {
                self.unreadable(&push, &account, &reason).await?
            }
            other => other?,
        };
        self.remember(&push, &verdict);
        Ok(verdict)
    }

    /// Judges an image asked for by name (the CLI's `check` and `scan`): the same reads, policy
    /// and actions as for a push event, without the event-only skips (untagged children, marker
    /// tags, duplicate deliveries). An image that is not there is an error. Not logged; the
    /// caller prints the verdict.
    pub async fn check(&self, push: &Push) -> Result<Verdict, Error> {
        self.evaluate(push, false).await
    }

    /// Reads, decides and acts. `event`: the push came as an event, so the guard's own marker
    /// tags are recognised and not judged again.
    async fn evaluate(&self, push: &Push, event: bool) -> Result<Verdict, Error> {
        let skip = |reason: String| Ok(with_push(Verdict::skipped(reason), push));
        let repo = &push.image.repository;
        let resolution = match self.read(repo, push).await {
            Ok(Read::Resolved(r)) => r,
            Ok(Read::Skip(reason)) => return skip(reason),
            Err(e) => return Err(e),
        };
        if event {
            if let Some(reason) = self.own_marker(push, &resolution) {
                return skip(reason);
            }
        }
        let mut warnings = Vec::new();
        let is_image = matches!(resolution.outcome, resolve::Outcome::Image(_));
        let repository_tag = if is_image {
            self.repository_setting(repo, &mut warnings).await?
        } else {
            None
        };
        let (found, complete) = if is_image && repository_tag != Some(Setting::Off) {
            self.consumers(push, &mut warnings).await
        } else {
            (Vec::new(), true)
        };
        let consumer_platforms = consumer::required_platforms(&found);
        let decision = policy::decide(
            &repo.name,
            &Inputs {
                flag: self.settings.require.as_deref(),
                repository_tag: repository_tag.as_ref(),
                consumers: self.discovery.enabled().then_some(Consumers {
                    platforms: &consumer_platforms,
                    complete,
                }),
                rules: &self.settings.rules,
                default: &self.settings.required,
            },
        );
        let mut verdict = with_push(Verdict::judge(&resolution, &decision), push);
        let mut lambda = Vec::new();
        if is_image {
            verdict.consumers = consumer::reports(&found, &verdict.platforms);
            lambda = lambda_index::uses(&resolution, &found);
            if !lambda.is_empty() {
                warnings.push(lambda_index::warning(&resolution, &lambda));
            }
        }
        let act = verdict.verdict == VerdictKind::Mismatch || !lambda.is_empty();
        if act && !self.acts_here(push, &verdict, &lambda) {
            warnings.push(format!(
                "{}: judged against the rules and default, as the guard of the region it was \
                 pushed to did, which reports it; no alert or tag here (REPLICATION=local-policy; \
                 judge acts in every region)",
                push.origin.describe().unwrap_or_default()
            ));
            verdict.warnings = warnings;
            return Ok(verdict);
        }
        verdict.warnings = warnings;
        if verdict.verdict == VerdictKind::Mismatch {
            self.tag(repo, push, &resolution, &mut verdict).await;
        }
        if act {
            self.alert(push, &lambda, &mut verdict).await?;
        }
        Ok(verdict)
    }

    /// Whether the guard acts (alert, tag) on this verdict in this region. Always for a push;
    /// for a replicated image with `REPLICATION=local-policy`, only when what decided is this
    /// region's own: its repository tag or its consumers (a Lambda function here that cannot use
    /// an index included). Rules and default were already applied, and reported, where the
    /// image was pushed.
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

    /// The consumers of the pushed image, and whether every enabled service could be listed.
    async fn consumers(&self, push: &Push, warnings: &mut Vec<String>) -> (Vec<Consumer>, bool) {
        if !self.discovery.enabled() {
            return (Vec::new(), true);
        }
        let snapshot = self
            .discovery
            .snapshot(&push.image.repository.registry)
            .await;
        for (service, reason) in &snapshot.unknown {
            warnings.push(format!(
                "consumers in {service} are unknown ({reason}); the consumers found do not decide alone"
            ));
        }
        let found = consumer::matching(&snapshot.consumers, &push.image, self.settings.match_scope);
        for c in found.iter().filter(|c| c.platform.is_none()) {
            warnings.push(format!(
                "{} {} runs on capacity of unknown architecture ({}); the consumers found do not decide alone",
                c.kind,
                c.name,
                c.detail.as_deref().unwrap_or("not reported")
            ));
        }
        let complete = snapshot.complete() && consumer::all_known(&found);
        (found, complete)
    }

    /// Organisation mode, the member account cannot be read: its own alert ("cannot read
    /// account X"), a `skipped` verdict that says why, and no retry (it would only repeat the
    /// alert). Without the alert action the error fails the invocation: never a silent pass.
    async fn unreadable(&self, push: &Push, account: &str, reason: &str) -> Result<Verdict, Error> {
        tracing::error!(
            account,
            reason,
            "cannot read the member account; the push is not checked"
        );
        let mut v = with_push(
            Verdict::skipped(format!("cannot read account {account}: {reason}")),
            push,
        );
        if !self.settings.actions.alert {
            return Err(Error::AccountUnreadable {
                account: account.to_string(),
                reason: reason.to_string(),
            });
        }
        let topic = self.settings.alert_topic_arn.clone();
        if self.settings.dry_run {
            v.actions.push(report("alert", "would-send", topic));
        } else {
            self.notifier
                .publish(&alert::unreadable(&push.image, reason))
                .await?;
            v.actions.push(report("alert", "sent", topic));
        }
        Ok(v)
    }

    /// Why the pushed tag is the guard's own marker for this very image (its push event coming
    /// back), or `None`. Exact: `{arch}` must be the image's architectures, whatever they are, so
    /// no marker is ever judged and tagged again and no user tag is mistaken for one.
    fn own_marker(&self, push: &Push, r: &Resolution) -> Option<String> {
        let tag = push.image.tag.as_deref()?;
        let template = &self.settings.tag_template;
        let archs = platform::architectures(&r.platforms());
        (template.could_be_marker(tag) && template.is_marker_for(tag, push.digest(), &archs)).then(
            || {
                format!(
                    "tag {tag:?} is the ecr-arch-guard marker tag of this image (template {:?}); not judged again",
                    template.as_str()
                )
            },
        )
    }

    fn untagged_child_skipped(&self, push: &Push, single: Option<bool>) -> bool {
        push.image.tag.is_none() && !self.settings.inspect_untagged && single == Some(true)
    }

    /// Reads and resolves the pushed digest, from the warm cache when possible.
    async fn read(&self, repo: &Repository, push: &Push) -> Result<Read, Error> {
        if let Some(r) = lock(&self.resolutions).get(push.digest()).cloned() {
            if self.untagged_child_skipped(push, Some(!r.is_index())) {
                return Ok(Read::Skip(untagged_reason()));
            }
            return Ok(Read::Resolved(r));
        }
        let src = RepoFetch {
            registry: &self.registry,
            repo,
        };
        let hint = push.image.media_type.as_deref();
        let (manifest, bytes) =
            resolve::fetch_manifest(&src, push.digest(), hint, &self.limits).await?;
        let single = !matches!(manifest, Manifest::Index { .. });
        if self.untagged_child_skipped(push, Some(single)) {
            return Ok(Read::Skip(untagged_reason()));
        }
        let r = Arc::new(
            resolve::resolve_parsed(&src, push.digest().clone(), manifest, bytes, &self.limits)
                .await?,
        );
        let mut cache = lock(&self.resolutions);
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(push.digest().clone(), r.clone());
        Ok(Read::Resolved(r))
    }

    /// The repository's `ecr-arch-guard:platforms` tag, cached for the policy TTL. A transient
    /// failure fails the event (it will be retried); a permanent one (e.g. access denied) is a
    /// warning and the next policy source decides.
    async fn repository_setting(
        &self,
        repo: &Repository,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Setting>, Error> {
        if let Some((at, s)) = lock(&self.policies).get(repo) {
            if at.elapsed() < self.settings.policy_ttl {
                return Ok(s.clone());
            }
        }
        let tags = match self.registry.repository_tags(repo).await {
            Ok(t) => t,
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => {
                warnings.push(format!(
                    "could not read the repository's {REPOSITORY_TAG_KEY} tag ({e}); rules and default decide"
                ));
                return Ok(None);
            }
        };
        let setting = match tags.iter().find(|(k, _)| k == REPOSITORY_TAG_KEY) {
            None => None,
            Some((_, v)) => match Setting::parse(v) {
                Ok(s) => Some(s),
                Err(e) => {
                    let warning = format!(
                        "repository tag {REPOSITORY_TAG_KEY}={v:?} is invalid ({e}); ignored, \
                         rules and default decide (write platforms separated by spaces or +, \
                         e.g. \"linux/amd64 linux/arm64\", or off)"
                    );
                    tracing::warn!(repository = %repo.name, value = %v, "{warning}");
                    warnings.push(warning);
                    None
                }
            },
        };
        let mut cache = lock(&self.policies);
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(repo.clone(), (Instant::now(), setting.clone()));
        Ok(setting)
    }

    /// The marker tag on a mismatched image, before the alert (so the alert can say what
    /// happened to it). A failure is reported in the verdict and never stops the alert.
    async fn tag(&self, repo: &Repository, push: &Push, r: &Resolution, verdict: &mut Verdict) {
        let dry = self.settings.dry_run;
        if self.settings.actions.tag {
            let archs = verdict.architecture_list();
            let report = match self.settings.tag_template.render(
                push.image.tag.as_deref(),
                push.digest(),
                &archs,
            ) {
                marker if push.image.tag.as_deref() == Some(marker.as_str()) => {
                    report("tag", "already-tagged", Some(marker))
                }
                marker if dry => report("tag", "would-tag", Some(marker)),
                marker => match self
                    .registry
                    .put_tag(
                        repo,
                        &r.manifest_bytes,
                        &r.media_type,
                        push.digest(),
                        &marker,
                    )
                    .await
                {
                    Ok(TagOutcome::Tagged) => report("tag", "tagged", Some(marker)),
                    Ok(TagOutcome::AlreadyTagged) => report("tag", "already-tagged", Some(marker)),
                    Err(e) => {
                        tracing::warn!(error = %e, tag = %marker, "marker tag failed; the alert still goes out");
                        failed("tag", format!("{marker}: {e}"))
                    }
                },
            };
            verdict.actions.push(report);
        }
    }

    /// The alert for a mismatch and/or an index a Lambda function cannot use. An alert that
    /// cannot be sent fails the event (retry, then the dead-letter queue).
    async fn alert(
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
            verdict.actions.push(report("alert", "would-send", topic));
            return Ok(());
        }
        // The alert's JSON shows the action as sent: it is, if this returns Ok.
        let mut shown = verdict.clone();
        shown.actions.push(report("alert", "sent", topic.clone()));
        let alert = alert::compose(&shown, &push.image, lambda);
        self.notifier.publish(&alert).await?;
        verdict.actions.push(report("alert", "sent", topic));
        Ok(())
    }

    fn already_handled(&self, push: &Push) -> Option<Verdict> {
        let id = push.event_id.as_ref()?;
        let mut v = lock(&self.handled).get(id).cloned()?;
        v.reason = Some(format!(
            "duplicate delivery of event {id}: already handled ({})",
            v.reason.unwrap_or_default()
        ));
        for a in &mut v.actions {
            a.status = format!("{} (earlier delivery)", a.status);
        }
        Some(v)
    }

    fn remember(&self, push: &Push, verdict: &Verdict) {
        if let Some(id) = &push.event_id {
            let mut done = lock(&self.handled);
            if done.len() >= CACHE_ENTRIES {
                done.clear();
            }
            done.insert(id.clone(), verdict.clone());
        }
    }
}

fn untagged_reason() -> String {
    "untagged single-image push: a child of a multi-platform push, judged with its index \
     (set INSPECT_UNTAGGED=true for repositories that push by digest)"
        .to_string()
}

fn report(action: &str, status: &str, detail: Option<String>) -> ActionReport {
    ActionReport {
        action: action.into(),
        status: status.into(),
        detail,
    }
}

fn failed(action: &str, detail: String) -> ActionReport {
    report(action, "failed", Some(detail))
}

fn with_push(mut v: Verdict, push: &Push) -> Verdict {
    v.set_image(&push.image);
    v
}

fn skipped_event(event: &EcrEvent, reason: String) -> Verdict {
    let mut v = Verdict::skipped(reason);
    v.repository = event.detail.repository_name.clone();
    v.tag = event.detail.image_tag.clone().filter(|t| !t.is_empty());
    v.digest = event.detail.image_digest.clone();
    v.media_type = event.detail.manifest_media_type.clone();
    v
}

fn log_verdict(v: &Verdict) {
    let json = serde_json::to_string(v).unwrap_or_default();
    tracing::info!(
        verdict = %v.verdict,
        repository = v.repository.as_deref().unwrap_or(""),
        tag = v.tag.as_deref().unwrap_or(""),
        digest = v.digest.as_deref().unwrap_or(""),
        detail = %json,
        "verdict"
    );
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding a cache lock cannot leave it inconsistent in a way that matters:
    // recover the data rather than fail every later event.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
