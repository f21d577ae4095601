//! The AWS provider's attributes as the CloudFormation resource's properties: the JSON strings
//! it stores (`container_definitions`, Batch's `container_properties`, `ecs_properties`,
//! `node_properties`, in the ECS and Batch APIs' camelCase) and its nested block lists
//! (`runtime_platform`), so that the hook's reads and rules judge them unchanged.

use serde_json::{json, Map, Value};

use crate::gate::plan::{container_definitions, runtime_platform};

/// A JSON string attribute (`container_definitions`, `container_properties`) as JSON.
fn embedded(after: &Value, key: &str) -> Result<Option<Value>, String> {
    match after.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map(Some)
            .map_err(|e| format!("{key} is not JSON: {e}")),
        Some(other) => Ok(Some(other.clone())),
    }
}

pub(super) fn task_definition_properties(after: &Value) -> Result<Value, String> {
    let containers = container_definitions(embedded(after, "container_definitions")?.as_ref());
    let mut p = json!({"ContainerDefinitions": containers});
    if let Some(f) = text(after, "family") {
        p["Family"] = f.into();
    }
    if let Some(rp) = block(after, "runtime_platform") {
        p["RuntimePlatform"] = runtime_platform(rp);
    }
    if let Some(rc) = after
        .get("requires_compatibilities")
        .filter(|v| v.is_array())
    {
        p["RequiresCompatibilities"] = rc.clone();
    }
    Ok(p)
}

pub(super) fn job_definition_properties(after: &Value) -> Result<Value, String> {
    let container = |c: &Value, rp: Option<&Value>| {
        let mut out = json!({"Image": c.get("image").cloned().unwrap_or(Value::Null)});
        if let Some(rp) = rp {
            out["RuntimePlatform"] = runtime_platform(rp);
        }
        out
    };
    let mut p = Map::new();
    if let Some(c) = embedded(after, "container_properties")? {
        p.insert(
            "ContainerProperties".into(),
            container(&c, c.get("runtimePlatform")),
        );
    }
    if let Some(n) = embedded(after, "node_properties")? {
        let ranges: Vec<Value> = n
            .get("nodeRangeProperties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("container"))
            .map(|c| json!({"Container": container(c, c.get("runtimePlatform"))}))
            .collect();
        p.insert(
            "NodeProperties".into(),
            json!({"NodeRangeProperties": ranges}),
        );
    }
    if let Some(e) = embedded(after, "ecs_properties")? {
        let tasks: Vec<Value> = e
            .get("taskProperties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|t| {
                let containers: Vec<Value> = t
                    .get("containers")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|c| container(c, None))
                    .collect();
                let mut task = json!({"Containers": containers});
                if let Some(rp) = t.get("runtimePlatform") {
                    task["RuntimePlatform"] = runtime_platform(rp);
                }
                task
            })
            .collect();
        p.insert("EcsProperties".into(), json!({"TaskProperties": tasks}));
    }
    if let Some(pc) = after.get("platform_capabilities").filter(|v| v.is_array()) {
        p.insert("PlatformCapabilities".into(), pc.clone());
    }
    Ok(Value::Object(p))
}

pub(super) fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The first block of a nested block list (`runtime_platform = [{…}]`).
pub(super) fn block<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).and_then(Value::as_array).and_then(|a| a.first())
}
