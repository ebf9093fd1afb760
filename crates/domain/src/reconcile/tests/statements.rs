//! Rule 6: statements beside the incident figures.

use super::*;

// Rule 6 ----------------------------------------------------------------------------------------

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
    assert_eq!(killed.own.map(|s| s.min), Some(7));
    assert_eq!(killed.difference(), Some(617));
    // KILLED_OR_INJURED is compared with nothing.
    assert_eq!(figures.statements[1].own, None);
}

#[test]
fn a_statement_is_compared_with_the_sources_own_sum_at_its_tier() {
    // Airwars' headline counts its Fair and Confirmed incidents: LIKELY.
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &["coalition"])
        .incident(2, "2017-06-20", "2017-06-20", &["coalition"])
        .assess("airwars", 1, Verdict::Fair, range(5, Some(5)), "2017-07-01")
        .assess(
            "airwars",
            2,
            Verdict::Confirmed,
            range(2, Some(2)),
            "2017-07-01",
        );
    let mut headline = statement(
        1,
        "airwars",
        Measure::Killed,
        10,
        "2017-06-01",
        "2017-06-30",
        "2017-07-02",
    );
    headline.details.tier = Tier::Likely;
    w.data.statements = vec![headline.clone()];
    // At LIKELY the Fair and the Confirmed incident count: 5 + 2 = 7, and 10 − 7 = 3.
    let at_likely = &w.query(june()).statements[0];
    assert_eq!(at_likely.own.map(|s| s.min), Some(7));
    assert_eq!(at_likely.difference(), Some(3));
    // The same figure said at ESTABLISHED meets the Confirmed incident alone: 10 − 2 = 8.
    headline.details.tier = Tier::Established;
    w.data.statements = vec![headline];
    assert_eq!(w.query(june()).statements[0].difference(), Some(8));
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
        figures.statements[0].own, None,
        "the UN has no incident assessments"
    );
}
