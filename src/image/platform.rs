//! Platforms (`os/arch[/variant]`): parsing, containerd-style normalisation, display, and
//! "does an image built for P run where R is required".
//!
//! Normalisation follows containerd's `platforms.Normalize`: `aarch64`→`arm64`,
//! `x86_64`/`x86-64`→`amd64`, arm64 variant `v8`/`8` dropped, `armhf`→`arm/v7`,
//! `armel`→`arm/v6`, arm variant `7`→`v7` (and bare `arm`→`arm/v7`), lower-case os and arch.
//! Windows `os.version` is kept as detail on [`ImagePlatform`], never in the string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::util::error::Error;

/// A normalised `os/architecture[/variant]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

/// A platform an image provides, with the detail that does not take part in matching.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ImagePlatform {
    pub platform: Platform,
    /// Windows images: the `os.version` (e.g. `10.0.20348.2849`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
}

/// A platform component as registries write them (`linux`, `amd64`, `ppc64le`, `v7`, `386`):
/// ASCII letters, digits, `.`, `_`, `-`. Anything else (a `/`, spaces, control characters)
/// would make `os/arch/variant` ambiguous, so such a document names no runnable platform.
fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl Platform {
    /// Builds a platform from registry fields and normalises it.
    ///
    /// Returns `None` when os or architecture is empty or not a plain word (see `is_word`):
    /// such a config describes no runnable image.
    pub fn from_parts(os: &str, architecture: &str, variant: Option<&str>) -> Option<Platform> {
        let os = normalize_os(os);
        let arch = architecture.trim().to_ascii_lowercase();
        if !is_word(&os) || !is_word(&arch) {
            return None;
        }
        let variant = variant
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty());
        if variant.as_deref().is_some_and(|v| !is_word(v)) {
            return None;
        }
        let (architecture, variant) = normalize_arch(&arch, variant);
        Some(Platform {
            os,
            architecture,
            variant,
        })
    }

    /// `unknown/unknown`: BuildKit attestation and builder entries, never runnable.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" || self.architecture == "unknown"
    }

    /// Does an image built for `self` run on a host that `required` describes?
    ///
    /// Both sides are normalised. An empty required variant is a wildcard. arm64 of any variant
    /// serves arm64. For `arm` and `amd64` a host of variant N also runs lower variants
    /// (arm/v7 runs v6 and v5; amd64/v3 runs v2 and v1), as containerd's `Only` does.
    pub fn runs_on(&self, required: &Platform) -> bool {
        if self.os != required.os || self.architecture != required.architecture {
            return false;
        }
        let Some(want) = &required.variant else {
            return true;
        };
        if self.architecture == "arm64" {
            return true;
        }
        match &self.variant {
            None => self.architecture == "amd64", // amd64 without variant is v1: runs everywhere
            Some(have) if have == want => true,
            Some(have) => match (variant_level(have), variant_level(want)) {
                (Some(h), Some(w)) => h <= w,
                _ => false,
            },
        }
    }
}

/// `v7` → 7, `v3` → 3; anything else has no order.
fn variant_level(v: &str) -> Option<u32> {
    v.strip_prefix('v')?.parse().ok()
}

fn normalize_os(os: &str) -> String {
    let os = os.trim().to_ascii_lowercase();
    match os.as_str() {
        "macos" => "darwin".to_string(),
        _ => os,
    }
}

fn normalize_arch(arch: &str, variant: Option<String>) -> (String, Option<String>) {
    match arch {
        "i386" => ("386".into(), None),
        "x86_64" | "x86-64" | "amd64" => {
            let variant = variant.filter(|v| v != "v1" && v != "1");
            ("amd64".into(), variant.map(vee))
        }
        "aarch64" | "arm64" => {
            // v8, 8, v8.0 and the spec-example spelling "armv8" all mean plain arm64.
            let variant = variant.filter(|v| !matches!(v.as_str(), "8" | "v8" | "v8.0" | "armv8"));
            ("arm64".into(), variant.map(vee))
        }
        "armhf" => ("arm".into(), Some("v7".into())),
        "armel" => ("arm".into(), Some("v6".into())),
        "arm" => {
            let variant = match variant.as_deref() {
                None | Some("7") | Some("armv7") | Some("armv7l") => "v7".to_string(),
                Some("5") | Some("6") | Some("8") => format!("v{}", variant.unwrap_or_default()),
                Some("armv5") | Some("armv6") | Some("armv8") => variant
                    .unwrap_or_default()
                    .trim_start_matches("arm")
                    .to_string(),
                Some(other) => other.to_string(),
            };
            ("arm".into(), Some(variant))
        }
        other => (other.to_string(), variant),
    }
}

/// Bare numeric variants get their `v` (`2` → `v2`).
fn vee(v: String) -> String {
    if v.bytes().all(|b| b.is_ascii_digit()) {
        format!("v{v}")
    } else {
        v
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = Error;

    /// Parses `os/arch[/variant]`. The os is required: inside a Lambda there is no meaningful
    /// "host os" to default to, so `arm64` alone is an error rather than a guess.
    fn from_str(s: &str) -> Result<Self, Error> {
        let parts: Vec<&str> = s.trim().split('/').collect();
        let bad = || {
            Error::InvalidPlatform(format!(
                "{s:?}: expected os/arch[/variant], e.g. linux/amd64 or linux/arm/v7"
            ))
        };
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] => (*os, *arch, None),
            [os, arch, variant] if !variant.is_empty() => (*os, *arch, Some(*variant)),
            _ => return Err(bad()),
        };
        Platform::from_parts(os, arch, variant).ok_or_else(bad)
    }
}

impl Serialize for Platform {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Platform {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses a list of platforms separated by commas, spaces or `+` (`linux/amd64,linux/arm64`,
/// `linux/amd64 linux/arm64`, `linux/amd64+linux/arm64`), de-duplicated, in order. Spaces and
/// `+` matter for AWS resource tags, whose values may not contain commas (letters, digits,
/// spaces and `+ - = . _ : / @` only); none of the three can occur inside a platform.
pub fn parse_list(s: &str) -> Result<Vec<Platform>, Error> {
    let mut out: Vec<Platform> = Vec::new();
    for part in s
        .split(|c: char| c == ',' || c == '+' || c.is_whitespace())
        .filter(|p| !p.is_empty())
    {
        let p: Platform = part.parse()?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if out.is_empty() {
        return Err(Error::InvalidPlatform(format!(
            "{s:?}: no platform given, e.g. linux/amd64,linux/arm64"
        )));
    }
    Ok(out)
}

/// The architectures of some platforms, sorted and de-duplicated (`linux/amd64` and
/// `windows/amd64` are one `amd64`).
pub fn architectures(platforms: &[Platform]) -> Vec<String> {
    let mut archs: Vec<String> = platforms.iter().map(|p| p.architecture.clone()).collect();
    archs.sort();
    archs.dedup();
    archs
}

/// Joins platforms as `linux/amd64,linux/arm64`.
pub fn join(platforms: &[Platform]) -> String {
    platforms
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_that_are_not_plain_words_name_no_platform() {
        assert!(Platform::from_parts("linux/amd64", "arm64", None).is_none());
        assert!(Platform::from_parts("linux", "arm 64", None).is_none());
        assert!(Platform::from_parts("linux", "arm", Some("v7/x")).is_none());
        assert!(Platform::from_parts("linux", "amd64\u{0}", None).is_none());
        assert!(Platform::from_parts("linux", &"a".repeat(65), None).is_none());
        assert!(Platform::from_parts(" Linux ", "x86_64", None).is_some());
        assert!(Platform::from_parts("wasi", "wasm32", None).is_some());
    }

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    #[test]
    fn normalises_like_containerd() {
        let cases = [
            ("linux", "aarch64", None, "linux/arm64"),
            ("linux", "arm64", Some("v8"), "linux/arm64"),
            ("linux", "arm64", Some("8"), "linux/arm64"),
            ("linux", "arm64", Some("armv8"), "linux/arm64"),
            ("linux", "x86_64", None, "linux/amd64"),
            ("linux", "x86-64", None, "linux/amd64"),
            ("Linux", "AMD64", None, "linux/amd64"),
            ("linux", "amd64", Some("v1"), "linux/amd64"),
            ("linux", "amd64", Some("v3"), "linux/amd64/v3"),
            ("linux", "amd64", Some("2"), "linux/amd64/v2"),
            ("linux", "armhf", None, "linux/arm/v7"),
            ("linux", "armel", None, "linux/arm/v6"),
            ("linux", "arm", Some("7"), "linux/arm/v7"),
            ("linux", "arm", Some("armv7"), "linux/arm/v7"),
            ("linux", "arm", Some("v5"), "linux/arm/v5"),
            ("linux", "arm", Some("6"), "linux/arm/v6"),
            ("linux", "arm", None, "linux/arm/v7"),
            ("linux", "i386", None, "linux/386"),
            ("windows", "amd64", None, "windows/amd64"),
            ("macos", "arm64", None, "darwin/arm64"),
            ("linux", "riscv64", None, "linux/riscv64"),
        ];
        for (os, arch, variant, want) in cases {
            let got = Platform::from_parts(os, arch, variant).unwrap();
            assert_eq!(got.to_string(), want, "{os}/{arch}/{variant:?}");
        }
    }

    #[test]
    fn empty_os_or_arch_is_no_platform() {
        assert_eq!(Platform::from_parts("", "amd64", None), None);
        assert_eq!(Platform::from_parts("linux", " ", None), None);
    }

    #[test]
    fn parse_requires_os_and_rejects_garbage() {
        for bad in [
            "arm64",
            "",
            "linux/",
            "/amd64",
            "linux/arm/v7/extra",
            "linux/arm/",
        ] {
            assert!(bad.parse::<Platform>().is_err(), "{bad:?} should not parse");
        }
        assert_eq!(p("linux/aarch64").to_string(), "linux/arm64");
    }

    #[test]
    fn what_runs_on_what() {
        // (image platform, required platform, runs?)
        let table = [
            ("linux/arm64", "linux/amd64", false),
            ("linux/amd64", "linux/arm64", false),
            ("linux/amd64", "linux/amd64", true),
            ("linux/arm64/v8", "linux/arm64", true),
            ("linux/arm64/v9", "linux/arm64", true),
            ("linux/arm64", "linux/arm64/v8", true),
            ("linux/arm/v7", "linux/arm64", false),
            ("linux/arm/v6", "linux/arm/v7", true),
            ("linux/arm/v7", "linux/arm/v6", false),
            ("linux/arm/v7", "linux/arm", true),
            ("linux/amd64/v3", "linux/amd64", true),
            ("linux/amd64", "linux/amd64/v3", true),
            ("linux/amd64/v3", "linux/amd64/v2", false),
            ("windows/amd64", "linux/amd64", false),
            ("linux/386", "linux/amd64", false),
        ];
        for (image, required, want) in table {
            assert_eq!(
                p(image).runs_on(&p(required)),
                want,
                "{image} on {required}"
            );
        }
    }

    #[test]
    fn parse_list_dedupes_and_keeps_order() {
        let list = parse_list("linux/arm64, linux/amd64,linux/aarch64").unwrap();
        assert_eq!(join(&list), "linux/arm64,linux/amd64");
        assert!(parse_list(" , ").is_err());
    }
}
