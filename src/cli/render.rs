//! The readable text form of a verdict: the shared [`Report`] with a terminal's headings.

use std::fmt::Write;

use crate::act::report::{write_list, write_section, Report};
use crate::judge::verdict::{Verdict, VerdictKind};

/// A multi-line summary; a mismatch comes with what breaks and how to fix it.
pub fn text(v: &Verdict, image: &str) -> String {
    let report = Report::new(v, image);
    let mut out = String::new();
    let digest = v.digest.as_deref().unwrap_or("-");
    let mt = v.media_type.as_deref().unwrap_or("-");
    if let Some(c) = &v.change {
        let _ = writeln!(out, "Consumer:  {}", c.consumer);
        if let Some(line) = c.line() {
            let _ = writeln!(out, "Change:    {line}");
        }
    }
    let _ = writeln!(out, "Image:     {image}");
    let _ = writeln!(out, "Digest:    {digest} ({mt})");
    if !v.platforms.is_empty() {
        let _ = writeln!(out, "Platforms: {}", report.platforms());
    }
    if let Some(runs_on) = report.runs_on() {
        let runs_on = if runs_on.is_empty() {
            "nothing (its executables disagree)".to_string()
        } else {
            runs_on
        };
        let _ = writeln!(out, "Runs on:   {runs_on} (its executables, not its label)");
    }
    if !v.required.is_empty() {
        let (required, from) = report.required();
        let from = from.map(|f| format!(" ({f})")).unwrap_or_default();
        let _ = writeln!(out, "Required:  {required}{from}");
    }
    let headline = match v.verdict {
        VerdictKind::Fits => "FITS".to_string(),
        VerdictKind::Mismatch => format!("MISMATCH: {} missing", report.missing()),
        VerdictKind::NotAnImage => "NOT AN IMAGE (nothing to run, nothing to check)".to_string(),
        VerdictKind::Skipped => "SKIPPED".to_string(),
        VerdictKind::Mislabelled if v.missing.is_empty() => {
            "MISLABELLED: the config's label is not what its executables are".to_string()
        }
        VerdictKind::Mislabelled => format!(
            "MISLABELLED: its executables do not run on {}",
            report.missing()
        ),
    };
    let _ = writeln!(out, "Verdict:   {}", paint_verdict(&headline));
    if let Some(reason) = &v.reason {
        let _ = writeln!(out, "Why:       {reason}");
    }
    for w in report.warnings() {
        let _ = writeln!(out, "Warning:   {w}");
    }
    write_list(&mut out, "Executables", &report.executables());
    write_list(&mut out, "Consumers", &report.consumers());
    for a in &v.actions {
        let detail = a
            .detail
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let _ = writeln!(out, "Action:    {} {}{detail}", a.action, a.status_text());
    }
    write_section(&mut out, "What breaks", &report.consequences());
    write_section(&mut out, "How to fix", &report.fixes());
    out
}

/// Whether stdout gets ANSI colour: a terminal, and `NO_COLOR` unset (<https://no-color.org>).
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
