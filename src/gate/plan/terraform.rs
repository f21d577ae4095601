//! A Terraform plan as `terraform show -json PLANFILE` writes it (HashiCorp, "JSON Output
//! Format"): `resource_changes[]`, one per resource instance of every module (`address`
//! `module.app.aws_ecs_service.web[0]`), each with `change.actions` (`["create"]`,
//! `["update"]`, `["delete","create"]` or `["create","delete"]` for a replacement, `["delete"]`,
//! `["no-op"]`, `["read"]`), `change.after` (the values after apply) and `change.after_unknown`
//! (`true` where a value is known only at apply). Resources the AWS provider documents:
//! `aws_ecs_task_definition` (`container_definitions` a JSON string, `runtime_platform`,
//! `requires_compatibilities`), `aws_ecs_service`, `aws_lambda_function` (`package_type`,
//! `image_uri`, `architectures`), `aws_apprunner_service` (`source_configuration.image_repository`),
//! `aws_batch_job_definition` (`container_properties`, `ecs_properties`, `node_properties` JSON
//! strings, `platform_capabilities`). Each becomes the CloudFormation resource's properties.

use serde_json::{json, Map, Value};

use super::{line_of, PlanItem, Proposal, ResourceType, Source, Step};

mod properties;
use properties::{block, job_definition_properties, task_definition_properties, text};

const TYPES: [(&str, ResourceType); 5] = [
    ("aws_ecs_task_definition", ResourceType::EcsTaskDefinition),
    ("aws_ecs_service", ResourceType::EcsService),
    ("aws_lambda_function", ResourceType::LambdaFunction),
    ("aws_apprunner_service", ResourceType::AppRunnerService),
    ("aws_batch_job_definition", ResourceType::BatchJobDefinition),
];

pub fn is_plan(v: &Value) -> bool {
    v.get("resource_changes").is_some_and(Value::is_array)
        || (v.get("format_version").is_some() && v.get("planned_values").is_some())
}

pub fn items(file: &str, text: &str, plan: &Value) -> Vec<PlanItem> {
    let changes: Vec<&Value> = plan
        .get("resource_changes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let deploys = |c: &&&Value| {
        let actions: Vec<&str> = c
            .pointer("/change/actions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        actions.contains(&"create") || actions.contains(&"update")
    };
    let mut out = Vec::new();
    for c in changes.iter().filter(deploys) {
        if c.get("mode").and_then(Value::as_str) == Some("data") {
            continue;
        }
        let tf_type = c.get("type").and_then(Value::as_str).unwrap_or("");
        let Some((_, resource_type)) = TYPES.iter().find(|(t, _)| *t == tf_type) else {
            continue;
        };
        let address = c
            .get("address")
            .and_then(Value::as_str)
            .unwrap_or(tf_type)
            .to_string();
        let after = c.pointer("/change/after").unwrap_or(&Value::Null);
        let unknown = c.pointer("/change/after_unknown").unwrap_or(&Value::Null);
        let step = step(*resource_type, &address, after, unknown, &changes);
        out.push(PlanItem {
            file: file.to_string(),
            line: line_of(text, &format!("\"address\": \"{address}\""))
                .or_else(|| line_of(text, &format!("\"address\":\"{address}\""))),
            address,
            source: Source::Terraform,
            resource_type: *resource_type,
            step,
        });
    }
    out
}

/// `after_unknown` at `key`: `true`, or an object / array holding a `true` anywhere.
fn unknown_at(unknown: &Value, key: &str) -> bool {
    fn any_true(v: &Value) -> bool {
        match v {
            Value::Bool(b) => *b,
            Value::Array(a) => a.iter().any(any_true),
            Value::Object(o) => o.values().any(any_true),
            _ => false,
        }
    }
    unknown.get(key).is_some_and(any_true)
}

fn not_known(address: &str, what: &str) -> Step {
    Step::NotJudged(format!(
        "{address}: {what} is known only at apply (it comes from something created or changed \
         in the same apply); judge it after apply with `ecr-arch-guard consumer ARN`"
    ))
}

fn step(
    resource_type: ResourceType,
    address: &str,
    after: &Value,
    unknown: &Value,
    all: &[&Value],
) -> Step {
    let judge = |properties: Value| {
        Step::Judge(Box::new(Proposal {
            resource_type,
            logical_id: address.to_string(),
            properties,
        }))
    };
    match resource_type {
        ResourceType::EcsTaskDefinition => {
            for key in ["container_definitions", "runtime_platform"] {
                if unknown_at(unknown, key) {
                    return not_known(address, key);
                }
            }
            match task_definition_properties(after) {
                Ok(p) => judge(p),
                Err(e) => Step::NotJudged(format!("{address}: {e}")),
            }
        }
        ResourceType::EcsService => {
            let Some(td) = text(after, "task_definition") else {
                if unknown_at(unknown, "task_definition") {
                    let here: Vec<&str> = all
                        .iter()
                        .filter(|c| {
                            c.get("type").and_then(Value::as_str) == Some("aws_ecs_task_definition")
                        })
                        .filter(|c| same_module(c, address))
                        .filter_map(|c| c.get("address").and_then(Value::as_str))
                        .collect();
                    if !here.is_empty() {
                        return Step::Pass(format!(
                            "its task definition is created in this plan and judged there ({})",
                            here.join(", ")
                        ));
                    }
                    return not_known(address, "task_definition");
                }
                return Step::Pass(format!(
                    "{address} names no task definition (an EXTERNAL deployment controller)"
                ));
            };
            let mut p = Map::new();
            p.insert("TaskDefinition".into(), td.into());
            if let Some(c) = text(after, "cluster") {
                p.insert("Cluster".into(), c.into());
            }
            if let Some(l) = text(after, "launch_type") {
                p.insert("LaunchType".into(), l.into());
            }
            let providers: Vec<Value> = after
                .get("capacity_provider_strategy")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| text(s, "capacity_provider"))
                .map(|cp| json!({"CapacityProvider": cp}))
                .collect();
            if !providers.is_empty() {
                p.insert("CapacityProviderStrategy".into(), providers.into());
            }
            judge(Value::Object(p))
        }
        ResourceType::LambdaFunction => {
            if text(after, "package_type") != Some("Image") {
                return Step::Pass(format!(
                    "Lambda function {address} is a .zip function: no container image involved"
                ));
            }
            if unknown_at(unknown, "image_uri") {
                return not_known(address, "image_uri");
            }
            let mut p = json!({"PackageType": "Image"});
            if let Some(uri) = text(after, "image_uri") {
                p["Code"] = json!({"ImageUri": uri});
            }
            if let Some(a) = after.get("architectures").filter(|a| a.is_array()) {
                p["Architectures"] = a.clone();
            }
            judge(p)
        }
        ResourceType::AppRunnerService => {
            let repo =
                block(after, "source_configuration").and_then(|s| block(s, "image_repository"));
            let Some(repo) = repo else {
                return Step::Pass(format!(
                    "App Runner service {address} builds from a code repository: no container image involved"
                ));
            };
            if unknown_at(unknown, "source_configuration")
                && text(repo, "image_identifier").is_none()
            {
                return not_known(
                    address,
                    "source_configuration.image_repository.image_identifier",
                );
            }
            judge(json!({"SourceConfiguration": {"ImageRepository": {
                "ImageIdentifier": text(repo, "image_identifier").unwrap_or_default(),
                "ImageRepositoryType": text(repo, "image_repository_type").unwrap_or_default()
            }}}))
        }
        ResourceType::BatchJobDefinition => {
            for key in ["container_properties", "ecs_properties", "node_properties"] {
                if unknown_at(unknown, key) {
                    return not_known(address, key);
                }
            }
            match job_definition_properties(after) {
                Ok(p) => judge(p),
                Err(e) => Step::NotJudged(format!("{address}: {e}")),
            }
        }
        ResourceType::EcsExpressGatewayService => Step::Pass("not a Terraform resource".into()),
    }
}

/// Whether `change` is in the same module as `address` (`module.a.aws_x.y` → `module.a`).
fn same_module(change: &Value, address: &str) -> bool {
    let module = |a: &str| -> String { a.rsplitn(3, '.').nth(2).unwrap_or("").to_string() };
    change
        .get("address")
        .and_then(Value::as_str)
        .is_some_and(|a| module(a) == module(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(
        address: &str,
        tf_type: &str,
        actions: &[&str],
        after: Value,
        unknown: Value,
    ) -> Value {
        json!({"address": address, "mode": "managed", "type": tf_type, "name": "x",
               "change": {"actions": actions, "after": after, "after_unknown": unknown}})
    }

    fn plan(changes: Vec<Value>) -> Value {
        json!({"format_version": "1.2", "resource_changes": changes})
    }

    #[test]
    fn a_task_definition_becomes_the_cloudformation_properties() {
        let p = plan(vec![change(
            "module.app.aws_ecs_task_definition.web",
            "aws_ecs_task_definition",
            &["delete", "create"],
            json!({"family": "web",
                   "container_definitions": "[{\"name\":\"web\",\"image\":\"1.dkr.ecr.us-east-1.amazonaws.com/web:1\",\"cpu\":0}]",
                   "runtime_platform": [{"cpu_architecture": "ARM64", "operating_system_family": "LINUX"}],
                   "requires_compatibilities": ["FARGATE"]}),
            json!({}),
        )]);
        let text = serde_json::to_string_pretty(&p).unwrap();
        let items = items("plan.json", &text, &p);
        assert_eq!(items.len(), 1);
        assert!(items[0].line.is_some());
        let Step::Judge(proposal) = &items[0].step else {
            panic!("{:?}", items[0].step)
        };
        assert_eq!(
            proposal.properties["ContainerDefinitions"][0]["Image"],
            "1.dkr.ecr.us-east-1.amazonaws.com/web:1"
        );
        assert_eq!(
            proposal.properties["RuntimePlatform"]["CpuArchitecture"],
            "ARM64"
        );
        assert_eq!(proposal.properties["RequiresCompatibilities"][0], "FARGATE");
    }

    #[test]
    fn unknown_values_deletions_and_zip_functions() {
        let p = plan(vec![
            change(
                "aws_ecs_task_definition.a",
                "aws_ecs_task_definition",
                &["create"],
                json!({"family": "a"}),
                json!({"container_definitions": true}),
            ),
            change(
                "aws_ecs_task_definition.gone",
                "aws_ecs_task_definition",
                &["delete"],
                Value::Null,
                json!({}),
            ),
            change(
                "aws_lambda_function.zip",
                "aws_lambda_function",
                &["create"],
                json!({"package_type": "Zip"}),
                json!({}),
            ),
            change(
                "module.other.aws_ecs_service.s",
                "aws_ecs_service",
                &["update"],
                json!({"cluster": "c"}),
                json!({"task_definition": true}),
            ),
            change(
                "aws_s3_bucket.b",
                "aws_s3_bucket",
                &["create"],
                json!({}),
                json!({}),
            ),
        ]);
        let items = items("p", "", &p);
        assert_eq!(
            items.len(),
            3,
            "deleted and other resources ignored: {items:#?}"
        );
        assert!(
            matches!(&items[0].step, Step::NotJudged(r) if r.contains("container_definitions is known only at apply"))
        );
        assert!(matches!(&items[1].step, Step::Pass(r) if r.contains(".zip")));
        assert!(matches!(&items[2].step, Step::NotJudged(r) if r.contains("task_definition")));
    }

    #[test]
    fn a_service_whose_task_definition_is_in_the_plan_is_judged_through_it() {
        let p = plan(vec![
            change(
                "module.m.aws_ecs_task_definition.t",
                "aws_ecs_task_definition",
                &["create"],
                json!({"container_definitions": "[]"}),
                json!({}),
            ),
            change(
                "module.m.aws_ecs_service.s",
                "aws_ecs_service",
                &["update"],
                json!({}),
                json!({"task_definition": true}),
            ),
        ]);
        let items = items("p", "", &p);
        assert!(
            matches!(&items[1].step, Step::Pass(r) if r.contains("module.m.aws_ecs_task_definition.t"))
        );
    }
}
