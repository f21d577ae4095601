//! `ecr-arch-guard replay --queue-url URL --function NAME`: once the cause of the failures is
//! fixed, sends every event waiting in the guard's dead-letter queue back to the function and
//! deletes each only when the function judged it. Nothing is lost: a message the function still
//! fails on stays in the queue (visible again after two minutes). Exit 0 all replayed, 2 when
//! any was kept (or the queue or function cannot be reached).

use std::collections::HashSet;
use std::process::ExitCode;

use clap::Args;

use super::connect::AwsArgs;
use crate::aws::wiring;
use crate::event::replay;
use crate::Error;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The dead-letter queue: the stack's DeadLetterQueueUrl output.
    #[arg(long)]
    pub queue_url: String,
    /// The guard function: the stack's GuardFunctionArn output (or its name).
    #[arg(long)]
    pub function: String,
    /// Replay at most this many messages (default: until the queue is empty).
    #[arg(long)]
    pub max: Option<usize>,
    /// List the first messages (up to 10) and replay nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

impl ReplayArgs {
    pub async fn run(self) -> Result<ExitCode, Error> {
        let r = wiring::replay(&self.aws.connection(None), &self.queue_url, &self.function).await?;
        if self.dry_run {
            let batch = r.receive(10, true).await?;
            for m in &batch {
                println!("would replay {}: {}", m.id, describe(&m.body));
            }
            println!(
                "{} message(s) shown (dry run: nothing replayed)",
                batch.len()
            );
            return Ok(ExitCode::SUCCESS);
        }
        let max = self.max.unwrap_or(usize::MAX);
        let (mut replayed, mut kept) = (0usize, 0usize);
        let mut seen = HashSet::new();
        while replayed + kept < max {
            let want = (max - replayed - kept).min(10) as i32;
            let batch = r.receive(want, false).await?;
            let fresh: Vec<_> = batch
                .into_iter()
                .filter(|m| seen.insert(m.id.clone()))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for m in fresh {
                if serde_json::from_str::<serde_json::Value>(&m.body).is_err() {
                    kept += 1;
                    println!("kept {}: the message is not a JSON event", m.id);
                    continue;
                }
                match r.invoke(&m.body).await {
                    Ok(answer) => {
                        r.delete(&m).await?;
                        replayed += 1;
                        println!("replayed {}: {}", m.id, replay::summary(&answer));
                    }
                    Err(e) => {
                        kept += 1;
                        println!("kept {}: {e}", m.id);
                    }
                }
            }
        }
        println!("{replayed} replayed, {kept} kept in the queue");
        Ok(if kept == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        })
    }
}

/// `ECR Image Action grafana:latest` for an event, as far as it tells.
fn describe(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return "not a JSON event".into();
    };
    let d = &v["detail"];
    let what = d["repository-name"]
        .as_str()
        .map(
            |r| match d["image-tag"].as_str().filter(|t| !t.is_empty()) {
                Some(t) => format!("{r}:{t}"),
                None => r.to_string(),
            },
        )
        .or_else(|| d["eventName"].as_str().map(str::to_string))
        .unwrap_or_default();
    format!("{} {what}", v["detail-type"].as_str().unwrap_or("?"))
        .trim_end()
        .to_string()
}
