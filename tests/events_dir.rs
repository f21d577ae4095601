//! Every sample event in `events/` (what `sam local invoke -e`, `cargo lambda invoke
//! --data-file` and `ecr-arch-guard event` are given) parses as the Lambda's input and is
//! classified as its name says. Shapes follow AWS's documented samples (tests/fixtures/SOURCES.md).

mod common;

use common::event as load;
use ecr_arch_guard::event::change::{self, CloudTrailEvent};
use ecr_arch_guard::event::{classify, Classified, Origin};
use ecr_arch_guard::gate::cloudformation::{self, HookRequest};
use ecr_arch_guard::gate::ecs_hook::{self, LifecycleRequest};
use ecr_arch_guard::gate::{recognise, Kind};

#[test]
fn every_sample_event_parses_and_is_classified_as_named() {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/events")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".json") || name == "env.json" {
            continue;
        }
        if name.starts_with("hook-") {
            hook(&name);
            seen.push(name);
            continue;
        }
        if name.starts_with("change-") {
            let event: CloudTrailEvent = common::change_event(&name);
            let c = change::classify(&event).unwrap_or_else(|e| panic!("{name}: {e}"));
            match (name.as_str(), c) {
                ("change-ecs-update-service-scaling.json", change::Classified::Skip(why)) => {
                    assert!(why.contains("desiredCount"), "{why}")
                }
                (
                    "change-lambda-update-function-code-zip-stratus.json",
                    change::Classified::Skip(why),
                ) => assert!(why.contains("packageType Zip"), "{why}"),
                (
                    "change-ecs-update-service-force-new-deployment-real.json",
                    change::Classified::Judge(c),
                ) => {
                    // A real record (events/SOURCES.md): its own account.
                    assert_eq!(c.scope.account.as_deref(), Some("418295677815"));
                    assert_eq!(
                        c.target,
                        change::Target::EcsService {
                            cluster: "overwatch-platform".into(),
                            service: "aria-console".into()
                        }
                    );
                }
                (_, change::Classified::Judge(c)) => {
                    assert_eq!(c.scope.account.as_deref(), Some("123456789012"), "{name}");
                    assert_eq!(c.scope.region.as_deref(), Some("us-east-1"), "{name}");
                    assert!(c.caller.is_some() && c.event_time.is_some(), "{name}");
                    assert_eq!(
                        c.requested.is_some(),
                        name.ends_with("-refused.json"),
                        "{name}"
                    );
                }
                (other, c) => panic!("{other}: unexpected {c:?}"),
            }
            seen.push(name);
            continue;
        }
        if name.starts_with("ecs-deployment-") {
            use ecr_arch_guard::event::ecs_deployment::{self as deployment, DeploymentEvent};
            let event = common::event_value(&name);
            assert!(deployment::recognise(&event), "{name}");
            assert_eq!(recognise(&event), None, "{name} is no hook payload");
            match (name.as_str(), DeploymentEvent::parse(&event).classify()) {
                ("ecs-deployment-rollback.json", deployment::Classified::Skip(why)) => {
                    assert!(why.contains("rollback"), "{why}")
                }
                ("ecs-deployment-in-progress.json", deployment::Classified::Watch(s)) => {
                    assert_eq!(s.to_string(), "ECS service default/servicetest")
                }
                ("ecs-deployment-in-progress-real.json", deployment::Classified::Watch(s)) => {
                    assert_eq!(s.to_string(), "ECS service autoptic-test/mcp")
                }
                (other, c) => panic!("{other}: unexpected {c:?}"),
            }
            seen.push(name);
            continue;
        }
        if name == "ecs-task-stopped.json" {
            use ecr_arch_guard::event::ecs_task::{self as task, TaskStop};
            let event = common::event_value(&name);
            assert!(task::recognise(&event) && recognise(&event).is_none());
            let t = TaskStop::parse(&event);
            assert_eq!(t.classify(), task::Classified::Explain);
            assert_eq!(t.group(), "service:web");
            assert_eq!(t.platform().unwrap().to_string(), "linux/amd64");
            seen.push(name);
            continue;
        }
        if name == "scheduled-refresh.json" {
            let event = common::event_value(&name);
            let scope = ecr_arch_guard::handler::scheduled(&event).expect("a schedule");
            assert_eq!(scope.account.as_deref(), Some("123456789012"));
            assert_eq!(scope.region.as_deref(), Some("us-east-1"));
            seen.push(name);
            continue;
        }
        let c = classify(&load(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        match (name.as_str(), c) {
            (
                "push-arm64-only-tagged.json"
                | "push-multi-platform-index.json"
                | "push-untagged-child.json"
                | "push-marker-tag.json",
                Classified::Inspect(p),
            ) => assert_eq!(p.origin, Origin::Push, "{name}"),
            ("replicated-arm64-only.json", Classified::Inspect(p)) => {
                assert!(matches!(p.origin, Origin::Replication { .. }))
            }
            (
                "delete.json" | "push-failure.json" | "pull-through-cache.json",
                Classified::Skip(_),
            ) => {}
            (other, c) => panic!("{other}: unexpected {c:?} (add it to this table)"),
        }
        seen.push(name);
    }
    assert_eq!(seen.len(), 38, "{seen:?}");
}

/// A deployment gate's request (`hook-*`): recognised as its gate, judged or passed as named.
fn hook(name: &str) {
    let payload = common::event_value(name);
    match recognise(&payload) {
        Some(Kind::CloudFormation) => {
            let r = HookRequest::parse(payload).unwrap();
            assert!(r.client_request_token.is_some(), "{name}");
            assert_eq!(r.scope().account.as_deref(), Some("123456789012"), "{name}");
            assert_eq!(
                r.cloud_control(),
                name.starts_with("hook-cloudcontrol-"),
                "{name}"
            );
            match (name, r.classify()) {
                (
                    "hook-cfn-update-service-scaling.json"
                    | "hook-cfn-update-lambda-zip-function.json",
                    cloudformation::Classified::Pass(_),
                ) => {}
                (_, cloudformation::Classified::Judge(p)) => {
                    assert!(!name.contains("scaling") && !name.contains("zip"), "{name}");
                    assert!(!p.properties.is_null(), "{name}");
                }
                (other, c) => panic!("{other}: unexpected {c:?}"),
            }
        }
        Some(Kind::EcsLifecycle) => {
            let r = LifecycleRequest::parse(payload).unwrap();
            match (name, r.classify()) {
                ("hook-ecs-pre-scale-up.json", ecs_hook::Classified::Judge { .. }) => {}
                (
                    "hook-ecs-production-traffic-shift-rollback.json",
                    ecs_hook::Classified::Pass(why),
                ) => assert!(why.contains("rollback"), "{why}"),
                (other, c) => panic!("{other}: unexpected {c:?}"),
            }
        }
        None => panic!("{name} is not recognised as a hook request"),
    }
}

/// `sam local invoke --env-vars events/env.json` overrides only the variables the template
/// declares (SAM ignores the rest), and the function refuses to start without its topic:
/// every key must be one the template declares, `ALERT_TOPIC_ARN` among them. The same
/// settings as `KEY=VALUE` lines for `cargo lambda watch --env-file events/cargo-lambda.env`.
#[test]
fn local_invoke_settings_name_only_variables_the_function_reads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let template: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(dir.join("template.yaml")).unwrap())
            .unwrap();
    let declared =
        &template["Resources"]["GuardFunction"]["Properties"]["Environment"]["Variables"];
    let env: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("events/env.json")).unwrap()).unwrap();
    let sam = env["GuardFunction"].as_object().unwrap();
    assert!(sam.contains_key("ALERT_TOPIC_ARN"));
    for key in sam.keys() {
        assert!(
            !declared[key.as_str()].is_null(),
            "events/env.json sets {key}, which the template does not declare: SAM ignores it"
        );
    }
    let lines = std::fs::read_to_string(dir.join("events/cargo-lambda.env")).unwrap();
    let mut keys = Vec::new();
    for line in lines
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (k, v) = line.split_once('=').expect("KEY=VALUE");
        assert!(!v.is_empty(), "{k} is empty");
        keys.push(k.to_string());
        assert!(
            !declared[k].is_null() || k.starts_with("AWS_LAMBDA_"),
            "{k} is not a variable the function reads"
        );
    }
    let lookup = |k: &str| {
        lines
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")).map(str::to_string))
    };
    // The function starts with these settings (no missing topic).
    ecr_arch_guard::handler::settings::Settings::from_lookup(lookup).expect("valid settings");
    assert!(keys.iter().any(|k| k == "ALERT_TOPIC_ARN"));
}
