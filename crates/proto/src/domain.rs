//! Domain values into messages, for every crate that sends them: the server's answers (stored
//! records) and the CLI's requests (new records). Here because this crate owns the message types, so
//! the conversions are plain `From` implementations, written once. They cannot fail. Each message is
//! built field by field, so that a field added to the proto breaks the build here until someone
//! decides what it holds.

use chrono::{DateTime, Utc};
use civcas_domain::statement::Qualifier;
use civcas_domain::{
    AssessmentDetails, CountRange, Incident, IncidentDetails, IncidentLink, IncidentReference,
    Measure, NewIncident, NewSource, NewStatement, Precision, Revision, RevisionKind, Source,
    SourceDetails, SourceId, SourceKind, Statement, StatementDetails, Tier, Verdict,
};

use crate::v1 as pb;
use crate::well_known::Timestamp;

fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A source's attributes; the server adds its timestamps.
fn source(id: &SourceId, details: &SourceDetails) -> pb::Source {
    pb::Source {
        id: id.to_string(),
        display_name: details.display_name.clone(),
        kind: pb::SourceKind::from(details.kind).into(),
        belligerent: details.belligerent.as_ref().map(ToString::to_string),
        homepage: details.homepage.as_ref().map(|h| h.as_str().to_owned()),
        methodology: details.methodology.clone(),
        create_time: None,
        update_time: None,
    }
}

impl From<&NewSource> for pb::Source {
    fn from(new: &NewSource) -> Self {
        source(&new.id, &new.details)
    }
}

impl From<Source> for pb::Source {
    fn from(stored: Source) -> Self {
        Self {
            create_time: Some(timestamp(stored.created_at)),
            update_time: Some(timestamp(stored.updated_at)),
            ..source(&stored.id, &stored.details)
        }
    }
}

/// An incident's references and attributes; the server adds its id, links and timestamps.
fn incident<'a>(
    references: impl IntoIterator<Item = &'a IncidentReference>,
    details: &IncidentDetails,
) -> pb::Incident {
    let location = &details.location;
    pb::Incident {
        id: String::new(),
        references: references
            .into_iter()
            .map(|r| pb::IncidentReference {
                source_id: r.source_id.to_string(),
                external_ref: r.external_ref.clone(),
            })
            .collect(),
        occurred_from: details.occurred.from().to_string(),
        occurred_to: details.occurred.to().to_string(),
        location: Some(pb::Location {
            country: location.country.to_string(),
            admin1: location.admin1.clone(),
            locality: location.locality.clone(),
            latitude: location.coordinates.map(|c| c.latitude()),
            longitude: location.coordinates.map(|c| c.longitude()),
            precision: pb::LocationPrecision::from(location.precision).into(),
        }),
        attributed_to: details
            .attributed_to
            .iter()
            .map(ToString::to_string)
            .collect(),
        linked_incident_ids: Vec::new(),
        create_time: None,
        update_time: None,
    }
}

impl From<&NewIncident> for pb::Incident {
    fn from(new: &NewIncident) -> Self {
        incident(new.references(), &new.details)
    }
}

impl From<Incident> for pb::Incident {
    fn from(stored: Incident) -> Self {
        Self {
            id: stored.id.to_string(),
            linked_incident_ids: stored.linked.iter().map(ToString::to_string).collect(),
            create_time: Some(timestamp(stored.created_at)),
            update_time: Some(timestamp(stored.updated_at)),
            ..incident(&stored.references, &stored.details)
        }
    }
}

impl From<IncidentLink> for pb::IncidentLink {
    fn from(link: IncidentLink) -> Self {
        Self {
            incident_id: link.pair.low().to_string(),
            linked_incident_id: link.pair.high().to_string(),
            create_time: Some(timestamp(link.created_at)),
        }
    }
}

/// One source's assessment of an incident, as a request states it; the server adds its id, its
/// incident, tier, record time and whether it is current.
pub fn assessment(source: &SourceId, details: &AssessmentDetails) -> pb::Assessment {
    pb::Assessment {
        id: String::new(),
        source_id: source.to_string(),
        incident_id: String::new(),
        verdict: pb::Verdict::from(details.verdict()).into(),
        tier: pb::Tier::Unspecified.into(),
        source_label: details.source_label.clone(),
        civilians_killed: details.killed.map(pb::CountRange::from),
        civilians_injured: details.injured.map(pb::CountRange::from),
        assessed_on: details.assessed_on().to_string(),
        duplicate_of: details.duplicate_of().map(|id| id.to_string()),
        citation: details.citation.as_ref().map(|c| c.as_str().to_owned()),
        notes: details.notes.clone(),
        recorded_at: None,
        current: false,
    }
}

impl From<civcas_domain::Assessment> for pb::Assessment {
    fn from(stored: civcas_domain::Assessment) -> Self {
        Self {
            id: stored.id.to_string(),
            incident_id: stored.incident_id.to_string(),
            tier: pb::Tier::from(stored.details.verdict().tier()).into(),
            recorded_at: Some(timestamp(stored.recorded_at)),
            current: stored.current,
            ..assessment(&stored.source_id, &stored.details)
        }
    }
}

/// A statement's attributes; the server adds its id and record time.
fn statement(source: &SourceId, details: &StatementDetails) -> pb::Statement {
    pb::Statement {
        id: String::new(),
        source_id: source.to_string(),
        measure: pb::Measure::from(details.measure).into(),
        count: Some(details.count().into()),
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
            admin1: details.area.admin1.clone(),
            locality: details.area.locality.clone(),
        }),
        attributed_to: details.attributed_to.to_string(),
        published_on: details.published_on.to_string(),
        citation: details.citation.as_ref().map(|c| c.as_str().to_owned()),
        notes: details.notes.clone(),
        recorded_at: None,
    }
}

impl From<&NewStatement> for pb::Statement {
    fn from(new: &NewStatement) -> Self {
        statement(&new.source_id, &new.details)
    }
}

impl From<Statement> for pb::Statement {
    fn from(stored: Statement) -> Self {
        Self {
            id: stored.id.to_string(),
            recorded_at: Some(timestamp(stored.recorded_at)),
            ..statement(&stored.source_id, &stored.details)
        }
    }
}

impl From<Revision> for pb::StatementRevision {
    fn from(revision: Revision) -> Self {
        Self {
            statement: Some(revision.statement.into()),
            kind: match revision.kind {
                RevisionKind::Initial => pb::RevisionKind::Initial,
                RevisionKind::Extension => pb::RevisionKind::Extension,
                RevisionKind::Correction => pb::RevisionKind::Correction,
            }
            .into(),
            min_delta: revision.min_delta,
            max_delta: revision.max_delta,
        }
    }
}

impl From<CountRange> for pb::CountRange {
    fn from(range: CountRange) -> Self {
        Self {
            min: range.min(),
            max: range.max(),
        }
    }
}

impl From<SourceKind> for pb::SourceKind {
    fn from(kind: SourceKind) -> Self {
        match kind {
            SourceKind::Military => Self::Military,
            SourceKind::Monitor => Self::Monitor,
            SourceKind::Intergovernmental => Self::Intergovernmental,
            SourceKind::Government => Self::Government,
            SourceKind::Media => Self::Media,
            SourceKind::Academic => Self::Academic,
            SourceKind::Other => Self::Other,
        }
    }
}

impl From<Precision> for pb::LocationPrecision {
    fn from(precision: Precision) -> Self {
        match precision {
            Precision::Exact => Self::Exact,
            Precision::Neighbourhood => Self::Neighbourhood,
            Precision::Locality => Self::Locality,
            Precision::District => Self::District,
            Precision::Admin1 => Self::Admin1,
            Precision::Country => Self::Country,
        }
    }
}

impl From<Verdict> for pb::Verdict {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Confirmed => Self::Confirmed,
            Verdict::Credible => Self::Credible,
            Verdict::Fair => Self::Fair,
            Verdict::Weak => Self::Weak,
            Verdict::Contested => Self::Contested,
            Verdict::Open => Self::Open,
            Verdict::NotCredible => Self::NotCredible,
            Verdict::Discounted => Self::Discounted,
            Verdict::Duplicate => Self::Duplicate,
        }
    }
}

/// A verdict's tier; DUPLICATE has none, which is TIER_UNSPECIFIED.
impl From<Option<Tier>> for pb::Tier {
    fn from(tier: Option<Tier>) -> Self {
        match tier {
            None => Self::Unspecified,
            Some(Tier::Established) => Self::Established,
            Some(Tier::Likely) => Self::Likely,
            Some(Tier::Alleged) => Self::Alleged,
            Some(Tier::Rejected) => Self::Rejected,
        }
    }
}

impl From<Measure> for pb::Measure {
    fn from(measure: Measure) -> Self {
        match measure {
            Measure::Killed => Self::Killed,
            Measure::Injured => Self::Injured,
            Measure::KilledOrInjured => Self::KilledOrInjured,
        }
    }
}

impl From<Qualifier> for pb::Qualifier {
    fn from(qualifier: Qualifier) -> Self {
        match qualifier {
            Qualifier::Exact => Self::Exact,
            Qualifier::AtLeast => Self::AtLeast,
            Qualifier::MoreThan => Self::MoreThan,
            Qualifier::Approximately => Self::Approximately,
            Qualifier::AtMost => Self::AtMost,
        }
    }
}
