//! The deep check's word on a verdict: where an image's executables are of another
//! architecture than its label, the label loses — the verdict is `mislabelled`, `runs_on` says
//! what the image really runs on, and `missing` is what that leaves unserved.

use super::{missing, Verdict, VerdictKind};
use crate::binary::deep::DeepCheck;
use crate::image::platform::{self, Platform};

/// Applies the checks of the image's manifests to its verdict.
pub fn apply(verdict: &mut Verdict, checks: Vec<DeepCheck>) {
    if checks.is_empty() {
        return;
    }
    let mislabelled: Vec<&DeepCheck> = checks.iter().filter(|c| c.mislabelled).collect();
    let mut runs_on: Vec<Platform> = verdict
        .platforms
        .iter()
        .filter(|p| !mislabelled.iter().any(|c| &c.label == *p))
        .cloned()
        .collect();
    runs_on.extend(mislabelled.iter().filter_map(|c| c.runs_on.clone()));
    runs_on.sort();
    runs_on.dedup();
    for c in checks.iter().filter(|c| c.not_checked.is_some()) {
        verdict.warnings.push(format!(
            "deep check of {} ({}): not checked: {}",
            c.label,
            short(&c.manifest),
            c.not_checked.as_deref().unwrap_or_default()
        ));
    }
    for c in checks.iter().filter(|c| c.not_checked.is_none()) {
        for problem in &c.unexamined {
            verdict.warnings.push(format!(
                "deep check of {} ({}): {problem}; for it the label alone was judged",
                c.label,
                short(&c.manifest)
            ));
        }
    }
    let judged = matches!(verdict.verdict, VerdictKind::Fits | VerdictKind::Mismatch);
    if judged && !mislabelled.is_empty() {
        verdict.missing = missing(&runs_on, &verdict.required);
        verdict.verdict = VerdictKind::Mislabelled;
        let said: Vec<String> = mislabelled.iter().map(|c| c.summary()).collect();
        let outcome = if verdict.missing.is_empty() {
            format!(
                "it still serves the required {}, but consumers choosing by the label get the wrong image",
                platform::join(&verdict.required)
            )
        } else {
            format!(
                "required {} is not served: a host of it fails with `exec format error`",
                platform::join(&verdict.missing)
            )
        };
        verdict.reason = Some(format!(
            "mislabelled: {}; the label loses: {outcome}",
            said.join("; ")
        ));
    }
    verdict.runs_on = Some(runs_on);
    verdict.deep = checks;
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}
