//! What must the image run on, and who said so.
//!
//! Order, most specific first: the repository's own tag `ecr-arch-guard:platforms`, consumers
//! discovered, `RULES` (repository glob → platforms), the default (`REQUIRED_PLATFORMS`,
//! `linux/amd64` unless configured). A command-line `--require` overrides everything.

use std::fmt;

use serde::Serialize;

use crate::image::platform::{self, Platform};
use crate::util::error::Error;

/// The repository resource tag that sets a repository's policy.
pub const REPOSITORY_TAG_KEY: &str = "ecr-arch-guard:platforms";

/// Where the required platforms came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequiredFrom {
    /// Given on the command line.
    Flag,
    /// The repository tag `ecr-arch-guard:platforms`.
    RepositoryTag,
    /// The architectures of the services that run the image.
    Consumers,
    /// A configured rule, by its pattern.
    Rule(String),
    /// The configured default.
    Default,
}

impl fmt::Display for RequiredFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequiredFrom::Flag => f.write_str("flag"),
            RequiredFrom::RepositoryTag => write!(f, "repository-tag"),
            RequiredFrom::Consumers => f.write_str("consumers"),
            RequiredFrom::Rule(p) => write!(f, "rule:{p}"),
            RequiredFrom::Default => f.write_str("default"),
        }
    }
}

impl Serialize for RequiredFrom {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A setting that is either a platform list or `off` (do not check this repository).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Setting {
    Platforms(Vec<Platform>),
    Off,
}

impl Setting {
    pub fn parse(s: &str) -> Result<Setting, Error> {
        if s.trim().eq_ignore_ascii_case("off") {
            Ok(Setting::Off)
        } else {
            platform::parse_list(s).map(Setting::Platforms)
        }
    }
}

/// A rule: repositories whose name matches `pattern` (`*` any run, `?` one character) need
/// `setting`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub pattern: String,
    pub setting: Setting,
}

/// Parses `RULES`: `glob=platforms` pairs separated by `;` or new lines, e.g.
/// `team-a/*=linux/arm64;legacy-*=linux/amd64,linux/arm64;scratch/*=off`. First match wins.
pub fn parse_rules(s: &str) -> Result<Vec<Rule>, Error> {
    s.split([';', '\n'])
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| {
            let (pattern, value) = r.split_once('=').ok_or_else(|| {
                Error::Usage(format!(
                    "rule {r:?}: expected REPOSITORY_GLOB=PLATFORMS, e.g. team-a/*=linux/arm64"
                ))
            })?;
            let pattern = pattern.trim();
            if pattern.is_empty() {
                return Err(Error::Usage(format!(
                    "rule {r:?}: empty repository pattern"
                )));
            }
            Ok(Rule {
                pattern: pattern.to_string(),
                setting: Setting::parse(value)?,
            })
        })
        .collect()
}

/// Glob match with `*` (any run, including `/`) and `?` (one character).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The required platforms and where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub platforms: Vec<Platform>,
    pub from: RequiredFrom,
}

/// What the policy decided for a repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Check(Requirement),
    /// Checking is switched off for this repository (by its tag or a rule).
    Off(RequiredFrom),
}

/// What discovery found for the pushed image.
#[derive(Clone, Copy, Debug)]
pub struct Consumers<'a> {
    /// The distinct platforms of the consumers found.
    pub platforms: &'a [Platform],
    /// Every enabled service was listed. When some service is unknown, the consumers found do
    /// not decide alone: their platforms are added to the next source's requirement, so missing
    /// knowledge can only make the guard stricter, never let a wrong image pass.
    pub complete: bool,
}

/// The inputs of the decision, most specific first.
#[derive(Clone, Debug, Default)]
pub struct Inputs<'a> {
    pub flag: Option<&'a [Platform]>,
    pub repository_tag: Option<&'a Setting>,
    pub consumers: Option<Consumers<'a>>,
    pub rules: &'a [Rule],
    pub default: &'a [Platform],
}

/// Applies the order: flag > repository tag > consumers > first matching rule > default.
/// Consumers decide only when discovery was complete (see [`Consumers::complete`]).
pub fn decide(repository: &str, inputs: &Inputs<'_>) -> Decision {
    let check = |platforms: &[Platform], from| {
        Decision::Check(Requirement {
            platforms: platforms.to_vec(),
            from,
        })
    };
    if let Some(flag) = inputs.flag {
        return check(flag, RequiredFrom::Flag);
    }
    match inputs.repository_tag {
        Some(Setting::Off) => return Decision::Off(RequiredFrom::RepositoryTag),
        Some(Setting::Platforms(ps)) => return check(ps, RequiredFrom::RepositoryTag),
        None => {}
    }
    let partial: &[Platform] = match inputs.consumers {
        Some(c) if !c.platforms.is_empty() && c.complete => {
            return check(c.platforms, RequiredFrom::Consumers);
        }
        Some(c) => c.platforms,
        None => &[],
    };
    let check = |platforms: &[Platform], from| {
        let mut all = platforms.to_vec();
        for p in partial {
            if !all.contains(p) {
                all.push(p.clone());
            }
        }
        check(&all, from)
    };
    if let Some(rule) = inputs
        .rules
        .iter()
        .find(|r| glob_match(&r.pattern, repository))
    {
        let from = RequiredFrom::Rule(rule.pattern.clone());
        return match &rule.setting {
            Setting::Off => Decision::Off(from),
            Setting::Platforms(ps) => check(ps, from),
        };
    }
    check(inputs.default, RequiredFrom::Default)
}

/// The default requirement when nothing is configured.
pub fn default_platforms() -> Vec<Platform> {
    vec![Platform::from_parts("linux", "amd64", None).expect("constant platform")]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ps(s: &str) -> Vec<Platform> {
        platform::parse_list(s).unwrap()
    }

    #[test]
    fn glob_matching() {
        assert!(glob_match("team-a/*", "team-a/web"));
        assert!(glob_match("team-a/*", "team-a/x/y"));
        assert!(!glob_match("team-a/*", "team-b/web"));
        assert!(glob_match("legacy-?", "legacy-1"));
        assert!(!glob_match("legacy-?", "legacy-12"));
        assert!(glob_match("*", ""));
        assert!(glob_match("grafana", "grafana"));
        assert!(!glob_match("grafana", "grafana2"));
        assert!(glob_match("*-arm", "svc-a-arm"));
    }

    #[test]
    fn rules_parse_and_reject_nonsense() {
        let rules =
            parse_rules("team-a/*=linux/arm64; scratch/*=off\nlegacy-*=linux/amd64,linux/arm64")
                .unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[1].setting, Setting::Off);
        assert!(parse_rules("team-a/*").is_err());
        assert!(parse_rules("=linux/amd64").is_err());
        assert!(parse_rules("x=arm64").is_err());
        assert!(parse_rules("").unwrap().is_empty());
    }

    #[test]
    fn order_is_flag_tag_consumers_rule_default() {
        let default = ps("linux/amd64");
        let rules = parse_rules("team-a/*=linux/arm64;off/*=off").unwrap();
        let tag = Setting::Platforms(ps("linux/amd64,linux/arm64"));
        let consumers = ps("linux/arm64");
        let flag = ps("linux/arm/v7");

        let mut inputs = Inputs {
            flag: Some(&flag),
            repository_tag: Some(&tag),
            consumers: Some(Consumers {
                platforms: &consumers,
                complete: true,
            }),
            rules: &rules,
            default: &default,
        };
        let from = |d: Decision| match d {
            Decision::Check(r) => r.from.to_string(),
            Decision::Off(f) => format!("off by {f}"),
        };
        assert_eq!(from(decide("team-a/web", &inputs)), "flag");
        inputs.flag = None;
        assert_eq!(from(decide("team-a/web", &inputs)), "repository-tag");
        inputs.repository_tag = None;
        assert_eq!(from(decide("team-a/web", &inputs)), "consumers");
        inputs.consumers = None;
        assert_eq!(from(decide("team-a/web", &inputs)), "rule:team-a/*");
        assert_eq!(from(decide("off/x", &inputs)), "off by rule:off/*");
        assert_eq!(from(decide("other", &inputs)), "default");
        let off = Setting::Off;
        inputs.repository_tag = Some(&off);
        assert_eq!(from(decide("team-a/web", &inputs)), "off by repository-tag");
    }

    #[test]
    fn incomplete_discovery_adds_to_the_next_source_and_never_relaxes_it() {
        let default = ps("linux/amd64");
        let found = ps("linux/arm64");
        let inputs = Inputs {
            consumers: Some(Consumers {
                platforms: &found,
                complete: false,
            }),
            default: &default,
            ..Inputs::default()
        };
        match decide("web", &inputs) {
            Decision::Check(r) => {
                assert_eq!(r.from, RequiredFrom::Default);
                assert_eq!(platform::join(&r.platforms), "linux/amd64,linux/arm64");
            }
            other => panic!("{other:?}"),
        }
        // Complete discovery with no consumer: the next source decides unchanged.
        let none: Vec<Platform> = Vec::new();
        let inputs = Inputs {
            consumers: Some(Consumers {
                platforms: &none,
                complete: true,
            }),
            default: &default,
            ..Inputs::default()
        };
        assert_eq!(
            decide("web", &inputs),
            Decision::Check(Requirement {
                platforms: default.clone(),
                from: RequiredFrom::Default
            })
        );
    }
}
