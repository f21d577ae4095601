//! The deep check: trust the binaries, not only the label. The image config's `architecture`
//! is a label a build can get wrong (a `--platform linux/arm64` build that `COPY`s an amd64
//! binary keeps the base image's arm64 label); the kernel decides by the executable's own header.
//! This finds what a container of the image executes ([`crate::binary::entrypoint`]), reads it from the
//! image's layers ([`crate::binary::rootfs`]) following `PATH`, symbolic links and `#!` interpreters,
//! and reports each ELF's machine ([`crate::binary::elf`]): an image whose executables are of another
//! architecture than its label is *mislabelled* — and the label loses.
//!
//! What it cannot see: a binary fetched or built at start-up, one chosen by a script's logic
//! (only a `#!` line and a simple `sh -c` command are followed), a program given at run time
//! (`docker run IMAGE other-program`, an ECS `command` override), and a Windows image (PE files).
//! What it does not read: anything past the budget (then "not checked: budget", never an error).

use serde::Serialize;

use crate::binary::elf::{Elf, Linking, NotElf};
use crate::binary::entrypoint::{self, Program};
use crate::binary::layer_stream::{Limits, Meter};
use crate::binary::rootfs::{Fault, LayerSource, MergedFs, Resolved};
use crate::binary::shebang::Shebang;
use crate::image::image_config::RunConfig;
use crate::image::platform::Platform;
use crate::util::env_value;

pub mod target;

/// Whether and within what the guard deep-checks (`DEEP_CHECK`, `DEEP_CHECK_BUDGET_MIB`,
/// `DEEP_CHECK_SECONDS`; the CLI's `--deep`). Off by default for ECR: it downloads layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeepConfig {
    pub enabled: bool,
    pub limits: Limits,
}

impl DeepConfig {
    /// Reads the variables through `get` (values trimmed, empty as absent).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<DeepConfig, crate::Error> {
        let mut c = DeepConfig {
            enabled: env_value::flag(get("DEEP_CHECK"), "DEEP_CHECK")?,
            ..DeepConfig::default()
        };
        let number = |k: &str, max| env_value::number(get(k), k, 1, max);
        if let Some(mib) = number("DEEP_CHECK_BUDGET_MIB", 10_240)? {
            c.limits.download = mib << 20;
            c.limits.expanded = c.limits.expanded.max((mib << 20) * 8);
        }
        if let Some(s) = number("DEEP_CHECK_SECONDS", 900)? {
            c.limits.time = std::time::Duration::from_secs(s);
        }
        Ok(c)
    }
}

/// `#!` interpreters followed in one chain (Linux's `BINPRM_MAX_RECURSION`).
const MAX_INTERPRETERS: usize = 4;

/// One executable found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Executable {
    /// As the config names it.
    pub program: String,
    /// `ENTRYPOINT`, `CMD`, `the shell command`, `the Lambda runtime`.
    pub source: String,
    /// The file examined, after `PATH`, symbolic links and interpreters.
    pub path: String,
    /// How it was reached: links followed, scripts and their `#!` lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
    /// `ELF 64-bit LSB x86-64, statically linked`.
    pub kind: String,
    /// What it runs on; `null` for a machine this code does not name.
    pub platform: Option<Platform>,
    /// `static`, or the dynamic loader it needs (`/lib/ld-musl-x86_64.so.1`).
    pub linking: String,
}

/// The deep check of one image manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeepCheck {
    /// The image manifest's digest.
    pub manifest: String,
    /// What its config says (`linux/arm64`).
    pub label: Platform,
    pub executables: Vec<Executable>,
    /// What the executables run on, when they agree; `null` when none was found or they
    /// disagree (then nothing runs it).
    pub runs_on: Option<Platform>,
    pub mislabelled: bool,
    /// Why the check did not finish (`budget: …`, a corrupt layer, no program named).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_checked: Option<String>,
    /// What else to know (a program not found, names that climb out of the root).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The programs the image names that could not be examined (not in the image, a symbolic
    /// link loop, a broken ELF header): for them the label alone was judged, which the verdict's
    /// warnings say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unexamined: Vec<String>,
    pub downloaded_bytes: u64,
    pub layers_read: usize,
    pub layers: usize,
    /// Layers read to their end and found to match their digest (a layer read in part cannot
    /// be verified: its digest covers the whole).
    pub layers_verified: usize,
}

impl DeepCheck {
    /// `config says linux/arm64; /app/server is an ELF 64-bit LSB x86-64, …`.
    pub fn summary(&self) -> String {
        let exes: Vec<String> = self
            .executables
            .iter()
            .map(|e| format!("{} is an {}", e.path, e.kind))
            .collect();
        format!("config says {}; {}", self.label, exes.join("; "))
    }
}

/// Deep-checks `target` (its config's run settings, its label, its layers bottom first), its
/// layers read through `source` within `limits`.
pub fn check(target: &target::Target, source: &dyn LayerSource, limits: Limits) -> DeepCheck {
    let target::Target {
        manifest,
        label,
        run,
        layers,
    } = target;
    let mut report = DeepCheck {
        manifest: manifest.to_string(),
        label: label.clone(),
        executables: Vec::new(),
        runs_on: None,
        mislabelled: false,
        not_checked: None,
        notes: Vec::new(),
        unexamined: Vec::new(),
        downloaded_bytes: 0,
        layers_read: 0,
        layers: layers.len(),
        layers_verified: 0,
    };
    if label.os != "linux" {
        report.not_checked = Some(format!(
            "a {} image: its executables are not ELF files (only Linux images are checked)",
            label.os
        ));
        return report;
    }
    let programs = entrypoint::programs(run);
    if programs.is_empty() {
        report.not_checked = Some(
            "the image names no program (no ENTRYPOINT or CMD): what runs is given at run time"
                .into(),
        );
        return report;
    }
    let mut fs = MergedFs::new(source, layers, Meter::new(limits));
    for program in &programs {
        match examine(&mut fs, program, run) {
            Ok(Ok(Some(exe))) => report.executables.push(exe),
            Ok(Ok(None)) => {}
            Ok(Err(problem)) => {
                report.unexamined.push(problem.clone());
                report.notes.push(problem);
            }
            Err(Fault(why)) => {
                report.not_checked = Some(why);
                break;
            }
        }
    }
    report.downloaded_bytes = fs.meter().downloaded();
    let tally = fs.tally();
    report.notes.append(&mut tally.notes);
    report.layers_read = tally.opened;
    report.layers_verified = tally.verified;
    let mut platforms: Vec<Platform> = report
        .executables
        .iter()
        .filter_map(|e| e.platform.clone())
        .collect();
    platforms.sort();
    platforms.dedup_by(|a, b| a.architecture == b.architecture);
    report.mislabelled = platforms
        .iter()
        .any(|p| p.architecture != label.architecture);
    report.runs_on = match platforms.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    };
    if platforms.len() > 1 {
        report.notes.push(format!(
            "its executables are of different architectures ({}): no host runs them all",
            crate::image::platform::join(&platforms)
        ));
    }
    report
}

/// Deep-checks each of `targets` through `source`, each within its own `limits`.
pub fn check_all(
    targets: &[target::Target],
    source: &dyn LayerSource,
    limits: Limits,
) -> Vec<DeepCheck> {
    targets.iter().map(|t| check(t, source, limits)).collect()
}

/// One program, followed to the ELF file the kernel loads. `Ok(Err(problem))` for what makes
/// this program fail whatever the architecture (not found, not executable); `Ok(Ok(None))` for
/// an optional program that is not there.
fn examine(
    fs: &mut MergedFs<'_>,
    program: &Program,
    run: &RunConfig,
) -> Result<Result<Option<Executable>, String>, Fault> {
    let mut name = program.name.clone();
    let mut via = Vec::new();
    for _ in 0..=MAX_INTERPRETERS {
        let candidates = entrypoint::candidates(&name, run);
        let mut found = None;
        for c in &candidates {
            match fs.resolve(c)? {
                Resolved::File(f) => {
                    found = Some(f);
                    break;
                }
                Resolved::Loop(at) => {
                    return Ok(Err(format!(
                        "{name}: too many symbolic links at {at} (a loop): it cannot start"
                    )))
                }
                Resolved::Missing(_) | Resolved::NotAFile(_) => {}
            }
        }
        let Some(f) = found else {
            if program.optional && via.is_empty() {
                return Ok(Ok(None));
            }
            return Ok(Err(format!(
                "{name} ({}) is not in the image (looked for {}): it cannot start, whatever the \
                 architecture",
                program.source,
                candidates.join(", ")
            )));
        };
        via.extend(f.links.iter().cloned());
        match Elf::parse(&f.head) {
            Ok(elf) => {
                return Ok(Ok(Some(Executable {
                    program: program.name.clone(),
                    source: program.source.to_string(),
                    path: f.path,
                    via,
                    kind: elf.to_string(),
                    platform: elf.platform(),
                    linking: match &elf.linking {
                        Linking::Static => "static".into(),
                        Linking::Dynamic(i) => i.clone(),
                        Linking::Unknown => "unknown".into(),
                    },
                })))
            }
            Err(NotElf::Broken(why)) => {
                return Ok(Err(format!("{}: a broken ELF header ({why})", f.path)))
            }
            Err(NotElf::NoMagic) => {}
        }
        let Some(shebang) = Shebang::parse(&f.head) else {
            return Ok(Err(format!(
                "{} ({}) is neither an ELF binary nor a #! script",
                f.path, program.source
            )));
        };
        via.push(format!(
            "{}: #!{}{}",
            f.path,
            shebang.interpreter,
            shebang
                .argument
                .as_deref()
                .map(|a| format!(" {a}"))
                .unwrap_or_default()
        ));
        name = shebang
            .env_program()
            .unwrap_or(&shebang.interpreter)
            .to_string();
    }
    Ok(Err(format!(
        "{}: more than {MAX_INTERPRETERS} #! interpreters in a row",
        program.name
    )))
}
