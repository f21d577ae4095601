//! The fake estate's Amazon ECS: clusters, services, task definitions (JSON 1.1).

use serde_json::{json, Value};

use super::{answer, ecs_json, page, Answer, State, REVISIONS};
use crate::common::local_aws::{ACCOUNT, REGION};

impl State {
    fn service_arn(c: usize, s: usize) -> String {
        format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/cluster-{c:02}/svc-{s:03}")
    }

    fn td_arn(f: usize, rev: usize) -> String {
        format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/family-{f:03}:{rev}")
    }

    fn family_of(&self, c: usize, s: usize) -> usize {
        (c * self.spec.services_per_cluster + s) % self.spec.families
    }

    pub(super) fn ecs(&self, action: &str, input: &Value) -> Answer {
        let token = input["nextToken"].as_str();
        let max = |default: usize| input["maxResults"].as_u64().map_or(default, |m| m as usize);
        let spec = &self.spec;
        match action {
            "ListClusters" => {
                let all: Vec<String> = (0..spec.clusters)
                    .map(|c| format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/cluster-{c:02}"))
                    .collect();
                let (items, next) = page(&all, token, max(100));
                ecs_json(json!({"clusterArns": items, "nextToken": next}))
            }
            "ListServices" => {
                let cluster = input["cluster"].as_str().unwrap_or_default();
                let c: usize = cluster.rsplit('-').next().unwrap().parse().unwrap();
                let all: Vec<String> = (0..spec.services_per_cluster)
                    .map(|s| Self::service_arn(c, s))
                    .collect();
                // "If this parameter isn't used, then ListServices returns up to 10 results".
                let (items, next) = page(&all, token, max(10).min(100));
                ecs_json(json!({"serviceArns": items, "nextToken": next}))
            }
            "DescribeServices" => {
                let services: Vec<Value> = input["services"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|arn| {
                        let arn = arn.as_str().unwrap();
                        let path = arn.rsplit("service/").next().unwrap();
                        let (cluster, name) = path.split_once('/').unwrap();
                        let c: usize = cluster.rsplit('-').next().unwrap().parse().unwrap();
                        let s: usize = name.rsplit('-').next().unwrap().parse().unwrap();
                        json!({
                            "serviceArn": arn, "serviceName": name,
                            "clusterArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}"),
                            "taskDefinition": Self::td_arn(self.family_of(c, s), REVISIONS),
                            "launchType": "FARGATE", "status": "ACTIVE",
                            "desiredCount": 1, "runningCount": 1
                        })
                    })
                    .collect();
                ecs_json(json!({"services": services, "failures": []}))
            }
            "ListTaskDefinitions" => {
                let all: Vec<String> = (0..spec.families)
                    .flat_map(|f| (1..=REVISIONS).map(move |r| Self::td_arn(f, r)))
                    .collect();
                let (items, next) = page(&all, token, max(100));
                ecs_json(json!({"taskDefinitionArns": items, "nextToken": next}))
            }
            "DescribeTaskDefinition" => {
                let name = input["taskDefinition"].as_str().unwrap_or_default();
                let tail = name.rsplit("task-definition/").next().unwrap();
                let (family, rev) = tail.rsplit_once(':').unwrap();
                let f: usize = family.rsplit('-').next().unwrap().parse().unwrap();
                let (image, cpu) = spec.family_image(f);
                ecs_json(json!({"taskDefinition": {
                    "taskDefinitionArn": Self::td_arn(f, rev.parse().unwrap()),
                    "family": family, "revision": rev.parse::<u64>().unwrap(), "status": "ACTIVE",
                    "containerDefinitions": [{"name": "app", "image": image, "essential": true}],
                    "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
                    "cpu": "256", "memory": "512",
                    "runtimePlatform": {"cpuArchitecture": cpu, "operatingSystemFamily": "LINUX"}
                }}))
            }
            other => answer(
                400,
                &[],
                json!({"__type": "InvalidParameterException", "message": format!("{other} is not faked")})
                    .to_string(),
            ),
        }
    }
}
