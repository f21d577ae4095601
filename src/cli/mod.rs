//! Stage 11 — the command line (may import everything). One `Args` struct with a `run()` per subcommand; exit codes are a contract:
//! 0 fits or not-an-image, 1 mismatch, 2 any error.

mod audit;
mod check;
mod connect;
mod consumer;
mod event;
mod inspect;
mod judged;
mod plan;
mod progress;
pub mod render;
mod replay;
mod sarif;
mod scan;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::judge::verdict::{Verdict, VerdictKind};

/// Checks that container images run on the platforms their consumers need, before
/// `exec format error` does.
#[derive(Debug, Parser)]
#[command(name = "ecr-arch-guard", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect an image on disk: an OCI layout directory, a tar of one, or a `docker save` tar.
    Inspect(inspect::InspectArgs),
    /// Check an image in ECR with the Lambda's policy (a deploy gate): exit 0 fits, 1 mismatch.
    Check(check::CheckArgs),
    /// Audit every image of every matching ECR repository; exit 1 if any mismatch.
    Scan(scan::ScanArgs),
    /// Judge the images one consumer (ECS task definition or service, Lambda function, App
    /// Runner service, Batch job definition) runs now, against that consumer: a deploy gate.
    Consumer(consumer::ConsumerArgs),
    /// Send the events waiting in the guard's dead-letter queue back to the function, once the
    /// cause is fixed; each is deleted only when judged.
    Replay(replay::ReplayArgs),
    /// Run the Lambda handler on an event file against the configured AWS endpoint.
    Event(event::EventArgs),
    /// Judge what an infrastructure change will deploy before it is applied: Terraform plans
    /// (`terraform show -json`), CloudFormation/SAM/CDK templates, ECS task definition files.
    /// Exit 0 nothing refused, 1 refused, 2 error.
    Plan(plan::PlanArgs),
}

/// Output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable summary, with the fix when it is a mismatch.
    #[default]
    Text,
    /// One JSON object (the verdict).
    Json,
}

/// Parses the arguments, runs the command, and maps the outcome to the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Inspect(args) => args.run().await.map(|v| exit_code(&v)),
            Command::Check(args) => args.run().await.map(|v| exit_code(&v)),
            Command::Event(args) => args.run().await,
            Command::Consumer(args) => args.run().await,
            Command::Replay(args) => args.run().await,
            Command::Scan(args) => args.run().await,
            Command::Plan(args) => args.run().await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            let region = std::env::var("AWS_REGION")
                .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                .ok();
            eprintln!(
                "error: {}",
                crate::aws::preflight::explain(&e, region.as_deref())
            );
            ExitCode::from(2)
        }
    }
}

/// 0 fits / not-an-image / skipped, 1 mismatch or mislabelled (its executables are of another
/// architecture than its label).
pub fn exit_code(verdict: &Verdict) -> ExitCode {
    match verdict.verdict {
        VerdictKind::Mismatch | VerdictKind::Mislabelled => ExitCode::from(1),
        VerdictKind::Fits | VerdictKind::NotAnImage | VerdictKind::Skipped => ExitCode::SUCCESS,
    }
}

/// Prints a verdict in the chosen format on stdout.
pub fn print(verdict: &Verdict, image: &str, format: Format) -> Result<(), crate::Error> {
    match format {
        Format::Json => print_json(verdict, "verdict")?,
        Format::Text => print!("{}", render::text(verdict, image)),
    }
    Ok(())
}

/// Prints `value` as pretty JSON on stdout (`what` names it if it cannot be encoded).
pub fn print_json(value: &impl serde::Serialize, what: &str) -> Result<(), crate::Error> {
    let json = serde_json::to_string_pretty(value)
        .map_err(|e| crate::Error::Permanent(format!("cannot encode the {what}: {e}")))?;
    println!("{json}");
    Ok(())
}
