//! `ecr-arch-guard event FILE|-`: exactly the Lambda handler on an event file, against the
//! configured AWS endpoint; `--dry-run` reports the actions instead of taking them.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;

use super::connect::AwsArgs;
use super::Format;
use crate::aws::wiring;
use crate::consumers::discovery::RefreshReport;
use crate::gate::GateAnswer;
use crate::handler::settings::Settings;
use crate::handler::Answer;
use crate::Error;

#[derive(Debug, Args)]
pub struct EventArgs {
    /// An event the Lambda receives: "ECR Image Action" (e.g.
    /// events/push-arm64-only-tagged.json), "ECR Replication Action", a consumer change "AWS
    /// API Call via CloudTrail" (e.g. events/change-ecs-register-task-definition.json), or a
    /// deployment gate's request (events/hook-*.json: a CloudFormation Lambda Hook, an ECS
    /// lifecycle hook); - for standard input. A gate exits 1 when it answers FAILED.
    pub file: PathBuf,
    /// Take no action (no tag, no alert); report what would be done.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
}

impl EventArgs {
    pub async fn run(self) -> Result<std::process::ExitCode, Error> {
        let bytes = if self.file.as_os_str() == "-" {
            let mut b = Vec::new();
            std::io::stdin()
                .read_to_end(&mut b)
                .map_err(|source| Error::Io {
                    path: "standard input".into(),
                    source,
                })?;
            b
        } else {
            std::fs::read(&self.file).map_err(|source| Error::Io {
                path: self.file.display().to_string(),
                source,
            })?
        };
        let event: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Usage(format!(
                "{} is not an EventBridge event (not JSON): {e}",
                self.file.display()
            ))
        })?;
        // The Lambda's configuration, from the same environment variables.
        let mut settings = Settings::read(|k| std::env::var(k).ok())?;
        settings.dry_run = self.dry_run;
        settings.validate()?;
        // Exactly the Lambda's guard, organisation mode included.
        let config = self.aws.connection(None).config().await;
        let guard = wiring::lambda_guard(settings, config)?;
        let verdict = match guard.handle_any(event).await? {
            Answer::Change(verdicts) => {
                super::consumer::print(&verdicts, self.format)?;
                return Ok(super::consumer::exit_code(&verdicts));
            }
            Answer::Push(verdict) => *verdict,
            Answer::Refresh(reports) => {
                print_refresh(&reports, self.format)?;
                return Ok(std::process::ExitCode::SUCCESS);
            }
            Answer::Watch(report) => {
                print_watch(&report, self.format)?;
                return Ok(if report.refused() {
                    std::process::ExitCode::from(1)
                } else {
                    std::process::ExitCode::SUCCESS
                });
            }
            Answer::Gate(gate) => {
                print_gate(&gate, self.format)?;
                return Ok(if gate.refused() {
                    std::process::ExitCode::from(1)
                } else {
                    std::process::ExitCode::SUCCESS
                });
            }
        };
        let image = match (&verdict.repository, &verdict.tag) {
            (Some(r), Some(t)) => format!("{r}:{t}"),
            (Some(r), None) => r.clone(),
            _ => self.file.display().to_string(),
        };
        super::print(&verdict, &image, self.format)?;
        Ok(super::exit_code(&verdict))
    }
}

/// The deployment watcher's answer: what it did and why, then each verdict (JSON: the
/// Lambda's answer).
fn print_watch(
    report: &crate::gate::deployment_watch::WatchReport,
    format: Format,
) -> Result<(), Error> {
    match format {
        Format::Json => super::print_json(report, "answer")?,
        Format::Text => {
            let step = match report.step {
                None => "skipped".to_string(),
                Some(s) => format!("{s:?}"),
            };
            println!(
                "{}: {step}{}: {}",
                report.deployment,
                if report.rolled_back {
                    " (stopped: rolled back)"
                } else {
                    ""
                },
                report.reason
            );
            super::consumer::print(&report.verdicts, format)?;
        }
    }
    Ok(())
}

/// A consumer index refresh: one line per account and region (JSON: the Lambda's answer).
fn print_refresh(reports: &[RefreshReport], format: Format) -> Result<(), Error> {
    match format {
        Format::Json => super::print_json(&reports, "answer")?,
        Format::Text => {
            for r in reports {
                let failed: Vec<String> =
                    r.failed.iter().map(|(s, e)| format!("{s}: {e}")).collect();
                println!(
                    "consumer index {}/{}: {} consumers, {} bytes, {} ms{}",
                    r.account.as_deref().unwrap_or("?"),
                    r.region.as_deref().unwrap_or("?"),
                    r.consumers,
                    r.bytes,
                    r.elapsed_ms,
                    if failed.is_empty() {
                        String::new()
                    } else {
                        format!(" (kept from before: {})", failed.join("; "))
                    }
                );
            }
        }
    }
    Ok(())
}

/// A gate's answer: with `--format json` exactly what the Lambda returns to the hook; as text,
/// the answer, the message CloudFormation would show, and each image's verdict.
fn print_gate(gate: &GateAnswer, format: Format) -> Result<(), Error> {
    match format {
        Format::Json => super::print_json(&gate.response, "answer")?,
        Format::Text => {
            let status = gate
                .response
                .get("hookStatus")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("?");
            println!("hookStatus: {status}");
            if let Some(code) = gate.response.get("errorCode").and_then(|c| c.as_str()) {
                println!("errorCode:  {code}");
            }
            println!();
            println!("{}", gate.ruling.message);
            if !gate.verdicts.is_empty() {
                println!();
                super::consumer::print(&gate.verdicts, Format::Text)?;
            }
        }
    }
    Ok(())
}
