//! What a registry returns for a digest, parsed leniently into one [`Manifest`] enum.
//!
//! Registry input is decoded with small serde structs (unknown fields ignored, optional
//! `platform`, `os.version` kept) rather than `oci-spec`, which rejects whole indexes for one
//! odd entry and drops `os.version` (see `design/style.md`).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::image::digest::Digest;
use crate::image::media_type::{self, MediaType};
use crate::util::error::Error;

/// A content descriptor: an index entry, a config or layer reference.
#[derive(Clone, Debug, Deserialize)]
pub struct Descriptor {
    #[serde(default, rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: Option<i64>,
    #[serde(default)]
    pub platform: Option<DescriptorPlatform>,
    #[serde(default, rename = "artifactType")]
    pub artifact_type: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub annotations: BTreeMap<String, String>,
}

/// The `platform` of an index entry, as written (not yet normalised).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct DescriptorPlatform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default, rename = "os.version")]
    pub os_version: Option<String>,
}

/// An OCI image index or Docker manifest list.
#[derive(Clone, Debug, Deserialize)]
pub struct Index {
    #[serde(default, rename = "mediaType")]
    pub media_type: Option<String>,
    /// `null` (Docker 25 `docker save`) and absent both mean "no entries".
    #[serde(default, deserialize_with = "null_as_default")]
    pub manifests: Vec<Descriptor>,
    #[serde(default, rename = "artifactType")]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub subject: Option<Descriptor>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image manifest or Docker schema2 manifest.
#[derive(Clone, Debug, Deserialize)]
pub struct ImageManifest {
    #[serde(default, rename = "mediaType")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default, deserialize_with = "null_as_default")]
    pub layers: Vec<Descriptor>,
    #[serde(default, rename = "artifactType")]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub subject: Option<Descriptor>,
}

/// Docker schema1 (signed or not): the platform is in the manifest itself.
#[derive(Clone, Debug, Deserialize)]
pub struct Schema1 {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
}

/// Any document a registry returns for a manifest digest.
#[derive(Clone, Debug)]
pub enum Manifest {
    /// OCI index or Docker manifest list (`media_type` says which).
    Index { media_type: MediaType, index: Index },
    /// OCI manifest or Docker schema2.
    Image {
        media_type: MediaType,
        manifest: ImageManifest,
    },
    /// Docker schema1.
    Schema1 {
        media_type: MediaType,
        manifest: Schema1,
    },
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default, rename = "schemaVersion")]
    schema_version: Option<i64>,
    #[serde(default, rename = "mediaType")]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    #[serde(default)]
    config: Option<serde_json::Value>,
}

impl Manifest {
    /// Parses manifest bytes. The document's own `mediaType` wins; otherwise `hint` (the media
    /// type the registry or layout reported); otherwise the shape decides (OCI allows the field
    /// to be absent).
    pub fn parse(bytes: &[u8], hint: Option<&str>) -> Result<Manifest, Error> {
        let probe: Probe = serde_json::from_slice(bytes)
            .map_err(|e| Error::Malformed(format!("manifest is not a JSON object: {e}")))?;
        let hint = hint
            .map(|h| h.split(';').next().unwrap_or(h).trim())
            .filter(|h| !h.is_empty());
        let declared = probe.media_type.clone().filter(|m| !m.is_empty());
        let mt = match (declared, hint) {
            (Some(m), _) => m,
            (None, Some(h)) if h != media_type::OCTET_STREAM => h.to_string(),
            _ => {
                if probe.schema_version == Some(1) {
                    media_type::DOCKER_V1.to_string()
                } else if probe.manifests.is_some() {
                    media_type::OCI_INDEX.to_string()
                } else if probe.config.is_some() {
                    media_type::OCI_MANIFEST.to_string()
                } else {
                    return Err(Error::Malformed(
                        "document has no mediaType, manifests or config: not a manifest".into(),
                    ));
                }
            }
        };
        let malformed =
            |what: &str, e: serde_json::Error| Error::Malformed(format!("{what} ({mt}): {e}"));
        match mt.as_str() {
            media_type::OCI_INDEX | media_type::DOCKER_LIST => {
                let index: Index =
                    serde_json::from_slice(bytes).map_err(|e| malformed("bad index", e))?;
                Ok(Manifest::Index {
                    media_type: mt.into(),
                    index,
                })
            }
            media_type::OCI_MANIFEST | media_type::DOCKER_V2 => {
                let manifest: ImageManifest = serde_json::from_slice(bytes)
                    .map_err(|e| malformed("bad image manifest", e))?;
                Ok(Manifest::Image {
                    media_type: mt.into(),
                    manifest,
                })
            }
            media_type::DOCKER_V1 | media_type::DOCKER_V1_SIGNED => {
                let manifest: Schema1 = serde_json::from_slice(bytes)
                    .map_err(|e| malformed("bad schema1 manifest", e))?;
                Ok(Manifest::Schema1 {
                    media_type: mt.into(),
                    manifest,
                })
            }
            other => Err(Error::UnsupportedMediaType(other.to_string())),
        }
    }

    pub fn media_type(&self) -> &MediaType {
        match self {
            Manifest::Index { media_type, .. }
            | Manifest::Image { media_type, .. }
            | Manifest::Schema1 { media_type, .. } => media_type,
        }
    }
}

impl Descriptor {
    /// The entry's digest, validated.
    pub fn digest(&self) -> Result<Digest, Error> {
        Digest::parse(&self.digest)
    }

    /// `vnd.docker.reference.type` (BuildKit: `attestation-manifest`, regclient: `builder`).
    pub fn reference_type(&self) -> Option<&str> {
        self.annotations
            .get("vnd.docker.reference.type")
            .map(String::as_str)
    }
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_decides_when_media_type_is_absent() {
        let idx = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(
            Manifest::parse(idx, None).unwrap(),
            Manifest::Index { .. }
        ));
        let man = br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:0","size":1},"layers":[]}"#;
        assert!(matches!(
            Manifest::parse(man, None).unwrap(),
            Manifest::Image { .. }
        ));
        let s1 = br#"{"schemaVersion":1,"architecture":"amd64"}"#;
        assert!(matches!(
            Manifest::parse(s1, None).unwrap(),
            Manifest::Schema1 { .. }
        ));
    }

    #[test]
    fn null_manifests_is_an_empty_index() {
        let idx = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":null}"#;
        match Manifest::parse(idx, None).unwrap() {
            Manifest::Index { index, .. } => assert!(index.manifests.is_empty()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn clear_errors_for_garbage() {
        assert!(matches!(
            Manifest::parse(b"not json", None),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            Manifest::parse(b"[]", None),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            Manifest::parse(b"{}", None),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            Manifest::parse(
                br#"{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip"}"#,
                None
            ),
            Err(Error::UnsupportedMediaType(_))
        ));
        // An index whose entries lack a digest is malformed, not a panic.
        assert!(matches!(
            Manifest::parse(
                br#"{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}"#,
                None
            ),
            Err(Error::Malformed(_))
        ));
    }
}

/// The signed payload of a JWS-signed schema1 manifest, which is what its digest covers
/// (libtrust: the bytes up to `formatLength`, then the decoded `formatTail`). `None` when the
/// document is not a signed schema1 manifest.
pub fn schema1_signed_payload(bytes: &[u8]) -> Option<Vec<u8>> {
    #[derive(Deserialize)]
    struct Signed {
        signatures: Vec<Signature>,
    }
    #[derive(Deserialize)]
    struct Signature {
        protected: String,
    }
    #[derive(Deserialize)]
    struct Protected {
        #[serde(rename = "formatLength")]
        format_length: usize,
        #[serde(rename = "formatTail")]
        format_tail: String,
    }
    let signed: Signed = serde_json::from_slice(bytes).ok()?;
    let first = signed.signatures.first()?;
    let protected: Protected = serde_json::from_slice(&base64url_decode(&first.protected)?).ok()?;
    let mut payload = bytes.get(..protected.format_length)?.to_vec();
    payload.extend(base64url_decode(&protected.format_tail)?);
    Some(payload)
}

/// Unpadded base64url (RFC 4648 §5), as JWS uses.
fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Checks a manifest's bytes against its digest. Signed schema1 manifests are digested over
/// their signed payload, so that is accepted too.
pub fn verify_manifest(digest: &Digest, bytes: &[u8]) -> Result<(), Error> {
    match digest.verify(bytes) {
        Ok(()) => Ok(()),
        Err(e) => match schema1_signed_payload(bytes) {
            Some(payload) if digest.verify(&payload).is_ok() => Ok(()),
            _ => Err(e),
        },
    }
}

#[cfg(test)]
mod schema1_tests {
    use super::*;

    #[test]
    fn base64url_round_trip_of_known_values() {
        assert_eq!(base64url_decode("Cn0").unwrap(), b"\n}");
        assert_eq!(base64url_decode("aGVsbG8").unwrap(), b"hello");
        assert!(base64url_decode("a+b").is_none());
    }
}
