//! `src/schema.rs` is written by hand (diesel's CLI would need libpq): this checks it against the
//! database the migrations build, table by table and column by column, with types and nullability.

use std::collections::BTreeMap;

use civcas_persistence::PgStore;
use civcas_persistence::embedded::LocalCluster;
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::ExposeSecret;

/// (table, column) → (SQL type, nullable)
type Columns = BTreeMap<(String, String), (String, bool)>;

/// The change log's tables, which only raw SQL reads (`src/read_model/log.rs`): diesel has no type
/// for a transaction id (`xid8`), and `fact_changes` no key.
const RAW_SQL_ONLY: [(&str, &str, &str, bool); 5] = [
    ("fact_changes", "txid", "xid8", false),
    ("fact_changes", "incident_id", "bigint", true),
    (
        "fact_changes",
        "logged_at",
        "timestamp with time zone",
        false,
    ),
    ("fact_changes_horizon", "single", "boolean", false),
    ("fact_changes_horizon", "txid", "xid8", false),
];

/// The columns `schema.rs` declares, its diesel types spelt as PostgreSQL spells them, and those of
/// [`RAW_SQL_ONLY`].
fn declared() -> Columns {
    let schema = include_str!("../src/schema.rs");
    let mut columns: Columns = RAW_SQL_ONLY
        .iter()
        .map(|(table, column, ty, nullable)| {
            (
                ((*table).to_owned(), (*column).to_owned()),
                ((*ty).to_owned(), *nullable),
            )
        })
        .collect();
    let mut table = None;
    for line in schema.lines().map(str::trim) {
        if line == "}" {
            table = None;
            continue;
        }
        if let Some(name) = line.split_once(" (").map(|(name, _)| name)
            && line.ends_with('{')
            && !line.starts_with("diesel::")
        {
            table = Some(name.to_owned());
            continue;
        }
        let (Some(table), Some((column, ty))) = (&table, line.split_once(" -> ")) else {
            continue;
        };
        let ty = ty.trim_end_matches(',');
        let (nullable, ty) = match ty
            .strip_prefix("Nullable<")
            .and_then(|t| t.strip_suffix('>'))
        {
            Some(inner) => (true, inner),
            None => (false, ty),
        };
        let sql = match ty {
            "Int8" => "bigint",
            "Text" => "text",
            "Date" => "date",
            "Timestamptz" => "timestamp with time zone",
            "Float8" => "double precision",
            "Jsonb" => "jsonb",
            "Bool" => "boolean",
            "Array<Text>" => "ARRAY",
            other => panic!("schema.rs uses a type this check does not know: {other}"),
        };
        columns.insert(
            (table.clone(), column.to_owned()),
            (sql.to_owned(), nullable),
        );
    }
    columns
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_rs_matches_the_migrated_database() {
    let cluster = LocalCluster::start_temporary().await.unwrap();
    cluster.ensure_database("schema").await.unwrap();
    let url = cluster.url("schema");
    PgStore::migrate(&url).await.unwrap();
    let mut conn = AsyncPgConnection::establish(url.expose_secret())
        .await
        .unwrap();
    let rows: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let migrated: Columns = rows
        .into_iter()
        .map(|c| {
            (
                (c.table_name, c.column_name),
                (c.data_type, c.is_nullable == "YES"),
            )
        })
        .collect();
    let declared = declared();
    assert!(
        declared.len() > 40,
        "the schema.rs parser found only {} columns",
        declared.len()
    );
    assert_eq!(declared, migrated);
    drop(conn);
    cluster.stop().await.unwrap();
}
