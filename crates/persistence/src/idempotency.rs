//! Idempotent writes: a request id and its result are stored in the write's own transaction.
//!
//! A write first looks its key up. A stored key with the same fingerprint replays the stored result;
//! with another fingerprint it is [`RepositoryError::RequestIdReused`]. A new key is inserted together
//! with the result just before commit. Two concurrent writers with one key both do the work, but only
//! the first commits: the second blocks on the key's unique index, fails with a conflict, is rolled
//! back and retried, and then replays the first result. So a key yields exactly one record.

use civcas_domain::RepositoryError;
use civcas_domain::repository::IdempotencyKey;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{StoreResult, corrupt};
use crate::schema::idempotency_keys;

/// The stored result of an earlier write with this key, if there was one.
pub(crate) async fn replay<T: DeserializeOwned>(
    conn: &mut AsyncPgConnection,
    key: Option<&IdempotencyKey>,
) -> StoreResult<Option<T>> {
    let Some(key) = key else { return Ok(None) };
    let stored: Option<(String, serde_json::Value)> = idempotency_keys::table
        .find(&key.request_id)
        .select((idempotency_keys::fingerprint, idempotency_keys::response))
        .first(conn)
        .await
        .optional()?;
    match stored {
        None => Ok(None),
        Some((fingerprint, _)) if fingerprint != key.fingerprint => {
            Err(RepositoryError::RequestIdReused(key.request_id.clone()).into())
        }
        Some((_, response)) => serde_json::from_value(response)
            .map(Some)
            .map_err(|e| corrupt("idempotent response", e).into()),
    }
}

/// Stores the key with the write's result, in the write's transaction.
pub(crate) async fn remember<T: Serialize>(
    conn: &mut AsyncPgConnection,
    key: Option<&IdempotencyKey>,
    result: &T,
) -> StoreResult<()> {
    let Some(key) = key else { return Ok(()) };
    let response = serde_json::to_value(result)
        .map_err(|e| RepositoryError::Internal(format!("cannot serialise a response: {e}")))?;
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::request_id.eq(&key.request_id),
            idempotency_keys::fingerprint.eq(&key.fingerprint),
            idempotency_keys::response.eq(response),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
