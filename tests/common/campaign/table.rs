//! The campaign's table, as docs/operations.md shows it.

use std::collections::BTreeMap;

use super::super::faults::Fault;
use super::Report;

/// The table for docs/operations.md.
pub fn table(r: &Report) -> String {
    let mut t = String::new();
    let mut row = |k: &str, v: String| t.push_str(&format!("| {k} | {v} |\n"));
    row(
        "events (seed, faulted calls)",
        format!(
            "{} (seed {}, {}‰ of calls faulted: {} of {} requests)",
            r.events.values().sum::<usize>(),
            r.seed,
            r.per_mille,
            r.injected.values().sum::<usize>(),
            r.requests
        ),
    );
    row(
        "mix",
        r.events
            .iter()
            .map(|(k, n)| format!("{k:?} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let mut by_kind: BTreeMap<Fault, usize> = BTreeMap::new();
    for ((_, f), n) in &r.injected {
        *by_kind.entry(*f).or_default() += n;
    }
    row(
        "faults injected",
        by_kind
            .iter()
            .map(|(f, n)| format!("{} {n}", f.name()))
            .collect::<Vec<_>>()
            .join(", "),
    );
    row(
        "deliveries (of which duplicated to both environments)",
        format!("{} ({})", r.deliveries, r.duplicated_deliveries),
    );
    row("invocations (retries included)", r.invocations.to_string());
    row(
        "events retried by the async driver",
        r.retried_events.to_string(),
    );
    row(
        "events that met an SNS outage through all their attempts",
        r.outages.to_string(),
    );
    row(
        "dead-lettered → judged by `replay` (left in the queue)",
        format!("{} → {} ({})", r.dead_lettered, r.replayed, r.replay_left),
    );
    row(
        "mismatches: alerted ≥ 1 / **lost** (must be 0)",
        format!("{} / **{}**", r.mismatches - r.lost.len(), r.lost.len()),
    );
    row(
        "mismatches alerted more than once",
        if r.alerted_more_than_once.is_empty() {
            "0".into()
        } else {
            format!(
                "{} ({})",
                r.alerted_more_than_once.len(),
                r.alerted_more_than_once
                    .iter()
                    .map(|(t, n)| format!("{t}×{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    );
    let publish_lost: usize = r
        .injected
        .iter()
        .filter(|((op, f), _)| op == "sns:Publish" && matches!(f, Fault::ResetAfter | Fault::Slow))
        .map(|(_, n)| n)
        .sum();
    row(
        "… of which delivered twice / SNS Publish answers lost after SNS took them (reset after, past the attempt timeout: the SDK sends again)",
        format!("{} / {publish_lost}", r.duplicates_delivered_twice),
    );
    row(
        "alerts sent without a claim (store failing)",
        r.unclaimed_alerts.to_string(),
    );
    row(
        "hook answers / FAILED because of a fault (must be 0) / Lambda errors (must be 0)",
        format!(
            "{} / **{}** / **{}**",
            r.hook_answers,
            r.hooks_failed_by_fault.len(),
            r.hook_errors
        ),
    );
    row(
        "right refusals let through unjudged by a fault (alerted \"not judged\")",
        r.refusals_unjudged.to_string(),
    );
    row(
        "hook answers past 30 s (must be 0); slowest",
        format!(
            "**{}**; {:.1} s",
            r.hooks_past_30s,
            r.slowest_hook.as_secs_f64()
        ),
    );
    row(
        "invocations ended at the function's 30 s timeout (must be 0); slowest",
        format!(
            "**{}**; {:.1} s",
            r.timed_out,
            r.slowest_invocation.as_secs_f64()
        ),
    );
    row(
        "consumer changes missing from the index: at the campaign's end / after one refresh (must be 0)",
        format!(
            "{} of {} / **{}**",
            r.changes_missing_from_index.len(),
            r.changes,
            r.changes_missing_after_refresh.len()
        ),
    );
    row("wall time", format!("{:.0} s", r.wall.as_secs_f64()));
    t
}
