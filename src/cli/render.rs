//! The readable text form of a verdict.

use std::fmt::Write;

use crate::advice;
use crate::platform;
use crate::verdict::{Verdict, VerdictKind};

/// A multi-line summary; a mismatch comes with what breaks and how to fix it.
pub fn text(v: &Verdict, image: &str) -> String {
    let mut out = String::new();
    let digest = v.digest.as_deref().unwrap_or("-");
    let mt = v.media_type.as_deref().unwrap_or("-");
    let _ = writeln!(out, "Image:     {image}");
    let _ = writeln!(out, "Digest:    {digest} ({mt})");
    if !v.platforms.is_empty() {
        let _ = writeln!(out, "Platforms: {}", platform::join(&v.platforms));
    }
    if !v.required.is_empty() {
        let from = v
            .required_from
            .as_ref()
            .map(|f| format!(" ({f})"))
            .unwrap_or_default();
        let _ = writeln!(out, "Required:  {}{from}", platform::join(&v.required));
    }
    let headline = match v.verdict {
        VerdictKind::Fits => "FITS".to_string(),
        VerdictKind::Mismatch => format!("MISMATCH: {} missing", platform::join(&v.missing)),
        VerdictKind::NotAnImage => "NOT AN IMAGE (nothing to run, nothing to check)".to_string(),
        VerdictKind::Skipped => "SKIPPED".to_string(),
    };
    let _ = writeln!(out, "Verdict:   {headline}");
    if let Some(reason) = &v.reason {
        let _ = writeln!(out, "Why:       {reason}");
    }
    for w in &v.warnings {
        let _ = writeln!(out, "Warning:   {w}");
    }
    if v.verdict == VerdictKind::Mismatch {
        let _ = writeln!(out, "\nWhat breaks:");
        for c in advice::consequences(&v.missing) {
            let _ = writeln!(out, "  - {c}");
        }
        let _ = writeln!(out, "\nHow to fix:");
        for f in advice::fix_commands(image, v) {
            let _ = writeln!(out, "  - {f}");
        }
    }
    out
}
