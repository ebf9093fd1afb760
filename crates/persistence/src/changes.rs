//! The change feed: every committed write that changed what the figures read notifies
//! `civcas_changes`, and each server process listens on one connection of its own, so that a write
//! through any replica reaches the watchers of all.

use std::time::Duration;

use civcas_domain::repository::Written;
use civcas_domain::{RecordedAssessment, WriteOutcome};

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures::StreamExt;
use secrecy::ExposeSecret;
use tokio::sync::watch;

use crate::PgStore;
use crate::prepared::Prepared;

/// The channel writes notify on.
pub const CHANNEL: &str = "civcas_changes";

/// Notifies [`CHANNEL`] when `conn`'s transaction commits.
pub(crate) async fn notify(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    Prepared(diesel::sql_query("SELECT pg_notify($1, '')").bind::<Text, _>(CHANNEL))
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether a write changed what the figures read. Only such writes notify, so that an import run
/// again, or a repeated write, does not make every watcher recompute its figures. (References added
/// to an incident change no figure; a RecordIncident that adds only references still notifies.)
pub(crate) trait Stored {
    fn stored(&self) -> bool;
}

impl<T> Stored for Written<T> {
    fn stored(&self) -> bool {
        self.outcome != WriteOutcome::Unchanged
    }
}

/// A write that creates its incident always stores its assessment too.
impl Stored for RecordedAssessment {
    fn stored(&self) -> bool {
        self.created
    }
}

/// UnlinkIncidents: whether a link was removed.
impl Stored for bool {
    fn stored(&self) -> bool {
        *self
    }
}

/// How long the listener waits before connecting again after losing its connection.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// A counter that moves whenever some write may have changed the data: watchers compare it, never
/// read it as a number of writes. It also moves when the listener reconnects, since notifications
/// sent while it was away are lost.
pub type Changes = watch::Receiver<u64>;

impl PgStore {
    /// Starts listening for committed writes, and returns the counter they move with the task that
    /// listens; aborting the task (at shutdown) closes the counter, which ends every watcher.
    pub fn listen_for_changes(&self) -> (Changes, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = watch::channel(0u64);
        let url = self.url.clone();
        let task = tokio::spawn(async move {
            loop {
                match listen(url.expose_secret(), &sender).await {
                    Ok(()) => tracing::warn!("the change feed's connection closed; reconnecting"),
                    Err(error) => tracing::warn!(%error, "the change feed is down; reconnecting"),
                }
                if sender.is_closed() {
                    return;
                }
                tokio::time::sleep(RECONNECT_DELAY).await;
            }
        });
        (receiver, task)
    }
}

/// How long the listener waits on a quiet connection before checking that it is still alive: a
/// connection can die without a word (a dropped NAT mapping, a failover), and would then wait for
/// notifications forever.
const KEEPALIVE: Duration = Duration::from_secs(30);

/// Listens until the connection fails.
async fn listen(url: &str, changes: &watch::Sender<u64>) -> Result<(), String> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .map_err(|e| e.to_string())?;
    conn.batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(|e| e.to_string())?;
    // Whatever happened while no one listened counts as a change.
    changes.send_modify(|version| *version += 1);
    tracing::info!("change feed listening");
    loop {
        let next = {
            // Notifications wait in the connection's own queue while no stream is polling it.
            let mut notifications = std::pin::pin!(conn.notifications_stream());
            tokio::time::timeout(KEEPALIVE, notifications.next()).await
        };
        match next {
            Ok(Some(Ok(_))) => changes.send_modify(|version| *version += 1),
            Ok(Some(Err(error))) => return Err(error.to_string()),
            Ok(None) => return Ok(()),
            Err(_quiet) => {
                tokio::time::timeout(Duration::from_secs(5), conn.batch_execute("SELECT 1"))
                    .await
                    .map_err(|_| "the listening connection does not answer".to_owned())?
                    .map_err(|e| e.to_string())?;
            }
        }
    }
}
