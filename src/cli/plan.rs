//! `ecr-arch-guard plan FILE…`: what an infrastructure change will deploy, judged before it is
//! applied — a Terraform plan (`terraform show -json`), a CloudFormation/SAM/CDK template, an
//! ECS task definition file ([`crate::gate::plan`]). Each resource that starts containers is
//! judged exactly as the CloudFormation hook judges it (the same proposal, reads and rules).
//! Exit 0: nothing refused; 1: a resource would run an image its platform cannot (or, with
//! `--unknown fail`, something could not be judged); 2: an error (a file that cannot be read,
//! no AWS credentials).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::connect::{self, AwsArgs, PolicyArgs};
use super::judged::Judged;
use crate::event::change::{Change, Target};
use crate::gate::plan::{self, Parameters, PlanItem, Step};
use crate::gate::{Ruling, RulingKind};
use crate::image::RegistryId;
use crate::judge::verdict::Verdict;
use crate::Error;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// One line per resource, the message under each refused or unjudged one.
    #[default]
    Text,
    /// One JSON array: each resource, its ruling, its verdicts.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning, GitLab and other SARIF readers.
    Sarif,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum UnknownAs {
    /// Reported, exit 0 (as the deployment gates' default).
    #[default]
    Pass,
    /// Exit 1: only what was judged may be applied.
    Fail,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// `terraform show -json PLANFILE` output, CloudFormation/SAM templates (JSON or YAML),
    /// `cdk.out/*.template.json`, ECS task definition files (`--cli-input-json` form).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// A template parameter's value, or a pseudo parameter's (`AWS::AccountId=123456789012`;
    /// `AWS::Region` defaults to the region the CLI reads ECR in). Repeatable.
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
    /// What a resource that cannot be judged before apply makes the exit code.
    #[arg(long, value_enum, default_value_t = UnknownAs::Pass)]
    pub unknown: UnknownAs,
    /// Deep check: also read what each image executes from its layers.
    #[arg(long)]
    pub deep: bool,
    /// Platforms every image must run on, overriding what each resource's platform says
    /// (comma-separated, e.g. `linux/amd64,linux/arm64` before moving a fleet to Graviton).
    #[arg(long, value_name = "PLATFORMS")]
    pub require: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

impl PlanArgs {
    pub async fn run(self) -> Result<ExitCode, Error> {
        let mut parameters = Parameters::new();
        for p in &self.parameters {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| Error::Usage(format!("--parameter {p:?}: use NAME=VALUE")))?;
            parameters.insert(k.trim().to_string(), v.to_string());
        }
        // The region ECR is read in is the templates' AWS::Region unless one is given.
        let connection = self.aws.connection(None);
        let region = connection.config().await.region().map(|r| r.to_string());
        if let Some(r) = &region {
            parameters
                .entry("AWS::Region".into())
                .or_insert_with(|| r.clone());
        }
        let mut items = Vec::new();
        for f in &self.files {
            let text = std::fs::read_to_string(f).map_err(|source| Error::Io {
                path: f.display().to_string(),
                source,
            })?;
            items.extend(plan::read(&f.display().to_string(), &text, &parameters)?);
        }
        let mut judged = Vec::new();
        if items.iter().any(|i| matches!(i.step, Step::Judge(_))) {
            let policy = PolicyArgs {
                deep: self.deep,
                require: self.require.clone(),
                ..PolicyArgs::default()
            };
            // One read per image, however many resources of the plan name its tag.
            let guard = connect::guard(&connection, &policy)
                .await?
                .with_tag_cache(std::time::Duration::from_secs(3600));
            // What a resource names besides its images (a task definition by ARN, cluster
            // capacity) is read with the caller's own credentials, in the region read; each
            // image in the registry its URI names.
            let scope = RegistryId::new(None, region.as_deref());
            for item in items {
                judged.push(judge(&guard, &scope, item).await);
            }
        } else {
            for item in items {
                judged.push(unread(item));
            }
        }
        match self.format {
            PlanFormat::Text => print_text(&judged),
            PlanFormat::Json => super::print_json(&judged, "plan")?,
            PlanFormat::Sarif => super::print_json(&super::sarif::log(&judged), "SARIF log")?,
        }
        let refused = judged.iter().any(|j| j.ruling == "refuse");
        let unjudged = judged.iter().any(|j| j.ruling == "not-judged");
        Ok(
            if refused || (unjudged && self.unknown == UnknownAs::Fail) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            },
        )
    }
}

fn subject(item: &PlanItem) -> String {
    format!(
        "{} {} ({}{})",
        item.resource_type.type_name(),
        item.address,
        item.file,
        item.line.map(|l| format!(":{l}")).unwrap_or_default()
    )
}

fn outcome(item: PlanItem, ruling: Ruling, verdicts: Vec<Verdict>) -> Judged {
    Judged {
        ruling: match ruling.kind {
            RulingKind::Pass => "pass",
            RulingKind::Refuse => "refuse",
            RulingKind::NotJudged => "not-judged",
        },
        message: ruling.message,
        file: item.file,
        line: item.line,
        address: item.address,
        source: item.source,
        resource_type: item.resource_type.type_name(),
        verdicts,
    }
}

/// An item that needs no read.
fn unread(item: PlanItem) -> Judged {
    let ruling = match &item.step {
        Step::Pass(reason) => Ruling::pass(reason),
        Step::NotJudged(reason) => Ruling::new(
            RulingKind::NotJudged,
            format!(
                "ecr-arch-guard could not judge {}: {reason}.",
                subject(&item)
            ),
        ),
        Step::Judge(_) => Ruling::new(RulingKind::NotJudged, "not read".into()),
    };
    outcome(item, ruling, Vec::new())
}

async fn judge(guard: &crate::aws::wiring::CliGuard, scope: &RegistryId, item: PlanItem) -> Judged {
    let Step::Judge(proposal) = &item.step else {
        return unread(item);
    };
    let subject = subject(&item);
    let change = Change {
        event_id: None,
        event_name: format!("{} plan {}", item.source.name(), item.file),
        event_time: None,
        caller: None,
        scope: scope.clone(),
        target: Target::Proposed(proposal.clone()),
        requested: None,
    };
    let (ruling, verdicts) = guard.rule_on_proposal(&subject, &change).await;
    outcome(item, ruling, verdicts)
}

fn print_text(judged: &[Judged]) {
    for j in judged {
        let word = match j.ruling {
            "refuse" => "REFUSED   ",
            "not-judged" => "NOT JUDGED",
            _ => "ok        ",
        };
        let at = j.line.map(|l| format!(":{l}")).unwrap_or_default();
        println!("{word} {} {} ({}{at})", j.resource_type, j.address, j.file);
        if j.ruling != "pass" {
            for line in j.message.lines() {
                println!("           {line}");
            }
        }
    }
    let count = |r: &str| judged.iter().filter(|j| j.ruling == r).count();
    println!(
        "{} resource(s): {} refused, {} not judged, {} ok",
        judged.len(),
        count("refuse"),
        count("not-judged"),
        count("pass")
    );
}
