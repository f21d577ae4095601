//! A gate's ruling on a change: the verdicts of the images it deploys, turned into pass,
//! refuse or not judged, with a message that puts the verdict and the fix first (CloudFormation
//! truncates it at 4,096 characters, Cloud Control API at 1,024).

use crate::consumers::consumer::ConsumerKind;
use crate::consumers::lambda_index;
use crate::image::platform::{self, Platform};
use crate::judge::verdict::{Verdict, VerdictKind};

/// What the gate makes of a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RulingKind {
    /// Every image fits its consumer (or nothing needed judging).
    Pass,
    /// An image will not run where the change puts it: the change must not proceed.
    Refuse,
    /// Something could not be judged (not in ECR, unreadable, too slow); nothing was refused.
    NotJudged,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ruling {
    pub kind: RulingKind,
    /// The verdict and the fix first, then the details.
    pub message: String,
    /// Not judged because of the guard's own failure (an error, a timeout), not because of
    /// what the image is: CloudFormation's `InternalFailure` rather than `NonCompliant`.
    pub internal: bool,
}

impl Ruling {
    pub fn new(kind: RulingKind, message: String) -> Ruling {
        Ruling {
            kind,
            message,
            internal: false,
        }
    }

    /// Passed without a read.
    pub fn pass(reason: &str) -> Ruling {
        Ruling::new(RulingKind::Pass, format!("ecr-arch-guard: {reason}."))
    }

    /// The guard failed (an error, a timeout): nothing judged.
    pub fn failed(subject: &str, why: &str) -> Ruling {
        Ruling {
            internal: true,
            ..Ruling::new(
                RulingKind::NotJudged,
                format!("ecr-arch-guard could not judge {subject}: {why}."),
            )
        }
    }

    /// The ruling on the verdicts of every image `subject` deploys.
    pub fn of(subject: &str, verdicts: &[Verdict]) -> Ruling {
        let refused: Vec<&Verdict> = verdicts.iter().filter(|v| refuses(v)).collect();
        let unjudged: Vec<&Verdict> = verdicts
            .iter()
            .filter(|v| matches!(v.verdict, VerdictKind::Skipped | VerdictKind::NotAnImage))
            .collect();
        let mut lines = Vec::new();
        let kind = if !refused.is_empty() {
            lines.push(format!(
                "REFUSED by ecr-arch-guard: {subject} would not start ({} of {} image(s) cannot \
                 run on it).",
                refused.len(),
                verdicts.len()
            ));
            for v in &refused {
                lines.push(refusal(v));
            }
            RulingKind::Refuse
        } else if !unjudged.is_empty() {
            lines.push(format!(
                "ecr-arch-guard could not judge {subject}: {} of {} image(s) not judged.",
                unjudged.len(),
                verdicts.len()
            ));
            RulingKind::NotJudged
        } else {
            lines.push(format!(
                "ecr-arch-guard: {subject}: every image runs on its platform ({}).",
                verdicts
                    .iter()
                    .map(image_line)
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
            RulingKind::Pass
        };
        for v in &unjudged {
            lines.push(format!(
                "Not judged: {}",
                v.reason.as_deref().unwrap_or("no reason given")
            ));
        }
        if kind == RulingKind::Refuse {
            for v in verdicts.iter().filter(|v| v.verdict == VerdictKind::Fits) {
                lines.push(format!("Fits: {}", image_line(v)));
            }
        }
        Ruling::new(kind, lines.join("\n"))
    }

    /// The message cut to `max` characters (the verdict and the fix come first, so what is cut
    /// is detail), ending in `…` when cut.
    pub fn message_within(&self, max: usize) -> String {
        crate::util::ellipsis::within_chars(&self.message, max)
    }
}

/// Whether a verdict stops the change: a mismatch, an image whose executables (the deep check)
/// do not run on the consumer, or an index a Lambda function cannot deploy.
fn refuses(v: &Verdict) -> bool {
    v.verdict == VerdictKind::Mismatch
        || (v.verdict == VerdictKind::Mislabelled && !v.missing.is_empty())
        || lambda_refuses(v)
}

fn lambda_refuses(v: &Verdict) -> bool {
    v.warnings
        .iter()
        .any(|w| w.starts_with(lambda_index::WARNING_START))
}

/// `REPO:TAG (sha256:0123456789ab): linux/arm64`.
fn image_line(v: &Verdict) -> String {
    format!(
        "{} ({}): {}",
        reference(v),
        short_digest(v),
        if v.platforms.is_empty() {
            "no platform".to_string()
        } else {
            platform::join(&v.platforms)
        }
    )
}

/// The image as the consumer names it, else the repository and tag.
fn reference(v: &Verdict) -> String {
    v.consumers
        .first()
        .map(|c| c.image.clone())
        .or_else(|| {
            v.repository
                .as_ref()
                .map(|r| format!("{r}:{}", v.tag.as_deref().unwrap_or("?")))
        })
        .unwrap_or_else(|| "the image".into())
}

fn short_digest(v: &Verdict) -> String {
    v.digest
        .as_deref()
        .map(|d| d.chars().take("sha256:".len() + 12).collect())
        .unwrap_or_else(|| "no digest".into())
}

/// One refused image: what it is, who cannot run it, and the fix.
fn refusal(v: &Verdict) -> String {
    let image = reference(v);
    if v.verdict == VerdictKind::Mislabelled {
        let said: Vec<String> = v
            .deep
            .iter()
            .filter(|c| c.mislabelled)
            .map(|c| c.summary())
            .collect();
        return format!(
            "- {image} ({}) is mislabelled: {}; it does not run on {}: exec format error. Fix: \
             rebuild the binary for the label's platform (docker buildx build --platform … so the \
             toolchain cross-compiles) instead of COPYing one built for another",
            short_digest(v),
            said.join("; "),
            platform::join(&v.missing)
        );
    }
    if v.verdict != VerdictKind::Mismatch {
        // A Lambda function and an image index: the warning says why and the fix.
        let why = v
            .warnings
            .iter()
            .find(|w| w.starts_with(lambda_index::WARNING_START))
            .cloned()
            .unwrap_or_default();
        return format!("- {image} ({}) is an image index. {why}", short_digest(v));
    }
    let who: Vec<String> = v
        .consumers
        .iter()
        .filter(|c| c.will_fail)
        .map(|c| format!("{} {} ({})", c.kind, c.name, c.architecture))
        .collect();
    let who = if who.is_empty() {
        "its consumer".to_string()
    } else {
        who.join(", ")
    };
    format!(
        "- {image} ({}) is {} only; {who} needs {}: exec format error. Fix: {}",
        short_digest(v),
        platform::join(&v.platforms),
        platform::join(&v.missing),
        fix(v, &image)
    )
}

/// The shortest fixes: push the missing platform, or move the consumer to the image's.
fn fix(v: &Verdict, image: &str) -> String {
    let mut all: Vec<String> = v
        .platforms
        .iter()
        .chain(&v.missing)
        .filter(|p| p.os == "linux")
        .map(Platform::to_string)
        .collect();
    all.sort();
    all.dedup();
    let missing = v
        .missing
        .first()
        .map(Platform::to_string)
        .unwrap_or_else(|| "linux/amd64".into());
    let mut out = format!(
        "push an image for {missing}: docker buildx build --platform {} --tag {image} --push . \
         (a public image pulled on a Mac: docker pull --platform {missing} SOURCE, then tag and push)",
        all.join(",")
    );
    let has = |arch: &str| v.platforms.iter().any(|p| p.architecture == arch);
    let kinds: Vec<ConsumerKind> = v
        .consumers
        .iter()
        .filter(|c| c.will_fail)
        .map(|c| c.kind)
        .collect();
    let switch = |arm: bool| -> Option<&'static str> {
        let k = kinds.first()?;
        Some(match (k, arm) {
            (ConsumerKind::EcsService | ConsumerKind::EcsTaskDefinition, true) => {
                "RuntimePlatform.CpuArchitecture: ARM64 (Graviton)"
            }
            (ConsumerKind::EcsService | ConsumerKind::EcsTaskDefinition, false) => {
                "RuntimePlatform.CpuArchitecture: X86_64"
            }
            (ConsumerKind::LambdaFunction, true) => "Architectures: [arm64]",
            (ConsumerKind::LambdaFunction, false) => "Architectures: [x86_64]",
            (ConsumerKind::BatchJobDefinition, true) => {
                "RuntimePlatform.CpuArchitecture: ARM64 (Fargate) or Graviton instance types (EC2)"
            }
            (ConsumerKind::BatchJobDefinition, false) => {
                "RuntimePlatform.CpuArchitecture: X86_64 (Fargate) or x86 instance types (EC2)"
            }
            // App Runner runs x86_64 only.
            (ConsumerKind::AppRunnerService, _) => return None,
        })
    };
    let needs_arm = v.missing.iter().any(|p| p.architecture == "arm64");
    let needs_x86 = v.missing.iter().any(|p| p.architecture == "amd64");
    let other = if needs_x86 && has("arm64") {
        switch(true)
    } else if needs_arm && has("amd64") {
        switch(false)
    } else {
        None
    };
    if let Some(s) = other {
        out.push_str(&format!("; or run it on the image's architecture: {s}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumers::consumer::ConsumerReport;

    fn verdict(kind: VerdictKind, platforms: &str, missing: &str) -> Verdict {
        let mut v = Verdict::skipped("x");
        v.verdict = kind;
        v.reason = None;
        v.platforms = platform::parse_list(platforms).unwrap_or_default();
        v.missing = platform::parse_list(missing).unwrap_or_default();
        v.digest = Some(format!("sha256:{}", "4".repeat(64)));
        v.consumers = vec![ConsumerReport {
            kind: ConsumerKind::EcsTaskDefinition,
            name: "web (WebTask)".into(),
            arn: String::new(),
            image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/grafana:latest".into(),
            platform: platform::parse_list("linux/amd64")
                .ok()
                .map(|mut p| p.remove(0)),
            architecture: "X86_64".into(),
            detail: Some("Fargate".into()),
            will_fail: kind == VerdictKind::Mismatch,
        }];
        v
    }

    #[test]
    fn a_mismatch_is_refused_with_the_verdict_and_the_fix_first() {
        let r = Ruling::of(
            "AWS::ECS::TaskDefinition WebTask",
            &[verdict(VerdictKind::Mismatch, "linux/arm64", "linux/amd64")],
        );
        assert_eq!(r.kind, RulingKind::Refuse);
        let lines: Vec<&str> = r.message.lines().collect();
        assert_eq!(
            lines[0],
            "REFUSED by ecr-arch-guard: AWS::ECS::TaskDefinition WebTask would not start (1 of 1 image(s) cannot run on it)."
        );
        assert!(lines[1].starts_with(
            "- 123456789012.dkr.ecr.us-east-1.amazonaws.com/grafana:latest (sha256:444444444444) is linux/arm64 only; \
             ECS task definition web (WebTask) (X86_64) needs linux/amd64: exec format error. Fix: push an image for linux/amd64: \
             docker buildx build --platform linux/amd64,linux/arm64"
        ), "{}", lines[1]);
        assert!(
            lines[1].ends_with("RuntimePlatform.CpuArchitecture: ARM64 (Graviton)"),
            "{}",
            lines[1]
        );
        // Cloud Control's 1,024 characters still hold the verdict and the fix.
        assert!(r.message_within(1024).contains("docker buildx build"));
    }

    #[test]
    fn unjudged_images_are_said_and_fitting_ones_pass() {
        let mut skipped = Verdict::skipped(
            "docker.io/library/nginx:1 is not an Amazon ECR image (Docker Hub, ECR Public, GHCR, ...): not judged",
        );
        skipped.consumers = verdict(VerdictKind::Fits, "linux/amd64", "").consumers;
        let r = Ruling::of("x", std::slice::from_ref(&skipped));
        assert_eq!(r.kind, RulingKind::NotJudged);
        assert!(r
            .message
            .contains("Not judged: docker.io/library/nginx:1 is not an Amazon ECR image"));
        assert!(!r.internal);
        let fits = verdict(VerdictKind::Fits, "linux/amd64", "");
        let r = Ruling::of("x", std::slice::from_ref(&fits));
        assert_eq!(r.kind, RulingKind::Pass);
        // A refusal outranks what was not judged, and still reports it.
        let r = Ruling::of(
            "x",
            &[
                skipped,
                fits,
                verdict(VerdictKind::Mismatch, "linux/arm64", "linux/amd64"),
            ],
        );
        assert_eq!(r.kind, RulingKind::Refuse);
        assert!(r.message.contains("(1 of 3 image(s)"));
        assert!(r.message.contains("Not judged:") && r.message.contains("Fits:"));
    }

    #[test]
    fn messages_are_cut_on_characters_with_a_mark() {
        let r = Ruling::new(RulingKind::Refuse, "é".repeat(2000));
        let cut = r.message_within(1024);
        assert_eq!(cut.chars().count(), 1024);
        assert!(cut.ends_with('…'));
        assert_eq!(r.message_within(4096), r.message);
    }
}
