//! Property tests: arbitrary and mutated real documents never panic the parsers and always end
//! in a value or a typed error; the platform normaliser is total and idempotent.
//!
//! Each property runs `CASES` generated inputs (set PROPTEST_CASES to run more). Longer runs
//! use the cargo-fuzz targets in `fuzz/` (see SECURITY.md).

mod common;

use common::fixture;
use ecr_arch_guard::event::{self, EcrEvent};
use ecr_arch_guard::image::digest::Digest;
use ecr_arch_guard::image::image_config::ImageConfig;
use ecr_arch_guard::image::manifest::Manifest;
use ecr_arch_guard::image::memory::MemoryFetch;
use ecr_arch_guard::image::platform::Platform;
use ecr_arch_guard::image::resolve::{self, Limits};
use proptest::prelude::*;

const CASES: u32 = 256;

const MANIFESTS: [&str; 8] = [
    "oci-index-hello-world-dockerhub-attestations-windows.json",
    "docker-manifest-list-7-platforms-arm64v8-armv5-armv6.json",
    "docker-manifest-v1-signed-rhosp12-amd64-label-x86_64.json",
    "oci-manifest-hello-world-arm64-platform-in-config-descriptor.json",
    "oci-artifact-manifest-sbom-with-subject-regclient.json",
    "oci-layout-index-nested-index.json",
    "docker-manifest-v2s2-httpd-amd64-octet-stream-config.json",
    "oci-index-buildkit-attestation-doc-example.json",
];
const CONFIGS: [&str; 4] = [
    "image-config-httpd-amd64-docker.json",
    "image-config-arm-v7-oci-regclient.json",
    "image-config-hello-world-arm64-no-variant.json",
    "image-config-attestation-unknown-unknown-doc-example.json",
];
const EVENTS: [&str; 5] = [
    "ecr-event-push-tagged.json",
    "ecr-event-delete.json",
    "ecr-event-referrer-action-restore.json",
    "ecr-event-replication-failed.json",
    "ecr-event-update-storage-class-archive-with-media-types.json",
];

/// One edit of a document: overwrite a byte, delete a run, insert a byte, or duplicate a run.
#[derive(Clone, Debug)]
enum Edit {
    Set(usize, u8),
    Delete(usize, usize),
    Insert(usize, u8),
    Duplicate(usize, usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        (
            any::<usize>(),
            prop::sample::select(b"{}[]\",:0aZ\\ ".to_vec())
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1usize..256).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ];
    prop::collection::vec(edit, 1..8)
}

fn mutate(mut doc: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = doc.len().max(1);
        match *e {
            Edit::Set(i, b) if !doc.is_empty() => doc[i % len] = b,
            Edit::Delete(i, n) if !doc.is_empty() => {
                let at = i % len;
                let end = (at + n).min(doc.len());
                doc.drain(at..end);
            }
            Edit::Insert(i, b) => doc.insert(i % (doc.len() + 1), b),
            Edit::Duplicate(i, n) if !doc.is_empty() => {
                let at = i % len;
                let end = (at + n).min(doc.len());
                let run = doc[at..end].to_vec();
                doc.splice(at..at, run);
            }
            _ => {}
        }
    }
    doc
}

/// Arbitrary JSON values, a few levels deep, with the field names the parsers look for.
fn json() -> impl Strategy<Value = serde_json::Value> {
    let key = prop::sample::select(vec![
        "schemaVersion",
        "mediaType",
        "manifests",
        "config",
        "layers",
        "platform",
        "architecture",
        "os",
        "variant",
        "digest",
        "size",
        "annotations",
        "artifactType",
        "detail",
        "detail-type",
        "source",
        "image-digest",
        "image-tag",
        "repository-name",
        "action-type",
        "result",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "[a-z0-9:/.+_-]{0,40}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from(
            "sha256:0000000000000000000000000000000000000000000000000000000000000000"
        )),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8).prop_map(|m| {
                serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Parses `bytes` as a manifest and, when it parses, resolves it from memory (children absent):
/// every outcome is a value or a typed error, never a panic.
fn parse_and_resolve(rt: &tokio::runtime::Runtime, bytes: &[u8], hint: Option<&str>) {
    let _ = Manifest::parse(bytes, hint);
    let store = MemoryFetch::new();
    let digest = store.put(bytes, hint);
    let _ = rt.block_on(resolve::resolve(&store, &digest, hint, &Limits::default()));
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_manifests_never_panic(which in 0..MANIFESTS.len(), e in edits()) {
        let rt = runtime();
        let doc = mutate(fixture(MANIFESTS[which]), &e);
        parse_and_resolve(&rt, &doc, None);
        parse_and_resolve(&rt, &doc, Some("application/vnd.oci.image.index.v1+json"));
    }

    #[test]
    fn arbitrary_json_manifests_never_panic(v in json()) {
        let rt = runtime();
        parse_and_resolve(&rt, v.to_string().as_bytes(), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let rt = runtime();
        parse_and_resolve(&rt, &bytes, None);
        let _ = ImageConfig::parse(&bytes);
        let _ = serde_json::from_slice::<EcrEvent>(&bytes);
    }

    #[test]
    fn mutated_configs_never_panic(which in 0..CONFIGS.len(), e in edits()) {
        if let Ok(c) = ImageConfig::parse(&mutate(fixture(CONFIGS[which]), &e)) {
            let _ = c.platform();
        }
    }

    #[test]
    fn mutated_and_arbitrary_events_classify_or_fail_cleanly(
        which in 0..EVENTS.len(),
        e in edits(),
        v in json(),
    ) {
        for doc in [mutate(fixture(EVENTS[which]), &e), v.to_string().into_bytes()] {
            if let Ok(ev) = serde_json::from_slice::<EcrEvent>(&doc) {
                let _ = event::classify(&ev);
            }
        }
    }

    #[test]
    fn normalisation_is_total_and_idempotent(
        os in "\\PC{0,12}",
        arch in prop_oneof![
            Just("aarch64".to_string()), Just("x86_64".to_string()), Just("x86-64".to_string()),
            Just("armhf".to_string()), Just("armel".to_string()), Just("ARM64".to_string()),
            "\\PC{0,12}",
        ],
        variant in proptest::option::of(prop_oneof![
            Just("v8".to_string()), Just("8".to_string()), Just("7".to_string()), "\\PC{0,6}",
        ]),
    ) {
        if let Some(p) = Platform::from_parts(&os, &arch, variant.as_deref()) {
            prop_assert!(!p.to_string().contains(char::is_whitespace));
            prop_assert_eq!(p.to_string().matches('/').count(), 1 + p.variant.is_some() as usize);
            let again = Platform::from_parts(&p.os, &p.architecture, p.variant.as_deref());
            prop_assert_eq!(again.as_ref(), Some(&p));
            prop_assert!(p.runs_on(&p), "{p} runs on itself");
            // What it prints parses back to itself whenever it is a well-formed os/arch[/variant].
            if let Ok(parsed) = p.to_string().parse::<Platform>() {
                prop_assert_eq!(parsed, p);
            }
        }
    }

    #[test]
    fn digests_parse_or_fail_cleanly(s in "\\PC{0,80}") {
        if let Ok(d) = Digest::parse(&s) {
            prop_assert_eq!(Digest::parse(d.as_str()).unwrap(), d);
        }
    }
}
