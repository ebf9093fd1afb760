//! Derived figures: rules 2 to 5 for the present, precomputed per cluster and summed per interval of
//! days and of months (the `derived` schema, see its migration), so that a window with no `as_of` and
//! no filter costs what its months cost, not what its incidents do.
//!
//! Writes only mark the incidents they touch (triggers fill `derived.pending`); [`PgStore::refresh_derived`]
//! brings the tables up to date, and the server runs it after every change. A query reads them only
//! when its snapshot holds no pending incident, and otherwise computes in full, so an answer never
//! depends on whether the refresh has caught up: only its cost does.

use std::sync::LazyLock;
use std::time::Duration;

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

use crate::PgStore;
use crate::changes::Changes;
use crate::error::StoreError;
use civcas_domain::RepositoryResult;

/// The advisory lock that serialises refreshes across replicas ("civder" in ASCII).
const REFRESH_LOCK: i64 = 0x63_69_76_64_65_72;

/// A refresh after an import recomputes every cluster it touched, far longer than a request may run.
const REFRESH_TIMEOUT: &str = "SET LOCAL statement_timeout = '10min'";

/// Refreshes at most this often, so that a stream of writes is taken in batches, not one by one.
const REFRESH_PAUSE: Duration = Duration::from_millis(100);

/// How often the refresher looks for pending incidents when no change is announced: the change feed
/// can miss notifications while it reconnects.
const REFRESH_TICK: Duration = Duration::from_secs(10);

static REFRESH_DERIVED: LazyLock<String> =
    LazyLock::new(|| crate::figures::with_fragments(include_str!("sql/refresh_derived.sql")));

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    flag: bool,
}

impl PgStore {
    /// Brings the derived figures up to the latest committed writes, and returns how many pending
    /// incidents it took; `None` when another refresh (in this process or another replica) holds
    /// the lock, which leaves the pending incidents to it and to the next refresh.
    pub async fn refresh_derived(&self) -> RepositoryResult<Option<u64>> {
        let mut conn = self.conn().await?;
        let pending: Flag =
            diesel::sql_query("SELECT EXISTS (SELECT 1 FROM derived.pending) AS flag")
                .get_result(&mut conn)
                .await
                .map_err(crate::error::classify)?;
        if !pending.flag {
            return Ok(Some(0));
        }
        // A session lock, taken before the transaction begins: its REPEATABLE READ snapshot must
        // follow the previous refresh's commit, or it would recompute from older data.
        let locked: Flag = diesel::sql_query(format!(
            "SELECT pg_try_advisory_lock({REFRESH_LOCK}) AS flag"
        ))
        .get_result(&mut conn)
        .await
        .map_err(crate::error::classify)?;
        if !locked.flag {
            return Ok(None);
        }
        let refreshed = conn
            .build_transaction()
            .repeatable_read()
            .run(async |conn| {
                conn.batch_execute(REFRESH_TIMEOUT).await?;
                conn.batch_execute(&REFRESH_DERIVED).await?;
                let taken: Count =
                    diesel::sql_query("SELECT count(*) AS count FROM refresh_pending")
                        .get_result(conn)
                        .await?;
                Ok::<_, StoreError>(taken.count)
            })
            .await;
        let unlocked = conn
            .batch_execute(&format!("SELECT pg_advisory_unlock({REFRESH_LOCK})"))
            .await
            .map_err(crate::error::classify);
        let taken = refreshed?;
        unlocked?;
        Ok(Some(u64::try_from(taken).unwrap_or_default()))
    }

    /// Refreshes the derived figures whenever `changes` moves, and every ten seconds besides,
    /// until `changes` closes.
    pub fn keep_derived_fresh(&self, mut changes: Changes) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                let started = tokio::time::Instant::now();
                match store.refresh_derived().await {
                    Ok(Some(0) | None) => {}
                    Ok(Some(incidents)) => tracing::info!(
                        incidents,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "derived figures refreshed"
                    ),
                    Err(error) => tracing::warn!(%error, "cannot refresh the derived figures"),
                }
                tokio::time::sleep(REFRESH_PAUSE).await;
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    () = tokio::time::sleep(REFRESH_TICK) => {}
                }
            }
        })
    }
}
