//! What the fake ECR (`fake_ecr.rs`) holds: a fleet of repositories of multi-platform and
//! single-platform images, built in memory with their manifests and config blobs.

use std::collections::HashMap;

use ecr_arch_guard::image::digest::Digest;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// What the fake registry holds, per repository: `indexes` multi-platform images (an index
/// tagged `v{i}` with an amd64 and an arm64 child and a BuildKit attestation manifest, all
/// three untagged and listed, as ECR lists them) and `singles` single-platform images tagged
/// `s{i}`, two of them per config (the same build as a Docker and as an OCI manifest), every
/// fifth config arm64.
#[derive(Clone, Copy, Debug)]
pub struct Fleet {
    pub repositories: usize,
    pub indexes: usize,
    pub singles: usize,
}

impl Fleet {
    /// Images DescribeImages lists (children and attestations included).
    pub fn listed(&self) -> usize {
        self.repositories * (self.indexes * 4 + self.singles)
    }

    /// Images the scan judges (indexes and singles; children go with their index).
    pub fn judged(&self) -> usize {
        self.repositories * (self.indexes + self.singles)
    }

    /// Distinct config blobs the singles refer to.
    pub fn single_configs(&self) -> usize {
        self.repositories * self.singles.div_ceil(2)
    }
}

pub(super) struct Image {
    pub digest: String,
    pub media_type: &'static str,
    pub tags: Vec<String>,
    pub manifest: String,
}

pub(super) struct Store {
    pub repositories: Vec<(String, Vec<Image>)>,
    pub blobs: HashMap<String, Vec<u8>>,
}

fn config(repo: &str, n: usize, arch: &str) -> Vec<u8> {
    format!(
        r#"{{"architecture":"{arch}","os":"linux","config":{{"Env":["PATH=/usr/bin"]}},"rootfs":{{"type":"layers","diff_ids":[]}},"history":[{{"created_by":"{repo} build {n}"}}]}}"#
    )
    .into_bytes()
}

fn manifest(media_type: &str, config_type: &str, config: &[u8]) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{media_type}","config":{{"mediaType":"{config_type}","digest":"{}","size":{}}},"layers":[]}}"#,
        Digest::of(config),
        config.len()
    )
}

impl Store {
    pub fn build(fleet: Fleet) -> Store {
        let mut blobs = HashMap::new();
        let mut keep = |bytes: Vec<u8>| {
            blobs.insert(Digest::of(&bytes).to_string(), bytes.clone());
            bytes
        };
        let mut repositories = Vec::new();
        for r in 0..fleet.repositories {
            let name = format!("team-{:02}/service-{r:02}", r % 7);
            let mut images = Vec::new();
            let image = |media_type, tags: Vec<String>, manifest: String| Image {
                digest: Digest::of(manifest.as_bytes()).to_string(),
                media_type,
                tags,
                manifest,
            };
            for i in 0..fleet.indexes {
                let mut entries = Vec::new();
                for arch in ["amd64", "arm64"] {
                    let c = keep(config(&name, 10_000 + i, arch));
                    let m = manifest(OCI_MANIFEST, OCI_CONFIG, &c);
                    entries.push(format!(
                        r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{},"platform":{{"architecture":"{arch}","os":"linux"}}}}"#,
                        Digest::of(m.as_bytes()),
                        m.len()
                    ));
                    images.push(image(OCI_MANIFEST, vec![], m));
                }
                let a = keep(format!(r#"{{"attestation":{i}}}"#).into_bytes());
                let att = format!(
                    r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[]}}"#,
                    Digest::of(&a),
                    a.len()
                );
                entries.push(format!(
                    r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{},"annotations":{{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"sha256:0"}},"platform":{{"architecture":"unknown","os":"unknown"}}}}"#,
                    Digest::of(att.as_bytes()),
                    att.len()
                ));
                images.push(image(OCI_MANIFEST, vec![], att));
                let index = format!(
                    r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{}]}}"#,
                    entries.join(",")
                );
                images.push(image(OCI_INDEX, vec![format!("v{i}")], index));
            }
            for i in 0..fleet.singles {
                let n = i / 2;
                let arch = if n % 5 == 4 { "arm64" } else { "amd64" };
                let c = keep(config(&name, n, arch));
                let (mt, ct) = if i % 2 == 0 {
                    (DOCKER_MANIFEST, DOCKER_CONFIG)
                } else {
                    (OCI_MANIFEST, OCI_CONFIG)
                };
                images.push(image(mt, vec![format!("s{i}")], manifest(mt, ct, &c)));
            }
            repositories.push((name, images));
        }
        Store {
            repositories,
            blobs,
        }
    }
}
