//! Loading the real Airwars data through the repositories, for the real-data test.

use chrono::Datelike;
use civcas_domain::reconcile::SourceFacts;
use civcas_domain::repository::{AssessmentRepository, IncidentRepository, SourceRepository};
use civcas_domain::{AssessedIncident, NewAssessment, Slug, SourceId};
use civcas_import::airwars::{
    self, AIRWARS, AirwarsData, AirwarsFiles, COALITION, COALITION_SOURCE,
};
use civcas_persistence::PgStore;
use futures::stream::{self, StreamExt};

/// Airwars and the Coalition, as the mapping registers them.
pub fn airwars_sources() -> Vec<SourceFacts> {
    airwars::sources()
        .into_iter()
        .map(|source| SourceFacts {
            id: source.id,
            belligerent: source.details.belligerent,
        })
        .collect()
}

/// What a load wrote.
#[derive(Debug)]
pub struct Loaded {
    pub data: AirwarsData,
    pub incidents: usize,
    pub assessments: usize,
}

/// Reads the export in `dir` and writes the Coalition-attributed incidents of `year`, with Airwars' and
/// the Coalition's assessments, into `store`.
pub async fn load_airwars_year(store: &PgStore, dir: &std::path::Path, year: i32) -> Loaded {
    let data = airwars::read(&AirwarsFiles::in_dir(dir)).expect("the Airwars export reads");
    for source in airwars::sources() {
        store
            .register_source(source, None)
            .await
            .expect("a source registers");
    }
    let coalition = Slug::parse(COALITION).expect("a slug");
    let chosen: Vec<_> = data
        .records
        .iter()
        .filter(|r| {
            r.incident.details.attributed_to.contains(&coalition)
                && r.incident.details.occurred.from().year() == year
        })
        .collect();
    let written: Vec<usize> = stream::iter(chosen.iter())
        .map(|record| async move {
            let incident = store
                .record_incident(record.incident.clone(), None)
                .await
                .expect("an incident records")
                .value
                .id;
            let mut assessments = 0;
            for (source, details) in [
                (AIRWARS, &record.airwars),
                (COALITION_SOURCE, &record.coalition),
            ] {
                if let Some(details) = details {
                    let source = SourceId::parse(source).expect("a slug");
                    let new = NewAssessment::new(
                        source,
                        AssessedIncident::Stored(incident),
                        details.clone(),
                    )
                    .expect("a valid assessment");
                    store
                        .record_assessment(new, None)
                        .await
                        .expect("an assessment records");
                    assessments += 1;
                }
            }
            assessments
        })
        .buffer_unordered(8)
        .collect()
        .await;
    Loaded {
        incidents: chosen.len(),
        assessments: written.iter().sum(),
        data,
    }
}
