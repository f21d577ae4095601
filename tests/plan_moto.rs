//! `ecr-arch-guard plan` end to end on moto's ECR: real plans terraform-compliance publishes, a
//! Terraform plan in HashiCorp's JSON output format (`tests/fixtures/plan/terraform-plan.json`: a
//! module, a replacement, a deletion, a value known only at apply, a .zip function, a data
//! source), AWS CDK's own synthesized templates
//! (`cdk-lambda-ecr-docker*.template.json`, the integration-test snapshots AWS publishes), an ECS
//! task definition file; exit codes; the SARIF output against the OASIS SARIF 2.1.0 schema; and
//! the same resources judged identically by `plan` and by the CloudFormation hook.
//! Provenance of every input: `tests/fixtures/SOURCES.md`.

mod common;

use std::process::Output;

use common::grafana::Grafana;
use common::images::{AMD_CONFIG, AMD_MANIFEST};
use common::local_aws::*;
use ecr_arch_guard::aws::wiring::lambda_guard;
use ecr_arch_guard::handler::settings::Settings;
use ecr_arch_guard::handler::Answer;
use serde_json::{json, Value};

const CDK_REPO: &str = "cdk-hnb659fds-container-assets-123456789012-us-east-1";
/// The asset hashes the two CDK snapshots name as image tags.
const ARM64_FUNCTION_TAG: &str = "027b9b499ce9e488d4c3cfa41abdbdc6afe203989a5bd77258f471da03f3f040";
const X86_FUNCTION_TAG: &str = "768d7b6c1d41b85135f498fe0cca69fea410be3c3322c69cf08690aaad29a610";

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/plan/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn plan(local: &Grafana, args: &[&str]) -> Output {
    let mut cmd = local_cli(env!("CARGO_BIN_EXE_ecr-arch-guard"), &local.gap.endpoint);
    cmd.arg("plan").args(args);
    cmd.output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// moto with grafana (`latest` arm64-only, `amd` amd64-only) and the CDK asset repository
/// holding an amd64-only image under both snapshots' asset tags (pushed here: the snapshots'
/// images are built at `cdk deploy`).
async fn world() -> Grafana {
    let local = Grafana::start().await;
    create_repository(&local.ecr, CDK_REPO).await;
    for tag in [ARM64_FUNCTION_TAG, X86_FUNCTION_TAG] {
        push_image(
            &local.ecr,
            &local.gap,
            CDK_REPO,
            AMD_MANIFEST,
            AMD_CONFIG,
            Some(tag),
        )
        .await;
    }
    local
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terraform_plan_is_judged_resource_by_resource() {
    let local = world().await;
    local.gap.take_calls();
    let o = plan(
        &local,
        &[&fixture("terraform-plan.json"), "--format", "json"],
    );
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    // Five resources name two images (grafana:amd three times, grafana:latest twice): each
    // image is read once.
    let calls = local.gap.take_calls();
    let reads = calls.iter().filter(|c| *c == "ecr:BatchGetImage").count();
    assert_eq!(reads, 2, "{calls:?}");
    let v = json_out(&o);
    let rulings: Vec<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["address"].as_str().unwrap().to_string(),
                j["ruling"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("module.app.aws_ecs_task_definition.web", "refuse"),
        ("module.app.aws_ecs_service.web", "pass"),
        ("aws_ecs_task_definition.worker", "pass"),
        ("aws_ecs_task_definition.pending", "not-judged"),
        ("aws_lambda_function.api", "refuse"),
        ("aws_lambda_function.cron", "pass"),
        ("aws_apprunner_service.site", "refuse"),
        ("aws_batch_job_definition.nightly", "pass"),
    ];
    assert_eq!(
        rulings,
        expected
            .map(|(a, r)| (a.to_string(), r.to_string()))
            .to_vec(),
        "deleted resources, other types and data sources are not listed"
    );
    let web = &v[0];
    let message = web["message"].as_str().unwrap();
    for says in [
        "REFUSED by ecr-arch-guard",
        "module.app.aws_ecs_task_definition.web",
        "grafana:amd",
        "linux/amd64 only",
        "ARM64",
        "docker buildx build --platform",
    ] {
        assert!(message.contains(says), "{says:?} missing from:\n{message}");
    }
    assert!(web["line"].as_u64().unwrap() > 1);
    assert!(v[3]["message"]
        .as_str()
        .unwrap()
        .contains("container_definitions is known only at apply"));
    assert!(v[1]["message"]
        .as_str()
        .unwrap()
        .contains("module.app.aws_ecs_task_definition.web"));

    // Text: one line per resource, the reason under the refused ones, a count.
    let o = plan(&local, &[&fixture("terraform-plan.json")]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("REFUSED    AWS::Lambda::Function aws_lambda_function.api"),
        "{text}"
    );
    assert!(
        text.contains("8 resource(s): 3 refused, 1 not judged, 4 ok"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdk_templates_and_task_definition_files_and_the_exit_codes() {
    let local = world().await;
    let account = "AWS::AccountId=123456789012";
    // AWS CDK's DockerImageFunction on arm64, whose asset image was built amd64-only.
    let o = plan(
        &local,
        &[
            &fixture("cdk-lambda-ecr-docker-arm64.template.json"),
            "--parameter",
            account,
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&o), 1);
    let v = json_out(&o);
    assert_eq!(v[0]["address"], "MyLambdaCCE802FB");
    assert_eq!(v[0]["ruling"], "refuse");
    assert_eq!(v[0]["line"], 34);
    // The same image for the x86_64 function: fits.
    let o = plan(
        &local,
        &[
            &fixture("cdk-lambda-ecr-docker.template.json"),
            "--parameter",
            account,
        ],
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    // `--require` overrides what the function's platform says: before moving it to Graviton.
    let o = plan(
        &local,
        &[
            &fixture("cdk-lambda-ecr-docker.template.json"),
            "--parameter",
            account,
            "--require",
            "linux/amd64,linux/arm64",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&o), 1);
    let v = json_out(&o);
    assert_eq!(v[0]["verdicts"][0]["required_from"], "flag");
    assert_eq!(v[0]["verdicts"][0]["missing"], json!(["linux/arm64"]));
    // Without the account the asset's URI cannot be told: not judged, never a silent pass.
    let o = plan(
        &local,
        &[
            &fixture("cdk-lambda-ecr-docker-arm64.template.json"),
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&o), 0);
    let v = json_out(&o);
    assert_eq!(v[0]["ruling"], "not-judged");
    assert!(v[0]["message"]
        .as_str()
        .unwrap()
        .contains("--parameter AWS::AccountId="));
    let o = plan(
        &local,
        &[
            &fixture("cdk-lambda-ecr-docker-arm64.template.json"),
            "--unknown",
            "fail",
        ],
    );
    assert_eq!(code(&o), 1, "--unknown fail: what was not judged fails");
    // A RegisterTaskDefinition request file: ARM64 with an amd64-only image.
    let o = plan(&local, &[&fixture("arm64-task-definition.json")]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stdout)
        .contains("REFUSED    AWS::ECS::TaskDefinition web-graviton"));
    // AWS's own example task definitions (ECS Developer Guide, "Example task definitions"): the
    // Fargate web server runs Docker Hub's httpd (not an ECR image: not judged, said so); the
    // ECR example names an image this registry does not hold (not judged, said so). Neither
    // is a silent pass, neither an error.
    for (file, says) in [
        (
            "aws-example-webserver-fargate.json",
            "httpd:2.4 is not an Amazon ECR image",
        ),
        ("aws-example-ecr-image-task-role.json", "aws-nodejs-sample"),
    ] {
        let o = plan(&local, &[&fixture(file), "--format", "json"]);
        assert_eq!(code(&o), 0, "{file}");
        let v = json_out(&o);
        assert_eq!(v[0]["ruling"], "not-judged", "{file}: {v:#}");
        assert!(
            v[0]["message"].as_str().unwrap().contains(says),
            "{file}: {v:#}"
        );
    }
    // Errors: 2.
    assert_eq!(code(&plan(&local, &["/nonexistent/plan.json"])), 2);
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.json");
    std::fs::write(&other, r#"{"hello": "world"}"#).unwrap();
    let o = plan(&local, &[other.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a Terraform plan"));
}

/// The SARIF log validates against the OASIS SARIF 2.1.0 JSON schema as Microsoft's
/// `@microsoft/sarif-multitool-linux` 5.7.0 ships it (`tests/fixtures/sarif/sarif-2.1.0.json`),
/// checked with the `jsonschema` package (Draft 2020-12) of the project's Python environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sarif_log_is_valid_sarif_2_1_0() {
    let local = world().await;
    let o = plan(
        &local,
        &[&fixture("terraform-plan.json"), "--format", "sarif"],
    );
    assert_eq!(code(&o), 1);
    let log = json_out(&o);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let levels: Vec<&str> = results
        .iter()
        .map(|r| r["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["error", "warning", "error", "error"]);
    assert_eq!(results[0]["ruleId"], "ecr-arch-guard/wrong-architecture");
    assert!(
        results[0]["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap()
            > 1
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.sarif");
    std::fs::write(&path, &o.stdout).unwrap();
    let check = validate_sarif(&path);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    // And an invalid log is caught by the same check (the check is not vacuous).
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    std::fs::write(&path, broken.to_string()).unwrap();
    let check = validate_sarif(&path);
    assert!(
        !check.status.success(),
        "a level outside the enum is invalid"
    );
}

/// `path` against the vendored SARIF 2.1.0 schema (Draft 2020-12, the project's Python
/// `jsonschema`): each error printed, exit 1 when there is one.
fn validate_sarif(path: &std::path::Path) -> Output {
    let root = env!("CARGO_MANIFEST_DIR");
    std::process::Command::new(format!("{root}/.venv/bin/python"))
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.Draft202012Validator.check_schema(schema)\n\
             errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2]))))\n\
             [print(e.json_path, e.message) for e in errors]\n\
             sys.exit(1 if errors else 0)",
            &format!("{root}/tests/fixtures/sarif/sarif-2.1.0.json"),
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap()
}

/// One table, both entries: each resource as the CloudFormation hook receives it
/// (`events/hook-cfn-create-task-definition.json` with its properties varied) and as `plan`
/// reads it from a template holding the same properties — the same ruling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_the_cloudformation_hook_rule_alike() {
    let local = world().await;
    let hook_guard = lambda_guard(
        Settings {
            allow_http_downloads: true,
            ..Settings::default()
        },
        local.config.clone(),
    )
    .unwrap();
    let base = common::event_value("hook-cfn-create-task-definition.json");
    let image = |tag: &str| format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/grafana:{tag}");
    let cases = [
        ("X86_64", image("latest"), "refuse"),
        ("ARM64", image("latest"), "pass"),
        ("X86_64", image("amd"), "pass"),
        ("ARM64", image("amd"), "refuse"),
        ("X86_64", image("multi"), "pass"),
        (
            "X86_64",
            "public.ecr.aws/nginx/nginx:latest".to_string(),
            "not-judged",
        ),
        ("X86_64", image("no-such-tag"), "not-judged"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut named = 0;
    for (i, (cpu, img, expected)) in cases.iter().enumerate() {
        let mut hook = base.clone();
        hook["clientRequestToken"] = format!("table-{i}").into();
        let props = &mut hook["requestData"]["targetModel"]["resourceProperties"];
        props["RuntimePlatform"]["CpuArchitecture"] = (*cpu).into();
        props["ContainerDefinitions"][0]["Image"] = img.clone().into();
        let properties = props.clone();
        let Ok(Answer::Gate(gate)) = hook_guard.handle_any(hook).await else {
            panic!("a hook answer")
        };
        let hook_ruling = match gate.ruling.kind {
            ecr_arch_guard::gate::RulingKind::Pass => "pass",
            ecr_arch_guard::gate::RulingKind::Refuse => "refuse",
            ecr_arch_guard::gate::RulingKind::NotJudged => "not-judged",
        };
        let template = json!({"Resources": {"WebTaskDefinition": {
            "Type": "AWS::ECS::TaskDefinition", "Properties": properties}}});
        let file = dir.path().join(format!("Case-{i}.json"));
        std::fs::write(&file, template.to_string()).unwrap();
        let o = plan(&local, &[file.to_str().unwrap(), "--format", "json"]);
        let v = json_out(&o);
        let plan_ruling = v[0]["ruling"].as_str().unwrap();
        if let Some(change) = v[0]["verdicts"][0].get("change") {
            named += 1;
            let name = change["event_name"].as_str().unwrap();
            assert!(
                name.starts_with("cloudformation plan ")
                    && name.contains(&format!("Case-{i}.json")),
                "the file named as given: {name}"
            );
        }
        assert_eq!(
            (hook_ruling, plan_ruling),
            (*expected, *expected),
            "case {i}: {cpu} {img}: hook {hook_ruling}, plan {plan_ruling}"
        );
        let verdicts = |vs: Vec<Value>| -> Vec<String> {
            vs.iter()
                .map(|x| x["verdict"].as_str().unwrap_or("").to_string())
                .collect()
        };
        assert_eq!(
            verdicts(
                gate.verdicts
                    .iter()
                    .map(|x| serde_json::to_value(x).unwrap())
                    .collect()
            ),
            verdicts(v[0]["verdicts"].as_array().cloned().unwrap_or_default()),
            "case {i}: the same verdicts"
        );
    }
    assert!(
        named >= 4,
        "the judged cases name their plan file ({named})"
    );
}

/// Real plans published in terraform-compliance's own test suite (`tests/fixtures/SOURCES.md`):
/// Terraform 0.12 and 1.0 output, a module, creations, updates, deletions and no-ops of dozens
/// of resource types. Their Lambda functions are .zip functions (0.12's AWS provider had no
/// image functions): each listed and passed without a read; no other resource is listed; exit 0.
#[test]
fn real_published_plans_are_read() {
    let lambdas = |names: &[&str]| -> Vec<String> { names.iter().map(|s| s.to_string()).collect() };
    for (file, expected) in [
        (
            "terraform-compliance-issue-522.plan.json",
            lambdas(&["aws_lambda_function.lambda"]),
        ),
        (
            "terraform-compliance-issue-249.plan.json",
            lambdas(&["module.lambda_TFUpgradeTest.aws_lambda_function.lambda"]),
        ),
        (
            "terraform-compliance-it-must-be-in-pass.plan.json",
            (1..=4)
                .map(|i| format!("aws_lambda_function.test_lambda{i}"))
                .collect(),
        ),
    ] {
        // Nothing to read: no AWS endpoint is needed (a closed port stands in for one).
        let o = local_cli(env!("CARGO_BIN_EXE_ecr-arch-guard"), "http://127.0.0.1:9")
            .args(["plan", &fixture(file), "--format", "json"])
            .output()
            .unwrap();
        assert_eq!(
            code(&o),
            0,
            "{file}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v = json_out(&o);
        let listed: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["address"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(listed, expected, "{file}");
        for j in v.as_array().unwrap() {
            assert_eq!(j["ruling"], "pass", "{file}: {j:#}");
            assert!(
                j["message"].as_str().unwrap().contains(".zip function"),
                "{j:#}"
            );
            assert!(j["line"].as_u64().is_some(), "{file}: the resource's line");
        }
    }
}
