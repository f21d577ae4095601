//! The scan's progress on stderr: one bar per account and region, only on a terminal.

use indicatif::{ProgressBar, ProgressStyle};

use crate::scan::{Progress, Row};

/// A progress bar on stderr (only when stderr is a terminal).
pub(super) struct Bar(Option<ProgressBar>);

impl Bar {
    pub(super) fn new(bar: Option<ProgressBar>) -> Bar {
        if let Some(b) = &bar {
            if let Ok(style) =
                ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} images {per_sec} {msg}")
            {
                b.set_style(style);
            }
        }
        Bar(bar)
    }

    pub(super) fn prefix(&self, prefix: &str) {
        if let Some(b) = &self.0 {
            b.set_prefix(prefix.to_string());
        }
    }

    /// Takes the bar off the screen.
    pub(super) fn clear(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }

    /// Leaves the bar on screen with `message` (an account and region's summary).
    pub(super) fn finish(&self, message: &str) {
        if let Some(b) = &self.0 {
            b.finish_with_message(message.to_string());
        }
    }
}

impl Progress for Bar {
    fn set_total(&self, total: u64) {
        if let Some(b) = &self.0 {
            b.set_length(total);
        }
    }
    fn done(&self, row: &Row) {
        if let Some(b) = &self.0 {
            b.set_message(row.repository.clone());
            b.inc(1);
        }
    }
}
