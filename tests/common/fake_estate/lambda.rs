//! The fake estate's AWS Lambda: ListFunctions and GetFunction (REST-JSON).

use serde_json::{json, Value};

use super::{answer, page, Answer, State};
use crate::common::local_aws::{ACCOUNT, REGION};

impl State {
    fn function(&self, i: usize) -> Value {
        let image = i < self.spec.image_functions;
        let mut f = json!({
            "FunctionName": format!("fn-{i:04}"),
            "FunctionArn": format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn-{i:04}"),
            "PackageType": if image { "Image" } else { "Zip" },
            "Architectures": [if i % 3 == 0 { "arm64" } else { "x86_64" }],
            "LastModified": "2026-11-01T10:00:00.000+0000",
            "CodeSha256": format!("{i:064x}"), "Version": "$LATEST",
            "MemorySize": 128, "Timeout": 30,
            "Role": format!("arn:aws:iam::{ACCOUNT}:role/fn")
        });
        if !image {
            f["Runtime"] = "python3.13".into();
            f["Handler"] = "app.handler".into();
        }
        f
    }

    pub(super) fn lambda(&self, name: &str, query: &str) -> Answer {
        let json = |v: Value| {
            answer(
                200,
                &[("content-type", "application/json".into())],
                v.to_string(),
            )
        };
        if name.is_empty() {
            let marker = query.split('&').find_map(|kv| kv.strip_prefix("Marker="));
            let all: Vec<usize> = (0..self.spec.functions).collect();
            let (items, next) = page(&all, marker, 50);
            let functions: Vec<Value> = items.into_iter().map(|i| self.function(i)).collect();
            return json(json!({"Functions": functions, "NextMarker": next}));
        }
        let i: Option<usize> = name.strip_prefix("fn-").and_then(|n| n.parse().ok());
        match i.filter(|i| *i < self.spec.functions) {
            Some(i) => {
                let image = &self.spec.images[i % self.spec.images.len()];
                let code = if i < self.spec.image_functions {
                    json!({"RepositoryType": "ECR", "ImageUri": image})
                } else {
                    json!({"RepositoryType": "S3", "Location": "https://example.invalid/code.zip"})
                };
                json(json!({"Configuration": self.function(i), "Code": code}))
            }
            None => answer(
                404,
                &[("x-amzn-errortype", "ResourceNotFoundException".into())],
                json!({"Type": "User", "Message": format!("Function not found: {name}")})
                    .to_string(),
            ),
        }
    }
}
