//! Where an ECS task or a Batch job is placed, and what that makes of an unset
//! `runtimePlatform.cpuArchitecture`: the platforms a task or job needs (Fargate, EC2 or
//! external capacity), and the architecture of container instances and EC2 instance types.
//!
//! Pure: `aws::ecs` and `aws::batch` read what AWS reports and ask here.

use crate::image::platform::Platform;

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
                        crate::image::platform::architectures(&c.platforms).join(" and ")
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

#[cfg(test)]
mod tests {
    use super::*;

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
                crate::image::platform::parse_list(platforms).unwrap()
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
}
