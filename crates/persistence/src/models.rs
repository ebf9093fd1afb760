//! Rows as diesel reads and writes them, and their conversions to and from domain values. Read models
//! (`*Row`) and write models (`New*Row`) are kept apart; none of them leaves the crate.

use chrono::{DateTime, NaiveDate, Utc};
use civcas_domain::harm::{HarmDone, Terms, Vocabulary};
use civcas_domain::{
    Area, Assessment, AssessmentDetails, AssessmentFields, AssessmentId, Coordinates, CountRange,
    CountryCode, DateInterval, HttpUrl, IncidentDetails, IncidentId, KilledByGroup, Location,
    Measure, Precision, Qualifier, RepositoryError, Slug, Source, SourceDetails, SourceId,
    SourceKind, Statement, StatementDetails, StatementFields, StatementId, Tier, Verdict,
};
use diesel::pg::Pg;
use diesel::prelude::*;

use crate::error::corrupt;
use crate::schema::{assessments, incidents, sources, statements};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = sources, check_for_backend(Pg))]
pub(crate) struct SourceRow {
    pub id: String,
    pub display_name: String,
    pub kind: String,
    pub belligerent: Option<String>,
    pub homepage: Option<String>,
    pub methodology: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = sources, check_for_backend(Pg), treat_none_as_null = true)]
pub(crate) struct SourceDetailsRow<'a> {
    pub display_name: &'a str,
    pub kind: &'static str,
    pub belligerent: Option<&'a str>,
    pub homepage: Option<&'a str>,
    pub methodology: Option<&'a str>,
}

impl<'a> From<&'a SourceDetails> for SourceDetailsRow<'a> {
    fn from(d: &'a SourceDetails) -> Self {
        Self {
            display_name: &d.display_name,
            kind: d.kind.as_str(),
            belligerent: d.belligerent.as_ref().map(Slug::as_str),
            homepage: d.homepage.as_ref().map(HttpUrl::as_str),
            methodology: d.methodology.as_deref(),
        }
    }
}

impl TryFrom<SourceRow> for Source {
    type Error = RepositoryError;

    fn try_from(row: SourceRow) -> Result<Self, Self::Error> {
        let bad = |e| corrupt("source", e);
        Ok(Self {
            id: SourceId::parse(&row.id).map_err(bad)?,
            details: SourceDetails {
                display_name: row.display_name,
                kind: SourceKind::from_name(&row.kind)
                    .ok_or_else(|| bad_name("source kind", &row.kind))?,
                belligerent: row
                    .belligerent
                    .as_deref()
                    .map(Slug::parse)
                    .transpose()
                    .map_err(bad)?,
                homepage: row
                    .homepage
                    .as_deref()
                    .map(HttpUrl::parse)
                    .transpose()
                    .map_err(bad)?,
                methodology: row.methodology,
            },
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn bad_name(what: &str, name: &str) -> RepositoryError {
    corrupt(what, format!("unknown name {name:?}"))
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = incidents, check_for_backend(Pg))]
pub(crate) struct IncidentRow {
    pub id: i64,
    pub occurred_from: NaiveDate,
    pub occurred_to: NaiveDate,
    pub country: String,
    pub admin1: Option<String>,
    pub locality: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub location_precision: String,
    pub attributed_to: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub harm: Vec<String>,
    pub means: Vec<String>,
    pub infrastructure: Vec<String>,
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = incidents, check_for_backend(Pg), treat_none_as_null = true)]
pub(crate) struct IncidentDetailsRow<'a> {
    pub occurred_from: NaiveDate,
    pub occurred_to: NaiveDate,
    pub country: &'a str,
    pub admin1: Option<&'a str>,
    pub locality: Option<&'a str>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub location_precision: &'static str,
    pub attributed_to: Vec<&'a str>,
    pub harm: Vec<&'static str>,
    pub means: Vec<&'static str>,
    pub infrastructure: Vec<&'static str>,
}

impl<'a> From<&'a IncidentDetails> for IncidentDetailsRow<'a> {
    fn from(d: &'a IncidentDetails) -> Self {
        Self {
            occurred_from: d.occurred.from(),
            occurred_to: d.occurred.to(),
            country: d.location.country.as_str(),
            admin1: d.location.admin1.as_deref(),
            locality: d.location.locality.as_deref(),
            latitude: d.location.coordinates.map(|c| c.latitude()),
            longitude: d.location.coordinates.map(|c| c.longitude()),
            location_precision: d.location.precision.as_str(),
            attributed_to: d.attributed_to.iter().map(Slug::as_str).collect(),
            harm: d.harm_done.harm.slugs().collect(),
            means: d.harm_done.means.slugs().collect(),
            infrastructure: d.harm_done.infrastructure.slugs().collect(),
        }
    }
}

/// What harmed and what was hit, back from its three columns of slugs.
pub(crate) fn harm_done(
    harm: &[String],
    means: &[String],
    infrastructure: &[String],
) -> Result<HarmDone, RepositoryError> {
    fn terms<V: Vocabulary>(slugs: &[String]) -> Result<Terms<V>, RepositoryError> {
        slugs
            .iter()
            .map(|s| Terms::parse_one(s).map_err(|e| corrupt(V::NAME, e)))
            .collect()
    }
    Ok(HarmDone {
        harm: terms(harm)?,
        means: terms(means)?,
        infrastructure: terms(infrastructure)?,
    })
}

impl IncidentRow {
    pub fn details(&self) -> Result<IncidentDetails, RepositoryError> {
        let bad = |e| corrupt("incident", e);
        Ok(IncidentDetails {
            occurred: DateInterval::new(self.occurred_from, self.occurred_to).map_err(bad)?,
            location: Location {
                country: CountryCode::parse(&self.country).map_err(bad)?,
                admin1: self.admin1.clone(),
                locality: self.locality.clone(),
                coordinates: Coordinates::from_parts(self.latitude, self.longitude).map_err(bad)?,
                precision: Precision::from_name(&self.location_precision)
                    .ok_or_else(|| bad_name("location precision", &self.location_precision))?,
            },
            attributed_to: self
                .attributed_to
                .iter()
                .map(|s| Slug::parse(s))
                .collect::<Result<_, _>>()
                .map_err(bad)?,
            harm_done: harm_done(&self.harm, &self.means, &self.infrastructure)?,
        })
    }
}

/// An assessment row, with whether it is current: computed by the query, never stored, because an
/// append-only table cannot flip a flag on the row a newer assessment supersedes.
#[derive(Debug, QueryableByName)]
#[diesel(table_name = assessments, check_for_backend(Pg))]
pub(crate) struct AssessmentRow {
    pub id: i64,
    pub source_id: String,
    pub incident_id: i64,
    pub verdict: String,
    pub source_label: String,
    pub killed_min: Option<i64>,
    pub killed_max: Option<i64>,
    pub injured_min: Option<i64>,
    pub injured_max: Option<i64>,
    pub children_killed_min: Option<i64>,
    pub children_killed_max: Option<i64>,
    pub women_killed_min: Option<i64>,
    pub women_killed_max: Option<i64>,
    pub men_killed_min: Option<i64>,
    pub men_killed_max: Option<i64>,
    pub assessed_on: NaiveDate,
    pub duplicate_of: Option<i64>,
    pub citation: Option<String>,
    pub notes: Option<String>,
    pub recorded_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub current: bool,
}

/// A new assessment's row: its incident, and the rest as [`AssessmentValues`].
#[derive(Debug, Insertable)]
#[diesel(table_name = assessments, check_for_backend(Pg))]
pub(crate) struct NewAssessmentRow<'a> {
    pub incident_id: i64,
    #[diesel(embed)]
    pub values: AssessmentValues<'a>,
}

impl<'a> NewAssessmentRow<'a> {
    pub fn new(source_id: &'a SourceId, incident_id: IncidentId, d: &'a AssessmentDetails) -> Self {
        Self {
            incident_id: incident_id.get(),
            values: AssessmentValues::new(source_id, d),
        }
    }
}

/// Everything a new assessment's row holds but its incident, which a batch may not know yet (see
/// `sql/insert_batch.sql`).
#[derive(Debug, Insertable)]
#[diesel(table_name = assessments, check_for_backend(Pg))]
pub(crate) struct AssessmentValues<'a> {
    pub source_id: &'a str,
    pub verdict: &'static str,
    pub source_label: &'a str,
    pub killed_min: Option<i64>,
    pub killed_max: Option<i64>,
    pub injured_min: Option<i64>,
    pub injured_max: Option<i64>,
    pub children_killed_min: Option<i64>,
    pub children_killed_max: Option<i64>,
    pub women_killed_min: Option<i64>,
    pub women_killed_max: Option<i64>,
    pub men_killed_min: Option<i64>,
    pub men_killed_max: Option<i64>,
    pub assessed_on: NaiveDate,
    pub duplicate_of: Option<i64>,
    pub citation: Option<&'a str>,
    pub notes: Option<&'a str>,
}

impl<'a> AssessmentValues<'a> {
    pub fn new(source_id: &'a SourceId, d: &'a AssessmentDetails) -> Self {
        Self {
            source_id: source_id.as_str(),
            verdict: d.verdict().as_str(),
            source_label: &d.source_label,
            killed_min: d.killed.map(|r| i64::from(r.min())),
            killed_max: d.killed.and_then(|r| r.max()).map(i64::from),
            injured_min: d.injured.map(|r| i64::from(r.min())),
            injured_max: d.injured.and_then(|r| r.max()).map(i64::from),
            children_killed_min: min_column(d.groups.children),
            children_killed_max: max_column(d.groups.children),
            women_killed_min: min_column(d.groups.women),
            women_killed_max: max_column(d.groups.women),
            men_killed_min: min_column(d.groups.men),
            men_killed_max: max_column(d.groups.men),
            assessed_on: d.assessed_on(),
            duplicate_of: d.duplicate_of().map(|id| id.get()),
            citation: d.citation.as_ref().map(HttpUrl::as_str),
            notes: d.notes.as_deref(),
        }
    }
}

/// A count range's min column: no figure, no min.
fn min_column(range: Option<CountRange>) -> Option<i64> {
    range.map(|r| i64::from(r.min()))
}

fn max_column(range: Option<CountRange>) -> Option<i64> {
    range.and_then(|r| r.max()).map(i64::from)
}

/// Children, women and men killed back from their six columns, min then max of each.
pub(crate) fn killed_by_group(
    [
        children_min,
        children_max,
        women_min,
        women_max,
        men_min,
        men_max,
    ]: [Option<i64>; 6],
) -> Result<KilledByGroup, RepositoryError> {
    Ok(KilledByGroup {
        children: count_range("children killed", children_min, children_max)?,
        women: count_range("women killed", women_min, women_max)?,
        men: count_range("men killed", men_min, men_max)?,
    })
}

/// A stored count range back from its two columns; no min means no figure.
pub(crate) fn count_range(
    what: &str,
    min: Option<i64>,
    max: Option<i64>,
) -> Result<Option<CountRange>, RepositoryError> {
    let Some(min) = min else { return Ok(None) };
    let to_u32 = |n: i64| u32::try_from(n).map_err(|e| corrupt(what, e));
    CountRange::new(to_u32(min)?, max.map(to_u32).transpose()?)
        .map(Some)
        .map_err(|e| corrupt(what, e))
}

impl TryFrom<AssessmentRow> for Assessment {
    type Error = RepositoryError;

    fn try_from(row: AssessmentRow) -> Result<Self, Self::Error> {
        let bad = |e| corrupt("assessment", e);
        let details = AssessmentDetails::new(AssessmentFields {
            verdict: Verdict::from_name(&row.verdict)
                .ok_or_else(|| bad_name("verdict", &row.verdict))?,
            source_label: row.source_label,
            killed: count_range("killed figure", row.killed_min, row.killed_max)?,
            injured: count_range("injured figure", row.injured_min, row.injured_max)?,
            groups: killed_by_group([
                row.children_killed_min,
                row.children_killed_max,
                row.women_killed_min,
                row.women_killed_max,
                row.men_killed_min,
                row.men_killed_max,
            ])?,
            assessed_on: row.assessed_on,
            duplicate_of: row.duplicate_of.map(IncidentId::from_stored),
            citation: row
                .citation
                .as_deref()
                .map(HttpUrl::parse)
                .transpose()
                .map_err(bad)?,
            notes: row.notes,
        })
        .map_err(bad)?;
        Ok(Self {
            id: AssessmentId::from_stored(row.id),
            source_id: SourceId::parse(&row.source_id).map_err(bad)?,
            incident_id: IncidentId::from_stored(row.incident_id),
            details,
            recorded_at: row.recorded_at,
            current: row.current,
        })
    }
}

#[derive(Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = statements, check_for_backend(Pg))]
pub(crate) struct StatementRow {
    pub id: i64,
    pub source_id: String,
    pub measure: String,
    pub count_min: i64,
    pub count_max: Option<i64>,
    pub qualifier: String,
    pub definition: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub countries: Vec<String>,
    pub admin1: Option<String>,
    pub locality: Option<String>,
    pub attributed_to: String,
    pub published_on: NaiveDate,
    pub citation: Option<String>,
    pub notes: Option<String>,
    pub recorded_at: DateTime<Utc>,
    pub tier: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = statements, check_for_backend(Pg))]
pub(crate) struct NewStatementRow<'a> {
    pub source_id: &'a str,
    pub chain_key: &'a str,
    pub measure: &'static str,
    pub count_min: i64,
    pub count_max: Option<i64>,
    pub qualifier: &'static str,
    pub definition: &'a str,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub countries: Vec<&'a str>,
    pub admin1: Option<&'a str>,
    pub locality: Option<&'a str>,
    pub attributed_to: &'a str,
    pub published_on: NaiveDate,
    pub citation: Option<&'a str>,
    pub notes: Option<&'a str>,
    pub tier: &'static str,
}

impl<'a> NewStatementRow<'a> {
    pub fn new(source_id: &'a SourceId, chain_key: &'a str, d: &'a StatementDetails) -> Self {
        Self {
            source_id: source_id.as_str(),
            chain_key,
            measure: d.measure.as_str(),
            count_min: i64::from(d.count().min()),
            count_max: d.count().max().map(i64::from),
            qualifier: d.qualifier().as_str(),
            definition: d.definition.as_str(),
            period_from: d.period.from(),
            period_to: d.period.to(),
            countries: d.area.countries().iter().map(CountryCode::as_str).collect(),
            admin1: d.area.admin1.as_deref(),
            locality: d.area.locality.as_deref(),
            attributed_to: d.attributed_to.as_str(),
            published_on: d.published_on,
            citation: d.citation.as_ref().map(HttpUrl::as_str),
            notes: d.notes.as_deref(),
            tier: d.tier.as_str(),
        }
    }
}

impl TryFrom<StatementRow> for Statement {
    type Error = RepositoryError;

    fn try_from(row: StatementRow) -> Result<Self, Self::Error> {
        let bad = |e| corrupt("statement", e);
        let count = count_range("statement count", Some(row.count_min), row.count_max)?
            .ok_or_else(|| corrupt("statement", "no count"))?;
        let countries = row
            .countries
            .iter()
            .map(|c| CountryCode::parse(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad)?;
        let details = StatementDetails::new(StatementFields {
            measure: Measure::from_name(&row.measure)
                .ok_or_else(|| bad_name("measure", &row.measure))?,
            count,
            qualifier: Qualifier::from_name(&row.qualifier)
                .ok_or_else(|| bad_name("qualifier", &row.qualifier))?,
            definition: Slug::parse(&row.definition).map_err(bad)?,
            period: DateInterval::new(row.period_from, row.period_to).map_err(bad)?,
            area: Area::new(countries, row.admin1, row.locality).map_err(bad)?,
            attributed_to: Slug::parse(&row.attributed_to).map_err(bad)?,
            published_on: row.published_on,
            tier: Tier::from_name(&row.tier).ok_or_else(|| bad_name("tier", &row.tier))?,
            citation: row
                .citation
                .as_deref()
                .map(HttpUrl::parse)
                .transpose()
                .map_err(bad)?,
            notes: row.notes,
        })
        .map_err(bad)?;
        Ok(Self {
            id: StatementId::from_stored(row.id),
            source_id: SourceId::parse(&row.source_id).map_err(bad)?,
            details,
            recorded_at: row.recorded_at,
        })
    }
}
