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
    let _ = writeln!(out, "Verdict:   {}", paint_verdict(&headline));
    if let Some(reason) = &v.reason {
        let _ = writeln!(out, "Why:       {reason}");
    }
    for w in &v.warnings {
        let _ = writeln!(out, "Warning:   {w}");
    }
    if !v.consumers.is_empty() {
        let _ = writeln!(out, "Consumers:");
        for c in &v.consumers {
            let _ = writeln!(out, "  - {}", c.line());
        }
    }
    for a in &v.actions {
        let detail = a
            .detail
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let _ = writeln!(out, "Action:    {} {}{detail}", a.action, a.status_text());
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

/// Whether stdout gets ANSI colour: a terminal, and `NO_COLOR` unset (https://no-color.org).
pub fn colour() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// A verdict word in red (mismatch, error) or green (fits), when colour is on.
pub fn paint_verdict(s: &str) -> String {
    if !colour() {
        return s.to_string();
    }
    let lower = s.to_ascii_lowercase();
    let code = if lower.starts_with("mismatch") || lower.starts_with("error") {
        "31"
    } else if lower.starts_with("fits") {
        "32"
    } else {
        return s.to_string();
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}
