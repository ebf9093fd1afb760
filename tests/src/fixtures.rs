//! The seed article's sources and figures as requests, and small builders for the rest.

use civcas_proto::v1 as pb;

pub fn source(id: &str, kind: pb::SourceKind, belligerent: Option<&str>) -> pb::Source {
    pb::Source {
        id: id.to_owned(),
        display_name: id.to_uppercase(),
        kind: kind.into(),
        belligerent: belligerent.map(str::to_owned),
        ..Default::default()
    }
}

/// The three sources of the seed article.
pub fn seed_sources() -> [pb::Source; 3] {
    [
        source("cjtf-oir", pb::SourceKind::Military, Some("coalition")),
        source("airwars", pb::SourceKind::Monitor, None),
        source("un-unami", pb::SourceKind::Intergovernmental, None),
    ]
}

pub async fn register_seed_sources(app: &crate::TestApp) {
    let mut client = app.sources();
    for source in seed_sources() {
        client
            .register_source(pb::RegisterSourceRequest {
                source: Some(source),
                request_id: String::new(),
            })
            .await
            .expect("a seed source registers");
    }
}

/// An incident in Raqqa on `day`, referenced as (`source`, `external_ref`).
pub fn incident(source: &str, external_ref: &str, day: &str) -> pb::Incident {
    pb::Incident {
        references: vec![pb::IncidentReference {
            source_id: source.to_owned(),
            external_ref: external_ref.to_owned(),
        }],
        occurred_from: day.to_owned(),
        occurred_to: day.to_owned(),
        location: Some(pb::Location {
            country: "SY".to_owned(),
            admin1: Some("Raqqa".to_owned()),
            locality: Some("Raqqa".to_owned()),
            latitude: Some(35.95),
            longitude: Some(39.01),
            precision: pb::LocationPrecision::Locality.into(),
        }),
        attributed_to: vec!["coalition".to_owned()],
        ..Default::default()
    }
}

pub async fn record_incident(app: &crate::TestApp, incident: pb::Incident) -> pb::Incident {
    app.incidents()
        .record_incident(pb::RecordIncidentRequest {
            incident: Some(incident),
            request_id: String::new(),
        })
        .await
        .expect("the incident records")
        .into_inner()
        .incident
        .expect("a recorded incident")
}

pub fn assessment(
    source: &str,
    incident_id: &str,
    verdict: pb::Verdict,
    killed: Option<(u32, Option<u32>)>,
    assessed_on: &str,
) -> pb::Assessment {
    pb::Assessment {
        source_id: source.to_owned(),
        incident_id: incident_id.to_owned(),
        verdict: verdict.into(),
        civilians_killed: killed.map(|(min, max)| pb::CountRange { min, max }),
        assessed_on: assessed_on.to_owned(),
        ..Default::default()
    }
}

/// The Coalition's cumulative "at least `min` killed since 8 Aug 2014", through `period_to`.
pub fn coalition_cumulative(min: u32, period_to: &str, published_on: &str) -> pb::Statement {
    pb::Statement {
        source_id: "cjtf-oir".to_owned(),
        measure: pb::Measure::Killed.into(),
        count: Some(pb::CountRange { min, max: None }),
        qualifier: pb::Qualifier::AtLeast.into(),
        definition: String::new(),
        period_from: "2014-08-08".to_owned(),
        period_to: period_to.to_owned(),
        area: Some(pb::Area {
            countries: vec!["IQ".to_owned(), "SY".to_owned()],
            admin1: None,
            locality: None,
        }),
        attributed_to: "coalition".to_owned(),
        published_on: published_on.to_owned(),
        citation: Some("https://www.inherentresolve.mil/".to_owned()),
        notes: None,
        ..Default::default()
    }
}

/// A write of its own: Airwars' assessment of a new incident referenced `tag`, sent with request_id
/// `tag`, so that retries of it are recognised and each tag makes exactly one assessment.
pub fn tagged_write(tag: &str) -> pb::RecordAssessmentRequest {
    pb::RecordAssessmentRequest {
        assessment: Some(assessment(
            "airwars",
            "",
            pb::Verdict::Fair,
            Some((1, Some(3))),
            "2024-05-01",
        )),
        incident: Some(incident("airwars", tag, "2017-06-20")),
        request_id: tag.to_owned(),
    }
}

/// The Airwars references of every stored assessment, with superseded ones: one per tagged write.
pub async fn stored_assessment_refs(app: &crate::TestApp) -> Vec<String> {
    let mut client = app.assessments();
    let assessments = crate::every_page!(
        client.list_assessments,
        pb::ListAssessmentsRequest {
            source_id: "airwars".into(),
            include_superseded: true,
            page_size: Some(1000),
            ..Default::default()
        },
        assessments
    );
    let mut incidents = app.incidents();
    let all = crate::every_page!(
        incidents.list_incidents,
        pb::ListIncidentsRequest {
            page_size: Some(1000),
            ..Default::default()
        },
        incidents
    );
    let refs: std::collections::HashMap<_, _> = all
        .into_iter()
        .map(|i| (i.id.clone(), i.references[0].external_ref.clone()))
        .collect();
    assessments
        .into_iter()
        .map(|a| refs[&a.incident_id].clone())
        .collect()
}
