//! Edge cases across the rules.

use super::*;

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
    assert_eq!(june_30.statements[0].own, None);
}
