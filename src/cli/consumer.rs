//! `ecr-arch-guard consumer ARN`: judge every image one consumer runs now against that
//! consumer (an ECS task definition or service, a Lambda function, an App Runner service, a
//! Batch job definition), as a pipeline step before a deploy. Exit 0 fits, 1 mismatch (or an
//! index a Lambda function cannot use), 2 error. Never acts.

use std::process::ExitCode;

use clap::Args;

use super::connect::{self, AwsArgs, PolicyArgs};
use super::Format;
use crate::consumers::lambda_index::WARNING_START;
use crate::event::change::{Change, Target};
use crate::judge::verdict::{Verdict, VerdictKind};
use crate::Error;

#[derive(Debug, Args)]
pub struct ConsumerArgs {
    /// The consumer's ARN: arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION,
    /// …:service/CLUSTER/SERVICE, arn:aws:lambda:…:function:NAME, arn:aws:apprunner:…:service/…,
    /// arn:aws:batch:…:job-definition/NAME:REVISION.
    pub arn: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
}

impl ConsumerArgs {
    pub async fn run(self) -> Result<ExitCode, Error> {
        let (target, scope) = Target::from_arn(&self.arn)?;
        let connection = self.aws.connection(scope.region.as_deref());
        let guard = connect::guard(&connection, &PolicyArgs::default()).await?;
        let change = Change {
            event_id: None,
            event_name: String::new(),
            event_time: None,
            caller: None,
            scope,
            target,
            requested: None,
        };
        let verdicts = guard.judge_consumer(&change, false).await?;
        print(&verdicts, self.format)?;
        Ok(exit_code(&verdicts))
    }
}

/// Every verdict, as text blocks or one JSON array.
pub fn print(verdicts: &[Verdict], format: Format) -> Result<(), Error> {
    match format {
        Format::Json => super::print_json(&verdicts, "verdicts")?,
        Format::Text => {
            for (i, v) in verdicts.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                // The image as the consumer names it (the fixes then name it the same way).
                let image = match (v.consumers.first(), &v.repository, &v.tag) {
                    (Some(c), _, _) => c.image.clone(),
                    (None, Some(r), Some(t)) => format!("{r}:{t}"),
                    (None, Some(r), None) => r.clone(),
                    _ => "-".into(),
                };
                print!("{}", super::render::text(v, &image));
            }
        }
    }
    Ok(())
}

/// 1 when any image will fail on the consumer (a mismatch, or an index a Lambda function
/// cannot deploy), 0 otherwise.
pub fn exit_code(verdicts: &[Verdict]) -> ExitCode {
    let fails = verdicts.iter().any(|v| {
        v.verdict == VerdictKind::Mismatch
            || v.warnings.iter().any(|w| w.starts_with(WARNING_START))
    });
    if fails {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
