//! Domain values, as the importers build them, into request messages.

use civcas_domain::{AssessmentDetails, NewIncident, NewSource, NewStatement, SourceId};
use civcas_proto::v1 as pb;

pub fn incident(incident: &NewIncident) -> pb::Incident {
    let d = &incident.details;
    pb::Incident {
        references: incident
            .references()
            .iter()
            .map(|r| pb::IncidentReference {
                source_id: r.source_id.to_string(),
                external_ref: r.external_ref.clone(),
            })
            .collect(),
        occurred_from: d.occurred.from().to_string(),
        occurred_to: d.occurred.to().to_string(),
        location: Some(pb::Location {
            country: d.location.country.to_string(),
            admin1: d.location.admin1.clone(),
            locality: d.location.locality.clone(),
            latitude: d.location.coordinates.map(|c| c.latitude()),
            longitude: d.location.coordinates.map(|c| c.longitude()),
            precision: pb::LocationPrecision::from(d.location.precision).into(),
        }),
        attributed_to: d.attributed_to.iter().map(ToString::to_string).collect(),
        ..Default::default()
    }
}

pub fn assessment(source: &SourceId, details: &AssessmentDetails) -> pb::Assessment {
    pb::Assessment {
        source_id: source.to_string(),
        verdict: pb::Verdict::from(details.verdict()).into(),
        source_label: details.source_label.clone(),
        civilians_killed: details.killed.map(pb::CountRange::from),
        civilians_injured: details.injured.map(pb::CountRange::from),
        assessed_on: details.assessed_on().to_string(),
        duplicate_of: details.duplicate_of().map(|id| id.to_string()),
        citation: details.citation.as_ref().map(|c| c.as_str().to_owned()),
        notes: details.notes.clone(),
        ..Default::default()
    }
}

pub fn source(source: &NewSource) -> pb::Source {
    let d = &source.details;
    pb::Source {
        id: source.id.to_string(),
        display_name: d.display_name.clone(),
        kind: pb::SourceKind::from(d.kind).into(),
        belligerent: d.belligerent.as_ref().map(ToString::to_string),
        homepage: d.homepage.as_ref().map(|h| h.as_str().to_owned()),
        methodology: d.methodology.clone(),
        ..Default::default()
    }
}

pub fn statement(statement: &NewStatement) -> pb::Statement {
    let d = &statement.details;
    pb::Statement {
        source_id: statement.source_id.to_string(),
        measure: pb::Measure::from(d.measure).into(),
        count: Some(d.count().into()),
        qualifier: pb::Qualifier::from(d.qualifier()).into(),
        definition: d.definition.to_string(),
        period_from: d.period.from().to_string(),
        period_to: d.period.to().to_string(),
        area: Some(pb::Area {
            countries: d.area.countries().iter().map(ToString::to_string).collect(),
            admin1: d.area.admin1.clone(),
            locality: d.area.locality.clone(),
        }),
        attributed_to: d.attributed_to.to_string(),
        published_on: d.published_on.to_string(),
        citation: d.citation.as_ref().map(|c| c.as_str().to_owned()),
        notes: d.notes.clone(),
        ..Default::default()
    }
}
