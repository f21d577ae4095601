//! An HTTP client that keeps discovery's calls under a share of the documented control-plane
//! quotas ([`super::control_plane`]): each request waits for a token of its category's bucket
//! before it is sent — retries too, since every attempt goes through the connector. Paced at
//! the transport, the listing code stays the SDK's own paginators and calls. Everything else is
//! the inner client's, its configuration checks included.

use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;

use super::control_plane::{Buckets, Category};

/// ECS's JSON protocol names the action in this header's value, after the dot.
const ECS_TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";

/// `inner`, paced by `buckets` (one account and region's).
#[derive(Debug)]
pub struct PacedHttpClient {
    inner: SharedHttpClient,
    buckets: Arc<Buckets>,
}

impl PacedHttpClient {
    pub fn shared(inner: SharedHttpClient, buckets: Arc<Buckets>) -> SharedHttpClient {
        SharedHttpClient::new(PacedHttpClient { inner, buckets })
    }
}

impl HttpClient for PacedHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            buckets: self.buckets.clone(),
        })
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_base_client_config(components, cfg)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_final_config(components, cfg)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    buckets: Arc<Buckets>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let category = category(&request);
        let inner = self.inner.clone();
        let buckets = self.buckets.clone();
        HttpConnectorFuture::new(async move {
            if let Some(c) = category {
                buckets.take(c).await;
            }
            inner.call(request).await
        })
    }
}

/// The bucket a request draws from: ECS by its `X-Amz-Target`, Lambda by its REST path.
fn category(request: &HttpRequest) -> Option<Category> {
    if let Some(target) = request.headers().get("x-amz-target") {
        return Category::of_ecs_action(target.strip_prefix(ECS_TARGET_PREFIX)?);
    }
    let uri = request.uri();
    let path_start = uri.find("://").map_or(0, |i| {
        uri[i + 3..].find('/').map_or(uri.len(), |j| i + 3 + j)
    });
    let path = uri[path_start..].split('?').next().unwrap_or_default();
    Category::of_lambda_path(request.method(), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, uri: &str, target: Option<&str>) -> HttpRequest {
        let mut b = http::Request::builder().method(method).uri(uri);
        if let Some(t) = target {
            b = b.header("x-amz-target", t);
        }
        HttpRequest::try_from(b.body(aws_smithy_types::body::SdkBody::empty()).unwrap()).unwrap()
    }

    #[test]
    fn requests_are_classified_by_target_or_path() {
        let ecs = request(
            "POST",
            "https://ecs.us-east-1.amazonaws.com/",
            Some("AmazonEC2ContainerServiceV20141113.DescribeServices"),
        );
        assert_eq!(category(&ecs), Some(Category::EcsServiceRead));
        let runner = request(
            "POST",
            "https://apprunner.us-east-1.amazonaws.com/",
            Some("AppRunner.ListServices"),
        );
        assert_eq!(category(&runner), None);
        let list = request(
            "GET",
            "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/?MaxItems=50",
            None,
        );
        assert_eq!(category(&list), Some(Category::LambdaControlPlane));
        let get = request(
            "GET",
            "http://127.0.0.1:4566/2015-03-31/functions/thumbs",
            None,
        );
        assert_eq!(category(&get), Some(Category::LambdaGetFunction));
        let batch = request(
            "POST",
            "https://batch.us-east-1.amazonaws.com/v1/describejobdefinitions",
            None,
        );
        assert_eq!(category(&batch), None);
    }
}
