//! Raw SQL statements prepared once per connection.
//!
//! diesel never caches a `sql_query`, since its text may be built anew for every call, so
//! diesel-async prepares it before each execution: a round trip more, and PostgreSQL parses and
//! plans the statement again every time (finding 14 in docs/BENCHMARKS.md). A statement whose text
//! is fixed is wrapped in [`Prepared`], and diesel then caches it by its text, as it caches the
//! statements of its query builder. Only fixed texts: each distinct text stays prepared on every
//! connection for the connection's life.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::QueryResult;

/// A raw SQL statement of fixed text, with its binds: prepared once per connection.
#[derive(Debug, Clone)]
pub(crate) struct Prepared<Q>(pub(crate) Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    /// The text is fixed, so the statement may be cached by it, whatever `sql_query` says.
    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

/// No identity known at compile time: the statement cache keys it by its text and bind types.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}
