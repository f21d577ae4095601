//! Platform detection on real registry documents (tests/fixtures, see SOURCES.md there).

mod common;

use common::fixture;
use ecr_arch_guard::image::digest::Digest;
use ecr_arch_guard::image::media_type;
use ecr_arch_guard::image::memory::MemoryFetch;
use ecr_arch_guard::image::platform::{join, parse_list};
use ecr_arch_guard::image::resolve::{resolve, Limits, Outcome, Resolution};
use ecr_arch_guard::judge::policy::{decide, Inputs};
use ecr_arch_guard::judge::verdict::{Verdict, VerdictKind};
use ecr_arch_guard::Error;

async fn resolve_root(store: &MemoryFetch, root: &Digest) -> Result<Resolution, Error> {
    resolve(store, root, None, &Limits::default()).await
}

fn judge(r: &Resolution, required: &str) -> Verdict {
    let req = parse_list(required).unwrap();
    Verdict::judge(
        r,
        &decide(
            "repo",
            &Inputs {
                flag: Some(&req),
                ..Inputs::default()
            },
        ),
    )
}

#[tokio::test]
async fn dockerhub_hello_world_index_lists_every_platform_and_skips_attestations_in_one_read() {
    let store = MemoryFetch::new();
    let root = store.put(
        &fixture("oci-index-hello-world-dockerhub-attestations-windows.json"),
        None,
    );
    assert!(
        root.as_str().starts_with("sha256:424f1f86"),
        "the fixture is the real index"
    );
    let r = resolve_root(&store, &root).await.unwrap();
    assert_eq!(
        join(&r.platforms()),
        "linux/386,linux/amd64,linux/arm/v5,linux/arm/v6,linux/arm/v7,linux/arm64,linux/mips64le,\
         linux/ppc64le,linux/riscv64,linux/s390x,windows/amd64"
    );
    assert_eq!(r.attestations, 10);
    assert_eq!(
        store.reads(),
        (1, 0),
        "platforms come from the index entries alone"
    );
    assert_eq!(r.media_type, media_type::OCI_INDEX);
    let Outcome::Image(ps) = &r.outcome else {
        panic!("an image")
    };
    let windows: Vec<_> = ps.iter().filter_map(|p| p.os_version.clone()).collect();
    assert_eq!(
        windows.len(),
        3,
        "windows os.version kept as detail: {windows:?}"
    );
    assert!(windows.iter().any(|v| v.starts_with("10.0.20348")));
    assert_eq!(
        judge(&r, "linux/amd64,linux/arm64").verdict,
        VerdictKind::Fits
    );
}

#[tokio::test]
async fn builder_entries_with_unknown_platform_are_skipped_whatever_their_annotation() {
    let store = MemoryFetch::new();
    let root = store.put(
        &fixture("oci-index-unknown-platform-builder-refs-regclient.json"),
        None,
    );
    let r = resolve_root(&store, &root).await.unwrap();
    assert_eq!(join(&r.platforms()), "linux/amd64,linux/arm64");
    assert_eq!(r.attestations, 2);
}

#[tokio::test]
async fn docker_manifest_list_arm64_v8_is_plain_arm64() {
    let store = MemoryFetch::new();
    let root = store.put(
        &fixture("docker-manifest-list-7-platforms-arm64v8-armv5-armv6.json"),
        None,
    );
    let r = resolve_root(&store, &root).await.unwrap();
    assert_eq!(
        join(&r.platforms()),
        "linux/386,linux/amd64,linux/arm/v5,linux/arm/v6,linux/arm64,linux/ppc64le,linux/s390x"
    );
    assert_eq!(r.media_type, media_type::DOCKER_LIST);
    assert_eq!(judge(&r, "linux/arm64").verdict, VerdictKind::Fits);
}

#[tokio::test]
async fn armv7_and_armv8_spellings_normalise() {
    let store = MemoryFetch::new();
    let root = store.put(
        &fixture("docker-manifest-list-schema1-children-armv7-armv8-spelling.json"),
        None,
    );
    let r = resolve_root(&store, &root).await.unwrap();
    let all = join(&r.platforms());
    assert!(all.contains("linux/arm/v7"), "{all}");
    assert!(all.contains("linux/arm64") && !all.contains("v8"), "{all}");
}

#[tokio::test]
async fn regclient_index_fits_amd64_and_arm_v7() {
    let store = MemoryFetch::new();
    let root = store.put(&fixture("oci-index-amd64-arm64-armv7-regclient.json"), None);
    let r = resolve_root(&store, &root).await.unwrap();
    assert_eq!(join(&r.platforms()), "linux/amd64,linux/arm/v7,linux/arm64");
    assert_eq!(
        judge(&r, "linux/amd64,linux/arm/v7").verdict,
        VerdictKind::Fits
    );
    // An arm/v7 image serves arm/v6 hosts? No: v7 code does not run on v6.
    assert_eq!(judge(&r, "linux/arm/v6").verdict, VerdictKind::Mismatch);
}

#[tokio::test]
async fn single_manifest_reads_its_config_once() {
    let store = MemoryFetch::new();
    let root = store.put(
        &fixture("oci-manifest-hello-world-amd64-dockerhub.json"),
        None,
    );
    store.put(
        &fixture("image-config-hello-world-amd64-oci-dockerhub.json"),
        None,
    );
    let r = resolve_root(&store, &root).await.unwrap();
    assert_eq!(join(&r.platforms()), "linux/amd64");
    assert_eq!(store.reads(), (1, 1));
    assert_eq!(judge(&r, "linux/amd64").verdict, VerdictKind::Fits);
}

#[tokio::test]
async fn mac_pulled_arm64_image_is_a_mismatch_for_amd64() {
    let store = MemoryFetch::new();
    let root = store.put(
        &fixture("oci-manifest-hello-world-arm64-platform-in-config-descriptor.json"),
        None,
    );
    store.put(
        &fixture("image-config-hello-world-arm64-no-variant.json"),
        None,
    );
    let r = resolve_root(&store, &root).await.unwrap();
    let v = judge(&r, "linux/amd64");
    assert_eq!(v.verdict, VerdictKind::Mismatch);
    assert_eq!(join(&v.missing), "linux/amd64");
    assert_eq!(join(&v.platforms), "linux/arm64");
    assert_eq!(v.architectures(), "arm64");
    assert_eq!(judge(&r, "linux/arm64").verdict, VerdictKind::Fits);
}

#[tokio::test]
async fn octet_stream_config_is_read_and_decides() {
    let store = MemoryFetch::new();
    let root = store.put(
        &fixture("docker-manifest-v2s2-httpd-amd64-octet-stream-config.json"),
        None,
    );
    store.put(&fixture("image-config-httpd-amd64-docker.json"), None);
    let r = resolve_root(&store, &root).await.unwrap();
    assert_eq!(join(&r.platforms()), "linux/amd64");
    assert_eq!(r.media_type, media_type::DOCKER_V2);
}

#[tokio::test]
async fn signed_schema1_is_verified_over_its_payload_and_uses_its_architecture_field() {
    let bytes = fixture("docker-manifest-v1-signed-rhosp12-amd64-label-x86_64.json");
    let payload = ecr_arch_guard::image::manifest::schema1_signed_payload(&bytes).expect("signed");
    assert!(payload.len() < bytes.len() && payload.ends_with(b"\n}"));
    let store = MemoryFetch::new();
    let digest = Digest::of(&payload);
    store.put_as(digest.clone(), &bytes, Some(media_type::DOCKER_V1_SIGNED));
    let r = resolve_root(&store, &digest).await.unwrap();
    assert_eq!(join(&r.platforms()), "linux/amd64");
    assert_eq!(store.reads(), (1, 0));
}

#[tokio::test]
async fn nested_layout_index_resolves_through_the_inner_index() {
    let store = MemoryFetch::new();
    let outer = store.put(&fixture("oci-layout-index-nested-index.json"), None);
    let inner = store.put(
        &fixture("oci-index-busybox-amd64-single-platform.json"),
        None,
    );
    assert!(inner.as_str().starts_with("sha256:166d2948"));
    let r = resolve_root(&store, &outer).await.unwrap();
    assert_eq!(join(&r.platforms()), "linux/amd64");
    assert_eq!(store.reads(), (2, 0));
}

#[tokio::test]
async fn entry_without_platform_is_resolved_through_its_config() {
    let store = MemoryFetch::new();
    let child = store.put(&fixture("oci-manifest-arm-v7-regclient.json"), None);
    store.put(&fixture("image-config-arm-v7-oci-regclient.json"), None);
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"{}","digest":"{child}","size":1}}]}}"#,
        media_type::OCI_INDEX,
        media_type::OCI_MANIFEST
    );
    let root = store.put(index.as_bytes(), None);
    let r = resolve_root(&store, &root).await.unwrap();
    assert_eq!(join(&r.platforms()), "linux/arm/v7");
    assert_eq!(store.reads(), (2, 1));
}

#[tokio::test]
async fn arm64_only_index_with_attestation_is_a_mismatch() {
    // What `docker buildx build --platform linux/arm64 --push` on a Mac produces.
    let store = MemoryFetch::new();
    let index = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:411caf34e0c0a4a0c2be4e3d0e1e0ff6d9c6b5a6ac6b0bba1e1e5d0a2b7e1f2a","size":1,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0d0a2b7e1f2a411caf34e0c0a4a0c2be4e3d0e1e0ff6d9c6b5a6ac6b0bba1e1e","size":1,"annotations":{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"sha256:411caf34e0c0a4a0c2be4e3d0e1e0ff6d9c6b5a6ac6b0bba1e1e5d0a2b7e1f2a"},"platform":{"architecture":"unknown","os":"unknown"}}]}"#;
    let root = store.put(index.as_bytes(), None);
    let r = resolve_root(&store, &root).await.unwrap();
    let v = judge(&r, "linux/amd64");
    assert_eq!(v.verdict, VerdictKind::Mismatch);
    assert_eq!(join(&v.platforms), "linux/arm64");
    assert_eq!(r.attestations, 1);
}

#[tokio::test]
async fn artifacts_are_not_images_and_cost_no_blob_read() {
    for name in [
        "oci-artifact-manifest-sbom-with-subject-regclient.json",
        "oci-artifact-manifest-artifacttype-empty-config-regclient.json",
        "oci-index-referrers-tag-fallback-regclient.json",
        "oci-index-artifacttype-with-subject-regclient.json",
    ] {
        let store = MemoryFetch::new();
        let root = store.put(&fixture(name), None);
        let r = resolve_root(&store, &root).await.unwrap();
        assert!(
            matches!(r.outcome, Outcome::NotAnImage(_)),
            "{name}: {:?}",
            r.outcome
        );
        assert_eq!(store.reads(), (1, 0), "{name}");
        assert_eq!(
            judge(&r, "linux/amd64").verdict,
            VerdictKind::NotAnImage,
            "{name}"
        );
    }
}

#[tokio::test]
async fn helm_chart_is_not_an_image() {
    let store = MemoryFetch::new();
    let helm = r#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:8ec7c0f2f6860037c19b54c3cfbab48d9b4b21b485a93d87b64690fdb68c2111","size":117},"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"sha256:1b251d38cfe948dfc0a5745b7af5ca574ecb61e52aed10b19039db39af6e1617","size":2487}]}"#;
    let root = store.put(helm.as_bytes(), Some(media_type::OCI_MANIFEST));
    let r = resolve_root(&store, &root).await.unwrap();
    let Outcome::NotAnImage(why) = &r.outcome else {
        panic!("{:?}", r.outcome)
    };
    assert!(why.contains("helm"), "{why}");
    assert_eq!(store.reads(), (1, 0));
}

#[tokio::test]
async fn cosign_signature_with_empty_os_arch_config_is_not_an_image() {
    // The real cosign manifest, with its config digest pointed at a cosign-style config we hold
    // (the original config blob is not in the corpus).
    let config = br#"{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["sha256:b671489ededd1a180bd87235bba00fd83354f9c7d13b71d9f8b66a8e52965ebc"]},"config":{}}"#;
    let store = MemoryFetch::new();
    let config_digest = store.put(config, None);
    let manifest = String::from_utf8(fixture("cosign-signature-manifest-dockerhub.json"))
        .unwrap()
        .replace(
            "sha256:85ad8e17d3d7c00664855c638832bd99f32d42542c2d587851410a45a7f60b95",
            config_digest.as_str(),
        );
    let root = store.put(manifest.as_bytes(), None);
    let r = resolve_root(&store, &root).await.unwrap();
    assert!(
        matches!(r.outcome, Outcome::NotAnImage(_)),
        "{:?}",
        r.outcome
    );
}

#[tokio::test]
async fn attestation_manifest_pushed_alone_is_not_an_image() {
    let store = MemoryFetch::new();
    let config = store.put(
        &fixture("image-config-attestation-unknown-unknown-doc-example.json"),
        None,
    );
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":1}},"layers":[]}}"#
    );
    let root = store.put(manifest.as_bytes(), None);
    let r = resolve_root(&store, &root).await.unwrap();
    assert!(
        matches!(r.outcome, Outcome::NotAnImage(_)),
        "{:?}",
        r.outcome
    );
}

#[tokio::test]
async fn buildkit_attestation_layout_yields_only_the_image_platform() {
    let store = MemoryFetch::new();
    let root = store.put(
        &fixture("oci-index-buildkit-attestation-doc-example.json"),
        None,
    );
    let r = resolve_root(&store, &root).await.unwrap();
    assert_eq!(join(&r.platforms()), "linux/amd64");
    assert_eq!(r.attestations, 1);
}

#[tokio::test]
async fn ecr_batch_get_image_manifest_verifies_against_its_image_digest() {
    let response: serde_json::Value = serde_json::from_slice(&fixture(
        "ecr-batchgetimage-response-cluster-autoscaler-v2s2.json",
    ))
    .unwrap();
    let image = &response["images"][0];
    let manifest = image["imageManifest"].as_str().unwrap();
    let digest = Digest::parse(image["imageId"]["imageDigest"].as_str().unwrap()).unwrap();
    assert!(digest.verify(manifest.as_bytes()).is_ok());
}

#[tokio::test]
async fn tampered_manifest_and_config_are_refused() {
    let store = MemoryFetch::new();
    let real = fixture("oci-manifest-hello-world-amd64-dockerhub.json");
    let root = Digest::of(&real);
    let mut tampered = real.clone();
    tampered[20] ^= 1;
    store.put_as(root.clone(), &tampered, None);
    assert!(matches!(
        resolve_root(&store, &root).await,
        Err(Error::DigestMismatch { .. })
    ));

    let store = MemoryFetch::new();
    let root = store.put(&real, None);
    let config = fixture("image-config-hello-world-amd64-oci-dockerhub.json");
    let wrong = String::from_utf8(config).unwrap().replace("amd64", "arm64");
    let config_digest =
        Digest::parse("sha256:74cc54e27dc41bb10dc4b2226072d469509f2f22f1a3ce74f4a59661a1d44602")
            .unwrap();
    store.put_as(config_digest, wrong.as_bytes(), None);
    let err = resolve_root(&store, &root).await.unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
}

#[tokio::test]
async fn missing_child_is_a_clear_not_found() {
    let store = MemoryFetch::new();
    let root = store.put(&fixture("oci-layout-index-mixed-mediatypes-gcr.json"), None);
    let err = resolve_root(&store, &root).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
}

#[tokio::test]
async fn limits_bound_size_depth_and_entries() {
    // Size.
    let store = MemoryFetch::new();
    let root = store.put(
        &fixture("oci-index-hello-world-dockerhub-attestations-windows.json"),
        None,
    );
    let small = Limits {
        max_manifest_bytes: 100,
        ..Limits::default()
    };
    assert!(matches!(
        resolve(&store, &root, None, &small).await,
        Err(Error::TooLarge { .. })
    ));

    // Depth: index -> index -> ... -> manifest, 6 levels.
    let store = MemoryFetch::new();
    let mut digest = store.put(&fixture("oci-manifest-busybox-amd64.json"), None);
    store.put(&fixture("image-config-busybox-amd64-minimal.json"), None);
    let mut mt = media_type::OCI_MANIFEST;
    for _ in 0..6 {
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"{mt}","digest":"{digest}","size":1}}]}}"#,
            media_type::OCI_INDEX
        );
        digest = store.put(index.as_bytes(), None);
        mt = media_type::OCI_INDEX;
    }
    let err = resolve_root(&store, &digest).await.unwrap_err();
    assert!(matches!(err, Error::LimitExceeded(_)), "{err}");

    // Entries.
    let entry = r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1effc9d48232693f4584ceb9c5e8d84ddeb5924ea4aff341aa8204510422f668","size":1,"platform":{"architecture":"amd64","os":"linux"}}"#;
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
        vec![entry; 1001].join(",")
    );
    let store = MemoryFetch::new();
    let root = store.put(index.as_bytes(), None);
    let err = resolve_root(&store, &root).await.unwrap_err();
    assert!(matches!(err, Error::LimitExceeded(_)), "{err}");
}

#[tokio::test]
async fn empty_index_is_not_an_image() {
    let store = MemoryFetch::new();
    let root = store.put(
        &fixture("oci-layout-index-docker-v25-save-null-manifests.json"),
        None,
    );
    let r = resolve_root(&store, &root).await.unwrap();
    assert!(matches!(r.outcome, Outcome::NotAnImage(_)));
}
