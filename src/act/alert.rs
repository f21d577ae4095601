//! The alert a subscriber receives: SNS subject, human-readable body with the fix, the JSON
//! verdict, and message attributes for subscription filter policies.

use std::fmt::Write;

use crate::act::message::{AttributeValue, Message};
use crate::act::report::{write_section, Report};
use crate::consumers::lambda_index::LambdaIndexUse;
use crate::image::Image;
use crate::judge::verdict::{ActionKind, Verdict, VerdictKind};

mod fit;

/// SNS subjects must be ASCII, one line, under 100 characters.
pub const MAX_SUBJECT: usize = 99;

/// SNS's message size limit (a topic's default `MaximumMessageSize`, 256 KiB): the body plus
/// every attribute's name, data type and value, in UTF-8 bytes (SNS API reference,
/// MessageAttributeValue; SNS Developer Guide, "Publishing large messages").
pub const MAX_MESSAGE_BYTES: usize = 262_144;

/// Kept free under [`MAX_MESSAGE_BYTES`] for the subject and anything SNS counts that this
/// code does not know of.
const MESSAGE_MARGIN: usize = 1_024;

/// What an alert is about: the `verdict` message attribute of an image alert.
pub const MISMATCH: &str = "mismatch";
/// An image whose executables are of another architecture than its label (the deep check).
pub const MISLABELLED: &str = "mislabelled";
/// An image index pushed under a tag a Lambda function uses (see [`crate::consumers::lambda_index`]).
pub const LAMBDA_INDEX: &str = "lambda-index";

/// Composes the alert for an image: a platform mismatch, an index a Lambda function cannot
/// use (`lambda`), or both in one message. Message attributes: `verdict` names the main
/// problem (`mismatch` wins), `problems` lists every one, so a subscription filter policy
/// `{"problems": ["lambda-index"]}` gets every alert that involves it.
pub fn compose(verdict: &Verdict, image: &Image, lambda: &[LambdaIndexUse]) -> Message {
    let uri = image.uri();
    let repository = image.repository.uri();
    let report = Report::new(verdict, &uri).with_lambda(&repository, lambda);
    let mismatch = report.is_mismatch();
    let mislabelled = verdict.verdict == VerdictKind::Mislabelled;
    let change = verdict.change.as_ref();
    let runs_on = verdict
        .runs_on
        .as_deref()
        .map(crate::image::platform::architectures)
        .map(|a| {
            if a.is_empty() {
                "nothing".into()
            } else {
                a.join("+")
            }
        })
        .unwrap_or_default();
    let subject = subject(&match (change, mismatch) {
        _ if mislabelled => format!(
            "mislabelled image ({} label, {runs_on} executables): {}",
            verdict.architectures(),
            image.short()
        ),
        (Some(c), true) => format!(
            "{}-only image for {}: {}",
            verdict.architectures(),
            c.consumer,
            image.short()
        ),
        (Some(c), false) => format!("Lambda cannot use image index: {}", c.consumer),
        (None, true) => format!(
            "{}-only image pushed: {}",
            verdict.architectures(),
            image.short()
        ),
        (None, false) => format!("Lambda cannot use image index pushed: {}", image.short()),
    });
    let mut m = String::new();
    let _ = writeln!(
        m,
        "{}",
        match (change, mismatch) {
            (Some(_), true) =>
                "ecr-arch-guard: a service was pointed at an image that will not \
                                run on it.",
            (Some(_), false) =>
                "ecr-arch-guard: a Lambda function was pointed at an image \
                                 index; Lambda cannot deploy an index.",
            (None, true) =>
                "ecr-arch-guard: an image that will not run where it is needed was pushed.",
            (None, false) =>
                "ecr-arch-guard: an image index was pushed under a tag a Lambda function uses; \
                              Lambda cannot deploy an index.",
        }
    );
    let _ = writeln!(m);
    if let Some(c) = change {
        let _ = writeln!(m, "Consumer:  {}", c.consumer);
        if let Some(line) = c.line() {
            let _ = writeln!(m, "Change:    {line}");
        }
    }
    let _ = writeln!(m, "Image:     {uri}");
    let _ = writeln!(m, "Digest:    {}", digest_text(image));
    let registry = &image.repository.registry;
    if let (Some(a), Some(r)) = (&registry.account, &registry.region) {
        let _ = writeln!(m, "Account:   {a}  Region: {r}");
    }
    let _ = writeln!(m, "Platforms: {}", report.platforms());
    if let Some(r) = report.runs_on() {
        let _ = writeln!(m, "Runs on:   {r} (its executables, not its label)");
    }
    if mismatch {
        let (required, from) = report.required();
        let from = from
            .map(|f| format!(" (required by {f})"))
            .unwrap_or_default();
        let _ = writeln!(m, "Required:  {required}{from}");
        let _ = writeln!(m, "Missing:   {}", report.missing());
    }
    write_section(&mut m, "Executables", &report.executables());
    write_section(&mut m, "Who runs it", &report.consumers());
    write_section(&mut m, "What will happen", &report.consequences());
    write_section(&mut m, "Lambda cannot use it", &report.lambda());
    for a in verdict
        .actions
        .iter()
        .filter(|a| a.action == ActionKind::Tag)
    {
        let _ = writeln!(
            m,
            "\nMarker tag: {}{}",
            a.status_text(),
            a.detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        );
    }
    for w in report.warnings() {
        let _ = writeln!(m, "\nWarning: {w}");
    }
    write_section(&mut m, "How to fix", &report.fixes());
    let mut problems = Vec::new();
    if mislabelled {
        problems.push(MISLABELLED.to_string());
    } else if mismatch {
        problems.push(MISMATCH.to_string());
    }
    if !lambda.is_empty() {
        problems.push(LAMBDA_INDEX.to_string());
    }
    let attributes = attributes(
        image,
        problems.first().cloned().unwrap_or_default(),
        verdict.architecture_list(),
        problems,
    );
    let budget = MAX_MESSAGE_BYTES - MESSAGE_MARGIN - fit::attributes_size(&attributes);
    Message {
        subject,
        body: fit::fit(m, verdict, budget),
        attributes,
    }
}

fn digest_text(image: &Image) -> String {
    image
        .digest
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// `verdict`, `problems` (a list), `repository`, `architectures` (a list), `account`,
/// `region`: what subscription filter policies route on (e.g. one queue per team's accounts).
/// Empty values are not sent.
fn attributes(
    image: &Image,
    verdict: String,
    archs: Vec<String>,
    problems: Vec<String>,
) -> Vec<(String, AttributeValue)> {
    let text = |s: Option<&String>| AttributeValue::Text(s.cloned().unwrap_or_default());
    vec![
        ("verdict".into(), AttributeValue::Text(verdict)),
        ("problems".into(), AttributeValue::List(problems)),
        ("repository".into(), text(Some(&image.repository.name))),
        ("architectures".into(), AttributeValue::List(archs)),
        (
            "account".into(),
            text(image.repository.registry.account.as_ref()),
        ),
        (
            "region".into(),
            text(image.repository.registry.region.as_ref()),
        ),
    ]
}

/// The alert when an account cannot be read at all (organisation mode: the member role is
/// missing or denies the guard). Never a silent pass: the push was not checked.
pub fn unreadable(image: &Image, reason: &str) -> Message {
    let account = image.repository.registry.account.as_deref().unwrap_or("?");
    let region = image.repository.registry.region.as_deref().unwrap_or("?");
    let mut m = String::new();
    let _ = writeln!(
        m,
        "ecr-arch-guard cannot read account {account} ({region}): the push below was NOT checked."
    );
    let _ = writeln!(m);
    let _ = writeln!(m, "Image:     {}", image.uri());
    let _ = writeln!(m, "Digest:    {}", digest_text(image));
    let _ = writeln!(m, "Account:   {account}  Region: {region}");
    let _ = writeln!(m, "Reason:    {reason}");
    let _ = writeln!(m);
    let _ = writeln!(m, "How to fix:");
    let _ = writeln!(
        m,
        "  - Deploy deploy/member.yaml to account {account} (StackSets: see the README's Organisation section), \
         with the central function's role ARN and the same external id."
    );
    let _ = writeln!(
        m,
        "  - Check that the role's trust policy names the guard's role and that no SCP denies sts:AssumeRole."
    );
    Message {
        subject: subject(&format!(
            "ecr-arch-guard cannot read account {account} ({region})"
        )),
        body: m,
        attributes: attributes(
            image,
            "unreadable".into(),
            Vec::new(),
            vec!["unreadable".into()],
        ),
    }
}

/// ASCII, no control characters, at most [`MAX_SUBJECT`] characters (cut with `...`).
pub fn subject(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect();
    let clean = clean.trim().to_string();
    if clean.len() <= MAX_SUBJECT {
        clean
    } else {
        format!("{}...", &clean[..MAX_SUBJECT - 3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumers::consumer::{ConsumerKind, ConsumerReport};

    fn image() -> Image {
        Image {
            repository: crate::image::Repository::new(
                crate::image::RegistryId::new(Some("123456789012"), Some("eu-west-1")),
                "grafana",
            ),
            tag: Some("latest".into()),
            digest: Some(crate::image::digest::Digest::of(b"grafana")),
            media_type: None,
        }
    }

    fn mismatch() -> Verdict {
        let mut v = Verdict::skipped("x");
        v.verdict = crate::judge::verdict::VerdictKind::Mismatch;
        v.platforms = crate::image::platform::parse_list("linux/arm64").unwrap();
        v.required = crate::image::platform::parse_list("linux/amd64").unwrap();
        v.missing = v.required.clone();
        v
    }

    fn sent_size(a: &Message) -> usize {
        a.body.len() + fit::attributes_size(&a.attributes)
    }

    fn json_part(a: &Message) -> serde_json::Value {
        let json = a.body.split(fit::JSON_HEADER).nth(1).expect("JSON part");
        serde_json::from_str(json).expect("the JSON verdict stays valid")
    }

    #[test]
    fn an_ordinary_alert_is_sent_whole() {
        let a = compose(&mismatch(), &image(), &[]);
        assert!(!a.body.contains("cut to fit"));
        assert_eq!(json_part(&a)["verdict"], "mismatch");
    }

    /// Thousands of consumers and long warnings would exceed SNS's 256 KiB limit (body plus
    /// attributes) and the publish would fail on every retry: the alert is capped instead,
    /// failures first, the JSON still valid.
    #[test]
    fn a_huge_alert_is_capped_under_the_sns_limit_with_valid_json() {
        let mut v = mismatch();
        let platform = crate::image::platform::parse_list("linux/amd64")
            .unwrap()
            .remove(0);
        for i in 0..5_000 {
            v.consumers.push(ConsumerReport {
                kind: ConsumerKind::EcsService,
                name: format!("cluster-{i}/service-with-a-long-name-{}", "x".repeat(40)),
                arn: format!("arn:aws:ecs:eu-west-1:123456789012:service/cluster-{i}/svc"),
                image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/grafana:latest".into(),
                platform: Some(platform.clone()),
                architecture: "X86_64".into(),
                detail: Some("EC2".into()),
                will_fail: i < 3_000,
            });
        }
        v.warnings = (0..300)
            .map(|i| format!("warning {i}: {}", "é".repeat(3_000)))
            .collect();
        let a = compose(&v, &image(), &[]);
        assert!(
            sent_size(&a) <= MAX_MESSAGE_BYTES - MESSAGE_MARGIN,
            "{} bytes",
            sent_size(&a)
        );
        assert!(a
            .body
            .contains("more lines cut to fit SNS's 262144-byte message limit"));
        let json = json_part(&a);
        assert_eq!(json["verdict"], "mismatch");
        let shown = json["consumers"].as_array().unwrap();
        assert!(!shown.is_empty() && shown.iter().all(|c| c["will_fail"] == true));
        let last = json["warnings"].as_array().unwrap().last().unwrap().clone();
        assert!(
            last.as_str().unwrap().contains("of 5000 consumers"),
            "{last}"
        );
        assert!(a
            .body
            .starts_with("ecr-arch-guard: an image that will not run"));
    }

    #[test]
    fn subject_is_ascii_single_line_and_short() {
        let s = subject(&format!(
            "arm64-only image pushed: {}:latest\nX",
            "r".repeat(150)
        ));
        assert!(s.len() <= MAX_SUBJECT, "{}", s.len());
        assert!(s.ends_with("..."));
        assert!(!s.contains('\n'));
        assert_eq!(subject("é"), "?");
    }
}
