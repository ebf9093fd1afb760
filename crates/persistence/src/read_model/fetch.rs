//! Fact fetching: the rows the rules read, as the domain's facts. Nothing here decides a figure.
//!
//! An incident matters to the figures only once an assessment, a DUPLICATE verdict or a link names
//! it, so only those incidents are read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use civcas_domain::reconcile::{AssessmentFacts, IncidentFacts, SourceFacts};
use civcas_domain::{
    AssessmentId, CountRange, CountryCode, DateInterval, IncidentId, IncidentPair, RepositoryError,
    Slug, SourceId, Statement, ValueError, Verdict,
};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::TryStreamExt;

use crate::error::{StoreError, StoreResult, corrupt};
use crate::models::{StatementRow, count_range, harm_done, killed_by_group};
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

/// One shared copy of each source id and party the read model holds: clones of one value share
/// their text and compare by address (see `civcas_domain::slug`).
#[derive(Debug, Default)]
pub(crate) struct Names {
    sources: Mutex<HashMap<String, SourceId>>,
    parties: Mutex<HashMap<String, Slug>>,
}

impl Names {
    fn source(&self, raw: &str) -> StoreResult<SourceId> {
        shared(&self.sources, raw, SourceId::parse, "source id")
    }

    fn party(&self, raw: &str) -> StoreResult<Slug> {
        shared(&self.parties, raw, Slug::parse, "party")
    }
}

fn shared<T: Clone>(
    names: &Mutex<HashMap<String, T>>,
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
    what: &str,
) -> StoreResult<T> {
    let mut names = names.lock().expect("not poisoned");
    if let Some(name) = names.get(raw) {
        return Ok(name.clone());
    }
    let name = parse(raw).map_err(|e| StoreError::Repository(corrupt(what, e)))?;
    names.insert(raw.to_owned(), name.clone());
    Ok(name)
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
    #[diesel(sql_type = Array<Text>)]
    harm: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    means: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    infrastructure: Vec<String>,
}

impl IncidentFactRow {
    fn facts(self, names: &Names) -> StoreResult<IncidentFacts> {
        let row = self;
        let bad = |e| StoreError::Repository(corrupt("incident", e));
        let mut attributed_to: Vec<Slug> = row
            .attributed_to
            .iter()
            .map(|s| names.party(s))
            .collect::<StoreResult<_>>()?;
        attributed_to.sort();
        attributed_to.dedup();
        Ok(IncidentFacts {
            id: IncidentId::from_stored(row.id),
            occurred: DateInterval::new(row.occurred_from, row.occurred_to).map_err(bad)?,
            country: CountryCode::parse(&row.country).map_err(bad)?,
            admin1: row.admin1,
            locality: row.locality,
            attributed_to,
            harm_done: harm_done(&row.harm, &row.means, &row.infrastructure)?,
        })
    }
}

#[derive(QueryableByName)]
struct AssessmentFactRow {
    #[diesel(sql_type = BigInt, column_name = assessment_id)]
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
    #[diesel(sql_type = Nullable<BigInt>)]
    children_killed_min: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    children_killed_max: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    women_killed_min: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    women_killed_max: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    men_killed_min: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    men_killed_max: Option<i64>,
    #[diesel(sql_type = Date)]
    assessed_on: NaiveDate,
    #[diesel(sql_type = Timestamptz)]
    recorded_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<BigInt>)]
    duplicate_of: Option<i64>,
}

impl AssessmentFactRow {
    fn facts(self, names: &Names) -> StoreResult<AssessmentFacts> {
        let row = self;
        let range = |what, min, max| -> StoreResult<Option<CountRange>> {
            Ok(count_range(what, min, max)?)
        };
        Ok(AssessmentFacts {
            id: AssessmentId::from_stored(row.id),
            source_id: names.source(&row.source_id)?,
            incident_id: IncidentId::from_stored(row.incident_id),
            verdict: Verdict::from_name(&row.verdict)
                .ok_or_else(|| StoreError::Repository(corrupt("verdict", &row.verdict)))?,
            killed: range("killed figure", row.killed_min, row.killed_max)?,
            injured: range("injured figure", row.injured_min, row.injured_max)?,
            groups: killed_by_group([
                row.children_killed_min,
                row.children_killed_max,
                row.women_killed_min,
                row.women_killed_max,
                row.men_killed_min,
                row.men_killed_max,
            ])?
            .boxed(),
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

const INCIDENT_COLUMNS: &str = "SELECT id, occurred_from, occurred_to, country, admin1, locality, attributed_to, \
     harm, means, infrastructure FROM incidents";
const ASSESSMENT_COLUMNS: &str = "SELECT id AS assessment_id, source_id, incident_id, verdict, killed_min, killed_max, \
     injured_min, injured_max, children_killed_min, children_killed_max, women_killed_min, \
     women_killed_max, men_killed_min, men_killed_max, assessed_on, recorded_at, duplicate_of \
     FROM assessments";
/// Whether an assessment, a DUPLICATE verdict or a link names the incident `i`.
const NAMED: &str = "EXISTS (SELECT FROM assessments a WHERE a.incident_id = i.id) \
     OR EXISTS (SELECT FROM assessments a WHERE a.duplicate_of = i.id) \
     OR EXISTS (SELECT FROM incident_links l WHERE l.low_incident_id = i.id) \
     OR EXISTS (SELECT FROM incident_links l WHERE l.high_incident_id = i.id)";
const LINK_COLUMNS: &str = "SELECT low_incident_id, high_incident_id FROM incident_links";

/// The records of `ids` that an assessment, a DUPLICATE verdict or a link names, read in the
/// connection's snapshot. An id nothing names has no record.
pub(crate) async fn incident_records(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    names: &Names,
) -> StoreResult<HashMap<IncidentId, IncidentRecord>> {
    let (incidents, assessments, links) = (
        format!("{INCIDENT_COLUMNS} i WHERE i.id = ANY($1) AND ({NAMED})"),
        format!("{ASSESSMENT_COLUMNS} WHERE incident_id = ANY($1)"),
        format!("{LINK_COLUMNS} WHERE low_incident_id = ANY($1) OR high_incident_id = ANY($1)"),
    );
    let ids = ids.to_vec();
    let bound = |sql: String| diesel::sql_query(sql).bind::<Array<BigInt>, _>(ids.clone());

    let mut found: HashMap<IncidentId, IncidentRecord> = HashMap::new();
    let mut rows = bound(incidents)
        .load_stream::<IncidentFactRow>(conn)
        .await?;
    while let Some(row) = rows.try_next().await? {
        let facts = row.facts(names)?;
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
        let a = row.facts(names)?;
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

/// An incident's row joined with one of its assessments.
#[derive(QueryableByName)]
struct AssessedRow {
    #[diesel(embed)]
    incident: IncidentFactRow,
    #[diesel(embed)]
    assessment: AssessmentFactRow,
}

#[derive(QueryableByName)]
struct EdgeRow {
    #[diesel(sql_type = BigInt)]
    a: i64,
    #[diesel(sql_type = BigInt)]
    b: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    link: bool,
}

/// Every incident an assessment, a DUPLICATE verdict or a link names, with its assessments and
/// links, sent to `groups` one group at a time (see `civcas_domain::reconcile::facts`), in the
/// connection's snapshot. The incidents come streamed in id order, each with its assessments, so
/// that reading a million holds only the groups of several incidents until their last member.
pub(crate) async fn every_group(
    conn: &mut AsyncPgConnection,
    names: &Names,
    groups: &tokio::sync::mpsc::Sender<Vec<IncidentRecord>>,
) -> StoreResult<()> {
    let send = async |group| {
        groups.send(group).await.map_err(|_| {
            StoreError::Repository(RepositoryError::Internal("indexing stopped".into()))
        })
    };
    // What joins incidents into groups: links and DUPLICATE verdicts, which are few.
    let edges: Vec<EdgeRow> = diesel::sql_query(
        "SELECT low_incident_id AS a, high_incident_id AS b, true AS link FROM incident_links
         UNION ALL
         SELECT incident_id, duplicate_of, false FROM assessments WHERE duplicate_of IS NOT NULL",
    )
    .load(conn)
    .await?;
    let mut root: HashMap<i64, i64> = HashMap::new();
    fn find(root: &mut HashMap<i64, i64>, id: i64) -> i64 {
        let parent = *root.entry(id).or_insert(id);
        if parent == id {
            return id;
        }
        let top = find(root, parent);
        root.insert(id, top);
        top
    }
    for edge in &edges {
        let (a, b) = (find(&mut root, edge.a), find(&mut root, edge.b));
        root.insert(a.max(b), a.min(b));
    }
    let mut joined: HashMap<i64, Vec<IncidentRecord>> = HashMap::new();
    let mut rows = diesel::sql_query(
        "SELECT i.id, i.occurred_from, i.occurred_to, i.country, i.admin1, i.locality, i.attributed_to,
                i.harm, i.means, i.infrastructure,
                a.id AS assessment_id, a.source_id, a.incident_id, a.verdict, a.killed_min,
                a.killed_max, a.injured_min, a.injured_max, a.children_killed_min,
                a.children_killed_max, a.women_killed_min, a.women_killed_max, a.men_killed_min,
                a.men_killed_max, a.assessed_on, a.recorded_at, a.duplicate_of
         FROM incidents i JOIN assessments a ON a.incident_id = i.id
         ORDER BY i.id, a.id",
    )
    .load_stream::<AssessedRow>(conn)
    .await?;
    let mut record: Option<IncidentRecord> = None;
    while let Some(row) = rows.try_next().await? {
        let assessment = row.assessment.facts(names)?;
        match record.as_mut() {
            Some(current) if current.facts.id == assessment.incident_id => {
                current.assessments.push(assessment);
                continue;
            }
            _ => {}
        }
        let next = IncidentRecord {
            facts: row.incident.facts(names)?,
            assessments: vec![assessment],
            links: Vec::new(),
        };
        if let Some(done) = record.replace(next) {
            match root.contains_key(&done.facts.id.get()) {
                true => joined.entry(done.facts.id.get()).or_default().push(done),
                false => send(vec![done]).await?,
            }
        }
    }
    drop(rows);
    if let Some(done) = record {
        match root.contains_key(&done.facts.id.get()) {
            true => joined.entry(done.facts.id.get()).or_default().push(done),
            false => send(vec![done]).await?,
        }
    }
    // The joined incidents no assessment is of, and the links.
    let unassessed: Vec<i64> = root
        .keys()
        .filter(|id| !joined.contains_key(id))
        .copied()
        .collect();
    if !unassessed.is_empty() {
        let rows: Vec<IncidentFactRow> =
            diesel::sql_query(format!("{INCIDENT_COLUMNS} WHERE id = ANY($1)"))
                .bind::<Array<BigInt>, _>(unassessed)
                .load(conn)
                .await?;
        for row in rows {
            let facts = row.facts(names)?;
            let record = IncidentRecord {
                facts,
                assessments: Vec::new(),
                links: Vec::new(),
            };
            joined
                .entry(record.facts.id.get())
                .or_default()
                .push(record);
        }
    }
    for edge in edges.iter().filter(|e| e.link) {
        let pair = IncidentPair::new(
            IncidentId::from_stored(edge.a),
            IncidentId::from_stored(edge.b),
        )
        .map_err(|e| StoreError::Repository(corrupt("link", e)))?;
        for end in [edge.a, edge.b] {
            if let Some(record) = joined.get_mut(&end).and_then(|r| r.first_mut()) {
                record.links.push(pair);
            }
        }
    }
    let mut by_root: HashMap<i64, Vec<IncidentRecord>> = HashMap::new();
    for (id, records) in joined {
        let top = find(&mut root, id);
        by_root.entry(top).or_default().extend(records);
    }
    for group in by_root.into_values() {
        send(group).await?;
    }
    Ok(())
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
pub(crate) async fn registry(conn: &mut AsyncPgConnection, names: &Names) -> StoreResult<Registry> {
    let rows: Vec<SourceFactRow> = diesel::sql_query(
        "SELECT s.id, s.belligerent,
                (SELECT min(assessed_on) FROM assessments a WHERE a.source_id = s.id) AS first_assessed
         FROM sources s ORDER BY s.id",
    )
    .load(conn)
    .await?;
    let mut registry = Registry::default();
    for row in rows {
        let id = names.source(&row.id)?;
        if let Some(first) = row.first_assessed {
            registry.first_assessed.insert(id.clone(), first);
        }
        registry.sources.push(SourceFacts {
            id,
            belligerent: row
                .belligerent
                .as_deref()
                .map(|party| names.party(party))
                .transpose()?,
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
