//! Readers of the real data formats civcas imports, each mapped to domain values exactly as
//! docs/real-data.md says. Reading never guesses: a row that cannot be mapped is rejected with its
//! line and reason, and counted, and the rest go on.
//!
//! This crate reads files and builds values; it writes nothing. The CLI and the tests decide where
//! the values go.

pub mod airwars;
pub mod monthly;
mod table;
pub mod ucdp;

use std::path::PathBuf;

/// A row that could not be mapped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The file's line, 1 for the header.
    pub line: u64,
    /// The row's own identifier, when it has one.
    pub key: String,
    pub reason: String,
}

/// Why a whole file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: csv::Error },
    #[error("{path} has no column {column:?}")]
    MissingColumn { path: PathBuf, column: &'static str },
}
