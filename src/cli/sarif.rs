//! `plan --format sarif`: a SARIF 2.1.0 log (OASIS Static Analysis Results Interchange Format
//! Version 2.1.0; what GitHub code scanning and GitLab read): one run of the tool
//! `ecr-arch-guard`, two rules — a resource that would run an image its platform cannot
//! (`error`), a resource that could not be judged before apply (`warning`) — and one result per
//! such resource, located at its file and, where the input tells it, its line. Resources that
//! fit are not results. Checked against the OASIS schema in the tests.

use serde_json::{json, Value};

use super::judged::Judged;

pub const WRONG_ARCHITECTURE: &str = "ecr-arch-guard/wrong-architecture";
pub const NOT_JUDGED: &str = "ecr-arch-guard/not-judged";

pub fn log(judged: &[Judged]) -> Value {
    let results: Vec<Value> = judged
        .iter()
        .filter(|j| j.ruling != "pass")
        .map(|j| {
            let (rule, level) = if j.ruling == "refuse" {
                (WRONG_ARCHITECTURE, "error")
            } else {
                (NOT_JUDGED, "warning")
            };
            let mut physical = json!({"artifactLocation": {"uri": uri(&j.file)}});
            if let Some(line) = j.line {
                physical["region"] = json!({"startLine": line});
            }
            json!({
                "ruleId": rule,
                "level": level,
                "message": {"text": j.message},
                "locations": [{
                    "physicalLocation": physical,
                    "logicalLocations": [{"name": j.address, "kind": "resource",
                                          "fullyQualifiedName": format!("{} {}", j.resource_type, j.address)}]
                }],
                "properties": {"resourceType": j.resource_type, "source": j.source}
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "ecr-arch-guard",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": [
                    {"id": WRONG_ARCHITECTURE, "name": "WrongArchitecture",
                     "shortDescription": {"text": "The image cannot run on the platform the resource gives it (exec format error)"},
                     "fullDescription": {"text": "The resource would run a container image none of whose platforms fits the CPU architecture and OS it runs on: its tasks or invocations fail with exec format error."},
                     "help": {"text": "Push the image for the platform the resource runs on (docker buildx build --platform ...), or run the resource on the image's architecture."},
                     "defaultConfiguration": {"level": "error"}},
                    {"id": NOT_JUDGED, "name": "NotJudged",
                     "shortDescription": {"text": "What the resource will run cannot be told before apply"},
                     "fullDescription": {"text": "An image or platform is known only at apply (a value computed in the same apply, an unresolved template function), the image is not in Amazon ECR, or it could not be read."},
                     "help": {"text": "Judge the resource after apply with ecr-arch-guard consumer ARN, or pass the missing values (--parameter)."},
                     "defaultConfiguration": {"level": "warning"}}
                ]
            }},
            "results": results
        }]
    })
}

/// A relative URI reference for a path as given (forward slashes, spaces and the like
/// percent-encoded), as SARIF's `artifactLocation.uri` wants one.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    percent_encoding::utf8_percent_encode(path, URI_ESCAPES).to_string()
}

const URI_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');
