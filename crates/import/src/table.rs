//! A CSV file read row by row with named columns: rows that are not UTF-8 or have the wrong number of
//! fields come back as the reason they are unusable, never as a failure of the whole file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::ImportError;

/// One data row: its line, and its fields or why they are unusable.
pub(crate) type Row = (u64, Result<Vec<String>, String>);

/// A CSV file read row by row with named columns; rows that are not UTF-8 or have the wrong number
/// of fields are handed back as rejections.
pub(crate) struct Table {
    path: PathBuf,
    reader: csv::Reader<std::fs::File>,
    columns: HashMap<String, usize>,
    width: usize,
}

impl Table {
    pub(crate) fn open(path: &Path) -> Result<Self, ImportError> {
        let read_error = |source| ImportError::Read {
            path: path.to_owned(),
            source,
        };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(path)
            .map_err(read_error)?;
        let headers = reader.byte_headers().map_err(read_error)?.clone();
        let columns = headers
            .iter()
            .enumerate()
            .map(|(i, name)| (String::from_utf8_lossy(name).trim().to_owned(), i))
            .collect();
        Ok(Self {
            path: path.to_owned(),
            reader,
            columns,
            width: headers.len(),
        })
    }

    pub(crate) fn column(&self, name: &'static str) -> Result<usize, ImportError> {
        self.columns
            .get(name)
            .copied()
            .ok_or_else(|| ImportError::MissingColumn {
                path: self.path.clone(),
                column: name,
            })
    }

    /// Every row, as UTF-8 fields or as the reason it is unusable, with its line number.
    pub(crate) fn rows(&mut self) -> Result<Vec<Row>, ImportError> {
        let mut rows = Vec::new();
        for record in self.reader.byte_records() {
            let record = record.map_err(|source| ImportError::Read {
                path: self.path.clone(),
                source,
            })?;
            let line = record.position().map_or(0, csv::Position::line);
            let row = if record.len() != self.width {
                Err(format!(
                    "has {} fields where the header has {}: a truncated or malformed line",
                    record.len(),
                    self.width
                ))
            } else {
                record
                    .iter()
                    .map(|field| std::str::from_utf8(field).map(str::to_owned))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| "is not valid UTF-8".to_owned())
            };
            rows.push((line, row));
        }
        Ok(rows)
    }
}
