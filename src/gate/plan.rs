//! `ecr-arch-guard plan`: what an infrastructure change will deploy, judged before it is applied.
//! Each input file — a Terraform plan as `terraform show -json` writes it ([`terraform`]), a
//! CloudFormation, SAM or CDK template ([`template`]), an ECS task definition file
//! ([`task_definition`]) — becomes [`PlanItem`]s: the resources that start containers, each
//! as the CloudFormation hook's [`Proposal`] (the same property names, so the same reads and the
//! same rules judge it: one judgement, two entries), or the reason it is not judged.
//!
//! Pure: parsing and classification; the judgement is the guard's (`cli/plan.rs`).

use serde_json::{Map, Value};

pub use crate::consumers::proposal::Proposal;
pub use crate::consumers::resource_type::ResourceType;
use crate::util::error::Error;

pub mod intrinsics;
pub mod task_definition;
pub mod template;
pub mod terraform;

/// Which kind of document an item came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Terraform,
    Cloudformation,
    TaskDefinition,
}

impl Source {
    /// `terraform`, `cloudformation`, `task-definition` (as the JSON output writes it).
    pub fn name(self) -> &'static str {
        match self {
            Source::Terraform => "terraform",
            Source::Cloudformation => "cloudformation",
            Source::TaskDefinition => "task-definition",
        }
    }
}

/// What is to be done with one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Judge it, exactly as the CloudFormation hook judges this proposal.
    Judge(Box<Proposal>),
    /// Nothing to judge (a .zip function, a code-built App Runner service, a service whose
    /// task definition is judged in the same plan), with the reason.
    Pass(String),
    /// It starts containers, but what it will run is not known before apply (or cannot be
    /// read from the file): never a silent pass.
    NotJudged(String),
}

/// One resource of an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanItem {
    pub file: String,
    /// 1-based line of the resource in the file, where it can be told.
    pub line: Option<usize>,
    /// Terraform's address (`module.app.aws_ecs_task_definition.web`), the template's logical
    /// id, or the task definition's family.
    pub address: String,
    pub source: Source,
    pub resource_type: ResourceType,
    pub step: Step,
}

/// Values for a template's parameters (`--parameter NAME=VALUE`, pseudo parameters included:
/// `AWS::AccountId`, `AWS::Region`).
pub type Parameters = std::collections::BTreeMap<String, String>;

/// Reads one input file (`name` for messages and locations): which kind it is is told by its
/// content.
pub fn read(name: &str, text: &str, parameters: &Parameters) -> Result<Vec<PlanItem>, Error> {
    let json: Option<Value> = serde_json::from_str(text).ok();
    match &json {
        Some(v) if terraform::is_plan(v) => Ok(terraform::items(name, text, v)),
        Some(v) if task_definition::is_task_definition(v) => {
            Ok(task_definition::items(name, text, v))
        }
        _ => {
            let doc = match json {
                Some(v) => v,
                None => template::parse_yaml(text).map_err(|e| {
                    Error::Usage(format!(
                        "{name}: neither JSON nor YAML ({e}); plan reads `terraform show -json` \
                         output, CloudFormation/SAM/CDK templates and ECS task definition files"
                    ))
                })?,
            };
            if template::is_template(&doc) {
                Ok(template::items(name, text, &doc, parameters))
            } else {
                Err(Error::Usage(format!(
                    "{name}: not a Terraform plan (resource_changes), a CloudFormation template \
                     (Resources) or an ECS task definition (containerDefinitions)"
                )))
            }
        }
    }
}

/// The ECS API's camelCase `runtimePlatform` (or the provider's block) as CloudFormation's.
pub fn runtime_platform(rp: &Value) -> Value {
    let pick = |a: &str, b: &str| {
        rp.get(a)
            .or_else(|| rp.get(b))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let mut out = Map::new();
    for (cfn, camel, snake) in [
        ("CpuArchitecture", "cpuArchitecture", "cpu_architecture"),
        (
            "OperatingSystemFamily",
            "operatingSystemFamily",
            "operating_system_family",
        ),
    ] {
        let v = pick(camel, snake);
        if v.as_str().is_some_and(|s| !s.is_empty()) {
            out.insert(cfn.into(), v);
        }
    }
    Value::Object(out)
}

/// The ECS API's `containerDefinitions` (camelCase: what RegisterTaskDefinition takes and
/// the AWS provider stores) as CloudFormation's `ContainerDefinitions`, by name and image (what
/// the judgement reads).
pub fn container_definitions(list: Option<&Value>) -> Value {
    let containers = list
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let mut out = Map::new();
            out.insert("Name".into(), c.get("name").cloned().unwrap_or(Value::Null));
            out.insert(
                "Image".into(),
                c.get("image").cloned().unwrap_or(Value::Null),
            );
            Value::Object(out)
        })
        .collect();
    Value::Array(containers)
}

/// The 1-based line of the first occurrence of `needle` in `text`.
pub fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.find(needle)
        .map(|at| text[..at].bytes().filter(|b| *b == b'\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_an_input_is_named() {
        let e = read("x.json", r#"{"hello": 1}"#, &Parameters::new()).unwrap_err();
        assert!(e.to_string().contains("not a Terraform plan"), "{e}");
        let e = read("x.txt", "{{{ not: [yaml", &Parameters::new()).unwrap_err();
        assert!(e.to_string().contains("neither JSON nor YAML"), "{e}");
        assert_eq!(line_of("a\nb\nc", "c"), Some(3));
    }
}
