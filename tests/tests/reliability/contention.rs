//! Many writers at once, and paging while rows arrive.

use std::collections::BTreeSet;

use civcas_proto::v1 as pb;
use civcas_tests::fixtures::{
    assessment, incident, record_incident, register_seed_sources, stored_assessment_refs,
    tagged_write,
};
use civcas_tests::{metric_sample, spawn_app};
use futures::future::join_all;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_writers_lose_nothing_and_duplicate_nothing() {
    const CLIENTS: usize = 32;
    const WRITES_EACH: usize = 40;
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let clients = (0..CLIENTS).map(|client| {
        let app = &app;
        async move {
            let mut assessments = pb::assessment_service_client::AssessmentServiceClient::new(
                civcas_tests::connect(app.addr).await,
            );
            let mut acknowledged = Vec::with_capacity(WRITES_EACH);
            for write in 0..WRITES_EACH {
                let tag = format!("C{client}-W{write}");
                let response = assessments
                    .record_assessment(tagged_write(&tag))
                    .await
                    .expect("every write succeeds")
                    .into_inner();
                assert_eq!(response.outcome(), pb::WriteOutcome::Created, "{tag}");
                acknowledged.push(tag);
            }
            acknowledged
        }
    });
    let acknowledged: Vec<String> = join_all(clients).await.into_iter().flatten().collect();
    let stored = stored_assessment_refs(&app).await;
    let stored_set: BTreeSet<_> = stored.iter().cloned().collect();
    let missing = acknowledged
        .iter()
        .filter(|tag| !stored_set.contains(*tag))
        .count();
    assert_eq!(acknowledged.len(), CLIENTS * WRITES_EACH);
    assert_eq!(
        stored.len(),
        acknowledged.len(),
        "exactly one record per write"
    );
    assert_eq!(stored_set.len(), stored.len(), "no duplicates");
    assert_eq!(missing, 0, "every acknowledged write is stored");
}

fn incident_row(index: u64, tag: &str) -> pb::ImportRow {
    pb::ImportRow {
        index,
        assessment: None,
        incident: tagged_write(tag).incident,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_during_inserts_has_no_duplicates_or_gaps_and_tokens_keep_their_filters() {
    const SEEDED: u64 = 400;
    const PAGE: i32 = 23;
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let rows = (0..SEEDED)
        .map(|i| incident_row(i, &format!("S{i}")))
        .collect();
    app.assessments()
        .import_assessments(tokio_stream::iter(vec![pb::ImportAssessmentsRequest {
            rows,
        }]))
        .await
        .unwrap();
    let mut incidents = app.incidents();
    let seeded: BTreeSet<i64> = civcas_tests::every_page!(
        incidents.list_incidents,
        pb::ListIncidentsRequest {
            page_size: Some(1000),
            ..Default::default()
        },
        incidents
    )
    .iter()
    .map(|i| i.id.parse().unwrap())
    .collect();
    assert_eq!(seeded.len() as u64, SEEDED);

    // A writer inserts incidents for as long as the reader pages.
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let mut writer = app.incidents();
    let inserter = tokio::spawn(async move {
        let mut inserted = 0_u32;
        loop {
            if stopped.try_recv().is_ok() {
                return inserted;
            }
            writer
                .record_incident(pb::RecordIncidentRequest {
                    incident: tagged_write(&format!("N{inserted}")).incident,
                    request_id: String::new(),
                })
                .await
                .unwrap();
            inserted += 1;
        }
    });
    let mut listed: Vec<i64> = Vec::new();
    let mut request = pb::ListIncidentsRequest {
        page_size: Some(PAGE),
        ..Default::default()
    };
    loop {
        let page = app.list_incidents(request.clone()).await.unwrap();
        listed.extend(page.incidents.iter().map(|i| i.id.parse::<i64>().unwrap()));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
        // Give the writer room between pages.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let _ = stop.send(());
    let inserted = inserter.await.unwrap();
    let distinct: BTreeSet<i64> = listed.iter().copied().collect();
    let gaps = seeded.difference(&distinct).count();
    let ordered = listed.windows(2).all(|w| w[0] < w[1]);
    assert_eq!(listed.len(), distinct.len(), "no duplicates");
    assert_eq!(
        gaps, 0,
        "every incident present before paging began is listed"
    );
    assert!(ordered, "pages follow one stable order");
    assert!(inserted > 0, "the writer ran during paging");

    // A token is bound to the filters it was issued with.
    let first = app
        .list_incidents(pb::ListIncidentsRequest {
            page_size: Some(PAGE),
            ..Default::default()
        })
        .await
        .unwrap();
    let err = app
        .list_incidents(pb::ListIncidentsRequest {
            countries: vec!["IQ".into()],
            page_size: Some(PAGE),
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    civcas_tests::status::assert_invalid_field(&err, "page_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_written_together_are_each_answered_as_if_written_alone() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let stored = record_incident(&app, incident("airwars", "S", "2017-06-01")).await;
    let other = record_incident(&app, incident("airwars", "T", "2017-06-02")).await;
    // Incidents of their own for calls that can share a batch with others: every call about S
    // waits for the one before it, so those alone would be batched only by the luck of timing.
    let mut apart = Vec::new();
    for i in 0..16 {
        apart
            .push(record_incident(&app, incident("airwars", &format!("R{i}"), "2017-06-03")).await);
    }
    let earlier = assessment(
        "airwars",
        &stored.id,
        pb::Verdict::Fair,
        Some((2, Some(4))),
        "2024-03-01",
    );
    let about = |assessment: pb::Assessment| pb::RecordAssessmentRequest {
        assessment: Some(assessment),
        incident: None,
        request_id: String::new(),
    };
    let first = app.record_assessment(about(earlier.clone())).await.unwrap();

    // What each call is, and the call. Sent all at once, most are written in batches.
    let mut calls: Vec<(&str, pb::RecordAssessmentRequest)> = Vec::new();
    for i in 0..64 {
        if i % 4 == 0 {
            let of_its_own = assessment(
                "cjtf-oir",
                &apart[i / 4].id,
                pb::Verdict::Credible,
                Some((1, None)),
                "2024-05-01",
            );
            calls.push(("stored apart", about(of_its_own)));
        }
        calls.push((
            "new incident",
            pb::RecordAssessmentRequest {
                incident: Some(incident("airwars", &format!("N{i}"), "2017-07-01")),
                ..about(assessment(
                    "airwars",
                    "",
                    pb::Verdict::Fair,
                    Some((1, Some(3))),
                    "2024-05-01",
                ))
            },
        ));
    }
    for day in 1..=8 {
        let later = assessment(
            "airwars",
            &stored.id,
            pb::Verdict::Fair,
            Some((day, Some(day))),
            &format!("2024-04-0{day}"),
        );
        calls.push(("later day", about(later)));
    }
    for _ in 0..4 {
        calls.push(("repeat", about(earlier.clone())));
    }
    for _ in 0..4 {
        let coalition = assessment(
            "cjtf-oir",
            &stored.id,
            pb::Verdict::NotCredible,
            None,
            "2024-05-02",
        );
        calls.push(("same new", about(coalition)));
    }
    // The same assessment of S by its id and by its reference: one created, one unchanged.
    let unami = assessment(
        "un-unami",
        &stored.id,
        pb::Verdict::Fair,
        Some((3, None)),
        "2024-05-04",
    );
    calls.push(("same new", about(unami.clone())));
    calls.push((
        "same new",
        pb::RecordAssessmentRequest {
            incident: Some(incident("airwars", "S", "2017-06-01")),
            ..about(pb::Assessment {
                incident_id: String::new(),
                ..unami
            })
        },
    ));
    calls.push((
        "unknown source",
        about(assessment(
            "nobody",
            &stored.id,
            pb::Verdict::Fair,
            None,
            "2024-05-03",
        )),
    ));
    let mut both = incident("airwars", "S", "2017-06-01");
    both.references
        .extend(incident("airwars", "T", "2017-06-02").references);
    calls.push((
        "references of two incidents",
        pb::RecordAssessmentRequest {
            incident: Some(both),
            ..about(assessment(
                "airwars",
                "",
                pb::Verdict::Fair,
                None,
                "2024-05-03",
            ))
        },
    ));
    let channels = join_all((0..16).map(|_| civcas_tests::connect(app.addr))).await;
    let answers = join_all(calls.iter().zip(channels.iter().cycle()).map(
        |((_, request), channel)| {
            let mut client =
                pb::assessment_service_client::AssessmentServiceClient::new(channel.clone());
            let request = request.clone();
            async move {
                client
                    .record_assessment(request)
                    .await
                    .map(tonic::Response::into_inner)
            }
        },
    ))
    .await;
    let text = app.scrape_metrics().await;
    let written = |outcome: &str| {
        metric_sample(
            &text,
            &format!("civcas_coalesced_records_total{{outcome=\"{outcome}\"}}"),
        )
    };
    assert!(written("new_incident") > Some(0.0), "{text}");
    assert!(written("batched") > Some(0.0), "{text}");

    let of = |kind: &str| -> Vec<&Result<pb::RecordAssessmentResponse, tonic::Status>> {
        calls
            .iter()
            .zip(&answers)
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, a)| a)
            .collect()
    };
    let created = |answer: &&Result<pb::RecordAssessmentResponse, tonic::Status>| {
        answer.as_ref().expect("the call succeeds").outcome() == pb::WriteOutcome::Created
    };
    let apart_answers = of("stored apart");
    assert!(apart_answers.iter().all(created));
    assert!(apart_answers.iter().all(|a| {
        let a = a.as_ref().unwrap();
        !a.incident_created && a.assessment.as_ref().is_some_and(|s| s.current)
    }));
    let new = of("new incident");
    assert!(new.iter().all(created));
    assert!(new.iter().all(|a| {
        let a = a.as_ref().unwrap();
        a.incident_created && a.assessment.as_ref().is_some_and(|s| s.current)
    }));
    let ids: BTreeSet<_> = new
        .iter()
        .map(|a| a.as_ref().unwrap().assessment.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(ids.len(), new.len());

    // A later day's answer says it is current exactly when no later day was recorded before it.
    let later: Vec<pb::Assessment> = of("later day")
        .into_iter()
        .map(|a| {
            assert!(created(&a));
            a.as_ref().unwrap().assessment.clone().unwrap()
        })
        .collect();
    let at = |a: &pb::Assessment| {
        let t = a.recorded_at.unwrap();
        (t.seconds, t.nanos)
    };
    for a in &later {
        let superseded_before = later
            .iter()
            .any(|b| b.assessed_on > a.assessed_on && at(b) < at(a));
        assert_eq!(a.current, !superseded_before, "{a:?}");
    }

    for repeat in of("repeat") {
        let repeat = repeat.as_ref().expect("the repeat succeeds");
        assert_eq!(repeat.outcome(), pb::WriteOutcome::Unchanged);
        assert_eq!(
            repeat.assessment.as_ref().unwrap().id,
            first.assessment.as_ref().unwrap().id
        );
    }
    let same = of("same new");
    assert_eq!(
        same.iter().filter(|a| created(a)).count(),
        2,
        "one per source"
    );
    let same_ids: BTreeSet<_> = same
        .iter()
        .map(|a| a.as_ref().unwrap().assessment.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(same_ids.len(), 2, "the repeats name the one created");

    // Refused calls get the errors a call alone gets.
    for kind in ["unknown source", "references of two incidents"] {
        let together = of(kind)[0].as_ref().expect_err("refused");
        let request = calls.iter().find(|(k, _)| *k == kind).unwrap().1.clone();
        let alone = app.record_assessment(request).await.expect_err("refused");
        assert_eq!(
            (together.code(), together.message()),
            (alone.code(), alone.message()),
            "{kind}"
        );
    }
    assert!(
        of("references of two incidents")[0]
            .as_ref()
            .unwrap_err()
            .message()
            .contains(&other.id)
    );

    // What is stored: S's current airwars assessment is the last day's; sent again, every call that
    // succeeded stores nothing.
    let current = app
        .list_assessments(pb::ListAssessmentsRequest {
            source_id: "airwars".into(),
            incident_id: stored.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .assessments;
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].assessed_on, "2024-04-08");
    for ((kind, request), answer) in calls.iter().zip(&answers) {
        if answer.is_ok() {
            let again = app.record_assessment(request.clone()).await.unwrap();
            assert_eq!(again.outcome(), pb::WriteOutcome::Unchanged, "{kind}");
        }
    }
}
