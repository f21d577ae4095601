//! Stage 9 — the audit. May import every stage below (`util` … `handler`).
//!
//! Audit: every image of every matching repository, judged by the same [`Guard`] as a push.
//!
//! Children of an index are judged with their index, not alone: indexes (and images whose media
//! type the registry did not report) are judged first; their children are then left out, so
//! no child is ever read twice. Reads follow the registry API's granularity: a repository's
//! manifests are read ahead [`MAX_BATCH`] at a time (one BatchGetImage each), config blobs once
//! per digest ([`crate::image::reads`]), and a digest shared by several repositories costs one read
//! (the guard's digest cache). How many images are judged at once adapts ([`Limiter`]):
//! throttling halves it and the image is judged again.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt;

use crate::act::message::Notify;
use crate::consumers::discovery::Discover;
use crate::event::{Origin, Push};
use crate::handler::Guard;
use crate::image::digest::Digest;
use crate::image::media_type;
use crate::image::ports::{Catalog, ImageSummary, Registry, MAX_BATCH};
use crate::image::{Image, RegistryId, Repository};
use crate::judge::policy::glob_match;
use crate::util::error::Error;
use crate::util::limiter::Limiter;

pub mod html;
pub mod pace;
mod row;

pub use row::{Report, Row, RowVerdict};

/// What to scan.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// The registry (account and region) to scan; `None`s: the caller's own.
    pub registry: RegistryId,
    /// Repository name globs; empty: every repository.
    pub repositories: Vec<String>,
    /// Leave out untagged images.
    pub tagged_only: bool,
    /// Only images pushed at or after this time (seconds since the epoch).
    pub since: Option<i64>,
    /// The most images judged at once (it starts at [`START_CONCURRENCY`] or this, if lower,
    /// and adapts).
    pub concurrency: usize,
}

/// How many repositories are judged side by side (the limiter still bounds the images).
const REPOSITORIES_AT_ONCE: usize = 8;

/// How many images the scan judges at once before it has learnt anything.
pub const START_CONCURRENCY: usize = 8;

/// How often an image that was throttled is judged again (after the SDK's own retries).
const THROTTLED_RETRIES: usize = 4;

/// The first wait before a throttled image is judged again; it doubles each time.
const THROTTLED_BACKOFF: std::time::Duration = std::time::Duration::from_millis(250);

/// Progress of a scan, for a progress bar.
pub trait Progress: Sync {
    /// `total` images need judging (called again when children of indexes are left out).
    fn set_total(&self, total: u64);
    /// One image was judged.
    fn done(&self, row: &Row);
}

/// No progress display.
pub struct Quiet;

impl Progress for Quiet {
    fn set_total(&self, _: u64) {}
    fn done(&self, _: &Row) {}
}

struct Item {
    repository: String,
    image: ImageSummary,
}

/// An image judged, with the digests it refers to (an index's children).
struct Judged {
    row: Row,
    children: Vec<Digest>,
}

/// Scans the registry. Errors listing the repositories fail the scan; errors on one repository
/// or image become `error` rows and the scan goes on.
pub async fn scan<C, R, N, D>(
    catalog: &C,
    guard: &Guard<R, N, D>,
    opts: &ScanOptions,
    progress: &dyn Progress,
) -> Result<Report, Error>
where
    C: Catalog,
    R: Registry,
    N: Notify,
    D: Discover,
{
    let concurrency = opts.concurrency.max(1);
    let limiter = Limiter::new(START_CONCURRENCY, concurrency);
    let mut names = catalog.repositories(&opts.registry).await?;
    names.retain(|n| {
        opts.repositories.is_empty() || opts.repositories.iter().any(|g| glob_match(g, n))
    });
    names.sort();

    let mut report = Report::default();
    let listed: Vec<(String, Result<Vec<ImageSummary>, Error>)> =
        futures_util::stream::iter(names.into_iter().map(|name| {
            let repo = repo_ref(opts, &name);
            async move {
                let images = catalog.images(&repo).await;
                (name, images)
            }
        }))
        .buffer_unordered(concurrency)
        .collect()
        .await;

    // Per repository: what to judge, indexes (and images of unknown media type) first.
    let mut work: Vec<(Vec<Item>, Vec<Item>)> = Vec::new();
    let mut total = 0;
    for (repository, images) in listed {
        let images = match images {
            Ok(i) => i,
            Err(e) => {
                report.rows.push(Row::error(&repository, None, &e));
                continue;
            }
        };
        let (mut first, mut second) = (Vec::new(), Vec::new());
        for image in images {
            if opts.tagged_only && image.tags.is_empty() {
                continue;
            }
            if let (Some(since), Some(at)) = (opts.since, image.pushed_at) {
                if at < since {
                    continue;
                }
            }
            let single = image
                .media_type
                .as_deref()
                .is_some_and(|m| !media_type::is_index(m));
            let item = Item {
                repository: repository.clone(),
                image,
            };
            if single {
                second.push(item);
            } else {
                first.push(item);
            }
        }
        total += first.len() + second.len();
        work.push((first, second));
    }
    let total = AtomicU64::new(total as u64);
    progress.set_total(total.load(Ordering::Relaxed));

    // Repositories side by side, each in its two passes: a repository's children are known
    // once its indexes are judged, so no barrier holds the others back.
    let per_repository: Vec<(Vec<Row>, usize)> =
        futures_util::stream::iter(work.into_iter().map(|(first, second)| {
            judge_repository(guard, opts, first, second, &limiter, progress, &total)
        }))
        .buffer_unordered(REPOSITORIES_AT_ONCE)
        .collect()
        .await;
    for (rows, skipped) in per_repository {
        report.rows.extend(rows);
        report.children_skipped += skipped;
    }
    report.concurrency = limiter.stats();
    report.sort();
    Ok(report)
}

/// One repository: its indexes, then its single images that are not their children (left out:
/// judged with their index, never read). Returns the rows and how many children were left out.
async fn judge_repository<R, N, D>(
    guard: &Guard<R, N, D>,
    opts: &ScanOptions,
    first: Vec<Item>,
    mut second: Vec<Item>,
    limiter: &Limiter,
    progress: &dyn Progress,
    total: &AtomicU64,
) -> (Vec<Row>, usize)
where
    R: Registry,
    N: Notify,
    D: Discover,
{
    let mut rows = Vec::new();
    let mut children: HashSet<Digest> = HashSet::new();
    for j in judge_all(guard, opts, first, limiter, progress).await {
        children.extend(j.children);
        rows.push(j.row);
    }
    let before = second.len();
    second.retain(|i| !children.contains(&i.image.digest));
    let skipped = before - second.len();
    if skipped > 0 {
        let left = total.fetch_sub(skipped as u64, Ordering::Relaxed) - skipped as u64;
        progress.set_total(left);
    }
    rows.extend(
        judge_all(guard, opts, second, limiter, progress)
            .await
            .into_iter()
            .map(|j| j.row),
    );
    (rows, skipped)
}

fn repo_ref(opts: &ScanOptions, name: &str) -> Repository {
    Repository::new(opts.registry.clone(), name)
}

/// Judges one repository's `items` a batch at a time: the batch's manifests read ahead in one
/// call (while the previous batch is still being judged), then its images as the limiter allows.
async fn judge_all<R, N, D>(
    guard: &Guard<R, N, D>,
    opts: &ScanOptions,
    items: Vec<Item>,
    limiter: &Limiter,
    progress: &dyn Progress,
) -> Vec<Judged>
where
    R: Registry,
    N: Notify,
    D: Discover,
{
    let mut batches: Vec<Vec<Item>> = Vec::new();
    for item in items {
        match batches.last_mut() {
            Some(b) if b.len() < MAX_BATCH => b.push(item),
            _ => batches.push(vec![item]),
        }
    }
    let judged: Vec<Vec<Judged>> =
        futures_util::stream::iter(batches.into_iter().map(|batch| async move {
            let repo = repo_ref(opts, &batch[0].repository);
            let digests: Vec<Digest> = batch.iter().map(|i| i.image.digest.clone()).collect();
            {
                let permit = limiter.acquire().await;
                guard.read_ahead(&repo, &digests).await;
                permit.ok();
            }
            futures_util::stream::iter(
                batch
                    .into_iter()
                    .map(|item| judge_one(guard, opts, item, limiter, progress)),
            )
            .buffer_unordered(MAX_BATCH)
            .collect::<Vec<Judged>>()
            .await
        }))
        .buffered(2)
        .collect()
        .await;
    judged.into_iter().flatten().collect()
}

/// One image, judged again (at a lower concurrency) when it was throttled.
async fn judge_one<R, N, D>(
    guard: &Guard<R, N, D>,
    opts: &ScanOptions,
    item: Item,
    limiter: &Limiter,
    progress: &dyn Progress,
) -> Judged
where
    R: Registry,
    N: Notify,
    D: Discover,
{
    let image = Image {
        repository: repo_ref(opts, &item.repository),
        tag: item.image.tags.first().cloned(),
        digest: Some(item.image.digest.clone()),
        media_type: item.image.media_type.clone(),
    };
    let push = Push::new(None, image, Origin::Push).expect("a listed image has a digest");
    let mut attempt = 0;
    let result = loop {
        let permit = limiter.acquire().await;
        let result = guard.check_with_children(&push).await;
        match result {
            Err(Error::Throttled(_)) if attempt < THROTTLED_RETRIES => {
                permit.throttled();
                // Back off before asking again (0.25 s, 0.5 s, 1 s, …): the other images
                // go on at the lower concurrency meanwhile.
                tokio::time::sleep(THROTTLED_BACKOFF * 2u32.pow(attempt as u32)).await;
                attempt += 1;
            }
            Err(Error::Throttled(e)) => {
                permit.throttled();
                break Err(Error::Throttled(e));
            }
            other => {
                permit.ok();
                break other;
            }
        }
    };
    let (row, children) = match result {
        Ok((v, children)) => (
            Row::from_verdict(&item.repository, &item.image, v),
            children,
        ),
        Err(e) => (
            Row::error(&item.repository, Some(&item.image), &e),
            Vec::new(),
        ),
    };
    progress.done(&row);
    Judged { row, children }
}
