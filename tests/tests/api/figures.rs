//! FigureService through gRPC: the seed article's scenario and each rule of docs/rules.md.

use civcas_proto::v1 as pb;
use civcas_tests::fixtures::{
    assessment, coalition_cumulative, incident, record_incident, register_seed_sources,
};
use civcas_tests::{TestApp, spawn_app};
use futures::future::join_all;

pub(super) async fn link(app: &TestApp, incident: &pb::Incident, linked: &pb::Incident) {
    app.link_incidents(pb::LinkIncidentsRequest {
        incident_id: incident.id.clone(),
        linked_incident_id: linked.id.clone(),
        request_id: String::new(),
    })
    .await
    .expect("the incidents link");
}

pub(super) async fn figures(
    app: &TestApp,
    from: &str,
    to: &str,
    as_of: &str,
) -> pb::ReconciledFigures {
    let request = pb::GetReconciledFiguresRequest {
        from: from.into(),
        to: to.into(),
        filters: None,
        as_of: as_of.into(),
    };
    app.reconciled(request).await.expect("figures")
}

pub(super) fn tier(figures: &[pb::TierFigures], tier: pb::Tier) -> pb::TierFigures {
    figures
        .iter()
        .find(|t| t.tier() == tier)
        .cloned()
        .expect("every tier is reported")
}

pub(super) fn killed(figures: &pb::TierFigures) -> (u64, Option<u64>) {
    let killed = figures.killed.unwrap();
    (killed.min, killed.max)
}

pub(super) fn unami(
    measure: pb::Measure,
    qualifier: pb::Qualifier,
    min: u32,
    from: &str,
    to: &str,
    locality: &str,
) -> pb::Statement {
    pb::Statement {
        source_id: "un-unami".into(),
        measure: measure.into(),
        count: Some(pb::CountRange { min, max: None }),
        qualifier: qualifier.into(),
        period_from: from.into(),
        period_to: to.into(),
        area: Some(pb::Area {
            countries: vec![if locality == "Mosul" { "IQ" } else { "SY" }.into()],
            admin1: None,
            locality: Some(locality.into()),
        }),
        attributed_to: "all".into(),
        published_on: "2017-08-02".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_article_end_to_end() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;

    // The statements: the Coalition's 603 then 624, Airwars' 4,354, and the UN's two figures.
    app.record_statement(coalition_cumulative(603, "2017-05-31", "2017-07-06"))
        .await
        .expect("the statement records");
    let latest = app
        .record_statement(coalition_cumulative(624, "2017-06-30", "2017-08-04"))
        .await
        .expect("the statement records")
        .statement
        .unwrap();
    app.record_statement(pb::Statement {
        source_id: "airwars".into(),
        count: Some(pb::CountRange {
            min: 4354,
            max: Some(4354),
        }),
        qualifier: pb::Qualifier::Approximately.into(),
        period_from: "2014-06-01".into(),
        ..coalition_cumulative(0, "2017-07-31", "2017-08-03")
    })
    .await
    .expect("the statement records");
    app.record_statement(unami(
        pb::Measure::KilledOrInjured,
        pb::Qualifier::MoreThan,
        8000,
        "2016-10-17",
        "2017-07-10",
        "Mosul",
    ))
    .await
    .expect("the statement records");
    app.record_statement(unami(
        pb::Measure::Killed,
        pb::Qualifier::AtLeast,
        173,
        "2017-06-01",
        "2017-06-30",
        "Raqqa",
    ))
    .await
    .expect("the statement records");

    // 180 reports carried over, open on 31 May; 72 received in June.
    let carried = join_all(
        (0..180)
            .map(|n| record_incident(&app, incident("cjtf-oir", &format!("C{n}"), "2017-05-10"))),
    )
    .await;
    let received = join_all(
        (0..72)
            .map(|n| record_incident(&app, incident("cjtf-oir", &format!("N{n}"), "2017-06-10"))),
    )
    .await;
    join_all(carried.iter().map(|i| async {
        app.record_assessment(assessment(
            "cjtf-oir",
            &i.id,
            pb::Verdict::Open,
            None,
            "2017-05-20",
        ))
        .await
        .expect("the assessment records")
        .assessment
        .unwrap()
    }))
    .await;
    join_all(received.iter().map(|i| async {
        app.record_assessment(assessment(
            "cjtf-oir",
            &i.id,
            pb::Verdict::Open,
            None,
            "2017-06-12",
        ))
        .await
        .expect("the assessment records")
        .assessment
        .unwrap()
    }))
    .await;
    // June's completions: 7 of the new reports credible with 3 deaths each (21 in all), 121 carried
    // reports non-credible, and 4 duplicates of the first carried report.
    let deaths = [3, 3, 3, 3, 3, 3, 3];
    let app = &app;
    join_all(received.iter().zip(deaths).map(|(i, d)| async move {
        app.record_assessment(assessment(
            "cjtf-oir",
            &i.id,
            pb::Verdict::Credible,
            Some((d, Some(d))),
            "2017-06-28",
        ))
        .await
        .expect("the assessment records")
        .assessment
        .unwrap()
    }))
    .await;
    join_all(carried[1..122].iter().map(|i| async {
        app.record_assessment(assessment(
            "cjtf-oir",
            &i.id,
            pb::Verdict::NotCredible,
            None,
            "2017-06-29",
        ))
        .await
        .expect("the assessment records")
        .assessment
        .unwrap()
    }))
    .await;
    join_all(carried[122..126].iter().map(|i| async {
        app.record_assessment(pb::Assessment {
            duplicate_of: Some(carried[0].id.clone()),
            ..assessment(
                "cjtf-oir",
                &i.id,
                pb::Verdict::Duplicate,
                None,
                "2017-06-29",
            )
        })
        .await
        .expect("the assessment records")
        .assessment
        .unwrap()
    }))
    .await;

    let flow = app
        .get_assessment_flow(pb::GetAssessmentFlowRequest {
            source_id: "cjtf-oir".into(),
            from: "2017-06-01".into(),
            to: "2017-06-30".into(),
        })
        .await
        .unwrap();
    assert_eq!(flow.open_at_start, 180);
    assert_eq!(flow.received, 72);
    let completed: Vec<_> = flow
        .completed
        .iter()
        .map(|c| (c.verdict(), c.count))
        .collect();
    assert_eq!(
        completed,
        [
            (pb::Verdict::Credible, 7),
            (pb::Verdict::NotCredible, 121),
            (pb::Verdict::Duplicate, 4)
        ]
    );
    assert_eq!(flow.completed_deaths, 21);
    // 180 + 72 − 132 + 0 = 120.
    assert_eq!(flow.open_at_end, 120);

    let revisions = app
        .get_statement_revisions(pb::GetStatementRevisionsRequest {
            statement_id: latest.id,
        })
        .await
        .unwrap()
        .revisions;
    assert_eq!(revisions.last().unwrap().min_delta, Some(21));

    let june = figures(app, "2017-06-01", "2017-06-30", "").await;
    // Incidents: the 7 credible June reports, 3 killed each.
    assert_eq!(
        killed(&tier(&june.tiers, pb::Tier::Established)),
        (21, Some(21))
    );
    let statements: Vec<_> = june
        .statements
        .iter()
        .map(|s| {
            let st = s.statement.as_ref().unwrap();
            (
                st.source_id.as_str(),
                st.measure(),
                st.count.unwrap().min,
                s.inside,
                s.difference,
            )
        })
        .collect();
    assert_eq!(
        statements,
        [
            ("airwars", pb::Measure::Killed, 4354, false, None),
            // The Coalition's own established incidents over its statement's period: 21; 624 − 21.
            ("cjtf-oir", pb::Measure::Killed, 624, false, Some(603)),
            // The UN has no incident assessments: nothing to compare, whatever the measure.
            ("un-unami", pb::Measure::KilledOrInjured, 8000, false, None),
            ("un-unami", pb::Measure::Killed, 173, true, None),
        ]
    );
    let mosul = june
        .statements
        .iter()
        .find(|s| s.statement.as_ref().unwrap().measure() == pb::Measure::KilledOrInjured)
        .unwrap();
    assert!(
        mosul.own_at_tier.is_none(),
        "KILLED_OR_INJURED is never compared with a KILLED figure"
    );
    // And never added to anything: no tier counts it.
    assert!(june.tiers.iter().all(|t| t.killed.unwrap().min < 8000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_boundary_incident_adds_to_max_only() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let inside = record_incident(&app, incident("airwars", "IN", "2017-06-10")).await;
    let boundary = record_incident(
        &app,
        pb::Incident {
            occurred_from: "2017-05-25".into(),
            ..incident("airwars", "EDGE", "2017-06-05")
        },
    )
    .await;
    app.record_assessment(assessment(
        "airwars",
        &inside.id,
        pb::Verdict::Fair,
        Some((3, Some(5))),
        "2024-01-01",
    ))
    .await
    .expect("the assessment records");
    app.record_assessment(assessment(
        "airwars",
        &boundary.id,
        pb::Verdict::Fair,
        Some((2, Some(4))),
        "2024-01-01",
    ))
    .await
    .expect("the assessment records");
    let likely = tier(
        &figures(&app, "2017-06-01", "2017-06-30", "").await.tiers,
        pb::Tier::Likely,
    );
    // min = 3 (inside only); max = 5 + 4 = 9.
    assert_eq!(killed(&likely), (3, Some(9)));
    assert_eq!(
        likely.counted,
        Some(pb::PositionCounts {
            inside: 1,
            boundary: 1
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_hides_later_assessments() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let report = record_incident(&app, incident("cjtf-oir", "R1", "2017-06-10")).await;
    app.record_assessment(assessment(
        "cjtf-oir",
        &report.id,
        pb::Verdict::Open,
        None,
        "2017-06-15",
    ))
    .await
    .expect("the assessment records");
    app.record_assessment(assessment(
        "cjtf-oir",
        &report.id,
        pb::Verdict::Credible,
        Some((4, Some(4))),
        "2017-08-04",
    ))
    .await
    .expect("the assessment records");
    let july = figures(&app, "2017-06-01", "2017-06-30", "2017-07-31").await;
    assert_eq!(
        killed(&tier(&july.tiers, pb::Tier::Established)),
        (0, Some(0))
    );
    assert_eq!(
        tier(&july.tiers, pb::Tier::Alleged).counted.unwrap().inside,
        1,
        "still OPEN as of July"
    );
    let now = figures(&app, "2017-06-01", "2017-06-30", "").await;
    assert_eq!(
        killed(&tier(&now.tiers, pb::Tier::Established)),
        (4, Some(4))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_assessed_by_two_sources_counts_once() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let monitor = record_incident(&app, incident("airwars", "CS1", "2017-06-12")).await;
    let military = record_incident(&app, incident("cjtf-oir", "R1", "2017-06-12")).await;
    link(&app, &monitor, &military).await;
    app.record_assessment(assessment(
        "airwars",
        &monitor.id,
        pb::Verdict::Confirmed,
        Some((4, Some(8))),
        "2024-01-01",
    ))
    .await
    .expect("the assessment records");
    app.record_assessment(assessment(
        "cjtf-oir",
        &military.id,
        pb::Verdict::Credible,
        Some((2, Some(3))),
        "2017-08-04",
    ))
    .await
    .expect("the assessment records");
    let established = tier(
        &figures(&app, "2017-06-01", "2017-06-30", "").await.tiers,
        pb::Tier::Established,
    );
    // One cluster, not two: min = min(4, 2) = 2, max = max(8, 3) = 8 — never 4 + 2 or 8 + 3.
    assert_eq!(
        established.counted,
        Some(pb::PositionCounts {
            inside: 1,
            boundary: 0
        })
    );
    assert_eq!(killed(&established), (2, Some(8)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disputed_clusters_and_coverage_gaps_are_reported() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let disputed = record_incident(&app, incident("airwars", "CS1", "2017-06-12")).await;
    let unassessed = record_incident(&app, incident("airwars", "CS2", "2017-06-13")).await;
    app.record_assessment(assessment(
        "airwars",
        &disputed.id,
        pb::Verdict::Fair,
        Some((1, Some(3))),
        "2024-01-01",
    ))
    .await
    .expect("the assessment records");
    app.record_assessment(assessment(
        "cjtf-oir",
        &disputed.id,
        pb::Verdict::NotCredible,
        None,
        "2017-06-30",
    ))
    .await
    .expect("the assessment records");
    app.record_assessment(assessment(
        "airwars",
        &unassessed.id,
        pb::Verdict::Fair,
        Some((2, Some(2))),
        "2024-01-01",
    ))
    .await
    .expect("the assessment records");
    let june = figures(&app, "2017-06-01", "2017-06-30", "").await;

    let contested = june.disputed.unwrap();
    assert_eq!(contested.cluster_ids, std::slice::from_ref(&disputed.id));
    assert_eq!(killed(&contested.figures.unwrap()), (1, Some(3)));

    let gaps: Vec<_> = june
        .coverage_gaps
        .iter()
        .map(|g| (g.source_id.as_str(), g.clusters, g.cluster_ids.clone()))
        .collect();
    // The Coalition has not assessed CS2; the UN has assessed nothing at all, so it has no entry.
    assert_eq!(
        gaps,
        [
            ("airwars", 0, vec![]),
            ("cjtf-oir", 1, vec![unassessed.id.clone()])
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_buckets_follow_the_calendar_and_unknown_sources_are_not_found() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let spanning = record_incident(
        &app,
        pb::Incident {
            occurred_from: "2017-06-28".into(),
            ..incident("airwars", "SPAN", "2017-07-03")
        },
    )
    .await;
    app.record_assessment(assessment(
        "airwars",
        &spanning.id,
        pb::Verdict::Fair,
        Some((4, Some(4))),
        "2024-01-01",
    ))
    .await
    .expect("the assessment records");
    let series = app
        .get_figure_series(pb::GetFigureSeriesRequest {
            from: "2017-06-15".into(),
            to: "2017-07-31".into(),
            filters: None,
            as_of: String::new(),
            granularity: pb::Granularity::Month.into(),
        })
        .await
        .unwrap()
        .buckets;
    let windows: Vec<_> = series
        .iter()
        .map(|b| (b.from.as_str(), b.to.as_str()))
        .collect();
    assert_eq!(
        windows,
        [("2017-06-15", "2017-06-30"), ("2017-07-01", "2017-07-31")]
    );
    for bucket in &series {
        // On the boundary of both months: max only.
        assert_eq!(killed(&tier(&bucket.tiers, pb::Tier::Likely)), (0, Some(4)));
    }

    let err = app
        .get_reconciled_figures(pb::GetReconciledFiguresRequest {
            from: "2017-06-01".into(),
            to: "2017-06-30".into(),
            filters: Some(pb::FigureFilters {
                sources: vec!["airwarz".into()],
                ..Default::default()
            }),
            as_of: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        civcas_tests::status::assert_error(&err, tonic::Code::NotFound),
        "SOURCE_NOT_FOUND"
    );
}
