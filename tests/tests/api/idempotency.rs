use civcas_proto::v1 as pb;
use civcas_tests::fixtures::{assessment, coalition_cumulative, incident, register_seed_sources};
use civcas_tests::spawn_app;
use civcas_tests::status::assert_error;
use futures::future::join_all;
use tonic::{Code, Status};

/// Sends 50 copies of one call at once, and checks that all succeed with the same response.
async fn fifty_at_once<T, F, Fut>(call: F) -> Vec<T>
where
    T: PartialEq + std::fmt::Debug,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let responses: Vec<T> = join_all((0..50).map(|_| call()))
        .await
        .into_iter()
        .map(|r| r.expect("every retry succeeds"))
        .collect();
    assert!(
        responses.iter().all(|r| *r == responses[0]),
        "every retry gets the first response"
    );
    responses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_retries_of_one_request_id_record_one_assessment() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let request = pb::RecordAssessmentRequest {
        assessment: Some(assessment(
            "airwars",
            "",
            pb::Verdict::Fair,
            Some((4, Some(6))),
            "2024-05-01",
        )),
        incident: Some(incident("airwars", "CS2001", "2017-06-20")),
        request_id: "import-42/row-7".into(),
    };
    let responses = fifty_at_once(|| {
        let app = &app;
        let request = request.clone();
        async move { app.record_assessment(request).await }
    })
    .await;
    assert!(responses[0].incident_created);

    let all = app
        .list_assessments(pb::ListAssessmentsRequest {
            include_superseded: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .assessments;
    assert_eq!(all.len(), 1, "exactly one assessment");
    let incidents = app
        .list_incidents(pb::ListIncidentsRequest::default())
        .await
        .unwrap()
        .incidents;
    assert_eq!(incidents.len(), 1, "exactly one incident");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_retries_of_one_request_id_record_one_statement() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let request = pb::RecordStatementRequest {
        statement: Some(coalition_cumulative(624, "2017-06-30", "2017-08-04")),
        request_id: "statement-624".into(),
    };
    fifty_at_once(|| {
        let app = &app;
        let request = request.clone();
        async move { app.record_statement(request).await }
    })
    .await;
    let listed = app
        .list_statements(pb::ListStatementsRequest::default())
        .await
        .unwrap()
        .statements;
    assert_eq!(listed.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_replays_the_first_response_even_after_the_state_changed() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let request = pb::RecordIncidentRequest {
        incident: Some(incident("airwars", "CS5", "2017-06-05")),
        request_id: "incident-cs5".into(),
    };
    let first = app.record_incident(request.clone()).await.unwrap();
    assert_eq!(first.outcome(), pb::WriteOutcome::Created);
    // Without a request id, the same incident is UNCHANGED; the retry still answers CREATED.
    let plain = pb::RecordIncidentRequest {
        request_id: String::new(),
        ..request.clone()
    };
    assert_eq!(
        app.record_incident(plain).await.unwrap().outcome(),
        pb::WriteOutcome::Unchanged
    );
    let retry = app.record_incident(request).await.unwrap();
    assert_eq!(retry, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_request_id_with_another_payload_is_rejected() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    app.record_statement(pb::RecordStatementRequest {
        statement: Some(coalition_cumulative(603, "2017-05-31", "2017-07-06")),
        request_id: "monthly-release".into(),
    })
    .await
    .unwrap();
    let err = app
        .record_statement(pb::RecordStatementRequest {
            statement: Some(coalition_cumulative(624, "2017-06-30", "2017-08-04")),
            request_id: "monthly-release".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(assert_error(&err, Code::AlreadyExists), "REQUEST_ID_REUSED");

    // One id cannot stand for writes of two kinds either.
    let err = app
        .register_source(pb::RegisterSourceRequest {
            source: Some(civcas_tests::fixtures::source(
                "ucdp",
                pb::SourceKind::Academic,
                None,
            )),
            request_id: "monthly-release".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(assert_error(&err, Code::AlreadyExists), "REQUEST_ID_REUSED");
    let listed = app
        .list_statements(pb::ListStatementsRequest::default())
        .await
        .unwrap()
        .statements;
    assert_eq!(listed.len(), 1, "the rejected write stored nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_and_link_writes_replay_their_first_response() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let register = pb::RegisterSourceRequest {
        source: Some(civcas_tests::fixtures::source(
            "ucdp",
            pb::SourceKind::Academic,
            None,
        )),
        request_id: "register-ucdp".into(),
    };
    let first = app.register_source(register.clone()).await.unwrap();
    assert_eq!(app.register_source(register).await.unwrap(), first);

    let update = pb::UpdateSourceRequest {
        source: Some(pb::Source {
            id: "ucdp".into(),
            display_name: "Uppsala Conflict Data Program".into(),
            ..Default::default()
        }),
        update_mask: Some(civcas_proto::well_known::FieldMask {
            paths: vec!["display_name".into()],
        }),
        request_id: "rename-ucdp".into(),
    };
    let updated = app.update_source(update.clone()).await.unwrap();
    assert_eq!(updated.outcome(), pb::WriteOutcome::Updated);
    // Replayed: UPDATED again, although the name is already set.
    assert_eq!(app.update_source(update).await.unwrap(), updated);

    let a = civcas_tests::fixtures::record_incident(&app, incident("airwars", "L1", "2017-06-01"))
        .await;
    let b = civcas_tests::fixtures::record_incident(&app, incident("airwars", "L2", "2017-06-01"))
        .await;
    let link = pb::LinkIncidentsRequest {
        incident_id: a.id.clone(),
        linked_incident_id: b.id.clone(),
        request_id: "link-l1-l2".into(),
    };
    let linked = app.link_incidents(link.clone()).await.unwrap();
    assert_eq!(linked.outcome(), pb::WriteOutcome::Created);
    assert_eq!(app.link_incidents(link).await.unwrap(), linked);
    let unlink = pb::UnlinkIncidentsRequest {
        incident_id: a.id,
        linked_incident_id: b.id,
        request_id: "unlink-l1-l2".into(),
    };
    assert!(app.unlink_incidents(unlink.clone()).await.unwrap().removed);
    // Replayed: still `removed`, as the first answer said.
    assert!(app.unlink_incidents(unlink).await.unwrap().removed);
}
