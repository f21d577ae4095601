//! `ecr-arch-guard event FILE|-`: exactly the Lambda handler on an event file, against the
//! configured AWS endpoint; `--dry-run` reports the actions instead of taking them.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;

use super::connect::AwsArgs;
use super::Format;
use crate::aws::wiring;
use crate::handler::Answer;
use crate::settings::Settings;
use crate::Error;

#[derive(Debug, Args)]
pub struct EventArgs {
    /// An EventBridge event the Lambda receives: "ECR Image Action" (e.g.
    /// events/push-arm64-only-tagged.json), "ECR Replication Action", or a consumer change
    /// "AWS API Call via CloudTrail" (e.g. events/ecs-register-task-definition.json); - for
    /// standard input.
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
