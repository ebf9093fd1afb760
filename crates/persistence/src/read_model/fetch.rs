//! Fact fetching: the rows the rules read, as the domain's facts. Nothing here decides a figure.
//!
//! An incident matters to the figures only once an assessment, a DUPLICATE verdict or a link names
//! it, so only those incidents are read.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use civcas_domain::reconcile::{AssessmentFacts, IncidentFacts, SourceFacts};
use civcas_domain::{
    AssessmentId, CountRange, CountryCode, DateInterval, IncidentId, IncidentPair, Slug, SourceId,
    Statement, Verdict,
};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::TryStreamExt;

use crate::error::{StoreError, StoreResult, corrupt};
use crate::models::{StatementRow, count_range};
use crate::schema::statements;

/// One incident with every assessment of it and every explicit link that names it.
#[derive(Debug, Clone)]
pub(crate) struct IncidentRecord {
    pub(crate) facts: IncidentFacts,
    pub(crate) assessments: Vec<AssessmentFacts>,
    pub(crate) links: Vec<IncidentPair>,
}

impl IncidentRecord {
    /// The incidents this one's links and DUPLICATE verdicts name.
    pub(crate) fn neighbours(&self) -> impl Iterator<Item = IncidentId> + '_ {
        let id = self.facts.id;
        self.links
            .iter()
            .map(move |l| if l.low() == id { l.high() } else { l.low() })
            .chain(self.assessments.iter().filter_map(|a| a.duplicate_of))
    }
}

/// Sources, statements, and the first day each source assessed anything.
#[derive(Debug, Clone, Default)]
pub(crate) struct Registry {
    pub(crate) sources: Vec<SourceFacts>,
    pub(crate) statements: Vec<Statement>,
    pub(crate) first_assessed: BTreeMap<SourceId, NaiveDate>,
}

#[derive(QueryableByName)]
struct IncidentFactRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Date)]
    occurred_from: NaiveDate,
    #[diesel(sql_type = Date)]
    occurred_to: NaiveDate,
    #[diesel(sql_type = Text)]
    country: String,
    #[diesel(sql_type = Nullable<Text>)]
    admin1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    locality: Option<String>,
    #[diesel(sql_type = Array<Text>)]
    attributed_to: Vec<String>,
}

impl TryFrom<IncidentFactRow> for IncidentFacts {
    type Error = StoreError;

    fn try_from(row: IncidentFactRow) -> StoreResult<Self> {
        let bad = |e| StoreError::Repository(corrupt("incident", e));
        let mut attributed_to: Vec<Slug> = row
            .attributed_to
            .iter()
            .map(|s| Slug::parse(s))
            .collect::<Result<_, _>>()
            .map_err(bad)?;
        attributed_to.sort();
        attributed_to.dedup();
        Ok(Self {
            id: IncidentId::from_stored(row.id),
            occurred: DateInterval::new(row.occurred_from, row.occurred_to).map_err(bad)?,
            country: CountryCode::parse(&row.country).map_err(bad)?,
            admin1: row.admin1,
            locality: row.locality,
            attributed_to,
        })
    }
}

#[derive(QueryableByName)]
struct AssessmentFactRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    source_id: String,
    #[diesel(sql_type = BigInt)]
    incident_id: i64,
    #[diesel(sql_type = Text)]
    verdict: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    killed_min: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    killed_max: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    injured_min: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    injured_max: Option<i64>,
    #[diesel(sql_type = Date)]
    assessed_on: NaiveDate,
    #[diesel(sql_type = Timestamptz)]
    recorded_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<BigInt>)]
    duplicate_of: Option<i64>,
}

impl TryFrom<AssessmentFactRow> for AssessmentFacts {
    type Error = StoreError;

    fn try_from(row: AssessmentFactRow) -> StoreResult<Self> {
        let bad = |e| StoreError::Repository(corrupt("assessment", e));
        let range = |what, min, max| -> StoreResult<Option<CountRange>> {
            Ok(count_range(what, min, max)?)
        };
        Ok(Self {
            id: AssessmentId::from_stored(row.id),
            source_id: SourceId::parse(&row.source_id).map_err(bad)?,
            incident_id: IncidentId::from_stored(row.incident_id),
            verdict: Verdict::from_name(&row.verdict)
                .ok_or_else(|| StoreError::Repository(corrupt("verdict", &row.verdict)))?,
            killed: range("killed figure", row.killed_min, row.killed_max)?,
            injured: range("injured figure", row.injured_min, row.injured_max)?,
            assessed_on: row.assessed_on,
            recorded_at: row.recorded_at,
            duplicate_of: row.duplicate_of.map(IncidentId::from_stored),
        })
    }
}

#[derive(QueryableByName)]
struct LinkRow {
    #[diesel(sql_type = BigInt)]
    low_incident_id: i64,
    #[diesel(sql_type = BigInt)]
    high_incident_id: i64,
}

const INCIDENT_COLUMNS: &str = "SELECT id, occurred_from, occurred_to, country, admin1, locality, attributed_to FROM incidents";
const ASSESSMENT_COLUMNS: &str = "SELECT id, source_id, incident_id, verdict, killed_min, killed_max, \
     injured_min, injured_max, assessed_on, recorded_at, duplicate_of FROM assessments";
/// Whether an assessment, a DUPLICATE verdict or a link names the incident `i`.
const NAMED: &str = "EXISTS (SELECT FROM assessments a WHERE a.incident_id = i.id) \
     OR EXISTS (SELECT FROM assessments a WHERE a.duplicate_of = i.id) \
     OR EXISTS (SELECT FROM incident_links l WHERE l.low_incident_id = i.id) \
     OR EXISTS (SELECT FROM incident_links l WHERE l.high_incident_id = i.id)";
const LINK_COLUMNS: &str = "SELECT low_incident_id, high_incident_id FROM incident_links";

/// The records of `ids` (every incident an assessment, a DUPLICATE verdict or a link names, when
/// `None`), read in the connection's snapshot. Rows are streamed, so that reading a million
/// incidents holds only their facts. An id nothing names has no record.
pub(crate) async fn incident_records(
    conn: &mut AsyncPgConnection,
    ids: Option<&[i64]>,
) -> StoreResult<HashMap<IncidentId, IncidentRecord>> {
    let (incidents, assessments, links) = match ids {
        None => (
            format!("{INCIDENT_COLUMNS} i WHERE {NAMED}"),
            ASSESSMENT_COLUMNS.to_owned(),
            LINK_COLUMNS.to_owned(),
        ),
        Some(_) => (
            format!("{INCIDENT_COLUMNS} i WHERE i.id = ANY($1) AND ({NAMED})"),
            format!("{ASSESSMENT_COLUMNS} WHERE incident_id = ANY($1)"),
            format!("{LINK_COLUMNS} WHERE low_incident_id = ANY($1) OR high_incident_id = ANY($1)"),
        ),
    };
    let ids = ids.unwrap_or_default().to_vec();
    let bound = |sql: String| diesel::sql_query(sql).bind::<Array<BigInt>, _>(ids.clone());

    let mut found: HashMap<IncidentId, IncidentRecord> = HashMap::new();
    let mut rows = bound(incidents)
        .load_stream::<IncidentFactRow>(conn)
        .await?;
    while let Some(row) = rows.try_next().await? {
        let facts = IncidentFacts::try_from(row)?;
        found.insert(
            facts.id,
            IncidentRecord {
                facts,
                assessments: Vec::new(),
                links: Vec::new(),
            },
        );
    }
    drop(rows);
    let mut rows = bound(assessments)
        .load_stream::<AssessmentFactRow>(conn)
        .await?;
    while let Some(row) = rows.try_next().await? {
        let a = AssessmentFacts::try_from(row)?;
        if let Some(record) = found.get_mut(&a.incident_id) {
            record.assessments.push(a);
        }
    }
    drop(rows);
    let mut rows = bound(links).load_stream::<LinkRow>(conn).await?;
    while let Some(row) = rows.try_next().await? {
        let pair = IncidentPair::new(
            IncidentId::from_stored(row.low_incident_id),
            IncidentId::from_stored(row.high_incident_id),
        )
        .map_err(|e| StoreError::Repository(corrupt("link", e)))?;
        for end in [pair.low(), pair.high()] {
            if let Some(record) = found.get_mut(&end) {
                record.links.push(pair);
            }
        }
    }
    Ok(found)
}

#[derive(QueryableByName)]
struct SourceFactRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Nullable<Text>)]
    belligerent: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    first_assessed: Option<NaiveDate>,
}

/// Every source, with the first day it assessed anything, and every statement.
pub(crate) async fn registry(conn: &mut AsyncPgConnection) -> StoreResult<Registry> {
    let rows: Vec<SourceFactRow> = diesel::sql_query(
        "SELECT s.id, s.belligerent,
                (SELECT min(assessed_on) FROM assessments a WHERE a.source_id = s.id) AS first_assessed
         FROM sources s ORDER BY s.id",
    )
    .load(conn)
    .await?;
    let mut registry = Registry::default();
    for row in rows {
        let bad = |e| StoreError::Repository(corrupt("source", e));
        let id = SourceId::parse(&row.id).map_err(bad)?;
        if let Some(first) = row.first_assessed {
            registry.first_assessed.insert(id.clone(), first);
        }
        registry.sources.push(SourceFacts {
            id,
            belligerent: row
                .belligerent
                .as_deref()
                .map(Slug::parse)
                .transpose()
                .map_err(bad)?,
        });
    }
    let statements: Vec<StatementRow> = statements::table
        .order(statements::id)
        .select(StatementRow::as_select())
        .load(conn)
        .await?;
    registry.statements = statements
        .into_iter()
        .map(Statement::try_from)
        .collect::<Result<_, _>>()?;
    Ok(registry)
}
