//! The consumer index in the SAM template: on by default with discovery, an encrypted private
//! bucket reached over TLS only, the refresher on a 5-minute schedule with exactly the grants
//! it uses (the S3 actions `aws::index_s3::IAM_ACTIONS`, discovery's listing policy, the
//! member role in organisation mode), and an alarm when refreshes keep failing.

use std::collections::BTreeSet;

use ecr_arch_guard::aws::index_s3;
use serde_norway::Value;

fn template() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn text(v: &Value) -> String {
    format!("{v:?}")
}

fn actions(statement: &Value) -> BTreeSet<String> {
    match &statement["Action"] {
        Value::String(s) => BTreeSet::from([s.clone()]),
        Value::Sequence(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_index_is_on_with_discovery_and_its_bucket_is_private_encrypted_and_tls_only() {
    let t = template();
    assert_eq!(t["Parameters"]["ConsumerIndex"]["Default"], "true");
    let enabled = text(&t["Conditions"]["IndexEnabled"]);
    assert!(enabled.contains("ConsumerIndex") && enabled.contains("AnyDiscovery"));
    let any = text(&t["Conditions"]["AnyDiscovery"]);
    for d in ["Ecs", "AppRunner", "Lambda", "Batch"] {
        assert!(any.contains(&format!("Discover{d}Enabled")), "{any}");
    }
    let r = &t["Resources"];
    // The guard's state bucket: the index, and the alert claims (so it exists with alerting too).
    let bucket = &r["StateBucket"];
    assert!(bucket["Condition"].is_null());
    let p = &bucket["Properties"];
    assert_eq!(
        p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            ["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "AES256"
    );
    for k in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(p["PublicAccessBlockConfiguration"][k], true, "{k}");
    }
    assert_eq!(
        p["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
        "BucketOwnerEnforced"
    );
    let deny = &r["StateBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Condition"]["Bool"]["aws:SecureTransport"], "false");
    // The guard learns the bucket: for the index, and to claim each alert (one per event).
    let env = &r["GuardFunction"]["Properties"]["Environment"]["Variables"];
    assert!(text(&env["CONSUMER_INDEX_BUCKET"]).contains("StateBucket"));
    let claims = text(&env["ALERT_CLAIMS_BUCKET"]);
    assert!(
        claims.contains("AlertingEnabled") && claims.contains("StateBucket"),
        "{claims}"
    );
    let rules = text(&p["LifecycleConfiguration"]);
    assert!(
        rules.contains("alerts/") && rules.contains("consumers/"),
        "{rules}"
    );
}

#[test]
fn the_refresher_runs_every_5_minutes_within_its_timeout_with_only_what_it_uses() {
    let t = template();
    let r = &t["Resources"];
    let f = &r["ConsumerIndexFunction"];
    assert_eq!(f["Condition"], "IndexEnabled");
    let p = &f["Properties"];
    let schedule = &p["Events"]["Refresh"];
    assert_eq!(schedule["Type"], "Schedule");
    assert_eq!(schedule["Properties"]["Schedule"], "rate(5 minutes)");
    assert_eq!(p["Handler"], "bootstrap");
    let env = &p["Environment"]["Variables"];
    // Each service's listing ends within its deadline, well inside the function's timeout.
    let deadline: u64 = env["CONSUMER_INDEX_REFRESH_SECONDS"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(deadline + 30 <= p["Timeout"].as_u64().unwrap());
    assert_eq!(env["ACTIONS"], "none", "the refresher never alerts");
    assert_eq!(
        text(&env["DISCOVER"]),
        text(&r["GuardFunction"]["Properties"]["Environment"]["Variables"]["DISCOVER"]),
        "it lists what the guard would"
    );
    assert_eq!(p["EventInvokeConfig"]["MaximumRetryAttempts"], 0);

    // Its grants (its own role): its log group, the index's S3 actions, the member role in
    // organisation mode.
    assert!(text(&p["Role"]).contains("ConsumerIndexFunctionRole"));
    let role = &r["ConsumerIndexFunctionRole"];
    assert_eq!(role["Condition"], "IndexEnabled");
    let statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let mut s3 = BTreeSet::new();
    let mut conditional = BTreeSet::new();
    for s in statements {
        match s {
            Value::Tagged(tagged) => {
                let args = tagged.value.as_sequence().unwrap();
                assert_eq!(args[0], "CentralMode");
                conditional.extend(actions(&args[1]));
                assert!(text(&args[1]["Condition"]).contains("aws:ResourceOrgID"));
            }
            s if s["Sid"] == "WriteOwnLogs" => {
                assert!(text(&s["Resource"]).contains("${ConsumerIndexLogGroup}:log-stream:*"));
            }
            s => {
                s3.extend(actions(s));
                assert!(text(&s["Resource"]).contains("StateBucket"));
            }
        }
    }
    let expected: BTreeSet<String> = index_s3::IAM_ACTIONS
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(s3, expected);
    assert_eq!(conditional, BTreeSet::from(["sts:AssumeRole".to_string()]));
    // And discovery's listing, the same policy the guard has.
    let roles = text(&r["DiscoveryReadPolicy"]["Properties"]["Roles"]);
    assert!(roles.contains("GuardFunctionRole") && roles.contains("ConsumerIndexFunctionRole"));

    let alarm = &r["ConsumerIndexRefreshAlarm"]["Properties"];
    assert_eq!(alarm["MetricName"], "Errors");
    assert!(text(&alarm["Dimensions"]).contains("ConsumerIndexFunction"));
    assert!(text(&alarm["AlarmActions"]).contains("OperationsTopic"));
}
