//! ECS on EC2 capacity through aws-smithy-mocks, in ECS's wire format (awsJson1_1; shapes
//! from the ECS API reference: ListClusters, ListServices, DescribeServices,
//! ListTaskDefinitions, DescribeTaskDefinition, ListAttributes). moto cannot stand in here: it
//! sets no `ecs.cpu-architecture` attribute on container instances, and its ListAttributes
//! filtered by attribute name also filters on an (absent) value, so it always answers nothing.
#![allow(dead_code)]

use aws_smithy_mocks::{mock, Rule};
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;

const ACCOUNT: &str = "123456789012";

fn json(body: serde_json::Value) -> Response {
    Response::new(200.try_into().unwrap(), SdkBody::from(body.to_string()))
}

pub fn cluster_arn(name: &str) -> String {
    format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/{name}")
}

/// One cluster per `(name, architectures of its container instances)`, each running a service
/// `web` on EC2 (`launchType` EC2) from one task definition without `runtimePlatform`, whose
/// container runs `image`. The mock rules, to give to `mock_client!(aws_sdk_ecs,
/// RuleMode::MatchAny, …)`.
pub fn ec2_clusters(clusters: &[(&str, &[&str])], image: &str) -> Vec<Rule> {
    let names: Vec<String> = clusters.iter().map(|(n, _)| n.to_string()).collect();
    let arns: Vec<String> = names.iter().map(|n| cluster_arn(n)).collect();
    let td_arn = format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:3");
    let mut rules = vec![
        mock!(aws_sdk_ecs::Client::list_clusters)
            .then_http_response(move || json(serde_json::json!({ "clusterArns": arns }))),
        mock!(aws_sdk_ecs::Client::list_task_definitions)
            .then_http_response(|| json(serde_json::json!({ "taskDefinitionArns": [] }))),
    ];
    let (image, td) = (image.to_string(), td_arn.clone());
    rules.push(
        mock!(aws_sdk_ecs::Client::describe_task_definition).then_http_response(move || {
            json(serde_json::json!({"taskDefinition": {
                "taskDefinitionArn": td, "family": "web", "revision": 3, "status": "ACTIVE",
                "requiresCompatibilities": ["EC2"],
                "containerDefinitions": [{"name": "app", "image": image, "essential": true}]
            }}))
        }),
    );
    for (name, archs) in clusters {
        let (n1, n2, n3) = (name.to_string(), name.to_string(), name.to_string());
        let service_arn = format!("arn:aws:ecs:us-east-1:{ACCOUNT}:service/{name}/web");
        let s1 = service_arn.clone();
        rules.push(
            mock!(aws_sdk_ecs::Client::list_services)
                .match_requests(move |r| r.cluster() == Some(cluster_arn(&n1).as_str()))
                .then_http_response(move || json(serde_json::json!({ "serviceArns": [s1] }))),
        );
        let td = td_arn.clone();
        rules.push(
            mock!(aws_sdk_ecs::Client::describe_services)
                .match_requests(move |r| r.cluster() == Some(cluster_arn(&n2).as_str()))
                .then_http_response(move || {
                    json(serde_json::json!({"services": [{
                        "serviceArn": service_arn, "serviceName": "web",
                        "clusterArn": cluster_arn(&n3), "taskDefinition": td,
                        "launchType": "EC2", "status": "ACTIVE", "desiredCount": 2
                    }], "failures": []}))
                }),
        );
        let attributes: Vec<serde_json::Value> = archs
            .iter()
            .enumerate()
            .map(|(i, a)| {
                serde_json::json!({
                    "name": "ecs.cpu-architecture", "value": a,
                    "targetType": "container-instance",
                    "targetId": format!("arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance/{name}/{i:032x}")
                })
            })
            .collect();
        let n4 = name.to_string();
        rules.push(
            mock!(aws_sdk_ecs::Client::list_attributes)
                .match_requests(move |r| {
                    r.cluster() == Some(cluster_arn(&n4).as_str())
                        && r.attribute_name() == Some("ecs.cpu-architecture")
                        && r.target_type()
                            == Some(&aws_sdk_ecs::types::TargetType::ContainerInstance)
                })
                .then_http_response(move || json(serde_json::json!({ "attributes": attributes }))),
        );
    }
    rules
}
