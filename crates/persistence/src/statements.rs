//! Statements: append-only aggregate figures, grouped into revision chains by a key the domain builds.

use civcas_domain::repository::{IdempotencyKey, Resource, StatementFilter, StatementRepository};
use civcas_domain::statement::revision_chain;
use civcas_domain::{
    NewStatement, Page, PageRequest, RepositoryError, RepositoryResult, Revision, Statement,
    StatementId, WriteOutcome, Written,
};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::error::{StoreResult, classify};
use crate::models::{NewStatementRow, StatementRow};
use crate::schema::statements;
use crate::{PgStore, paging};

/// A chain's statements in chain order: `published_on`, then `recorded_at`, then id.
async fn chain(conn: &mut AsyncPgConnection, chain_key: &str) -> StoreResult<Vec<Statement>> {
    let rows: Vec<StatementRow> = statements::table
        .filter(statements::chain_key.eq(chain_key))
        .order((
            statements::published_on,
            statements::recorded_at,
            statements::id,
        ))
        .select(StatementRow::as_select())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(Statement::try_from)
        .collect::<Result<_, _>>()?)
}

impl StatementRepository for PgStore {
    async fn record_statement(
        &self,
        statement: NewStatement,
        key: Option<IdempotencyKey>,
    ) -> RepositoryResult<Written<Statement>> {
        let (new, key) = (&statement, key.as_ref());
        let chain_key = &new.chain_key();
        idempotent_write!(self, key, |conn| {
            self.known_sources
                .require(conn, &new.source_id, "statement.source_id")
                .await?;
            // One writer per chain at a time, so that a repeated statement is seen as one.
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind::<Text, _>(chain_key.as_str())
                .execute(conn)
                .await?;
            // Compared with the chain's last statement published the same day, so that restating a
            // release is UNCHANGED while a same-day correction is recorded.
            let repeated = chain(conn, chain_key)
                .await?
                .into_iter()
                .rev()
                .find(|stored| stored.details.published_on == new.details.published_on)
                .filter(|stored| new.details.repeats(&stored.details));
            match repeated {
                Some(stored) => Written {
                    value: stored,
                    outcome: WriteOutcome::Unchanged,
                },
                None => {
                    let row: StatementRow = diesel::insert_into(statements::table)
                        .values(NewStatementRow::new(
                            &new.source_id,
                            chain_key,
                            &new.details,
                        ))
                        .returning(StatementRow::as_returning())
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

    async fn list_statements(
        &self,
        filter: StatementFilter,
        page: PageRequest,
    ) -> RepositoryResult<Page<Statement>> {
        let after: Option<i64> = paging::after(&page)?;
        let mut conn = self.conn().await?;
        let mut query = statements::table
            .select(StatementRow::as_select())
            .order(statements::id)
            .limit(paging::fetch_limit(&page))
            .into_boxed();
        if let Some(source) = &filter.source_id {
            query = query.filter(statements::source_id.eq(source.as_str()));
        }
        if let Some(measure) = filter.measure {
            query = query.filter(statements::measure.eq(measure.as_str()));
        }
        if let Some(after) = after {
            query = query.filter(statements::id.gt(after));
        }
        let rows = query.load(&mut conn).await.map_err(classify)?;
        let statements = rows
            .into_iter()
            .map(Statement::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(paging::cut(statements, &page, |s| s.id.get()))
    }

    async fn statement_revisions(&self, id: StatementId) -> RepositoryResult<Vec<Revision>> {
        let mut conn = self.conn().await?;
        let chain_key: String = statements::table
            .find(id.get())
            .select(statements::chain_key)
            .first(&mut conn)
            .await
            .optional()
            .map_err(classify)?
            .ok_or_else(|| RepositoryError::NotFound {
                resource: Resource::Statement,
                id: id.to_string(),
                field: "statement_id".to_owned(),
            })?;
        Ok(revision_chain(chain(&mut conn, &chain_key).await?))
    }
}
