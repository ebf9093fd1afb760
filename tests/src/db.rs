//! Direct SQL on a test database, for what the API cannot show: locks held from outside, and
//! civcas's own sessions in `pg_stat_activity`.

use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use secrecy::{ExposeSecret, SecretString};

pub async fn connect(url: &SecretString) -> AsyncPgConnection {
    AsyncPgConnection::establish(url.expose_secret())
        .await
        .expect("a direct connection to the test database")
}

/// Opens a transaction on `conn` that holds `table` exclusively until [`release`]: every civcas
/// query touching the table waits.
pub async fn lock_table(conn: &mut AsyncPgConnection, table: &str) {
    conn.batch_execute(&format!(
        "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
    ))
    .await
    .expect("the lock is taken");
}

pub async fn release(conn: &mut AsyncPgConnection) {
    conn.batch_execute("COMMIT")
        .await
        .expect("the lock is released");
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// civcas's queries now waiting for a lock in the connection's database.
pub async fn civcas_queries_waiting(conn: &mut AsyncPgConnection) -> i64 {
    let query = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'civcas' \
           AND wait_event_type = 'Lock'",
    );
    diesel_async::RunQueryDsl::get_result::<Count>(query, conn)
        .await
        .expect("pg_stat_activity answers")
        .n
}

/// Waits until exactly `wanted` civcas queries wait for a lock, and says how long that took.
pub async fn wait_for_waiting(
    conn: &mut AsyncPgConnection,
    wanted: i64,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    let what = format!("{wanted} civcas queries wait for the lock");
    crate::eventually(&what, within, async || {
        match civcas_queries_waiting(&mut *conn).await {
            waiting if waiting == wanted => Ok(()),
            waiting => Err(waiting),
        }
    })
    .await;
    started.elapsed()
}
