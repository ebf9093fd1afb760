//! The database dying under load, and calls that outlive their deadline.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use civcas_persistence::embedded::LocalCluster;
use civcas_proto::v1 as pb;
use civcas_tests::db::{self, wait_for_waiting};
use civcas_tests::fixtures::{register_seed_sources, stored_assessment_refs, tagged_write};
use civcas_tests::status::assert_error;
use civcas_tests::{fresh_database_settings, spawn_app_with};
use tokio::sync::Mutex;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// What a client waits for each call, at most.
const DEADLINE: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
struct Outcomes {
    acknowledged: Vec<String>,
    /// Writes that failed, with their code and how long the failure took.
    failed: Vec<(String, Code, Duration)>,
    first_success_after_restart: Option<Instant>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_killed_mid_load_costs_no_acknowledged_write_and_no_duplicate() {
    const WRITERS: usize = 8;
    let mut cluster = LocalCluster::start_temporary().await.unwrap();
    cluster.ensure_database("outage").await.unwrap();
    let mut settings = fresh_database_settings().await;
    settings.database.url = Some(cluster.url("outage"));
    settings.database.acquire_timeout_ms = 1000;
    settings.database.connect_timeout_ms = 1000;
    let app = spawn_app_with(settings).await;
    register_seed_sources(&app).await;

    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let restarted = Arc::new(Mutex::new(None::<Instant>));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let mut client = app.assessments();
            let (outcomes, restarted, stop) = (outcomes.clone(), restarted.clone(), stop.clone());
            tokio::spawn(async move {
                let mut write = 0;
                while !stop.load(Ordering::Acquire) {
                    let tag = format!("K{writer}-{write}");
                    write += 1;
                    let mut request = tonic::Request::new(tagged_write(&tag));
                    request.set_timeout(DEADLINE);
                    let started = Instant::now();
                    let result = client.record_assessment(request).await;
                    let mut outcomes = outcomes.lock().await;
                    match result {
                        Ok(_) => {
                            outcomes.acknowledged.push(tag);
                            if outcomes.first_success_after_restart.is_none()
                                && restarted.lock().await.is_some()
                            {
                                outcomes.first_success_after_restart = Some(Instant::now());
                            }
                        }
                        Err(status) => {
                            outcomes
                                .failed
                                .push((tag, status.code(), started.elapsed()));
                            drop(outcomes);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before_kill = outcomes.lock().await.acknowledged.len();
    cluster.crash().await.unwrap();
    app.wait_for_health(ServingStatus::NotServing).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let err = app
        .sources()
        .list_sources(pb::ListSourcesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        assert_error(&err, Code::Unavailable),
        "DATABASE_UNAVAILABLE"
    );

    cluster.restart().await.unwrap();
    let restart = Instant::now();
    *restarted.lock().await = Some(restart);
    app.wait_for_health(ServingStatus::Serving).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Release);
    for writer in writers {
        writer.await.unwrap();
    }

    let outcomes = outcomes.lock().await;
    let recovered_after = outcomes
        .first_success_after_restart
        .map(|at| at.duration_since(restart));
    let slowest_failure = outcomes
        .failed
        .iter()
        .map(|f| f.2)
        .max()
        .unwrap_or_default();
    let codes: BTreeSet<String> = outcomes
        .failed
        .iter()
        .map(|f| format!("{:?}", f.1))
        .collect();
    // Every failed write is retried with its own request_id: each must now succeed, once.
    let mut client = app.assessments();
    for (tag, _, _) in &outcomes.failed {
        client
            .record_assessment(tagged_write(tag))
            .await
            .expect("a retry after recovery succeeds");
    }
    let stored = stored_assessment_refs(&app).await;
    let stored_set: BTreeSet<&String> = stored.iter().collect();
    let lost = outcomes
        .acknowledged
        .iter()
        .filter(|tag| !stored_set.contains(tag))
        .count();
    let expected = outcomes.acknowledged.len() + outcomes.failed.len();
    assert!(before_kill > 0, "load ran before the kill");
    assert!(!outcomes.failed.is_empty(), "the outage was felt");
    assert_eq!(codes, BTreeSet::from(["Unavailable".to_owned()]));
    assert!(
        slowest_failure < DEADLINE,
        "failures come within the deadline"
    );
    assert!(
        recovered_after.is_some(),
        "writes succeed again without a server restart"
    );
    assert_eq!(lost, 0, "every acknowledged write survives the crash");
    assert_eq!(
        stored.len(),
        expected,
        "one record per write, retries included"
    );
    assert_eq!(stored_set.len(), stored.len(), "no duplicates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_past_its_deadline_leaves_no_query_running_and_a_full_pool_fails_fast() {
    let mut settings = fresh_database_settings().await;
    settings.database.pool_max_size = 1;
    let url = settings.database.url.clone().unwrap();
    let app = spawn_app_with(settings).await;
    register_seed_sources(&app).await;
    // An answer brings the read model up to the sources, so that its follower has no reason to read
    // them while they are locked: the only civcas queries waiting below are the test's own.
    app.figures()
        .get_reconciled_figures(pb::GetReconciledFiguresRequest {
            from: "2017-01-01".into(),
            to: "2017-12-31".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // A transaction of the test's own holds a lock every read of sources must wait for.
    let mut locker = db::connect(&url).await;
    let mut observer = db::connect(&url).await;
    db::lock_table(&mut locker, "sources").await;

    let mut request = tonic::Request::new(pb::ListSourcesRequest::default());
    request.set_timeout(Duration::from_millis(500));
    let mut sources = app.sources();
    let blocked = tokio::spawn(async move { sources.list_sources(request).await });
    wait_for_waiting(&mut observer, 1, Duration::from_secs(5)).await;
    let err = blocked.await.unwrap().unwrap_err();
    // The server answers DEADLINE_EXCEEDED as the client's own timer fires (CANCELLED): either may
    // arrive first.
    assert!(
        matches!(err.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{err:?}"
    );
    wait_for_waiting(&mut observer, 0, Duration::from_secs(5)).await;

    // The one connection is busy with a call that waits for the lock; a second call with a short
    // deadline must hear UNAVAILABLE before that deadline, not wait for the lock's holder.
    let mut request = tonic::Request::new(pb::ListSourcesRequest::default());
    request.set_timeout(Duration::from_secs(20));
    let mut sources = app.sources();
    let holder = tokio::spawn(async move { sources.list_sources(request).await });
    wait_for_waiting(&mut observer, 1, Duration::from_secs(5)).await;
    let mut request = tonic::Request::new(pb::GetSourceRequest {
        source_id: "airwars".into(),
    });
    request.set_timeout(Duration::from_secs(1));
    let started = Instant::now();
    let err = app.sources().get_source(request).await.unwrap_err();
    let failed_after = started.elapsed();
    assert_eq!(
        assert_error(&err, Code::Unavailable),
        "DATABASE_UNAVAILABLE"
    );
    assert!(failed_after < Duration::from_secs(1), "{failed_after:?}");
    db::release(&mut locker).await;
    let listed = holder.await.unwrap().expect("the waiting call completes");
    assert_eq!(listed.into_inner().sources.len(), 3);
}
