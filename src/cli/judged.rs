//! One resource of `plan`'s inputs and its ruling: what the text, JSON and SARIF outputs print.

use serde::Serialize;

use crate::gate::plan::Source;
use crate::judge::verdict::Verdict;

/// One resource's outcome (the JSON output's element).
#[derive(Debug, Serialize)]
pub struct Judged {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub address: String,
    pub source: Source,
    pub resource_type: &'static str,
    /// `pass`, `refuse` or `not-judged`.
    pub ruling: &'static str,
    pub message: String,
    pub verdicts: Vec<Verdict>,
}
