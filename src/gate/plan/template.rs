//! A CloudFormation template (JSON, or YAML with the short-form intrinsics `!Ref`, `!Sub`, …),
//! a SAM template (`AWS::Serverless::Function` with `PackageType: Image`, its `Globals`), or
//! what `cdk synth` writes (`cdk.out/*.template.json`): the five resource types the hook judges,
//! their deciding properties evaluated ([`super::intrinsics`]) with the parameters given or
//! their defaults, resources whose `Condition` is false left out.

use serde_json::{json, Map, Value};

use super::intrinsics::Context;
use super::{line_of, Parameters, PlanItem, Proposal, ResourceType, Source, Step};
use crate::gate::cloudformation;

const SAM_FUNCTION: &str = "AWS::Serverless::Function";

pub fn is_template(v: &Value) -> bool {
    v.get("Resources").is_some_and(Value::is_object)
}

/// YAML as CloudFormation reads it: a short-form tag `!Name x` is `{"Fn::Name": x}` (`!Ref` is
/// `Ref`, `!Condition` is `Condition`, `!GetAtt a.b` is `{"Fn::GetAtt": ["a", "b"]}`).
pub fn parse_yaml(text: &str) -> Result<Value, String> {
    let y: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    Ok(from_yaml(y))
}

fn from_yaml(y: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match y {
        Y::Null => Value::Null,
        Y::Bool(b) => b.into(),
        Y::Number(n) => serde_json::to_value(&n).unwrap_or(Value::Null),
        Y::String(s) => s.into(),
        Y::Sequence(s) => Value::Array(s.into_iter().map(from_yaml).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        other => serde_norway::to_string(&other)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    };
                    (key, from_yaml(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => {
            let name = t.tag.to_string();
            let name = name.trim_start_matches('!');
            let value = from_yaml(t.value);
            let key = match name {
                "Ref" | "Condition" => name.to_string(),
                other => format!("Fn::{other}"),
            };
            let value = match (name, value) {
                ("GetAtt", Value::String(s)) => {
                    let (a, b) = s.split_once('.').unwrap_or((&s, ""));
                    json!([a, b])
                }
                (_, v) => v,
            };
            Value::Object([(key, value)].into_iter().collect())
        }
    }
}

/// The parameters' values: `--parameter` first, then each parameter's `Default`; pseudo
/// parameters only from the command line (`AWS::Partition` and `AWS::URLSuffix` default to the
/// commercial partition's).
fn context(doc: &Value, given: &Parameters) -> Context {
    let mut c = Context {
        conditions: doc
            .get("Conditions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        mappings: doc.get("Mappings").cloned().unwrap_or(Value::Null),
        resources: doc
            .get("Resources")
            .and_then(Value::as_object)
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default(),
        ..Context::default()
    };
    c.values.insert("AWS::Partition".into(), "aws".into());
    c.values
        .insert("AWS::URLSuffix".into(), "amazonaws.com".into());
    for (name, p) in doc
        .get("Parameters")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let list = p
            .get("Type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.contains("List"));
        let value = given
            .get(name)
            .map(|s| Value::String(s.clone()))
            .or_else(|| p.get("Default").cloned());
        match value {
            Some(Value::String(s)) if list => {
                c.values.insert(
                    name.clone(),
                    Value::Array(s.split(',').map(|x| x.trim().into()).collect()),
                );
            }
            Some(v) => {
                c.values.insert(name.clone(), v);
            }
            None => c.unset.push(name.clone()),
        }
    }
    for (name, value) in given {
        c.values
            .entry(name.clone())
            .or_insert_with(|| Value::String(value.clone()));
    }
    c
}

pub fn items(file: &str, text: &str, doc: &Value, given: &Parameters) -> Vec<PlanItem> {
    let c = context(doc, given);
    let globals = doc
        .pointer("/Globals/Function")
        .cloned()
        .unwrap_or(Value::Null);
    let mut out = Vec::new();
    for (id, r) in doc
        .get("Resources")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let type_name = r.get("Type").and_then(Value::as_str).unwrap_or("");
        let resource_type = if type_name == SAM_FUNCTION {
            ResourceType::LambdaFunction
        } else {
            match ResourceType::parse(type_name) {
                Some(t) => t,
                None => continue,
            }
        };
        let line = line_of(text, &format!("\"{id}\":"))
            .or_else(|| line_of(text, &format!("\n  {id}:")).map(|l| l + 1));
        let item = |step: Step| PlanItem {
            file: file.to_string(),
            line,
            address: id.clone(),
            source: Source::Cloudformation,
            resource_type,
            step,
        };
        if let Some(cond) = r.get("Condition").and_then(Value::as_str) {
            match c.condition(cond) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    out.push(item(Step::NotJudged(format!(
                        "{id}: its Condition {cond}: {e}"
                    ))));
                    continue;
                }
            }
        }
        let mut props = r.get("Properties").cloned().unwrap_or_else(|| json!({}));
        if type_name == SAM_FUNCTION {
            props = sam_function(&props, &globals);
        }
        let step = match deciding(resource_type, &props, &c) {
            Ok(properties) => {
                let proposal = Proposal {
                    resource_type,
                    logical_id: id.clone(),
                    properties,
                };
                match cloudformation::no_image(&proposal) {
                    Some(reason) => Step::Pass(reason),
                    None => Step::Judge(Box::new(proposal)),
                }
            }
            Err(e) if resource_type == ResourceType::EcsService => {
                match task_definition_here(&props, doc) {
                    Some(td) => Step::Pass(format!(
                        "its task definition {td} is in this template and judged there"
                    )),
                    None => Step::NotJudged(format!("{id}: {e}")),
                }
            }
            Err(e) => Step::NotJudged(format!("{id}: {e}")),
        };
        out.push(item(step));
    }
    out
}

/// A SAM function as the `AWS::Lambda::Function` SAM makes of it, `Globals.Function` filling
/// what it leaves out.
fn sam_function(props: &Value, globals: &Value) -> Value {
    let get = |k: &str| props.get(k).or_else(|| globals.get(k)).cloned();
    let mut p = Map::new();
    if let Some(t) = get("PackageType") {
        p.insert("PackageType".into(), t);
    }
    if let Some(uri) = get("ImageUri") {
        p.insert("Code".into(), json!({"ImageUri": uri}));
    }
    if let Some(a) = get("Architectures") {
        p.insert("Architectures".into(), a);
    }
    if let Some(n) = get("FunctionName") {
        p.insert("FunctionName".into(), n);
    }
    Value::Object(p)
}

/// The deciding properties (what the hook compares), evaluated; a task definition's containers
/// only by name and image.
fn deciding(t: ResourceType, props: &Value, c: &Context) -> Result<Value, String> {
    let mut out = Map::new();
    let mut keys: Vec<&str> = t.deciding_properties().to_vec();
    keys.extend(["Family", "ServiceName", "FunctionName", "JobDefinitionName"]);
    for key in keys {
        let Some(v) = props.get(key) else { continue };
        let resolved = if key == "ContainerDefinitions" {
            let list = c.resolve_list(v)?;
            Value::Array(
                list.iter()
                    .map(|cd| {
                        Ok(
                            json!({"Name": c.resolve(cd.get("Name").unwrap_or(&Value::Null))?,
                                  "Image": c.resolve(cd.get("Image").unwrap_or(&Value::Null))?}),
                        )
                    })
                    .collect::<Result<_, String>>()?,
            )
        } else if ["Family", "ServiceName", "FunctionName", "JobDefinitionName"].contains(&key) {
            // Names only label the resource: an unknown one is no reason not to judge it.
            c.resolve(v).unwrap_or(Value::Null)
        } else {
            c.resolve(v)?
        };
        out.insert(key.to_string(), resolved);
    }
    Ok(Value::Object(out))
}

impl Context {
    /// A list property evaluated to its elements (itself an intrinsic, or a list of them).
    fn resolve_list(&self, v: &Value) -> Result<Vec<Value>, String> {
        match v {
            Value::Array(a) => Ok(a.clone()),
            other => self
                .resolve(other)?
                .as_array()
                .cloned()
                .ok_or_else(|| "a list property is not a list".to_string()),
        }
    }
}

/// The template's own task definition an ECS service names (`Ref` to it).
fn task_definition_here(props: &Value, doc: &Value) -> Option<String> {
    let id = props.pointer("/TaskDefinition/Ref")?.as_str()?;
    let t = doc.pointer(&format!("/Resources/{id}/Type"))?.as_str()?;
    (t == "AWS::ECS::TaskDefinition").then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
Parameters:
  Tag:
    Type: String
    Default: v1
  Arch:
    Type: String
    Default: ARM64
Conditions:
  WithWorker: !Equals [!Ref Tag, v2]
Resources:
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      RequiresCompatibilities: [FARGATE]
      RuntimePlatform:
        CpuArchitecture: !Ref Arch
      ContainerDefinitions:
        - Name: web
          Image: !Sub "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/web:${Tag}"
          Environment:
            - Name: BUCKET
              Value: !GetAtt Bucket.Arn
  Service:
    Type: AWS::ECS::Service
    Properties:
      TaskDefinition: !Ref Task
  Worker:
    Type: AWS::ECS::TaskDefinition
    Condition: WithWorker
    Properties:
      ContainerDefinitions: [{Name: w, Image: x}]
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: !GetAtt Repo.RepositoryUri
  Zip:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
  Bucket:
    Type: AWS::S3::Bucket
"#;

    #[test]
    fn a_yaml_template_with_short_forms_parameters_and_conditions() {
        let doc = parse_yaml(YAML).unwrap();
        assert!(is_template(&doc));
        let mut given = Parameters::new();
        given.insert("AWS::AccountId".into(), "123456789012".into());
        given.insert("AWS::Region".into(), "eu-west-1".into());
        let items = items("t.yaml", YAML, &doc, &given);
        let by = |id: &str| items.iter().find(|i| i.address == id).unwrap();
        let Step::Judge(p) = &by("Task").step else {
            panic!("{:?}", by("Task").step)
        };
        assert_eq!(
            p.properties["ContainerDefinitions"][0]["Image"],
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v1"
        );
        assert_eq!(p.properties["RuntimePlatform"]["CpuArchitecture"], "ARM64");
        assert_eq!(by("Task").line, Some(12));
        assert!(
            matches!(&by("Service").step, Step::Pass(r) if r.contains("Task is in this template"))
        );
        assert!(
            items.iter().all(|i| i.address != "Worker"),
            "its condition is false"
        );
        assert!(
            matches!(&by("Fn").step, Step::NotJudged(r) if r.contains("Fn::GetAtt Repo.RepositoryUri"))
        );
        assert!(matches!(&by("Zip").step, Step::Pass(r) if r.contains(".zip")));

        // Without the pseudo parameters the image cannot be told: not judged, saying why.
        let items = super::items("t.yaml", YAML, &doc, &Parameters::new());
        let task = items.iter().find(|i| i.address == "Task").unwrap();
        assert!(
            matches!(&task.step, Step::NotJudged(r) if r.contains("--parameter AWS::AccountId=")),
            "{:?}",
            task.step
        );
    }
}
