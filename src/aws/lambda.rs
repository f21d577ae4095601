//! Lambda consumers: functions with `PackageType: Image`. `Architectures` defaults to x86_64.
//! ListFunctions does not return the image URI, so each image function costs one GetFunction —
//! once per warm environment while its `LastModified` and `CodeSha256` stay the same (every
//! update of its code or configuration changes `LastModified`).

use aws_sdk_lambda::types::{Architecture, PackageType};
use aws_sdk_lambda::Client;
use futures_util::{StreamExt, TryStreamExt};

use super::{map_sdk_error, DISCOVERY_CONCURRENCY};
use crate::consumers::consumer::{Consumer, ConsumerKind};
use crate::image::platform::Platform;
use crate::util::cache::Cache;
use crate::util::error::Error;

pub async fn consumers(
    client: &Client,
    known: &Cache<String, String>,
) -> Result<Vec<Consumer>, Error> {
    let functions: Vec<aws_sdk_lambda::types::FunctionConfiguration> = client
        .list_functions()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| map_sdk_error("lambda:ListFunctions", e))?;
    let images = functions
        .into_iter()
        .filter(|f| f.package_type() == Some(&PackageType::Image));
    let found: Vec<Option<Consumer>> = futures_util::stream::iter(images.map(|f| {
        let name = f.function_name().unwrap_or_default().to_string();
        let arn = f.function_arn().unwrap_or_default().to_string();
        let arm = f.architectures().contains(&Architecture::Arm64);
        let key = format!(
            "{arn} {} {}",
            f.last_modified().unwrap_or_default(),
            f.code_sha256().unwrap_or_default()
        );
        let req = client.get_function().function_name(&name);
        async move {
            if let Some(image) = known.get(&key) {
                return Ok(Some(function_consumer(name, arn, arm, image)));
            }
            let out = match req.send().await {
                Ok(out) => out,
                Err(e) => {
                    return match map_sdk_error("lambda:GetFunction", e) {
                        // Deleted since the listing: nothing runs it.
                        Error::NotFound(_) => Ok(None),
                        other => Err(other),
                    };
                }
            };
            let Some(image) = out.code.and_then(|c| c.image_uri) else {
                return Ok(None);
            };
            known.insert(key, image.clone());
            Ok(Some(function_consumer(name, arn, arm, image)))
        }
    }))
    .buffer_unordered(DISCOVERY_CONCURRENCY)
    .try_collect()
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// An image function as a consumer: `arm` for `Architectures: [arm64]`, x86_64 otherwise
/// (Lambda's default).
pub(super) fn function_consumer(name: String, arn: String, arm: bool, image: String) -> Consumer {
    let (architecture, label) = if arm {
        ("arm64", "arm64")
    } else {
        ("amd64", "x86_64")
    };
    Consumer {
        kind: ConsumerKind::LambdaFunction,
        name,
        arn,
        image,
        platform: Some(
            Platform::from_parts("linux", architecture, None).expect("constant platform"),
        ),
        architecture_label: label.into(),
        detail: None,
    }
}
