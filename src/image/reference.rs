//! One image identity: where an image lives (a [`RegistryId`], an ECR private registry being an
//! account in a region, and a [`Repository`] in it) and how it is named (tag, digest), with its
//! manifest media type when known. The push event, the CLI's reference parser and the
//! consumers' image URIs all produce an [`Image`].

use std::fmt;

use crate::image::digest::Digest;
use crate::image::marker;
use crate::image::media_type::MediaType;
use crate::util::error::Error;

/// The address of an ECR private registry: an account in a region. `None`: the caller's own (the account of
/// the credentials, the configured region).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistryId {
    pub account: Option<String>,
    pub region: Option<String>,
}

impl RegistryId {
    pub fn new(account: Option<&str>, region: Option<&str>) -> RegistryId {
        RegistryId {
            account: account.map(str::to_string),
            region: region.map(str::to_string),
        }
    }

    /// `123456789012.dkr.ecr.us-east-1.amazonaws.com` (`.com.cn` in China), when both are known.
    pub fn host(&self) -> Option<String> {
        let (a, r) = (self.account.as_ref()?, self.region.as_ref()?);
        let suffix = if r.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        Some(format!("{a}.dkr.ecr.{r}.{suffix}"))
    }
}

/// A repository of a registry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Repository {
    pub registry: RegistryId,
    pub name: String,
}

impl Repository {
    pub fn new(registry: RegistryId, name: impl Into<String>) -> Repository {
        Repository {
            registry,
            name: name.into(),
        }
    }

    /// `123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web`, or the bare name when the
    /// registry is not known.
    pub fn uri(&self) -> String {
        match self.registry.host() {
            Some(h) => format!("{h}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// An image of a repository, named by tag and/or digest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Image {
    pub repository: Repository,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
    /// The manifest's media type, when the source says it.
    pub media_type: Option<MediaType>,
}

impl Image {
    /// What a consumer pulls: `…/repo:tag`, or `…/repo@sha256:…` when there is no tag.
    pub fn uri(&self) -> String {
        let repo = self.repository.uri();
        match (&self.tag, &self.digest) {
            (Some(t), _) => format!("{repo}:{t}"),
            (None, Some(d)) => format!("{repo}@{d}"),
            (None, None) => repo,
        }
    }

    /// `sha256:` and the first 12 hex characters, as `docker images` shows digests.
    pub fn short_digest(&self) -> Option<String> {
        self.digest
            .as_ref()
            .map(|d| format!("sha256:{}", d.short()))
    }

    /// `repo:tag`, or `repo@sha256:0123456789ab` when there is no tag.
    pub fn short(&self) -> String {
        let name = &self.repository.name;
        match (&self.tag, self.short_digest()) {
            (Some(t), _) => format!("{name}:{t}"),
            (None, Some(d)) => format!("{name}@{d}"),
            (None, None) => name.clone(),
        }
    }

    /// An image URI as a service names it:
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPO[:TAG][@DIGEST]`. `None` for anything
    /// that is not in an ECR private registry (Docker Hub, ECR Public, other registries: such a
    /// consumer cannot run our repository) or names an invalid digest. Neither tag nor digest
    /// means `latest`, as Docker resolves it.
    pub fn parse_ecr_uri(uri: &str) -> Option<Image> {
        let (host, rest) = uri.trim().split_once('/')?;
        let mut labels = host.split('.');
        let account = labels.next()?;
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if labels.next()? != "dkr" {
            return None;
        }
        let ecr = labels.next()?;
        if ecr != "ecr" && ecr != "ecr-fips" {
            return None;
        }
        let region = labels.next()?;
        let domain: Vec<&str> = labels.collect();
        if region.is_empty()
            || !matches!(
                domain.as_slice(),
                ["amazonaws", "com"] | ["amazonaws", "com", "cn"]
            )
        {
            return None;
        }
        let (name, tag, digest) = split_name_tag_digest(rest)?;
        if name.is_empty() {
            return None;
        }
        Some(Image {
            repository: Repository::new(RegistryId::new(Some(account), Some(region)), name),
            tag: default_tag(tag, &digest),
            digest,
            media_type: None,
        })
    }

    /// An image named on the command line: `REPO[:TAG|@DIGEST]` in the caller's own registry,
    /// or a full ECR image URI (which selects the account and region). Names are checked as
    /// ECR checks them.
    pub fn parse_reference(s: &str) -> Result<Image, Error> {
        let s = s.trim();
        let bad = |why: &str| {
            Error::Usage(format!(
                "{s:?} is not an image reference ({why}); use REPOSITORY[:TAG|@sha256:DIGEST] or \
                 ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY[:TAG]"
            ))
        };
        let first = s.split('/').next().unwrap_or_default();
        let is_host = s.contains('/') && (first.contains('.') || first.contains(':'));
        let (registry, rest) = if is_host {
            let image = Image::parse_ecr_uri(s)
                .ok_or_else(|| bad("only Amazon ECR private registries can be checked"))?;
            let rest = s.split_once('/').map(|(_, r)| r).unwrap_or_default();
            (image.repository.registry, rest)
        } else {
            (RegistryId::default(), s)
        };
        let (name_tag, digest) = match rest.split_once('@') {
            Some((n, d)) => (
                n,
                Some(Digest::parse(d).map_err(|_| bad("invalid digest"))?),
            ),
            None => (rest, None),
        };
        let (name, tag) = split_tag(name_tag);
        if !valid_repository(name) {
            return Err(bad("invalid repository name"));
        }
        if tag.is_some_and(|t| !marker::is_valid_tag(t)) {
            return Err(bad("invalid tag"));
        }
        Ok(Image {
            repository: Repository::new(registry, name),
            tag: default_tag(tag, &digest),
            digest,
            media_type: None,
        })
    }
}

impl fmt::Display for Image {
    /// `repo:tag`, `repo@sha256:…` (the full digest), as the CLI names what it checked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.repository.name;
        match (&self.tag, &self.digest) {
            (_, Some(d)) => write!(f, "{name}@{d}"),
            (Some(t), None) => write!(f, "{name}:{t}"),
            (None, None) => f.write_str(name),
        }
    }
}

/// `latest` when neither a tag nor a digest is given, as Docker resolves it.
fn default_tag(tag: Option<&str>, digest: &Option<Digest>) -> Option<String> {
    match (tag, digest) {
        (None, None) => Some("latest".to_string()),
        (t, _) => t.map(str::to_string),
    }
}

/// `name:tag` → (name, tag): a tag follows the last `:` after the last `/`.
fn split_tag(name_tag: &str) -> (&str, Option<&str>) {
    let slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    match name_tag[slash..].rfind(':') {
        Some(i) => (&name_tag[..slash + i], Some(&name_tag[slash + i + 1..])),
        None => (name_tag, None),
    }
}

/// `name[:tag][@digest]`; `None` when a digest is given and invalid.
fn split_name_tag_digest(rest: &str) -> Option<(&str, Option<&str>, Option<Digest>)> {
    let (name_tag, digest) = match rest.split_once('@') {
        Some((n, d)) => (n, Some(Digest::parse(d).ok()?)),
        None => (rest, None),
    };
    let (name, tag) = split_tag(name_tag);
    Some((name, tag, digest))
}

/// ECR repository names: 2–256 characters, lower-case components separated by `/`, each
/// `[a-z0-9]+([._-][a-z0-9]+)*`.
fn valid_repository(name: &str) -> bool {
    (2..=256).contains(&name.len())
        && name.split('/').all(|part| {
            !part.is_empty()
                && part.split(['.', '_', '-']).all(|w| {
                    !w.is_empty()
                        && w.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn ecr_uris_parse_and_others_do_not() {
        let i = Image::parse_ecr_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web:1.2")
            .unwrap();
        assert_eq!(
            i.repository.registry,
            RegistryId::new(Some(ACCOUNT), Some("us-east-1"))
        );
        assert_eq!(i.repository.name, "team/web");
        assert_eq!(i.tag.as_deref(), Some("1.2"));
        let d = digest('a');
        let i = Image::parse_ecr_uri(&format!(
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web@{d}"
        ))
        .unwrap();
        assert_eq!((i.tag, i.digest.unwrap().to_string()), (None, d.clone()));
        let i = Image::parse_ecr_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/web").unwrap();
        assert_eq!(i.tag.as_deref(), Some("latest"));
        let i = Image::parse_ecr_uri(&format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1@{d}"
        ))
        .unwrap();
        assert_eq!(i.tag.as_deref(), Some("v1"));
        assert!(i.digest.is_some());
        for other in [
            "grafana/grafana:latest",
            "public.ecr.aws/nginx/nginx:1",
            "ghcr.io/x/y:1",
            "12345.dkr.ecr.us-east-1.amazonaws.com/web:1",
            "123456789012.dkr.ecr.us-east-1.example.com/web:1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:ab",
            "",
        ] {
            assert_eq!(Image::parse_ecr_uri(other), None, "{other}");
        }
    }

    #[test]
    fn references_parse() {
        let r = Image::parse_reference("team/web:1.2").unwrap();
        assert_eq!(
            (r.repository.name.as_str(), r.tag.as_deref()),
            ("team/web", Some("1.2"))
        );
        assert_eq!(r.repository.registry, RegistryId::default());
        assert_eq!(
            Image::parse_reference("web").unwrap().tag.as_deref(),
            Some("latest")
        );
        let d = digest('a');
        let r = Image::parse_reference(&format!("web@{d}")).unwrap();
        assert_eq!(
            (r.tag.clone(), r.digest.clone().unwrap().to_string()),
            (None, d.clone())
        );
        assert_eq!(r.to_string(), format!("web@{d}"));
        let r = Image::parse_reference("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:v1")
            .unwrap();
        assert_eq!(
            r.repository.registry,
            RegistryId::new(Some(ACCOUNT), Some("eu-west-1"))
        );
        assert_eq!(r.repository.name, "team/web");
        for bad in [
            "",
            "Web:1",
            "web:",
            "web@sha256:zz",
            "docker.io/library/nginx:1",
            "ghcr.io/x/y",
            "web:bad tag",
            "a//b",
        ] {
            assert!(Image::parse_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uris_name_the_registry_and_short_names_cut_the_digest() {
        let mut i = Image {
            repository: Repository::new(
                RegistryId::new(Some(ACCOUNT), Some("eu-west-1")),
                "grafana",
            ),
            tag: Some("latest".into()),
            digest: Some(Digest::parse(&digest('b')).unwrap()),
            media_type: None,
        };
        assert_eq!(
            i.uri(),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/grafana:latest"
        );
        assert_eq!(i.short(), "grafana:latest");
        i.tag = None;
        assert_eq!(
            i.uri(),
            format!(
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/grafana@{}",
                digest('b')
            )
        );
        assert_eq!(i.short(), "grafana@sha256:bbbbbbbbbbbb");
        assert_eq!(
            Repository::new(RegistryId::new(Some(ACCOUNT), Some("cn-north-1")), "x").uri(),
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/x"
        );
        assert_eq!(Repository::new(RegistryId::default(), "x").uri(), "x");
    }
}
