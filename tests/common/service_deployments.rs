//! ECS service deployments for moto, which has none: what ECS creates when a service is
//! deployed (ECS API Reference: ServiceDeployment, ServiceDeploymentBrief) and the three calls
//! the deployment watcher makes, answered as the API reference documents them:
//! - ListServiceDeployments (`service`, `cluster`, `status` filter) → `serviceDeployments`
//!   (briefs: `serviceDeploymentArn`, `serviceArn`, `clusterArn`, `targetServiceRevisionArn`,
//!   `status`, `createdAt`);
//! - DescribeServiceDeployments (`serviceDeploymentArns`) → `serviceDeployments` (with
//!   `targetServiceRevision.arn` and `deploymentConfiguration.lifecycleHooks`) and `failures`
//!   (reason `MISSING`);
//! - StopServiceDeployment (`serviceDeploymentArn`, `stopType`) → `serviceDeploymentArn`; the
//!   deployment moves to ROLLBACK_REQUESTED ("Stopping Amazon ECS service deployments"); an
//!   unknown ARN is `ServiceDeploymentNotFoundException`. Each stop is recorded.

use std::net::TcpStream;
use std::sync::Mutex;

use serde_json::{json, Value};

use super::loopback::{respond, Request};

#[derive(Default)]
pub struct ServiceDeployments {
    deployments: Mutex<Vec<Value>>,
    /// `(serviceDeploymentArn, stopType)` of every StopServiceDeployment.
    stops: Mutex<Vec<(String, String)>>,
}

const CT: &str = "application/x-amz-json-1.1";

impl ServiceDeployments {
    /// Records an IN_PROGRESS deployment of `revision` (a service revision ARN,
    /// `…:service-revision/CLUSTER/SERVICE/ID`), whose lifecycle hook (if any) calls
    /// `hook_target`; its ARN (`…:service-deployment/CLUSTER/SERVICE/ID`).
    pub fn record(&self, revision: &str, hook_target: Option<&str>) -> String {
        let mut all = self.deployments.lock().unwrap();
        let (service_path, _) = revision.rsplit_once('/').unwrap();
        let service = service_path.replacen(":service-revision/", ":service/", 1);
        let cluster = {
            let (head, path) = service.split_once(":service/").unwrap();
            format!("{head}:cluster/{}", path.split('/').next().unwrap())
        };
        let arn = format!(
            "{}/dEpLoY{}x{}",
            service_path.replacen(":service-revision/", ":service-deployment/", 1),
            all.len(),
            revision.len()
        );
        let hooks: Vec<Value> = hook_target
            .map(|t| {
                json!({"hookTargetArn": t, "roleArn": "arn:aws:iam::123456789012:role/ecs-hooks",
                       "lifecycleStages": ["PRE_SCALE_UP"]})
            })
            .into_iter()
            .collect();
        let at = 1.7e9 + all.len() as f64;
        all.push(json!({
            "serviceDeploymentArn": arn, "serviceArn": service, "clusterArn": cluster,
            "createdAt": at, "startedAt": at,
            "targetServiceRevision": {"arn": revision, "requestedTaskCount": 1,
                                      "runningTaskCount": 0, "pendingTaskCount": 1},
            "sourceServiceRevisions": [],
            "status": "IN_PROGRESS",
            "deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 100,
                                        "lifecycleHooks": hooks}
        }));
        arn
    }

    /// Sets the status of the deployment `arn` (e.g. SUCCESSFUL: finished).
    pub fn set_status(&self, arn: &str, status: &str) {
        for d in self.deployments.lock().unwrap().iter_mut() {
            if d["serviceDeploymentArn"] == arn {
                d["status"] = status.into();
            }
        }
    }

    pub fn stops(&self) -> Vec<(String, String)> {
        self.stops.lock().unwrap().clone()
    }

    /// Answers one of the three calls (by `x-amz-target`); false for any other request.
    pub fn answer(&self, stream: &TcpStream, req: &Request) -> bool {
        let target = req.header("x-amz-target").unwrap_or_default();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let out = if target.ends_with(".ListServiceDeployments") {
            self.list(&body)
        } else if target.ends_with(".DescribeServiceDeployments") {
            self.describe(&body)
        } else if target.ends_with(".StopServiceDeployment") {
            match self.stop(&body) {
                Some(v) => v,
                None => {
                    let e = json!({"__type": "ServiceDeploymentNotFoundException",
                                   "message": "The service deployment does not exist."});
                    respond(stream, "400 Bad Request", CT, &[], e.to_string().as_bytes());
                    return true;
                }
            }
        } else {
            return false;
        };
        respond(stream, "200 OK", CT, &[], out.to_string().as_bytes());
        true
    }

    fn list(&self, body: &Value) -> Value {
        let named = |d: &Value, key: &str, asked: &Value| {
            let Some(asked) = asked.as_str() else {
                return true;
            };
            let arn = d[key].as_str().unwrap_or_default();
            arn == asked || arn.ends_with(&format!("/{asked}"))
        };
        let statuses: Vec<&str> = body["status"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let briefs: Vec<Value> = self
            .deployments
            .lock()
            .unwrap()
            .iter()
            .filter(|d| named(d, "serviceArn", &body["service"]))
            .filter(|d| named(d, "clusterArn", &body["cluster"]))
            .filter(|d| statuses.is_empty() || statuses.contains(&d["status"].as_str().unwrap()))
            .map(|d| {
                json!({
                    "serviceDeploymentArn": d["serviceDeploymentArn"], "serviceArn": d["serviceArn"],
                    "clusterArn": d["clusterArn"], "createdAt": d["createdAt"],
                    "startedAt": d["startedAt"], "status": d["status"],
                    "targetServiceRevisionArn": d["targetServiceRevision"]["arn"]
                })
            })
            .collect();
        json!({"serviceDeployments": briefs})
    }

    fn describe(&self, body: &Value) -> Value {
        let all = self.deployments.lock().unwrap();
        let (mut found, mut failures) = (Vec::new(), Vec::new());
        for arn in body["serviceDeploymentArns"]
            .as_array()
            .into_iter()
            .flatten()
        {
            match all.iter().find(|d| d["serviceDeploymentArn"] == *arn) {
                Some(d) => found.push(d.clone()),
                None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
            }
        }
        json!({"serviceDeployments": found, "failures": failures})
    }

    fn stop(&self, body: &Value) -> Option<Value> {
        let arn = body["serviceDeploymentArn"].as_str()?.to_string();
        let stop_type = body["stopType"].as_str().unwrap_or("").to_string();
        let mut all = self.deployments.lock().unwrap();
        let d = all.iter_mut().find(|d| d["serviceDeploymentArn"] == arn)?;
        d["status"] = "ROLLBACK_REQUESTED".into();
        self.stops.lock().unwrap().push((arn.clone(), stop_type));
        Some(json!({"serviceDeploymentArn": arn}))
    }
}
