//! Replaying the dead-letter queue: what the function's answer says. Pure; the queue and the
//! function are `aws::replay`'s.

use serde_json::Value;

/// Whether a Lambda answer is an error document (`{"errorType": …, "errorMessage": …}`, what
/// Lambda returns for a failed invocation) rather than the guard's verdict(s).
pub fn is_error_document(answer: &Value) -> bool {
    answer.get("errorType").is_some()
        && answer.get("errorMessage").is_some()
        && answer.get("verdict").is_none()
}

/// `Retryable: cannot read …` from an error document.
pub fn error_text(answer: &Value) -> String {
    let kind = answer["errorType"].as_str().unwrap_or("error");
    let message = answer["errorMessage"].as_str().unwrap_or("");
    format!("{kind}: {message}")
}

/// One line about a replayed answer: the verdict(s) it holds.
pub fn summary(answer: &Value) -> String {
    let one = |v: &Value| {
        format!(
            "{} {}",
            v["verdict"].as_str().unwrap_or("?"),
            v["repository"].as_str().unwrap_or("")
        )
        .trim_end()
        .to_string()
    };
    match answer {
        Value::Array(vs) => vs.iter().map(one).collect::<Vec<_>>().join(", "),
        v => one(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_documents_are_told_from_verdicts() {
        let e = serde_json::json!({"errorType": "Retryable", "errorMessage": "throttled"});
        assert!(is_error_document(&e));
        assert_eq!(error_text(&e), "Retryable: throttled");
        let v = serde_json::json!({"verdict": "mismatch", "repository": "grafana"});
        assert!(!is_error_document(&v));
        assert_eq!(summary(&v), "mismatch grafana");
        assert_eq!(
            summary(&serde_json::json!([v, {"verdict": "skipped"}])),
            "mismatch grafana, skipped"
        );
    }
}
