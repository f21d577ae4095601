//! The layout rules, checked on the sources: the module graph of `src/` has no circle (a
//! module's `crate::` and `super::` references are its imports), only `src/aws/` names the AWS
//! SDK (and only the CLI its default configuration chain), and no source file grows past what a
//! reader takes in at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The Lambda's entry point, in its own package (`lambda/`).
fn lambda_main() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lambda/src/main.rs")
}

/// `aws::ecr` for src/aws/ecr.rs, `cli` for src/cli/mod.rs; `None` for the binaries.
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts[0] == "bin" {
        return None;
    }
    if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
        parts.pop();
    }
    Some(if parts.is_empty() {
        "lib".into()
    } else {
        parts.join("::")
    })
}

/// The code of a file: comment lines (doc links are not imports) left out.
fn code(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn words_after(text: &str, prefix: &str) -> Vec<String> {
    text.match_indices(prefix)
        .map(|(i, _)| {
            text[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect::<String>()
        })
        .collect()
}

/// Module → the modules it refers to.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let texts: BTreeMap<String, String> = files
        .iter()
        .filter_map(|f| Some((module_of(f)?, code(&std::fs::read_to_string(f).unwrap()))))
        .collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &texts {
        let mut refs = Vec::new();
        for path in words_after(text, "crate::") {
            let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
            // The longest module path the reference starts with.
            for n in (1..=parts.len().min(2)).rev() {
                let candidate = parts[..n].join("::");
                if texts.contains_key(&candidate) {
                    refs.push(candidate);
                    break;
                }
            }
        }
        if let Some(parent) = module.rsplit_once("::").map(|(p, _)| p.to_string()) {
            for path in words_after(text, "super::") {
                let first = path.split("::").next().unwrap_or_default();
                let candidate = format!("{parent}::{first}");
                if texts.contains_key(&candidate) {
                    refs.push(candidate);
                } else if !first.is_empty() {
                    refs.push(parent.clone());
                }
            }
        }
        let deps = g.entry(module.clone()).or_default();
        // A module's own tests and submodules do not count as an import of it by itself.
        deps.extend(refs.into_iter().filter(|r| r != module && r != "lib"));
    }
    g
}

/// The circles of `g`, each as `a -> b -> … -> a`; with `skip_family`, edges between a module
/// and its own parent or child are left out.
fn circles(g: &BTreeMap<String, BTreeSet<String>>, skip_family: bool) -> BTreeSet<String> {
    fn walk(
        g: &BTreeMap<String, BTreeSet<String>>,
        skip_family: bool,
        path: &mut Vec<String>,
        circles: &mut BTreeSet<String>,
        done: &mut BTreeSet<String>,
    ) {
        let here = path.last().unwrap().clone();
        for next in g.get(&here).into_iter().flatten() {
            let family =
                next.starts_with(&format!("{here}::")) || here.starts_with(&format!("{next}::"));
            if skip_family && family {
                continue;
            }
            if let Some(i) = path.iter().position(|p| p == next) {
                circles.insert(format!("{} -> {next}", path[i..].join(" -> ")));
            } else if !done.contains(next) {
                path.push(next.clone());
                walk(g, skip_family, path, circles, done);
                path.pop();
            }
        }
        done.insert(here);
    }
    let mut found = BTreeSet::new();
    let mut done = BTreeSet::new();
    for start in g.keys() {
        walk(
            g,
            skip_family,
            &mut vec![start.clone()],
            &mut found,
            &mut done,
        );
    }
    found
}

#[test]
fn the_modules_import_no_circle() {
    // A parent module re-exporting its children (`pub mod x;` in mod.rs) is not an import: only
    // edges between leaf modules and to other parents count here; the top-level test below
    // catches what passes through a parent's own child.
    let found = circles(&graph(), true);
    assert!(found.is_empty(), "import circles:\n{found:#?}");
}

/// The same graph with each module taken as the top-level module it belongs to (`change`,
/// `gate`, `verdict`, …): a circle that passes through a parent's own child
/// (`change` → `change::target` → `gate::cloudformation` → `gate::ruling` → `verdict` →
/// `change`) is a circle between `change`, `gate` and `verdict`, which the leaf-level walk
/// above does not see (it skips parent–child edges). Found by an outside reading of the
/// imports; broken by moving `Proposal` and `ResourceType` (what a change proposes) into
/// `change`, and the deep check's rule on a verdict into `verdict::mislabelled`.
#[test]
fn the_top_level_modules_import_no_circle() {
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let root = |m: &str| m.split("::").next().unwrap_or_default().to_string();
    for (module, deps) in graph() {
        let from = root(&module);
        let to = top.entry(from.clone()).or_default();
        to.extend(deps.iter().map(|d| root(d)).filter(|d| *d != from));
    }
    let circles = circles(&top, false);
    assert!(
        circles.is_empty(),
        "import circles between top-level modules:\n{circles:#?}"
    );
}

/// The stages of `src/`, lowest first: the folders tell the flow — what was pushed (`image`),
/// what it executes (`binary`), who runs it (`consumers`), what comes in (`event`), the
/// judgement (`judge`), what is done about it (`act`), the deployment gates' answers (`gate`),
/// the guard's pipeline (`handler`), the audit (`scan`), then the AWS adapters and the CLI. Each
/// stage's module doc says what it may import.
const STAGES: [&str; 12] = [
    "util",
    "image",
    "binary",
    "consumers",
    "event",
    "judge",
    "act",
    "gate",
    "handler",
    "scan",
    "aws",
    "cli",
];

/// A module imports only its own stage and the stages below it: nothing runs back up the flow.
/// (Shown failing once: `use crate::judge::verdict::Verdict;` in `image/digest.rs` gives
/// "image::digest (image) imports judge::verdict (judge), a later stage".)
#[test]
fn each_stage_imports_only_itself_and_the_stages_below() {
    let rank = |module: &str| {
        let stage = module.split("::").next().unwrap_or_default();
        STAGES.iter().position(|s| *s == stage)
    };
    let mut upward = Vec::new();
    let mut unstaged = BTreeSet::new();
    for (module, deps) in graph() {
        let Some(from) = rank(&module) else {
            unstaged.insert(module.clone());
            continue;
        };
        for dep in deps {
            match rank(&dep) {
                Some(to) if to > from => upward.push(format!(
                    "{module} ({}) imports {dep} ({}), a later stage",
                    STAGES[from], STAGES[to]
                )),
                Some(_) => {}
                None => {
                    unstaged.insert(dep);
                }
            }
        }
    }
    unstaged.remove("lib");
    assert!(
        unstaged.is_empty(),
        "modules outside every stage folder: {unstaged:?} (put each in the stage it belongs to)"
    );
    assert!(
        upward.is_empty(),
        "imports that run back up the flow:\n{upward:#?}"
    );
}

#[test]
fn only_the_aws_adapters_name_the_aws_sdk() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut offenders = Vec::new();
    for f in files {
        let rel = f.strip_prefix(src()).unwrap().to_path_buf();
        if rel.starts_with("aws") {
            continue;
        }
        let text = code(&std::fs::read_to_string(&f).unwrap());
        // A path into one of the SDK's crates (`aws_sdk_ecr::…`, `aws_config::…`); names in
        // strings (log filter targets) are not uses.
        for krate in [
            "aws_sdk_",
            "aws_config::",
            "aws_credential_types::",
            "aws_smithy_",
        ] {
            for (i, _) in text.match_indices(krate) {
                let rest = &text[i..];
                let path: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let quoted = text[..i].ends_with('"');
                if path.contains("::") && !quoted {
                    offenders.push(format!("{}: {path}", rel.display()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

/// The SDK's default configuration loader (profiles, SSO, IMDS, ...) is named in one place,
/// `aws::config_loader`, called only by the CLI's `Connection`; the Lambda's configuration
/// comes from its environment (`aws::environment`) and its roles from `aws::assume_role`.
/// Anything else calling the loader, or `AssumeRoleProvider` (whose builder falls back to it),
/// would link the whole chain into `bootstrap` again (1 MB, and 0.4 ms of every cold start).
#[test]
fn only_the_cli_loads_the_sdks_default_configuration_chain() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut offenders = Vec::new();
    for f in files {
        let rel = f.strip_prefix(src()).unwrap().display().to_string();
        let text = code(&std::fs::read_to_string(&f).unwrap());
        for name in [
            "aws_config::defaults",
            "aws_config::load_defaults",
            "aws_config::from_env",
            "aws_config::load_from_env",
            "ConfigLoader",
            "AssumeRoleProvider",
            "DefaultCredentialsChain",
            "config_loader(",
        ] {
            let allowed = match name {
                "aws_config::defaults" | "ConfigLoader" => rel == "aws/mod.rs",
                "config_loader(" => rel == "aws/mod.rs" || rel == "aws/wiring.rs",
                _ => false,
            };
            if text.contains(name) && !allowed {
                offenders.push(format!("{rel}: {name}"));
            }
        }
        if rel == "aws/wiring.rs" {
            let lambda = &text[text.find("pub fn lambda(").unwrap()..];
            let lambda = &lambda[..lambda.find("\n}\n").unwrap()];
            assert!(
                lambda.contains("environment::sdk_config") && !lambda.contains(".config()"),
                "the Lambda's guard is built on its environment: {lambda}"
            );
        }
    }
    let bootstrap = code(&std::fs::read_to_string(lambda_main()).unwrap());
    assert!(
        bootstrap.contains("wiring::lambda(") && !bootstrap.contains("Connection"),
        "bootstrap builds its guard with wiring::lambda"
    );
    assert!(offenders.is_empty(), "{offenders:#?}");
}

/// A source file a newcomer reads in one sitting: at most this many lines, tests included.
/// Past it, a file holds more than one concept and is split (as `placement.rs` left
/// `consumer.rs`, and `layout/tar_index.rs` left `layout.rs`).
const MAX_LINES: usize = 400;

#[test]
fn no_source_file_grows_past_what_a_reader_takes_in_at_once() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    // The test harness too: each of its files is one piece of local AWS.
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common"),
        &mut files,
    );
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these by concept (at most {MAX_LINES} lines each): {long:?}"
    );
}

/// The Lambda is its own package (`lambda/`) so that its dependency features are its own: it
/// takes the library without the `cli` feature (clap, indicatif, the SDK's SSO and process
/// credential providers, Organizations, SQS), and SAM builds it from there.
#[test]
fn the_lambda_package_takes_the_library_without_the_cli() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("lambda/Cargo.toml")).unwrap();
    let dep = manifest
        .lines()
        .find(|l| l.starts_with("ecr-arch-guard ="))
        .expect("lambda/Cargo.toml depends on ecr-arch-guard");
    assert!(
        dep.contains("default-features = false") && !dep.contains("features = ["),
        "{dep}"
    );
    let library = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let cli = library
        .lines()
        .find(|l| l.starts_with("cli = ["))
        .expect("a cli feature");
    for gated in [
        "clap",
        "indicatif",
        "aws-sdk-organizations",
        "aws-sdk-sqs",
        "sso",
    ] {
        assert!(
            cli.contains(gated),
            "{gated} only under the cli feature: {cli}"
        );
    }
    let template = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let uris: Vec<&str> = template
        .lines()
        .filter(|l| l.trim_start().starts_with("CodeUri:"))
        .collect();
    assert!(!uris.is_empty());
    assert!(
        uris.iter().all(|l| l.trim() == "CodeUri: lambda"),
        "every function is built from the Lambda package: {uris:?}"
    );
}
