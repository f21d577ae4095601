//! [`Registry`] over the ECR API: BatchGetImage by digest (never by a tag that may have moved),
//! up to 100 digests per call; GetDownloadUrlForLayer + one GET for config blobs;
//! ListTagsForResource for the repository policy; PutImage for marker tags. Its
//! [`crate::image::ports::Catalog`] side (listing) is `ecr_catalog.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_ecr::types::{ImageFailure, ImageFailureCode, ImageIdentifier};

use super::download::Download;
use super::map_sdk_error;
use crate::binary::rootfs::{LayerRef, LayerSource};
use crate::image::digest::Digest;
use crate::image::media_type::{self, MediaType};
use crate::image::ports::{Fetched, Registry, TagOutcome, MAX_BATCH};
use crate::image::Repository;
use crate::util::error::Error;

/// A repository by registry account (`None`: the caller's) and name.
pub(super) type RepositoryKey = (Option<String>, String);

#[derive(Clone, Debug)]
pub struct Ecr {
    pub(super) client: aws_sdk_ecr::Client,
    download: Download,
    /// Repository ARNs DescribeRepositories listed (the scan), so ListTagsForResource needs
    /// no DescribeRepositories of its own per repository.
    pub(super) arns: Arc<Mutex<HashMap<RepositoryKey, String>>>,
}

impl Ecr {
    pub fn new(client: aws_sdk_ecr::Client, download: Download) -> Ecr {
        Ecr {
            client,
            download,
            arns: Arc::default(),
        }
    }

    /// The region this client reads in (from the configuration chain or `--region`).
    pub fn region(&self) -> Option<String> {
        self.client.config().region().map(|r| r.to_string())
    }

    async fn repository_arn(&self, repo: &Repository) -> Result<String, Error> {
        if let (Some(account), Some(region)) = (&repo.registry.account, &repo.registry.region) {
            return Ok(format!(
                "arn:{}:ecr:{region}:{account}:repository/{}",
                partition(region),
                repo.name
            ));
        }
        let listed = (repo.registry.account.clone(), repo.name.clone());
        if let Some(arn) = self.arns.lock().ok().and_then(|a| a.get(&listed).cloned()) {
            return Ok(arn);
        }
        let out = self
            .client
            .describe_repositories()
            .repository_names(&repo.name)
            .set_registry_id(repo.registry.account.clone())
            .send()
            .await
            .map_err(|e| map_sdk_error("ecr:DescribeRepositories", e))?;
        out.repositories()
            .first()
            .and_then(|r| r.repository_arn())
            .map(str::to_string)
            .ok_or_else(|| Error::NotFound(format!("repository {}", repo.name)))
    }

    /// Images by digest or tag in one BatchGetImage call (at most [`MAX_BATCH`] ids): each
    /// one's manifest bytes and media type, or why it was not returned, in the order asked.
    /// `names` says each id in messages.
    async fn batch_get(
        &self,
        repo: &Repository,
        ids: Vec<ImageIdentifier>,
        names: &[String],
        max_bytes: u64,
    ) -> Result<Vec<Result<Fetched, Error>>, Error> {
        let out = self
            .client
            .batch_get_image()
            .repository_name(&repo.name)
            .set_registry_id(repo.registry.account.clone())
            .set_image_ids(Some(ids.clone()))
            .set_accepted_media_types(Some(
                media_type::ACCEPTED.iter().map(|m| m.to_string()).collect(),
            ))
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_ecr::operation::batch_get_image::BatchGetImageError as E;
                match e.as_service_error() {
                    Some(E::RepositoryNotFoundException(_)) => {
                        Error::NotFound(format!("repository {}", repo.name))
                    }
                    _ => map_sdk_error("ecr:BatchGetImage", e),
                }
            })?;
        let asked = |a: &ImageIdentifier, id: &ImageIdentifier| match a.image_digest() {
            Some(d) => id.image_digest() == Some(d),
            None => a.image_tag().is_some() && id.image_tag() == a.image_tag(),
        };
        Ok(ids
            .iter()
            .zip(names)
            .map(|(id, name)| {
                // One id asked and one image returned: that image, whatever tag it is
                // labelled with (ECR labels it with the tag asked; moto with the image's
                // newest tag, which after the marker tag is not the one asked).
                let only = (ids.len() == 1 && out.images().len() == 1 && out.failures().is_empty())
                    .then(|| &out.images()[0]);
                let image = out
                    .images()
                    .iter()
                    .find(|i| i.image_id().is_some_and(|got| asked(id, got)))
                    .or(only);
                match image {
                    Some(image) => fetched(image, name, max_bytes),
                    None => Err(failure(
                        out.failures()
                            .iter()
                            .find(|f| f.image_id().is_some_and(|got| asked(id, got))),
                        name,
                        &repo.name,
                    )),
                }
            })
            .collect())
    }

    async fn batch_get_one(
        &self,
        repo: &Repository,
        id: ImageIdentifier,
        name: String,
        max_bytes: u64,
    ) -> Result<Fetched, Error> {
        self.batch_get(repo, vec![id], &[name], max_bytes)
            .await?
            .pop()
            .unwrap_or_else(|| Err(Error::Malformed("BatchGetImage answered nothing".into())))
    }
}

/// The manifest of one image BatchGetImage returned, size-capped.
fn fetched(
    image: &aws_sdk_ecr::types::Image,
    name: &str,
    max_bytes: u64,
) -> Result<Fetched, Error> {
    let manifest = image.image_manifest().ok_or_else(|| {
        Error::Malformed(format!("BatchGetImage returned {name} without a manifest"))
    })?;
    if manifest.len() as u64 > max_bytes {
        return Err(Error::TooLarge {
            what: format!("manifest {name}"),
            size: manifest.len() as u64,
            limit: max_bytes,
        });
    }
    Ok(Fetched {
        bytes: manifest.as_bytes().to_vec(),
        media_type: image.image_manifest_media_type().map(MediaType::from),
    })
}

/// Why BatchGetImage did not return an image (its `failures` entry, if any).
fn failure(failure: Option<&ImageFailure>, name: &str, repository: &str) -> Error {
    let code = failure.and_then(|f| f.failure_code());
    let reason = failure
        .and_then(|f| f.failure_reason())
        .unwrap_or("no image returned");
    match code {
        Some(ImageFailureCode::ImageNotFound) | None => {
            Error::NotFound(format!("image {name} in {repository}: {reason}"))
        }
        Some(ImageFailureCode::UpstreamTooManyRequests)
        | Some(ImageFailureCode::UpstreamUnavailable) => {
            Error::Transient(format!("BatchGetImage {name}: {reason}"))
        }
        Some(other) => Error::Permanent(format!(
            "BatchGetImage {name}: {}: {reason}",
            other.as_str()
        )),
    }
}

/// The ARN partition of a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

impl Ecr {
    /// The presigned URL of a blob (a config or a layer): GetDownloadUrlForLayer. Never logged.
    pub(super) async fn download_url(
        &self,
        repo: &Repository,
        digest: &Digest,
    ) -> Result<String, Error> {
        let out = self
            .client
            .get_download_url_for_layer()
            .repository_name(&repo.name)
            .set_registry_id(repo.registry.account.clone())
            .layer_digest(digest.as_str())
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_ecr::operation::get_download_url_for_layer::GetDownloadUrlForLayerError as E;
                match e.as_service_error() {
                    Some(E::LayerInaccessibleException(_)) | Some(E::LayersNotFoundException(_)) => {
                        Error::NotFound(format!("blob {digest} in {}: {e}", repo.name))
                    }
                    Some(E::RepositoryNotFoundException(_)) => Error::NotFound(format!("repository {}", repo.name)),
                    _ => map_sdk_error("ecr:GetDownloadUrlForLayer", e),
                }
            })?;
        out.download_url().map(str::to_string).ok_or_else(|| {
            Error::Malformed(format!(
                "GetDownloadUrlForLayer returned no URL for {digest}"
            ))
        })
    }
}

/// A repository's layers for the deep check ([`LayerSource`]): GetDownloadUrlForLayer, then the
/// presigned URL's body streamed as the check reads it, so a layer it stops in the middle of is
/// never downloaded whole and one it never needs never requested. Opened from a blocking thread.
pub struct EcrLayers {
    ecr: Ecr,
    repo: Repository,
    handle: tokio::runtime::Handle,
}

impl LayerSource for EcrLayers {
    fn open(&self, layer: &LayerRef) -> Result<Box<dyn std::io::Read + Send>, Error> {
        let streamed = self.handle.block_on(async {
            let url = self.ecr.download_url(&self.repo, &layer.digest).await?;
            self.ecr.download.stream(&url).await
        })?;
        Ok(Box::new(streamed))
    }
}

impl Registry for Ecr {
    async fn layer_source(
        &self,
        repo: &Repository,
    ) -> Result<Option<Box<dyn LayerSource + Send + Sync>>, Error> {
        Ok(Some(Box::new(EcrLayers {
            ecr: self.clone(),
            repo: repo.clone(),
            handle: tokio::runtime::Handle::current(),
        })))
    }

    async fn manifest(
        &self,
        repo: &Repository,
        digest: &Digest,
        max_bytes: u64,
    ) -> Result<Fetched, Error> {
        let id = ImageIdentifier::builder()
            .image_digest(digest.as_str())
            .build();
        self.batch_get_one(repo, id, digest.to_string(), max_bytes)
            .await
    }

    async fn manifests(
        &self,
        repo: &Repository,
        digests: &[Digest],
        max_bytes: u64,
    ) -> Result<Vec<Result<Fetched, Error>>, Error> {
        let mut out = Vec::with_capacity(digests.len());
        for chunk in digests.chunks(MAX_BATCH) {
            let ids = chunk
                .iter()
                .map(|d| ImageIdentifier::builder().image_digest(d.as_str()).build())
                .collect();
            let names: Vec<String> = chunk.iter().map(|d| d.to_string()).collect();
            out.extend(self.batch_get(repo, ids, &names, max_bytes).await?);
        }
        Ok(out)
    }

    async fn manifest_by_tag(
        &self,
        repo: &Repository,
        tag: &str,
        max_bytes: u64,
    ) -> Result<Fetched, Error> {
        let id = ImageIdentifier::builder().image_tag(tag).build();
        self.batch_get_one(repo, id, format!("{}:{tag}", repo.name), max_bytes)
            .await
    }

    async fn blob(
        &self,
        repo: &Repository,
        digest: &Digest,
        max_bytes: u64,
    ) -> Result<Vec<u8>, Error> {
        let url = self.download_url(repo, digest).await?;
        self.download.get(&url, max_bytes).await
    }

    async fn repository_tags(&self, repo: &Repository) -> Result<Vec<(String, String)>, Error> {
        let arn = self.repository_arn(repo).await?;
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| map_sdk_error("ecr:ListTagsForResource", e))?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect())
    }

    async fn put_tag(
        &self,
        repo: &Repository,
        manifest: &[u8],
        media_type: &MediaType,
        digest: &Digest,
        tag: &str,
    ) -> Result<TagOutcome, Error> {
        let manifest = std::str::from_utf8(manifest).map_err(|_| {
            Error::Malformed(format!("manifest {digest} is not UTF-8; cannot retag it"))
        })?;
        let result = self
            .client
            .put_image()
            .repository_name(&repo.name)
            .set_registry_id(repo.registry.account.clone())
            .image_manifest(manifest)
            .image_manifest_media_type(media_type.as_str())
            .image_digest(digest.as_str())
            .image_tag(tag)
            .send()
            .await;
        match result {
            Ok(_) => Ok(TagOutcome::Tagged),
            Err(e) => {
                use aws_sdk_ecr::operation::put_image::PutImageError as E;
                match e.as_service_error() {
                    Some(E::ImageAlreadyExistsException(_)) => Ok(TagOutcome::AlreadyTagged),
                    Some(E::ImageTagAlreadyExistsException(_)) => Err(Error::Permanent(format!(
                        "tag {tag} already exists on another image and the repository's tags are immutable"
                    ))),
                    _ => Err(map_sdk_error("ecr:PutImage", e)),
                }
            }
        }
    }
}
