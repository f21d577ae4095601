//! One verdict in words, for people: the facts, who runs the image, what breaks, the Lambda
//! functions an index stops, the warnings and how to fix it. The alert body ([`crate::act::alert`])
//! and the CLI's text output ([`crate::cli::render`]) both write a [`Report`]; only their
//! headings and framing differ (an email reads "Who runs it:", a terminal "Consumers:").

use std::fmt::Write;

use crate::consumers::lambda_index::{self, LambdaIndexUse};
use crate::image::platform;
use crate::judge::advice;
use crate::judge::policy::RequiredFrom;
use crate::judge::verdict::{Verdict, VerdictKind};

/// A verdict about one image, ready to be written out.
#[derive(Clone, Copy, Debug)]
pub struct Report<'a> {
    pub verdict: &'a Verdict,
    /// The image as its consumers pull it (an ECR URI) or as the user named it (a layout
    /// path): what the fix commands act on.
    pub image: &'a str,
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO`, for the Lambda fixes (`repo@digest`).
    pub repository: &'a str,
    /// Lambda functions that use a tag now pointing at an index (empty when none).
    pub lambda: &'a [LambdaIndexUse],
}

impl<'a> Report<'a> {
    /// A report with no Lambda section.
    pub fn new(verdict: &'a Verdict, image: &'a str) -> Self {
        Report {
            verdict,
            image,
            repository: image,
            lambda: &[],
        }
    }

    /// The same report with the Lambda functions an index stops.
    pub fn with_lambda(self, repository: &'a str, lambda: &'a [LambdaIndexUse]) -> Self {
        Report {
            repository,
            lambda,
            ..self
        }
    }

    /// A mismatch, or a mislabelled image (the deep check): something will not run.
    pub fn is_mismatch(&self) -> bool {
        matches!(
            self.verdict.verdict,
            VerdictKind::Mismatch | VerdictKind::Mislabelled
        )
    }

    /// What the image's executables run on, when the deep check says otherwise than the label.
    pub fn runs_on(&self) -> Option<String> {
        let runs_on = self.verdict.runs_on.as_ref()?;
        (*runs_on != self.verdict.platforms).then(|| platform::join(runs_on))
    }

    /// One line per executable the deep check examined, then how it was reached.
    pub fn executables(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.verdict.deep {
            for e in &c.executables {
                let on = e
                    .platform
                    .as_ref()
                    .map(|p| format!(": runs on {p}"))
                    .unwrap_or_default();
                out.push(format!(
                    "{} ({}, image labelled {}): {}{on}",
                    e.path, e.source, c.label, e.kind
                ));
                for v in &e.via {
                    out.push(format!("    via {v}"));
                }
            }
            for n in &c.notes {
                out.push(format!("note: {n}"));
            }
        }
        out
    }

    /// The platforms the image runs on.
    pub fn platforms(&self) -> String {
        platform::join(&self.verdict.platforms)
    }

    /// The platforms required, and what required them when known.
    pub fn required(&self) -> (String, Option<&'a RequiredFrom>) {
        (
            platform::join(&self.verdict.required),
            self.verdict.required_from.as_ref(),
        )
    }

    pub fn missing(&self) -> String {
        platform::join(&self.verdict.missing)
    }

    /// One line per consumer, failures first.
    pub fn consumers(&self) -> Vec<String> {
        self.verdict.consumers.iter().map(|c| c.line()).collect()
    }

    /// What a mismatch breaks (empty when the image fits).
    pub fn consequences(&self) -> Vec<String> {
        if self.is_mismatch() {
            advice::consequences(&self.verdict.missing)
        } else {
            Vec::new()
        }
    }

    /// One line per Lambda function that cannot use the pushed index.
    pub fn lambda(&self) -> Vec<String> {
        self.lambda
            .iter()
            .map(|u| {
                format!(
                    "Lambda function {} ({}): creating or updating it to this tag fails with \
                     \"The image manifest or layer media type for the source image is not supported\": \
                     Lambda accepts only a single-platform image manifest, not an index",
                    u.function, u.architecture
                )
            })
            .collect()
    }

    /// The verdict's warnings, less the Lambda-index warning when the Lambda section says it.
    pub fn warnings(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.verdict
            .warnings
            .iter()
            .map(String::as_str)
            .filter(|w| self.lambda.is_empty() || !w.starts_with(lambda_index::WARNING_START))
    }

    /// The commands that fix it: the platform fixes for a mismatch, then the Lambda ones.
    pub fn fixes(&self) -> Vec<String> {
        let mut out = if self.verdict.verdict == VerdictKind::Mislabelled {
            advice::mislabel_fixes(self.verdict)
        } else if self.is_mismatch() {
            advice::fix_commands(self.image, self.verdict)
        } else {
            Vec::new()
        };
        out.extend(lambda_index::fixes(
            self.repository,
            self.image,
            self.lambda,
        ));
        out
    }
}

/// `heading:` then `  - item` per item; nothing at all when there is no item.
pub fn write_list(out: &mut String, heading: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{heading}:");
    for item in items {
        let _ = writeln!(out, "  - {item}");
    }
}

/// A blank line, then [`write_list`]; nothing at all when there is no item.
pub fn write_section(out: &mut String, heading: &str, items: &[String]) {
    if !items.is_empty() {
        out.push('\n');
        write_list(out, heading, items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mismatch() -> Verdict {
        let mut v = Verdict::skipped("x");
        v.verdict = VerdictKind::Mismatch;
        v.platforms = platform::parse_list("linux/arm64").unwrap();
        v.required = platform::parse_list("linux/amd64").unwrap();
        v.missing = v.required.clone();
        v
    }

    #[test]
    fn a_mismatch_says_what_breaks_and_how_to_fix_it() {
        let v = mismatch();
        let r = Report::new(&v, "repo:latest");
        assert!(r.consequences()[0].contains("exec format error"));
        assert!(r.fixes()[0].contains("imagetools inspect repo:latest"));
        assert_eq!(r.missing(), "linux/amd64");
    }

    #[test]
    fn a_fitting_image_has_no_fix_and_no_consequence() {
        let mut v = mismatch();
        v.verdict = VerdictKind::Fits;
        let r = Report::new(&v, "repo:latest");
        assert!(r.consequences().is_empty() && r.fixes().is_empty());
        let mut out = String::new();
        write_list(&mut out, "How to fix", &r.fixes());
        assert_eq!(out, "");
    }

    #[test]
    fn the_lambda_section_replaces_the_lambda_warning() {
        let mut v = mismatch();
        v.verdict = VerdictKind::Fits;
        v.warnings = vec![
            format!("{}f use this image", lambda_index::WARNING_START),
            "other".into(),
        ];
        let uses = [LambdaIndexUse {
            function: "f".into(),
            architecture: "x86_64".into(),
            platform: platform::parse_list("linux/amd64").unwrap().remove(0),
            platform_image: Some(crate::image::digest::Digest::of(b"amd64")),
        }];
        let plain = Report::new(&v, "repo:latest");
        assert_eq!(plain.warnings().count(), 2);
        let r = plain.with_lambda("repo", &uses);
        assert_eq!(r.warnings().collect::<Vec<_>>(), ["other"]);
        assert_eq!(r.lambda().len(), 1);
        assert!(
            r.fixes()[0].contains("--image-uri repo@sha256:"),
            "{:?}",
            r.fixes()
        );
    }
}
