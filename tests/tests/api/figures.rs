//! FigureService through gRPC: the seed article's scenario and each rule of DESIGN.md section 2.

use chrono::NaiveDate;
use civcas_proto::v1 as pb;
use civcas_tests::fixtures::{
    assessment, coalition_cumulative, incident, record_incident, register_seed_sources, source,
};
use civcas_tests::{TestApp, metric_sample, spawn_app};
use futures::future::join_all;

async fn assess(app: &TestApp, assessment: pb::Assessment) -> pb::Assessment {
    app.assessments()
        .record_assessment(pb::RecordAssessmentRequest {
            assessment: Some(assessment),
            incident: None,
            request_id: String::new(),
        })
        .await
        .expect("the assessment records")
        .into_inner()
        .assessment
        .unwrap()
}

async fn link(app: &TestApp, incident: &pb::Incident, linked: &pb::Incident) {
    app.incidents()
        .link_incidents(pb::LinkIncidentsRequest {
            incident_id: incident.id.clone(),
            linked_incident_id: linked.id.clone(),
            request_id: String::new(),
        })
        .await
        .expect("the incidents link");
}

async fn state(app: &TestApp, statement: pb::Statement) -> pb::Statement {
    app.statements()
        .record_statement(pb::RecordStatementRequest {
            statement: Some(statement),
            request_id: String::new(),
        })
        .await
        .expect("the statement records")
        .into_inner()
        .statement
        .unwrap()
}

async fn reconciled(
    app: &TestApp,
    request: pb::GetReconciledFiguresRequest,
) -> pb::ReconciledFigures {
    app.figures()
        .get_reconciled_figures(request)
        .await
        .expect("figures")
        .into_inner()
        .figures
        .unwrap()
}

async fn figures(app: &TestApp, from: &str, to: &str, as_of: &str) -> pb::ReconciledFigures {
    let request = pb::GetReconciledFiguresRequest {
        from: from.into(),
        to: to.into(),
        filters: None,
        as_of: as_of.into(),
    };
    reconciled(app, request).await
}

fn tier(figures: &[pb::TierFigures], tier: pb::Tier) -> pb::TierFigures {
    figures
        .iter()
        .find(|t| t.tier() == tier)
        .cloned()
        .expect("every tier is reported")
}

fn killed(figures: &pb::TierFigures) -> (u64, Option<u64>) {
    let killed = figures.killed.unwrap();
    (killed.min, killed.max)
}

fn unami(
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
    state(&app, coalition_cumulative(603, "2017-05-31", "2017-07-06")).await;
    let latest = state(&app, coalition_cumulative(624, "2017-06-30", "2017-08-04")).await;
    state(
        &app,
        pb::Statement {
            source_id: "airwars".into(),
            count: Some(pb::CountRange {
                min: 4354,
                max: Some(4354),
            }),
            qualifier: pb::Qualifier::Approximately.into(),
            period_from: "2014-06-01".into(),
            ..coalition_cumulative(0, "2017-07-31", "2017-08-03")
        },
    )
    .await;
    state(
        &app,
        unami(
            pb::Measure::KilledOrInjured,
            pb::Qualifier::MoreThan,
            8000,
            "2016-10-17",
            "2017-07-10",
            "Mosul",
        ),
    )
    .await;
    state(
        &app,
        unami(
            pb::Measure::Killed,
            pb::Qualifier::AtLeast,
            173,
            "2017-06-01",
            "2017-06-30",
            "Raqqa",
        ),
    )
    .await;

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
    join_all(carried.iter().map(|i| {
        assess(
            &app,
            assessment("cjtf-oir", &i.id, pb::Verdict::Open, None, "2017-05-20"),
        )
    }))
    .await;
    join_all(received.iter().map(|i| {
        assess(
            &app,
            assessment("cjtf-oir", &i.id, pb::Verdict::Open, None, "2017-06-12"),
        )
    }))
    .await;
    // June's completions: 7 of the new reports credible with 3 deaths each (21 in all), 121 carried
    // reports non-credible, and 4 duplicates of the first carried report.
    let deaths = [3, 3, 3, 3, 3, 3, 3];
    join_all(received.iter().zip(deaths).map(|(i, d)| {
        assess(
            &app,
            assessment(
                "cjtf-oir",
                &i.id,
                pb::Verdict::Credible,
                Some((d, Some(d))),
                "2017-06-28",
            ),
        )
    }))
    .await;
    join_all(carried[1..122].iter().map(|i| {
        assess(
            &app,
            assessment(
                "cjtf-oir",
                &i.id,
                pb::Verdict::NotCredible,
                None,
                "2017-06-29",
            ),
        )
    }))
    .await;
    join_all(carried[122..126].iter().map(|i| {
        assess(
            &app,
            pb::Assessment {
                duplicate_of: Some(carried[0].id.clone()),
                ..assessment(
                    "cjtf-oir",
                    &i.id,
                    pb::Verdict::Duplicate,
                    None,
                    "2017-06-29",
                )
            },
        )
    }))
    .await;

    let flow = app
        .figures()
        .get_assessment_flow(pb::GetAssessmentFlowRequest {
            source_id: "cjtf-oir".into(),
            from: "2017-06-01".into(),
            to: "2017-06-30".into(),
        })
        .await
        .unwrap()
        .into_inner();
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
        .statements()
        .get_statement_revisions(pb::GetStatementRevisionsRequest {
            statement_id: latest.id,
        })
        .await
        .unwrap()
        .into_inner()
        .revisions;
    assert_eq!(revisions.last().unwrap().min_delta, Some(21));

    let june = figures(&app, "2017-06-01", "2017-06-30", "").await;
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
        mosul.own_established.is_none(),
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
    assess(
        &app,
        assessment(
            "airwars",
            &inside.id,
            pb::Verdict::Fair,
            Some((3, Some(5))),
            "2024-01-01",
        ),
    )
    .await;
    assess(
        &app,
        assessment(
            "airwars",
            &boundary.id,
            pb::Verdict::Fair,
            Some((2, Some(4))),
            "2024-01-01",
        ),
    )
    .await;
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
    assess(
        &app,
        assessment(
            "cjtf-oir",
            &report.id,
            pb::Verdict::Open,
            None,
            "2017-06-15",
        ),
    )
    .await;
    assess(
        &app,
        assessment(
            "cjtf-oir",
            &report.id,
            pb::Verdict::Credible,
            Some((4, Some(4))),
            "2017-08-04",
        ),
    )
    .await;
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
    assess(
        &app,
        assessment(
            "airwars",
            &monitor.id,
            pb::Verdict::Confirmed,
            Some((4, Some(8))),
            "2024-01-01",
        ),
    )
    .await;
    assess(
        &app,
        assessment(
            "cjtf-oir",
            &military.id,
            pb::Verdict::Credible,
            Some((2, Some(3))),
            "2017-08-04",
        ),
    )
    .await;
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
    assess(
        &app,
        assessment(
            "airwars",
            &disputed.id,
            pb::Verdict::Fair,
            Some((1, Some(3))),
            "2024-01-01",
        ),
    )
    .await;
    assess(
        &app,
        assessment(
            "cjtf-oir",
            &disputed.id,
            pb::Verdict::NotCredible,
            None,
            "2017-06-30",
        ),
    )
    .await;
    assess(
        &app,
        assessment(
            "airwars",
            &unassessed.id,
            pb::Verdict::Fair,
            Some((2, Some(2))),
            "2024-01-01",
        ),
    )
    .await;
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
    assess(
        &app,
        assessment(
            "airwars",
            &spanning.id,
            pb::Verdict::Fair,
            Some((4, Some(4))),
            "2024-01-01",
        ),
    )
    .await;
    let series = app
        .figures()
        .get_figure_series(pb::GetFigureSeriesRequest {
            from: "2017-06-15".into(),
            to: "2017-07-31".into(),
            filters: None,
            as_of: String::new(),
            granularity: pb::Granularity::Month.into(),
        })
        .await
        .unwrap()
        .into_inner()
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
        .figures()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_sends_the_figures_then_each_change_and_nothing_when_nothing_changed() {
    use std::time::Duration;

    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let report = record_incident(&app, incident("airwars", "CS1", "2017-06-10")).await;
    let mut stream = app
        .figures()
        .watch_figures(pb::WatchFiguresRequest {
            from: "2017-06-01".into(),
            to: "2017-06-30".into(),
            filters: None,
        })
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap().figures.unwrap();
    assert_eq!(
        tier(&first.tiers, pb::Tier::Likely).counted.unwrap().inside,
        0
    );

    assess(
        &app,
        assessment(
            "airwars",
            &report.id,
            pb::Verdict::Fair,
            Some((6, Some(6))),
            "2024-01-01",
        ),
    )
    .await;
    let update = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("an update within 5 s")
        .unwrap()
        .unwrap()
        .figures
        .unwrap();
    assert_eq!(killed(&tier(&update.tiers, pb::Tier::Likely)), (6, Some(6)));

    // A write that changes nothing in June's figures sends nothing.
    record_incident(&app, incident("airwars", "CS-1999", "1999-01-01")).await;
    let quiet = tokio::time::timeout(Duration::from_millis(2500), stream.message()).await;
    assert!(
        quiet.is_err(),
        "a message arrived although the figures did not change: {quiet:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_sends_at_most_once_a_second() {
    use std::time::{Duration, Instant};

    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let mut stream = app
        .figures()
        .watch_figures(pb::WatchFiguresRequest {
            from: "2017-06-01".into(),
            to: "2017-06-30".into(),
            filters: None,
        })
        .await
        .unwrap()
        .into_inner();
    stream.message().await.unwrap().unwrap();
    let mut arrivals = Vec::new();
    for n in 1..=3 {
        let report =
            record_incident(&app, incident("airwars", &format!("CS{n}"), "2017-06-10")).await;
        assess(
            &app,
            assessment(
                "airwars",
                &report.id,
                pb::Verdict::Fair,
                Some((n, Some(n))),
                "2024-01-01",
            ),
        )
        .await;
        tokio::time::timeout(Duration::from_secs(5), stream.message())
            .await
            .expect("an update within 5 s")
            .unwrap()
            .unwrap();
        arrivals.push(Instant::now());
    }
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(900),
            "two updates {gap:?} apart"
        );
    }
}

/// Notifications on the change feed within `wait` of the last one.
async fn notifications_within(
    listener: &mut diesel_async::AsyncPgConnection,
    wait: std::time::Duration,
) -> usize {
    use futures::StreamExt;

    let mut stream = std::pin::pin!(listener.notifications_stream());
    let mut seen = 0;
    while let Ok(Some(notification)) = tokio::time::timeout(wait, stream.next()).await {
        notification.expect("a notification");
        seen += 1;
    }
    seen
}

/// A server on a database of its own, with the seed article's sources, and the database's url, for
/// the tests that look into the database too.
async fn app_and_database() -> (TestApp, secrecy::SecretString) {
    let settings = civcas_tests::fresh_database_settings().await;
    let url = settings.database.url.clone().expect("a database url");
    let app = civcas_tests::spawn_app_with(settings).await;
    register_seed_sources(&app).await;
    (app, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_writes_that_store_something_notify_the_watchers() {
    use std::time::Duration;

    use diesel_async::SimpleAsyncConnection;

    let (app, url) = app_and_database().await;
    let report = record_incident(&app, incident("airwars", "CS1", "2017-06-10")).await;
    let mut listener = civcas_tests::db::connect(&url).await;
    listener
        .batch_execute(&format!("LISTEN {}", civcas_persistence::changes::CHANNEL))
        .await
        .unwrap();
    let write = || {
        assessment(
            "airwars",
            &report.id,
            pb::Verdict::Fair,
            Some((6, Some(6))),
            "2024-01-01",
        )
    };
    let quiet = Duration::from_millis(800);

    assess(&app, write()).await;
    assert_eq!(notifications_within(&mut listener, quiet).await, 1);

    // The same assessment again, and the same incident again: nothing stored, no one told.
    assess(&app, write()).await;
    record_incident(&app, incident("airwars", "CS1", "2017-06-10")).await;
    assert_eq!(notifications_within(&mut listener, quiet).await, 0);

    // A new verdict is stored, and told.
    assess(
        &app,
        assessment("airwars", &report.id, pb::Verdict::Weak, None, "2024-02-01"),
    )
    .await;
    assert_eq!(notifications_within(&mut listener, quiet).await, 1);

    // A call that creates its incident is told once; the same call again stores nothing.
    let creating = || pb::RecordAssessmentRequest {
        assessment: Some(assessment(
            "airwars",
            "",
            pb::Verdict::Fair,
            None,
            "2024-03-01",
        )),
        incident: Some(incident("airwars", "CS2", "2017-06-11")),
        request_id: String::new(),
    };
    for (call, told) in [(creating(), 1), (creating(), 0)] {
        app.assessments().record_assessment(call).await.unwrap();
        assert_eq!(notifications_within(&mut listener, quiet).await, told);
    }
}

/// Waits until the server's background refresh has taken in every committed write.
async fn derived_caught_up(url: &secrecy::SecretString) {
    use diesel::QueryableByName;
    use diesel::sql_types::BigInt;
    use diesel_async::RunQueryDsl;

    #[derive(QueryableByName)]
    struct Pending {
        #[diesel(sql_type = BigInt)]
        pending: i64,
    }
    let mut conn = civcas_tests::db::connect(url).await;
    for _ in 0..100 {
        let row: Pending = diesel::sql_query("SELECT count(*) AS pending FROM derived.pending")
            .get_result(&mut conn)
            .await
            .unwrap();
        if row.pending == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the derived figures did not catch up within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_derived_figures_follow_writes_and_a_change_of_belligerent() {
    let (app, url) = app_and_database().await;
    let report = record_incident(&app, incident("airwars", "CS1", "2017-06-12")).await;
    assess(
        &app,
        assessment(
            "airwars",
            &report.id,
            pb::Verdict::Fair,
            Some((1, Some(3))),
            "2024-01-01",
        ),
    )
    .await;
    // The Coalition speaks for the coalition, to which the incident is attributed: a dispute.
    assess(
        &app,
        assessment(
            "cjtf-oir",
            &report.id,
            pb::Verdict::NotCredible,
            None,
            "2017-06-30",
        ),
    )
    .await;
    derived_caught_up(&url).await;
    // No as_of reads the derived figures; an as_of after every write computes them in full.
    let derived = figures(&app, "2017-06-01", "2017-06-30", "").await;
    assert_eq!(
        derived,
        figures(&app, "2017-06-01", "2017-06-30", "2030-01-01").await
    );
    assert_eq!(
        derived.disputed.unwrap().cluster_ids,
        std::slice::from_ref(&report.id)
    );

    // Once the Coalition speaks for another party, its rejection no longer disputes the incident.
    app.sources()
        .update_source(pb::UpdateSourceRequest {
            source: Some(pb::Source {
                id: "cjtf-oir".into(),
                belligerent: Some("russia".into()),
                ..Default::default()
            }),
            update_mask: Some(civcas_proto::well_known::FieldMask {
                paths: vec!["belligerent".into()],
            }),
            request_id: String::new(),
        })
        .await
        .expect("the source updates");
    derived_caught_up(&url).await;
    let derived = figures(&app, "2017-06-01", "2017-06-30", "").await;
    assert_eq!(
        derived,
        figures(&app, "2017-06-01", "2017-06-30", "2030-01-01").await
    );
    assert!(derived.disputed.unwrap().cluster_ids.is_empty());
}

/// How many answers the server found each of these ways so far, from one scrape of
/// `civcas_derived_answers_total`.
async fn answers_found<const N: usize>(app: &TestApp, outcomes: [&str; N]) -> [Option<f64>; N] {
    let text = app.scrape_metrics().await;
    outcomes.map(|outcome| {
        metric_sample(
            &text,
            &format!("civcas_derived_answers_total{{outcome=\"{outcome}\"}}"),
        )
    })
}

/// How the server found its answers of the present so far: (read, kept, held).
async fn derived_answers(app: &TestApp) -> (Option<f64>, Option<f64>, Option<f64>) {
    let [read, kept, held] = answers_found(app, ["read", "kept", "held"]).await;
    (read, kept, held)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_of_the_present_is_read_once_per_version_and_shared() {
    let (app, url) = app_and_database().await;
    let report = record_incident(&app, incident("airwars", "CS1", "2017-06-12")).await;
    let fair = |killed| {
        assessment(
            "airwars",
            &report.id,
            pb::Verdict::Fair,
            Some((killed, Some(killed))),
            "2024-01-01",
        )
    };
    assess(&app, fair(2)).await;
    derived_caught_up(&url).await;

    // Sixteen callers at once, then one more: one reading between them.
    let asked = join_all((0..16).map(|_| figures(&app, "2017-06-01", "2017-06-30", ""))).await;
    let again = figures(&app, "2017-06-01", "2017-06-30", "").await;
    let full = figures(&app, "2017-06-01", "2017-06-30", "2030-01-01").await;
    assert!(asked.iter().all(|answer| *answer == full), "{asked:?}");
    assert_eq!(again, full);
    assert_eq!(
        derived_answers(&app).await,
        (Some(1.0), Some(16.0), Some(0.0))
    );

    // A write the refresh has not taken (the test holds the refresher's lock): the kept answer is
    // not served, and the full computation answers.
    use diesel_async::RunQueryDsl;
    let mut refresher_lock = civcas_tests::db::connect(&url).await;
    diesel::sql_query("SELECT pg_advisory_lock(109304609006962)") // "civder", derived.rs
        .execute(&mut refresher_lock)
        .await
        .unwrap();
    assess(
        &app,
        pb::Assessment {
            assessed_on: "2024-02-01".into(),
            ..fair(5)
        },
    )
    .await;
    let pending = figures(&app, "2017-06-01", "2017-06-30", "").await;
    assert_ne!(pending, full);
    assert_eq!(
        pending,
        figures(&app, "2017-06-01", "2017-06-30", "2030-01-01").await
    );
    assert_eq!(
        derived_answers(&app).await,
        (Some(1.0), Some(16.0), Some(0.0))
    );

    // Once the refresh has taken it, the next answer is found anew, and agrees: read again, or
    // computed from the figures held in memory, if the server had read them by the refresh, which
    // then moved them on.
    drop(refresher_lock);
    derived_caught_up(&url).await;
    let after = figures(&app, "2017-06-01", "2017-06-30", "").await;
    assert_eq!(after, pending);
    let (read, kept, held) = derived_answers(&app).await;
    assert_eq!(kept, Some(16.0));
    assert_eq!(read.unwrap_or_default() + held.unwrap_or_default(), 2.0);
}

/// June 2017 in `countries`, as of `as_of` (none when empty).
async fn figures_in(app: &TestApp, countries: &[&str], as_of: &str) -> pb::ReconciledFigures {
    let filters = pb::FigureFilters {
        countries: countries.iter().map(|c| (*c).to_owned()).collect(),
        ..Default::default()
    };
    let request = pb::GetReconciledFiguresRequest {
        from: "2017-06-01".into(),
        to: "2017-06-30".into(),
        filters: Some(filters),
        as_of: as_of.into(),
    };
    reconciled(app, request).await
}

/// How many answers with a filter or an `as_of` the server found kept so far.
async fn kept_in_full(app: &TestApp) -> Option<f64> {
    let [kept] = answers_found(app, ["kept_in_full"]).await;
    kept
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_with_a_filter_is_computed_once_per_version_and_kept() {
    let (app, url) = app_and_database().await;
    let report = record_incident(&app, incident("airwars", "CS1", "2017-06-12")).await;
    let fair = |killed, assessed_on: &str| {
        assessment(
            "airwars",
            &report.id,
            pb::Verdict::Fair,
            Some((killed, Some(killed))),
            assessed_on,
        )
    };
    assess(&app, fair(2, "2024-01-01")).await;
    derived_caught_up(&url).await;
    let likely = |figures: &pb::ReconciledFigures| killed(&tier(&figures.tiers, pb::Tier::Likely));

    // Sixteen callers at once, then one more: one computation between them. Another filter, or
    // another as_of, is another query.
    let asked = join_all((0..16).map(|_| figures_in(&app, &["SY"], ""))).await;
    let syria = figures_in(&app, &["SY"], "").await;
    assert!(asked.iter().all(|answer| *answer == syria), "{asked:?}");
    assert_eq!(likely(&syria), (2, Some(2)));
    assert_eq!(kept_in_full(&app).await, Some(16.0));
    let iraq = figures_in(&app, &["IQ"], "").await;
    assert_eq!(likely(&iraq), (0, Some(0)));
    let before = figures_in(&app, &["SY"], "2023-12-31").await;
    assert_eq!(likely(&before), (0, Some(0)));
    assert_eq!(kept_in_full(&app).await, Some(16.0));

    // A write the refresh has not taken (the test holds the refresher's lock): the kept answer is
    // not served, and what is computed meanwhile is not kept.
    use diesel_async::RunQueryDsl;
    let mut refresher_lock = civcas_tests::db::connect(&url).await;
    diesel::sql_query("SELECT pg_advisory_lock(109304609006962)") // "civder", derived.rs
        .execute(&mut refresher_lock)
        .await
        .unwrap();
    assess(&app, fair(5, "2024-02-01")).await;
    let pending = figures_in(&app, &["SY"], "").await;
    assert_eq!(likely(&pending), (5, Some(5)));
    assert_eq!(figures_in(&app, &["SY"], "").await, pending);
    assert_eq!(kept_in_full(&app).await, Some(16.0));

    // Once the refresh has taken it, the answer is computed anew, then kept again.
    drop(refresher_lock);
    derived_caught_up(&url).await;
    assert_eq!(figures_in(&app, &["SY"], "").await, pending);
    assert_eq!(kept_in_full(&app).await, Some(16.0));
    assert_eq!(figures_in(&app, &["SY"], "").await, pending);
    assert_eq!(kept_in_full(&app).await, Some(17.0));

    // The incident moves to Iraq: a change of its columns, which the filter reads.
    let mut moved = incident("airwars", "CS1", "2017-06-12");
    moved.location.as_mut().unwrap().country = "IQ".into();
    moved.location.as_mut().unwrap().admin1 = Some("Nineveh".into());
    moved.location.as_mut().unwrap().locality = Some("Mosul".into());
    record_incident(&app, moved).await;
    derived_caught_up(&url).await;
    assert_eq!(likely(&figures_in(&app, &["SY"], "").await), (0, Some(0)));
    assert_eq!(likely(&figures_in(&app, &["IQ"], "").await), (5, Some(5)));

    // A source registered since marks nothing, and adds nothing to the computation before its first
    // assessment: the answer is still the kept one, and reports on the source too, zero-filled.
    let reported = |figures: &pb::ReconciledFigures| {
        figures
            .sources
            .iter()
            .map(|s| s.source_id.clone())
            .collect::<Vec<_>>()
    };
    let known = reported(&figures_in(&app, &["IQ"], "").await);
    app.sources()
        .register_source(pb::RegisterSourceRequest {
            source: Some(source("ucdp", pb::SourceKind::Academic, None)),
            request_id: String::new(),
        })
        .await
        .expect("the source registers");
    let kept = kept_in_full(&app).await.expect("answers kept");
    let now = reported(&figures_in(&app, &["IQ"], "").await);
    assert_eq!(kept_in_full(&app).await, Some(kept + 1.0));
    assert_eq!(now.len(), known.len() + 1, "{known:?} then {now:?}");
    assert!(now.contains(&"ucdp".to_owned()), "{now:?}");
}

/// Three incidents: CS1 and CS2 a gap of the monitor's, and CS3 disputed, so that every part of an
/// answer has something to show. Returns them in that order.
async fn record_gaps_and_a_dispute(app: &TestApp) -> Vec<pb::Incident> {
    let mut recorded = Vec::new();
    for (reference, day) in [("CS1", "2017-06-12"), ("CS2", "2017-07-03")] {
        let report = record_incident(app, incident("airwars", reference, day)).await;
        assess(
            app,
            assessment(
                "cjtf-oir",
                &report.id,
                pb::Verdict::Credible,
                Some((1, Some(3))),
                "2017-08-01",
            ),
        )
        .await;
        recorded.push(report);
    }
    let report = record_incident(app, incident("airwars", "CS3", "2017-06-20")).await;
    for (source, verdict) in [
        ("airwars", pb::Verdict::Fair),
        ("cjtf-oir", pb::Verdict::NotCredible),
    ] {
        assess(
            app,
            assessment(source, &report.id, verdict, None, "2017-08-01"),
        )
        .await;
    }
    assess(
        app,
        assessment(
            "airwars",
            &report.id,
            pb::Verdict::Fair,
            Some((2, None)),
            "2017-08-02",
        ),
    )
    .await;
    recorded.push(report);
    recorded
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_of_the_present_are_computed_from_the_derived_figures_held_in_memory() {
    let (app, url) = app_and_database().await;
    record_gaps_and_a_dispute(&app).await;
    derived_caught_up(&url).await;

    // The first answer is read from the derived tables and has the server read them into its
    // memory, in the background; each later window is computed from them once they are held.
    let first_day = NaiveDate::from_ymd_opt(2017, 6, 1).unwrap();
    for days in 29..200 {
        let to = (first_day + chrono::Days::new(days)).to_string();
        let answer = figures(&app, "2017-06-01", &to, "").await;
        assert_eq!(answer, figures(&app, "2017-06-01", &to, "2030-01-01").await);
        let (read, _, held) = derived_answers(&app).await;
        assert_eq!(read, Some(1.0), "only the first answer is read");
        if held > Some(0.0) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no answer was computed from the derived figures held in memory");
}

/// How many answers of the present the server computed from the derived figures held in memory
/// with what the pending writes change, and how many in full: (pending, full).
async fn pending_answers(app: &TestApp) -> (Option<f64>, Option<f64>) {
    let [pending, full] = answers_found(app, ["pending", "full"]).await;
    (pending, full)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_take_in_the_writes_pending_for_the_derived_figures_held_in_memory() {
    let (app, url) = app_and_database().await;
    let recorded = record_gaps_and_a_dispute(&app).await;
    derived_caught_up(&url).await;
    // Windows of a month, across two months, and longer than a year (whose listed clusters are
    // found another way), each asked first as the derived figures stand.
    let windows = [
        ("2017-06-01", "2017-06-30"),
        ("2017-06-15", "2017-07-31"),
        ("2016-01-01", "2018-12-31"),
    ];
    let mut before = Vec::new();
    for (from, to) in windows {
        before.push(figures(&app, from, to, "").await);
    }
    // Windows a day longer each, until one is computed from the figures held in memory.
    let first_day = NaiveDate::from_ymd_opt(2017, 6, 1).unwrap();
    for days in 29.. {
        let to = (first_day + chrono::Days::new(days)).to_string();
        figures(&app, "2017-06-01", &to, "").await;
        if derived_answers(&app).await.2 > Some(0.0) {
            break;
        }
        assert!(
            days < 200,
            "no answer was computed from the figures held in memory"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Writes the refresh does not take (the test holds the refresher's lock): CS1 and CS3 linked,
    // which merges a gap into the disputed cluster; a new figure for CS2; a new incident.
    use diesel_async::RunQueryDsl;
    let mut refresher_lock = civcas_tests::db::connect(&url).await;
    diesel::sql_query("SELECT pg_advisory_lock(109304609006962)") // "civder", derived.rs
        .execute(&mut refresher_lock)
        .await
        .unwrap();
    link(&app, &recorded[0], &recorded[2]).await;
    assess(
        &app,
        assessment(
            "cjtf-oir",
            &recorded[1].id,
            pb::Verdict::Credible,
            Some((4, Some(9))),
            "2017-09-01",
        ),
    )
    .await;
    let new = record_incident(&app, incident("airwars", "CS4", "2017-06-25")).await;
    assess(
        &app,
        assessment(
            "airwars",
            &new.id,
            pb::Verdict::Fair,
            Some((1, Some(1))),
            "2017-09-01",
        ),
    )
    .await;
    for ((from, to), before) in windows.into_iter().zip(&before) {
        let answer = figures(&app, from, to, "").await;
        assert_eq!(answer, figures(&app, from, to, "2030-01-01").await);
        assert_ne!(
            &answer, before,
            "the writes changed nothing in {from}..{to}"
        );
    }
    assert_eq!(
        pending_answers(&app).await,
        (Some(windows.len() as f64), Some(0.0))
    );

    // A source registered since the last refresh, whose gaps the derived figures do not list yet:
    // its first assessment pending, the answers are computed in full.
    app.sources()
        .register_source(pb::RegisterSourceRequest {
            source: Some(source("ucdp", pb::SourceKind::Academic, None)),
            request_id: String::new(),
        })
        .await
        .unwrap();
    assess(
        &app,
        assessment("ucdp", &new.id, pb::Verdict::Confirmed, None, "2017-09-02"),
    )
    .await;
    let (from, to) = windows[0];
    let pending = figures(&app, from, to, "").await;
    assert_eq!(pending, figures(&app, from, to, "2030-01-01").await);
    assert_eq!(
        pending_answers(&app).await,
        (Some(windows.len() as f64), Some(1.0))
    );

    // Once the refresh has taken them in, the derived figures agree.
    drop(refresher_lock);
    derived_caught_up(&url).await;
    assert_eq!(figures(&app, from, to, "").await, pending);
}

/// A refresh of many pending incidents, a tenth of those stored or more (as after an import), first
/// brings the planner's statistics of the core tables up to date; a small one does not spend the
/// time, nor does one of a small share of the incidents (as under a stream of writes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_refresh_first_analyzes_the_tables_it_reads() {
    use civcas_persistence::{ANALYZED_REFRESH, ANALYZED_SHARE};
    use diesel::QueryableByName;
    use diesel::sql_types::BigInt;
    use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

    #[derive(QueryableByName)]
    struct Analyzed {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    async fn analyzed(conn: &mut AsyncPgConnection) -> i64 {
        let row: Analyzed = diesel::sql_query(
            "SELECT analyze_count AS count FROM pg_stat_user_tables WHERE relname = 'assessments'",
        )
        .get_result(conn)
        .await
        .unwrap();
        row.count
    }
    async fn mark_pending(conn: &mut AsyncPgConnection, incidents: u64) {
        conn.batch_execute(&format!(
            "INSERT INTO derived.pending SELECT generate_series(1, {incidents})"
        ))
        .await
        .unwrap();
    }

    let (store, url) = civcas_tests::fresh_store().await;
    let mut conn = civcas_tests::db::connect(&url).await;
    let before = analyzed(&mut conn).await;

    let small = ANALYZED_REFRESH - 1;
    mark_pending(&mut conn, small).await;
    assert_eq!(store.refresh_derived().await.unwrap(), Some(small));
    assert_eq!(
        analyzed(&mut conn).await,
        before,
        "a small refresh analyzed"
    );

    mark_pending(&mut conn, ANALYZED_REFRESH).await;
    assert_eq!(
        store.refresh_derived().await.unwrap(),
        Some(ANALYZED_REFRESH)
    );
    assert_eq!(analyzed(&mut conn).await, before + 1);

    // As many pending among more stored incidents than ANALYZED_SHARE of them: a stream of writes,
    // which leaves the statistics describing the tables.
    let stored = ANALYZED_REFRESH * ANALYZED_SHARE * 11 / 10;
    conn.batch_execute(&format!(
        "INSERT INTO incidents (occurred_from, occurred_to, country, location_precision)
         SELECT date '2017-01-01' + n % 365, date '2017-01-01' + n % 365, 'SY', 'country'
         FROM generate_series(1, {stored}) AS n;
         ANALYZE incidents"
    ))
    .await
    .unwrap();
    let between = analyzed(&mut conn).await;
    mark_pending(&mut conn, ANALYZED_REFRESH).await;
    assert_eq!(
        store.refresh_derived().await.unwrap(),
        Some(ANALYZED_REFRESH)
    );
    assert_eq!(
        analyzed(&mut conn).await,
        between,
        "a refresh of a small share of the incidents analyzed"
    );

    // DUPLICATE verdicts the statistics do not know of, as at the end of an import: a refresh as
    // large analyzes, since they join incidents into the clusters it walks.
    conn.batch_execute(
        "INSERT INTO sources (id, display_name, kind) VALUES ('monitor', 'Monitor', 'monitor');
         INSERT INTO assessments (source_id, incident_id, verdict, assessed_on, duplicate_of)
         SELECT 'monitor', n + 1, 'duplicate', date '2017-06-01', n
         FROM generate_series(1, 1000, 2) AS n",
    )
    .await
    .unwrap();
    mark_pending(&mut conn, ANALYZED_REFRESH).await;
    assert!(store.refresh_derived().await.unwrap().is_some());
    assert_eq!(
        analyzed(&mut conn).await,
        between + 1,
        "a refresh planned its walk without the DUPLICATE verdicts"
    );

    // Once analyzed, they no longer make a refresh analyze.
    mark_pending(&mut conn, ANALYZED_REFRESH).await;
    assert_eq!(
        store.refresh_derived().await.unwrap(),
        Some(ANALYZED_REFRESH)
    );
    assert_eq!(analyzed(&mut conn).await, between + 1);

    mark_pending(&mut conn, stored / ANALYZED_SHARE + ANALYZED_REFRESH).await;
    assert!(store.refresh_derived().await.unwrap().is_some());
    assert_eq!(analyzed(&mut conn).await, between + 2);
}

/// A caller behind more pending writes than its answers can take in computes them in full, and has
/// the refresher go at once rather than wait out its pause or the next change announced; it does
/// not have the figures read into memory, which would answer nothing before that refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_behind_many_pending_writes_has_the_refresher_go_at_once() {
    use civcas_domain::DateInterval;
    use civcas_domain::reconcile::{FigureQuery, Filters};
    use civcas_domain::repository::FigureRepository;
    use civcas_persistence::PENDING_HELD;
    use diesel_async::SimpleAsyncConnection;

    let (store, url) = civcas_tests::fresh_store().await;
    let holder = store.keep_derived_held();
    let mut conn = civcas_tests::db::connect(&url).await;
    // A change feed that never moves: on its own, the refresher looks again only every ten seconds.
    let (_feed, changes) = tokio::sync::watch::channel(0);
    conn.batch_execute("INSERT INTO derived.pending VALUES (1)")
        .await
        .unwrap();
    let refresher = store.keep_derived_fresh(changes);
    derived_caught_up(&url).await;

    conn.batch_execute(&format!(
        "INSERT INTO derived.pending SELECT generate_series(1, {})",
        PENDING_HELD + 1
    ))
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let year = DateInterval::new(
        NaiveDate::from_ymd_opt(2017, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2017, 12, 31).unwrap(),
    )
    .unwrap();
    store
        .reconciled_figures(FigureQuery {
            window: year,
            filters: Filters::default(),
            as_of: None,
        })
        .await
        .unwrap();
    assert_eq!(
        store.derived_answer_counts().full,
        1,
        "not computed in full"
    );
    derived_caught_up(&url).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the refresher took {:?} to take in the pending writes",
        started.elapsed()
    );
    refresher.abort();
    holder.abort();
    // Nothing asked for the figures: the latest are not held, and a reading reads them.
    assert!(store.hold_derived().await.unwrap().is_some());
}

/// The database draws a new stamp whenever a version of the derived figures moves, whoever moves it:
/// a refresh by a server older than the stamp adds one to the number alone, and its version must
/// still be told from another history's of the same number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_version_of_the_derived_figures_gets_a_stamp_of_its_own() {
    use diesel::QueryableByName;
    use diesel::sql_types::BigInt;
    use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

    #[derive(Debug, PartialEq, QueryableByName)]
    struct Version {
        #[diesel(sql_type = BigInt)]
        version: i64,
        #[diesel(sql_type = BigInt)]
        stamp: i64,
        #[diesel(sql_type = BigInt)]
        previous_stamp: i64,
    }
    async fn version(conn: &mut AsyncPgConnection) -> Version {
        diesel::sql_query("SELECT version, stamp, previous_stamp FROM derived.version")
            .get_result(conn)
            .await
            .unwrap()
    }

    let (_store, url) = civcas_tests::fresh_store().await;
    let mut conn = civcas_tests::db::connect(&url).await;
    let first = version(&mut conn).await;
    conn.batch_execute("UPDATE derived.version SET version = version + 1")
        .await
        .unwrap();
    let second = version(&mut conn).await;
    assert_eq!(second.version, first.version + 1);
    assert_eq!(second.previous_stamp, first.stamp);
    assert_ne!(second.stamp, first.stamp);

    // An update that leaves the number alone leaves the stamps alone.
    conn.batch_execute("UPDATE derived.version SET version = version")
        .await
        .unwrap();
    assert_eq!(version(&mut conn).await, second);
}
