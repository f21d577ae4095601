//! `ecr-arch-guard scan`: audit every image of every matching repository.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use indicatif::ProgressBar;

use super::audit::{self, TargetArgs};
use super::connect::{self, AwsArgs, PolicyArgs};
use super::progress::Bar;
use super::render;
use crate::image::platform;
use crate::image::RegistryId;
use crate::scan::{self, Report, Row, RowVerdict, ScanOptions};
use crate::Error;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// A table, mismatches first.
    #[default]
    Text,
    /// `{"rows": [...], "children_skipped": N}`.
    Json,
    /// One line per image, with a header.
    Csv,
    /// JSON lines: one row object per line (the `rows` of `json`), for piping.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Only repositories matching this glob (`*` any run, `?` one character); repeatable.
    #[arg(long = "repository", value_name = "GLOB")]
    pub repositories: Vec<String>,
    /// Leave out untagged images.
    #[arg(long)]
    pub tagged_only: bool,
    /// Only images pushed since this date (YYYY-MM-DD, UTC) or time (RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// The most images judged at once per account and region: it starts at 8 (or this, if
    /// lower), grows while calls succeed and halves when AWS throttles.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// The share of ECR's per-account rate quotas the scan may use, in percent (BatchGetImage
    /// 2,000/s and GetDownloadUrlForLayer 3,000/s by default; your image pulls share them).
    #[arg(long, value_name = "PERCENT", default_value_t = crate::aws::quotas::DEFAULT_SHARE_PERCENT,
          value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quota_share: u8,
    /// Scan this registry (account id) with your own credentials (cross-account repository
    /// policies) instead of your own registry.
    #[arg(long, value_name = "ACCOUNT")]
    pub registry_id: Option<String>,
    #[command(flatten)]
    pub targets: TargetArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    pub format: ScanFormat,
    /// Also write the report as a self-contained HTML page (coverage per repository,
    /// mismatches first) to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Parses `--since`.
pub fn parse_since(s: &str) -> Result<i64, Error> {
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    crate::aws::epoch_seconds(&full)
        .ok_or_else(|| Error::Usage(format!("--since {s:?}: use YYYY-MM-DD or an RFC 3339 time")))
}

impl ScanArgs {
    pub async fn run(self) -> Result<ExitCode, Error> {
        let since = self.since.as_deref().map(parse_since).transpose()?;
        let mut connection = self.aws.connection(None);
        connection.quota_share = self.quota_share;
        let opts = ScanOptions {
            registry: RegistryId::default(),
            repositories: self.repositories.clone(),
            tagged_only: self.tagged_only,
            since,
            concurrency: self.concurrency as usize,
        };
        if self.policy.discover.is_some()
            && (self.targets.organization || !self.targets.accounts.is_empty())
        {
            return Err(Error::Usage(
                "--discover reads each account's consumers, which the audit role does not \
                 grant: scan other accounts without --discover (repository tags, RULES and \
                 REQUIRED_PLATFORMS decide), or each account with credentials that can"
                    .into(),
            ));
        }
        let terminal = std::io::stderr().is_terminal();
        let settings = connect::settings(&self.policy)?;
        let required = platform::join(&settings.required);
        let (report, scope) = if self.targets.is_audit() {
            let report =
                audit::scan_targets(&self.targets, settings, &connection, &opts, terminal).await?;
            (report, "the accounts and regions scanned".to_string())
        } else {
            let guard = crate::aws::wiring::cli_guard(settings, &connection).await?;
            let region = guard.registry().inner().region();
            let opts = ScanOptions {
                registry: RegistryId::new(self.registry_id.as_deref(), region.as_deref()),
                ..opts
            };
            let bar = Bar::new(terminal.then(|| ProgressBar::new(0)));
            let report = scan::scan(guard.registry(), &guard, &opts, &bar).await?;
            bar.clear();
            let scope = format!(
                "{}{}",
                self.registry_id.as_deref().unwrap_or("your registry"),
                region.map(|r| format!(" ({r})")).unwrap_or_default()
            );
            (report, scope)
        };
        if let Some(path) = &self.html {
            let generated = format!(
                "{} images in {scope}; required by default: {required}",
                report.rows.len()
            );
            std::fs::write(path, crate::scan::html::html(&report, &generated)).map_err(
                |source| Error::Io {
                    path: path.display().to_string(),
                    source,
                },
            )?;
        }
        match self.format {
            ScanFormat::Json => super::print_json(&report, "report")?,
            ScanFormat::Csv => print!("{}", csv(&report)),
            ScanFormat::Jsonl => {
                for row in &report.rows {
                    println!(
                        "{}",
                        serde_json::to_string(row).map_err(|e| Error::Permanent(format!(
                            "cannot encode the report: {e}"
                        )))?
                    );
                }
            }
            ScanFormat::Text => {
                print!("{}", table(&report));
                if let Some(path) = &self.html {
                    println!("HTML report: {}", path.display());
                }
            }
        }
        Ok(exit_code(&report))
    }
}

/// 2 when an image could not be judged (the audit is incomplete), else 1 on any mismatch.
pub fn exit_code(report: &Report) -> ExitCode {
    if report.count(RowVerdict::Error) > 0 {
        ExitCode::from(2)
    } else if report.count(RowVerdict::Mismatch) + report.count(RowVerdict::Mislabelled) > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn tags(row: &Row) -> String {
    if row.tags.is_empty() {
        format!("<untagged {}>", &row.digest[..row.digest.len().min(19)])
    } else {
        row.tags.join(",")
    }
}

fn consumers(row: &Row) -> String {
    row.consumers
        .iter()
        .map(|c| c.line())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The widest a platforms cell gets in the table (the JSON and CSV keep the full list).
const MAX_CELL: usize = 48;

/// The summary table (ACCOUNT and REGION first in an organisation audit).
pub fn table(report: &Report) -> String {
    let labelled = report.is_labelled();
    let mut header = vec!["REPOSITORY", "TAGS", "PLATFORMS", "VERDICT", "CONSUMERS"];
    if labelled {
        header.splice(0..0, ["ACCOUNT", "REGION"]);
    }
    let verdict_col = header.len() - 2;
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| {
            let verdict = match (r.verdict, &r.reason) {
                (RowVerdict::Mismatch, _) => {
                    format!("mismatch (missing {})", platform::join(&r.missing))
                }
                (RowVerdict::Error, Some(why)) => format!("error: {why}"),
                (v, _) => v.as_str().to_string(),
            };
            let mut cells = Vec::with_capacity(header.len());
            if labelled {
                cells.push(r.account.clone().unwrap_or_default());
                cells.push(r.region.clone().unwrap_or_default());
            }
            cells.extend([
                r.repository.clone(),
                if r.repository.is_empty() && r.digest.is_empty() {
                    String::new()
                } else {
                    tags(r)
                },
                crate::util::ellipsis::within_chars(&platform::join(&r.platforms), MAX_CELL),
                verdict,
                consumers(r),
            ]);
            cells
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()).take(verdict_col + 1) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], paint: bool| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == verdict_col + 1 {
                l.push_str(cell);
                break;
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            let text = if paint && i == verdict_col {
                render::paint_verdict(cell)
            } else {
                cell.clone()
            };
            l.push_str(&text);
            l.push_str(&" ".repeat(pad + 2));
        }
        l.trim_end().to_string() + "\n"
    };
    let header: Vec<String> = header.into_iter().map(String::from).collect();
    out.push_str(&line(&header, false));
    for r in &rows {
        out.push_str(&line(r, true));
    }
    let mislabelled = match report.count(RowVerdict::Mislabelled) {
        0 => String::new(),
        n => format!("{n} mislabelled, "),
    };
    out.push_str(&format!(
        "\n{} images: {} mismatch, {mislabelled}{} fits, {} not-an-image, {} error; {} children of indexes judged with their index\n",
        report.rows.len(),
        report.count(RowVerdict::Mismatch),
        report.count(RowVerdict::Fits),
        report.count(RowVerdict::NotAnImage),
        report.count(RowVerdict::Error),
        report.children_skipped
    ));
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV with a header, one line per image (`account,region` first in an organisation audit).
pub fn csv(report: &Report) -> String {
    let labelled = report.is_labelled();
    let mut out = String::from(if labelled { "account,region," } else { "" });
    out.push_str("repository,tags,digest,verdict,platforms,required,missing,consumers,reason\n");
    for r in &report.rows {
        let mut fields = Vec::new();
        if labelled {
            fields.push(r.account.clone().unwrap_or_default());
            fields.push(r.region.clone().unwrap_or_default());
        }
        fields.extend([
            r.repository.clone(),
            r.tags.join(" "),
            r.digest.clone(),
            r.verdict.as_str().to_string(),
            platform::join(&r.platforms),
            platform::join(&r.required),
            platform::join(&r.missing),
            consumers(r),
            r.reason.clone().unwrap_or_default(),
        ]);
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_dates_and_times() {
        assert_eq!(parse_since("1970-01-02").unwrap(), 86_400);
        assert_eq!(parse_since("1970-01-01T00:01:00Z").unwrap(), 60);
        assert!(parse_since("yesterday").is_err());
    }

    #[test]
    fn an_organisation_audit_says_where_each_row_is() {
        let mut report = Report::default();
        report.unreadable(
            "333333333333",
            "us-east-1",
            &Error::AccountUnreadable {
                account: "333333333333".into(),
                reason: "AccessDenied".into(),
            },
        );
        let text = table(&report);
        let mut lines = text.lines();
        assert!(lines
            .next()
            .unwrap()
            .starts_with("ACCOUNT       REGION     REPOSITORY"));
        let row = lines.next().unwrap();
        assert!(row.starts_with("333333333333  us-east-1"), "{row}");
        assert!(row.contains("error: cannot read account 333333333333: AccessDenied"));
        assert!(csv(&report).starts_with("account,region,repository,"));
        assert_eq!(exit_code(&report), ExitCode::from(2));
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
