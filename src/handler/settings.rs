//! The guard's configuration, read once at init from environment variables.

use std::time::Duration;

use crate::binary::deep::DeepConfig;
use crate::consumers::consumer::MatchScope;
use crate::consumers::discovery::DiscoveryConfig;
use crate::gate::GateConfig;
use crate::image::marker::TagTemplate;
use crate::image::platform::{self, Platform};
use crate::judge::policy::{self, Rule};
use crate::util::env_value::flag;
use crate::util::error::Error;

/// What to do on a mismatch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Actions {
    pub alert: bool,
    pub tag: bool,
}

impl Actions {
    /// `alert`, `tag`, `alert,tag` or `none`.
    pub fn parse(s: &str) -> Result<Actions, Error> {
        let mut a = Actions::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "alert" => a.alert = true,
                "tag" => a.tag = true,
                "none" => {}
                other => {
                    return Err(Error::Usage(format!(
                        "ACTIONS: unknown action {other:?}; use alert, tag, alert,tag or none"
                    )))
                }
            }
        }
        Ok(a)
    }
}

/// What the guard does with an image that ECR replication copied into this region
/// (`REPLICATION`; the "ECR Replication Action" event arrives in the destination).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Replication {
    /// Judge it and act (alert, tag) exactly as for a push.
    Judge,
    /// Judge it, and act only when this region's own consumers or repository tag decided:
    /// against the rules and default it was already judged, and reported, by the guard of the
    /// region it was pushed to. The default.
    #[default]
    LocalPolicy,
    /// Do not judge replicated images.
    Off,
}

impl Replication {
    pub fn parse(s: &str) -> Result<Replication, Error> {
        match s.to_ascii_lowercase().as_str() {
            "judge" => Ok(Replication::Judge),
            "local-policy" => Ok(Replication::LocalPolicy),
            "off" => Ok(Replication::Off),
            other => Err(Error::Usage(format!(
                "REPLICATION: {other:?}; use judge, local-policy or off"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Replication::Judge => "judge",
            Replication::LocalPolicy => "local-policy",
            Replication::Off => "off",
        }
    }
}

/// Where TLS trust roots come from (`TRUST_STORE`; see `aws::trust`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrustRoots {
    /// Compiled in (default).
    #[default]
    Bundled,
    /// The operating system's store (`TRUST_STORE=system`).
    System,
}

impl TrustRoots {
    pub fn parse(s: &str) -> Result<TrustRoots, Error> {
        match s.to_ascii_lowercase().as_str() {
            "bundled" => Ok(TrustRoots::Bundled),
            "system" => Ok(TrustRoots::System),
            other => Err(Error::Usage(format!(
                "TRUST_STORE: {other:?}; use bundled (compiled-in roots) or system"
            ))),
        }
    }
}

/// Organisation mode: the role to assume in other accounts of the organisation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberRole {
    /// The role's name, the same in every member account (`MEMBER_ROLE_NAME`).
    pub name: String,
    /// `EXTERNAL_ID`, required by the member role's trust policy.
    pub external_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// `REQUIRED_PLATFORMS`, default `linux/amd64`.
    pub required: Vec<Platform>,
    /// `RULES`: `glob=platforms;…`.
    pub rules: Vec<Rule>,
    /// `ACTIONS`, default `alert`.
    pub actions: Actions,
    /// `TAG_TEMPLATE`, default `{tag}-{arch}-only`.
    pub tag_template: TagTemplate,
    /// `INSPECT_UNTAGGED`: also judge untagged single-manifest pushes (repos that push by digest).
    pub inspect_untagged: bool,
    /// `METRICS_PER_REPOSITORY`: add the `Repository` dimension to the metrics (one custom
    /// metric per repository: opt in, they cost money).
    pub metrics_per_repository: bool,
    /// `ALERT_TOPIC_ARN`: required when `alert` is an action.
    pub alert_topic_arn: Option<String>,
    /// `ALERT_CLAIMS_BUCKET`: where each alert is claimed first, so two deliveries of one
    /// event alert once ([`crate::act::alert_claim`]); none: each delivery alerts.
    pub alert_claims_bucket: Option<String>,
    /// `ALLOW_HTTP_DOWNLOADS`: accept plain-http layer URLs (local tests only).
    pub allow_http_downloads: bool,
    /// `POLICY_TTL_SECONDS`: how long a repository's tags are cached, default 300.
    pub policy_ttl: Duration,
    /// Required platforms that override every policy source (CLI `--require`).
    pub require: Option<Vec<Platform>>,
    /// Take no action; report what would be done (CLI `event --dry-run`).
    pub dry_run: bool,
    /// `DISCOVER` (services), `DISCOVERY_TTL_SECONDS`, `DISCOVERY_TIMEOUT_SECONDS`.
    pub discovery: DiscoveryConfig,
    /// `DISCOVERY_MATCH`: `tag` (same tag or digest, default) or `repository` (any tag).
    pub match_scope: MatchScope,
    /// `HOME_ACCOUNT_ID`: the guard's own account (set by the template).
    pub home_account: Option<String>,
    /// `MEMBER_ROLE_NAME` (+ `EXTERNAL_ID`): organisation mode.
    pub member_role: Option<MemberRole>,
    /// `REPLICATION`: replicated images (default `local-policy`).
    pub replication: Replication,
    /// `TRUST_STORE`: `bundled` (compiled-in roots, default) or `system`.
    pub trust_roots: TrustRoots,
    /// `DEPLOY_GATE`, `DEPLOY_GATE_UNKNOWN`, `DEPLOY_GATE_DEADLINE_SECONDS`: the deployment
    /// gates (see [`crate::gate`]).
    pub gate: GateConfig,
    /// `DEEP_CHECK`, `DEEP_CHECK_BUDGET_MIB`, `DEEP_CHECK_SECONDS` (see [`crate::binary::deep`]).
    pub deep: DeepConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            required: policy::default_platforms(),
            rules: Vec::new(),
            actions: Actions {
                alert: true,
                tag: false,
            },
            tag_template: TagTemplate::default(),
            inspect_untagged: false,
            metrics_per_repository: false,
            alert_topic_arn: None,
            alert_claims_bucket: None,
            allow_http_downloads: false,
            policy_ttl: Duration::from_secs(300),
            require: None,
            dry_run: false,
            discovery: DiscoveryConfig::default(),
            match_scope: MatchScope::default(),
            home_account: None,
            member_role: None,
            replication: Replication::default(),
            trust_roots: TrustRoots::default(),
            gate: GateConfig::default(),
            deep: DeepConfig::default(),
        }
    }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Settings, Error> {
        Settings::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get` (testable without touching the environment).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, Error> {
        let s = Settings::read(get)?;
        s.validate()?;
        Ok(s)
    }

    /// Checks what only matters when actions are really taken (an alert needs a topic).
    pub fn validate(&self) -> Result<(), Error> {
        if self.actions.alert && self.alert_topic_arn.is_none() && !self.dry_run {
            return Err(Error::Usage(
                "ALERT_TOPIC_ARN is required when ACTIONS includes alert".into(),
            ));
        }
        Ok(())
    }

    /// Reads and parses every variable, without [`Settings::validate`].
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Settings, Error> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut s = Settings::default();
        if let Some(v) = get("REQUIRED_PLATFORMS") {
            s.required = platform::parse_list(&v)
                .map_err(|e| Error::Usage(format!("REQUIRED_PLATFORMS: {e}")))?;
        }
        if let Some(v) = get("RULES") {
            s.rules = policy::parse_rules(&v).map_err(|e| Error::Usage(format!("RULES: {e}")))?;
        }
        if let Some(v) = get("ACTIONS") {
            s.actions = Actions::parse(&v)?;
        }
        if let Some(v) = get("TAG_TEMPLATE") {
            s.tag_template = TagTemplate::parse(&v)?;
        }
        s.inspect_untagged = flag(get("INSPECT_UNTAGGED"), "INSPECT_UNTAGGED")?;
        s.metrics_per_repository = flag(get("METRICS_PER_REPOSITORY"), "METRICS_PER_REPOSITORY")?;
        s.allow_http_downloads = flag(get("ALLOW_HTTP_DOWNLOADS"), "ALLOW_HTTP_DOWNLOADS")?;
        s.alert_topic_arn = get("ALERT_TOPIC_ARN");
        s.alert_claims_bucket = get("ALERT_CLAIMS_BUCKET");
        if let Some(v) = get("POLICY_TTL_SECONDS") {
            s.policy_ttl = seconds(&v, "POLICY_TTL_SECONDS")?;
        }
        s.discovery = DiscoveryConfig::read(get)?;
        s.home_account = get("HOME_ACCOUNT_ID");
        if let Some(a) = &s.home_account {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::Usage(format!(
                    "HOME_ACCOUNT_ID: {a:?} is not a 12-digit account id"
                )));
            }
        }
        s.member_role = get("MEMBER_ROLE_NAME").map(|name| MemberRole {
            name,
            external_id: get("EXTERNAL_ID"),
        });
        if s.member_role.is_some() && s.home_account.is_none() {
            return Err(Error::Usage(
                "MEMBER_ROLE_NAME needs HOME_ACCOUNT_ID (the guard's own account)".into(),
            ));
        }
        s.gate = GateConfig::read(get)?;
        s.deep = DeepConfig::read(get)?;
        if let Some(v) = get("TRUST_STORE") {
            s.trust_roots = TrustRoots::parse(&v)?;
        }
        if let Some(v) = get("REPLICATION") {
            s.replication = Replication::parse(&v)?;
        }
        if let Some(v) = get("DISCOVERY_MATCH") {
            s.match_scope = match v.to_ascii_lowercase().as_str() {
                "tag" => MatchScope::TagOrDigest,
                "repository" => MatchScope::Repository,
                _ => {
                    return Err(Error::Usage(format!(
                    "DISCOVERY_MATCH: {v:?}; use tag (same tag or digest) or repository (any tag)"
                )))
                }
            };
        }
        Ok(s)
    }
}

fn seconds(v: &str, name: &str) -> Result<Duration, Error> {
    v.parse()
        .map(Duration::from_secs)
        .map_err(|_| Error::Usage(format!("{name}: {v:?} is not a number of seconds")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, Error> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_only_a_topic() {
        assert!(
            from(&[]).is_err(),
            "alert without a topic is a configuration error"
        );
        let s = from(&[("ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:t")]).unwrap();
        assert_eq!(platform::join(&s.required), "linux/amd64");
        assert_eq!(
            s.actions,
            Actions {
                alert: true,
                tag: false
            }
        );
        assert!(!s.inspect_untagged && !s.allow_http_downloads);
    }

    #[test]
    fn every_variable_is_read_and_validated() {
        let s = from(&[
            ("ACTIONS", "tag"),
            ("REQUIRED_PLATFORMS", "linux/amd64,linux/arm64"),
            ("RULES", "team-a/*=linux/arm64"),
            ("TAG_TEMPLATE", "{tag}-only-{arch}"),
            ("INSPECT_UNTAGGED", "true"),
            ("POLICY_TTL_SECONDS", "60"),
            ("DISCOVER", "ecs,lambda"),
            ("DISCOVERY_TTL_SECONDS", "120"),
            ("DISCOVERY_TIMEOUT_SECONDS", "3"),
            ("DISCOVERY_MATCH", "repository"),
            ("HOME_ACCOUNT_ID", "111111111111"),
            ("MEMBER_ROLE_NAME", "ecr-arch-guard-reader"),
            ("EXTERNAL_ID", "o-abc"),
            ("REPLICATION", "judge"),
        ])
        .unwrap();
        assert_eq!(s.replication, Replication::Judge);
        assert_eq!(
            s.actions,
            Actions {
                alert: false,
                tag: true
            }
        );
        assert_eq!(s.required.len(), 2);
        assert_eq!(s.rules.len(), 1);
        assert!(s.inspect_untagged);
        assert_eq!(s.policy_ttl, Duration::from_secs(60));
        assert_eq!(s.discovery.services.len(), 2);
        assert_eq!(s.discovery.ttl, Duration::from_secs(120));
        assert_eq!(s.discovery.deadline, Duration::from_secs(3));
        assert_eq!(s.match_scope, MatchScope::Repository);
        assert_eq!(s.home_account.as_deref(), Some("111111111111"));
        assert_eq!(
            s.member_role,
            Some(MemberRole {
                name: "ecr-arch-guard-reader".into(),
                external_id: Some("o-abc".into())
            })
        );
        assert!(from(&[("ACTIONS", "none"), ("MEMBER_ROLE_NAME", "r")]).is_err());
        assert!(from(&[("ACTIONS", "none"), ("HOME_ACCOUNT_ID", "12")]).is_err());
        assert!(from(&[("ACTIONS", "none"), ("DISCOVER", "eks")]).is_err());
        assert!(from(&[("ACTIONS", "none"), ("DISCOVERY_MATCH", "any")]).is_err());
        assert!(from(&[("ACTIONS", "page")]).is_err());
        assert!(from(&[("ACTIONS", "none"), ("REPLICATION", "sometimes")]).is_err());
        assert!(from(&[("ACTIONS", "none"), ("TRUST_STORE", "none")]).is_err());
        let system = from(&[("ACTIONS", "none"), ("TRUST_STORE", "System")]).unwrap();
        assert_eq!(system.trust_roots, TrustRoots::System);
        assert!(from(&[("ACTIONS", "none"), ("INSPECT_UNTAGGED", "maybe")]).is_err());
        assert!(from(&[("ACTIONS", "none"), ("REQUIRED_PLATFORMS", "arm64")]).is_err());
        assert!(from(&[("ACTIONS", "none"), ("POLICY_TTL_SECONDS", "5m")]).is_err());
    }
}
