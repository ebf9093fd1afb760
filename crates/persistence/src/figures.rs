//! Reconciled figures computed in SQL (`sql/*.sql`), equal to the domain's reference implementation
//! (`civcas_domain::reconcile`); property tests hold the two together.
//!
//! Each query aggregates in the database and returns one small JSON document, never the rows it
//! aggregates. The queries of one answer run in one read-only REPEATABLE READ transaction, so they
//! see one snapshot even while writers go on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use chrono::{Datelike, Months, NaiveDate};
use civcas_domain::reconcile::flow::AssessmentFlow;
use civcas_domain::reconcile::{
    CoverageGap, Disputed, FigureQuery, Filters, Position, RangeSum, ReconciledFigures,
    SourceFigures, Split, StatementFigure, TierFigures, position,
};
use civcas_domain::repository::FigureRepository;
use civcas_domain::statement::Measure;
use civcas_domain::{
    DateInterval, IncidentId, RepositoryError, RepositoryResult, SourceId, Statement, StatementId,
    Tier, Verdict,
};
use diesel::prelude::*;
use diesel::sql_types::{Array, Date, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::PgStore;
use crate::derived::DerivedSnapshot;
use crate::error::{StoreError, StoreResult, corrupt};
use crate::models::StatementRow;
use crate::prepared::Prepared;
use crate::schema::{assessments, sources};

/// The queries share the definitions of rule 3's sums, of the cluster walk and of rules 4 and 5 per
/// cluster and source, each written once in a fragment of its own.
static WINDOW_FIGURES: LazyLock<String> =
    LazyLock::new(|| with_fragments(include_str!("sql/window_figures.sql")));
static SOURCE_FIGURES: LazyLock<String> =
    LazyLock::new(|| with_fragments(include_str!("sql/source_figures.sql")));
const DERIVED_FIGURES: &str = include_str!("sql/derived_figures.sql");
const LATEST_STATEMENTS: &str = include_str!("sql/latest_statements.sql");
const ASSESSMENT_FLOW: &str = include_str!("sql/assessment_flow.sql");

/// `query` with each fragment spliced in whole where it names it in braces; a fragment may name
/// those after it.
pub(crate) fn with_fragments(query: &str) -> String {
    [
        ("{source_sums}", include_str!("sql/source_sums.sql")),
        ("{walked_clusters}", include_str!("sql/walked_clusters.sql")),
        ("{cluster_reach}", include_str!("sql/cluster_reach.sql")),
        ("{cluster_rows}", include_str!("sql/cluster_rows.sql")),
        ("{cluster_sources}", include_str!("sql/cluster_sources.sql")),
        (
            "{incident_verdicts}",
            include_str!("sql/incident_verdicts.sql"),
        ),
        (
            "{changes_document}",
            include_str!("sql/changes_document.sql"),
        ),
        ("{signed_sums}", include_str!("sql/signed_sums.sql")),
    ]
    .into_iter()
    .fold(query.to_owned(), |query, (name, fragment)| {
        query.replace(name, fragment.trim_end())
    })
}

#[derive(QueryableByName)]
struct Document {
    #[diesel(sql_type = Text)]
    document: String,
}

fn parse<T: DeserializeOwned>(what: &str, document: &str) -> StoreResult<T> {
    serde_json::from_str(document).map_err(|e| StoreError::Repository(corrupt(what, e)))
}

/// The tier numbers the SQL uses.
fn tier(number: i32) -> StoreResult<Tier> {
    match number {
        4 => Ok(Tier::Established),
        3 => Ok(Tier::Likely),
        2 => Ok(Tier::Alleged),
        other => Err(StoreError::Repository(corrupt("tier number", other))),
    }
}

/// One row of sums, as both figure queries spell them: `k_` killed, `j_` injured.
#[derive(Debug, Deserialize)]
pub(crate) struct Sums {
    pub(crate) tier: i32,
    pub(crate) inside: u64,
    pub(crate) boundary: u64,
    pub(crate) k_min: u64,
    pub(crate) k_max_bounded: u64,
    pub(crate) k_unbounded: u64,
    pub(crate) k_without: u64,
    pub(crate) j_min: u64,
    pub(crate) j_max_bounded: u64,
    pub(crate) j_unbounded: u64,
    pub(crate) j_without: u64,
}

impl Sums {
    fn figures(&self, tier: Tier) -> TierFigures {
        TierFigures {
            tier,
            counted: Split {
                inside: self.inside,
                boundary: self.boundary,
            },
            killed: RangeSum {
                min: self.k_min,
                max_bounded: self.k_max_bounded,
                unbounded: self.k_unbounded,
                without_figure: self.k_without,
            },
            injured: RangeSum {
                min: self.j_min,
                max_bounded: self.j_max_bounded,
                unbounded: self.j_unbounded,
                without_figure: self.j_without,
            },
        }
    }
}

fn empty_figures(tier: Tier) -> TierFigures {
    TierFigures {
        tier,
        counted: Split::default(),
        killed: RangeSum::default(),
        injured: RangeSum::default(),
    }
}

/// Every reported tier, zero-filled where the query returned no row.
fn reported_tiers(found: BTreeMap<Tier, TierFigures>) -> Vec<TierFigures> {
    Tier::REPORTED
        .iter()
        .map(|t| found.get(t).copied().unwrap_or_else(|| empty_figures(*t)))
        .collect()
}

#[derive(Debug, Deserialize)]
pub(crate) struct GapRow {
    pub(crate) source_id: String,
    pub(crate) clusters: u64,
    pub(crate) cluster_ids: Vec<i64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WindowDocument {
    pub(crate) sources: SourceDocument,
    pub(crate) tiers: Vec<Sums>,
    pub(crate) disputed_ids: Vec<i64>,
    pub(crate) gap_sources: Vec<String>,
    pub(crate) gaps: Vec<GapRow>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VerdictRow {
    pub(crate) source_id: String,
    pub(crate) verdict: String,
    pub(crate) inside: u64,
    pub(crate) boundary: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SourceTierRow {
    pub(crate) source_id: String,
    #[serde(flatten)]
    pub(crate) sums: Sums,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SourceDocument {
    pub(crate) verdicts: Vec<VerdictRow>,
    pub(crate) tiers: Vec<SourceTierRow>,
}

#[derive(Debug, Deserialize)]
struct FlowDocument {
    open_at_start: u64,
    received: u64,
    completed: BTreeMap<String, u64>,
    reassessed: BTreeMap<String, u64>,
    reopened: u64,
    completed_deaths: u64,
    open_at_end: u64,
}

fn source_id(raw: &str) -> StoreResult<SourceId> {
    SourceId::parse(raw).map_err(|e| StoreError::Repository(corrupt("source id", e)))
}

fn verdict(raw: &str) -> StoreResult<Verdict> {
    Verdict::from_name(raw).ok_or_else(|| StoreError::Repository(corrupt("verdict", raw)))
}

fn strings<T: ToString>(values: &BTreeSet<T>) -> Vec<String> {
    values.iter().map(ToString::to_string).collect()
}

/// Runs one of the window queries with the standard seven parameters.
async fn window_document(
    conn: &mut AsyncPgConnection,
    sql: &str,
    window: DateInterval,
    as_of: Option<NaiveDate>,
    filters: &Filters,
    sources: &[String],
) -> StoreResult<String> {
    let document: Document = diesel::sql_query(sql)
        .bind::<Date, _>(window.from())
        .bind::<Date, _>(window.to())
        .bind::<Nullable<Date>, _>(as_of)
        .bind::<Array<Text>, _>(strings(&filters.countries))
        .bind::<Array<Text>, _>(filters.admin1.iter().cloned().collect::<Vec<_>>())
        .bind::<Array<Text>, _>(strings(&filters.attributed_to))
        .bind::<Array<Text>, _>(sources)
        .bind::<Array<Text>, _>(filters.localities.iter().cloned().collect::<Vec<_>>())
        .get_result(conn)
        .await?;
    Ok(document.document)
}

/// Rule 3 alone, for every source in `sources`, zero-filled.
async fn source_figures(
    conn: &mut AsyncPgConnection,
    window: DateInterval,
    as_of: Option<NaiveDate>,
    filters: &Filters,
    sources: &[String],
) -> StoreResult<Vec<SourceFigures>> {
    let document = window_document(conn, &SOURCE_FIGURES, window, as_of, filters, sources).await?;
    per_source(&parse("source figures", &document)?, sources)
}

/// Rule 3's document as figures for every source in `sources`, zero-filled.
fn per_source(document: &SourceDocument, sources: &[String]) -> StoreResult<Vec<SourceFigures>> {
    let mut verdicts: BTreeMap<&str, BTreeMap<Verdict, Split>> = BTreeMap::new();
    for row in &document.verdicts {
        verdicts.entry(&row.source_id).or_default().insert(
            verdict(&row.verdict)?,
            Split {
                inside: row.inside,
                boundary: row.boundary,
            },
        );
    }
    let mut tiers: BTreeMap<&str, BTreeMap<Tier, TierFigures>> = BTreeMap::new();
    for row in &document.tiers {
        let t = tier(row.sums.tier)?;
        tiers
            .entry(&row.source_id)
            .or_default()
            .insert(t, row.sums.figures(t));
    }
    let mut ordered: Vec<&String> = sources.iter().collect();
    ordered.sort();
    ordered.dedup();
    ordered
        .into_iter()
        .map(|id| {
            Ok(SourceFigures {
                source_id: source_id(id)?,
                verdicts: verdicts.remove(id.as_str()).unwrap_or_default(),
                tiers: reported_tiers(tiers.remove(id.as_str()).unwrap_or_default()),
            })
        })
        .collect()
}

/// The whole months of `window`, as the derived figures read them: the first day of the first, the
/// last day of the last, and the first day of the last; or, when it has none, the day after it, its
/// last day and the first day of that day's month, which select no month. `None` at the end of time.
pub(crate) fn whole_months(window: DateInterval) -> Option<(NaiveDate, NaiveDate, NaiveDate)> {
    let (from, to) = (window.from(), window.to());
    let after = to.succ_opt()?;
    let first = if from.day() == 1 {
        from
    } else {
        from.with_day(1)?.checked_add_months(Months::new(1))?
    };
    let last = if after.day() == 1 {
        to
    } else {
        to.with_day(1)?.pred_opt()?
    };
    Some(if first <= last {
        (first, last, last.with_day(1)?)
    } else {
        (after, to, to.with_day(1)?)
    })
}

/// Rules 2 to 5 for a query of the present with no filter, from the derived figures, whose whole
/// months are `months` (see [`whole_months`]). Only for a snapshot with nothing pending (see
/// [`crate::derived`]).
pub(crate) async fn derived_document(
    conn: &mut AsyncPgConnection,
    window: DateInterval,
    (first, last, last_month): (NaiveDate, NaiveDate, NaiveDate),
) -> StoreResult<WindowDocument> {
    let document: Document = Prepared(
        diesel::sql_query(DERIVED_FIGURES)
            .bind::<Date, _>(window.from())
            .bind::<Date, _>(window.to())
            .bind::<Date, _>(first)
            .bind::<Date, _>(last)
            .bind::<Date, _>(last_month),
    )
    .get_result(conn)
    .await?;
    parse("derived figures", &document.document)
}

/// Whether the derived figures can answer `query`, given a window they can express: a query of the
/// present with no filter.
pub(crate) fn derivable(query: &FigureQuery) -> bool {
    query.as_of.is_none() && query.filters == Filters::default()
}

/// Rules 2 to 5 in one query, from the derived figures when the snapshot has them for the query, and
/// otherwise computed in full, or found kept from such a computation at the snapshot's version; the
/// statements (rule 6) are left empty for the caller.
async fn window_figures(
    conn: &mut AsyncPgConnection,
    derived: Option<&DerivedSnapshot<'_>>,
    query: &FigureQuery,
    sources: &[String],
) -> StoreResult<ReconciledFigures> {
    let read = match derived {
        Some(derived) if derivable(query) => derived.document(conn, query.window).await?,
        _ => None,
    };
    let document = match read {
        Some(document) => document,
        None => {
            let computed = async {
                let document = window_document(
                    conn,
                    &WINDOW_FIGURES,
                    query.window,
                    query.as_of,
                    &query.filters,
                    sources,
                )
                .await?;
                parse("window figures", &document)
            };
            match derived {
                Some(derived) => derived.in_full(query, computed).await?,
                None => Arc::new(computed.await?),
            }
        }
    };
    let mut tiers = BTreeMap::new();
    let mut disputed = empty_figures(Tier::Likely);
    for sums in &document.tiers {
        if sums.tier == 0 {
            disputed = sums.figures(Tier::Likely);
        } else {
            let t = tier(sums.tier)?;
            tiers.insert(t, sums.figures(t));
        }
    }
    let gaps: BTreeMap<&str, &GapRow> = document
        .gaps
        .iter()
        .map(|g| (g.source_id.as_str(), g))
        .collect();
    let coverage_gaps = document
        .gap_sources
        .iter()
        .map(|id| {
            let gap = gaps.get(id.as_str());
            Ok(CoverageGap {
                source_id: source_id(id)?,
                clusters: gap.map_or(0, |g| g.clusters),
                cluster_ids: gap
                    .map(|g| {
                        g.cluster_ids
                            .iter()
                            .copied()
                            .map(IncidentId::from_stored)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect::<StoreResult<_>>()?;
    Ok(ReconciledFigures {
        sources: per_source(&document.sources, sources)?,
        tiers: reported_tiers(tiers),
        disputed: Disputed {
            figures: disputed,
            cluster_ids: document
                .disputed_ids
                .iter()
                .copied()
                .map(IncidentId::from_stored)
                .collect(),
        },
        coverage_gaps,
        statements: Vec::new(),
    })
}

/// Each statement's own ESTABLISHED sum, by statement: it depends on the statement and `as_of` only,
/// so the buckets of one series share it rather than each computing it again.
type OwnFigures = BTreeMap<StatementId, Option<RangeSum>>;

/// Rule 6: the latest statement of each chain, and for KILLED or INJURED statements of sources with
/// incident assessments, the source's own ESTABLISHED sum over the statement's period and area.
async fn statement_figures(
    conn: &mut AsyncPgConnection,
    query: &FigureQuery,
    sources: &[String],
    own: &mut OwnFigures,
) -> StoreResult<Vec<StatementFigure>> {
    let rows: Vec<StatementRow> = Prepared(
        diesel::sql_query(LATEST_STATEMENTS)
            .bind::<Date, _>(query.window.from())
            .bind::<Date, _>(query.window.to())
            .bind::<Nullable<Date>, _>(query.as_of)
            .bind::<Array<Text>, _>(strings(&query.filters.countries))
            .bind::<Array<Text>, _>(strings(&query.filters.attributed_to))
            .bind::<Array<Text>, _>(sources),
    )
    .load(conn)
    .await?;
    let mut figures = Vec::new();
    for row in rows {
        let statement = Statement::try_from(row)?;
        let own_established = match own.get(&statement.id) {
            Some(figure) => *figure,
            None => {
                let figure = own_established(conn, &statement, query.as_of).await?;
                own.insert(statement.id, figure);
                figure
            }
        };
        let period = statement.details.period;
        let (from, to) = (
            period.from().max(query.window.from()),
            period.to().min(query.window.to()),
        );
        figures.push(StatementFigure {
            inside: position(period, query.window) == Position::Inside,
            overlap_days: (to - from).num_days() + 1,
            period_days: period.days(),
            own_established,
            statement,
        });
    }
    // Bytewise by source, then by id, as the reference orders them, whatever the collation.
    figures.sort_by(|a, b| {
        (a.statement.source_id.as_str(), a.statement.id)
            .cmp(&(b.statement.source_id.as_str(), b.statement.id))
    });
    Ok(figures)
}

async fn own_established(
    conn: &mut AsyncPgConnection,
    statement: &Statement,
    as_of: Option<NaiveDate>,
) -> StoreResult<Option<RangeSum>> {
    let d = &statement.details;
    if d.measure == Measure::KilledOrInjured {
        return Ok(None);
    }
    // "Has incident assessments" as of the query.
    let has_assessments: bool = diesel::select(diesel::dsl::exists(
        assessments::table
            .filter(assessments::source_id.eq(statement.source_id.as_str()))
            .filter(assessments::assessed_on.le(as_of.unwrap_or(NaiveDate::MAX))),
    ))
    .get_result(conn)
    .await?;
    if !has_assessments {
        return Ok(None);
    }
    // The statement's own period and area; its attribution is its scope, not its area.
    let filters = Filters {
        countries: d.area.countries().clone(),
        admin1: d.area.admin1.iter().cloned().collect(),
        localities: d.area.locality.iter().cloned().collect(),
        attributed_to: BTreeSet::new(),
        sources: BTreeSet::new(),
    };
    let own = source_figures(
        conn,
        d.period,
        as_of,
        &filters,
        &[statement.source_id.to_string()],
    )
    .await?;
    let established = own
        .into_iter()
        .next()
        .as_ref()
        .and_then(|s| s.tiers.iter().find(|t| t.tier == Tier::Established))
        .copied()
        .unwrap_or_else(|| empty_figures(Tier::Established));
    Ok(Some(match d.measure {
        Measure::Injured => established.injured,
        _ => established.killed,
    }))
}

/// Rules 2 to 6 for one window, inside the caller's transaction.
async fn figures_in(
    conn: &mut AsyncPgConnection,
    derived: Option<&DerivedSnapshot<'_>>,
    query: &FigureQuery,
    sources: &[String],
    own: &mut OwnFigures,
) -> StoreResult<ReconciledFigures> {
    let figures = window_figures(conn, derived, query, sources).await?;
    Ok(ReconciledFigures {
        statements: statement_figures(conn, query, sources, own).await?,
        ..figures
    })
}

impl FigureRepository for PgStore {
    async fn reconciled_figures(&self, query: FigureQuery) -> RepositoryResult<ReconciledFigures> {
        let mut series = self
            .figure_series(query.clone(), vec![query.window])
            .await?;
        series
            .pop()
            .ok_or_else(|| RepositoryError::Internal("no figures for the window".to_owned()))
    }

    async fn figure_series(
        &self,
        query: FigureQuery,
        buckets: Vec<DateInterval>,
    ) -> RepositoryResult<Vec<ReconciledFigures>> {
        let mut conn = self.conn().await?;
        let (query, buckets) = (&query, &buckets);
        let series = conn
            .build_transaction()
            .read_only()
            .repeatable_read()
            .run(async |conn| {
                // Queries of the present with no filter may read the derived figures, and others
                // may find their answers kept; whether this snapshot allows either is the same for
                // every bucket.
                let (registered, derived) = self
                    .derived_answers
                    .snapshot(conn, query, buckets.len())
                    .await?;
                // The selected sources: the filter's, or every registered source.
                let sources = if query.filters.sources.is_empty() {
                    registered
                } else {
                    strings(&query.filters.sources)
                };
                let mut series = Vec::with_capacity(buckets.len());
                let mut own = OwnFigures::new();
                for bucket in buckets {
                    let query = FigureQuery {
                        window: *bucket,
                        ..query.clone()
                    };
                    let derived = derived.as_ref();
                    series.push(figures_in(conn, derived, &query, &sources, &mut own).await?);
                }
                Ok::<_, StoreError>(series)
            })
            .await?;
        Ok(series)
    }

    async fn assessment_flow(
        &self,
        source: SourceId,
        window: DateInterval,
    ) -> RepositoryResult<AssessmentFlow> {
        let mut conn = self.conn().await?;
        let document: Document = diesel::sql_query(ASSESSMENT_FLOW)
            .bind::<Text, _>(source.as_str())
            .bind::<Date, _>(window.from())
            .bind::<Date, _>(window.to())
            .get_result(&mut conn)
            .await
            .map_err(crate::error::classify)?;
        let document: FlowDocument = parse("assessment flow", &document.document)?;
        let by_verdict = |counts: BTreeMap<String, u64>| -> StoreResult<BTreeMap<Verdict, u64>> {
            counts
                .into_iter()
                .map(|(v, n)| Ok((verdict(&v)?, n)))
                .collect()
        };
        Ok(AssessmentFlow {
            open_at_start: document.open_at_start,
            received: document.received,
            completed: by_verdict(document.completed)?,
            reassessed: by_verdict(document.reassessed)?,
            reopened: document.reopened,
            completed_deaths: document.completed_deaths,
            open_at_end: document.open_at_end,
        })
    }

    async fn source_ids(&self) -> RepositoryResult<Vec<SourceId>> {
        let mut conn = self.conn().await?;
        let ids: Vec<String> = sources::table
            .select(sources::id)
            .order(sources::id)
            .load(&mut conn)
            .await
            .map_err(crate::error::classify)?;
        ids.iter()
            .map(|id| source_id(id).map_err(RepositoryError::from))
            .collect()
    }
}
