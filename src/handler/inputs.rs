//! What the policy decides from, read for one image: the repository's own
//! `ecr-arch-guard:platforms` tag (cached for the policy TTL) and the consumers discovery
//! finds (cached snapshots), with the warnings reading them raised.

use std::sync::Arc;
use std::time::Duration;

use crate::consumers::consumer::{self, Consumer};
use crate::consumers::discovery::{Discover, Discovery};
use crate::handler::settings::Settings;
use crate::image::ports::Registry;
use crate::image::{Image, Repository};
use crate::judge::policy::{Setting, REPOSITORY_TAG_KEY};
use crate::util::cache::Cache;
use crate::util::error::Error;

/// How many repositories' tags a warm environment remembers.
const REPOSITORIES: usize = 512;

/// How the warning about a service whose consumers could not be listed starts.
const UNKNOWN_SERVICE: &str = "consumers in ";

/// Whether a verdict warning says a service's consumers could not be listed (a discovery
/// failure, counted by [`crate::handler::metrics`]).
pub fn is_unknown_service(warning: &str) -> bool {
    warning.starts_with(UNKNOWN_SERVICE) && warning.contains(" are unknown (")
}

/// What was read for one image.
#[derive(Debug, Default)]
pub struct Found {
    /// The repository's `ecr-arch-guard:platforms` tag, when it has a readable one.
    pub repository_tag: Option<Setting>,
    /// The consumers that run the image.
    pub consumers: Vec<Consumer>,
    /// Every enabled service was listed and every consumer's platform is known: only then may
    /// the consumers decide alone.
    pub complete: bool,
    pub warnings: Vec<String>,
}

/// The sources: the registry's repository tags and discovery, each with its warm cache.
pub struct Sources<D: Discover> {
    pub discovery: Discovery<D>,
    tags: Cache<Repository, Option<Setting>>,
    /// One read of a repository's tags at a time: images of one repository judged at once
    /// (the scan) wait for the first read instead of each making their own.
    reading: Cache<Repository, Arc<tokio::sync::Mutex<()>>>,
}

impl<D: Discover> Sources<D> {
    pub fn new(discovery: Discovery<D>) -> Self {
        Sources {
            discovery,
            tags: Cache::new(REPOSITORIES),
            reading: Cache::new(REPOSITORIES),
        }
    }

    /// Reads what decides for `image`: nothing for something that is not an image; no
    /// consumers for a repository whose tag switches checking off.
    pub async fn read<R: Registry>(
        &self,
        registry: &R,
        settings: &Settings,
        image: &Image,
        is_image: bool,
    ) -> Result<Found, Error> {
        let mut found = Found {
            complete: true,
            ..Found::default()
        };
        if !is_image {
            return Ok(found);
        }
        found.repository_tag = self
            .repository_tag(
                registry,
                &image.repository,
                settings.policy_ttl,
                &mut found.warnings,
            )
            .await?;
        if found.repository_tag != Some(Setting::Off) && self.discovery.enabled() {
            self.consumers(settings, image, &mut found).await;
        }
        Ok(found)
    }

    /// The repository's `ecr-arch-guard:platforms` tag, cached for the policy TTL. A transient
    /// failure fails the event (it will be retried); a permanent one (e.g. access denied) is a
    /// warning and the next policy source decides.
    async fn repository_tag<R: Registry>(
        &self,
        registry: &R,
        repo: &Repository,
        ttl: Duration,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Setting>, Error> {
        if let Some(s) = self.tags.get_fresh(repo, ttl) {
            return Ok(s);
        }
        let lock = self
            .reading
            .get_or_insert_with(repo.clone(), || Arc::new(tokio::sync::Mutex::new(())));
        let _one_read = lock.lock().await;
        if let Some(s) = self.tags.get_fresh(repo, ttl) {
            return Ok(s);
        }
        let tags = match registry.repository_tags(repo).await {
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
        self.tags.insert(repo.clone(), setting.clone());
        Ok(setting)
    }

    /// The consumers of the image in its own account and region.
    async fn consumers(&self, settings: &Settings, image: &Image, found: &mut Found) {
        let snapshot = self.discovery.snapshot(&image.repository.registry).await;
        found.warnings.extend(snapshot.notes.iter().cloned());
        for (service, reason) in &snapshot.unknown {
            found.warnings.push(format!(
                "{UNKNOWN_SERVICE}{service} are unknown ({reason}); the consumers found do not decide alone"
            ));
        }
        found.consumers = consumer::matching(&snapshot.consumers, image, settings.match_scope);
        for c in found.consumers.iter().filter(|c| c.platform.is_none()) {
            found.warnings.push(format!(
                "{} {} runs on capacity of unknown architecture ({}); the consumers found do not decide alone",
                c.kind,
                c.name,
                c.detail.as_deref().unwrap_or("not reported")
            ));
        }
        found.complete = snapshot.complete() && consumer::all_known(&found.consumers);
    }
}
