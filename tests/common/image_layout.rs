//! Image layouts written by tests: layers of files, symlinks and directories (tar, gzip),
//! an OCI layout directory with one image of a given label and run config, and the first
//! bytes of Debian's binaries (`tests/fixtures/elf`) to put in them.
#![allow(dead_code)]

use std::io::Write;

use ecr_arch_guard::image::digest::Digest;
use serde_json::json;

pub fn elf(name: &str) -> Vec<u8> {
    super::fixtures::fixture(&format!("elf/{name}.head"))
}

/// One entry of a layer.
pub enum E {
    File(&'static str, Vec<u8>),
    Link(&'static str, &'static str),
    Dir(&'static str),
}

pub fn tar_of(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o755);
        match e {
            E::File(p, data) => {
                h.set_size(data.len() as u64);
                h.set_entry_type(tar::EntryType::Regular);
                b.append_data(&mut h, p, &data[..]).unwrap();
            }
            E::Link(p, target) => {
                h.set_size(0);
                h.set_entry_type(tar::EntryType::Symlink);
                b.append_link(&mut h, p, target).unwrap();
            }
            E::Dir(p) => {
                h.set_size(0);
                h.set_entry_type(tar::EntryType::Directory);
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// An OCI layout in a temporary directory: one image, `label` in its config, `run` as its
/// `config`, `layers` (bottom first, already encoded) with their media types.
pub fn layout(
    label: &str,
    run: serde_json::Value,
    layers: &[(Vec<u8>, &str)],
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let blobs = dir.path().join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = Digest::of(bytes);
        std::fs::write(blobs.join(d.hex()), bytes).unwrap();
        d
    };
    let (os, arch) = label.split_once('/').unwrap();
    let config = json!({"architecture": arch, "os": os, "config": run,
        "rootfs": {"type": "layers", "diff_ids": []}});
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let config_digest = put(&config_bytes);
    let layer_descs: Vec<serde_json::Value> = layers
        .iter()
        .map(|(bytes, mt)| json!({"mediaType": mt, "digest": put(bytes).to_string(), "size": bytes.len()}))
        .collect();
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest.to_string(), "size": config_bytes.len()},
        "layers": layer_descs});
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    let manifest_digest = put(&manifest_bytes);
    std::fs::write(
        dir.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let index = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": manifest_digest.to_string(), "size": manifest_bytes.len(),
        "annotations": {"org.opencontainers.image.ref.name": "app:latest"}}]});
    std::fs::write(
        dir.path().join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    dir
}

pub const GZ: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
