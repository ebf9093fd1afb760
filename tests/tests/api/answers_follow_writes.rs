//! Figures follow writes: WatchFigures streams and the change feed, and answers that hold every
//! write acknowledged before them, on one server or two, alone or together.

use std::sync::Arc;

use civcas_proto::v1 as pb;
use civcas_tests::fixtures::{assessment, incident, record_incident, register_seed_sources};
use civcas_tests::{TestApp, spawn_app};
use futures::future::join_all;

use super::figures::{figures, killed, tier};

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

    app.record_assessment(assessment(
        "airwars",
        &report.id,
        pb::Verdict::Fair,
        Some((6, Some(6))),
        "2024-01-01",
    ))
    .await
    .expect("the assessment records");
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
        app.record_assessment(assessment(
            "airwars",
            &report.id,
            pb::Verdict::Fair,
            Some((n, Some(n))),
            "2024-01-01",
        ))
        .await
        .expect("the assessment records");
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

    app.record_assessment(write())
        .await
        .expect("the assessment records");
    assert_eq!(notifications_within(&mut listener, quiet).await, 1);

    // The same assessment again, and the same incident again: nothing stored, no one told.
    app.record_assessment(write())
        .await
        .expect("the assessment records");
    record_incident(&app, incident("airwars", "CS1", "2017-06-10")).await;
    assert_eq!(notifications_within(&mut listener, quiet).await, 0);

    // A new verdict is stored, and told.
    app.record_assessment(assessment(
        "airwars",
        &report.id,
        pb::Verdict::Weak,
        None,
        "2024-02-01",
    ))
    .await
    .expect("the assessment records");
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
        app.record_assessment(call).await.unwrap();
        assert_eq!(notifications_within(&mut listener, quiet).await, told);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_follow_writes_and_a_change_of_belligerent() {
    let (app, _url) = app_and_database().await;
    let report = record_incident(&app, incident("airwars", "CS1", "2017-06-12")).await;
    app.record_assessment(assessment(
        "airwars",
        &report.id,
        pb::Verdict::Fair,
        Some((1, Some(3))),
        "2024-01-01",
    ))
    .await
    .expect("the assessment records");
    // The Coalition speaks for the coalition, to which the incident is attributed: a dispute.
    app.record_assessment(assessment(
        "cjtf-oir",
        &report.id,
        pb::Verdict::NotCredible,
        None,
        "2017-06-30",
    ))
    .await
    .expect("the assessment records");
    let present = figures(&app, "2017-06-01", "2017-06-30", "").await;
    assert_eq!(
        present,
        figures(&app, "2017-06-01", "2017-06-30", "2030-01-01").await
    );
    assert_eq!(
        present.disputed.unwrap().cluster_ids,
        std::slice::from_ref(&report.id)
    );

    // Once the Coalition speaks for another party, its rejection no longer disputes the incident.
    app.update_source(pb::UpdateSourceRequest {
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
    let present = figures(&app, "2017-06-01", "2017-06-30", "").await;
    assert_eq!(
        present,
        figures(&app, "2017-06-01", "2017-06-30", "2030-01-01").await
    );
    assert!(present.disputed.unwrap().cluster_ids.is_empty());
}

/// Two servers on one database: a write acknowledged by one is in the very next answer of the
/// other, with no wait, whatever its filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_server_is_in_the_next_answer_of_another() {
    let settings = civcas_tests::fresh_database_settings().await;
    let writer = civcas_tests::spawn_app_with(settings.clone()).await;
    let reader = civcas_tests::spawn_app_with(settings).await;
    register_seed_sources(&writer).await;
    let syria_coalition = |filtered: bool| pb::GetReconciledFiguresRequest {
        from: "2017-06-01".into(),
        to: "2017-06-30".into(),
        filters: filtered.then(|| pb::FigureFilters {
            countries: vec!["SY".into()],
            attributed_to: vec!["coalition".into()],
            ..Default::default()
        }),
        as_of: String::new(),
    };
    for n in 1..=12u64 {
        let day = format!("2017-06-{n:02}");
        let report = record_incident(&writer, incident("airwars", &format!("CS{n}"), &day)).await;
        let killed = u32::try_from(n).unwrap();
        writer
            .record_assessment(assessment(
                "airwars",
                &report.id,
                pb::Verdict::Fair,
                Some((killed, Some(killed))),
                "2024-01-01",
            ))
            .await
            .expect("the assessment records");
        for filtered in [false, true] {
            let answer = reader
                .reconciled(syria_coalition(filtered))
                .await
                .expect("figures");
            let likely = tier(&answer.tiers, pb::Tier::Likely);
            let context = format!("answer {n}, filtered: {filtered}");
            assert_eq!(likely.counted.map(|c| c.inside), Some(n), "{context}");
            assert_eq!(
                likely.killed.map(|k| k.min),
                Some(n * (n + 1) / 2),
                "{context}"
            );
        }
    }
    writer.stop().await;
    reader.stop().await;
}

/// Answers that come together share catch-ups; each must still hold every write acknowledged before
/// it began. Each writer asks, right after each of its writes, for its own party's figures.
#[tokio::test]
async fn concurrent_answers_each_hold_the_writes_acknowledged_before_them() {
    let settings = civcas_tests::fresh_database_settings().await;
    let writer = Arc::new(civcas_tests::spawn_app_with(settings.clone()).await);
    let reader = Arc::new(civcas_tests::spawn_app_with(settings).await);
    register_seed_sources(&writer).await;
    let tasks = (0..8).map(|k| {
        let (writer, reader) = (writer.clone(), reader.clone());
        tokio::spawn(async move {
            let party = format!("party-{k}");
            for n in 1..=5u64 {
                let day = format!("2017-06-{n:02}");
                let mut report = incident("airwars", &format!("P{k}-{n}"), &day);
                report.attributed_to = vec![party.clone()];
                let report = record_incident(&writer, report).await;
                let verdict = pb::Verdict::Fair;
                writer
                    .record_assessment(assessment(
                        "airwars",
                        &report.id,
                        verdict,
                        None,
                        "2024-01-01",
                    ))
                    .await
                    .expect("the assessment records");
                let answer = reader
                    .reconciled(pb::GetReconciledFiguresRequest {
                        from: "2017-06-01".into(),
                        to: "2017-06-30".into(),
                        filters: Some(pb::FigureFilters {
                            attributed_to: vec![party.clone()],
                            ..Default::default()
                        }),
                        as_of: String::new(),
                    })
                    .await
                    .expect("figures");
                let likely = tier(&answer.tiers, pb::Tier::Likely);
                assert_eq!(
                    likely.counted.map(|c| c.inside),
                    Some(n),
                    "{party}, write {n}"
                );
            }
        })
    });
    for task in join_all(tasks).await {
        task.expect("the writer's answers hold its writes");
    }
    Arc::into_inner(writer).unwrap().stop().await;
    Arc::into_inner(reader).unwrap().stop().await;
}
