//! The service clients discovery and the consumer reads use, per account and region: only
//! for the services asked for.

use crate::consumers::discovery::Service;

/// One client per enabled service.
#[derive(Clone, Debug, Default)]
pub struct Clients {
    pub ecs: Option<aws_sdk_ecs::Client>,
    pub apprunner: Option<aws_sdk_apprunner::Client>,
    pub lambda: Option<aws_sdk_lambda::Client>,
    pub batch: Option<aws_sdk_batch::Client>,
}

impl Clients {
    pub fn new(config: &aws_config::SdkConfig, services: &[Service]) -> Clients {
        let on = |s| services.contains(&s);
        Clients {
            ecs: on(Service::Ecs).then(|| aws_sdk_ecs::Client::new(config)),
            apprunner: on(Service::AppRunner).then(|| aws_sdk_apprunner::Client::new(config)),
            lambda: on(Service::Lambda).then(|| aws_sdk_lambda::Client::new(config)),
            batch: on(Service::Batch).then(|| aws_sdk_batch::Client::new(config)),
        }
    }
}
