//! Conversions between the proto messages and domain values.
//!
//! Inbound conversions validate: every field is parsed into its domain type and named in the error
//! when it is bad, and all bad fields are reported together. Messages are destructured completely, so
//! that a field added to the proto breaks the build here until someone decides what it means.
//! Outbound conversions cannot fail.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use civcas_domain::dates::{not_in_future, parse_date};
use civcas_domain::reconcile::flow::AssessmentFlow;
use civcas_domain::reconcile::series::Granularity;
use civcas_domain::reconcile::{Filters, RangeSum, ReconciledFigures, Split, TierFigures};
use civcas_domain::statement::{ATTRIBUTED_TO_ALL, DEFAULT_DEFINITION};
use civcas_domain::text::{bounded_text, limits};
use civcas_domain::validation::each;
use civcas_domain::{
    AllValid, Area, AssessedIncident, Assessment, AssessmentDetails, AssessmentFields, AtField,
    Coordinates, CountRange, CountryCode, DateInterval, HttpUrl, Incident, IncidentDetails,
    IncidentId, IncidentLink, IncidentReference, Location, Measure, NewAssessment, NewIncident,
    NewSource, NewStatement, Precision, Qualifier, Revision, RevisionKind, Slug, Source,
    SourceChange, SourceDetails, SourceId, SourceKind, Statement, StatementDetails,
    StatementFields, Verdict, Violations, WriteOutcome,
};
use civcas_proto::v1 as pb;

/// Stored records into proto messages. The value conversions they use (enums, ranges) are `From`
/// implementations in civcas-proto, shared with the CLI; the records are only ever sent by the server.
pub trait IntoProto<T> {
    fn into_proto(self) -> T;
}

pub fn timestamp(at: DateTime<Utc>) -> civcas_proto::well_known::Timestamp {
    civcas_proto::well_known::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn date(field: &str, raw: &str) -> Result<NaiveDate, Violations> {
    parse_date(raw).at(field)
}

fn published_date(field: &str, raw: &str, today: NaiveDate) -> Result<NaiveDate, Violations> {
    parse_date(raw)
        .and_then(|d| not_in_future(d, today))
        .at(field)
}

fn interval(
    (from_field, from): (&str, &str),
    (to_field, to): (&str, &str),
) -> Result<DateInterval, Violations> {
    let (from, to) = (date(from_field, from), date(to_field, to)).all_valid()?;
    DateInterval::new(from, to).at(to_field)
}

/// An optional string as given: an empty one is the same as unset (JSON clients often send "").
fn given(raw: Option<String>) -> Option<String> {
    raw.filter(|text| !text.is_empty())
}

/// An optional text field: unset (or empty) stays unset; set must be within `max` characters.
fn optional_text(
    field: &str,
    raw: Option<String>,
    max: usize,
) -> Result<Option<String>, Violations> {
    given(raw)
        .map(|text| bounded_text(&text, 1, max))
        .transpose()
        .at(field)
}

fn optional_url(field: &str, raw: Option<String>) -> Result<Option<HttpUrl>, Violations> {
    given(raw)
        .map(|url| HttpUrl::parse(&url))
        .transpose()
        .at(field)
}

fn slug(field: &str, raw: &str) -> Result<Slug, Violations> {
    Slug::parse(raw).at(field)
}

pub fn source_id(field: &str, raw: &str) -> Result<SourceId, Violations> {
    SourceId::parse(raw).at(field)
}

pub fn incident_id(field: &str, raw: &str) -> Result<IncidentId, Violations> {
    IncidentId::parse(raw).at(field)
}

pub fn country(field: &str, raw: &str) -> Result<CountryCode, Violations> {
    CountryCode::parse(raw).at(field)
}

fn enum_value<P, D>(
    field: &str,
    raw: i32,
    to_domain: impl Fn(P) -> Option<D>,
    type_name: &str,
) -> Result<D, Violations>
where
    P: TryFrom<i32>,
{
    P::try_from(raw).ok().and_then(to_domain).ok_or_else(|| {
        Violations::one(
            field,
            format!("must be a {type_name} other than *_UNSPECIFIED, got {raw}"),
        )
    })
}

fn count_range(field: &str, raw: Option<pb::CountRange>) -> Result<Option<CountRange>, Violations> {
    raw.map(|pb::CountRange { min, max }| CountRange::new(min, max))
        .transpose()
        .at(field)
}

pub fn outcome(outcome: WriteOutcome) -> i32 {
    match outcome {
        WriteOutcome::Created => pb::WriteOutcome::Created,
        WriteOutcome::Updated => pb::WriteOutcome::Updated,
        WriteOutcome::Unchanged => pb::WriteOutcome::Unchanged,
    }
    .into()
}

// ---------------------------------------------------------------------------------------------
// Sources

fn source_kind(kind: pb::SourceKind) -> Option<SourceKind> {
    Some(match kind {
        pb::SourceKind::Unspecified => return None,
        pb::SourceKind::Military => SourceKind::Military,
        pb::SourceKind::Monitor => SourceKind::Monitor,
        pb::SourceKind::Intergovernmental => SourceKind::Intergovernmental,
        pb::SourceKind::Government => SourceKind::Government,
        pb::SourceKind::Media => SourceKind::Media,
        pb::SourceKind::Academic => SourceKind::Academic,
        pb::SourceKind::Other => SourceKind::Other,
    })
}

fn display_name(field: &str, raw: &str) -> Result<String, Violations> {
    bounded_text(raw, 1, limits::SHORT_TEXT).at(field)
}

fn belligerent(field: &str, raw: Option<String>) -> Result<Option<Slug>, Violations> {
    given(raw).map(|b| slug(field, &b)).transpose()
}

pub fn new_source(raw: Option<pb::Source>) -> Result<NewSource, Violations> {
    let Some(pb::Source {
        id,
        display_name: name,
        kind,
        belligerent: party,
        homepage,
        methodology,
        create_time: _,
        update_time: _,
    }) = raw
    else {
        return Err(Violations::one("source", "is required"));
    };
    let (id, display_name, kind, belligerent, homepage, methodology) = (
        source_id("source.id", &id),
        display_name("source.display_name", &name),
        enum_value("source.kind", kind, source_kind, "SourceKind"),
        belligerent("source.belligerent", party),
        optional_url("source.homepage", homepage),
        optional_text("source.methodology", methodology, limits::LONG_TEXT),
    )
        .all_valid()?;
    Ok(NewSource {
        id,
        details: SourceDetails {
            display_name,
            kind,
            belligerent,
            homepage,
            methodology,
        },
    })
}

/// The changes an UpdateSource asks for: each masked path, with its value from `source`.
pub fn source_changes(
    source: pb::Source,
    paths: Vec<String>,
) -> Result<Vec<SourceChange>, Violations> {
    let pb::Source {
        id: _,
        display_name: name,
        kind,
        belligerent: party,
        homepage,
        methodology,
        create_time: _,
        update_time: _,
    } = source;
    if paths.is_empty() {
        return Err(Violations::one(
            "update_mask",
            "must name at least one field: display_name, kind, belligerent, homepage or methodology",
        ));
    }
    let unique: BTreeSet<String> = paths.into_iter().collect();
    each("update_mask.paths", unique, |path, _| {
        let field = format!("source.{path}");
        Ok(match path.as_str() {
            "display_name" => SourceChange::DisplayName(display_name(&field, &name)?),
            "kind" => SourceChange::Kind(enum_value(&field, kind, source_kind, "SourceKind")?),
            "belligerent" => SourceChange::Belligerent(belligerent(&field, party.clone())?),
            "homepage" => SourceChange::Homepage(optional_url(&field, homepage.clone())?),
            "methodology" => SourceChange::Methodology(optional_text(
                &field,
                methodology.clone(),
                limits::LONG_TEXT,
            )?),
            other => {
                return Err(Violations::one(
                    "update_mask",
                    format!(
                        "{other:?} cannot be updated: use display_name, kind, belligerent, homepage or methodology"
                    ),
                ));
            }
        })
    })
}

impl IntoProto<pb::Source> for Source {
    fn into_proto(self) -> pb::Source {
        let Source {
            id,
            details,
            created_at,
            updated_at,
        } = self;
        pb::Source {
            id: id.to_string(),
            display_name: details.display_name,
            kind: pb::SourceKind::from(details.kind).into(),
            belligerent: details.belligerent.map(|b| b.to_string()),
            homepage: details.homepage.map(|h| h.as_str().to_owned()),
            methodology: details.methodology,
            create_time: Some(timestamp(created_at)),
            update_time: Some(timestamp(updated_at)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Incidents

fn precision(precision: pb::LocationPrecision) -> Option<Precision> {
    Some(match precision {
        pb::LocationPrecision::Unspecified => return None,
        pb::LocationPrecision::Exact => Precision::Exact,
        pb::LocationPrecision::Neighbourhood => Precision::Neighbourhood,
        pb::LocationPrecision::Locality => Precision::Locality,
        pb::LocationPrecision::District => Precision::District,
        pb::LocationPrecision::Admin1 => Precision::Admin1,
        pb::LocationPrecision::Country => Precision::Country,
    })
}

fn location(prefix: &str, raw: Option<pb::Location>) -> Result<Location, Violations> {
    let Some(pb::Location {
        country: code,
        admin1,
        locality,
        latitude,
        longitude,
        precision: level,
    }) = raw
    else {
        return Err(Violations::one(prefix, "is required"));
    };
    let (country, admin1, locality, coordinates, precision) = (
        country(&format!("{prefix}.country"), &code),
        optional_text(&format!("{prefix}.admin1"), admin1, limits::SHORT_TEXT),
        optional_text(&format!("{prefix}.locality"), locality, limits::SHORT_TEXT),
        Coordinates::from_parts(latitude, longitude).at(prefix),
        enum_value(
            &format!("{prefix}.precision"),
            level,
            precision,
            "LocationPrecision",
        ),
    )
        .all_valid()?;
    Ok(Location {
        country,
        admin1,
        locality,
        coordinates,
        precision,
    })
}

fn reference(field: &str, raw: pb::IncidentReference) -> Result<IncidentReference, Violations> {
    let pb::IncidentReference {
        source_id: source,
        external_ref,
    } = raw;
    let external_ref =
        bounded_text(&external_ref, 1, limits::SHORT_TEXT).at(&format!("{field}.external_ref"));
    let (source, external_ref) = (
        source_id(&format!("{field}.source_id"), &source),
        external_ref,
    )
        .all_valid()?;
    IncidentReference::new(source, &external_ref).at(field)
}

/// An incident to record, from the message at `prefix` (`incident`). It cannot have happened after
/// `today`.
pub fn new_incident(
    prefix: &str,
    raw: pb::Incident,
    today: NaiveDate,
) -> Result<NewIncident, Violations> {
    let pb::Incident {
        id: _,
        references,
        occurred_from,
        occurred_to,
        location: place,
        attributed_to,
        linked_incident_ids: _,
        create_time: _,
        update_time: _,
    } = raw;
    let (references, occurred, location, attributed_to) = (
        each(&format!("{prefix}.references"), references, |r, field| {
            reference(field, r)
        }),
        interval(
            (&format!("{prefix}.occurred_from"), &occurred_from),
            (&format!("{prefix}.occurred_to"), &occurred_to),
        )
        .and_then(|occurred| {
            not_in_future(occurred.to(), today).at(&format!("{prefix}.occurred_to"))?;
            Ok(occurred)
        }),
        location(&format!("{prefix}.location"), place),
        each(
            &format!("{prefix}.attributed_to"),
            attributed_to,
            |s, field| slug(field, &s),
        ),
    )
        .all_valid()?;
    let details = IncidentDetails {
        occurred,
        location,
        attributed_to: attributed_to.into_iter().collect(),
    };
    NewIncident::new(references, details).at(prefix)
}

impl IntoProto<pb::Incident> for Incident {
    fn into_proto(self) -> pb::Incident {
        let Incident {
            id,
            references,
            details,
            linked,
            created_at,
            updated_at,
        } = self;
        let IncidentDetails {
            occurred,
            location,
            attributed_to,
        } = details;
        pb::Incident {
            id: id.to_string(),
            references: references
                .into_iter()
                .map(|r| pb::IncidentReference {
                    source_id: r.source_id.to_string(),
                    external_ref: r.external_ref,
                })
                .collect(),
            occurred_from: occurred.from().to_string(),
            occurred_to: occurred.to().to_string(),
            location: Some(pb::Location {
                country: location.country.to_string(),
                admin1: location.admin1,
                locality: location.locality,
                latitude: location.coordinates.map(|c| c.latitude()),
                longitude: location.coordinates.map(|c| c.longitude()),
                precision: pb::LocationPrecision::from(location.precision).into(),
            }),
            attributed_to: attributed_to.into_iter().map(|s| s.to_string()).collect(),
            linked_incident_ids: linked.into_iter().map(|id| id.to_string()).collect(),
            create_time: Some(timestamp(created_at)),
            update_time: Some(timestamp(updated_at)),
        }
    }
}

impl IntoProto<pb::IncidentLink> for IncidentLink {
    fn into_proto(self) -> pb::IncidentLink {
        pb::IncidentLink {
            incident_id: self.pair.low().to_string(),
            linked_incident_id: self.pair.high().to_string(),
            create_time: Some(timestamp(self.created_at)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Assessments

fn verdict(verdict: pb::Verdict) -> Option<Verdict> {
    Some(match verdict {
        pb::Verdict::Unspecified => return None,
        pb::Verdict::Confirmed => Verdict::Confirmed,
        pb::Verdict::Credible => Verdict::Credible,
        pb::Verdict::Fair => Verdict::Fair,
        pb::Verdict::Weak => Verdict::Weak,
        pb::Verdict::Contested => Verdict::Contested,
        pb::Verdict::Open => Verdict::Open,
        pb::Verdict::NotCredible => Verdict::NotCredible,
        pb::Verdict::Discounted => Verdict::Discounted,
        pb::Verdict::Duplicate => Verdict::Duplicate,
    })
}

/// The assessment of a RecordAssessmentRequest, with its incident named by id or given inline.
/// `today` bounds `assessed_on`: nothing is published in the future.
pub fn new_assessment(
    raw: Option<pb::Assessment>,
    inline: Option<pb::Incident>,
    today: NaiveDate,
) -> Result<NewAssessment, Violations> {
    let Some(pb::Assessment {
        id: _,
        source_id: source,
        incident_id: target,
        verdict: raw_verdict,
        tier: _,
        source_label,
        civilians_killed,
        civilians_injured,
        assessed_on,
        duplicate_of,
        citation,
        notes,
        recorded_at: _,
        current: _,
    }) = raw
    else {
        return Err(Violations::one("assessment", "is required"));
    };
    let incident = match (target.is_empty(), inline) {
        (false, None) => {
            incident_id("assessment.incident_id", &target).map(AssessedIncident::Stored)
        }
        (true, Some(incident)) => {
            new_incident("incident", incident, today).map(AssessedIncident::Inline)
        }
        (true, None) => Err(Violations::one(
            "assessment.incident_id",
            "is required, unless the incident is given inline in `incident`",
        )),
        (false, Some(_)) => Err(Violations::one(
            "incident",
            "must not be given together with assessment.incident_id: name the incident one way",
        )),
    };
    let fields = (
        source_id("assessment.source_id", &source),
        incident,
        enum_value("assessment.verdict", raw_verdict, verdict, "Verdict"),
        bounded_text(&source_label, 0, limits::SHORT_TEXT).at("assessment.source_label"),
        count_range("assessment.civilians_killed", civilians_killed),
        count_range("assessment.civilians_injured", civilians_injured),
        published_date("assessment.assessed_on", &assessed_on, today),
        duplicate_of
            .map(|id| incident_id("assessment.duplicate_of", &id))
            .transpose(),
        optional_url("assessment.citation", citation),
        optional_text("assessment.notes", notes, limits::LONG_TEXT),
    );
    let (
        source,
        incident,
        verdict,
        source_label,
        killed,
        injured,
        assessed_on,
        duplicate_of,
        citation,
        notes,
    ) = fields.all_valid()?;
    let details = AssessmentDetails::new(AssessmentFields {
        verdict,
        source_label,
        killed,
        injured,
        assessed_on,
        duplicate_of,
        citation,
        notes,
    })
    .at("assessment")?;
    NewAssessment::new(source, incident, details).at("assessment")
}

impl IntoProto<pb::Assessment> for Assessment {
    fn into_proto(self) -> pb::Assessment {
        let Assessment {
            id,
            source_id,
            incident_id,
            details,
            recorded_at,
            current,
        } = self;
        pb::Assessment {
            id: id.to_string(),
            source_id: source_id.to_string(),
            incident_id: incident_id.to_string(),
            verdict: pb::Verdict::from(details.verdict()).into(),
            tier: pb::Tier::from(details.verdict().tier()).into(),
            civilians_killed: details.killed.map(pb::CountRange::from),
            civilians_injured: details.injured.map(pb::CountRange::from),
            assessed_on: details.assessed_on().to_string(),
            duplicate_of: details.duplicate_of().map(|id| id.to_string()),
            citation: details.citation.map(|c| c.as_str().to_owned()),
            source_label: details.source_label,
            notes: details.notes,
            recorded_at: Some(timestamp(recorded_at)),
            current,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statements

pub fn measure(measure: pb::Measure) -> Option<Measure> {
    Some(match measure {
        pb::Measure::Unspecified => return None,
        pb::Measure::Killed => Measure::Killed,
        pb::Measure::Injured => Measure::Injured,
        pb::Measure::KilledOrInjured => Measure::KilledOrInjured,
    })
}

fn qualifier(qualifier: pb::Qualifier) -> Option<Qualifier> {
    Some(match qualifier {
        pb::Qualifier::Unspecified => return None,
        pb::Qualifier::Exact => Qualifier::Exact,
        pb::Qualifier::AtLeast => Qualifier::AtLeast,
        pb::Qualifier::MoreThan => Qualifier::MoreThan,
        pb::Qualifier::Approximately => Qualifier::Approximately,
        pb::Qualifier::AtMost => Qualifier::AtMost,
    })
}

fn area(raw: Option<pb::Area>) -> Result<Area, Violations> {
    let Some(pb::Area {
        countries,
        admin1,
        locality,
    }) = raw
    else {
        return Err(Violations::one("statement.area", "is required"));
    };
    let (countries, admin1, locality) = (
        each("statement.area.countries", countries, |c, field| {
            country(field, &c)
        }),
        optional_text("statement.area.admin1", admin1, limits::SHORT_TEXT),
        optional_text("statement.area.locality", locality, limits::SHORT_TEXT),
    )
        .all_valid()?;
    Area::new(countries, admin1, locality).at("statement.area")
}

pub fn new_statement(
    raw: Option<pb::Statement>,
    today: NaiveDate,
) -> Result<NewStatement, Violations> {
    let Some(pb::Statement {
        id: _,
        source_id: source,
        measure: raw_measure,
        count,
        qualifier: raw_qualifier,
        definition,
        period_from,
        period_to,
        area: raw_area,
        attributed_to,
        published_on,
        citation,
        notes,
        recorded_at: _,
    }) = raw
    else {
        return Err(Violations::one("statement", "is required"));
    };
    let definition = if definition.is_empty() {
        DEFAULT_DEFINITION.to_owned()
    } else {
        definition
    };
    let count = count_range("statement.count", count)
        .and_then(|count| count.ok_or_else(|| Violations::one("statement.count", "is required")));
    let attributed_to = if attributed_to.is_empty() {
        Err(Violations::one(
            "statement.attributed_to",
            format!("is required: a belligerent slug, or {ATTRIBUTED_TO_ALL:?}"),
        ))
    } else {
        slug("statement.attributed_to", &attributed_to)
    };
    let (
        source,
        measure,
        count,
        qualifier,
        definition,
        period,
        area,
        attributed_to,
        published_on,
        citation,
        notes,
    ) = (
        source_id("statement.source_id", &source),
        enum_value("statement.measure", raw_measure, measure, "Measure"),
        count,
        enum_value("statement.qualifier", raw_qualifier, qualifier, "Qualifier"),
        slug("statement.definition", &definition),
        interval(
            ("statement.period_from", &period_from),
            ("statement.period_to", &period_to),
        ),
        area(raw_area),
        attributed_to,
        published_date("statement.published_on", &published_on, today),
        optional_url("statement.citation", citation),
        optional_text("statement.notes", notes, limits::LONG_TEXT),
    )
        .all_valid()?;
    let details = StatementDetails::new(StatementFields {
        measure,
        count,
        qualifier,
        definition,
        period,
        area,
        attributed_to,
        published_on,
        citation,
        notes,
    })
    .at("statement")?;
    Ok(NewStatement {
        source_id: source,
        details,
    })
}

impl IntoProto<pb::Statement> for Statement {
    fn into_proto(self) -> pb::Statement {
        let Statement {
            id,
            source_id,
            details,
            recorded_at,
        } = self;
        pb::Statement {
            id: id.to_string(),
            source_id: source_id.to_string(),
            measure: pb::Measure::from(details.measure).into(),
            count: Some(pb::CountRange::from(details.count())),
            qualifier: pb::Qualifier::from(details.qualifier()).into(),
            definition: details.definition.to_string(),
            period_from: details.period.from().to_string(),
            period_to: details.period.to().to_string(),
            area: Some(pb::Area {
                countries: details
                    .area
                    .countries()
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                admin1: details.area.admin1,
                locality: details.area.locality,
            }),
            attributed_to: details.attributed_to.to_string(),
            published_on: details.published_on.to_string(),
            citation: details.citation.map(|c| c.as_str().to_owned()),
            notes: details.notes,
            recorded_at: Some(timestamp(recorded_at)),
        }
    }
}

impl IntoProto<pb::StatementRevision> for Revision {
    fn into_proto(self) -> pb::StatementRevision {
        let Revision {
            statement,
            kind,
            min_delta,
            max_delta,
        } = self;
        pb::StatementRevision {
            statement: Some(statement.into_proto()),
            kind: match kind {
                RevisionKind::Initial => pb::RevisionKind::Initial,
                RevisionKind::Extension => pb::RevisionKind::Extension,
                RevisionKind::Correction => pb::RevisionKind::Correction,
            }
            .into(),
            min_delta,
            max_delta,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Figures

/// The filters of a figure query, validated; `sources` are checked against the registry later.
pub fn figure_filters(raw: Option<pb::FigureFilters>) -> Result<Filters, Violations> {
    let pb::FigureFilters {
        countries,
        admin1,
        attributed_to,
        sources,
    } = raw.unwrap_or_default();
    let (countries, admin1, attributed_to, sources) = (
        each("filters.countries", countries, |c, field| {
            country(field, &c)
        }),
        each("filters.admin1", admin1, |a, field| {
            bounded_text(&a, 1, limits::SHORT_TEXT).at(field)
        }),
        each("filters.attributed_to", attributed_to, |b, field| {
            slug(field, &b)
        }),
        each("filters.sources", sources, |s, field| source_id(field, &s)),
    )
        .all_valid()?;
    Ok(Filters {
        countries: countries.into_iter().collect(),
        admin1: admin1.into_iter().collect(),
        // Not offered by the API; used for statements' own comparisons.
        localities: BTreeSet::new(),
        attributed_to: attributed_to.into_iter().collect(),
        sources: sources.into_iter().collect(),
    })
}

/// A query window from its two ends.
pub fn window(from: &str, to: &str) -> Result<DateInterval, Violations> {
    interval(("from", from), ("to", to))
}

pub fn as_of(raw: &str) -> Result<Option<NaiveDate>, Violations> {
    civcas_domain::dates::parse_optional_date(raw).at("as_of")
}

pub fn granularity(raw: i32) -> Result<Granularity, Violations> {
    enum_value(
        "granularity",
        raw,
        |g| match g {
            pb::Granularity::Unspecified => None,
            pb::Granularity::Day => Some(Granularity::Day),
            pb::Granularity::Week => Some(Granularity::Week),
            pb::Granularity::Month => Some(Granularity::Month),
            pb::Granularity::Year => Some(Granularity::Year),
        },
        "Granularity",
    )
}

fn range_sum_to_pb(sum: RangeSum) -> pb::RangeSum {
    pb::RangeSum {
        min: sum.min,
        max: sum.max(),
        max_bounded: sum.max_bounded,
        unbounded: sum.unbounded,
        without_figure: sum.without_figure,
    }
}

fn split_to_pb(split: Split) -> pb::PositionCounts {
    pb::PositionCounts {
        inside: split.inside,
        boundary: split.boundary,
    }
}

fn tier_figures_to_pb(figures: TierFigures) -> pb::TierFigures {
    pb::TierFigures {
        tier: pb::Tier::from(Some(figures.tier)).into(),
        counted: Some(split_to_pb(figures.counted)),
        killed: Some(range_sum_to_pb(figures.killed)),
        injured: Some(range_sum_to_pb(figures.injured)),
    }
}

fn verdict_totals(counts: BTreeMap<Verdict, u64>) -> Vec<pb::VerdictTotal> {
    counts
        .into_iter()
        .map(|(verdict, count)| pb::VerdictTotal {
            verdict: pb::Verdict::from(verdict).into(),
            count,
        })
        .collect()
}

/// The figures of one window.
pub fn figures_to_pb(window: DateInterval, figures: ReconciledFigures) -> pb::ReconciledFigures {
    let ReconciledFigures {
        sources,
        tiers,
        disputed,
        coverage_gaps,
        statements,
    } = figures;
    let ids = |ids: Vec<IncidentId>| ids.into_iter().map(|id| id.to_string()).collect();
    pb::ReconciledFigures {
        from: window.from().to_string(),
        to: window.to().to_string(),
        sources: sources
            .into_iter()
            .map(|s| pb::SourceFigures {
                source_id: s.source_id.to_string(),
                verdicts: s
                    .verdicts
                    .into_iter()
                    .map(|(verdict, count)| pb::VerdictCount {
                        verdict: pb::Verdict::from(verdict).into(),
                        count: Some(split_to_pb(count)),
                    })
                    .collect(),
                tiers: s.tiers.into_iter().map(tier_figures_to_pb).collect(),
            })
            .collect(),
        tiers: tiers.into_iter().map(tier_figures_to_pb).collect(),
        disputed: Some(pb::DisputedClusters {
            figures: Some(tier_figures_to_pb(disputed.figures)),
            cluster_ids: ids(disputed.cluster_ids),
        }),
        coverage_gaps: coverage_gaps
            .into_iter()
            .map(|g| pb::CoverageGap {
                source_id: g.source_id.to_string(),
                clusters: g.clusters,
                cluster_ids: ids(g.cluster_ids),
            })
            .collect(),
        statements: statements
            .into_iter()
            .map(|s| {
                let difference = s.difference();
                pb::StatementFigure {
                    inside: s.inside,
                    overlap_days: s.overlap_days,
                    period_days: s.period_days,
                    own_established: s.own_established.map(range_sum_to_pb),
                    difference,
                    statement: Some(s.statement.into_proto()),
                }
            })
            .collect(),
    }
}

pub fn flow_to_pb(flow: AssessmentFlow) -> pb::GetAssessmentFlowResponse {
    let AssessmentFlow {
        open_at_start,
        received,
        completed,
        reassessed,
        reopened,
        completed_deaths,
        open_at_end,
    } = flow;
    pb::GetAssessmentFlowResponse {
        open_at_start,
        received,
        completed: verdict_totals(completed),
        reassessed: verdict_totals(reassessed),
        reopened,
        completed_deaths,
        open_at_end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outgoing maps live in civcas-proto and the incoming ones here; a variant added to one
    /// side only, or wired to the wrong message value, breaks the round trip.
    #[test]
    fn every_enum_value_survives_the_round_trip() {
        for kind in SourceKind::ALL {
            assert_eq!(source_kind(kind.into()), Some(kind));
        }
        for level in Precision::ALL {
            assert_eq!(precision(level.into()), Some(level));
        }
        for given in Verdict::ALL {
            assert_eq!(verdict(given.into()), Some(given));
        }
        for given in Measure::ALL {
            assert_eq!(measure(given.into()), Some(given));
        }
        for given in Qualifier::ALL {
            assert_eq!(qualifier(given.into()), Some(given));
        }
    }

    #[test]
    fn unspecified_values_are_refused() {
        assert_eq!(source_kind(pb::SourceKind::Unspecified), None);
        assert_eq!(precision(pb::LocationPrecision::Unspecified), None);
        assert_eq!(verdict(pb::Verdict::Unspecified), None);
        assert_eq!(measure(pb::Measure::Unspecified), None);
        assert_eq!(qualifier(pb::Qualifier::Unspecified), None);
    }

    #[test]
    fn only_a_duplicate_has_no_tier() {
        for given in Verdict::ALL {
            let tier = pb::Tier::from(given.tier());
            assert_eq!(
                tier == pb::Tier::Unspecified,
                given == Verdict::Duplicate,
                "{given:?} is {tier:?}"
            );
        }
    }
}
