//! [`Registry`] for the organisation: each repository is read with the client for its account
//! (the member role's credentials for another account) and its region. One ECR client per
//! account and region, built on first use and kept for the warm environment.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::accounts::Accounts;
use super::download::Download;
use super::ecr::Ecr;
use crate::binary::rootfs::LayerSource;
use crate::image::digest::Digest;
use crate::image::media_type::MediaType;
use crate::image::ports::{Fetched, Registry, TagOutcome};
use crate::image::{RegistryId, Repository};
use crate::util::error::Error;

#[derive(Debug)]
pub struct RoutedEcr {
    accounts: Arc<Accounts>,
    download: Download,
    clients: Mutex<HashMap<RegistryId, Ecr>>,
}

impl RoutedEcr {
    pub fn new(accounts: Arc<Accounts>, download: Download) -> RoutedEcr {
        RoutedEcr {
            accounts,
            download,
            clients: Mutex::default(),
        }
    }

    /// The client for a repository's account and region.
    pub async fn ecr(&self, repo: &Repository) -> Result<Ecr, Error> {
        let key = repo.registry.clone();
        if let Some(e) = self.clients.lock().await.get(&key) {
            return Ok(e.clone());
        }
        let config = self
            .accounts
            .config(
                repo.registry.account.as_deref(),
                repo.registry.region.as_deref(),
            )
            .await?;
        let ecr = Ecr::new(aws_sdk_ecr::Client::new(&config), self.download.clone());
        self.clients.lock().await.insert(key, ecr.clone());
        Ok(ecr)
    }

    /// How many clients were built (one per account and region seen).
    pub async fn client_count(&self) -> usize {
        self.clients.lock().await.len()
    }
}

impl Registry for RoutedEcr {
    async fn layer_source(
        &self,
        repo: &Repository,
    ) -> Result<Option<Box<dyn LayerSource + Send + Sync>>, Error> {
        self.ecr(repo).await?.layer_source(repo).await
    }

    async fn manifest(
        &self,
        repo: &Repository,
        digest: &Digest,
        max: u64,
    ) -> Result<Fetched, Error> {
        self.ecr(repo).await?.manifest(repo, digest, max).await
    }

    async fn manifests(
        &self,
        repo: &Repository,
        digests: &[Digest],
        max: u64,
    ) -> Result<Vec<Result<Fetched, Error>>, Error> {
        self.ecr(repo).await?.manifests(repo, digests, max).await
    }

    async fn blob(&self, repo: &Repository, digest: &Digest, max: u64) -> Result<Vec<u8>, Error> {
        self.ecr(repo).await?.blob(repo, digest, max).await
    }

    async fn manifest_by_tag(
        &self,
        repo: &Repository,
        tag: &str,
        max: u64,
    ) -> Result<Fetched, Error> {
        self.ecr(repo).await?.manifest_by_tag(repo, tag, max).await
    }

    async fn repository_tags(&self, repo: &Repository) -> Result<Vec<(String, String)>, Error> {
        self.ecr(repo).await?.repository_tags(repo).await
    }

    async fn put_tag(
        &self,
        repo: &Repository,
        manifest: &[u8],
        media_type: &MediaType,
        digest: &Digest,
        tag: &str,
    ) -> Result<TagOutcome, Error> {
        self.ecr(repo)
            .await?
            .put_tag(repo, manifest, media_type, digest, tag)
            .await
    }
}
