//! The CI recipes of docs/ci/ (GitHub Actions, GitLab CI, an Atlantis custom workflow, a
//! CodeBuild buildspec): each parses as YAML, writes the plan as JSON with `terraform show -json`
//! before judging it, and every `ecr-arch-guard` command line in it is one the CLI's own parser
//! accepts (clap, the same `Cli` the binary runs). The GitHub and GitLab files are also checked
//! against those services' schemas by scripts/test (check-jsonschema); the step's IAM policy
//! against the Service Authorization Reference.

use clap::Parser;
use ecr_arch_guard::cli::Cli;

fn recipe(name: &str) -> String {
    std::fs::read_to_string(format!("{}/docs/ci/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Every string of the document (the `run:`, `script:`, `commands:` entries among them).
fn strings(v: &serde_norway::Value, out: &mut Vec<String>) {
    match v {
        serde_norway::Value::String(s) => out.push(s.clone()),
        serde_norway::Value::Sequence(s) => s.iter().for_each(|x| strings(x, out)),
        serde_norway::Value::Mapping(m) => m.values().for_each(|x| strings(x, out)),
        serde_norway::Value::Tagged(t) => strings(&t.value, out),
        _ => {}
    }
}

/// The `ecr-arch-guard …` invocations in a shell line, as argument lists (each command of the
/// line split at `;`, `&&` and `||`, up to a redirection or a pipe).
fn invocations(line: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for part in line
        .split(['\n', ';'])
        .flat_map(|l| l.split("&&"))
        .flat_map(|l| l.split("||"))
    {
        let words: Vec<&str> = part.split_whitespace().collect();
        // The command itself, not an argument (`cargo install … ecr-arch-guard`).
        if words.first() != Some(&"ecr-arch-guard") {
            continue;
        }
        let args: Vec<String> = words
            .iter()
            .take_while(|w| !w.starts_with('>') && !w.starts_with('|'))
            .map(|w| w.trim_matches('"').to_string())
            .collect();
        out.push(args);
    }
    out
}

#[test]
fn every_recipe_judges_the_plan_json_with_a_command_the_cli_accepts() {
    for name in [
        "github-actions.yml",
        "gitlab-ci.yml",
        "atlantis-repos.yaml",
        "buildspec.yml",
    ] {
        let text = recipe(name);
        let doc: serde_norway::Value =
            serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut all = Vec::new();
        strings(&doc, &mut all);
        let commands: Vec<Vec<String>> = all
            .iter()
            .flat_map(|s| invocations(s))
            // A bare name is a value (upload-sarif's `category`), not a command.
            .filter(|args| args.len() > 1)
            .collect();
        let plans: Vec<&Vec<String>> = commands
            .iter()
            .filter(|a| a.get(1).map(String::as_str) == Some("plan"))
            .collect();
        assert!(!plans.is_empty(), "{name} runs ecr-arch-guard plan");
        for args in &commands {
            Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{name}: {args:?}: {e}"));
        }
        let show = text
            .find("terraform show -json")
            .expect("terraform show -json");
        let judge = text.find("ecr-arch-guard plan").unwrap();
        assert!(
            show < judge,
            "{name}: the plan is written as JSON before it is judged"
        );
    }
}

#[test]
fn the_atlantis_workflow_uses_its_documented_variables() {
    // Atlantis, "Custom Workflows": a `run` step sees $PLANFILE (the plan Atlantis wrote) and
    // $SHOWFILE (where Atlantis expects the plan as JSON).
    let text = recipe("atlantis-repos.yaml");
    assert!(text.contains("terraform show -json $PLANFILE > $SHOWFILE"));
    assert!(text.contains("ecr-arch-guard plan $SHOWFILE"));
}
