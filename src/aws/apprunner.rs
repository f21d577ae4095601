//! App Runner consumers: services whose source is an ECR image. App Runner runs linux/amd64 only.

use aws_sdk_apprunner::types::ImageRepositoryType;
use aws_sdk_apprunner::Client;
use futures_util::{StreamExt, TryStreamExt};

use super::{map_sdk_error, DISCOVERY_CONCURRENCY};
use crate::consumers::consumer::{Consumer, ConsumerKind};
use crate::image::platform::Platform;
use crate::util::error::Error;

pub async fn consumers(client: &Client) -> Result<Vec<Consumer>, Error> {
    let pages: Vec<aws_sdk_apprunner::operation::list_services::ListServicesOutput> = client
        .list_services()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| map_sdk_error("apprunner:ListServices", e))?;
    let summaries = pages.into_iter().flat_map(|p| p.service_summary_list);
    let described: Vec<Option<Consumer>> =
        futures_util::stream::iter(summaries.filter_map(|s| s.service_arn).map(|arn| {
            let req = client.describe_service().service_arn(&arn);
            async move {
                let out = match req.send().await {
                    Ok(out) => out,
                    Err(e) => {
                        return match map_sdk_error("apprunner:DescribeService", e) {
                            // Deleted since the listing: nothing runs it.
                            Error::NotFound(_) => Ok(None),
                            other => Err(other),
                        };
                    }
                };
                let Some(service) = out.service else {
                    return Ok(None);
                };
                Ok(service_consumer(&service))
            }
        }))
        .buffer_unordered(DISCOVERY_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(described.into_iter().flatten().collect())
}

/// A service whose source is an ECR image, as a consumer (`None` for a source-code service or
/// a public ECR image).
pub(super) fn service_consumer(service: &aws_sdk_apprunner::types::Service) -> Option<Consumer> {
    let repo = service
        .source_configuration()
        .and_then(|s| s.image_repository())
        .filter(|r| *r.image_repository_type() == ImageRepositoryType::Ecr)?;
    Some(image_consumer(
        service.service_name(),
        service.service_arn(),
        repo.image_identifier(),
    ))
}

/// An App Runner service running `image`: linux/amd64, the only platform App Runner runs.
pub(super) fn image_consumer(name: &str, arn: &str, image: &str) -> Consumer {
    Consumer {
        kind: ConsumerKind::AppRunnerService,
        name: name.to_string(),
        arn: arn.to_string(),
        image: image.to_string(),
        platform: Some(Platform::from_parts("linux", "amd64", None).expect("constant platform")),
        architecture_label: "X86_64".into(),
        detail: Some("App Runner runs x86_64 only".into()),
    }
}
