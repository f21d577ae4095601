//! The SAM template grants exactly the API actions the code calls, on narrow resources, and
//! wires the safety nets (dead-letter queue, retries, encrypted topic, JSON logs).

use std::collections::BTreeSet;

fn template() -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml"))
        .unwrap()
}

#[test]
fn iam_actions_granted_equal_the_actions_the_code_calls() {
    let t = template();
    let granted: BTreeSet<&str> = t
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("- "))
        .filter(|a| a.starts_with("ecr:") || a.starts_with("sns:"))
        .collect();
    let called: BTreeSet<&str> = ecr_arch_guard::aws::IAM_ACTIONS.iter().copied().collect();
    assert_eq!(granted, called);
}

#[test]
fn no_wildcard_resources_and_put_image_only_when_tagging() {
    let t = template();
    assert!(
        !t.contains("Resource: \"*\"")
            && !t.contains("Resource: '*'")
            && !t.contains("Resource: *")
    );
    let put = t.find("- ecr:PutImage").unwrap();
    let before = &t[..put];
    let cond = before.rfind("- TaggingEnabled").unwrap();
    assert!(
        put - cond < 200,
        "ecr:PutImage sits inside the TaggingEnabled condition"
    );
    assert!(t.contains("repository/${RepositoryPrefix}*"));
}

#[test]
fn safety_nets_are_wired() {
    let t = template();
    for needle in [
        "BuildMethod: rust-cargolambda",
        "Runtime: provided.al2023",
        "Architectures: [arm64]",
        "KmsMasterKeyId:",
        "SqsManagedSseEnabled: true",
        "DeadLetterQueue:\n        Type: SQS",
        "MaximumRetryAttempts: 2",
        "LogFormat: JSON",
        "RetentionInDays:",
        "detail-type: [ECR Image Action]",
        "action-type: [PUSH]",
        "result: [SUCCESS]",
    ] {
        assert!(t.contains(needle), "template.yaml lacks {needle:?}");
    }
}
