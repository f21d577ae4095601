//! Consumers: the services that run an image (ECS, App Runner, Lambda, Batch), the image
//! reference each one names, and whether it will run a given image.
//!
//! Pure: the AWS adapters (`aws::ecs`, `aws::apprunner`, `aws::lambda`, `aws::batch`) translate
//! their API's shapes into [`Consumer`]; everything else happens here.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::consumers::service::Service;
use crate::image::platform::Platform;
use crate::image::Image;

/// The kind of service that runs the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsumerKind {
    EcsService,
    EcsTaskDefinition,
    AppRunnerService,
    LambdaFunction,
    BatchJobDefinition,
}

impl ConsumerKind {
    /// The service whose discovery finds this kind of consumer.
    pub fn service(self) -> Service {
        match self {
            ConsumerKind::EcsService | ConsumerKind::EcsTaskDefinition => Service::Ecs,
            ConsumerKind::AppRunnerService => Service::AppRunner,
            ConsumerKind::LambdaFunction => Service::Lambda,
            ConsumerKind::BatchJobDefinition => Service::Batch,
        }
    }
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

/// A service that runs an image (also as the consumer index stores it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumer {
    pub kind: ConsumerKind,
    /// Human name, e.g. `prod/web` (cluster/service) or `web:12` (task definition revision).
    pub name: String,
    pub arn: String,
    /// The image reference exactly as the service names it.
    pub image: String,
    /// What the image must run on; `None`: it cannot be told (EC2 capacity whose architecture
    /// AWS does not report, see [`Placement`](crate::consumers::placement::Placement)). Such a consumer never lets an image pass: the
    /// consumers found then do not decide alone.
    pub platform: Option<Platform>,
    /// The architecture in the service's own words (`X86_64`, `arm64`), for the alert.
    pub architecture_label: String,
    /// e.g. `Fargate`, `EC2`, or why the architecture is assumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A consumer as the verdict reports it: who, on what, and whether it will fail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumerReport {
    pub kind: ConsumerKind,
    pub name: String,
    pub arn: String,
    pub image: String,
    /// `null` when the consumer's architecture cannot be told.
    pub platform: Option<Platform>,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// No platform of the image runs on this consumer: `exec format error`. `false` also when
    /// the consumer's architecture is unknown (see `platform`).
    pub will_fail: bool,
}

impl ConsumerReport {
    /// `ECS service prod/web (X86_64): will fail with exec format error`.
    pub fn line(&self) -> String {
        let outcome = if self.will_fail {
            "will fail with exec format error"
        } else if self.platform.is_none() {
            "may fail: its architecture is unknown"
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
            will_fail: c
                .platform
                .as_ref()
                .is_some_and(|need| !image_platforms.iter().any(|p| p.runs_on(need))),
        })
        .collect();
    // Failures first, then by kind and name: the alert's reader sees what breaks.
    out.sort_by(|a, b| (!a.will_fail, a.kind, &a.name).cmp(&(!b.will_fail, b.kind, &b.name)));
    out
}

/// The distinct platforms a set of consumers needs, sorted (consumers of unknown
/// architecture add none; see [`all_known`]).
pub fn required_platforms(consumers: &[Consumer]) -> Vec<Platform> {
    let mut ps: Vec<Platform> = consumers
        .iter()
        .filter_map(|c| c.platform.clone())
        .collect();
    ps.sort();
    ps.dedup();
    ps
}

/// Whether every consumer's platform is known: only then may the consumers decide alone.
pub fn all_known(consumers: &[Consumer]) -> bool {
    consumers.iter().all(|c| c.platform.is_some())
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

/// Whether a consumer's image reference points at the pushed image. The pushed image's
/// account and region, when `None`, match any.
pub fn references(image: &str, pushed: &Image, scope: MatchScope) -> bool {
    let Some(r) = Image::parse_ecr_uri(image) else {
        return false;
    };
    let (theirs, ours) = (&r.repository, &pushed.repository);
    if ours
        .registry
        .account
        .as_ref()
        .is_some_and(|a| Some(a) != theirs.registry.account.as_ref())
        || ours
            .registry
            .region
            .as_ref()
            .is_some_and(|g| Some(g) != theirs.registry.region.as_ref())
        || theirs.name != ours.name
    {
        return false;
    }
    match scope {
        MatchScope::Repository => true,
        MatchScope::TagOrDigest => match (&r.digest, &r.tag) {
            (Some(d), _) => Some(d) == pushed.digest.as_ref(),
            (None, Some(t)) => Some(t) == pushed.tag.as_ref(),
            (None, None) => false,
        },
    }
}

/// The consumers among `all` that run the pushed image.
pub fn matching(all: &[Consumer], pushed: &Image, scope: MatchScope) -> Vec<Consumer> {
    let mut found: Vec<Consumer> = all
        .iter()
        .filter(|c| references(&c.image, pushed, scope))
        .cloned()
        .collect();
    // One entry per consumer and platform (a task on mixed EC2 capacity needs both).
    found.sort_by(|a, b| (a.kind, &a.arn, &a.platform).cmp(&(b.kind, &b.arn, &b.platform)));
    found.dedup_by(|a, b| a.kind == b.kind && a.arn == b.arn && a.platform == b.platform);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn pushed(tag: Option<&str>, digest: &str) -> Image {
        Image {
            repository: crate::image::Repository::new(
                crate::image::RegistryId::new(Some(ACCOUNT), Some("us-east-1")),
                "team/web",
            ),
            tag: tag.map(str::to_string),
            digest: Some(crate::image::digest::Digest::parse(digest).unwrap()),
            media_type: None,
        }
    }

    #[test]
    fn a_consumer_matches_on_tag_or_digest_in_the_same_repository() {
        let uri = |s: &str| format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{s}");
        let (aa, bb) = (digest('a'), digest('b'));
        let p = pushed(Some("prod"), &aa);
        let scope = MatchScope::TagOrDigest;
        assert!(references(&uri("team/web:prod"), &p, scope));
        assert!(references(&uri(&format!("team/web@{aa}")), &p, scope));
        assert!(!references(&uri("team/web:staging"), &p, scope));
        assert!(!references(&uri(&format!("team/web@{bb}")), &p, scope));
        // Pinned by digest to another image: not affected by this push, whatever the tag says.
        assert!(!references(&uri(&format!("team/web:prod@{bb}")), &p, scope));
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
        let untagged = pushed(None, &aa);
        assert!(references(
            &uri(&format!("team/web@{aa}")),
            &untagged,
            scope
        ));
        assert!(!references(&uri("team/web:latest"), &untagged, scope));
    }

    #[test]
    fn reports_put_failures_first_and_name_them() {
        let p = |s: &str| crate::image::platform::parse_list(s).unwrap().remove(0);
        let consumer = |kind, name: &str, platform: &str, label: &str| Consumer {
            kind,
            name: name.into(),
            arn: format!("arn:{name}"),
            image: "x".into(),
            platform: Some(p(platform)),
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
            crate::image::platform::join(&required_platforms(&consumers)),
            "linux/amd64,linux/arm64"
        );
    }
}
