//! An ECS task definition file: the RegisterTaskDefinition request (ECS API Reference; what
//! `aws ecs register-task-definition --cli-input-json file://…` and ecspresso's task definition
//! file hold: `family`, `containerDefinitions[].image`, `runtimePlatform`,
//! `requiresCompatibilities`), or DescribeTaskDefinition's answer (`{"taskDefinition": {…}}`).

use serde_json::{json, Value};

use super::{line_of, PlanItem, Proposal, ResourceType, Source, Step};

fn body(v: &Value) -> &Value {
    v.get("taskDefinition").unwrap_or(v)
}

pub fn is_task_definition(v: &Value) -> bool {
    body(v)
        .get("containerDefinitions")
        .is_some_and(Value::is_array)
}

pub fn items(file: &str, text: &str, v: &Value) -> Vec<PlanItem> {
    let td = body(v);
    let family = td
        .get("family")
        .and_then(Value::as_str)
        .unwrap_or("(no family)")
        .to_string();
    let containers = super::container_definitions(td.get("containerDefinitions"));
    let mut p = json!({"Family": family, "ContainerDefinitions": containers});
    if let Some(rp) = td.get("runtimePlatform") {
        p["RuntimePlatform"] = super::runtime_platform(rp);
    }
    if let Some(rc) = td.get("requiresCompatibilities").filter(|v| v.is_array()) {
        p["RequiresCompatibilities"] = rc.clone();
    }
    vec![PlanItem {
        file: file.to_string(),
        line: line_of(text, "\"family\"").or_else(|| line_of(text, "\"containerDefinitions\"")),
        address: family.clone(),
        source: Source::TaskDefinition,
        resource_type: ResourceType::EcsTaskDefinition,
        step: Step::Judge(Box::new(Proposal {
            resource_type: ResourceType::EcsTaskDefinition,
            logical_id: family,
            properties: p,
        })),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_register_request_and_a_describe_answer() {
        let request = json!({"family": "web", "requiresCompatibilities": ["FARGATE"],
            "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
            "containerDefinitions": [{"name": "web", "image": "r/web:1", "essential": true}]});
        for v in [request.clone(), json!({"taskDefinition": request})] {
            assert!(is_task_definition(&v));
            let items = items("td.json", &serde_json::to_string_pretty(&v).unwrap(), &v);
            let Step::Judge(p) = &items[0].step else {
                panic!()
            };
            assert_eq!(p.properties["RuntimePlatform"]["CpuArchitecture"], "ARM64");
            assert_eq!(p.properties["ContainerDefinitions"][0]["Image"], "r/web:1");
            assert_eq!(items[0].address, "web");
            assert!(items[0].line.is_some());
        }
    }
}
