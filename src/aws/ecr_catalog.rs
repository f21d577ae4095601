//! [`Catalog`] over the ECR API: DescribeRepositories and DescribeImages, paginated at the
//! largest page the API gives. What the CLI's `check` and `scan` list; the Lambda never calls
//! these.

use aws_sdk_ecr::types::{ImageDetail, ImageIdentifier};

use super::ecr::Ecr;
use super::map_sdk_error;
use crate::image::digest::Digest;
use crate::image::media_type::MediaType;
use crate::image::ports::{Catalog, ImageSummary};
use crate::image::{RegistryId, Repository};
use crate::util::error::Error;

fn summary(d: &ImageDetail) -> Result<ImageSummary, Error> {
    let digest = d.image_digest().ok_or_else(|| {
        Error::Malformed("DescribeImages returned an image without a digest".into())
    })?;
    Ok(ImageSummary {
        digest: Digest::parse(digest)?,
        tags: d.image_tags().to_vec(),
        media_type: d.image_manifest_media_type().map(MediaType::from),
        pushed_at: d.image_pushed_at().map(|t| t.secs()),
    })
}

/// The largest page DescribeRepositories and DescribeImages return (`maxResults`: 1 to 1000;
/// without it, 100).
const LIST_PAGE: i32 = 1000;

/// DescribeRepositories and DescribeImages (paginated): what the CLI's `check` and `scan` list.
/// The Lambda never calls these.
impl Catalog for Ecr {
    async fn repositories(&self, registry: &RegistryId) -> Result<Vec<String>, Error> {
        let repos: Vec<aws_sdk_ecr::types::Repository> = self
            .client
            .describe_repositories()
            .set_registry_id(registry.account.clone())
            .max_results(LIST_PAGE)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| map_sdk_error("ecr:DescribeRepositories", e))?;
        if let Ok(mut arns) = self.arns.lock() {
            for r in &repos {
                if let (Some(name), Some(arn)) = (r.repository_name(), r.repository_arn()) {
                    arns.insert(
                        (registry.account.clone(), name.to_string()),
                        arn.to_string(),
                    );
                }
            }
        }
        Ok(repos
            .iter()
            .filter_map(|r| r.repository_name().map(str::to_string))
            .collect())
    }

    async fn images(&self, repo: &Repository) -> Result<Vec<ImageSummary>, Error> {
        let details: Vec<ImageDetail> = self
            .client
            .describe_images()
            .repository_name(&repo.name)
            .set_registry_id(repo.registry.account.clone())
            .max_results(LIST_PAGE)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| map_sdk_error("ecr:DescribeImages", e))?;
        details.iter().map(summary).collect()
    }

    async fn image_by_tag(&self, repo: &Repository, tag: &str) -> Result<ImageSummary, Error> {
        let out = self
            .client
            .describe_images()
            .repository_name(&repo.name)
            .set_registry_id(repo.registry.account.clone())
            .image_ids(ImageIdentifier::builder().image_tag(tag).build())
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_ecr::operation::describe_images::DescribeImagesError as E;
                match e.as_service_error() {
                    Some(E::ImageNotFoundException(_)) => {
                        Error::NotFound(format!("tag {tag} in repository {}", repo.name))
                    }
                    Some(E::RepositoryNotFoundException(_)) => {
                        Error::NotFound(format!("repository {}", repo.name))
                    }
                    _ => map_sdk_error("ecr:DescribeImages", e),
                }
            })?;
        out.image_details()
            .first()
            .map(summary)
            .transpose()?
            .ok_or_else(|| Error::NotFound(format!("tag {tag} in repository {}", repo.name)))
    }
}
