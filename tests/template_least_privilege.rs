//! The SAM template grants exactly the API actions the code calls, on the narrowest resources,
//! each optional block under its condition, and wires the safety nets (dead-letter queue,
//! retries, encrypted topic and queue, JSON logs). The template is parsed as YAML, with the
//! CloudFormation short forms (`!If`, `!Sub`, `!Ref`) read as tags.

use std::collections::{BTreeMap, BTreeSet};

use ecr_arch_guard::act::alert_claim::LEASE;
use ecr_arch_guard::aws::{
    discovery_iam_actions, CONSUMER_CHANGE_IAM_ACTIONS, GATE_IAM_ACTIONS, IAM_ACTIONS,
    LAMBDA_SERVICE_IAM_ACTIONS, MEMBER_IAM_ACTIONS, ORGANISATION_IAM_ACTIONS,
};
use ecr_arch_guard::consumers::discovery::Service;
use ecr_arch_guard::event::change::{DETAIL_TYPE, WATCHED};
use ecr_arch_guard::gate::cloudformation::ResourceType;
use serde_norway::Value;

fn load(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn template() -> Value {
    load("template.yaml")
}

fn member() -> Value {
    load("deploy/member.yaml")
}

#[derive(Debug)]
struct Statement {
    condition: Option<String>,
    actions: Vec<String>,
    resources: Vec<Value>,
    /// The statement's own IAM `Condition` block.
    iam_condition: Value,
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The guard function's grants: its role's policy, and discovery's listing policy attached to
/// its role (and to the consumer index refresher's).
fn statements(t: &Value) -> Vec<Statement> {
    let r = &t["Resources"];
    assert_eq!(
        format!("{:?}", r["GuardFunction"]["Properties"]["Role"]),
        format!(
            "{:?}",
            serde_norway::from_str::<Value>("!GetAtt GuardFunctionRole.Arn").unwrap()
        ),
        "the function runs with its own role, not one SAM generates"
    );
    let policies = &r["GuardFunctionRole"]["Properties"]["Policies"];
    let mut docs: Vec<&Value> = policies
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| &p["PolicyDocument"])
        .collect();
    let discovery = &t["Resources"]["DiscoveryReadPolicy"]["Properties"];
    assert!(format!("{:?}", discovery["Roles"]).contains("GuardFunctionRole"));
    docs.push(&discovery["PolicyDocument"]);
    policy_statements(docs)
}

fn member_statements(t: &Value) -> Vec<Statement> {
    let policies = &t["Resources"]["ReaderRole"]["Properties"]["Policies"];
    policy_statements(
        policies
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| &p["PolicyDocument"])
            .collect(),
    )
}

fn policy_statements(policies: Vec<&Value>) -> Vec<Statement> {
    let mut out = Vec::new();
    for policy in policies {
        for entry in policy["Statement"].as_sequence().unwrap() {
            let (condition, body) = match entry {
                Value::Tagged(tagged) if tagged.tag == "If" => {
                    let args = tagged.value.as_sequence().unwrap();
                    (args[0].as_str().map(str::to_string), args[1].clone())
                }
                Value::Mapping(_) => (None, entry.clone()),
                other => panic!("unexpected statement {other:?}"),
            };
            assert_eq!(body["Effect"], "Allow");
            let resources = match &body["Resource"] {
                Value::Sequence(r) => r.clone(),
                r => vec![r.clone()],
            };
            out.push(Statement {
                condition,
                actions: strings(&body["Action"]),
                resources,
                iam_condition: body["Condition"].clone(),
            });
        }
    }
    out
}

fn actions_under(all: &[Statement], condition: Option<&str>) -> BTreeSet<String> {
    all.iter()
        .filter(|s| s.condition.as_deref() == condition)
        .flat_map(|s| s.actions.clone())
        .collect()
}

#[test]
fn iam_actions_granted_equal_the_actions_the_code_calls() {
    let all = statements(&template());
    let mut base = actions_under(&all, None);
    base.extend(actions_under(&all, Some("TaggingEnabled")));
    let called: BTreeSet<String> = IAM_ACTIONS
        .iter()
        .chain(LAMBDA_SERVICE_IAM_ACTIONS.iter())
        .map(|s| s.to_string())
        .collect();
    assert_eq!(base, called);
    assert_eq!(
        actions_under(&all, Some("TaggingEnabled")),
        BTreeSet::from(["ecr:PutImage".to_string()]),
        "PutImage only when tagging"
    );
    let conditions: BTreeMap<Service, &str> = BTreeMap::from([
        (Service::Ecs, "DiscoverEcsEnabled"),
        (Service::AppRunner, "DiscoverAppRunnerEnabled"),
        (Service::Lambda, "DiscoverLambdaEnabled"),
        (Service::Batch, "DiscoverBatchEnabled"),
    ]);
    for (service, condition) in conditions {
        let expected: BTreeSet<String> = discovery_iam_actions(service)
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            actions_under(&all, Some(condition)),
            expected,
            "{service} discovery actions, only under {condition}"
        );
    }
    let org: BTreeSet<String> = ORGANISATION_IAM_ACTIONS
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(actions_under(&all, Some("CentralMode")), org);
    assert_eq!(
        actions_under(&all, Some("ConsumerChangesEnabled")),
        consumer_change_actions(),
        "consumer-change reads, only under ConsumerChangesEnabled"
    );
    let gate: BTreeSet<String> = GATE_IAM_ACTIONS.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        actions_under(&all, Some("GateEnabled")),
        gate,
        "the deployment gates' reads, only under GateEnabled"
    );
    let set = |a: &[&str]| -> BTreeSet<String> { a.iter().map(|s| s.to_string()).collect() };
    assert_eq!(
        actions_under(&all, Some("EcsWatchEnabled")),
        set(&ecr_arch_guard::aws::ecs_deployments::WATCH_IAM_ACTIONS),
        "the deployment watcher's reads, only with EcsDeploymentGuard on"
    );
    assert_eq!(
        actions_under(&all, Some("EcsRollbackEnabled")),
        set(&ecr_arch_guard::aws::ecs_deployments::ROLLBACK_IAM_ACTIONS),
        "StopServiceDeployment only with EcsDeploymentGuard rollback"
    );
    let index: BTreeSet<String> = ["s3:GetObject", "s3:PutObject"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        actions_under(&all, Some("IndexEnabled")),
        index,
        "the consumer index: read by each push, written by each consumer change"
    );
    let claims: BTreeSet<String> = ecr_arch_guard::aws::s3_claims::IAM_ACTIONS
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        actions_under(&all, Some("AlertingEnabled")),
        claims,
        "each alert claimed first, only when alerting"
    );
    assert!(all.iter().all(|s| s.condition.is_none()
        || s.condition.as_deref() == Some("AlertingEnabled")
        || s.condition.as_deref() == Some("IndexEnabled")
        || s.condition.as_deref() == Some("TaggingEnabled")
        || s.condition.as_deref() == Some("CentralMode")
        || s.condition.as_deref() == Some("ConsumerChangesEnabled")
        || s.condition.as_deref() == Some("GateEnabled")
        || s.condition.as_deref() == Some("EcsWatchEnabled")
        || s.condition.as_deref() == Some("EcsRollbackEnabled")
        || s.condition.as_deref().unwrap().starts_with("Discover")));
}

#[test]
fn member_role_grants_only_reads_to_the_central_guard_inside_the_organisation() {
    let t = member();
    let all = member_statements(&t);
    let reads: BTreeSet<String> = MEMBER_IAM_ACTIONS.iter().map(|s| s.to_string()).collect();
    assert_eq!(actions_under(&all, None), reads);
    assert_eq!(
        actions_under(&all, Some("TaggingEnabled")),
        BTreeSet::from(["ecr:PutImage".to_string()])
    );
    for (service, condition) in [
        (Service::Ecs, "DiscoverEcsEnabled"),
        (Service::AppRunner, "DiscoverAppRunnerEnabled"),
        (Service::Lambda, "DiscoverLambdaEnabled"),
        (Service::Batch, "DiscoverBatchEnabled"),
    ] {
        let expected: BTreeSet<String> = discovery_iam_actions(service)
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(actions_under(&all, Some(condition)), expected, "{service}");
    }
    assert_eq!(
        actions_under(&all, Some("ConsumerChangesEnabled")),
        consumer_change_actions()
    );
    let role = &t["Resources"]["ReaderRole"];
    assert_eq!(
        role["Condition"], "CreateRole",
        "IAM is global: one region creates it"
    );
    let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert!(format!("{:?}", trust["Principal"]["AWS"]).contains("GuardRoleArn"));
    let conditions = format!("{:?}", trust["Condition"]);
    assert!(conditions.contains("aws:PrincipalOrgID") && conditions.contains("sts:ExternalId"));
    // Forwarding: the same pattern as the central rule, to the central bus.
    let rule = &t["Resources"]["ForwardEcrPushes"]["Properties"];
    assert_eq!(rule["EventPattern"]["source"][0], "aws.ecr");
    assert_eq!(
        strings(&rule["EventPattern"]["detail"]["action-type"]),
        ["PUSH", "REPLICATE"]
    );
    assert_eq!(rule["EventPattern"]["detail"]["result"][0], "SUCCESS");
    assert!(format!("{:?}", rule["Targets"][0]["Arn"]).contains("CentralEventBusArn"));
}

#[test]
fn central_bus_accepts_only_the_organisation() {
    let t = template();
    let policy = &t["Resources"]["CentralEventBusPolicy"];
    assert_eq!(policy["Condition"], "CentralMode");
    let st = &policy["Properties"]["Statement"];
    assert_eq!(st["Action"], "events:PutEvents");
    assert!(format!("{:?}", st["Condition"]["StringEquals"]).contains("aws:PrincipalOrgID"));
    let rule = &t["Resources"]["CentralEcrPushRule"]["Properties"];
    assert!(!rule["Targets"][0]["DeadLetterConfig"].is_null());
    let env = &t["Resources"]["GuardFunction"]["Properties"]["Environment"]["Variables"];
    assert!(!env["HOME_ACCOUNT_ID"].is_null() && !env["MEMBER_ROLE_NAME"].is_null());
}

/// Which actions support which resource types (and so when "*" is the only option) is checked
/// against AWS's own Service Authorization Reference by `tests/aws_reference/iam_reference.py`
/// (run by scripts/test); here: every ARN names this account (and region) only.
#[test]
fn resources_are_this_accounts_own() {
    for s in statements(&template()) {
        for r in &s.resources {
            if let Value::Tagged(t) = r {
                if t.tag == "Sub" {
                    // `!Sub ARN` or `!Sub [ARN, {Regions: !If [CentralMode, "*", !Ref AWS::Region]}]`.
                    let (arn, vars) = match &t.value {
                        Value::Sequence(form) => (form[0].as_str().unwrap(), form[1].clone()),
                        v => (v.as_str().unwrap(), Value::Null),
                    };
                    if arn.contains("${Regions}") {
                        // Central mode: the guard's own account in every region (its pushes
                        // there are forwarded to it); otherwise this region only.
                        assert_eq!(
                            format!("{:?}", vars["Regions"]),
                            format!(
                                "{:?}",
                                serde_norway::from_str::<Value>(
                                    "!If [CentralMode, \"*\", !Ref AWS::Region]"
                                )
                                .unwrap()
                            ),
                            "{arn}"
                        );
                        assert!(arn.contains("${Regions}:${AWS::AccountId}:"), "{arn}");
                        continue;
                    }
                    if arn.contains(":iam::*:role/") {
                        // Member roles in accounts not known in advance: only inside the
                        // organisation.
                        assert!(
                            format!("{:?}", s.iam_condition).contains("aws:ResourceOrgID"),
                            "{arn} needs an organisation condition"
                        );
                        continue;
                    }
                    if arn.starts_with("${StateBucket.Arn}/") {
                        // The stack's own bucket.
                        continue;
                    }
                    assert!(
                        arn.contains("${AWS::Region}:${AWS::AccountId}:"),
                        "{arn} is scoped to this account and region"
                    );
                }
            }
        }
    }
    let ecr = statements(&template())
        .into_iter()
        .find(|s| s.actions.contains(&"ecr:BatchGetImage".to_string()))
        .unwrap();
    assert!(format!("{:?}", ecr.resources).contains("repository/${RepositoryPrefix}*"));
}

#[test]
fn discovery_is_off_by_default_and_reaches_the_function() {
    let t = template();
    for p in [
        "DiscoverEcs",
        "DiscoverAppRunner",
        "DiscoverLambda",
        "DiscoverBatch",
    ] {
        assert_eq!(t["Parameters"][p]["Default"], "false", "{p}");
    }
    let env = &t["Resources"]["GuardFunction"]["Properties"]["Environment"]["Variables"];
    let discover = format!("{:?}", env["DISCOVER"]);
    for s in Service::ALL {
        assert!(discover.contains(&format!("{},", s.as_str())), "{discover}");
    }
    assert!(!env["DISCOVERY_TTL_SECONDS"].is_null());
    assert_eq!(
        t["Parameters"]["ReplicatedImages"]["Default"],
        "local-policy"
    );
    assert!(format!("{:?}", env["REPLICATION"]).contains("ReplicatedImages"));
}

#[test]
fn safety_nets_are_wired() {
    let t = template();
    let r = &t["Resources"];
    let f = &r["GuardFunction"];
    assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda");
    let p = &f["Properties"];
    assert_eq!(p["Runtime"], "provided.al2023");
    assert_eq!(p["Architectures"][0], "arm64");
    assert_eq!(p["LoggingConfig"]["LogFormat"], "JSON");
    assert_eq!(p["DeadLetterQueue"]["Type"], "SQS");
    assert_eq!(p["EventInvokeConfig"]["MaximumRetryAttempts"], 2);
    assert!(
        !r["AlertTopic"]["Properties"]["KmsMasterKeyId"].is_null(),
        "topic encrypted"
    );
    assert_eq!(
        r["DeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"],
        true
    );
    assert!(!r["GuardLogGroup"]["Properties"]["RetentionInDays"].is_null());
    let rule = &p["Events"]["EcrPush"]["Properties"];
    assert_eq!(rule["Pattern"]["source"][0], "aws.ecr");
    assert_ecr_events(&rule["Pattern"]);
    assert!(!rule["DeadLetterConfig"].is_null() && !rule["RetryPolicy"].is_null());
}

/// A pattern for pushes, and for replicated images unless `ReplicatedImages` is off.
fn assert_ecr_events(pattern: &Value) {
    let if_args = |v: &Value| match v {
        Value::Tagged(t) if t.tag == "If" => t.value.as_sequence().unwrap().clone(),
        other => panic!("expected !If [ReplicationOn, …], got {other:?}"),
    };
    let types = if_args(&pattern["detail-type"]);
    assert_eq!(types[0], "ReplicationOn");
    assert_eq!(
        strings(&types[1]),
        ["ECR Image Action", "ECR Replication Action"]
    );
    assert_eq!(strings(&types[2]), ["ECR Image Action"]);
    let actions = if_args(&pattern["detail"]["action-type"]);
    assert_eq!(strings(&actions[1]), ["PUSH", "REPLICATE"]);
    assert_eq!(strings(&actions[2]), ["PUSH"]);
    assert_eq!(pattern["detail"]["result"][0], "SUCCESS");
}

/// Organisation mode, the central account itself: its pushes in every region are read with the
/// guard's own role (granted in every region in central mode, see above); its pushes in the
/// central region arrive once, through its own rule: the member stack does not forward there,
/// and the central rule drops that account and region anyway. The central rule honours
/// RepositoryPrefix; the member's forwarding retries and keeps what fails.
#[test]
fn organisation_mode_sees_every_push_of_the_central_account_once() {
    let t = template();
    let central = &t["Resources"]["CentralEcrPushRule"]["Properties"];
    assert_ecr_events(&central["EventPattern"]);
    let or = format!("{:?}", central["EventPattern"]["$or"]);
    assert!(
        or.contains("account") && or.contains("AWS::AccountId") && or.contains("anything-but"),
        "{or}"
    );
    assert!(or.contains("region") && or.contains("AWS::Region"), "{or}");
    assert!(
        format!("{:?}", central["EventPattern"]["detail"]["repository-name"])
            .contains("RepositoryPrefix"),
        "the central rule honours RepositoryPrefix"
    );
    assert!(!central["Targets"][0]["RetryPolicy"].is_null());

    let m = member();
    let conditions = format!("{:?}", m["Conditions"]["Forward"]);
    assert!(
        conditions.contains("IsCentralAccount") && conditions.contains("IsCentralRegion"),
        "{conditions}"
    );
    for r in [
        "ForwardEcrPushes",
        "ForwardRole",
        "ForwardDeadLetterQueue",
        "ForwardDeadLetterQueuePolicy",
    ] {
        assert_eq!(m["Resources"][r]["Condition"], "Forward", "{r}");
    }
    let forward = &m["Resources"]["ForwardEcrPushes"]["Properties"];
    assert_eq!(
        strings(&forward["EventPattern"]["detail-type"]),
        ["ECR Image Action", "ECR Replication Action"]
    );
    let target = &forward["Targets"][0];
    assert!(!target["RetryPolicy"]["MaximumRetryAttempts"].is_null());
    assert!(format!("{:?}", target["DeadLetterConfig"]).contains("ForwardDeadLetterQueue"));
    assert_eq!(
        m["Resources"]["ForwardDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"],
        true
    );
}

fn consumer_change_actions() -> BTreeSet<String> {
    CONSUMER_CHANGE_IAM_ACTIONS
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// The `(source, eventSource, eventName)` triples a consumer-change pattern matches: one
/// `$or` branch per service.
fn watched_by(pattern: &Value) -> BTreeSet<(String, String, String)> {
    assert_eq!(strings(&pattern["detail-type"]), [DETAIL_TYPE]);
    let mut out = BTreeSet::new();
    for branch in pattern["$or"].as_sequence().unwrap() {
        for source in strings(&branch["source"]) {
            for es in strings(&branch["detail"]["eventSource"]) {
                for name in strings(&branch["detail"]["eventName"]) {
                    out.insert((source.clone(), es.clone(), name));
                }
            }
        }
    }
    out
}

/// Consumer changes: off by default (no trail is assumed); when on, the local rule, the
/// central rule (organisation mode) and the member's forwarding rule match exactly the calls
/// the code judges (src/change.rs WATCHED, eventNames from AWS's documentation), each with the
/// push rule's retry policy and dead-letter queue, allowed to invoke the function and to write
/// to the queue.
#[test]
fn consumer_changes_are_off_by_default_and_match_exactly_the_watched_calls() {
    let t = template();
    assert_eq!(t["Parameters"]["ConsumerChanges"]["Default"], "false");
    let watched: BTreeSet<(String, String, String)> = WATCHED
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    let r = &t["Resources"];
    for (rule, permission, condition) in [
        (
            "ConsumerChangeRule",
            "ConsumerChangePermission",
            "ConsumerChangesEnabled",
        ),
        (
            "CentralConsumerChangeRule",
            "CentralConsumerChangePermission",
            "CentralConsumerChanges",
        ),
    ] {
        assert_eq!(r[rule]["Condition"], condition, "{rule}");
        assert_eq!(r[permission]["Condition"], condition, "{permission}");
        assert!(format!("{:?}", r[permission]["Properties"]["SourceArn"]).contains(rule));
        let p = &r[rule]["Properties"];
        assert_eq!(watched_by(&p["EventPattern"]), watched, "{rule}");
        let target = &p["Targets"][0];
        assert!(format!("{:?}", target["Arn"]).contains("GuardFunction"));
        assert_eq!(target["RetryPolicy"]["MaximumRetryAttempts"], 10);
        assert!(format!("{:?}", target["DeadLetterConfig"]).contains("DeadLetterQueue"));
        let queue = format!("{:?}", r["DeadLetterQueuePolicy"]["Properties"]);
        assert!(queue.contains(rule), "the queue accepts {rule}'s failures");
    }
    assert!(format!(
        "{:?}",
        r["CentralConsumerChangeRule"]["Properties"]["EventBusName"]
    )
    .contains("CentralEventBus"));

    let m = member();
    assert_eq!(m["Parameters"]["ConsumerChanges"]["Default"], "false");
    let forward = &m["Resources"]["ForwardConsumerChanges"];
    assert_eq!(forward["Condition"], "ForwardChanges");
    let cond = format!("{:?}", m["Conditions"]["ForwardChanges"]);
    assert!(cond.contains("Forward") && cond.contains("ConsumerChangesEnabled"));
    assert_eq!(watched_by(&forward["Properties"]["EventPattern"]), watched);
    let target = &forward["Properties"]["Targets"][0];
    assert!(format!("{:?}", target["Arn"]).contains("CentralEventBusArn"));
    assert!(!target["RetryPolicy"]["MaximumRetryAttempts"].is_null());
    assert!(
        format!("{:?}", m["Resources"]["ForwardDeadLetterQueuePolicy"])
            .contains("ForwardConsumerChanges")
    );
}

/// The deployment gates: off by default; when on, the CloudFormation hook targets exactly the
/// resource types the code judges (src/gate/cloudformation.rs), for CREATE and UPDATE at
/// PRE_PROVISION, for stacks and Cloud Control API, with FailureMode from `DeployGate`; the
/// hooks service and ECS each assume a role of their own that may only invoke the guard; the
/// function learns the gate's mode and unknown policy from the stack.
#[test]
fn deployment_gates_are_off_by_default_and_target_exactly_the_judged_types() {
    let t = template();
    assert_eq!(t["Parameters"]["DeployGate"]["Default"], "off");
    assert_eq!(t["Parameters"]["DeployGateUnknown"]["Default"], "pass");
    assert_eq!(t["Parameters"]["EcsDeploymentHook"]["Default"], "false");
    let r = &t["Resources"];
    let hook = &r["DeployGateHook"];
    assert_eq!(hook["Type"], "AWS::CloudFormation::LambdaHook");
    assert_eq!(hook["Condition"], "DeployGateEnabled");
    let p = &hook["Properties"];
    assert_eq!(
        strings(&p["TargetOperations"]),
        ["RESOURCE", "CLOUD_CONTROL"]
    );
    assert_eq!(p["HookStatus"], "ENABLED");
    assert!(format!("{:?}", p["FailureMode"]).contains("DeployGateFails"));
    assert!(format!("{:?}", p["LambdaFunction"]).contains("GuardFunction"));
    assert!(format!("{:?}", p["ExecutionRole"]).contains("DeployGateRole"));
    let targets: BTreeSet<(String, String, String)> = p["TargetFilters"]["Targets"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["TargetName"].as_str().unwrap().to_string(),
                t["Action"].as_str().unwrap().to_string(),
                t["InvocationPoint"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let judged: BTreeSet<(String, String, String)> = ResourceType::ALL
        .iter()
        .flat_map(|t| {
            ["CREATE", "UPDATE"].map(|a| {
                (
                    t.type_name().to_string(),
                    a.to_string(),
                    "PRE_PROVISION".to_string(),
                )
            })
        })
        .collect();
    assert_eq!(targets, judged);
    for (role, principal, condition) in [
        (
            "DeployGateRole",
            "hooks.cloudformation.amazonaws.com",
            "DeployGateEnabled",
        ),
        (
            "EcsDeploymentHookRole",
            "ecs.amazonaws.com",
            "EcsHookEnabled",
        ),
    ] {
        let role = &r[role];
        assert_eq!(role["Condition"], condition);
        let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"];
        assert_eq!(trust.as_sequence().unwrap().len(), 1);
        assert_eq!(trust[0]["Principal"]["Service"], principal);
        let policies = role["Properties"]["Policies"].as_sequence().unwrap();
        assert_eq!(policies.len(), 1);
        let st = &policies[0]["PolicyDocument"]["Statement"];
        assert_eq!(st.as_sequence().unwrap().len(), 1);
        assert_eq!(strings(&st[0]["Action"]), ["lambda:InvokeFunction"]);
        assert!(format!("{:?}", st[0]["Resource"]).contains("GuardFunction"));
    }
    let env = &r["GuardFunction"]["Properties"]["Environment"]["Variables"];
    assert!(format!("{:?}", env["DEPLOY_GATE"]).contains("DeployGate"));
    assert!(format!("{:?}", env["DEPLOY_GATE_UNKNOWN"]).contains("DeployGateUnknown"));
    let gate = format!("{:?}", t["Conditions"]["GateEnabled"]);
    assert!(gate.contains("DeployGateEnabled") && gate.contains("EcsHookEnabled"));
}

/// An alert claim is respected for [`LEASE`] so that a live sender is never overtaken: the
/// guard's whole invocation (its timeout) must fit inside it.
#[test]
fn an_alert_claim_outlives_the_invocation_that_holds_it() {
    let t = template();
    let timeout = t["Resources"]["GuardFunction"]["Properties"]["Timeout"]
        .as_u64()
        .unwrap();
    assert!(
        timeout < LEASE.as_secs(),
        "GuardFunction's Timeout ({timeout} s) must stay under the alert claims' lease ({} s)",
        LEASE.as_secs()
    );
}

/// The deep check downloads layers: off by default; when on, it reaches the function with a
/// time budget inside the function's timeout, and needs no grant beyond the ECR reads.
#[test]
fn the_deep_check_is_off_by_default_and_reaches_the_function() {
    let t = template();
    assert_eq!(t["Parameters"]["DeepCheck"]["Default"], "false");
    let f = &t["Resources"]["GuardFunction"]["Properties"];
    let env = &f["Environment"]["Variables"];
    assert!(format!("{:?}", env["DEEP_CHECK"]).contains("DeepCheck"));
    let seconds: u64 = env["DEEP_CHECK_SECONDS"].as_str().unwrap().parse().unwrap();
    assert!(
        seconds < f["Timeout"].as_u64().unwrap(),
        "inside the timeout"
    );
}

/// No AWSLambdaBasicExecutionRole (logs:CreateLogGroup/CreateLogStream/PutLogEvents on every log
/// group): the function's role writes only to the function's own log group, and sends only to
/// its own dead-letter queue.
#[test]
fn the_function_writes_only_its_own_logs_and_dead_letter_queue() {
    let t = template();
    let r = &t["Resources"];
    assert!(r["GuardFunctionRole"]["Properties"]["ManagedPolicyArns"].is_null());
    let all = statements(&t);
    let find = |action: &str| {
        let s: Vec<&Statement> = all
            .iter()
            .filter(|s| s.actions.iter().any(|a| a == action))
            .collect();
        assert_eq!(s.len(), 1, "{action}");
        format!("{:?}", s[0].resources)
    };
    for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
        let resources = find(action);
        assert!(
            resources.contains("log-group:${GuardLogGroup}:log-stream:*")
                && !resources.contains("log-group:*"),
            "{action}: {resources}"
        );
    }
    assert!(find("sqs:SendMessage").contains("DeadLetterQueue"));
    assert_eq!(
        r["GuardFunction"]["Properties"]["LoggingConfig"]["LogGroup"],
        serde_norway::from_str::<Value>("!Ref GuardLogGroup").unwrap()
    );
}

/// The deployment watcher and the task-stop explainer: off by default; each rule (the stack's
/// own, the central bus's, the member stack's forward) matches the same events; the function
/// is told its mode; the member role grants the central guard exactly the watcher's reads, the
/// stop only where the member opts in to rollback.
#[test]
fn ecs_events_reach_the_guard_the_same_way_everywhere() {
    let t = template();
    let m = member();
    let r = &t["Resources"];
    for p in ["EcsDeploymentGuard", "EcsTaskStops"] {
        assert_eq!(
            t["Parameters"][p]["Default"], m["Parameters"][p]["Default"],
            "{p}"
        );
    }
    assert_eq!(t["Parameters"]["EcsDeploymentGuard"]["Default"], "off");
    assert_eq!(t["Parameters"]["EcsTaskStops"]["Default"], "false");
    let pattern = |res: &Value| {
        let mut p = res["Properties"]["EventPattern"].clone();
        if let Some(o) = p.as_mapping_mut() {
            // The central bus's rules also leave out the central account's own region.
            o.remove("$or");
        }
        p
    };
    for (own, central, forward) in [
        (
            "EcsDeploymentRule",
            "CentralEcsDeploymentRule",
            "ForwardEcsDeploymentEvents",
        ),
        (
            "EcsTaskStopRule",
            "CentralEcsTaskStopRule",
            "ForwardEcsTaskStopEvents",
        ),
    ] {
        assert_eq!(pattern(&r[own]), pattern(&r[central]), "{central}");
        assert_eq!(
            pattern(&r[own]),
            pattern(&m["Resources"][forward]),
            "{forward}"
        );
        assert_eq!(r[own]["Properties"]["EventPattern"]["source"][0], "aws.ecs");
    }
    assert_eq!(
        r["EcsDeploymentRule"]["Properties"]["EventPattern"]["detail"]["eventName"][0],
        ecr_arch_guard::event::ecs_deployment::IN_PROGRESS
    );
    let stops = &r["EcsTaskStopRule"]["Properties"]["EventPattern"]["detail"]["$or"];
    let codes: Vec<String> = stops
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|b| strings(&b["stopCode"]))
        .collect();
    assert_eq!(
        codes,
        ecr_arch_guard::event::ecs_task::EXPLAINED_STOP_CODES
            .iter()
            .rev()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    let env = &r["GuardFunction"]["Properties"]["Environment"]["Variables"];
    assert!(format!("{:?}", env["ECS_DEPLOYMENT_GUARD"]).contains("EcsDeploymentGuard"));
    assert!(format!("{:?}", env["ECS_TASK_STOPS"]).contains("EcsTaskStops"));

    let all = member_statements(&m);
    let set = |a: &[&str]| -> BTreeSet<String> { a.iter().map(|s| s.to_string()).collect() };
    assert_eq!(
        actions_under(&all, Some("EcsWatchEnabled")),
        set(&[
            "ecs:ListServiceDeployments",
            "ecs:DescribeServiceDeployments",
            "ecs:DescribeServiceRevisions",
            "ecs:ListAttributes"
        ])
    );
    assert_eq!(
        actions_under(&all, Some("EcsRollbackEnabled")),
        set(&ecr_arch_guard::aws::ecs_deployments::ROLLBACK_IAM_ACTIONS)
    );
    assert_eq!(
        actions_under(&all, Some("EcsWatchOrTaskStops")),
        set(&["ecs:DescribeTaskDefinition", "ecs:ListClusters"])
    );
}
