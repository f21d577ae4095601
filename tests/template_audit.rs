//! The organisation audit's IAM (`scan --organization`): the audit role deploy/member.yaml
//! creates grants exactly the reads the scan calls, only when an audit principal is named, only
//! to that principal inside the organisation, and never the guard's writes; deploy/audit.yaml
//! grants the caller exactly what the CLI calls (ListAccounts, AssumeRole on the audit role by
//! the CLI's default name, the same reads at home). That these grants exist on AWS (actions,
//! resource types, condition keys) is checked by tests/aws_reference/iam_reference.py against
//! the Service Authorization Reference; here: that they are the ones the code needs.

use std::collections::BTreeSet;

use ecr_arch_guard::aws::audit::DEFAULT_AUDIT_ROLE;
use ecr_arch_guard::aws::{AUDIT_CALLER_IAM_ACTIONS, AUDIT_IAM_ACTIONS};
use serde_norway::Value;

fn load(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        Value::Tagged(t) => strings(&t.value),
        _ => Vec::new(),
    }
}

fn actions(statements: &Value) -> BTreeSet<String> {
    statements
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|s| {
            assert_eq!(s["Effect"], "Allow");
            strings(&s["Action"])
        })
        .collect()
}

fn set(actions: &[&str]) -> BTreeSet<String> {
    actions.iter().map(|a| a.to_string()).collect()
}

#[test]
fn the_audit_role_reads_images_only_for_the_named_principal_in_the_organisation() {
    let t = load("deploy/member.yaml");
    let role = &t["Resources"]["AuditRole"];
    assert_eq!(role["Condition"], "CreateAuditRole");
    let condition = format!("{:?}", t["Conditions"]["CreateAuditRole"]);
    assert!(
        condition.contains("CreateRole") && condition.contains("AuditPrincipalArn"),
        "one region creates it (IAM is global), and only with a principal: {condition}"
    );
    assert_eq!(t["Parameters"]["AuditPrincipalArn"]["Default"], "");
    assert_eq!(
        t["Parameters"]["AuditRoleName"]["Default"], DEFAULT_AUDIT_ROLE,
        "the CLI's --role-name default"
    );
    let props = &role["Properties"];
    let trust = &props["AssumeRolePolicyDocument"]["Statement"];
    assert_eq!(trust.as_sequence().unwrap().len(), 1);
    assert!(format!("{:?}", trust[0]["Principal"]["AWS"]).contains("AuditPrincipalArn"));
    let conditions = format!("{:?}", trust[0]["Condition"]);
    assert!(conditions.contains("aws:PrincipalOrgID") && conditions.contains("sts:ExternalId"));
    let policies = props["Policies"].as_sequence().unwrap();
    assert_eq!(policies.len(), 1);
    let statements = &policies[0]["PolicyDocument"]["Statement"];
    assert_eq!(actions(statements), set(&AUDIT_IAM_ACTIONS));
    for s in statements.as_sequence().unwrap() {
        let resource = format!("{:?}", s["Resource"]);
        assert!(
            resource.contains(":repository/*") && resource.contains("${AWS::AccountId}"),
            "this account's repositories only: {resource}"
        );
    }
    // The guard's reader role is unchanged: no listing, no audit principal.
    let reader = format!("{:?}", t["Resources"]["ReaderRole"]);
    assert!(!reader.contains("DescribeImages") && !reader.contains("AuditPrincipalArn"));
}

#[test]
fn the_audit_caller_policy_grants_what_the_cli_calls() {
    let t = load("deploy/audit.yaml");
    let policy = &t["Resources"]["AuditCallerPolicy"];
    assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy");
    let statements = &policy["Properties"]["PolicyDocument"]["Statement"];
    let mut expected = set(&AUDIT_CALLER_IAM_ACTIONS);
    expected.extend(set(&AUDIT_IAM_ACTIONS));
    assert_eq!(actions(statements), expected);
    for s in statements.as_sequence().unwrap() {
        let acts = strings(&s["Action"]);
        let resource = format!("{:?}", s["Resource"]);
        if acts == ["sts:AssumeRole"] {
            assert!(
                resource.contains(":role/${AuditRoleName}"),
                "only the audit role: {resource}"
            );
            // In any account of the organisation, and no other.
            assert_eq!(
                format!("{:?}", s["Condition"]["StringEquals"]["aws:ResourceOrgID"]),
                format!(
                    "{:?}",
                    serde_norway::from_str::<Value>("!Ref OrganizationId").unwrap()
                )
            );
        } else if acts == ["organizations:ListAccounts"] {
            // ListAccounts supports no resource type (Service Authorization Reference).
            assert_eq!(s["Resource"], "*");
        } else {
            assert!(
                resource.contains("${AWS::AccountId}:repository/*"),
                "{resource}"
            );
        }
    }
    assert_eq!(
        t["Parameters"]["AuditRoleName"]["Default"],
        DEFAULT_AUDIT_ROLE
    );
}
