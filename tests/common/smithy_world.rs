//! ECR and SNS as aws-smithy-mocks clients that hold real documents: BatchGetImage answers the
//! manifests of `tests/fixtures` by digest (ImageNotFound otherwise), GetDownloadUrlForLayer a
//! loopback URL for the configs, ListTagsForResource the repository's tags; PutImage and Publish
//! are recorded. Each mock rule counts its calls (`Rules::counts`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::fixture;
use super::http::BlobServer;
use super::images::{ARM_CONFIG, ARM_MANIFEST, INDEX};
use aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput;
use aws_sdk_ecr::operation::get_download_url_for_layer::{
    GetDownloadUrlForLayerError, GetDownloadUrlForLayerOutput,
};
use aws_sdk_ecr::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_ecr::operation::put_image::PutImageOutput;
use aws_sdk_ecr::types::error::LayerInaccessibleException;
use aws_sdk_ecr::types::{Image, ImageFailure, ImageFailureCode, ImageIdentifier, Tag};
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use ecr_arch_guard::aws::download::Download;
use ecr_arch_guard::aws::ecr::Ecr;
use ecr_arch_guard::aws::sns::Sns;
use ecr_arch_guard::handler::settings::{Actions, Settings};
use ecr_arch_guard::handler::Guard;
use ecr_arch_guard::image::digest::Digest;
use ecr_arch_guard::image::media_type;
use ecr_arch_guard::judge::verdict::Verdict;

pub const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ecr-arch-guard-alerts";

#[derive(Clone, Debug)]
pub struct Published {
    pub subject: String,
    pub message: String,
    /// name -> (SNS data type, value)
    pub attributes: HashMap<String, (String, String)>,
}

impl Published {
    pub fn attribute(&self, name: &str) -> (&str, &str) {
        let (t, v) = &self.attributes[name];
        (t.as_str(), v.as_str())
    }
}

#[derive(Clone, Debug)]
pub struct PutCall {
    pub repository: String,
    pub tag: String,
    pub digest: String,
    pub media_type: String,
    pub manifest: String,
}

/// An ECR that holds real documents, and an SNS topic, both mocked.
pub struct World {
    pub manifests: Arc<HashMap<String, (Vec<u8>, String)>>,
    pub urls: Arc<HashMap<String, String>>,
    pub blobs: BlobServer,
    pub repo_tags: Vec<(String, String)>,
    pub published: Arc<Mutex<Vec<Published>>>,
    pub puts: Arc<Mutex<Vec<PutCall>>>,
}

impl World {
    pub fn new() -> World {
        let blobs = BlobServer::start();
        let mut manifests = HashMap::new();
        let mut urls = HashMap::new();
        for (name, mt) in [
            (ARM_MANIFEST, media_type::OCI_MANIFEST),
            (INDEX, media_type::OCI_INDEX),
            (
                "oci-manifest-hello-world-amd64-dockerhub.json",
                media_type::OCI_MANIFEST,
            ),
        ] {
            let bytes = fixture(name);
            manifests.insert(Digest::of(&bytes).to_string(), (bytes, mt.to_string()));
        }
        for name in [
            ARM_CONFIG,
            "image-config-hello-world-amd64-oci-dockerhub.json",
        ] {
            let bytes = fixture(name);
            let d = Digest::of(&bytes).to_string();
            urls.insert(d.clone(), blobs.put(&d, &bytes));
        }
        World {
            manifests: Arc::new(manifests),
            urls: Arc::new(urls),
            blobs,
            repo_tags: Vec::new(),
            published: Arc::default(),
            puts: Arc::default(),
        }
    }

    pub fn batch_get_image(&self) -> Rule {
        let manifests = self.manifests.clone();
        mock!(aws_sdk_ecr::Client::batch_get_image)
            .match_requests(|r| {
                // By digest only, never by tag, with every manifest media type accepted.
                let ids = r.image_ids();
                ids.len() == 1
                    && ids[0].image_tag().is_none()
                    && ids[0].image_digest().is_some()
                    && r.repository_name() == Some("grafana")
                    && r.registry_id() == Some("123456789012")
                    && r.accepted_media_types().len() == 5
                    && media_type::ACCEPTED
                        .iter()
                        .all(|m| r.accepted_media_types().iter().any(|a| a == m))
            })
            .then_compute_output(move |r| {
                let digest = r.image_ids()[0].image_digest().unwrap().to_string();
                let id = ImageIdentifier::builder().image_digest(&digest).build();
                match manifests.get(&digest) {
                    Some((bytes, mt)) => BatchGetImageOutput::builder()
                        .images(
                            Image::builder()
                                .image_id(id)
                                .repository_name("grafana")
                                .image_manifest(String::from_utf8(bytes.clone()).unwrap())
                                .image_manifest_media_type(mt)
                                .build(),
                        )
                        .build(),
                    None => BatchGetImageOutput::builder()
                        .failures(
                            ImageFailure::builder()
                                .image_id(id)
                                .failure_code(ImageFailureCode::ImageNotFound)
                                .failure_reason("Requested image not found")
                                .build(),
                        )
                        .build(),
                }
            })
    }

    pub fn get_download_url(&self) -> Rule {
        let urls = self.urls.clone();
        mock!(aws_sdk_ecr::Client::get_download_url_for_layer)
            .match_requests(|r| {
                r.repository_name() == Some("grafana") && r.layer_digest().is_some()
            })
            .then_compute_response(move |r| match urls.get(r.layer_digest().unwrap()) {
                Some(url) => aws_smithy_mocks::MockResponse::Output(
                    GetDownloadUrlForLayerOutput::builder()
                        .download_url(url)
                        .layer_digest(r.layer_digest().unwrap())
                        .build(),
                ),
                None => aws_smithy_mocks::MockResponse::Error(
                    GetDownloadUrlForLayerError::LayerInaccessibleException(
                        LayerInaccessibleException::builder()
                            .message("layer gone")
                            .build(),
                    ),
                ),
            })
    }

    pub fn list_tags(&self) -> Rule {
        let tags = self.repo_tags.clone();
        mock!(aws_sdk_ecr::Client::list_tags_for_resource)
            .match_requests(|r| {
                r.resource_arn() == Some("arn:aws:ecr:us-east-1:123456789012:repository/grafana")
            })
            .then_compute_output(move |_| {
                let mut out = ListTagsForResourceOutput::builder();
                for (k, v) in &tags {
                    out = out.tags(Tag::builder().key(k).value(v).build().unwrap());
                }
                out.build()
            })
    }

    pub fn put_image(&self) -> Rule {
        let puts = self.puts.clone();
        mock!(aws_sdk_ecr::Client::put_image).then_compute_output(move |r| {
            puts.lock().unwrap().push(PutCall {
                repository: r.repository_name().unwrap_or_default().into(),
                tag: r.image_tag().unwrap_or_default().into(),
                digest: r.image_digest().unwrap_or_default().into(),
                media_type: r.image_manifest_media_type().unwrap_or_default().into(),
                manifest: r.image_manifest().unwrap_or_default().into(),
            });
            PutImageOutput::builder().build()
        })
    }

    pub fn publish(&self) -> Rule {
        let published = self.published.clone();
        mock!(aws_sdk_sns::Client::publish)
            .match_requests(|r| r.topic_arn() == Some(TOPIC))
            .then_compute_output(move |r| {
                let attributes = r
                    .message_attributes()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                let value = v.string_value().unwrap_or_default().to_string();
                                (k.clone(), (v.data_type().to_string(), value))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                published.lock().unwrap().push(Published {
                    subject: r.subject().unwrap_or_default().into(),
                    message: r.message().unwrap_or_default().into(),
                    attributes,
                });
                PublishOutput::builder().message_id("m-1").build()
            })
    }
}

pub fn settings(actions: Actions) -> Settings {
    Settings {
        actions,
        alert_topic_arn: Some(TOPIC.into()),
        allow_http_downloads: true,
        ..Settings::default()
    }
}

pub fn alert_only() -> Actions {
    Actions {
        alert: true,
        tag: false,
    }
}

pub fn alert_and_tag() -> Actions {
    Actions {
        alert: true,
        tag: true,
    }
}

pub struct Rules {
    pub bgi: Rule,
    pub url: Rule,
    pub tags: Rule,
    pub put: Rule,
    pub publish: Rule,
}

impl Rules {
    pub fn of(w: &World) -> Rules {
        Rules {
            bgi: w.batch_get_image(),
            url: w.get_download_url(),
            tags: w.list_tags(),
            put: w.put_image(),
            publish: w.publish(),
        }
    }

    pub fn counts(&self) -> [usize; 5] {
        [
            self.bgi.num_calls(),
            self.url.num_calls(),
            self.tags.num_calls(),
            self.put.num_calls(),
            self.publish.num_calls(),
        ]
    }
}

pub fn guard_with(settings: Settings, ecr_rules: &[&Rule], sns_rules: &[&Rule]) -> Guard<Ecr, Sns> {
    let ecr = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, ecr_rules.iter().copied());
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, sns_rules.iter().copied());
    let download = Download::new(settings.allow_http_downloads).unwrap();
    Guard::new(settings, Ecr::new(ecr, download), Sns::new(sns, TOPIC))
}

pub fn guard(settings: Settings, r: &Rules) -> Guard<Ecr, Sns> {
    guard_with(settings, &[&r.bgi, &r.url, &r.tags, &r.put], &[&r.publish])
}

pub fn platforms(v: &Verdict) -> String {
    ecr_arch_guard::image::platform::join(&v.platforms)
}
