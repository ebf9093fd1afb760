//! The change feed: every committed write notifies `civcas_changes`, and each server process listens
//! on one connection of its own, so that a write through any replica reaches the watchers of all.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures::StreamExt;
use secrecy::ExposeSecret;
use tokio::sync::watch;

use crate::PgStore;

/// The channel writes notify on.
pub const CHANNEL: &str = "civcas_changes";
pub(crate) const NOTIFY: &str = "NOTIFY civcas_changes";

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

/// Listens until the connection fails.
async fn listen(url: &str, changes: &watch::Sender<u64>) -> Result<(), diesel::result::Error> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .map_err(|e| diesel::result::Error::QueryBuilderError(Box::new(e)))?;
    conn.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    // Whatever happened while no one listened counts as a change.
    changes.send_modify(|version| *version += 1);
    tracing::info!("change feed listening");
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    while let Some(notification) = notifications.next().await {
        notification?;
        changes.send_modify(|version| *version += 1);
    }
    Ok(())
}
