//! The template's operations side: alarms on the dead-letter queue, function errors and
//! throttles and each rule's failed deliveries, all to the operations topic (never the image
//! alert topic), a topic CloudWatch can publish to, and a dashboard whose every metric the
//! function really writes. The template is parsed as YAML, the short forms read as tags.

use std::collections::BTreeSet;

use ecr_arch_guard::handler::metrics::{METRICS, NAMESPACE};
use serde_norway::Value;

fn template() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn text(v: &Value) -> String {
    format!("{v:?}")
}

#[test]
fn every_failure_mode_has_an_alarm_on_the_operations_topic() {
    let t = template();
    let r = &t["Resources"];
    let alarms: Vec<(&str, &Value)> = r
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, v)| v["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(k, v)| (k.as_str().unwrap(), v))
        .collect();
    let watched: BTreeSet<(String, String)> = alarms
        .iter()
        .map(|(_, a)| {
            let p = &a["Properties"];
            (
                p["Namespace"].as_str().unwrap().to_string(),
                p["MetricName"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (ns, metric) in [
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Events", "FailedInvocations"),
    ] {
        assert!(
            watched.contains(&(ns.to_string(), metric.to_string())),
            "no alarm on {ns} {metric}"
        );
    }
    for (name, a) in &alarms {
        let p = &a["Properties"];
        let actions = text(&p["AlarmActions"]);
        assert!(
            actions.contains("OperationsTopic") && !actions.contains("AlertTopic"),
            "{name} must notify the operations topic only: {actions}"
        );
        assert_eq!(p["Threshold"], 1, "{name}: any occurrence");
        assert_eq!(p["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
        assert_eq!(
            p["TreatMissingData"], "notBreaching",
            "{name}: no data is no failure"
        );
    }
    let rules: BTreeSet<String> = alarms
        .iter()
        .filter(|(_, a)| a["Properties"]["MetricName"] == "FailedInvocations")
        .map(|(_, a)| text(&a["Properties"]["Dimensions"]))
        .collect();
    for rule in [
        "GuardFunctionEcrPush",
        "ConsumerChangeRule",
        "CentralEcrPushRule",
    ] {
        assert!(
            rules.iter().any(|d| d.contains(rule)),
            "no FailedInvocations alarm for {rule}: {rules:?}"
        );
    }
    // A deployment gate that lets a change through unjudged, on the metric the function writes.
    let gate = &r["GateUnjudgedAlarm"];
    assert_eq!(gate["Condition"], "GateEnabled");
    assert_eq!(gate["Properties"]["Namespace"], NAMESPACE);
    assert!(METRICS
        .iter()
        .any(|(n, _)| *n == gate["Properties"]["MetricName"].as_str().unwrap()));
    // Alerts sent without their claim (the state bucket failing), on the metric the function
    // writes.
    let claims = &r["AlertClaimsAlarm"];
    assert_eq!(claims["Condition"], "AlertingEnabled");
    assert_eq!(claims["Properties"]["MetricName"], "AlertClaimFailures");
    assert!(METRICS.iter().any(|(n, _)| *n == "AlertClaimFailures"));
    let dlq = alarms
        .iter()
        .find(|(_, a)| a["Properties"]["Namespace"] == "AWS/SQS")
        .unwrap();
    assert!(text(&dlq.1["Properties"]["Dimensions"]).contains("DeadLetterQueue.QueueName"));
    assert!(text(&dlq.1["Properties"]["AlarmDescription"]).contains("ecr-arch-guard replay"));
}

/// CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key: the
/// operations topic has its own key, whose policy lets CloudWatch use it (from this account).
#[test]
fn the_operations_topic_is_one_cloudwatch_can_publish_to() {
    let t = template();
    let r = &t["Resources"];
    assert_eq!(t["Parameters"]["OperationsTopicArn"]["Default"], "");
    let topic = &r["OperationsTopic"];
    assert_eq!(topic["Condition"], "CreateOperationsTopic");
    let key = text(&topic["Properties"]["KmsMasterKeyId"]);
    assert!(
        key.contains("OperationsKey") && !key.contains("alias/aws/sns"),
        "{key}"
    );
    let policy = &r["OperationsKey"]["Properties"]["KeyPolicy"]["Statement"];
    let cw = policy
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| text(&s["Principal"]).contains("cloudwatch.amazonaws.com"))
        .expect("a statement for CloudWatch");
    let actions = text(&cw["Action"]);
    assert!(actions.contains("kms:Decrypt") && actions.contains("kms:GenerateDataKey"));
    assert!(text(&cw["Condition"]).contains("aws:SourceAccount"));
    assert_eq!(r["OperationsKey"]["Properties"]["EnableKeyRotation"], true);
    assert!(text(&t["Outputs"]["OperationsTopicArn"]).contains("OperationsTopic"));
}

/// The dashboard body is valid JSON once CloudFormation substitutes it, and every metric of
/// the guard's namespace it shows is one the function writes (a renamed metric would leave an
/// empty graph). It shows pushes judged, mismatches, errors, dead-letter depth and duration
/// percentiles.
#[test]
fn the_dashboard_shows_what_the_function_writes() {
    let t = template();
    let body = &t["Resources"]["Dashboard"]["Properties"]["DashboardBody"];
    let Value::Tagged(sub) = body else {
        panic!("DashboardBody is a !Sub")
    };
    let args = sub.value.as_sequence().unwrap();
    let mut json = args[0].as_str().unwrap().to_string();
    for (k, v) in [
        ("${AWS::Region}", "us-east-1"),
        ("${Function}", "stack-guard"),
        ("${Queue}", "stack-DeadLetterQueue-ABC"),
    ] {
        json = json.replace(k, v);
    }
    assert!(!json.contains("${"), "every variable substituted: {json}");
    let dashboard: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let written: BTreeSet<&str> = METRICS.iter().map(|(n, _)| *n).collect();
    let mut shown = BTreeSet::new();
    let mut stats = BTreeSet::new();
    for w in dashboard["widgets"].as_array().unwrap() {
        let mut namespace = String::new();
        for m in w["properties"]["metrics"].as_array().unwrap() {
            let m = m.as_array().unwrap();
            if let Some(ns) = m[0].as_str().filter(|s| *s != "." && *s != "...") {
                namespace = ns.to_string();
            }
            if let Some(name) = m.get(1).and_then(|n| n.as_str()).filter(|n| *n != ".") {
                if namespace == NAMESPACE {
                    assert!(
                        written.contains(name),
                        "{name} is not a metric the function writes"
                    );
                }
                shown.insert(name.to_string());
            }
            if let Some(stat) = m
                .last()
                .and_then(|o| o.get("stat"))
                .and_then(|s| s.as_str())
            {
                stats.insert(stat.to_string());
            }
        }
    }
    for name in [
        "Fits",
        "Mismatches",
        "Errors",
        "ApproximateNumberOfMessagesVisible",
        "Duration",
    ] {
        assert!(
            shown.contains(name),
            "the dashboard shows no {name}: {shown:?}"
        );
    }
    assert_eq!(
        stats,
        BTreeSet::from(["p50".to_string(), "p90".into(), "p99".into()])
    );
    let env = &t["Resources"]["GuardFunction"]["Properties"]["Environment"]["Variables"];
    assert!(text(&env["METRICS_PER_REPOSITORY"]).contains("MetricsPerRepository"));
    assert_eq!(t["Parameters"]["MetricsPerRepository"]["Default"], "false");
}

/// Organisation mode: the member stack's forwarding dead-letter queue has its alarm too, on a
/// topic of the member account when one is given.
#[test]
fn the_member_forwarding_queue_has_an_alarm_when_a_topic_is_given() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/member.yaml");
    let m: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(m["Parameters"]["OperationsTopicArn"]["Default"], "");
    let alarm = &m["Resources"]["ForwardDeadLetterQueueAlarm"];
    assert_eq!(alarm["Condition"], "AlarmForwardFailures");
    let cond = text(&m["Conditions"]["AlarmForwardFailures"]);
    assert!(
        cond.contains("Forward") && cond.contains("OperationsTopicArn"),
        "{cond}"
    );
    let p = &alarm["Properties"];
    assert_eq!(p["MetricName"], "ApproximateNumberOfMessagesVisible");
    assert!(text(&p["Dimensions"]).contains("ForwardDeadLetterQueue.QueueName"));
    assert!(text(&p["AlarmActions"]).contains("OperationsTopicArn"));
}

/// Reserved concurrency is a parameter, unset by default (reserving fails on accounts whose
/// quota leaves less than 100 unreserved), and reaches the guard function only when set;
/// events throttled over it are retried by Lambda for up to 6 hours (the function's maximum
/// event age), then go to the dead-letter queue.
#[test]
fn reserved_concurrency_is_opt_in_and_throttled_events_wait_6_hours() {
    let t = template();
    let p = &t["Parameters"]["ReservedConcurrency"];
    assert_eq!(p["Default"], -1);
    assert!(text(&t["Conditions"]["HasReservedConcurrency"]).contains("ReservedConcurrency"));
    let f = &t["Resources"]["GuardFunction"]["Properties"];
    let reserved = text(&f["ReservedConcurrentExecutions"]);
    assert!(
        reserved.contains("HasReservedConcurrency") && reserved.contains("NoValue"),
        "{reserved}"
    );
    assert_eq!(f["EventInvokeConfig"]["MaximumEventAgeInSeconds"], 21600);
}
