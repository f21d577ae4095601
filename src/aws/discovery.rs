//! [`crate::discovery::Discover`] over the AWS APIs: one client per enabled service, each
//! service's listing in its own module ([`super::ecs`], [`super::apprunner`], [`super::lambda`],
//! [`super::batch`]).

use aws_config::SdkConfig;

use super::{apprunner, batch, ecs, lambda};
use crate::consumer::Consumer;
use crate::discovery::{Discover, Service};
use crate::error::Error;

/// Clients for the services discovery was enabled for (none for the others).
#[derive(Clone, Debug, Default)]
pub struct AwsDiscovery {
    ecs: Option<aws_sdk_ecs::Client>,
    apprunner: Option<aws_sdk_apprunner::Client>,
    lambda: Option<aws_sdk_lambda::Client>,
    batch: Option<aws_sdk_batch::Client>,
}

impl AwsDiscovery {
    pub fn new(config: &SdkConfig, services: &[Service]) -> Self {
        let on = |s| services.contains(&s);
        AwsDiscovery {
            ecs: on(Service::Ecs).then(|| aws_sdk_ecs::Client::new(config)),
            apprunner: on(Service::AppRunner).then(|| aws_sdk_apprunner::Client::new(config)),
            lambda: on(Service::Lambda).then(|| aws_sdk_lambda::Client::new(config)),
            batch: on(Service::Batch).then(|| aws_sdk_batch::Client::new(config)),
        }
    }

    /// From explicit clients (tests).
    pub fn from_clients(
        ecs: Option<aws_sdk_ecs::Client>,
        apprunner: Option<aws_sdk_apprunner::Client>,
        lambda: Option<aws_sdk_lambda::Client>,
        batch: Option<aws_sdk_batch::Client>,
    ) -> Self {
        AwsDiscovery {
            ecs,
            apprunner,
            lambda,
            batch,
        }
    }
}

fn disabled(service: Service) -> Error {
    Error::Usage(format!("discovery of {service} is not enabled"))
}

impl Discover for AwsDiscovery {
    async fn consumers(&self, service: Service) -> Result<Vec<Consumer>, Error> {
        match service {
            Service::Ecs => ecs::consumers(self.ecs.as_ref().ok_or(disabled(service))?).await,
            Service::AppRunner => {
                apprunner::consumers(self.apprunner.as_ref().ok_or(disabled(service))?).await
            }
            Service::Lambda => {
                lambda::consumers(self.lambda.as_ref().ok_or(disabled(service))?).await
            }
            Service::Batch => batch::consumers(self.batch.as_ref().ok_or(disabled(service))?).await,
        }
    }
}
