//! Stage 8 — the guard's pipeline, its settings, inputs, actions and metrics. May import every
//! stage below (`util` … `gate`).
//!
//! The guard: an ECR event → the image read → what decides → the verdict → the actions (a
//! consumer change takes the same steps from `handler/consumer_change.rs`). Each
//! step lives in its own module ([`crate::event`], [`crate::image::resolve`], [`crate::handler::inputs`],
//! [`crate::judge::policy`], [`crate::judge::verdict`], [`crate::handler::actions`]); this file is the pipeline and its
//! warm caches.

use std::sync::Arc;

pub mod actions;
pub mod inputs;
pub mod metrics;
pub mod settings;

pub use answer::Answer;

use crate::act::message::Notify;
use crate::consumers::consumer;
use crate::consumers::discovery::{Discover, Discovery, NoDiscovery};
use crate::consumers::lambda_index;
use crate::event::change::{self, CloudTrailEvent};
use crate::event::{self, Classified, EcrEvent, Push};
use crate::handler::actions::Actor;
use crate::handler::inputs::Sources;
use crate::handler::settings::Settings;
use crate::image::digest::Digest;
use crate::image::manifest::Manifest;
use crate::image::media_type::MediaType;
use crate::image::ports::Registry;
use crate::image::reads::Reads;
use crate::image::resolve::{self, Limits, Outcome, Resolution};
use crate::judge::policy::{self, Consumers, Inputs};
use crate::judge::verdict::Verdict;
use crate::util::cache::Cache;
use crate::util::error::Error;

mod answer;
mod consumer_change;
mod deep;
mod deployment_watch;
mod gate;
mod index;
mod skips;
mod task_stop;

pub use index::scheduled;

/// How many digests and events a warm environment remembers.
const CACHE_ENTRIES: usize = 512;

/// How many read-ahead manifests and config blobs a warm environment keeps (a push reads its
/// config once; the scan asks for more with [`Guard::with_cache_entries`]).
const READS_ENTRIES: usize = 32;

/// The guard with its ports and its warm-environment caches.
pub struct Guard<R: Registry, N: Notify, D: Discover = NoDiscovery> {
    pub settings: Settings,
    pub limits: Limits,
    registry: R,
    notifier: N,
    sources: Sources<D>,
    resolutions: Cache<Digest, Arc<Resolution>>,
    /// Manifests read ahead in batches, config blobs read once per digest.
    reads: Reads,
    handled: Cache<String, Verdict>,
    /// The verdicts of consumer changes already handled, by event id.
    changes: Cache<String, Vec<Verdict>>,
    /// Deep checks done, by digest and required platforms.
    deep_checks: Cache<String, Arc<Vec<crate::binary::deep::DeepCheck>>>,
    /// One alert per event across environments ([`crate::act::alert_claim`]).
    claims: Option<crate::act::alert_claim::AlertClaims>,
    /// What a tag pointed at, kept for [`Guard::with_tag_cache`]'s time (off: every proposal
    /// naming a tag resolves it again, as a hook must).
    tags: Cache<String, (Digest, Option<MediaType>)>,
    tag_ttl: std::time::Duration,
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
            sources: Sources::new(Discovery::new(settings.discovery.clone(), source)),
            settings,
            limits: Limits::default(),
            registry,
            notifier,
            resolutions: Cache::new(CACHE_ENTRIES),
            reads: Reads::new(READS_ENTRIES),
            handled: Cache::new(CACHE_ENTRIES),
            changes: Cache::new(CACHE_ENTRIES),
            deep_checks: Cache::new(READS_ENTRIES),
            claims: None,
            tags: Cache::new(CACHE_ENTRIES),
            tag_ttl: std::time::Duration::ZERO,
        }
    }

    /// Resolves each `repository:tag` once per `ttl` (the CLI's `plan`: one read per image
    /// however many resources name it; a plan judges one moment).
    pub fn with_tag_cache(mut self, ttl: std::time::Duration) -> Self {
        self.tag_ttl = ttl;
        self
    }

    /// Claims each alert in `store` first, so two deliveries of one event alert once.
    pub fn with_alert_claims(
        mut self,
        store: Arc<dyn crate::act::alert_claim::ClaimStore>,
    ) -> Self {
        self.claims = Some(crate::act::alert_claim::AlertClaims::new(store));
        self
    }

    /// Reads consumers from the consumer index in `store` (and writes consumer changes to it).
    pub fn with_consumer_index(
        mut self,
        store: Arc<dyn crate::consumers::index_store::IndexStore>,
    ) -> Self {
        self.sources.discovery = self.sources.discovery.with_index(store);
        self
    }

    pub fn registry(&self) -> &R {
        &self.registry
    }

    /// Remembers up to `entries` resolved digests, manifests read ahead and config blobs (an
    /// audit judges thousands of images; a warm Lambda keeps [`CACHE_ENTRIES`] digests and
    /// [`READS_ENTRIES`] reads).
    pub fn with_cache_entries(mut self, entries: usize) -> Self {
        self.resolutions = Cache::new(entries);
        self.reads = Reads::new(entries);
        self.tags = Cache::new(entries);
        self
    }

    /// Reads the manifests of `digests` in `repo` in as few calls as the registry allows, for
    /// the [`Guard::check`]s that follow (the scan, a repository at a time). Digests already
    /// resolved are not read again.
    pub async fn read_ahead(&self, repo: &crate::image::Repository, digests: &[Digest]) {
        let unread: Vec<Digest> = digests
            .iter()
            .filter(|d| self.resolutions.get(d).is_none())
            .cloned()
            .collect();
        if !unread.is_empty() {
            self.reads
                .read_ahead(
                    &self.registry,
                    repo,
                    &unread,
                    self.limits.max_manifest_bytes,
                )
                .await;
        }
    }

    /// Handles one event and logs the verdict as one line. An error means the invocation must
    /// fail (so Lambda retries and the event ends in the dead-letter queue).
    pub async fn handle(&self, event: &EcrEvent) -> Result<Verdict, Error> {
        let result = self.judge_event(event).await;
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

    /// Any event the Lambda receives: an ECR event (one verdict), a consumer change, "AWS API
    /// Call via CloudTrail" (one verdict per image the consumer runs), or a deployment gate's
    /// hook (CloudFormation Lambda Hook, ECS lifecycle hook: always answered, never an error).
    pub async fn handle_any(&self, event: serde_json::Value) -> Result<Answer, Error> {
        let malformed = |e: serde_json::Error| {
            let e = Error::Malformed(format!("the event is not an EventBridge event: {e}"));
            tracing::error!(error = %e, "event failed; the invocation fails");
            e
        };
        if let Some(kind) = crate::gate::recognise(&event) {
            return Ok(Answer::Gate(Box::new(self.handle_gate(kind, event).await)));
        }
        if crate::event::ecs_task::recognise(&event) {
            return Ok(Answer::Change(self.explain_task_stop(&event).await?));
        }
        if crate::event::ecs_deployment::recognise(&event) {
            return Ok(Answer::Watch(Box::new(
                self.watch_deployment(&event).await?,
            )));
        }
        if let Some(home) = index::scheduled(&event) {
            return Ok(Answer::Refresh(self.refresh_index(&home).await?));
        }
        if event.get("detail-type").and_then(|d| d.as_str()) == Some(change::DETAIL_TYPE) {
            let event: CloudTrailEvent = serde_json::from_value(event).map_err(malformed)?;
            Ok(Answer::Change(self.handle_change(&event).await?))
        } else {
            let event: EcrEvent = serde_json::from_value(event).map_err(malformed)?;
            Ok(Answer::Push(Box::new(self.handle(&event).await?)))
        }
    }

    /// Judges an image asked for by name (the CLI's `check` and `scan`): the same reads, policy
    /// and actions as for a push event, without the event-only skips (untagged children, marker
    /// tags, duplicate deliveries). An image that is not there is an error. Not logged; the
    /// caller prints the verdict.
    pub async fn check(&self, push: &Push) -> Result<Verdict, Error> {
        Ok(self.judge(push, false).await?.0)
    }

    /// [`Guard::check`], with the manifests the image refers to when it is an index (judged
    /// with it: the scan leaves them out).
    pub async fn check_with_children(&self, push: &Push) -> Result<(Verdict, Vec<Digest>), Error> {
        let (verdict, resolution) = self.judge(push, false).await?;
        let children = resolution
            .map(|r| r.children.iter().map(|c| c.digest.clone()).collect())
            .unwrap_or_default();
        Ok((verdict, children))
    }

    async fn judge_event(&self, event: &EcrEvent) -> Result<Verdict, Error> {
        let push = match event::classify(event)? {
            Classified::Skip(reason) => return Ok(skipped_event(event, reason)),
            Classified::Inspect(push) => push,
        };
        if let Some(reason) = self.skip_unread(&push) {
            return Ok(skipped(&push, reason));
        }
        if let Some(previous) = self.already_handled(&push) {
            return Ok(previous);
        }
        let verdict = match self.judge(&push, true).await.map(|(v, _)| v) {
            Err(Error::NotFound(what)) => {
                let reason = format!("image deleted before it could be read ({what})");
                return Ok(skipped(&push, reason));
            }
            Err(Error::AccountUnreadable { account, reason }) => {
                self.actor().unreadable(&push, &account, &reason).await?
            }
            other => other?,
        };
        if let Some(id) = &push.event_id {
            self.handled.insert(id.clone(), verdict.clone());
        }
        Ok(verdict)
    }

    /// Read → what decides → decide → verdict → act. `event`: the image came as an event, so
    /// the guard's own marker tags are recognised and not judged again.
    async fn judge(
        &self,
        push: &Push,
        event: bool,
    ) -> Result<(Verdict, Option<Arc<Resolution>>), Error> {
        let resolution = match self.read(push, true).await? {
            Ok(r) => r,
            Err(reason) => return Ok((skipped(push, reason), None)),
        };
        if event {
            if let Some(reason) = self.own_marker(push, &resolution) {
                return Ok((skipped(push, reason), Some(resolution)));
            }
        }
        let is_image = matches!(resolution.outcome, Outcome::Image(_));
        let found = self
            .sources
            .read(&self.registry, &self.settings, &push.image, is_image)
            .await?;
        let decision = self.decide(push, &found);
        let mut verdict = Verdict::judge(&resolution, &decision);
        verdict.set_image(&push.image);
        verdict.warnings = found.warnings;
        self.deep_check(&push.image.repository, &resolution, &mut verdict)
            .await;
        let lambda = lambda_index::uses(&resolution, &found.consumers);
        if is_image {
            verdict.consumers = consumer::reports(&found.consumers, &verdict.platforms);
            if !lambda.is_empty() {
                verdict
                    .warnings
                    .push(lambda_index::warning(&resolution, &lambda));
            }
        }
        self.actor()
            .act(push, &resolution, &lambda, &mut verdict)
            .await?;
        Ok((verdict, Some(resolution)))
    }

    /// The policy's decision: flag > repository tag > consumers > rules > default.
    fn decide(&self, push: &Push, found: &inputs::Found) -> policy::Decision {
        let consumer_platforms = consumer::required_platforms(&found.consumers);
        policy::decide(
            &push.image.repository.name,
            &Inputs {
                flag: self.settings.require.as_deref(),
                repository_tag: found.repository_tag.as_ref(),
                consumers: self.sources.discovery.enabled().then_some(Consumers {
                    platforms: &consumer_platforms,
                    complete: found.complete,
                }),
                rules: &self.settings.rules,
                default: &self.settings.required,
            },
        )
    }

    fn actor(&self) -> Actor<'_, R, N> {
        Actor {
            settings: &self.settings,
            registry: &self.registry,
            notifier: &self.notifier,
            claims: self.claims.as_ref(),
        }
    }

    /// Reads and resolves the pushed digest, from the warm cache when possible; `Err(reason)`
    /// when it turns out to be an untagged child (only looked for with `children`: a push).
    async fn read(
        &self,
        push: &Push,
        children: bool,
    ) -> Result<Result<Arc<Resolution>, String>, Error> {
        let untagged_child = |single| {
            if children {
                self.untagged_child(push, Some(single))
            } else {
                None
            }
        };
        if let Some(r) = self.resolutions.get(push.digest()) {
            return Ok(match untagged_child(!r.is_index()) {
                Some(reason) => Err(reason),
                None => Ok(r),
            });
        }
        let src = self.reads.fetch(&self.registry, &push.image.repository);
        let hint = push.image.media_type.as_deref();
        let (manifest, bytes) =
            resolve::fetch_manifest(&src, push.digest(), hint, &self.limits).await?;
        let single = !matches!(manifest, Manifest::Index { .. });
        if let Some(reason) = untagged_child(single) {
            return Ok(Err(reason));
        }
        let r = Arc::new(
            resolve::resolve_parsed(&src, push.digest().clone(), manifest, bytes, &self.limits)
                .await?,
        );
        self.resolutions.insert(push.digest().clone(), r.clone());
        Ok(Ok(r))
    }
}

fn skipped(push: &Push, reason: String) -> Verdict {
    let mut v = Verdict::skipped(reason);
    v.set_image(&push.image);
    v
}

fn skipped_event(event: &EcrEvent, reason: String) -> Verdict {
    let mut v = Verdict::skipped(reason);
    v.repository = event.detail.repository_name.clone();
    v.tag = event.detail.image_tag.clone().filter(|t| !t.is_empty());
    v.digest = event.detail.image_digest.clone();
    v.media_type = event
        .detail
        .manifest_media_type
        .as_deref()
        .map(MediaType::from);
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
