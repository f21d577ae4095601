//! `REPO[:TAG|@DIGEST]` or `ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO[:TAG|@DIGEST]`.

use crate::consumer::ImageRef;
use crate::digest::Digest;
use crate::error::Error;
use crate::marker;

/// An image named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub account: Option<String>,
    pub region: Option<String>,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl Reference {
    pub fn parse(s: &str) -> Result<Reference, Error> {
        let s = s.trim();
        let bad = |why: &str| {
            Error::Usage(format!(
                "{s:?} is not an image reference ({why}); use REPOSITORY[:TAG|@sha256:DIGEST] or \
                 ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY[:TAG]"
            ))
        };
        let first = s.split('/').next().unwrap_or_default();
        let is_host = s.contains('/') && (first.contains('.') || first.contains(':'));
        let (account, region, rest) = if is_host {
            let r = ImageRef::parse_ecr(s)
                .ok_or_else(|| bad("only Amazon ECR private registries can be checked"))?;
            let rest = s.split_once('/').map(|(_, r)| r).unwrap_or_default();
            (Some(r.account), Some(r.region), rest)
        } else {
            (None, None, s)
        };
        let (name_tag, digest) = match rest.split_once('@') {
            Some((n, d)) => (
                n,
                Some(Digest::parse(d).map_err(|_| bad("invalid digest"))?),
            ),
            None => (rest, None),
        };
        let slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name_tag[slash..].rfind(':') {
            Some(i) => (&name_tag[..slash + i], Some(&name_tag[slash + i + 1..])),
            None => (name_tag, None),
        };
        if !valid_repository(repository) {
            return Err(bad("invalid repository name"));
        }
        if let Some(t) = tag {
            if !marker::is_valid_tag(t) {
                return Err(bad("invalid tag"));
            }
        }
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_string()),
            (t, _) => t.map(str::to_string),
        };
        Ok(Reference {
            account,
            region,
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// `repo:tag`, `repo@sha256:…`.
    pub fn display(&self) -> String {
        match (&self.tag, &self.digest) {
            (_, Some(d)) => format!("{}@{d}", self.repository),
            (Some(t), None) => format!("{}:{t}", self.repository),
            (None, None) => self.repository.clone(),
        }
    }
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

    #[test]
    fn references_parse() {
        let r = Reference::parse("team/web:1.2").unwrap();
        assert_eq!(
            (r.repository.as_str(), r.tag.as_deref()),
            ("team/web", Some("1.2"))
        );
        assert_eq!(
            Reference::parse("web").unwrap().tag.as_deref(),
            Some("latest")
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("web@{d}")).unwrap();
        assert_eq!((r.tag, r.digest.unwrap().to_string()), (None, d));
        let r =
            Reference::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:v1").unwrap();
        assert_eq!(r.account.as_deref(), Some("123456789012"));
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(r.repository, "team/web");
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
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }
}
