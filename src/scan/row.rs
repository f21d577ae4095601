//! The audit's lines and report: one row per image (where it is, what it runs on, the
//! verdict), mismatches first; an organisation audit labels each row with its account and
//! region, and an account or region that cannot be read is an `error` row of its own.

use serde::Serialize;

use crate::consumers::consumer::ConsumerReport;
use crate::image::platform::Platform;
use crate::image::ports::ImageSummary;
use crate::judge::policy::RequiredFrom;
use crate::judge::verdict::{Verdict, VerdictKind};
use crate::util::error::Error;
use crate::util::limiter::LimiterStats;

/// What an audit line says, in the order the report lists them: what breaks first, then what
/// could not be read, then the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowVerdict {
    Mismatch,
    Mislabelled,
    Error,
    Fits,
    NotAnImage,
    Skipped,
}

impl RowVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            RowVerdict::Mismatch => "mismatch",
            RowVerdict::Mislabelled => "mislabelled",
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
            VerdictKind::Mislabelled => RowVerdict::Mislabelled,
        }
    }
}

/// One line of the audit.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The account, in an organisation audit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region, in an organisation audit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
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
    pub(super) fn from_verdict(repository: &str, image: &ImageSummary, v: Verdict) -> Row {
        Row {
            account: None,
            region: None,
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

    /// Where the image is: its repository, after its account and region in an organisation
    /// audit (`222222222222 eu-west-1 team/web`).
    pub fn place(&self) -> String {
        match (&self.account, &self.region) {
            (Some(a), Some(r)) => format!("{a} {r} {}", self.repository)
                .trim_end()
                .to_string(),
            _ => self.repository.clone(),
        }
    }

    pub(super) fn error(repository: &str, image: Option<&ImageSummary>, e: &Error) -> Row {
        Row {
            account: None,
            region: None,
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
    /// How the concurrency adapted.
    #[serde(skip)]
    pub concurrency: LimiterStats,
}

impl Report {
    pub fn count(&self, verdict: RowVerdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == verdict).count()
    }

    /// Adds the report of one account and region, its rows labelled with them.
    pub fn add(&mut self, account: &str, region: &str, other: Report) {
        self.rows.extend(other.rows.into_iter().map(|mut r| {
            r.account = Some(account.to_string());
            r.region = Some(region.to_string());
            r
        }));
        self.children_skipped += other.children_skipped;
        self.concurrency.peak = self.concurrency.peak.max(other.concurrency.peak);
        self.concurrency.throttled += other.concurrency.throttled;
    }

    /// An account or region that could not be read: one `error` row saying why (the audit is
    /// incomplete, never silently smaller).
    pub fn unreadable(&mut self, account: &str, region: &str, e: &Error) {
        let mut row = Row::error("", None, e);
        row.account = Some(account.to_string());
        row.region = Some(region.to_string());
        self.rows.push(row);
    }

    /// Mismatches first, then errors, the rest; by account, region, repository, tags.
    pub fn sort(&mut self) {
        self.rows.sort_by(|a, b| {
            (
                a.verdict,
                &a.account,
                &a.region,
                &a.repository,
                &a.tags,
                &a.digest,
            )
                .cmp(&(
                    b.verdict,
                    &b.account,
                    &b.region,
                    &b.repository,
                    &b.tags,
                    &b.digest,
                ))
        });
    }

    /// Whether rows name their account and region (an organisation audit).
    pub fn is_labelled(&self) -> bool {
        self.rows.iter().any(|r| r.account.is_some())
    }
}
