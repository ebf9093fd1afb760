//! The change log (`fact_changes`): every write logs, in its own transaction and by trigger, the
//! incidents it touched (or a row without one when it touched sources or statements), with its
//! transaction id. A read model catches up by reading the log's rows its snapshot sees that it has not
//! applied yet.
//!
//! Transactions commit in another order than their ids, so "every row above the last id applied"
//! would miss a transaction that commits late with a smaller id. The read model keeps instead its
//! **watermark**: the smallest transaction id still running at the snapshot it last read (its
//! `xmin`: every transaction below it had ended), and the ids at or above it that it has applied.
//! Each read asks for the rows at or above the watermark that are not among those ids.

use std::collections::BTreeSet;

use diesel::QueryableByName;
use diesel::sql_types::{Array, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::error::{StoreError, StoreResult, corrupt};

/// What a read model has applied of the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Watermark {
    /// Every transaction below it had ended when the model last read the log.
    pub(crate) xmin: u64,
    /// The transactions at or above `xmin` whose rows the model has applied.
    pub(crate) applied: BTreeSet<u64>,
}

impl Watermark {
    /// Moves on to a later read, which saw `xmin` and applied `applied` too.
    pub(crate) fn advance(&mut self, xmin: u64, applied: impl IntoIterator<Item = u64>) {
        self.applied.extend(applied);
        self.xmin = self.xmin.max(xmin);
        let xmin = self.xmin;
        self.applied.retain(|txid| *txid >= xmin);
    }
}

/// One read of the log.
#[derive(Debug)]
pub(crate) struct LogRead {
    pub(crate) xmin: u64,
    /// Rows below it may have been deleted (see [`trim`]).
    pub(crate) horizon: u64,
    /// The rows not applied yet: a transaction, and the incident it touched or `None` for the
    /// sources and statements.
    pub(crate) changes: Vec<(u64, Option<i64>)>,
}

#[derive(QueryableByName)]
struct LogRow {
    #[diesel(sql_type = Text)]
    xmin: String,
    #[diesel(sql_type = Text)]
    horizon: String,
    #[diesel(sql_type = Text)]
    changes: String,
}

fn txid(text: &str) -> StoreResult<u64> {
    text.parse()
        .map_err(|e| StoreError::Repository(corrupt("transaction id", e)))
}

/// The log's rows that the snapshot of this one statement sees and `watermark` has not applied.
pub(crate) async fn read(
    conn: &mut AsyncPgConnection,
    watermark: &Watermark,
) -> StoreResult<LogRead> {
    let applied: Vec<String> = watermark.applied.iter().map(u64::to_string).collect();
    let row: LogRow = diesel::sql_query(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
                (SELECT txid::text FROM fact_changes_horizon) AS horizon,
                COALESCE((SELECT json_agg(json_build_array(txid::text, incident_id))
                          FROM fact_changes
                          WHERE txid >= $1::xid8 AND txid <> ALL($2::xid8[])), '[]')::text AS changes",
    )
    .bind::<Text, _>(watermark.xmin.to_string())
    .bind::<Array<Text>, _>(applied)
    .get_result(conn)
    .await?;
    let changes: Vec<(String, Option<i64>)> = serde_json::from_str(&row.changes)
        .map_err(|e| StoreError::Repository(corrupt("change log", e)))?;
    Ok(LogRead {
        xmin: txid(&row.xmin)?,
        horizon: txid(&row.horizon)?,
        changes: changes
            .into_iter()
            .map(|(t, incident)| Ok((txid(&t)?, incident)))
            .collect::<StoreResult<_>>()?,
    })
}

/// The watermark of a snapshot that reads every fact: its `xmin`, and the transactions at or above it
/// that it sees committed. Run it first in the transaction that reads the facts.
pub(crate) async fn snapshot_watermark(conn: &mut AsyncPgConnection) -> StoreResult<Watermark> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        xmin: String,
        #[diesel(sql_type = Array<Text>)]
        seen: Vec<String>,
    }
    let row: Row = diesel::sql_query(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
                ARRAY(SELECT DISTINCT txid::text FROM fact_changes
                      WHERE txid >= pg_snapshot_xmin(pg_current_snapshot())) AS seen",
    )
    .get_result(conn)
    .await?;
    Ok(Watermark {
        xmin: txid(&row.xmin)?,
        applied: row
            .seen
            .iter()
            .map(|t| txid(t))
            .collect::<StoreResult<_>>()?,
    })
}

/// How long the log keeps a row. A read model that has not read the log for longer reads every
/// fact again; every server reads it at least on each change it is told of, so this is far longer
/// than any server stays behind.
pub(crate) const KEPT_FOR_MINUTES: u32 = 10;

/// Deletes the rows older than [`KEPT_FOR_MINUTES`] of transactions that have ended, and moves the
/// horizon above them; whether it moved. Any server may run it, at any time.
pub(crate) async fn trim(conn: &mut AsyncPgConnection) -> StoreResult<bool> {
    let moved = diesel::sql_query(format!(
        "WITH gone AS (
             DELETE FROM fact_changes
             WHERE logged_at < now() - interval '{KEPT_FOR_MINUTES} minutes'
               AND txid < pg_snapshot_xmin(pg_current_snapshot())
             RETURNING txid)
         UPDATE fact_changes_horizon
         SET txid = greatest(txid, ((SELECT max(txid)::text::numeric FROM gone) + 1)::text::xid8)
         WHERE EXISTS (SELECT FROM gone)"
    ))
    .execute(conn)
    .await?;
    Ok(moved > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The watermark keeps only the applied transactions at or above the highest `xmin` seen, and
    /// never moves back when an older read is taken in after a newer one.
    #[test]
    fn a_watermark_moves_forward_only() {
        let mut watermark = Watermark::default();
        watermark.advance(10, [12, 15]);
        assert_eq!(watermark.xmin, 10);
        assert_eq!(watermark.applied, [12, 15].into());
        watermark.advance(14, [16]);
        assert_eq!(watermark.applied, [15, 16].into());
        // A read whose snapshot was older: what it applied counts, its xmin does not.
        watermark.advance(11, [14]);
        assert_eq!(watermark.xmin, 14);
        assert_eq!(watermark.applied, [14, 15, 16].into());
    }
}
