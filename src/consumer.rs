//! Consumers: the services that run an image (ECS, App Runner, Lambda, Batch), the image
//! reference each one names, and whether it will run a given image.
//!
//! Pure: the AWS adapters (`aws::ecs`, `aws::apprunner`, `aws::lambda`, `aws::batch`) translate
//! their API's shapes into [`Consumer`]; everything else happens here.

use std::fmt;

use serde::Serialize;

use crate::platform::Platform;

/// The kind of service that runs the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsumerKind {
    EcsService,
    EcsTaskDefinition,
    AppRunnerService,
    LambdaFunction,
    BatchJobDefinition,
}

impl fmt::Display for ConsumerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConsumerKind::EcsService => "ECS service",
            ConsumerKind::EcsTaskDefinition => "ECS task definition",
            ConsumerKind::AppRunnerService => "App Runner service",
            ConsumerKind::LambdaFunction => "Lambda function",
            ConsumerKind::BatchJobDefinition => "Batch job definition",
        })
    }
}

/// A service that runs an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consumer {
    pub kind: ConsumerKind,
    /// Human name, e.g. `prod/web` (cluster/service) or `web:12` (task definition revision).
    pub name: String,
    pub arn: String,
    /// The image reference exactly as the service names it.
    pub image: String,
    /// What the image must run on.
    pub platform: Platform,
    /// The architecture in the service's own words (`X86_64`, `arm64`), for the alert.
    pub architecture_label: String,
    /// e.g. `Fargate`, `EC2`, or why the architecture is assumed.
    pub detail: Option<String>,
}

/// A consumer as the verdict reports it: who, on what, and whether it will fail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumerReport {
    pub kind: ConsumerKind,
    pub name: String,
    pub arn: String,
    pub image: String,
    pub platform: Platform,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// No platform of the image runs on this consumer: `exec format error`.
    pub will_fail: bool,
}

impl ConsumerReport {
    /// `ECS service prod/web (X86_64): will fail with exec format error`.
    pub fn line(&self) -> String {
        let outcome = if self.will_fail {
            "will fail with exec format error"
        } else {
            "runs"
        };
        let detail = self
            .detail
            .as_deref()
            .map(|d| format!(", {d}"))
            .unwrap_or_default();
        format!(
            "{} {} ({}{detail}): {outcome}",
            self.kind, self.name, self.architecture
        )
    }
}

/// What the detail says when `runtimePlatform.cpuArchitecture` is unset.
pub const ARCHITECTURE_ASSUMED: &str = "cpuArchitecture unset, X86_64 assumed";

/// The platform an ECS task definition's or Batch job definition's `runtimePlatform` asks for
/// (`operatingSystemFamily`, `cpuArchitecture`), with the architecture in the service's own
/// words and whether it was assumed: unset means X86_64 on Linux, as both services assume;
/// any `WINDOWS_*` family is windows.
pub fn runtime_platform(os_family: Option<&str>, cpu: Option<&str>) -> (Platform, String, bool) {
    let arm = cpu.is_some_and(|a| a.eq_ignore_ascii_case("ARM64"));
    let windows = os_family.is_some_and(|f| f.to_ascii_uppercase().starts_with("WINDOWS"));
    let platform = Platform::from_parts(
        if windows { "windows" } else { "linux" },
        if arm { "arm64" } else { "amd64" },
        None,
    )
    .expect("constant platform");
    let label = cpu.map_or_else(|| "X86_64".to_string(), str::to_ascii_uppercase);
    (platform, label, cpu.is_none())
}

/// Reports each consumer against the image's platforms.
pub fn reports(consumers: &[Consumer], image_platforms: &[Platform]) -> Vec<ConsumerReport> {
    let mut out: Vec<ConsumerReport> = consumers
        .iter()
        .map(|c| ConsumerReport {
            kind: c.kind,
            name: c.name.clone(),
            arn: c.arn.clone(),
            image: c.image.clone(),
            platform: c.platform.clone(),
            architecture: c.architecture_label.clone(),
            detail: c.detail.clone(),
            will_fail: !image_platforms.iter().any(|p| p.runs_on(&c.platform)),
        })
        .collect();
    // Failures first, then by kind and name: the alert's reader sees what breaks.
    out.sort_by(|a, b| (!a.will_fail, a.kind, &a.name).cmp(&(!b.will_fail, b.kind, &b.name)));
    out
}

/// The distinct platforms a set of consumers needs, sorted.
pub fn required_platforms(consumers: &[Consumer]) -> Vec<Platform> {
    let mut ps: Vec<Platform> = consumers.iter().map(|c| c.platform.clone()).collect();
    ps.sort();
    ps.dedup();
    ps
}

/// An ECR image reference: `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPO[:TAG][@DIGEST]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    pub account: String,
    pub region: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses an ECR image URI. `None` for anything that is not in an ECR private registry
    /// (Docker Hub, ECR Public, other registries): such a consumer cannot run our repository.
    /// A reference with neither tag nor digest means `latest`, as Docker resolves it.
    pub fn parse_ecr(uri: &str) -> Option<ImageRef> {
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
        let (name_tag, digest) = match rest.split_once('@') {
            Some((n, d)) => (n, Some(d.to_string())),
            None => (rest, None),
        };
        // A tag follows the last ':' after the last '/'.
        let slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name_tag[slash..].rfind(':') {
            Some(i) => (
                &name_tag[..slash + i],
                Some(name_tag[slash + i + 1..].to_string()),
            ),
            None => (name_tag, None),
        };
        if repository.is_empty() {
            return None;
        }
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_string()),
            (t, _) => t,
        };
        Some(ImageRef {
            account: account.to_string(),
            region: region.to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }
}

/// The pushed image, as consumers are matched against it.
#[derive(Clone, Debug)]
pub struct Pushed<'a> {
    /// `None`: any account (the event did not say).
    pub account: Option<&'a str>,
    pub region: Option<&'a str>,
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: &'a str,
}

/// Which references count as consumers of a push.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MatchScope {
    /// The same tag, or the same digest (default).
    #[default]
    TagOrDigest,
    /// Any reference into the repository (`DISCOVERY_MATCH=repository`).
    Repository,
}

/// Whether a consumer's image reference points at the pushed image.
pub fn references(image: &str, pushed: &Pushed<'_>, scope: MatchScope) -> bool {
    let Some(r) = ImageRef::parse_ecr(image) else {
        return false;
    };
    if pushed.account.is_some_and(|a| a != r.account)
        || pushed.region.is_some_and(|g| g != r.region)
        || r.repository != pushed.repository
    {
        return false;
    }
    match scope {
        MatchScope::Repository => true,
        MatchScope::TagOrDigest => {
            r.digest.as_deref() == Some(pushed.digest)
                || (r.digest.is_none() && r.tag.is_some() && r.tag.as_deref() == pushed.tag)
        }
    }
}

/// The consumers among `all` that run the pushed image.
pub fn matching(all: &[Consumer], pushed: &Pushed<'_>, scope: MatchScope) -> Vec<Consumer> {
    let mut found: Vec<Consumer> = all
        .iter()
        .filter(|c| references(&c.image, pushed, scope))
        .cloned()
        .collect();
    found.sort_by(|a, b| (a.kind, &a.arn).cmp(&(b.kind, &b.arn)));
    found.dedup_by(|a, b| a.kind == b.kind && a.arn == b.arn);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";

    fn pushed<'a>(tag: Option<&'a str>, digest: &'a str) -> Pushed<'a> {
        Pushed {
            account: Some(ACCOUNT),
            region: Some("us-east-1"),
            repository: "team/web",
            tag,
            digest,
        }
    }

    #[test]
    fn ecr_uris_parse_and_others_do_not() {
        let r = ImageRef::parse_ecr("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web:1.2")
            .unwrap();
        assert_eq!(
            (r.account.as_str(), r.region.as_str(), r.repository.as_str()),
            (ACCOUNT, "us-east-1", "team/web")
        );
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        let r =
            ImageRef::parse_ecr("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web@sha256:ab")
                .unwrap();
        assert_eq!((r.tag, r.digest.as_deref()), (None, Some("sha256:ab")));
        let r = ImageRef::parse_ecr("123456789012.dkr.ecr.us-east-1.amazonaws.com/web").unwrap();
        assert_eq!(r.tag.as_deref(), Some("latest"));
        let r =
            ImageRef::parse_ecr("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v1@sha256:ab")
                .unwrap();
        assert_eq!(
            (r.tag.as_deref(), r.digest.as_deref()),
            (Some("v1"), Some("sha256:ab"))
        );
        for other in [
            "grafana/grafana:latest",
            "public.ecr.aws/nginx/nginx:1",
            "ghcr.io/x/y:1",
            "12345.dkr.ecr.us-east-1.amazonaws.com/web:1",
            "123456789012.dkr.ecr.us-east-1.example.com/web:1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/",
            "",
        ] {
            assert_eq!(ImageRef::parse_ecr(other), None, "{other}");
        }
    }

    #[test]
    fn a_consumer_matches_on_tag_or_digest_in_the_same_repository() {
        let uri = |s: &str| format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{s}");
        let p = pushed(Some("prod"), "sha256:aa");
        let scope = MatchScope::TagOrDigest;
        assert!(references(&uri("team/web:prod"), &p, scope));
        assert!(references(&uri("team/web@sha256:aa"), &p, scope));
        assert!(!references(&uri("team/web:staging"), &p, scope));
        assert!(!references(&uri("team/web@sha256:bb"), &p, scope));
        // Pinned by digest to another image: not affected by this push, whatever the tag says.
        assert!(!references(&uri("team/web:prod@sha256:bb"), &p, scope));
        assert!(!references(&uri("team/api:prod"), &p, scope));
        assert!(!references(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:prod",
            &p,
            scope
        ));
        assert!(!references(
            "999999999999.dkr.ecr.us-east-1.amazonaws.com/team/web:prod",
            &p,
            scope
        ));
        assert!(references(
            &uri("team/web:staging"),
            &p,
            MatchScope::Repository
        ));
        // An untagged push matches only digest references.
        let untagged = pushed(None, "sha256:aa");
        assert!(references(&uri("team/web@sha256:aa"), &untagged, scope));
        assert!(!references(&uri("team/web:latest"), &untagged, scope));
    }

    #[test]
    fn runtime_platform_defaults_to_x86_64_linux() {
        let show = |os, cpu| {
            let (p, label, assumed) = runtime_platform(os, cpu);
            format!("{p} {label} {assumed}")
        };
        assert_eq!(show(None, None), "linux/amd64 X86_64 true");
        assert_eq!(
            show(Some("LINUX"), Some("ARM64")),
            "linux/arm64 ARM64 false"
        );
        assert_eq!(
            show(Some("WINDOWS_SERVER_2022_CORE"), Some("X86_64")),
            "windows/amd64 X86_64 false"
        );
    }

    #[test]
    fn reports_put_failures_first_and_name_them() {
        let p = |s: &str| crate::platform::parse_list(s).unwrap().remove(0);
        let consumer = |kind, name: &str, platform: &str, label: &str| Consumer {
            kind,
            name: name.into(),
            arn: format!("arn:{name}"),
            image: "x".into(),
            platform: p(platform),
            architecture_label: label.into(),
            detail: None,
        };
        let consumers = vec![
            consumer(ConsumerKind::LambdaFunction, "fn", "linux/arm64", "arm64"),
            consumer(
                ConsumerKind::EcsService,
                "prod/web",
                "linux/amd64",
                "X86_64",
            ),
        ];
        let r = reports(&consumers, &[p("linux/arm64/v8")]);
        assert_eq!(
            r[0].line(),
            "ECS service prod/web (X86_64): will fail with exec format error"
        );
        assert_eq!(r[1].line(), "Lambda function fn (arm64): runs");
        assert_eq!(
            crate::platform::join(&required_platforms(&consumers)),
            "linux/amd64,linux/arm64"
        );
    }
}
