//! Keyset paging: a page continues after the sort key of the previous page's last row.

use civcas_domain::{Page, PageRequest, RepositoryError, Violations};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StoreResult;

/// The sort key a page continues after, if the request has one.
pub(crate) fn after<K: DeserializeOwned>(page: &PageRequest) -> StoreResult<Option<K>> {
    page.after
        .as_deref()
        .map(|raw| {
            serde_json::from_str(raw).map_err(|_| {
                RepositoryError::Invalid(Violations::one(
                    "page_token",
                    "is not a page token issued by this list",
                ))
                .into()
            })
        })
        .transpose()
}

/// How many rows to fetch: one more than the page, to learn whether another page follows.
pub(crate) fn fetch_limit(page: &PageRequest) -> i64 {
    i64::try_from(page.size.get()).unwrap_or(i64::MAX) + 1
}

/// Cuts the fetched rows to one page, with the position of its last item when more follow.
pub(crate) fn cut<T, K: Serialize>(
    mut rows: Vec<T>,
    page: &PageRequest,
    key_of: impl Fn(&T) -> K,
) -> Page<T> {
    let more = rows.len() > page.size.get();
    rows.truncate(page.size.get());
    let next = more
        .then(|| rows.last().map(|last| serde_json::to_string(&key_of(last))))
        .flatten()
        .and_then(Result::ok);
    Page { items: rows, next }
}
