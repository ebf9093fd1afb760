//! The table the bench prints: one line per measurement.

use super::*;

/// The figures of one measurement: what civcas did and what its baseline did.
pub(crate) struct Line {
    pub(crate) what: String,
    pub(crate) civcas: String,
    pub(crate) baseline: String,
    pub(crate) ratio: f64,
    pub(crate) note: String,
}

impl Line {
    /// A measurement that failed: a finding, not the end of the run.
    pub(crate) fn failed(what: String, started: Instant, error: &anyhow::Error) -> Self {
        Self {
            what,
            civcas: format!(
                "failed after {:.1} s: {error:#}",
                started.elapsed().as_secs_f64()
            ),
            baseline: "not run".into(),
            ratio: f64::NAN,
            note: "see BENCHMARKS.md".into(),
        }
    }
}

/// The run's lines, and how many of its measurements failed: the table is printed whole either
/// way, and the run then fails, so that a script running the bench (CI) sees it.
#[derive(Default)]
pub(crate) struct Table {
    pub(crate) lines: Vec<Line>,
    pub(crate) failed: usize,
}

impl Table {
    /// The measurement's result, or, when it failed, `None` and a failed line in the table.
    pub(crate) fn or_failed<T>(
        &mut self,
        what: impl FnOnce() -> String,
        started: Instant,
        result: anyhow::Result<T>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.lines.push(Line::failed(what(), started, &error));
                self.failed += 1;
                None
            }
        }
    }

    /// The table in markdown; a figure with no baseline has no ratio.
    pub(crate) fn markdown(&self) -> String {
        let mut out = String::from(
            "| measurement | civcas | baseline | ratio (civcas ÷ baseline) | notes |\n|---|---|---|---|---|\n",
        );
        for line in &self.lines {
            let ratio = if line.ratio.is_finite() {
                format!("{:.2}", line.ratio)
            } else {
                "–".to_owned()
            };
            out.push_str(&format!(
                "| {} | {} | {} | {ratio} | {} |\n",
                line.what, line.civcas, line.baseline, line.note
            ));
        }
        out
    }
}
