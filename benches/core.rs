//! The core's hot paths (criterion): `cargo bench --bench core`. No AWS, no I/O: documents come
//! from memory, so these are the guard's own costs per event.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use ecr_arch_guard::act::message::Message;
use ecr_arch_guard::act::message::Notify;
use ecr_arch_guard::event::EcrEvent;
use ecr_arch_guard::handler::settings::{Actions, Settings};
use ecr_arch_guard::handler::Guard;
use ecr_arch_guard::image::image_config::ImageConfig;
use ecr_arch_guard::image::memory::MemoryFetch;
use ecr_arch_guard::image::platform::Platform;
use ecr_arch_guard::image::resolve::{self, Limits};
use ecr_arch_guard::Error;

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// A buildx-style index: 5 platforms, each with its provenance attestation (10 entries).
fn ten_entry_index(store: &MemoryFetch) -> ecr_arch_guard::image::digest::Digest {
    let platforms = [
        ("amd64", None),
        ("arm64", Some("v8")),
        ("arm", Some("v7")),
        ("ppc64le", None),
        ("s390x", None),
    ];
    let mut entries = Vec::new();
    for (i, (arch, variant)) in platforms.iter().enumerate() {
        let image = format!("sha256:{:064x}", i + 1);
        let mut platform = serde_json::json!({"os": "linux", "architecture": arch});
        if let Some(v) = variant {
            platform["variant"] = (*v).into();
        }
        entries.push(serde_json::json!({"mediaType": MANIFEST, "digest": image, "size": 1000, "platform": platform}));
        entries.push(serde_json::json!({"mediaType": MANIFEST, "digest": format!("sha256:{:064x}", 100 + i), "size": 800,
            "platform": {"os": "unknown", "architecture": "unknown"},
            "annotations": {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": image}}));
    }
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries});
    store.put(index.to_string().as_bytes(), Some(INDEX))
}

struct Silent;

impl Notify for Silent {
    async fn publish(&self, _: &Message) -> Result<(), Error> {
        Ok(())
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let limits = Limits::default();

    let store = MemoryFetch::new();
    let index = ten_entry_index(&store);
    c.bench_function("resolve 10-entry index with attestations", |b| {
        b.iter(|| {
            rt.block_on(resolve::resolve(
                &store,
                black_box(&index),
                Some(INDEX),
                &limits,
            ))
            .unwrap()
        })
    });

    let config = fixture("image-config-httpd-amd64-docker.json");
    c.bench_function("parse image config (httpd, 8 KB)", |b| {
        b.iter(|| ImageConfig::parse(black_box(&config)).unwrap().platform())
    });

    let required: Platform = "linux/arm64".parse().unwrap();
    c.bench_function("normalise aarch64/v8 and match linux/arm64", |b| {
        b.iter(|| {
            let p =
                Platform::from_parts(black_box("Linux"), black_box("aarch64"), Some("8")).unwrap();
            p.runs_on(&required)
        })
    });

    // A warm guard: the digest and the repository policy are cached; each event is new.
    let settings = Settings {
        actions: Actions::default(),
        ..Settings::default()
    };
    let registry = MemoryFetch::new();
    let digest = ten_entry_index(&registry);
    let guard = Guard::new(settings, registry, Silent);
    let event = |id: u64| -> EcrEvent {
        serde_json::from_value(serde_json::json!({
            "version": "0", "id": format!("evt-{id}"), "detail-type": "ECR Image Action",
            "source": "aws.ecr", "account": "123456789012", "time": "2026-11-25T10:00:00Z",
            "region": "us-east-1", "resources": [],
            "detail": {"result": "SUCCESS", "repository-name": "web", "image-digest": digest.to_string(),
                "action-type": "PUSH", "image-tag": "latest", "manifest-media-type": INDEX}
        }))
        .unwrap()
    };
    rt.block_on(guard.handle(&event(0))).unwrap();
    let mut n = 0u64;
    c.bench_function("full verdict for a cached event (10-entry index)", |b| {
        b.iter_batched(
            || {
                n += 1;
                event(n)
            },
            |e| rt.block_on(guard.handle(&e)).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
}

criterion_group!(core, benches);
criterion_main!(core);
