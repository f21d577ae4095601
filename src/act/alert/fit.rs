//! Keeping an alert under SNS's message size limit: the human text and the JSON verdict as
//! they are when they fit (every real alert so far), shortened with a note when they do not.

use super::MAX_MESSAGE_BYTES;
use crate::act::message::AttributeValue;
use crate::judge::verdict::Verdict;

/// The bytes SNS counts for the attributes: name, data type and value of each one sent.
pub(super) fn attributes_size(attributes: &[(String, AttributeValue)]) -> usize {
    attributes
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(name, v)| match v {
            AttributeValue::Text(s) => name.len() + "String".len() + s.len(),
            AttributeValue::List(l) => {
                name.len() + "String.Array".len() + serde_json::json!(l).to_string().len()
            }
        })
        .sum()
}

pub(super) const JSON_HEADER: &str = "\nVerdict (JSON):\n";

/// The human text followed by the JSON verdict, within `budget` bytes. Within the limit (every
/// real alert so far): the text and the pretty JSON unchanged. Over it (thousands of consumers,
/// long warnings): the JSON keeps at most half the budget and stays valid (consumers that will
/// fail are kept first, the rest counted in a warning), and the human text is cut at a line
/// with a note saying so. The guard's log line holds the full verdict either way.
pub(super) fn fit(human: String, verdict: &Verdict, budget: usize) -> String {
    let pretty =
        serde_json::to_string_pretty(verdict).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    if human.len() + JSON_HEADER.len() + pretty.len() < budget {
        return format!("{human}{JSON_HEADER}{pretty}\n");
    }
    let json = shrunk_json(verdict, budget / 2);
    let room = budget.saturating_sub(JSON_HEADER.len() + json.len() + 1);
    format!("{}{JSON_HEADER}{json}\n", cut_lines(&human, room))
}

/// The verdict as compact JSON of at most `limit` bytes: consumers dropped from the end (they
/// are sorted failures first) and warnings shortened until it fits, with a warning that counts
/// what was left out.
fn shrunk_json(verdict: &Verdict, limit: usize) -> String {
    let mut v = verdict.clone();
    let consumers = v.consumers.len();
    let warnings = v.warnings.clone();
    let mut keep = consumers;
    let mut warning_len = 2_000;
    loop {
        v.consumers.truncate(keep);
        v.warnings = warnings
            .iter()
            .take(20)
            .map(|w| shorten(w, warning_len))
            .collect();
        v.warnings.push(format!(
            "alert shortened to fit SNS's {MAX_MESSAGE_BYTES}-byte message limit: {} of {consumers} consumers and {} of {} warnings shown here; the guard's log has the full verdict",
            keep,
            warnings.len().min(20),
            warnings.len()
        ));
        let json = serde_json::to_string(&v).unwrap_or_default();
        if json.len() <= limit || (keep == 0 && warning_len <= 100) {
            return json;
        }
        if keep > 0 {
            keep /= 2;
        } else {
            warning_len /= 4;
        }
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The first lines of `text` that fit in `room` bytes, with a line saying how many were cut.
fn cut_lines(text: &str, room: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let note = |n: usize| {
        format!("… {n} more lines cut to fit SNS's {MAX_MESSAGE_BYTES}-byte message limit\n")
    };
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let cut = note(lines.len() - i);
        if out.len() + line.len() + 1 + cut.len() > room {
            out.push_str(&cut);
            return out;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
