//! Images put into moto's ECR the way docker/buildx push them, and the EventBridge events ECR
//! sends for those pushes and replications.

use sha2::Digest as _;

// The includer (tests/common/mod.rs) declares `fixtures` beside us.
use super::fixtures::{fixture, images};
use super::gap_filler::GapFiller;
use super::local_aws::{ACCOUNT, REGION};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// Creates a repository.
pub async fn create_repository(ecr: &aws_sdk_ecr::Client, name: &str) {
    ecr.create_repository()
        .repository_name(name)
        .send()
        .await
        .expect("CreateRepository");
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// The event ECR sends for a push.
pub fn push_event(
    repository: &str,
    digest: &str,
    tag: &str,
    manifest_media_type: &str,
    config_media_type: &str,
) -> serde_json::Value {
    serde_json::json!({
        "version": "0",
        "id": format!("evt-{}-{}", &digest[7..19], if tag.is_empty() { "untagged" } else { tag }),
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": ACCOUNT,
        "time": "2026-11-25T10:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "result": "SUCCESS",
            "repository-name": repository,
            "image-digest": digest,
            "action-type": "PUSH",
            "image-tag": tag,
            "manifest-media-type": manifest_media_type,
            "artifact-media-type": config_media_type
        }
    })
}

/// The event ECR sends in the destination region when replication copied an image there
/// (shape of AWS's documented sample, tests/fixtures/ecr-event-replication-completed.json):
/// this account and region, `source-region` where it was pushed.
pub fn replication_event(
    repository: &str,
    digest: &str,
    tag: &str,
    source_region: &str,
) -> serde_json::Value {
    serde_json::json!({
        "version": "0",
        "id": format!("repl-{repository}-{}-{tag}", &digest[7..19]),
        "detail-type": "ECR Replication Action",
        "source": "aws.ecr",
        "account": ACCOUNT,
        "time": "2026-11-25T10:00:05Z",
        "region": REGION,
        "resources": [format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repository}")],
        "detail": {
            "result": "SUCCESS",
            "repository-name": repository,
            "image-digest": digest,
            "source-account": ACCOUNT,
            "action-type": "REPLICATE",
            "source-region": source_region,
            "image-tag": tag
        }
    })
}

/// Pushes like docker/buildx: blobs first, then the manifest by digest with its tag (if any).
pub async fn put_manifest(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    manifest: &[u8],
    media_type: &str,
    tag: Option<&str>,
) -> String {
    let digest = sha256(manifest);
    ecr.put_image()
        .repository_name(repository)
        .image_manifest(std::str::from_utf8(manifest).unwrap())
        .image_manifest_media_type(media_type)
        .image_digest(&digest)
        .set_image_tag(tag.map(str::to_string))
        .send()
        .await
        .expect("PutImage");
    digest
}

/// Pushes one image as `docker push` does: its config blob (`config`, a fixture name), then
/// the manifest (`manifest`, a fixture name) under `tag`. Returns the manifest's digest.
pub async fn push_image(
    ecr: &aws_sdk_ecr::Client,
    gap: &GapFiller,
    repository: &str,
    manifest: &str,
    config: &str,
    tag: Option<&str>,
) -> String {
    gap.upload(repository, &fixture(config));
    put_manifest(ecr, repository, &fixture(manifest), OCI_MANIFEST, tag).await
}

/// Pushes hello-world as `docker buildx build --platform … --push` does: the amd64 child
/// untagged (config blob first), then the index (amd64, arm64, windows, attestations) under
/// `tag`. Returns (child digest, index digest).
pub async fn push_multi_platform(
    ecr: &aws_sdk_ecr::Client,
    gap: &GapFiller,
    repository: &str,
    tag: &str,
) -> (String, String) {
    let child = push_image(
        ecr,
        gap,
        repository,
        images::AMD_MANIFEST,
        images::AMD_CONFIG,
        None,
    )
    .await;
    let index = put_manifest(
        ecr,
        repository,
        &fixture(images::INDEX),
        OCI_INDEX,
        Some(tag),
    )
    .await;
    (child, index)
}

/// Sets a repository's `ecr-arch-guard:platforms` tag: what its images must run on. moto takes
/// any value; ECR's API reference (Tag.Value) allows only letters, digits, spaces and
/// `_ . : / = + - @`, so a value AWS would refuse fails here instead of passing locally.
pub async fn require_platforms(ecr: &aws_sdk_ecr::Client, repository: &str, platforms: &str) {
    assert!(
        platforms
            .chars()
            .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)),
        "{platforms:?} is not a valid AWS tag value"
    );
    ecr.tag_resource()
        .resource_arn(format!(
            "arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repository}"
        ))
        .tags(
            aws_sdk_ecr::types::Tag::builder()
                .key("ecr-arch-guard:platforms")
                .value(platforms)
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("TagResource");
}

/// The image tags in a repository.
pub async fn image_tags(ecr: &aws_sdk_ecr::Client, repository: &str) -> Vec<String> {
    let out = ecr
        .list_images()
        .repository_name(repository)
        .send()
        .await
        .expect("ListImages");
    out.image_ids()
        .iter()
        .filter_map(|i| i.image_tag().map(str::to_string))
        .collect()
}

/// The ECR URI of `repository:tag` in the test registry.
pub fn image_uri(repository: &str, tag: &str) -> String {
    format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repository}:{tag}")
}
