//! A pooled connection that knows the call it serves, so that an abandoned call's query is cancelled.

use std::ops::{Deref, DerefMut};

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Object;

use crate::call::Call;

/// A connection from the pool, returned to it on drop, unless its call was abandoned: then a query may
/// still be running on it, so it is cancelled and the connection retired. Returning it instead would
/// let the cancellation, which travels on a connection of its own, hit the next call's query.
pub(crate) struct PooledConnection {
    object: Option<Object<AsyncPgConnection>>,
    call: Option<Call>,
}

impl PooledConnection {
    pub(crate) fn new(object: Object<AsyncPgConnection>, call: Option<Call>) -> Self {
        Self {
            object: Some(object),
            call,
        }
    }
}

impl Deref for PooledConnection {
    type Target = AsyncPgConnection;

    fn deref(&self) -> &AsyncPgConnection {
        self.object
            .as_ref()
            .expect("the connection is present until drop")
    }
}

impl DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        self.object
            .as_mut()
            .expect("the connection is present until drop")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let abandoned = self.call.as_ref().is_some_and(Call::is_abandoned);
        let Some(object) = self.object.take() else {
            return;
        };
        if !abandoned {
            return; // `object` goes back to the pool
        }
        let connection = Object::take(object);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // no runtime to cancel from: the connection is closed, never reused
        };
        let cancel = connection.cancel_token();
        runtime.spawn(async move {
            if let Err(error) = cancel.cancel_query(tokio_postgres::NoTls).await {
                tracing::warn!(%error, "cannot cancel an abandoned call's query");
            }
            tracing::debug!("cancelled an abandoned call's query and retired its connection");
            drop(connection);
        });
    }
}
