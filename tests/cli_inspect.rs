//! `ecr-arch-guard inspect` end to end: layouts and tars built in temp dirs from real documents.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::fixture;
use ecr_arch_guard::image::digest::Digest;
use serde_json::Value;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

fn inspect(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ecr-arch-guard"))
        .arg("inspect")
        .args(args)
        .output()
        .expect("run the CLI");
    Run {
        code: out
            .status
            .code()
            .expect("exit code, not a signal (a panic would abort)"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn examples(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

/// An OCI layout under construction.
struct Layout {
    dir: tempfile::TempDir,
    entries: Vec<Value>,
}

impl Layout {
    fn new() -> Layout {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("oci-layout"),
            r#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        Layout {
            dir,
            entries: Vec::new(),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn blob(&self, bytes: &[u8]) -> Digest {
        let d = Digest::of(bytes);
        std::fs::write(self.root().join("blobs/sha256").join(d.hex()), bytes).unwrap();
        d
    }

    fn image(&mut self, media_type: &str, bytes: &[u8], names: &[&str]) -> Digest {
        let d = self.blob(bytes);
        let mut annotations = serde_json::Map::new();
        if let Some(n) = names.first() {
            annotations.insert("io.containerd.image.name".into(), Value::from(*n));
        }
        if let Some(n) = names.get(1) {
            annotations.insert("org.opencontainers.image.ref.name".into(), Value::from(*n));
        }
        self.entries.push(serde_json::json!({
            "mediaType": media_type, "digest": d.as_str(), "size": bytes.len(), "annotations": annotations
        }));
        self.write_index();
        d
    }

    fn write_index(&self) {
        let index = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.entries});
        std::fs::write(self.root().join("index.json"), index.to_string()).unwrap();
    }

    /// Writes a tar of the layout beside it and returns its path.
    fn tar(&self) -> PathBuf {
        let path = self.root().with_extension("tar");
        let file = std::fs::File::create(&path).unwrap();
        let mut builder = tar::Builder::new(file);
        builder.append_dir_all(".", self.root()).unwrap();
        builder.finish().unwrap();
        path
    }
}

fn arm64_layout(names: &[&str]) -> (Layout, Digest) {
    let mut l = Layout::new();
    l.blob(&fixture("image-config-hello-world-arm64-no-variant.json"));
    let d = l.image(
        OCI_MANIFEST,
        &fixture("oci-manifest-hello-world-arm64-platform-in-config-descriptor.json"),
        names,
    );
    (l, d)
}

#[test]
fn bundled_arm64_only_example_is_a_mismatch_with_exit_1() {
    let r = inspect(&[&examples("arm64-only"), "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["verdict"], "mismatch");
    assert_eq!(v["platforms"], serde_json::json!(["linux/arm64"]));
    assert_eq!(v["required"], serde_json::json!(["linux/amd64"]));
    assert_eq!(v["missing"], serde_json::json!(["linux/amd64"]));
    assert_eq!(v["media_type"], OCI_MANIFEST);
    assert_eq!(
        v["digest"],
        "sha256:411caf340c828657e915a83ed561a79d2b8150dabad4dc079d881cbfe6f86afe"
    );
}

#[test]
fn bundled_multi_platform_example_fits_amd64_and_arm64() {
    let r = inspect(&[
        &examples("multi-platform"),
        "--require",
        "linux/amd64,linux/arm64",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["verdict"], "fits");
    assert_eq!(v["missing"], serde_json::json!([]));
    assert_eq!(v["media_type"], OCI_INDEX);
    let platforms: Vec<&str> = v["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut sorted = platforms.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(platforms, sorted, "sorted and de-duplicated");
    assert!(platforms.contains(&"windows/amd64") && platforms.contains(&"linux/arm/v7"));
}

#[test]
fn text_format_gives_the_fix_on_a_mismatch() {
    let r = inspect(&[&examples("arm64-only")]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("MISMATCH: linux/amd64 missing"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("exec format error"));
    assert!(r
        .stdout
        .contains("docker buildx build --platform linux/amd64,linux/arm64"));
    assert!(r.stdout.contains("docker pull --platform linux/amd64"));
}

#[test]
fn arm64_image_fits_when_arm64_is_required() {
    let r = inspect(&[
        &examples("arm64-only"),
        "--require",
        "linux/arm64",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0);
    assert_eq!(r.json()["verdict"], "fits");
}

#[test]
fn tar_of_an_oci_layout_is_read_like_the_directory() {
    let (l, d) = arm64_layout(&["docker.io/library/hello-world:latest", "latest"]);
    let tar = l.tar();
    let r = inspect(&[tar.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["digest"], d.as_str());
    assert_eq!(v["platforms"], serde_json::json!(["linux/arm64"]));
    assert_eq!(v["repository"], "docker.io/library/hello-world");
    assert_eq!(v["tag"], "latest");
}

#[test]
fn docker_25_save_tar_with_null_index_falls_back_to_manifest_json() {
    // As in the corpus: index.json with "manifests": null, and the legacy manifest.json
    // pointing at blobs/sha256/<config>.
    let l = Layout::new();
    l.blob(&fixture("image-config-hello-world-arm64-no-variant.json"));
    std::fs::write(
        l.root().join("index.json"),
        fixture("oci-layout-index-docker-v25-save-null-manifests.json"),
    )
    .unwrap();
    std::fs::write(
        l.root().join("manifest.json"),
        fixture("docker-save-manifest-docker-v25.json"),
    )
    .unwrap();
    let tar = l.tar();
    let r = inspect(&[tar.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["platforms"], serde_json::json!(["linux/arm64"]));
    assert_eq!(
        v["digest"], "sha256:ee301c921b8aadc002973b2e0c3da17d701dcd994b606769a7e6eaa100b81d44",
        "the image ID"
    );
}

/// A legacy `docker save` tar: `manifest.json`, `<id>.json` configs, `<id>/layer.tar`.
fn legacy_tar(images: &[(&str, &[u8])]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("save.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&path).unwrap());
    let mut manifest = Vec::new();
    for (tag, config) in images {
        let id = Digest::of(config).hex().to_string();
        let name = format!("{id}.json");
        append(&mut builder, &name, config);
        append(&mut builder, &format!("{id}/layer.tar"), &[0u8; 1024]);
        manifest.push(serde_json::json!({"Config": name, "RepoTags": [tag], "Layers": [format!("{id}/layer.tar")]}));
    }
    append(
        &mut builder,
        "manifest.json",
        Value::from(manifest).to_string().as_bytes(),
    );
    builder.finish().unwrap();
    (dir, path)
}

fn append(builder: &mut tar::Builder<std::fs::File>, name: &str, bytes: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, name, bytes).unwrap();
}

#[test]
fn legacy_docker_save_tar_with_two_images_needs_ref() {
    let httpd = fixture("image-config-httpd-amd64-docker.json");
    let arm = fixture("image-config-hello-world-arm64-no-variant.json");
    let (_dir, tar) = legacy_tar(&[("httpd:2.4.23", &httpd), ("hello-world:arm64", &arm)]);
    let tar = tar.to_str().unwrap();

    let r = inspect(&[tar]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("httpd:2.4.23") && r.stderr.contains("hello-world:arm64"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--ref"), "{}", r.stderr);

    let r = inspect(&[tar, "--ref", "httpd:2.4.23", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["platforms"], serde_json::json!(["linux/amd64"]));
    assert_eq!(r.json()["digest"], Digest::of(&httpd).as_str());

    let r = inspect(&[tar, "--ref", "hello-world:arm64", "--format", "json"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["missing"], serde_json::json!(["linux/amd64"]));

    let r = inspect(&[tar, "--ref", "nginx:latest"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no image named"), "{}", r.stderr);
}

#[test]
fn two_images_in_a_layout_without_ref_is_an_error_naming_both() {
    let (mut l, _) = arm64_layout(&["docker.io/library/hello-world:arm64", "arm64"]);
    l.blob(&fixture(
        "image-config-hello-world-amd64-oci-dockerhub.json",
    ));
    let amd = l.image(
        OCI_MANIFEST,
        &fixture("oci-manifest-hello-world-amd64-dockerhub.json"),
        &["docker.io/library/hello-world:amd64", "amd64"],
    );
    let root = l.root().to_str().unwrap();
    let r = inspect(&[root]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("hello-world:arm64") && r.stderr.contains("hello-world:amd64"),
        "{}",
        r.stderr
    );
    let r = inspect(&[root, "--ref", "hello-world:amd64", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["digest"], amd.as_str());
    let r = inspect(&[root, "--ref", amd.as_str(), "--format", "json"]);
    assert_eq!(r.code, 0, "by digest: {}", r.stderr);
}

#[test]
fn tampered_blob_is_exit_2() {
    let (l, _) = arm64_layout(&["x:latest"]);
    let config = Digest::of(&fixture("image-config-hello-world-arm64-no-variant.json"));
    let path = l.root().join("blobs/sha256").join(config.hex());
    let tampered = String::from_utf8(std::fs::read(&path).unwrap())
        .unwrap()
        .replace("arm64", "amd64");
    std::fs::write(&path, tampered).unwrap();
    let r = inspect(&[l.root().to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("digest mismatch"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn missing_blob_is_exit_2() {
    let (l, _) = arm64_layout(&["x:latest"]);
    let config = Digest::of(&fixture("image-config-hello-world-arm64-no-variant.json"));
    std::fs::remove_file(l.root().join("blobs/sha256").join(config.hex())).unwrap();
    let r = inspect(&[l.root().to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("not found") && r.stderr.contains(config.as_str()),
        "{}",
        r.stderr
    );
}

#[test]
fn malformed_json_is_exit_2() {
    let l = Layout::new();
    std::fs::write(l.root().join("index.json"), b"{\"manifests\": [").unwrap();
    let r = inspect(&[l.root().to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("index.json"), "{}", r.stderr);

    let mut l = Layout::new();
    l.image(OCI_MANIFEST, b"{not json", &["x:y"]);
    let r = inspect(&[l.root().to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("malformed"), "{}", r.stderr);
}

#[test]
fn bad_path_bad_platform_and_gzip_are_exit_2() {
    let r = inspect(&["/nonexistent/layout"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("error:"), "{}", r.stderr);

    let r = inspect(&[&examples("arm64-only"), "--require", "arm64"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("os/arch"), "{}", r.stderr);

    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("image.tar.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
    let r = inspect(&[gz.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("gzip"), "{}", r.stderr);

    let empty = tempfile::tempdir().unwrap();
    let r = inspect(&[empty.path().to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not an OCI image layout"), "{}", r.stderr);
}

#[test]
fn artifact_is_not_an_image_with_exit_0() {
    let mut l = Layout::new();
    l.image(
        OCI_MANIFEST,
        &fixture("oci-artifact-manifest-sbom-with-subject-regclient.json"),
        &["sbom:1"],
    );
    let r = inspect(&[l.root().to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["verdict"], "not-an-image");
    assert_eq!(r.json()["platforms"], serde_json::json!([]));
}

#[test]
fn nested_index_layout_resolves() {
    let l = Layout::new();
    l.blob(&fixture("oci-index-busybox-amd64-single-platform.json"));
    std::fs::write(
        l.root().join("index.json"),
        fixture("oci-layout-index-nested-index.json"),
    )
    .unwrap();
    let r = inspect(&[l.root().to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["platforms"], serde_json::json!(["linux/amd64"]));
}

/// The deep check, on by default: an image labelled linux/arm64 whose entrypoint is an x86-64
/// ELF is MISLABELLED (exit 1), says what it really runs on, which file, and the fix; required
/// linux/amd64 it still serves (its binary is amd64), required linux/arm64 it does not.
/// `--no-deep` judges the label alone.
#[test]
fn the_deep_check_finds_a_binary_of_another_architecture_than_the_label() {
    use common::image_layout::{elf, gzip, layout, tar_of, E, GZ};
    let l = layout(
        "linux/arm64",
        serde_json::json!({"Entrypoint": ["/app/server"]}),
        &[(
            gzip(&tar_of(&[E::File(
                "app/server",
                elf("busybox-static-amd64"),
            )])),
            GZ,
        )],
    );
    let path = l.path().display().to_string();
    let r = inspect(&[&path, "--require", "linux/arm64"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    for says in [
        "Platforms: linux/arm64",
        "Runs on:   linux/amd64 (its executables, not its label)",
        "Verdict:   MISLABELLED: its executables do not run on linux/arm64",
        "/app/server (ENTRYPOINT, image labelled linux/arm64): ELF 64-bit LSB x86-64, statically linked: runs on linux/amd64",
        "rebuild it for linux/arm64",
    ] {
        assert!(r.stdout.contains(says), "{says:?} not in:\n{}", r.stdout);
    }
    let j = inspect(&[&path, "--require", "linux/amd64", "--format", "json"]).json();
    assert_eq!(j["verdict"], "mislabelled");
    assert_eq!(j["runs_on"], serde_json::json!(["linux/amd64"]));
    assert_eq!(j["missing"], serde_json::json!([]));
    assert_eq!(j["deep"][0]["executables"][0]["path"], "/app/server");
    let plain = inspect(&[
        &path,
        "--require",
        "linux/arm64",
        "--no-deep",
        "--format",
        "json",
    ]);
    assert_eq!(plain.code, 0);
    assert_eq!(plain.json()["verdict"], "fits");
    assert!(plain.json().get("deep").is_none());
}
