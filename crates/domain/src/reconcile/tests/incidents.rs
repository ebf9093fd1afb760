//! Rules 1 to 5: current assessments, clusters and positions, per-source and reconciled figures,
//! disputes and coverage gaps.

use super::*;

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

// Tallies ---------------------------------------------------------------------------------------

#[test]
fn tallies_of_separate_incidents_add_up_to_the_tally_of_all() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &["coalition"])
        .incident(2, "2017-06-13", "2017-06-14", &["russia"])
        .incident(3, "2017-06-14", "2017-06-14", &["coalition"])
        .assess("airwars", 1, Verdict::Fair, range(1, Some(3)), "2024-01-01")
        .assess("cjtf-oir", 1, Verdict::NotCredible, None, "2017-06-30")
        .assess(
            "airwars",
            2,
            Verdict::Confirmed,
            range(4, None),
            "2024-01-01",
        )
        .assess(
            "un-unami",
            2,
            Verdict::Fair,
            range(2, Some(9)),
            "2024-01-01",
        )
        .assess("airwars", 3, Verdict::Weak, None, "2024-01-01");
    let facts = w.data.facts();
    let selection = Selection::new(&facts, &Filters::default());
    let group_of = |n: i64| {
        let incident = w.data.incidents.iter().find(|i| i.id == id(n)).cloned();
        let own = w.data.assessments.iter().filter(|a| a.incident_id == id(n));
        Group::new(
            incident.into_iter().collect(),
            own.cloned().collect(),
            Vec::new(),
        )
    };
    let all = Group::new(
        w.data.incidents.clone(),
        w.data.assessments.clone(),
        Vec::new(),
    );

    let whole = Tally::summing([&all], june(), &selection);
    let mut added = Tally::new(&selection);
    for n in 1..=3 {
        added.merge(&Tally::summing([&group_of(n)], june(), &selection));
    }
    assert_eq!(added, whole);
    assert_ne!(whole, Tally::new(&selection), "the incidents add something");
}

// Killed among children, women and men (rule 4, each group on its own) ------------------------

fn children(min: u32, max: Option<u32>) -> KilledByGroup {
    KilledByGroup {
        children: range(min, max),
        ..KilledByGroup::default()
    }
}

#[test]
fn two_sources_children_on_one_cluster_give_the_smallest_min_and_the_largest_max() {
    let mut w = World::new();
    w.incident(1, "2017-06-12", "2017-06-12", &["coalition"])
        .incident(2, "2017-06-12", "2017-06-12", &["coalition"])
        .link(1, 2)
        .assess(
            "airwars",
            1,
            Verdict::Confirmed,
            range(6, Some(9)),
            "2024-01-01",
        )
        .killed_among(children(3, Some(5)))
        .assess(
            "cjtf-oir",
            2,
            Verdict::Credible,
            range(4, Some(4)),
            "2017-08-04",
        )
        .killed_among(children(1, Some(2)));
    let established = tier(&w.query(june()).tiers, Tier::Established);
    // One cluster: Airwars says {3, 5} children, the Coalition {1, 2}: min(3, 1) = 1, max(5, 2) = 5,
    // never 3 + 1.
    let kids = established.children_killed;
    assert_eq!((kids.min, kids.max(), kids.without_figure), (1, Some(5), 0));
    // Women and men: no source states them, so the cluster is without a figure, never a zero.
    for group in [established.women_killed, established.men_killed] {
        assert_eq!(
            (group.min, group.max(), group.without_figure),
            (0, Some(0), 1)
        );
    }
}

#[test]
fn a_boundary_cluster_adds_its_children_to_max_only() {
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
        .killed_among(children(1, Some(2)))
        .assess(
            "cjtf-oir",
            2,
            Verdict::Credible,
            range(2, Some(4)),
            "2017-08-04",
        )
        .killed_among(children(2, None));
    let figures = w.query(june());
    // Inside: {1, 2}; on the boundary: at least 2. Min 1 (the inside one only); the max is
    // unbounded, bounded part 2.
    for kids in [
        tier(&figures.tiers, Tier::Established).children_killed,
        tier(&of_source(&figures, "cjtf-oir").tiers, Tier::Established).children_killed,
    ] {
        assert_eq!(
            (kids.min, kids.max(), kids.max_bounded, kids.unbounded),
            (1, None, 2, 1)
        );
    }
}

#[test]
fn a_means_filter_chooses_clusters_with_a_member_of_those_means() {
    let mut w = World::new();
    w.incident(1, "2017-06-10", "2017-06-10", &["coalition"])
        .by_means("drone-strike")
        .incident(2, "2017-06-11", "2017-06-11", &["coalition"])
        .by_means("artillery")
        .incident(3, "2017-06-12", "2017-06-12", &["coalition"])
        .link(2, 3)
        .assess(
            "cjtf-oir",
            1,
            Verdict::Credible,
            range(1, Some(1)),
            "2017-08-04",
        )
        .assess(
            "cjtf-oir",
            2,
            Verdict::Credible,
            range(2, Some(2)),
            "2017-08-04",
        )
        .assess(
            "cjtf-oir",
            3,
            Verdict::Credible,
            range(4, Some(4)),
            "2017-08-04",
        );
    let killed_by = |means: &[&str]| {
        let mut filters = Filters::default();
        filters.harm_done.means = means
            .iter()
            .map(|m| crate::harm::Terms::parse_one(m).unwrap())
            .collect();
        let figures = reconcile(
            &w.data,
            &FigureQuery {
                window: june(),
                filters,
                as_of: None,
            },
        );
        tier(&figures.tiers, Tier::Established).killed.min
    };
    // Artillery chooses the cluster of 2 and 3 by its member 2, and then all of it: one event, the
    // Coalition's largest figure for it, max(2, 4) = 4.
    assert_eq!(killed_by(&["artillery"]), 4);
    // Values within one filter are ORed: 4 + 1.
    assert_eq!(killed_by(&["artillery", "drone-strike"]), 5);
    assert_eq!(killed_by(&["airstrike"]), 0);
    assert_eq!(killed_by(&[]), 5);
}
