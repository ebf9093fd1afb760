//! civcas's PostgreSQL store.
//!
//! What is stored: sources; incidents with their references (each `(source, external_ref)` names one
//! incident) and explicit links; assessments and statements, both **append-only** (database triggers
//! refuse UPDATE and DELETE), so a newer record supersedes an older one and history stays queryable;
//! and the idempotency keys of writes, each stored with its result in the write's own transaction.
//!
//! Validation happens before this crate: it receives domain values that are valid by construction, and
//! checks only what needs the stored state (unknown sources, conflicting references). Errors leave as
//! [`civcas_domain::RepositoryError`]; no diesel or driver type is public.
//!
//! [`embedded`] runs a private PostgreSQL cluster for the zero-set-up default and for tests.

/// Runs a write's `body` (an expression using the connection `conn`) as one transaction that first
/// replays the idempotency key's stored result, if any, and stores the body's result with the key
/// before commit; the whole transaction runs again when it lost a race with a concurrent writer.
///
/// A macro rather than a generic function: the body's future must be `Send`, which a bound on a
/// generic async closure cannot promise on stable Rust.
macro_rules! idempotent_write {
    ($store:expr, $key:expr, |$conn:ident| $body:expr) => {{
        let store = $store;
        let key = $key;
        store
            .write(|| async move {
                let mut connection = store.conn().await?;
                diesel_async::AsyncConnection::transaction(&mut *connection, async |$conn| {
                    if let Some(replay) = $crate::idempotency::replay($conn, key).await? {
                        return Ok(replay);
                    }
                    let result = $body;
                    $crate::idempotency::remember($conn, key, &result).await?;
                    // Delivered on commit, to every replica's change feed (see `changes`).
                    if $crate::changes::Stored::stored(&result) {
                        $crate::changes::notify($conn).await?;
                    }
                    Ok(result)
                })
                .await
            })
            .await
    }};
}

mod assessments;
pub mod call;
pub mod changes;
mod coalesced;
mod connection;
pub mod embedded;
mod error;
mod idempotency;
mod imports;
mod incidents;
mod models;
mod paging;
mod prepared;
mod read_model;
mod schema;
mod sources;
mod statements;

pub use coalesced::CoalescedCounts;
pub use read_model::ReadModelStatus;

use std::future::Future;
use std::time::Duration;

use civcas_domain::{RepositoryError, RepositoryResult};
use diesel::ConnectionError;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use secrecy::{ExposeSecret, SecretString};

use crate::call::Call;
use crate::connection::PooledConnection;
use crate::error::StoreError;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The advisory lock key that serialises migrations across replicas ("civcas" in ASCII).
const MIGRATION_LOCK: i64 = 0x63_69_76_63_61_73;

/// How many times a write that lost a race with a concurrent writer is run again. Each run sees the
/// winners' committed rows, so a few suffice even for many clients retrying one request.
const WRITE_ATTEMPTS: u32 = 8;

/// How the connection pool behaves.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_size: usize,
    /// How long a call waits for a free connection before failing as unavailable.
    pub acquire_timeout: Duration,
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
    /// The longest any statement may run; PostgreSQL cancels it after that.
    pub statement_timeout: Duration,
    pub application_name: String,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 16,
            acquire_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            application_name: "civcas".to_owned(),
        }
    }
}

/// How many connections the pool holds, and how many calls wait for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub max_size: usize,
    pub size: usize,
    pub available: usize,
    pub waiting: usize,
}

/// The PostgreSQL implementation of the domain's repositories. Cheap to clone: it is a pool handle.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool<AsyncPgConnection>,
    /// The connections that write coalesced batches, whose statements are planned once.
    batch_pool: Pool<AsyncPgConnection>,
    known_sources: std::sync::Arc<sources::KnownSources>,
    /// RecordAssessment calls waiting to be written together.
    coalesced: std::sync::Arc<coalesced::Coalesced>,
    /// The facts the figures read, held in memory.
    read_model: std::sync::Arc<read_model::ReadModel>,
    /// For connections outside the pool: the change feed's listener.
    url: SecretString,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool.status())
            .finish()
    }
}

/// A pool of at most `max_size` connections, each set up with `session_setup`.
fn build_pool(
    url: &SecretString,
    settings: &PoolSettings,
    max_size: usize,
    session_setup: String,
) -> RepositoryResult<Pool<AsyncPgConnection>> {
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    // A pooled connection is checked only for being closed or inside a transaction, not with a
    // `SELECT 1`: that was one more round trip on every call (docs/BENCHMARKS.md, finding 15). A
    // connection the server dropped shows as closed; one that breaks unnoticed fails its call
    // with UNAVAILABLE, which callers retry, and the pool then drops it.
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let session_setup = session_setup.clone();
        let url = url.to_owned();
        Box::pin(async move {
            let mut conn = AsyncPgConnection::establish(&url).await?;
            conn.batch_execute(&session_setup)
                .await
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        })
    });
    let manager =
        AsyncDieselConnectionManager::new_with_config(url.expose_secret().to_owned(), config);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(settings.acquire_timeout))
        .create_timeout(Some(settings.connect_timeout))
        .recycle_timeout(Some(settings.connect_timeout))
        .runtime(deadpool::Runtime::Tokio1)
        // The connection used last, whose backend is still warm in the CPU's caches. Handed round
        // in turn, each call went to the backend idle the longest (docs/BENCHMARKS.md, finding 17).
        .queue_mode(deadpool::managed::QueueMode::Lifo)
        .build()
        .map_err(|e| RepositoryError::Internal(format!("cannot build the pool: {e}")))
}

impl PgStore {
    /// Builds the pools. Connections are opened lazily, so this succeeds while the database is down;
    /// [`PgStore::ping`] tells whether it answers.
    pub fn new(url: &SecretString, settings: &PoolSettings) -> RepositoryResult<Self> {
        // JIT off: PostgreSQL compiled queries it judged costly to machine code on every call, and
        // compiling cost more than it saved (docs/BENCHMARKS.md, finding 3).
        let session_setup = format!(
            "SET application_name = '{}'; SET statement_timeout = {}; SET jit = off",
            settings.application_name.replace('\'', ""),
            settings.statement_timeout.as_millis()
        );
        let pool = build_pool(url, settings, settings.max_size, session_setup.clone())?;
        // A batch statement's plan is the same whatever its arrays hold, but PostgreSQL planned it
        // anew on every call: a plan for a few rows looked cheaper than the generic one for any
        // number. Planning took a third of its time (docs/BENCHMARKS.md, finding 17). Only these
        // connections plan once: elsewhere a window's dates may rightly change the plan.
        let batch_pool = build_pool(
            url,
            settings,
            coalesced::BATCHES_AT_ONCE,
            format!("{session_setup}; SET plan_cache_mode = force_generic_plan"),
        )?;
        Ok(Self {
            pool,
            batch_pool,
            known_sources: Default::default(),
            coalesced: Default::default(),
            read_model: Default::default(),
            url: url.clone(),
        })
    }

    /// Applies the embedded migrations that have not run yet.
    pub async fn migrate(url: &SecretString) -> RepositoryResult<()> {
        let url = url.expose_secret().to_owned();
        // The harness is synchronous: it drives its async connection with a runtime of its own, which
        // must not be the caller's, hence the blocking thread.
        tokio::task::spawn_blocking(move || {
            let mut conn =
                <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)
                    .map_err(|e| RepositoryError::Unavailable(e.to_string()))?;
            // Replicas starting together would race to create the same tables: one migrates at a
            // time, and the others then find nothing pending. The lock ends with the connection.
            diesel::RunQueryDsl::execute(
                diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")),
                &mut conn,
            )
            .map_err(|e| {
                RepositoryError::Unavailable(format!("cannot lock for migrations: {e}"))
            })?;
            conn.run_pending_migrations(MIGRATIONS)
                .map(|applied| {
                    for version in applied {
                        tracing::info!(%version, "applied migration");
                    }
                })
                .map_err(|e| RepositoryError::Internal(format!("migration failed: {e}")))
        })
        .await
        .map_err(|e| RepositoryError::Internal(format!("migration task failed: {e}")))?
    }

    /// Reverts every migration: for the up/down/up check of the tests, never for the server.
    #[doc(hidden)]
    pub async fn revert_all_migrations(url: &SecretString) -> RepositoryResult<usize> {
        let url = url.expose_secret().to_owned();
        tokio::task::spawn_blocking(move || {
            let mut conn =
                <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)
                    .map_err(|e| RepositoryError::Unavailable(e.to_string()))?;
            conn.revert_all_migrations(MIGRATIONS)
                .map(|reverted| reverted.len())
                .map_err(|e| RepositoryError::Internal(format!("reverting failed: {e}")))
        })
        .await
        .map_err(|e| RepositoryError::Internal(format!("migration task failed: {e}")))?
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> RepositoryResult<()> {
        let mut conn = self.conn().await?;
        conn.batch_execute("SELECT 1")
            .await
            .map_err(error::classify)
    }

    /// What the pool holds now: for metrics.
    pub fn pool_status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            available: status.available,
            waiting: status.waiting,
        }
    }

    /// How the RecordAssessment calls without a request id were written: in batches, or alone.
    pub fn coalesced_counts(&self) -> CoalescedCounts {
        self.coalesced.counts()
    }

    /// How often the statements prepared on the batch connection used last were planned: for a
    /// generic plan, and for custom plans. For the tests.
    #[doc(hidden)]
    pub async fn batch_plans(&self) -> RepositoryResult<(i64, i64)> {
        #[derive(diesel::QueryableByName)]
        struct Plans {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            generic: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            custom: i64,
        }
        let mut conn = self.batch_conn().await?;
        let plans: Plans = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query(
                "SELECT COALESCE(sum(generic_plans), 0)::bigint AS generic,
                        COALESCE(sum(custom_plans), 0)::bigint AS custom
                 FROM pg_prepared_statements",
            ),
            &mut *conn,
        )
        .await
        .map_err(error::classify)?;
        Ok((plans.generic, plans.custom))
    }

    /// A connection from the pool. Within a [`Call`], waiting for it (and opening it) ends before the
    /// call's deadline, so that the caller hears UNAVAILABLE rather than its own timeout.
    async fn conn(&self) -> RepositoryResult<PooledConnection> {
        self.conn_from(&self.pool).await
    }

    /// A connection for a coalesced batch (see [`PgStore::new`]).
    async fn batch_conn(&self) -> RepositoryResult<PooledConnection> {
        self.conn_from(&self.batch_pool).await
    }

    async fn conn_from(
        &self,
        pool: &Pool<AsyncPgConnection>,
    ) -> RepositoryResult<PooledConnection> {
        let call = Call::current();
        let mut timeouts = pool.timeouts();
        if let Some(deadline) = call.as_ref().and_then(Call::deadline) {
            // Give up a tenth early, so that the caller hears why, before its own timer fires.
            let left = deadline.saturating_duration_since(tokio::time::Instant::now()) * 9 / 10;
            let within = |limit: Option<Duration>| Some(limit.map_or(left, |l| l.min(left)));
            timeouts.wait = within(timeouts.wait);
            timeouts.create = within(timeouts.create);
        }
        let object = pool
            .timeout_get(&timeouts)
            .await
            .map_err(|e| RepositoryError::Unavailable(format!("no database connection: {e}")))?;
        Ok(PooledConnection::new(object, call))
    }

    /// Runs a write transaction, and runs it again from the start when it lost a race with a
    /// concurrent writer (see [`StoreError::Conflict`]).
    async fn write<T, F, Fut>(&self, attempt: F) -> RepositoryResult<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt().await {
                Err(StoreError::Conflict(message)) if tries < WRITE_ATTEMPTS => {
                    tracing::debug!(%message, tries, "write conflict; retrying");
                }
                result => return result.map_err(RepositoryError::from),
            }
        }
    }
}
