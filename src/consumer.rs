//! Consumers: the services that run an image (ECS, App Runner, Lambda, Batch), the image
//! reference each one names, and whether it will run a given image.
//!
//! Pure: the AWS adapters (`aws::ecs`, `aws::apprunner`, `aws::lambda`, `aws::batch`) translate
//! their API's shapes into [`Consumer`]; everything else happens here.

use std::fmt;

use serde::Serialize;

use crate::image::Image;
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
    /// What the image must run on; `None`: it cannot be told (EC2 capacity whose architecture
    /// AWS does not report, see [`Placement`]). Such a consumer never lets an image pass: the
    /// consumers found then do not decide alone.
    pub platform: Option<Platform>,
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

/// What the detail says when `runtimePlatform.cpuArchitecture` is unset on Fargate.
pub const ARCHITECTURE_ASSUMED: &str = "cpuArchitecture unset, X86_64 assumed";

/// Where an ECS task's or a Batch job's containers can be placed, which decides what an unset
/// `runtimePlatform.cpuArchitecture` means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Fargate: unset means X86_64 (ECS and Batch both document that default).
    Fargate,
    /// EC2 or external capacity: the tasks run on whatever the instances are.
    Instances(Capacity),
}

/// What AWS reports about EC2 (or external) capacity: the platforms of its instances (ECS
/// container instances' `ecs.cpu-architecture` attribute, Batch compute environments'
/// instance types), and what could not be told.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capacity {
    /// Distinct platforms the capacity has (sorted).
    pub platforms: Vec<Platform>,
    /// Why (part of) the capacity's architecture is unknown, if it is.
    pub unknown: Option<String>,
    /// What was looked at, for the alert (`cluster prod`, `compute environments ce-a, ce-b`).
    pub source: String,
}

/// One platform an ECS task definition or Batch job definition needs, with its label and the
/// detail the alert shows: `(platform, label, detail)`; `None` = unknown.
pub type Need = (Option<Platform>, String, Option<String>);

/// The platforms a task or job needs, from its `runtimePlatform` (`operatingSystemFamily`,
/// `cpuArchitecture`) and where it is placed:
/// - `cpuArchitecture` set: exactly that (on EC2, ECS places the task only on matching
///   instances);
/// - unset on Fargate: X86_64, as AWS documents;
/// - unset on EC2 / external capacity: every platform the capacity has (a task may land on any
///   of them, so the image must serve all), and *unknown* when the capacity's architecture
///   cannot be told (no instance registered, an unmanaged compute environment, an unknown
///   instance type). Never a guess: unknown makes the guard stricter, not looser.
///
/// Any `WINDOWS_*` family is windows.
pub fn needs(os_family: Option<&str>, cpu: Option<&str>, placement: &Placement) -> Vec<Need> {
    let windows = os_family.is_some_and(|f| f.to_ascii_uppercase().starts_with("WINDOWS"));
    let os = if windows { "windows" } else { "linux" };
    let on = match placement {
        Placement::Fargate => "Fargate".to_string(),
        Placement::Instances(c) => format!("EC2, {}", c.source),
    };
    if let Some(cpu) = cpu {
        let arch = if cpu.eq_ignore_ascii_case("ARM64") {
            "arm64"
        } else {
            "amd64"
        };
        let platform = Platform::from_parts(os, arch, None).expect("constant platform");
        return vec![(Some(platform), cpu.to_ascii_uppercase(), Some(on))];
    }
    match placement {
        Placement::Fargate => {
            let platform = Platform::from_parts(os, "amd64", None).expect("constant platform");
            vec![(
                Some(platform),
                "X86_64".into(),
                Some(format!("{on}, {ARCHITECTURE_ASSUMED}")),
            )]
        }
        Placement::Instances(c) => {
            let mut out: Vec<Need> = c
                .platforms
                .iter()
                .filter_map(|p| Platform::from_parts(os, &p.architecture, p.variant.as_deref()))
                .map(|p| {
                    let label = ecs_label(&p.architecture);
                    let detail = format!(
                        "{on}, cpuArchitecture unset: runs on the instances' {}",
                        crate::platform::architectures(&c.platforms).join(" and ")
                    );
                    (Some(p), label, Some(detail))
                })
                .collect();
            if out.is_empty() || c.unknown.is_some() {
                let why = c
                    .unknown
                    .clone()
                    .unwrap_or_else(|| "no instance reports its architecture".into());
                out.push((
                    None,
                    "unknown".into(),
                    Some(format!("{on}, cpuArchitecture unset and {why}")),
                ));
            }
            out
        }
    }
}

/// `X86_64` / `ARM64`, as ECS and Batch write architectures.
fn ecs_label(arch: &str) -> String {
    match arch {
        "amd64" => "X86_64".into(),
        "arm64" => "ARM64".into(),
        other => other.to_ascii_uppercase(),
    }
}

/// The platform of a container instance's `ecs.cpu-architecture` attribute (`x86_64`,
/// `arm64`), normalised.
pub fn cpu_architecture_platform(value: &str) -> Option<Platform> {
    Platform::from_parts("linux", value, None)
}

/// The platform of an EC2 instance type as a Batch compute environment names it: a type
/// (`m6g.large`), a family (`c7gn`), `optimal` (x86_64: Batch picks from the C, M and R
/// families), `default_x86_64` or `default_arm64`. Graviton (arm64) families are `a1` and every
/// family whose letters after the generation digit start with `g` (`m6g`, `c7gn`, `r8gd`,
/// `t4g`, `im4gn`, `is4gen`, `g5g`, `x2gd`, `hpc7g`); GPU families named with a leading `g`
/// (`g4dn`, `g5`, `g6`) are x86_64. `None` for anything that is not an instance type.
pub fn instance_type_platform(instance_type: &str) -> Option<Platform> {
    let t = instance_type.trim().to_ascii_lowercase();
    let arch = match t.as_str() {
        "optimal" | "default_x86_64" => "amd64",
        "default_arm64" => "arm64",
        _ => {
            let family = t.split('.').next()?;
            let letters = family.find(|c: char| c.is_ascii_digit())?;
            let after_digits = family[letters..].trim_start_matches(|c: char| c.is_ascii_digit());
            if letters == 0 || !family[..letters].bytes().all(|b| b.is_ascii_lowercase()) {
                return None;
            }
            if family == "a1" || after_digits.starts_with('g') {
                "arm64"
            } else {
                "amd64"
            }
        }
    };
    Platform::from_parts("linux", arch, None)
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
            digest: Some(crate::digest::Digest::parse(digest).unwrap()),
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

    fn show(needs: Vec<Need>) -> Vec<String> {
        needs
            .into_iter()
            .map(|(p, label, _)| {
                format!("{} {label}", p.map_or("unknown".into(), |p| p.to_string()))
            })
            .collect()
    }

    fn capacity(platforms: &str, unknown: Option<&str>) -> Placement {
        Placement::Instances(Capacity {
            platforms: if platforms.is_empty() {
                Vec::new()
            } else {
                crate::platform::parse_list(platforms).unwrap()
            },
            unknown: unknown.map(str::to_string),
            source: "cluster prod".into(),
        })
    }

    #[test]
    fn an_unset_architecture_is_x86_64_only_on_fargate() {
        assert_eq!(
            show(needs(None, None, &Placement::Fargate)),
            ["linux/amd64 X86_64"]
        );
        assert_eq!(
            show(needs(Some("LINUX"), Some("ARM64"), &Placement::Fargate)),
            ["linux/arm64 ARM64"]
        );
        assert_eq!(
            show(needs(
                Some("WINDOWS_SERVER_2022_CORE"),
                Some("X86_64"),
                &Placement::Fargate
            )),
            ["windows/amd64 X86_64"]
        );
        // EC2: the instances decide. A Graviton cluster is arm64, not a false alarm.
        assert_eq!(
            show(needs(None, None, &capacity("linux/arm64", None))),
            ["linux/arm64 ARM64"]
        );
        assert_eq!(
            show(needs(
                None,
                None,
                &capacity("linux/amd64,linux/arm64", None)
            )),
            ["linux/amd64 X86_64", "linux/arm64 ARM64"],
            "mixed capacity: a task may land on either"
        );
        // Nothing reported, or part unknown: unknown, never a guess.
        assert_eq!(
            show(needs(None, None, &capacity("", None))),
            ["unknown unknown"]
        );
        assert_eq!(
            show(needs(
                None,
                None,
                &capacity("linux/arm64", Some("unmanaged ce-x"))
            )),
            ["linux/arm64 ARM64", "unknown unknown"]
        );
        // An explicit architecture is what ECS places on, whatever the capacity.
        assert_eq!(
            show(needs(None, Some("X86_64"), &capacity("linux/arm64", None))),
            ["linux/amd64 X86_64"]
        );
    }

    #[test]
    fn instance_types_map_to_their_architecture() {
        let arch = |t: &str| instance_type_platform(t).map(|p| p.architecture);
        for graviton in [
            "m6g.large",
            "c7gn.16xlarge",
            "r8gd.xlarge",
            "t4g.micro",
            "a1.medium",
            "im4gn.large",
            "is4gen.xlarge",
            "g5g.2xlarge",
            "x2gd.large",
            "hpc7g.4xlarge",
            "c6g",
            "default_arm64",
        ] {
            assert_eq!(arch(graviton).as_deref(), Some("arm64"), "{graviton}");
        }
        for x86 in [
            "m5.large",
            "c7i.large",
            "g4dn.xlarge",
            "g5.xlarge",
            "p4d.24xlarge",
            "r7iz.large",
            "m7i-flex.large",
            "inf2.xlarge",
            "c6a",
            "optimal",
            "default_x86_64",
        ] {
            assert_eq!(arch(x86).as_deref(), Some("amd64"), "{x86}");
        }
        for nonsense in ["", "large", "9x.large", ".large"] {
            assert_eq!(arch(nonsense), None, "{nonsense}");
        }
        assert_eq!(
            cpu_architecture_platform("x86_64").unwrap().to_string(),
            "linux/amd64"
        );
        assert_eq!(
            cpu_architecture_platform("arm64").unwrap().to_string(),
            "linux/arm64"
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
            crate::platform::join(&required_platforms(&consumers)),
            "linux/amd64,linux/arm64"
        );
    }
}
