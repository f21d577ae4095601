//! The alert a subscriber receives: SNS subject, human-readable body with the fix, the JSON
//! verdict, and message attributes for subscription filter policies.

use std::fmt::Write;

use crate::advice;
use crate::platform;
use crate::verdict::Verdict;

/// SNS subjects must be ASCII, one line, under 100 characters.
pub const MAX_SUBJECT: usize = 99;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub subject: String,
    pub message: String,
    /// `verdict`, `repository`, `architectures`, `account`, `region`.
    pub attributes: Vec<(String, AttributeValue)>,
}

/// A message attribute's value, as SNS subscription filter policies see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributeValue {
    /// An SNS `String`.
    Text(String),
    /// An SNS `String.Array`: a filter policy value matches when it equals any element, so
    /// `{"architectures": ["arm64"]}` catches an image whose architectures are `arm` and `arm64`.
    List(Vec<String>),
}

impl AttributeValue {
    /// Nothing to send (SNS refuses empty attribute values).
    pub fn is_empty(&self) -> bool {
        match self {
            AttributeValue::Text(s) => s.is_empty(),
            AttributeValue::List(l) => l.is_empty(),
        }
    }
}

/// Where the image lives, for naming it in commands.
#[derive(Clone, Debug, Default)]
pub struct ImageName {
    pub account: Option<String>,
    pub region: Option<String>,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: String,
}

impl ImageName {
    /// `123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag` (or `@sha256:…` when untagged).
    pub fn uri(&self) -> String {
        let host = match (&self.account, &self.region) {
            (Some(a), Some(r)) => format!("{a}.dkr.ecr.{r}.{}/", dns_suffix(r)),
            _ => String::new(),
        };
        match &self.tag {
            Some(t) => format!("{host}{}:{t}", self.repository),
            None => format!("{host}{}@{}", self.repository, self.digest),
        }
    }

    /// `repo:tag` or `repo@sha256:0123456789ab`.
    pub fn short(&self) -> String {
        match &self.tag {
            Some(t) => format!("{}:{t}", self.repository),
            None => format!(
                "{}@{}",
                self.repository,
                &self.digest[..self.digest.len().min(19)]
            ),
        }
    }
}

fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// Composes the alert for a mismatch.
pub fn compose(verdict: &Verdict, image: &ImageName) -> Alert {
    let archs = verdict.architectures();
    let subject = subject(&format!("{archs}-only image pushed: {}", image.short()));
    let uri = image.uri();
    let mut m = String::new();
    let _ = writeln!(
        m,
        "ecr-arch-guard: an image that will not run where it is needed was pushed."
    );
    let _ = writeln!(m);
    let _ = writeln!(m, "Image:     {uri}");
    let _ = writeln!(m, "Digest:    {}", image.digest);
    if let (Some(a), Some(r)) = (&image.account, &image.region) {
        let _ = writeln!(m, "Account:   {a}  Region: {r}");
    }
    let _ = writeln!(m, "Platforms: {}", platform::join(&verdict.platforms));
    let from = verdict
        .required_from
        .as_ref()
        .map(|f| format!(" (required by {f})"))
        .unwrap_or_default();
    let _ = writeln!(m, "Required:  {}{from}", platform::join(&verdict.required));
    let _ = writeln!(m, "Missing:   {}", platform::join(&verdict.missing));
    if !verdict.consumers.is_empty() {
        let _ = writeln!(m);
        let _ = writeln!(m, "Who runs it:");
        for c in &verdict.consumers {
            let _ = writeln!(m, "  - {}", c.line());
        }
    }
    let _ = writeln!(m);
    let _ = writeln!(m, "What will happen:");
    for c in advice::consequences(&verdict.missing) {
        let _ = writeln!(m, "  - {c}");
    }
    for a in verdict.actions.iter().filter(|a| a.action == "tag") {
        let _ = writeln!(
            m,
            "\nMarker tag: {}{}",
            a.status,
            a.detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        );
    }
    for w in &verdict.warnings {
        let _ = writeln!(m, "\nWarning: {w}");
    }
    let _ = writeln!(m);
    let _ = writeln!(m, "How to fix:");
    for f in advice::fix_commands(&uri, verdict) {
        let _ = writeln!(m, "  - {f}");
    }
    let _ = writeln!(m);
    let _ = writeln!(m, "Verdict (JSON):");
    let _ = writeln!(
        m,
        "{}",
        serde_json::to_string_pretty(verdict).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    );
    Alert {
        subject,
        message: m,
        attributes: attributes(
            image,
            verdict.verdict.to_string(),
            verdict.architecture_list(),
        ),
    }
}

/// `verdict`, `repository`, `architectures` (a list), `account`, `region`: what subscription
/// filter policies route on (e.g. one queue per team's accounts). Empty values are not sent.
fn attributes(
    image: &ImageName,
    verdict: String,
    archs: Vec<String>,
) -> Vec<(String, AttributeValue)> {
    let text = |s: Option<&String>| AttributeValue::Text(s.cloned().unwrap_or_default());
    vec![
        ("verdict".into(), AttributeValue::Text(verdict)),
        ("repository".into(), text(Some(&image.repository))),
        ("architectures".into(), AttributeValue::List(archs)),
        ("account".into(), text(image.account.as_ref())),
        ("region".into(), text(image.region.as_ref())),
    ]
}

/// The alert when an account cannot be read at all (organisation mode: the member role is
/// missing or denies the guard). Never a silent pass: the push was not checked.
pub fn unreadable(image: &ImageName, reason: &str) -> Alert {
    let account = image.account.as_deref().unwrap_or("?");
    let region = image.region.as_deref().unwrap_or("?");
    let mut m = String::new();
    let _ = writeln!(
        m,
        "ecr-arch-guard cannot read account {account} ({region}): the push below was NOT checked."
    );
    let _ = writeln!(m);
    let _ = writeln!(m, "Image:     {}", image.uri());
    let _ = writeln!(m, "Digest:    {}", image.digest);
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
    Alert {
        subject: subject(&format!(
            "ecr-arch-guard cannot read account {account} ({region})"
        )),
        message: m,
        attributes: attributes(image, "unreadable".into(), Vec::new()),
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

    #[test]
    fn uri_names_the_ecr_registry() {
        let n = ImageName {
            account: Some("123456789012".into()),
            region: Some("eu-west-1".into()),
            repository: "grafana".into(),
            tag: Some("latest".into()),
            digest: "sha256:abc".into(),
        };
        assert_eq!(
            n.uri(),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/grafana:latest"
        );
        let untagged = ImageName { tag: None, ..n };
        assert_eq!(
            untagged.uri(),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/grafana@sha256:abc"
        );
    }
}
