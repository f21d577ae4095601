//! [`crate::discovery::Discover`] over the AWS APIs: clients for the enabled services only, per
//! account and region (the member role's credentials in organisation mode), each service's
//! listing in its own module ([`super::ecs`], [`super::apprunner`], [`super::lambda`],
//! [`super::batch`]).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::accounts::Accounts;
use super::clients::Clients;
use super::{apprunner, batch, ecs, lambda};
use crate::change::Target;
use crate::consumer::Consumer;
use crate::discovery::{Discover, Service};
use crate::error::Error;
use crate::image::RegistryId;

#[derive(Debug)]
enum Source {
    /// Built per account and region from the accounts' configurations.
    Accounts(Arc<Accounts>, Vec<Service>),
    /// The same clients for every scope (tests).
    Fixed(Clients),
}

#[derive(Debug)]
pub struct AwsDiscovery {
    source: Source,
    clients: Mutex<HashMap<RegistryId, Clients>>,
}

impl AwsDiscovery {
    /// Clients are built on first use per account and region, only for `services` (a consumer
    /// change may name any service: its wiring passes them all).
    pub fn new(accounts: Arc<Accounts>, services: &[Service]) -> Self {
        AwsDiscovery {
            source: Source::Accounts(accounts, services.to_vec()),
            clients: Mutex::default(),
        }
    }

    /// From explicit clients, used for every scope (tests).
    pub fn from_clients(
        ecs: Option<aws_sdk_ecs::Client>,
        apprunner: Option<aws_sdk_apprunner::Client>,
        lambda: Option<aws_sdk_lambda::Client>,
        batch: Option<aws_sdk_batch::Client>,
    ) -> Self {
        AwsDiscovery {
            source: Source::Fixed(Clients {
                ecs,
                apprunner,
                lambda,
                batch,
            }),
            clients: Mutex::default(),
        }
    }

    async fn clients(&self, scope: &RegistryId) -> Result<Clients, Error> {
        let (accounts, services) = match &self.source {
            Source::Fixed(c) => return Ok(c.clone()),
            Source::Accounts(a, s) => (a, s),
        };
        if let Some(c) = self.clients.lock().await.get(scope) {
            return Ok(c.clone());
        }
        let config = accounts
            .config(scope.account.as_deref(), scope.region.as_deref())
            .await?;
        let clients = Clients::new(&config, services);
        self.clients
            .lock()
            .await
            .insert(scope.clone(), clients.clone());
        Ok(clients)
    }
}

fn disabled(service: Service) -> Error {
    Error::Usage(format!("discovery of {service} is not enabled"))
}

impl Discover for AwsDiscovery {
    async fn consumers(
        &self,
        scope: &RegistryId,
        service: Service,
    ) -> Result<Vec<Consumer>, Error> {
        let c = self.clients(scope).await?;
        match service {
            Service::Ecs => ecs::consumers(c.ecs.as_ref().ok_or(disabled(service))?).await,
            Service::AppRunner => {
                apprunner::consumers(c.apprunner.as_ref().ok_or(disabled(service))?).await
            }
            Service::Lambda => lambda::consumers(c.lambda.as_ref().ok_or(disabled(service))?).await,
            Service::Batch => batch::consumers(c.batch.as_ref().ok_or(disabled(service))?).await,
        }
    }

    async fn consumer(&self, scope: &RegistryId, target: &Target) -> Result<Vec<Consumer>, Error> {
        let c = self.clients(scope).await?;
        super::consumer::read(&c, target).await
    }
}
