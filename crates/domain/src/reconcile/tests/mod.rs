//! Hand-worked examples of each rule, with the arithmetic in the comments.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::flow::assessment_flow;
use super::series::{Granularity, buckets, figure_series};
use super::*;
use crate::harm::HarmDone;
use crate::statement::{Area, Qualifier, StatementDetails, StatementFields};
use crate::{AssessmentId, IncidentPair, KilledByGroup, StatementId};

fn d(raw: &str) -> NaiveDate {
    crate::dates::parse_date(raw).unwrap()
}

fn june() -> DateInterval {
    DateInterval::new(d("2017-06-01"), d("2017-06-30")).unwrap()
}

fn id(n: i64) -> IncidentId {
    IncidentId::from_stored(n)
}

fn source(id: &str) -> SourceId {
    SourceId::parse(id).unwrap()
}

fn range(min: u32, max: Option<u32>) -> Option<CountRange> {
    Some(CountRange::new(min, max).unwrap())
}

/// A small world: Airwars, the Coalition (speaking for `coalition`) and the UN, and what they say.
struct World {
    data: Dataset,
}

impl World {
    fn new() -> Self {
        let slug = |s: &str| Slug::parse(s).unwrap();
        Self {
            data: Dataset {
                sources: vec![
                    SourceFacts {
                        id: source("airwars"),
                        belligerent: None,
                    },
                    SourceFacts {
                        id: source("cjtf-oir"),
                        belligerent: Some(slug("coalition")),
                    },
                    SourceFacts {
                        id: source("un-unami"),
                        belligerent: None,
                    },
                ],
                ..Dataset::default()
            },
        }
    }

    fn incident(&mut self, n: i64, from: &str, to: &str, attributed_to: &[&str]) -> &mut Self {
        self.data.incidents.push(IncidentFacts {
            id: id(n),
            occurred: DateInterval::new(d(from), d(to)).unwrap(),
            country: CountryCode::parse("SY").unwrap(),
            admin1: Some("Raqqa".into()),
            locality: None,
            attributed_to: attributed_to
                .iter()
                .map(|s| Slug::parse(s).unwrap())
                .collect(),
            harm_done: HarmDone::default(),
        });
        self
    }

    /// Gives the last incident the means `by`.
    fn by_means(&mut self, by: &str) -> &mut Self {
        let means = crate::harm::Terms::parse_one(by).unwrap();
        self.data.incidents.last_mut().unwrap().harm_done.means = means;
        self
    }

    fn assess(
        &mut self,
        by: &str,
        incident: i64,
        verdict: Verdict,
        killed: Option<CountRange>,
        on: &str,
    ) -> &mut Self {
        let n = self.data.assessments.len() as i64 + 1;
        self.data.assessments.push(AssessmentFacts {
            id: AssessmentId::from_stored(n),
            source_id: source(by),
            incident_id: id(incident),
            verdict,
            killed,
            injured: None,
            groups: None,
            assessed_on: d(on),
            // Recorded in the order written, one second apart.
            recorded_at: DateTime::<Utc>::from_timestamp(n, 0).unwrap(),
            duplicate_of: None,
        });
        self
    }

    /// Gives the last assessment its children, women and men killed.
    fn killed_among(&mut self, groups: KilledByGroup) -> &mut Self {
        self.data.assessments.last_mut().unwrap().groups = Some(Box::new(groups));
        self
    }

    fn duplicate(&mut self, by: &str, incident: i64, of: i64, on: &str) -> &mut Self {
        self.assess(by, incident, Verdict::Duplicate, None, on);
        self.data.assessments.last_mut().unwrap().duplicate_of = Some(id(of));
        self
    }

    fn link(&mut self, a: i64, b: i64) -> &mut Self {
        self.data
            .links
            .push(IncidentPair::new(id(a), id(b)).unwrap());
        self
    }

    fn query(&self, window: DateInterval) -> ReconciledFigures {
        reconcile(
            &self.data,
            &FigureQuery {
                window,
                filters: Filters::default(),
                as_of: None,
            },
        )
    }
}

fn tier(figures: &[TierFigures], tier: Tier) -> TierFigures {
    *figures.iter().find(|f| f.tier == tier).unwrap()
}

fn of_source<'a>(figures: &'a ReconciledFigures, id: &str) -> &'a SourceFigures {
    figures
        .sources
        .iter()
        .find(|s| s.source_id.as_str() == id)
        .unwrap()
}

fn statement(
    n: i64,
    by: &str,
    measure: Measure,
    min: u32,
    from: &str,
    to: &str,
    published: &str,
) -> Statement {
    let details = StatementDetails::new(StatementFields {
        measure,
        count: CountRange::at_least(min),
        qualifier: Qualifier::AtLeast,
        definition: Slug::parse("civilians").unwrap(),
        period: DateInterval::new(d(from), d(to)).unwrap(),
        area: Area::new([CountryCode::parse("SY").unwrap()], None, None).unwrap(),
        attributed_to: Slug::parse("coalition").unwrap(),
        published_on: d(published),
        tier: Tier::Established,
        citation: None,
        notes: None,
    })
    .unwrap();
    Statement {
        id: StatementId::from_stored(n),
        source_id: source(by),
        details,
        recorded_at: DateTime::<Utc>::from_timestamp(n, 0).unwrap(),
    }
}

mod edge_cases;
mod flow_and_series;
mod incidents;
mod statements;
