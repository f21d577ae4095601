//! Every bound at its default value: just under passes, just over is a clear, typed error.

mod common;

use common::http::BlobServer;
use ecr_arch_guard::aws::download::Download;
use ecr_arch_guard::event::{self, Classified, EcrEvent};
use ecr_arch_guard::image::digest::Digest;
use ecr_arch_guard::image::manifest::Manifest;
use ecr_arch_guard::image::memory::MemoryFetch;
use ecr_arch_guard::image::resolve::{self, Limits};
use ecr_arch_guard::Error;

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const MIB: usize = 1024 * 1024;

/// A single-image manifest and its config, the config padded to `config_len` bytes.
fn image(store: &MemoryFetch, config_len: usize, manifest_len: usize) -> Digest {
    let head = r#"{"architecture":"amd64","os":"linux","pad":""#;
    let pad = config_len.saturating_sub(head.len() + 2);
    let config = format!("{head}{}\"}}", "x".repeat(pad));
    let c = store.put(config.as_bytes(), None);
    let head = format!(
        r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{{"mediaType":"{CONFIG}","digest":"{c}","size":{}}},"layers":[],"annotations":{{"pad":""#,
        config.len()
    );
    let pad = manifest_len.saturating_sub(head.len() + 3);
    let manifest = format!("{head}{}\"}}}}", "y".repeat(pad));
    store.put(manifest.as_bytes(), Some(MANIFEST))
}

fn index_of(store: &MemoryFetch, children: &[(Digest, &str)], platform: bool) -> Digest {
    let entries: Vec<serde_json::Value> = children
        .iter()
        .map(|(d, mt)| {
            let mut e = serde_json::json!({"mediaType": mt, "digest": d.to_string(), "size": 1});
            if platform {
                e["platform"] = serde_json::json!({"os": "linux", "architecture": "amd64"});
            }
            e
        })
        .collect();
    let doc = serde_json::json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries});
    store.put(doc.to_string().as_bytes(), Some(INDEX))
}

async fn resolve(store: &MemoryFetch, d: &Digest) -> Result<resolve::Resolution, Error> {
    resolve::resolve(store, d, None, &Limits::default()).await
}

#[tokio::test]
async fn manifest_over_4_mib_is_refused() {
    let store = MemoryFetch::new();
    let ok = image(&store, 100, 4 * MIB);
    assert!(resolve(&store, &ok).await.is_ok());
    let big = image(&store, 100, 4 * MIB + 1);
    let err = resolve(&store, &big).await.unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit, .. } if limit == 4 * MIB as u64),
        "{err}"
    );
}

#[tokio::test]
async fn config_over_1_mib_is_refused() {
    let store = MemoryFetch::new();
    let ok = image(&store, MIB, 500);
    assert!(resolve(&store, &ok).await.is_ok());
    let big = image(&store, MIB + 1, 500);
    let err = resolve(&store, &big).await.unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit, .. } if limit == MIB as u64),
        "{err}"
    );
}

#[tokio::test]
async fn download_is_capped_whatever_the_server_declares() {
    let blobs = BlobServer::start();
    let body = vec![b'{'; MIB + 1];
    let url = blobs.put("sha256:big", &body);
    let d = Download::new(true).unwrap();
    let err = d.get(&url, MIB as u64).await.unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    assert!(!err.to_string().contains("X-Amz-Signature"), "{err}");
    assert_eq!(d.get(&url, 2 * MIB as u64).await.unwrap().len(), MIB + 1);
}

#[tokio::test]
async fn non_https_download_urls_are_refused() {
    let d = Download::new(false).unwrap();
    for url in [
        "http://bucket.s3.amazonaws.com/blob?X-Amz-Signature=s",
        "ftp://host/blob",
        "file:///etc/passwd",
        "not a url",
    ] {
        let err = d.get(url, 100).await.unwrap_err();
        assert!(matches!(err, Error::Permanent(_)), "{url}: {err}");
        assert!(!err.to_string().contains("X-Amz-Signature"), "{err}");
    }
}

#[tokio::test]
async fn index_over_1000_entries_is_refused() {
    let store = MemoryFetch::new();
    let child = image(&store, 100, 500);
    let ok = index_of(&store, &vec![(child.clone(), MANIFEST); 1000], true);
    assert!(resolve(&store, &ok).await.is_ok());
    let big = index_of(&store, &vec![(child, MANIFEST); 1001], true);
    let err = resolve(&store, &big).await.unwrap_err();
    assert!(matches!(err, Error::LimitExceeded(_)), "{err}");
    assert!(err.to_string().contains("1000"), "{err}");
}

#[tokio::test]
async fn nesting_deeper_than_4_is_refused() {
    let store = MemoryFetch::new();
    let mut top = image(&store, 100, 500);
    let mut depth_ok = None;
    for level in 1..=5 {
        top = index_of(
            &store,
            &[(top, if level == 1 { MANIFEST } else { INDEX })],
            false,
        );
        if level == 4 {
            depth_ok = Some(top.clone());
        }
    }
    assert!(
        resolve(&store, &depth_ok.unwrap()).await.is_ok(),
        "4 levels resolve"
    );
    let err = resolve(&store, &top).await.unwrap_err();
    assert!(matches!(err, Error::LimitExceeded(_)), "{err}");
}

#[tokio::test]
async fn content_that_does_not_match_its_digest_is_refused() {
    let store = MemoryFetch::new();
    let real = image(&store, 100, 500);
    let forged = Digest::of(b"something else");
    store.put_as(forged.clone(), br#"{"schemaVersion":2}"#, Some(MANIFEST));
    let err = resolve(&store, &forged).await.unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    assert!(resolve(&store, &real).await.is_ok());
}

#[test]
fn unknown_media_types_are_a_typed_error() {
    let doc = br#"{"schemaVersion":2,"mediaType":"application/vnd.example.thing.v1+json"}"#;
    let err = Manifest::parse(doc, None).unwrap_err();
    assert!(matches!(err, Error::UnsupportedMediaType(_)), "{err}");
    let err = Manifest::parse(b"{}", Some("text/html")).unwrap_err();
    assert!(
        matches!(err, Error::UnsupportedMediaType(_) | Error::Malformed(_)),
        "{err}"
    );
}

#[test]
fn malformed_partial_and_foreign_events() {
    let base = serde_json::json!({
        "version": "0", "id": "e", "detail-type": "ECR Image Action", "source": "aws.ecr",
        "account": "123456789012", "time": "2026-11-25T10:00:00Z", "region": "us-east-1",
        "resources": [],
        "detail": {"result": "SUCCESS", "action-type": "PUSH", "repository-name": "web",
            "image-digest": format!("sha256:{}", "a".repeat(64)), "image-tag": "v1"}
    });
    let classify = |v: serde_json::Value| -> Result<Classified, Error> {
        let e: EcrEvent = serde_json::from_value(v).unwrap();
        event::classify(&e)
    };
    assert!(matches!(classify(base.clone()), Ok(Classified::Inspect(_))));
    // Partial: a push without repository or with a bad digest is an error, not a silent skip.
    for (field, value) in [
        ("repository-name", serde_json::Value::Null),
        ("image-digest", "sha256:short".into()),
        ("image-digest", serde_json::Value::Null),
    ] {
        let mut v = base.clone();
        v["detail"][field] = value;
        assert!(matches!(classify(v), Err(Error::Malformed(_))), "{field}");
    }
    // Foreign: another detail-type or source is skipped with the reason.
    for (field, value) in [("detail-type", "ECR Image Scan"), ("source", "my.app")] {
        let mut v = base.clone();
        v[field] = value.into();
        match classify(v) {
            Ok(Classified::Skip(reason)) => {
                assert!(reason.contains("not an ECR image push or replication"))
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    // Not even an event: a clear parse error.
    assert!(serde_json::from_slice::<EcrEvent>(b"{\"detail\": 3}").is_err());
}
