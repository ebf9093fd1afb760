//! Rules 7 and 8: the assessment flow and series.

use super::*;

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
