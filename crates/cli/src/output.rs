//! Tables for people, proto3 JSON for programs, and errors that name the bad fields.

use std::io::Write;

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use tonic_types::StatusExt;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// Prints `value` as JSON with `--json`, else calls `table` to print it for people.
    pub fn show<T: Serialize>(&self, value: &T, table: impl FnOnce()) -> anyhow::Result<()> {
        if self.json {
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, value)?;
            writeln!(out)?;
        } else {
            table();
        }
        Ok(())
    }
}

pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    table
}

pub fn print_table(table: &Table) {
    let _ = writeln!(std::io::stdout(), "{table}");
}

pub fn line(text: impl std::fmt::Display) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// A range as people read it: `3–5`, `at least 624`, or `—` for nothing.
pub fn range(min: u64, max: Option<u64>) -> String {
    match max {
        Some(max) if max == min => min.to_string(),
        Some(max) => format!("{min}–{max}"),
        None => format!("at least {min}"),
    }
}

/// Prints an error: for a gRPC status its code, message and every field violation, never a debug dump.
pub fn print_error(error: &anyhow::Error) {
    let mut err = std::io::stderr().lock();
    match error.downcast_ref::<tonic::Status>() {
        Some(status) => {
            let _ = writeln!(err, "error: {:?}: {}", status.code(), status.message());
            let details = status.get_error_details();
            if let Some(bad) = details.bad_request() {
                for v in &bad.field_violations {
                    let _ = writeln!(err, "  {}: {}", v.field, v.description);
                }
            }
            if let Some(info) = details.error_info() {
                let _ = writeln!(err, "  reason: {}", info.reason);
            }
        }
        None => {
            let _ = writeln!(err, "error: {error:#}");
        }
    }
}
