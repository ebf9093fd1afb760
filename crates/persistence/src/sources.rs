//! The source registry.

use std::collections::HashSet;
use std::sync::{PoisonError, RwLock};

use civcas_domain::repository::{IdempotencyKey, Resource, SourceRepository};
use civcas_domain::{
    NewSource, Page, PageRequest, RepositoryError, RepositoryResult, Source, SourceId,
    SourceUpdate, WriteOutcome, Written,
};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::error::StoreResult;
use crate::models::{SourceDetailsRow, SourceRow};
use crate::schema::sources;
use crate::{PgStore, paging};

pub(crate) async fn find_source(
    conn: &mut AsyncPgConnection,
    id: &SourceId,
) -> StoreResult<Option<Source>> {
    let row = sources::table
        .find(id.as_str())
        .select(SourceRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(Source::try_from).transpose()?)
}

/// The sources this store has seen registered. Sources are never deleted, so a source seen once
/// stays registered, and the writes that name it (every assessment, reference and statement) need
/// not ask the database again; the foreign keys still guard every row. Unknown ids are always asked.
#[derive(Debug, Default)]
pub(crate) struct KnownSources(RwLock<HashSet<String>>);

impl KnownSources {
    /// Fails with NOT_FOUND on `field` unless the source is registered.
    pub(crate) async fn require(
        &self,
        conn: &mut AsyncPgConnection,
        id: &SourceId,
        field: &str,
    ) -> StoreResult<()> {
        if self.registered(conn, [id.as_str()]).await?.is_empty() {
            return Err(RepositoryError::NotFound {
                resource: Resource::Source,
                id: id.to_string(),
                field: field.to_owned(),
            }
            .into());
        }
        Ok(())
    }

    /// Whether every one of `named` has been seen registered, without asking the database.
    pub(crate) fn all_seen<'a>(&self, named: impl IntoIterator<Item = &'a str>) -> bool {
        let seen = self.0.read().unwrap_or_else(PoisonError::into_inner);
        named.into_iter().all(|id| seen.contains(id))
    }

    /// Those of `named` that are registered, asking the database only about those not seen yet.
    pub(crate) async fn registered<'a>(
        &self,
        conn: &mut AsyncPgConnection,
        named: impl IntoIterator<Item = &'a str>,
    ) -> StoreResult<HashSet<String>> {
        let (mut registered, unseen): (HashSet<String>, Vec<&str>) = {
            let seen = self.0.read().unwrap_or_else(PoisonError::into_inner);
            let (known, unseen): (Vec<&str>, Vec<&str>) =
                named.into_iter().partition(|id| seen.contains(*id));
            (known.into_iter().map(str::to_owned).collect(), unseen)
        };
        if !unseen.is_empty() {
            let found: Vec<String> = sources::table
                .filter(sources::id.eq_any(&unseen))
                .select(sources::id)
                .load(conn)
                .await?;
            self.0
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(found.iter().cloned());
            registered.extend(found);
        }
        Ok(registered)
    }
}

impl SourceRepository for PgStore {
    async fn register_source(
        &self,
        source: NewSource,
        key: Option<IdempotencyKey>,
    ) -> RepositoryResult<Written<Source>> {
        let (source, key) = (&source, key.as_ref());
        idempotent_write!(self, key, |conn| {
            match find_source(conn, &source.id).await? {
                Some(stored) if stored.details == source.details => Written {
                    value: stored,
                    outcome: WriteOutcome::Unchanged,
                },
                Some(_) => {
                    return Err(RepositoryError::AlreadyExists {
                        reason: "SOURCE_ALREADY_EXISTS",
                        message: format!(
                            "source {} is registered with other attributes; change it with UpdateSource",
                            source.id
                        ),
                    }
                    .into());
                }
                None => {
                    let row: SourceRow = diesel::insert_into(sources::table)
                        .values((
                            sources::id.eq(source.id.as_str()),
                            SourceDetailsRow::from(&source.details),
                        ))
                        .returning(SourceRow::as_returning())
                        .get_result(conn)
                        .await?;
                    Written {
                        value: row.try_into()?,
                        outcome: WriteOutcome::Created,
                    }
                }
            }
        })
    }

    async fn get_source(&self, id: &SourceId) -> RepositoryResult<Source> {
        let mut conn = self.conn().await?;
        find_source(&mut conn, id)
            .await?
            .ok_or_else(|| RepositoryError::NotFound {
                resource: Resource::Source,
                id: id.to_string(),
                field: "source_id".to_owned(),
            })
    }

    async fn list_sources(&self, page: PageRequest) -> RepositoryResult<Page<Source>> {
        let after: Option<String> = paging::after(&page)?;
        let mut conn = self.conn().await?;
        let mut query = sources::table
            .select(SourceRow::as_select())
            .order(sources::id)
            .limit(paging::fetch_limit(&page))
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(sources::id.gt(after));
        }
        let rows = query
            .load(&mut conn)
            .await
            .map_err(crate::error::classify)?;
        let sources = rows
            .into_iter()
            .map(Source::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(paging::cut(sources, &page, |s| s.id.to_string()))
    }

    async fn update_source(
        &self,
        update: SourceUpdate,
        key: Option<IdempotencyKey>,
    ) -> RepositoryResult<Written<Source>> {
        let (update, key) = (&update, key.as_ref());
        idempotent_write!(self, key, |conn| {
            let stored: Source = sources::table
                .find(update.id.as_str())
                .select(SourceRow::as_select())
                .for_no_key_update()
                .first(conn)
                .await
                .optional()?
                .ok_or_else(|| RepositoryError::NotFound {
                    resource: Resource::Source,
                    id: update.id.to_string(),
                    field: "source.id".to_owned(),
                })?
                .try_into()?;
            let details = stored.details.with_changes(&update.changes);
            if details == stored.details {
                Written {
                    value: stored,
                    outcome: WriteOutcome::Unchanged,
                }
            } else {
                let row: SourceRow = diesel::update(sources::table.find(update.id.as_str()))
                    .set((
                        SourceDetailsRow::from(&details),
                        sources::updated_at.eq(diesel::dsl::now),
                    ))
                    .returning(SourceRow::as_returning())
                    .get_result(conn)
                    .await?;
                Written {
                    value: row.try_into()?,
                    outcome: WriteOutcome::Updated,
                }
            }
        })
    }
}
