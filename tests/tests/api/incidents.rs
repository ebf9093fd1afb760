use civcas_proto::v1 as pb;
use civcas_tests::fixtures::{incident, record_incident, register_seed_sources};
use civcas_tests::spawn_app;
use civcas_tests::status::assert_error;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_incident_upserts_by_reference() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;

    let first = app
        .record_incident(incident("airwars", "CS1942", "2017-06-12"))
        .await
        .unwrap();
    assert_eq!(first.outcome(), pb::WriteOutcome::Created);
    let stored = first.incident.unwrap();
    assert_eq!(stored.occurred_from, "2017-06-12");
    assert_eq!(stored.location.as_ref().unwrap().country, "SY");
    assert_eq!(stored.attributed_to, ["coalition"]);

    let again = app
        .record_incident(incident("airwars", "CS1942", "2017-06-12"))
        .await
        .unwrap();
    assert_eq!(again.outcome(), pb::WriteOutcome::Unchanged);
    assert_eq!(again.incident.unwrap().id, stored.id);

    // New attributes and a new alias from another source update the same incident.
    let mut revised = incident("airwars", "CS1942", "2017-06-12");
    revised.occurred_to = "2017-06-13".into();
    revised.references.push(pb::IncidentReference {
        source_id: "cjtf-oir".into(),
        external_ref: "2017-0612-RAQ".into(),
    });
    let updated = app.record_incident(revised).await.unwrap();
    assert_eq!(updated.outcome(), pb::WriteOutcome::Updated);
    let updated = updated.incident.unwrap();
    assert_eq!(updated.id, stored.id);
    assert_eq!(updated.occurred_to, "2017-06-13");
    assert_eq!(updated.references.len(), 2);

    let got = app
        .get_incident(pb::GetIncidentRequest {
            incident_id: stored.id.clone(),
        })
        .await
        .unwrap()
        .incident
        .unwrap();
    assert_eq!(got, updated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_naming_two_incidents_fail_the_precondition() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    record_incident(&app, incident("airwars", "CS1", "2017-06-01")).await;
    record_incident(&app, incident("airwars", "CS2", "2017-06-02")).await;
    let mut both = incident("airwars", "CS1", "2017-06-01");
    both.references.push(pb::IncidentReference {
        source_id: "airwars".into(),
        external_ref: "CS2".into(),
    });
    let err = app.record_incident(both).await.unwrap_err();
    assert_eq!(
        assert_error(&err, Code::FailedPrecondition),
        "REFERENCES_CONFLICT"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_to_an_unregistered_source_is_not_found() {
    let app = spawn_app().await;
    let err = app
        .record_incident(incident("airwars", "CS1", "2017-06-01"))
        .await
        .unwrap_err();
    assert_eq!(assert_error(&err, Code::NotFound), "SOURCE_NOT_FOUND");
    let err = app
        .get_incident(pb::GetIncidentRequest {
            incident_id: "999".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(assert_error(&err, Code::NotFound), "INCIDENT_NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_incidents_filters_by_window_country_and_source_and_pages() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let mut june = Vec::new();
    for day in 1..=5 {
        let recorded = record_incident(
            &app,
            incident("airwars", &format!("CS{day}"), &format!("2017-06-0{day}")),
        )
        .await;
        june.push(recorded.id);
    }
    record_incident(&app, incident("airwars", "CS-JULY", "2017-07-15")).await;
    let mut iraq = incident("un-unami", "MOSUL-1", "2017-06-03");
    iraq.location.as_mut().unwrap().country = "IQ".into();
    record_incident(&app, iraq).await;

    let mut client = app.incidents();
    let filters = pb::ListIncidentsRequest {
        occurred_from: "2017-06-01".into(),
        occurred_to: "2017-06-30".into(),
        countries: vec!["SY".into()],
        source_id: "airwars".into(),
        page_size: Some(2),
        page_token: String::new(),
    };
    let pages: Vec<_> =
        civcas_tests::every_page!(client.list_incidents, filters.clone(), incidents);
    let seen: Vec<_> = pages.into_iter().map(|i| i.id).collect();
    assert_eq!(seen, june);

    // A token is bound to the filters it was issued for.
    let first = app.list_incidents(filters.clone()).await.unwrap();
    let err = app
        .list_incidents(pb::ListIncidentsRequest {
            countries: vec!["IQ".into()],
            page_token: first.next_page_token,
            ..filters
        })
        .await
        .unwrap_err();
    civcas_tests::status::assert_invalid_field(&err, "page_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_and_unlink_incidents() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let a = record_incident(&app, incident("airwars", "CS1", "2017-06-01")).await;
    let b = record_incident(&app, incident("cjtf-oir", "R-17", "2017-06-01")).await;
    let link = pb::LinkIncidentsRequest {
        incident_id: b.id.clone(),
        linked_incident_id: a.id.clone(),
        request_id: String::new(),
    };
    let linked = app.link_incidents(link.clone()).await.unwrap();
    assert_eq!(linked.outcome(), pb::WriteOutcome::Created);
    let stored = linked.link.unwrap();
    assert_eq!(
        (
            stored.incident_id.as_str(),
            stored.linked_incident_id.as_str()
        ),
        (a.id.as_str(), b.id.as_str())
    );
    let again = app.link_incidents(link).await.unwrap();
    assert_eq!(again.outcome(), pb::WriteOutcome::Unchanged);

    let got = app
        .get_incident(pb::GetIncidentRequest {
            incident_id: a.id.clone(),
        })
        .await
        .unwrap()
        .incident
        .unwrap();
    assert_eq!(got.linked_incident_ids, std::slice::from_ref(&b.id));

    let unlink = pb::UnlinkIncidentsRequest {
        incident_id: a.id.clone(),
        linked_incident_id: b.id.clone(),
        request_id: String::new(),
    };
    assert!(app.unlink_incidents(unlink.clone()).await.unwrap().removed);
    assert!(!app.unlink_incidents(unlink).await.unwrap().removed);

    let err = app
        .link_incidents(pb::LinkIncidentsRequest {
            incident_id: a.id.clone(),
            linked_incident_id: "424242".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(assert_error(&err, Code::NotFound), "INCIDENT_NOT_FOUND");
    let info = tonic_types::StatusExt::get_error_details(&err)
        .error_info()
        .cloned()
        .unwrap();
    assert_eq!(info.metadata["field"], "linked_incident_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_token_of_one_list_is_refused_by_another() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    for n in 0..3 {
        app.record_statement(pb::RecordStatementRequest {
            statement: Some(civcas_tests::fixtures::coalition_cumulative(
                600 + n,
                "2017-05-31",
                &format!("2017-07-0{}", n + 1),
            )),
            request_id: String::new(),
        })
        .await
        .unwrap();
    }
    let statements_page = app
        .list_statements(pb::ListStatementsRequest {
            page_size: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!statements_page.next_page_token.is_empty());
    let err = app
        .list_incidents(pb::ListIncidentsRequest {
            page_token: statements_page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    civcas_tests::status::assert_invalid_field(&err, "page_token");
}
