//! Many writers at once, and paging while rows arrive.

use std::collections::BTreeSet;
use std::time::Instant;

use civcas_proto::v1 as pb;
use civcas_tests::fixtures::{register_seed_sources, stored_assessment_refs, tagged_write};
use civcas_tests::spawn_app;
use futures::future::join_all;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_writers_lose_nothing_and_duplicate_nothing() {
    const CLIENTS: usize = 32;
    const WRITES_EACH: usize = 40;
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let started = Instant::now();
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
    let took = started.elapsed();
    let stored = stored_assessment_refs(&app).await;
    let stored_set: BTreeSet<_> = stored.iter().cloned().collect();
    let missing = acknowledged
        .iter()
        .filter(|tag| !stored_set.contains(*tag))
        .count();
    eprintln!(
        "[figures] concurrent writers: {CLIENTS} clients × {WRITES_EACH} writes = {} acknowledged in {took:.2?} ({:.0} writes/s); {} stored, {} distinct, {missing} missing",
        acknowledged.len(),
        acknowledged.len() as f64 / took.as_secs_f64(),
        stored.len(),
        stored_set.len(),
    );
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
    let mut pages = 0;
    loop {
        let page = app
            .incidents()
            .list_incidents(request.clone())
            .await
            .unwrap()
            .into_inner();
        pages += 1;
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
    eprintln!(
        "[figures] paging during inserts: {pages} pages of {PAGE}; {} listed ({} seeded, {} new of {inserted} inserted meanwhile); duplicates {}, gaps {gaps}, strictly ordered {ordered}",
        listed.len(),
        seeded.len(),
        distinct.len() - seeded.len(),
        listed.len() - distinct.len(),
    );
    assert_eq!(listed.len(), distinct.len(), "no duplicates");
    assert_eq!(
        gaps, 0,
        "every incident present before paging began is listed"
    );
    assert!(ordered, "pages follow one stable order");
    assert!(inserted > 0, "the writer ran during paging");

    // A token is bound to the filters it was issued with.
    let first = app
        .incidents()
        .list_incidents(pb::ListIncidentsRequest {
            page_size: Some(PAGE),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let err = app
        .incidents()
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
