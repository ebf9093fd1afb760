//! Hand-worked examples of each rule, with the arithmetic in the comments.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::flow::assessment_flow;
use super::series::{Granularity, buckets, figure_series};
use super::*;
use crate::statement::{Area, Qualifier, StatementDetails, StatementFields};
use crate::{AssessmentId, IncidentPair, StatementId};

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
        });
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
            assessed_on: d(on),
            // Recorded in the order written, one second apart.
            recorded_at: DateTime::<Utc>::from_timestamp(n, 0).unwrap(),
            duplicate_of: None,
        });
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

// Rule 1 ----------------------------------------------------------------------------------------

#[test]
fn the_latest_assessment_as_of_a_date_is_current() {
    let mut w = World::new();
    w.incident(1, "2017-06-10", "2017-06-10", &["coalition"])
        .assess("cjtf-oir", 1, Verdict::Open, None, "2017-06-15")
        .assess(
            "cjtf-oir",
            1,
            Verdict::Credible,
            range(2, Some(2)),
            "2017-08-04",
        );
    let current = current_assessments(&w.data.assessments, Some(d("2017-07-01")));
    assert_eq!(current[&(source("cjtf-oir"), id(1))].verdict, Verdict::Open);
    let current = current_assessments(&w.data.assessments, None);
    assert_eq!(
        current[&(source("cjtf-oir"), id(1))].verdict,
        Verdict::Credible
    );
}

#[test]
fn same_day_assessments_are_ordered_by_recorded_at_then_id() {
    let mut w = World::new();
    w.incident(1, "2017-06-10", "2017-06-10", &[])
        .assess("airwars", 1, Verdict::Weak, None, "2024-01-01")
        .assess("airwars", 1, Verdict::Fair, None, "2024-01-01");
    // Same day: the later recorded_at (the second) wins.
    let current = current_assessments(&w.data.assessments, None);
    assert_eq!(current[&(source("airwars"), id(1))].verdict, Verdict::Fair);
    // Same recorded_at too: the larger id wins.
    w.data.assessments[1].recorded_at = w.data.assessments[0].recorded_at;
    let current = current_assessments(&w.data.assessments, None);
    assert_eq!(
        current[&(source("airwars"), id(1))].id,
        AssessmentId::from_stored(2)
    );
}

#[test]
fn as_of_hides_later_assessments_from_the_figures() {
    let mut w = World::new();
    w.incident(1, "2017-06-10", "2017-06-10", &["coalition"])
        .assess(
            "cjtf-oir",
            1,
            Verdict::Credible,
            range(3, Some(3)),
            "2017-08-04",
        );
    let before = reconcile(
        &w.data,
        &FigureQuery {
            window: june(),
            filters: Filters::default(),
            as_of: Some(d("2017-07-31")),
        },
    );
    assert_eq!(
        tier(&before.tiers, Tier::Established).counted,
        Split::default()
    );
    let after = w.query(june());
    assert_eq!(tier(&after.tiers, Tier::Established).killed.min, 3);
}

// Rule 2 ----------------------------------------------------------------------------------------

#[test]
fn positions_inside_boundary_and_out() {
    let span = |a, b| DateInterval::new(d(a), d(b)).unwrap();
    assert_eq!(
        position(span("2017-06-01", "2017-06-30"), june()),
        Position::Inside
    );
    assert_eq!(
        position(span("2017-05-25", "2017-06-05"), june()),
        Position::Boundary
    );
    assert_eq!(
        position(span("2017-06-30", "2017-07-01"), june()),
        Position::Boundary
    );
    assert_eq!(
        position(span("2017-05-01", "2017-05-31"), june()),
        Position::Out
    );
}

#[test]
fn a_boundary_incident_adds_to_max_only() {
    let mut w = World::new();
    w.incident(1, "2017-06-10", "2017-06-10", &["coalition"])
        .incident(2, "2017-05-25", "2017-06-05", &["coalition"])
        .assess(
            "cjtf-oir",
            1,
            Verdict::Credible,
            range(3, Some(5)),
            "2017-08-04",
        )
        .assess(
            "cjtf-oir",
            2,
            Verdict::Credible,
            range(2, Some(4)),
            "2017-08-04",
        );
    let figures = w.query(june());
    // Per source: min = 3 (incident 1 only); max = 5 + 4 = 9 (both).
    let coalition = tier(&of_source(&figures, "cjtf-oir").tiers, Tier::Established);
    assert_eq!((coalition.killed.min, coalition.killed.max()), (3, Some(9)));
    assert_eq!(
        coalition.counted,
        Split {
            inside: 1,
            boundary: 1
        }
    );
    // Reconciled, the same: two single-incident clusters.
    let reconciled = tier(&figures.tiers, Tier::Established);
    assert_eq!(
        (reconciled.killed.min, reconciled.killed.max()),
        (3, Some(9))
    );
    assert_eq!(
        reconciled.counted,
        Split {
            inside: 1,
            boundary: 1
        }
    );
}

#[test]
fn a_cluster_with_a_member_outside_the_window_is_on_the_boundary() {
    let mut w = World::new();
    w.incident(1, "2017-06-10", "2017-06-10", &[])
        .incident(2, "2017-07-02", "2017-07-02", &[])
        .link(1, 2)
        .assess("airwars", 1, Verdict::Fair, range(4, Some(6)), "2024-01-01");
    let likely = tier(&w.query(june()).tiers, Tier::Likely);
    // One member inside, one out: boundary, so max 6 but min 0.
    assert_eq!(
        likely.counted,
        Split {
            inside: 0,
            boundary: 1
        }
    );
    assert_eq!((likely.killed.min, likely.killed.max()), (0, Some(6)));
}

#[test]
fn a_cluster_is_selected_by_any_member_and_then_counts_all_of_them() {
    let mut w = World::new();
    w.incident(1, "2017-06-10", "2017-06-10", &["coalition"])
        .incident(2, "2017-06-10", "2017-06-10", &["unknown"])
        .link(1, 2)
        .assess("airwars", 2, Verdict::Fair, range(7, Some(7)), "2024-01-01");
    let filters = Filters {
        attributed_to: BTreeSet::from([Slug::parse("coalition").unwrap()]),
        ..Filters::default()
    };
    let figures = reconcile(
        &w.data,
        &FigureQuery {
            window: june(),
            filters,
            as_of: None,
        },
    );
    // Incident 1 passes the filter, so cluster {1, 2} is selected, and 2's assessment counts.
    assert_eq!(tier(&figures.tiers, Tier::Likely).killed.min, 7);
    // Per source (incident level), only incidents that pass the filter count: 2 does not.
    assert_eq!(
        tier(&of_source(&figures, "airwars").tiers, Tier::Likely).counted,
        Split::default()
    );
}

// Rules 3 and 4 ---------------------------------------------------------------------------------

#[test]
fn a_cluster_assessed_by_two_sources_counts_once_with_the_smallest_min_and_largest_max() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &["coalition"])
        .incident(2, "2017-06-12", "2017-06-12", &["coalition"])
        .link(1, 2)
        .assess(
            "airwars",
            1,
            Verdict::Confirmed,
            range(4, Some(8)),
            "2024-01-01",
        )
        .assess(
            "cjtf-oir",
            2,
            Verdict::Credible,
            range(2, Some(3)),
            "2017-08-04",
        );
    let established = tier(&w.query(june()).tiers, Tier::Established);
    // One cluster. Airwars says {4, 8}, the Coalition {2, 3}: min = min(4, 2) = 2, max = max(8, 3) = 8.
    assert_eq!(
        established.counted,
        Split {
            inside: 1,
            boundary: 0
        }
    );
    assert_eq!(
        (established.killed.min, established.killed.max()),
        (2, Some(8))
    );
}

#[test]
fn one_sources_records_of_one_cluster_are_never_added() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &[])
        .incident(2, "2017-06-12", "2017-06-12", &[])
        .link(1, 2)
        .assess("airwars", 1, Verdict::Fair, range(4, Some(8)), "2024-01-01")
        .assess("airwars", 2, Verdict::Fair, range(5, Some(6)), "2024-01-01");
    let likely = tier(&w.query(june()).tiers, Tier::Likely);
    // Airwars' figure for the cluster: largest min 5, largest max 8 — not 4 + 5 and 8 + 6.
    assert_eq!((likely.killed.min, likely.killed.max()), (5, Some(8)));
}

#[test]
fn tiers_are_cumulative_and_a_lower_tier_figure_does_not_lift_a_higher_one() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &[])
        .assess(
            "airwars",
            1,
            Verdict::Weak,
            range(10, Some(20)),
            "2024-01-01",
        )
        .assess(
            "cjtf-oir",
            1,
            Verdict::Credible,
            range(1, Some(1)),
            "2017-08-04",
        );
    let figures = w.query(june());
    // ESTABLISHED: only the Coalition is at tier ≥ ESTABLISHED: {1, 1}.
    let established = tier(&figures.tiers, Tier::Established);
    assert_eq!(
        (established.killed.min, established.killed.max()),
        (1, Some(1))
    );
    // ALLEGED: both are: min = min(10, 1) = 1, max = max(20, 1) = 20.
    let alleged = tier(&figures.tiers, Tier::Alleged);
    assert_eq!((alleged.killed.min, alleged.killed.max()), (1, Some(20)));
}

#[test]
fn an_at_least_figure_makes_the_max_unbounded_and_missing_figures_are_counted() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &[])
        .incident(2, "2017-06-13", "2017-06-13", &[])
        .incident(3, "2017-06-14", "2017-06-14", &[])
        .assess("airwars", 1, Verdict::Fair, range(5, None), "2024-01-01")
        .assess("airwars", 2, Verdict::Fair, range(2, Some(3)), "2024-01-01")
        .assess("airwars", 3, Verdict::Fair, None, "2024-01-01");
    let likely = tier(&w.query(june()).tiers, Tier::Likely);
    // min = 5 + 2 = 7; max unbounded because of "at least 5"; bounded part 3; one without a figure.
    assert_eq!(likely.killed.min, 7);
    assert_eq!(likely.killed.max(), None);
    assert_eq!(
        (
            likely.killed.max_bounded,
            likely.killed.unbounded,
            likely.killed.without_figure
        ),
        (3, 1, 1)
    );
    assert_eq!(likely.counted.inside, 3);
}

#[test]
fn a_current_duplicate_links_and_a_superseded_one_does_not() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &["coalition"])
        .incident(2, "2017-06-12", "2017-06-12", &["coalition"])
        .assess("airwars", 1, Verdict::Fair, range(3, Some(3)), "2017-06-20")
        .assess("airwars", 2, Verdict::Fair, range(3, Some(3)), "2017-06-20")
        .duplicate("cjtf-oir", 2, 1, "2017-06-30")
        .assess("cjtf-oir", 2, Verdict::Open, None, "2017-09-01");
    let as_of = |day| {
        reconcile(
            &w.data,
            &FigureQuery {
                window: june(),
                filters: Filters::default(),
                as_of: Some(d(day)),
            },
        )
    };
    // As of July the DUPLICATE is current: one cluster, 3 killed.
    let july = tier(&as_of("2017-07-15").tiers, Tier::Likely);
    assert_eq!((july.counted.inside, july.killed.min), (1, 3));
    // Reopened in September, the DUPLICATE is superseded: two clusters, 3 + 3 killed.
    let later = tier(&w.query(june()).tiers, Tier::Likely);
    assert_eq!((later.counted.inside, later.killed.min), (2, 6));
}

#[test]
fn every_selected_source_is_listed_zero_filled() {
    let w = World::new();
    let figures = w.query(june());
    let ids: Vec<_> = figures
        .sources
        .iter()
        .map(|s| s.source_id.as_str())
        .collect();
    assert_eq!(ids, ["airwars", "cjtf-oir", "un-unami"]);
    assert!(
        figures
            .sources
            .iter()
            .all(|s| s.verdicts.is_empty() && s.tiers.len() == 3)
    );
}

#[test]
fn per_source_counts_are_by_verdict_with_inside_and_boundary_apart() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &["coalition"])
        .incident(2, "2017-05-30", "2017-06-02", &["coalition"])
        .incident(3, "2017-06-20", "2017-06-20", &["coalition"])
        .assess("cjtf-oir", 1, Verdict::NotCredible, None, "2017-06-30")
        .assess("cjtf-oir", 2, Verdict::NotCredible, None, "2017-06-30")
        .duplicate("cjtf-oir", 3, 1, "2017-06-30");
    let coalition = of_source(&w.query(june()), "cjtf-oir").clone();
    assert_eq!(
        coalition.verdicts,
        BTreeMap::from([(
            Verdict::NotCredible,
            Split {
                inside: 1,
                boundary: 1
            }
        )]),
        "DUPLICATE is not a verdict on an incident"
    );
    // REJECTED is never at tier ≥ ALLEGED.
    assert_eq!(
        tier(&coalition.tiers, Tier::Alleged).counted,
        Split::default()
    );
}

// Rule 5 ----------------------------------------------------------------------------------------

#[test]
fn a_cluster_one_source_finds_likely_and_another_rejects_is_disputed() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &["coalition"])
        .incident(2, "2017-06-13", "2017-06-13", &["russia"])
        .assess("airwars", 1, Verdict::Fair, range(1, Some(3)), "2024-01-01")
        .assess("cjtf-oir", 1, Verdict::NotCredible, None, "2017-06-30")
        .assess("airwars", 2, Verdict::Fair, range(5, Some(5)), "2024-01-01")
        .assess("cjtf-oir", 2, Verdict::NotCredible, None, "2017-06-30");
    let disputed = w.query(june()).disputed;
    // Incident 1 is disputed. On incident 2 the Coalition speaks for `coalition` only, and 2 is
    // attributed to `russia`: its rejection does not count.
    assert_eq!(disputed.cluster_ids, [id(1)]);
    assert_eq!(disputed.figures.counted.inside, 1);
    assert_eq!(
        (disputed.figures.killed.min, disputed.figures.killed.max()),
        (1, Some(3))
    );
}

#[test]
fn a_source_has_a_coverage_gap_on_likely_clusters_it_has_not_assessed() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &["coalition"])
        .incident(2, "2017-06-13", "2017-06-13", &["coalition"])
        .incident(3, "2017-06-14", "2017-06-14", &["russia"])
        .incident(4, "2017-06-15", "2017-06-15", &["coalition"])
        .assess("airwars", 1, Verdict::Fair, None, "2024-01-01")
        .assess("airwars", 2, Verdict::Confirmed, None, "2024-01-01")
        .assess("airwars", 3, Verdict::Fair, None, "2024-01-01")
        .assess("airwars", 4, Verdict::Weak, None, "2024-01-01")
        .assess("cjtf-oir", 2, Verdict::Open, None, "2017-06-30");
    let gaps = w.query(june()).coverage_gaps;
    // C_LIKELY = {1, 2, 3}. The Coalition assessed 2 (OPEN counts as assessed), and speaks only for
    // `coalition`, so 3 is not its gap: its gap is {1}. Airwars assessed all. The UN has recorded no
    // assessment at all, so it has no gap entry.
    let by_source: Vec<_> = gaps
        .iter()
        .map(|g| (g.source_id.as_str(), g.clusters, g.cluster_ids.clone()))
        .collect();
    assert_eq!(
        by_source,
        [("airwars", 0, vec![]), ("cjtf-oir", 1, vec![id(1)])]
    );
}

// Rule 6 ----------------------------------------------------------------------------------------

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

#[test]
fn the_latest_statement_of_each_chain_as_of_is_reported_with_its_overlap() {
    let mut w = World::new();
    w.data.statements = vec![
        statement(
            1,
            "cjtf-oir",
            Measure::Killed,
            603,
            "2014-08-08",
            "2017-05-31",
            "2017-07-06",
        ),
        statement(
            2,
            "cjtf-oir",
            Measure::Killed,
            624,
            "2014-08-08",
            "2017-06-30",
            "2017-08-04",
        ),
    ];
    let as_of_july = reconcile(
        &w.data,
        &FigureQuery {
            window: june(),
            filters: Filters::default(),
            as_of: Some(d("2017-07-31")),
        },
    );
    // As of July only 603 exists; its period ends 31 May, before June: it does not overlap.
    assert!(as_of_july.statements.is_empty());
    let now = w.query(june());
    assert_eq!(now.statements.len(), 1);
    let latest = &now.statements[0];
    assert_eq!(latest.statement.details.count().min(), 624);
    // 8 Aug 2014 to 30 Jun 2017 is 1,058 days, of which June's 30 overlap the window.
    assert!(!latest.inside);
    assert_eq!((latest.overlap_days, latest.period_days), (30, 1058));
}

#[test]
fn a_statement_is_compared_with_the_sources_own_established_sum_of_the_same_measure() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &["coalition"])
        .incident(2, "2016-03-01", "2016-03-01", &["coalition"])
        .assess(
            "cjtf-oir",
            1,
            Verdict::Credible,
            range(3, Some(3)),
            "2017-07-01",
        )
        .assess(
            "cjtf-oir",
            2,
            Verdict::Credible,
            range(4, Some(4)),
            "2017-07-01",
        );
    w.data.statements = vec![
        statement(
            1,
            "cjtf-oir",
            Measure::Killed,
            624,
            "2014-08-08",
            "2017-06-30",
            "2017-08-04",
        ),
        statement(
            2,
            "cjtf-oir",
            Measure::KilledOrInjured,
            900,
            "2014-08-08",
            "2017-06-30",
            "2017-08-04",
        ),
    ];
    let figures = w.query(june());
    // Over the statement's own period both incidents count: 3 + 4 = 7; 624 − 7 = 617.
    let killed = &figures.statements[0];
    assert_eq!(killed.own_established.map(|s| s.min), Some(7));
    assert_eq!(killed.difference(), Some(617));
    // KILLED_OR_INJURED is compared with nothing.
    assert_eq!(figures.statements[1].own_established, None);
}

#[test]
fn statements_never_enter_incident_sums() {
    let mut w = World::new();
    w.data.statements = vec![statement(
        1,
        "un-unami",
        Measure::KilledOrInjured,
        8000,
        "2017-06-01",
        "2017-06-30",
        "2017-07-10",
    )];
    let figures = w.query(june());
    assert!(
        figures
            .tiers
            .iter()
            .all(|t| t.killed == RangeSum::default() && t.injured == RangeSum::default())
    );
    assert!(figures.statements[0].inside);
    assert_eq!(
        figures.statements[0].own_established, None,
        "the UN has no incident assessments"
    );
}

// Rule 7 ----------------------------------------------------------------------------------------

#[test]
fn the_seed_articles_june_flow() {
    // 180 reports open since May, 72 received in June; in June 121 found non-credible, 7 credible
    // with 3 deaths each (21 in all) and 4 duplicates: 132 completed.
    let mut w = World::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    let carried: Vec<i64> = (0..180).map(|_| next()).collect();
    let received: Vec<i64> = (0..72).map(|_| next()).collect();
    for &i in carried.iter().chain(&received) {
        w.incident(i, "2017-05-01", "2017-05-01", &["coalition"]);
    }
    for &i in &carried {
        w.assess("cjtf-oir", i, Verdict::Open, None, "2017-05-15");
    }
    for &i in &received {
        w.assess("cjtf-oir", i, Verdict::Open, None, "2017-06-10");
    }
    let mut completing = carried.iter().chain(&received).copied();
    for i in completing.by_ref().take(121) {
        w.assess("cjtf-oir", i, Verdict::NotCredible, None, "2017-06-28");
    }
    for i in completing.by_ref().take(7) {
        w.assess(
            "cjtf-oir",
            i,
            Verdict::Credible,
            range(3, Some(3)),
            "2017-06-28",
        );
    }
    for i in completing.by_ref().take(4) {
        w.duplicate("cjtf-oir", i, 1, "2017-06-28");
    }
    let flow = assessment_flow(&w.data.assessments, &source("cjtf-oir"), june());
    assert_eq!(flow.open_at_start, 180);
    assert_eq!(flow.received, 72);
    assert_eq!(
        flow.completed,
        BTreeMap::from([
            (Verdict::Credible, 7),
            (Verdict::NotCredible, 121),
            (Verdict::Duplicate, 4)
        ])
    );
    assert_eq!(flow.completed_deaths, 21);
    // 180 + 72 − 132 + 0 = 120.
    assert_eq!(flow.open_at_end, 120);
    assert_eq!(
        flow.open_at_end,
        flow.open_at_start + flow.received - flow.completed_total() + flow.reopened
    );
}

#[test]
fn reassessments_reopenings_and_reports_received_already_final() {
    let mut w = World::new();
    w.incident(1, "2017-01-01", "2017-01-01", &[])
        .incident(2, "2017-01-01", "2017-01-01", &[])
        .incident(3, "2017-01-01", "2017-01-01", &[])
        // 1: credible in May, reassessed non-credible in June.
        .assess(
            "cjtf-oir",
            1,
            Verdict::Credible,
            range(2, Some(2)),
            "2017-05-10",
        )
        .assess("cjtf-oir", 1, Verdict::NotCredible, None, "2017-06-05")
        // 2: non-credible in May, reopened in June.
        .assess("cjtf-oir", 2, Verdict::NotCredible, None, "2017-05-10")
        .assess("cjtf-oir", 2, Verdict::Open, None, "2017-06-07")
        // 3: received in June already credible: counted as received and completed.
        .assess(
            "cjtf-oir",
            3,
            Verdict::Credible,
            range(5, Some(6)),
            "2017-06-09",
        );
    let flow = assessment_flow(&w.data.assessments, &source("cjtf-oir"), june());
    assert_eq!(flow.open_at_start, 0);
    assert_eq!(flow.received, 1);
    assert_eq!(flow.reassessed, BTreeMap::from([(Verdict::NotCredible, 1)]));
    assert_eq!(flow.reopened, 1);
    assert_eq!(flow.completed, BTreeMap::from([(Verdict::Credible, 1)]));
    assert_eq!(flow.completed_deaths, 5);
    // 0 + 1 − 1 + 1 = 1: incident 2 is open at the end.
    assert_eq!(flow.open_at_end, 1);
}

// Rule 8 ----------------------------------------------------------------------------------------

#[test]
fn buckets_follow_the_calendar_and_are_clipped_to_the_window() {
    let window = DateInterval::new(d("2017-06-14"), d("2017-08-02")).unwrap();
    let months: Vec<_> = buckets(window, Granularity::Month)
        .map(|b| (b.from().to_string(), b.to().to_string()))
        .collect();
    assert_eq!(
        months,
        [
            ("2017-06-14".into(), "2017-06-30".into()),
            ("2017-07-01".into(), "2017-07-31".into()),
            ("2017-08-01".into(), "2017-08-02".into()),
        ]
    );
    // 14 June 2017 was a Wednesday: the first ISO week is clipped to Wed–Sun, the next starts Monday.
    let weeks: Vec<_> = buckets(window, Granularity::Week).collect();
    assert_eq!(
        (weeks[0].from(), weeks[0].to()),
        (d("2017-06-14"), d("2017-06-18"))
    );
    assert_eq!(weeks[1].from(), d("2017-06-19"));
    assert_eq!(buckets(window, Granularity::Day).count(), 50);
    assert_eq!(buckets(window, Granularity::Year).count(), 1);
}

#[test]
fn an_incident_spanning_buckets_is_a_boundary_incident_in_each() {
    let mut w = World::new();
    w.incident(1, "2017-06-28", "2017-07-03", &[]).assess(
        "airwars",
        1,
        Verdict::Fair,
        range(4, Some(4)),
        "2024-01-01",
    );
    let summer = DateInterval::new(d("2017-06-01"), d("2017-07-31")).unwrap();
    let query = FigureQuery {
        window: summer,
        filters: Filters::default(),
        as_of: None,
    };
    let series = figure_series(&w.data.facts(), &query, Granularity::Month);
    for (_, figures) in &series {
        let likely = tier(&figures.tiers, Tier::Likely);
        assert_eq!(
            likely.counted,
            Split {
                inside: 0,
                boundary: 1
            }
        );
        assert_eq!((likely.killed.min, likely.killed.max()), (0, Some(4)));
    }
    // Over the whole window it is inside: the buckets do not add up to the window.
    let whole = tier(&reconcile(&w.data, &query).tiers, Tier::Likely);
    assert_eq!((whole.killed.min, whole.killed.max()), (4, Some(4)));
}

// Edge cases ------------------------------------------------------------------------------------

#[test]
fn a_source_whose_assessments_all_come_after_as_of_still_has_a_coverage_gap() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &["coalition"])
        .assess("airwars", 1, Verdict::Fair, None, "2017-06-20")
        .assess("cjtf-oir", 1, Verdict::NotCredible, None, "2017-09-01");
    let figures = reconcile(
        &w.data,
        &FigureQuery {
            window: june(),
            filters: Filters::default(),
            as_of: Some(d("2017-07-01")),
        },
    );
    // "Has recorded at least one assessment (of any date)": the Coalition has, in September; as of
    // July its assessment does not exist yet, so cluster 1 is its gap.
    let coalition = figures
        .coverage_gaps
        .iter()
        .find(|g| g.source_id.as_str() == "cjtf-oir")
        .unwrap();
    assert_eq!(coalition.cluster_ids, [id(1)]);
}

#[test]
fn a_duplicate_verdict_counts_as_assessed_for_coverage() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &["coalition"])
        .incident(2, "2017-06-12", "2017-06-12", &["coalition"])
        .assess("airwars", 1, Verdict::Fair, None, "2017-06-20")
        // The Coalition only says 2 duplicates 1: that assesses the cluster {1, 2}.
        .duplicate("cjtf-oir", 2, 1, "2017-06-30");
    let gaps = w.query(june()).coverage_gaps;
    let coalition = gaps
        .iter()
        .find(|g| g.source_id.as_str() == "cjtf-oir")
        .unwrap();
    assert_eq!(coalition.clusters, 0);
}

#[test]
fn an_explicit_link_holds_whatever_as_of_says() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &[])
        .incident(2, "2017-06-12", "2017-06-12", &[])
        .link(1, 2)
        .assess("airwars", 1, Verdict::Fair, range(3, Some(3)), "2017-06-20")
        .assess("airwars", 2, Verdict::Fair, range(4, Some(4)), "2017-06-20");
    let early = reconcile(
        &w.data,
        &FigureQuery {
            window: june(),
            filters: Filters::default(),
            as_of: Some(d("2017-06-21")),
        },
    );
    // One cluster: largest min 4, not 3 + 4.
    let likely = tier(&early.tiers, Tier::Likely);
    assert_eq!((likely.counted.inside, likely.killed.min), (1, 4));
}

#[test]
fn injured_figures_are_reconciled_independently_of_killed() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &[])
        .assess("airwars", 1, Verdict::Fair, range(2, Some(2)), "2017-06-20")
        .assess("un-unami", 1, Verdict::Fair, None, "2017-06-21");
    w.data.assessments[0].injured = range(5, Some(9));
    w.data.assessments[1].injured = range(7, None);
    let likely = tier(&w.query(june()).tiers, Tier::Likely);
    // Killed: only Airwars states one: {2, 2}.
    assert_eq!((likely.killed.min, likely.killed.max()), (2, Some(2)));
    // Injured: min(5, 7) = 5; the UN's "at least 7" makes the max unbounded.
    assert_eq!((likely.injured.min, likely.injured.max()), (5, None));
    assert_eq!(likely.injured.unbounded, 1);
}

#[test]
fn a_statement_is_compared_only_with_what_exists_as_of_and_within_its_locality() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &["coalition"])
        .incident(2, "2017-06-13", "2017-06-13", &["coalition"])
        .assess(
            "cjtf-oir",
            1,
            Verdict::Credible,
            range(3, Some(3)),
            "2017-07-01",
        )
        .assess(
            "cjtf-oir",
            2,
            Verdict::Credible,
            range(4, Some(4)),
            "2017-07-01",
        );
    w.data.incidents[0].locality = Some("Tabqa".into());
    let mut tabqa = statement(
        1,
        "cjtf-oir",
        Measure::Killed,
        10,
        "2017-06-01",
        "2017-06-30",
        "2017-06-30",
    );
    tabqa.details.area = Area::new(
        [CountryCode::parse("SY").unwrap()],
        None,
        Some("Tabqa".into()),
    )
    .unwrap();
    w.data.statements = vec![tabqa];
    // Now: only incident 1 lies in Tabqa: 10 − 3 = 7.
    let now = w.query(june());
    assert_eq!(now.statements[0].difference(), Some(7));
    // As of June the Coalition had no assessment at all: nothing to compare.
    let june_30 = reconcile(
        &w.data,
        &FigureQuery {
            window: june(),
            filters: Filters::default(),
            as_of: Some(d("2017-06-30")),
        },
    );
    assert_eq!(june_30.statements[0].own_established, None);
}
