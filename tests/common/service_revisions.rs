//! ECS service revisions for moto, which has none. ECS creates an immutable revision "whenever
//! you create or deploy a service" (ECS API Reference, ServiceRevision), with each container
//! image tag resolved to a digest (ContainerImage: "Amazon ECS resolves container image names
//! and any image tags specified in the task definition to container image digests").
//! [`ServiceRevisions::record`] does that when a test deploys: it reads the service and its task
//! definition from moto and each image's digest from moto's ECR, and keeps the revision; the
//! gap filler answers DescribeServiceRevisions from what was kept ([`ServiceRevisions::answer`]),
//! an unknown ARN in `failures` (reason `MISSING`, as DescribeServices reports an unknown
//! service).

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::Mutex;

use super::loopback::{respond, Request};
use super::moto::{call, ecr_digest};

pub struct ServiceRevisions {
    moto_port: u16,
    /// By ARN.
    revisions: Mutex<HashMap<String, serde_json::Value>>,
}

impl ServiceRevisions {
    pub fn new(moto_port: u16) -> ServiceRevisions {
        ServiceRevisions {
            moto_port,
            revisions: Mutex::default(),
        }
    }

    /// Records the service revision ECS creates when `service` of `cluster` is deployed as it
    /// stands in moto now (its task definition, launch type, capacity provider strategy), each
    /// container image's tag resolved to the digest moto's ECR holds for it; its ARN
    /// (`…:service-revision/CLUSTER/SERVICE/ID`).
    pub fn record(&self, cluster: &str, service: &str) -> String {
        let port = self.moto_port;
        let described = call(
            port,
            "ecs",
            "AmazonEC2ContainerServiceV20141113.DescribeServices",
            serde_json::json!({"cluster": cluster, "services": [service]}),
        );
        let s = &described["services"][0];
        let td_arn = s["taskDefinition"]
            .as_str()
            .expect("the service has a task definition");
        let td = call(
            port,
            "ecs",
            "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
            serde_json::json!({"taskDefinition": td_arn}),
        );
        let images: Vec<serde_json::Value> = td["taskDefinition"]["containerDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let image = c["image"].as_str().unwrap_or_default();
                let digest = image
                    .split_once('/')
                    .and_then(|(_, path)| path.rsplit_once(':'))
                    .and_then(|(repo, tag)| ecr_digest(port, repo, tag));
                serde_json::json!({"containerName": c["name"], "image": image, "imageDigest": digest})
            })
            .collect();
        let mut revisions = self.revisions.lock().unwrap();
        let service_arn = s["serviceArn"].as_str().unwrap().to_string();
        let arn = format!(
            "{}/{}",
            service_arn.replacen(":service/", ":service-revision/", 1),
            9_313_423_515_462_893_900u64 + revisions.len() as u64
        );
        let mut revision = serde_json::json!({
            "serviceRevisionArn": arn, "serviceArn": service_arn,
            "clusterArn": s["clusterArn"], "taskDefinition": td_arn,
            "containerImages": images, "guardDutyEnabled": false, "createdAt": 1.7e9
        });
        for key in ["launchType", "capacityProviderStrategy", "platformVersion"] {
            if !s[key].is_null() {
                revision[key] = s[key].clone();
            }
        }
        revisions.insert(arn.clone(), revision);
        arn
    }

    /// ECS's answer to DescribeServiceRevisions from the revisions recorded.
    pub fn answer(&self, stream: &TcpStream, req: &Request) {
        let revisions = self.revisions.lock().unwrap();
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let (mut found, mut failures) = (Vec::new(), Vec::new());
        for arn in body["serviceRevisionArns"].as_array().into_iter().flatten() {
            let arn = arn.as_str().unwrap_or_default();
            match revisions.get(arn) {
                Some(r) => found.push(r.clone()),
                None => failures.push(serde_json::json!({"arn": arn, "reason": "MISSING"})),
            }
        }
        let out = serde_json::json!({"serviceRevisions": found, "failures": failures});
        respond(
            stream,
            "200 OK",
            "application/x-amz-json-1.1",
            &[],
            out.to_string().as_bytes(),
        );
    }
}

/// The ECS guide's PRE_SCALE_UP lifecycle hook payload (`events/hook-ecs-pre-scale-up.json`,
/// unchanged but for its names) for `revision`, as execution `execution`: the service and the
/// service deployment named after the revision's cluster and service.
pub fn pre_scale_up_payload(revision: &str, execution: &str) -> serde_json::Value {
    let mut p = super::fixtures::event_value("hook-ecs-pre-scale-up.json");
    let service = revision
        .replacen(":service-revision/", ":service/", 1)
        .rsplit_once('/')
        .unwrap()
        .0
        .to_string();
    p["executionId"] = execution.into();
    p["resourceArn"] = service
        .replacen(":service/", ":service-deployment/", 1)
        .into();
    p["executionDetails"]["serviceArn"] = service.into();
    p["executionDetails"]["targetServiceRevisionArn"] = revision.into();
    p
}
