//! ImportAssessments: batches in one transaction each, bad rows rejected with their index and fields,
//! good rows kept, and a re-run that changes nothing.

use std::collections::BTreeSet;

use civcas_proto::v1 as pb;
use civcas_tests::fixtures::{assessment, incident, register_seed_sources, stored_assessment_refs};
use civcas_tests::{TestApp, spawn_app};

fn row(
    index: u64,
    source: &str,
    external_ref: &str,
    verdict: pb::Verdict,
    killed: (u32, u32),
) -> pb::ImportRow {
    pb::ImportRow {
        index,
        assessment: Some(assessment(
            source,
            "",
            verdict,
            Some((killed.0, Some(killed.1))),
            "2024-01-01",
        )),
        incident: Some(incident("airwars", external_ref, "2017-06-10")),
    }
}

/// A mixed import: 50 new incidents, a second source on one of them, a repeat, an incident alone,
/// and five bad rows.
fn rows() -> Vec<pb::ImportRow> {
    let mut rows: Vec<_> = (1..=50)
        .map(|n| {
            row(
                n,
                "airwars",
                &format!("CS{n}"),
                pb::Verdict::Fair,
                (n as u32, n as u32 + 2),
            )
        })
        .collect();
    rows.push(row(51, "cjtf-oir", "CS1", pb::Verdict::Credible, (1, 1)));
    let mut conflict = row(52, "cjtf-oir", "CS2", pb::Verdict::Credible, (1, 1));
    conflict
        .incident
        .as_mut()
        .unwrap()
        .references
        .push(pb::IncidentReference {
            source_id: "airwars".into(),
            external_ref: "CS3".into(),
        });
    rows.push(conflict);
    rows.push(row(53, "airwars", "CS53", pb::Verdict::Fair, (9, 3)));
    rows.push(row(54, "nobody", "CS54", pb::Verdict::Fair, (1, 1)));
    let mut dangling = row(55, "cjtf-oir", "CS5", pb::Verdict::Duplicate, (0, 0));
    let a = dangling.assessment.as_mut().unwrap();
    a.civilians_killed = None;
    a.duplicate_of = Some("999999".into());
    rows.push(dangling);
    rows.push(row(56, "airwars", "CS1", pb::Verdict::Fair, (1, 3)));
    // An incident no source has assessed yet, and a row with nothing in it.
    rows.push(pb::ImportRow {
        index: 57,
        assessment: None,
        incident: Some(incident("airwars", "CS-ALONE", "2017-06-11")),
    });
    rows.push(pb::ImportRow {
        index: 58,
        assessment: None,
        incident: None,
    });
    rows
}

async fn try_import(
    app: &TestApp,
    batches: Vec<Vec<pb::ImportRow>>,
) -> Result<pb::ImportAssessmentsResponse, tonic::Status> {
    let messages = batches
        .into_iter()
        .map(|rows| pb::ImportAssessmentsRequest { rows });
    app.import_assessments(messages.collect()).await
}

async fn import(app: &TestApp, batches: Vec<Vec<pb::ImportRow>>) -> pb::ImportAssessmentsResponse {
    try_import(app, batches).await.expect("the import runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_keeps_good_rows_rejects_bad_ones_and_changes_nothing_when_run_again() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let all = rows();
    let batches = vec![all[..30].to_vec(), all[30..].to_vec()];

    let first = import(&app, batches.clone()).await;
    // 50 airwars rows and the Coalition's row on CS1 are new; row 56 repeats row 1.
    assert_eq!((first.created, first.unchanged, first.rejected), (51, 1, 5));
    assert_eq!(
        (first.incidents_created, first.incident_rows, first.batches),
        (51, 1, 2)
    );
    let rejected: Vec<_> = first
        .rejections
        .iter()
        .map(|r| (r.index, r.reason.clone()))
        .collect();
    assert_eq!(
        rejected.iter().map(|r| r.0).collect::<Vec<_>>(),
        [52, 53, 54, 55, 58],
        "{rejected:#?}"
    );
    let invalid = &first.rejections[1];
    assert_eq!(
        invalid.field_violations[0].field,
        "assessment.civilians_killed.max"
    );
    assert!(
        first.rejections[0].reason.contains("different incidents"),
        "{rejected:?}"
    );
    assert!(
        first.rejections[2].reason.contains("nobody"),
        "{rejected:?}"
    );
    assert!(
        first.rejections[3].reason.contains("999999"),
        "{rejected:?}"
    );

    let mut client = app.assessments();
    let stored = civcas_tests::every_page!(
        client.list_assessments,
        pb::ListAssessmentsRequest {
            include_superseded: true,
            page_size: Some(1000),
            ..Default::default()
        },
        assessments
    );
    assert_eq!(stored.len(), 51);

    let again = import(&app, batches).await;
    let counts = (
        again.created,
        again.unchanged,
        again.rejected,
        again.incidents_created,
    );
    assert_eq!(counts, (0, 52, 5, 0));
    assert_eq!(
        again.incident_rows, 1,
        "the lone incident is found again, not created"
    );
    let incidents = app
        .list_incidents(pb::ListIncidentsRequest {
            page_size: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap()
        .incidents;
    assert_eq!(
        incidents.len(),
        51,
        "50 assessed incidents and the lone one"
    );
    let stored_again = civcas_tests::every_page!(
        client.list_assessments,
        pb::ListAssessmentsRequest {
            include_superseded: true,
            page_size: Some(1000),
            ..Default::default()
        },
        assessments
    );
    assert_eq!(stored_again, stored, "a second run changed nothing");
}

/// The server receives and checks each message while it writes the one before: a message refused
/// on arrival ends the import with its error, after the batches before it are written whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_refused_on_arrival_ends_the_import_after_the_batches_before_it() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let batch = |first: u64| -> Vec<_> {
        (first..first + 100)
            .map(|n| row(n, "airwars", &format!("ARR{n}"), pb::Verdict::Fair, (1, 2)))
            .collect()
    };
    let refused = try_import(
        &app,
        vec![batch(0), batch(100), vec![pb::ImportRow::default(); 10_001]],
    )
    .await
    .expect_err("a message of 10,001 rows is refused");
    civcas_tests::status::assert_invalid_field(&refused, "rows");

    let stored = stored_assessment_refs(&app).await;
    assert_eq!(stored.len(), 200, "both batches before it are written");
    let written: BTreeSet<String> = stored.into_iter().collect();
    assert_eq!(written, (0..200).map(|n| format!("ARR{n}")).collect());
    let again = import(&app, vec![batch(0), batch(100)]).await;
    assert_eq!((again.created, again.unchanged), (0, 200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_past_one_statements_parameter_limit_is_written_in_one_transaction() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    // 5,000 rows × 12 columns is past PostgreSQL's 65,535 parameters a statement, had each value
    // been a parameter: the batch's statement takes each column as one array.
    let rows: Vec<_> = (1..=5000)
        .map(|n| row(n, "airwars", &format!("BIG{n}"), pb::Verdict::Weak, (1, 2)))
        .collect();
    let imported = import(&app, vec![rows]).await;
    assert_eq!(
        (
            imported.created,
            imported.incidents_created,
            imported.rejected
        ),
        (5000, 5000, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_states_each_incident_source_and_day_once_so_a_rerun_changes_nothing() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    // Two different verdicts for one incident, source and day in one batch.
    let batch = vec![
        row(1, "airwars", "CS1", pb::Verdict::Fair, (1, 3)),
        row(2, "airwars", "CS1", pb::Verdict::Weak, (1, 3)),
    ];
    let first = import(&app, vec![batch.clone()]).await;
    assert_eq!((first.created, first.rejected), (1, 1));
    assert_eq!(
        first.rejections[0].index, 1,
        "the earlier row is superseded by the later one"
    );
    assert!(
        first.rejections[0].reason.contains("same incident"),
        "{:?}",
        first.rejections
    );
    let again = import(&app, vec![batch]).await;
    assert_eq!(
        (again.created, again.unchanged, again.rejected),
        (0, 1, 1),
        "a re-run writes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_row_writes_none_of_its_references() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let stored =
        civcas_tests::fixtures::record_incident(&app, incident("airwars", "CS1", "2017-06-10"))
            .await;
    // CS1 is stored; NEW9 is new. The row names its own incident as the one it duplicates: refused.
    let mut refused = row(1, "cjtf-oir", "CS1", pb::Verdict::Duplicate, (0, 0));
    refused
        .incident
        .as_mut()
        .unwrap()
        .references
        .push(pb::IncidentReference {
            source_id: "airwars".into(),
            external_ref: "NEW9".into(),
        });
    let a = refused.assessment.as_mut().unwrap();
    a.civilians_killed = None;
    a.duplicate_of = Some(stored.id.clone());
    let result = import(&app, vec![vec![refused]]).await;
    assert_eq!(result.rejected, 1);
    assert_eq!(
        result.rejections[0].field_violations[0].field,
        "assessment.duplicate_of"
    );
    // NEW9 was not attached to CS1's incident: it still names nothing, so it makes a new incident.
    let fresh = import(
        &app,
        vec![vec![row(2, "airwars", "NEW9", pb::Verdict::Weak, (1, 1))]],
    )
    .await;
    assert_eq!(fresh.incidents_created, 1);
}

/// What an incident reads back as, without what the server assigns, in a stable order.
fn as_given(mut incident: pb::Incident) -> pb::Incident {
    incident.id.clear();
    incident.create_time = None;
    incident.update_time = None;
    incident.linked_incident_ids.clear();
    incident
        .references
        .sort_by(|a, b| (&a.source_id, &a.external_ref).cmp(&(&b.source_id, &b.external_ref)));
    incident.attributed_to.sort();
    incident
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_created_by_a_batch_read_back_exactly_as_given() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    // Every field set, two references and two parties, over three days.
    let mut full = incident("airwars", "FULL1", "2017-06-10");
    full.occurred_to = "2017-06-12".into();
    full.references.push(pb::IncidentReference {
        source_id: "cjtf-oir".into(),
        external_ref: "C-17".into(),
    });
    full.attributed_to.push("russia".into());
    // Only what is required.
    let mut bare = incident("airwars", "BARE1", "2017-06-11");
    bare.location = Some(pb::Location {
        country: "IQ".into(),
        precision: pb::LocationPrecision::Country.into(),
        ..Default::default()
    });
    bare.attributed_to.clear();
    // A third through a RecordAssessment call, which creates its incident with one statement
    // (the store has seen the sources by then).
    let mut recorded = incident("airwars", "REC1", "2017-06-13");
    recorded.location.as_mut().unwrap().latitude = Some(-12.5);
    recorded.location.as_mut().unwrap().longitude = Some(44.25);

    let mut assessed = row(1, "airwars", "", pb::Verdict::Fair, (1, 3));
    assessed.incident = Some(full.clone());
    let alone = pb::ImportRow {
        index: 2,
        assessment: None,
        incident: Some(bare.clone()),
    };
    let imported = import(&app, vec![vec![assessed, alone]]).await;
    assert_eq!((imported.incidents_created, imported.rejected), (2, 0));
    let answer = app
        .record_assessment(pb::RecordAssessmentRequest {
            assessment: row(3, "airwars", "", pb::Verdict::Fair, (1, 3)).assessment,
            incident: Some(recorded.clone()),
            request_id: String::new(),
        })
        .await
        .expect("the call records");
    assert!(answer.incident_created);

    let listed = app
        .list_incidents(pb::ListIncidentsRequest::default())
        .await
        .expect("incidents list")
        .incidents;
    assert_eq!(
        listed.last().map(|i| i.id.clone()),
        Some(answer.assessment.unwrap().incident_id),
        "the call's answer names the incident it created"
    );
    assert_eq!(
        listed.into_iter().map(as_given).collect::<Vec<_>>(),
        [full, bare, recorded].map(as_given),
    );
}
