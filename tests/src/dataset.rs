//! Reading a store back as the reference implementation's [`Dataset`].

use std::collections::BTreeSet;
use std::future::Future;

use civcas_domain::reconcile::{AssessmentFacts, Dataset, IncidentFacts, SourceFacts};
use civcas_domain::repository::{
    AssessmentFilter, AssessmentRepository, IncidentFilter, IncidentRepository, StatementFilter,
    StatementRepository,
};
use civcas_domain::{IncidentPair, Page, PageRequest, PageSize, RepositoryResult};
use civcas_persistence::PgStore;

/// Every item of a paged list, page after page.
async fn every<T, F, Fut>(list: F) -> Vec<T>
where
    F: Fn(PageRequest) -> Fut,
    Fut: Future<Output = RepositoryResult<Page<T>>>,
{
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = list(PageRequest {
            size: PageSize::parse(Some(1000)).expect("a valid page size"),
            after,
        })
        .await
        .expect("a page");
        items.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return items,
        }
    }
}

/// Everything `store` holds, read back through the repositories, as the reference implementation
/// takes it: ids and `recorded_at` are the database's own.
pub async fn read_back(store: &PgStore, sources: &[SourceFacts]) -> Dataset {
    let incidents = every(|page| store.list_incidents(IncidentFilter::default(), page)).await;
    let history = AssessmentFilter {
        include_superseded: true,
        ..AssessmentFilter::default()
    };
    let assessments = every(|page| store.list_assessments(history.clone(), page)).await;
    let statements = every(|page| store.list_statements(StatementFilter::default(), page)).await;
    let mut links = BTreeSet::new();
    for incident in &incidents {
        for other in &incident.linked {
            let pair = IncidentPair::new(incident.id, *other)
                .expect("an incident is not linked to itself");
            links.insert((pair.low(), pair.high()));
        }
    }
    Dataset {
        sources: sources.to_vec(),
        incidents: incidents
            .iter()
            .map(|i| IncidentFacts {
                id: i.id,
                occurred: i.details.occurred,
                country: i.details.location.country,
                admin1: i.details.location.admin1.clone(),
                locality: i.details.location.locality.clone(),
                attributed_to: i.details.attributed_to.iter().cloned().collect(),
                harm_done: i.details.harm_done,
            })
            .collect(),
        assessments: assessments
            .iter()
            .map(|a| AssessmentFacts {
                id: a.id,
                source_id: a.source_id.clone(),
                incident_id: a.incident_id,
                verdict: a.details.verdict(),
                killed: a.details.killed,
                injured: a.details.injured,
                groups: a.details.groups.boxed(),
                assessed_on: a.details.assessed_on(),
                recorded_at: a.recorded_at,
                duplicate_of: a.details.duplicate_of(),
            })
            .collect(),
        links: links
            .into_iter()
            .map(|(a, b)| IncidentPair::new(a, b).expect("distinct"))
            .collect(),
        statements,
    }
}
