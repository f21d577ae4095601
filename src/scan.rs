//! Audit: every image of every matching repository, judged by the same [`Guard`] as a push.
//!
//! Children of an index are judged with their index, not alone: indexes (and images whose media
//! type the registry did not report) are judged first; their children are then left out. The
//! guard's digest cache makes a digest shared by several repositories' tags cost one read.

use std::collections::HashSet;

use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::consumer::ConsumerReport;
use crate::digest::Digest;
use crate::discovery::Discover;
use crate::error::Error;
use crate::event::{Origin, Push};
use crate::handler::Guard;
use crate::image::{Image, RegistryId, Repository};
use crate::media_type;
use crate::platform::Platform;
use crate::policy::{glob_match, RequiredFrom};
use crate::ports::{Catalog, ImageSummary, Notify, Registry};
use crate::verdict::{Verdict, VerdictKind};

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
    /// How many images are judged at once.
    pub concurrency: usize,
}

/// What an audit line says, in the order the report lists them: what breaks first, then what
/// could not be read, then the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowVerdict {
    Mismatch,
    Error,
    Fits,
    NotAnImage,
    Skipped,
}

impl RowVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            RowVerdict::Mismatch => "mismatch",
            RowVerdict::Error => "error",
            RowVerdict::Fits => "fits",
            RowVerdict::NotAnImage => "not-an-image",
            RowVerdict::Skipped => "skipped",
        }
    }
}

impl From<VerdictKind> for RowVerdict {
    fn from(v: VerdictKind) -> Self {
        match v {
            VerdictKind::Fits => RowVerdict::Fits,
            VerdictKind::Mismatch => RowVerdict::Mismatch,
            VerdictKind::NotAnImage => RowVerdict::NotAnImage,
            VerdictKind::Skipped => RowVerdict::Skipped,
        }
    }
}

/// One line of the audit.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub repository: String,
    pub tags: Vec<String>,
    pub digest: String,
    pub verdict: RowVerdict,
    pub platforms: Vec<Platform>,
    pub required: Vec<Platform>,
    pub required_from: Option<RequiredFrom>,
    pub missing: Vec<Platform>,
    pub consumers: Vec<ConsumerReport>,
    pub reason: Option<String>,
    pub warnings: Vec<String>,
}

impl Row {
    fn from_verdict(repository: &str, image: &ImageSummary, v: Verdict) -> Row {
        Row {
            repository: repository.to_string(),
            tags: image.tags.clone(),
            digest: image.digest.to_string(),
            verdict: v.verdict.into(),
            platforms: v.platforms,
            required: v.required,
            required_from: v.required_from,
            missing: v.missing,
            consumers: v.consumers,
            reason: v.reason,
            warnings: v.warnings,
        }
    }

    fn error(repository: &str, image: Option<&ImageSummary>, e: &Error) -> Row {
        Row {
            repository: repository.to_string(),
            tags: image.map(|i| i.tags.clone()).unwrap_or_default(),
            digest: image.map(|i| i.digest.to_string()).unwrap_or_default(),
            verdict: RowVerdict::Error,
            platforms: Vec::new(),
            required: Vec::new(),
            required_from: None,
            missing: Vec::new(),
            consumers: Vec::new(),
            reason: Some(e.to_string()),
            warnings: Vec::new(),
        }
    }
}

/// The result of a scan, mismatches first.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub rows: Vec<Row>,
    /// Images left out because they are children of an index that was judged.
    pub children_skipped: usize,
}

impl Report {
    pub fn count(&self, verdict: RowVerdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == verdict).count()
    }
}

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
    item: Item,
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

    let mut first = Vec::new();
    let mut second = Vec::new();
    for (repository, images) in listed {
        let images = match images {
            Ok(i) => i,
            Err(e) => {
                report.rows.push(Row::error(&repository, None, &e));
                continue;
            }
        };
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
    }
    let indexes = first.len();
    progress.set_total((indexes + second.len()) as u64);

    // Indexes first; then the single images that are not their children.
    let judged = judge_all(guard, opts, first, concurrency, progress).await?;
    let mut children: HashSet<(String, Digest)> = HashSet::new();
    for j in judged {
        for child in j.children {
            children.insert((j.item.repository.clone(), child));
        }
        report.rows.push(j.row);
    }
    let before = second.len();
    second.retain(|i| !children.contains(&(i.repository.clone(), i.image.digest.clone())));
    report.children_skipped = before - second.len();
    progress.set_total((indexes + second.len()) as u64);
    let judged = judge_all(guard, opts, second, concurrency, progress).await?;
    report.rows.extend(judged.into_iter().map(|j| j.row));

    report.rows.sort_by(|a, b| {
        (a.verdict, &a.repository, &a.tags, &a.digest).cmp(&(
            b.verdict,
            &b.repository,
            &b.tags,
            &b.digest,
        ))
    });
    Ok(report)
}

fn repo_ref(opts: &ScanOptions, name: &str) -> Repository {
    Repository::new(opts.registry.clone(), name)
}

async fn judge_all<R, N, D>(
    guard: &Guard<R, N, D>,
    opts: &ScanOptions,
    items: Vec<Item>,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<Vec<Judged>, Error>
where
    R: Registry,
    N: Notify,
    D: Discover,
{
    futures_util::stream::iter(items.into_iter().map(|item| async move {
        let image = Image {
            repository: repo_ref(opts, &item.repository),
            tag: item.image.tags.first().cloned(),
            digest: Some(item.image.digest.clone()),
            media_type: item.image.media_type.clone(),
        };
        let push = Push::new(None, image, Origin::Push).expect("a listed image has a digest");
        let (row, children) = match guard.check_with_children(&push).await {
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
        Ok::<_, Error>(Judged {
            item,
            row,
            children,
        })
    }))
    .buffer_unordered(concurrency)
    .try_collect()
    .await
}
