use civcas_proto::v1 as pb;
use civcas_tests::fixtures::{assessment, incident, record_incident, register_seed_sources};
use civcas_tests::spawn_app;
use civcas_tests::status::assert_error;
use tonic::Code;

/// A RecordAssessment call as the store takes it, for tests that call the store directly.
fn store_call(
    assessment: pb::Assessment,
    inline: Option<pb::Incident>,
) -> civcas_domain::NewAssessment {
    civcas_domain::NewAssessment::try_from(pb::RecordAssessmentRequest {
        assessment: Some(assessment),
        incident: inline,
        request_id: String::new(),
    })
    .expect("a valid call")
}

async fn history(app: &civcas_tests::TestApp, incident_id: &str) -> Vec<pb::Assessment> {
    app.list_assessments(pb::ListAssessmentsRequest {
        incident_id: incident_id.into(),
        include_superseded: true,
        ..Default::default()
    })
    .await
    .unwrap()
    .assessments
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inline_incident_is_created_once_and_never_overwritten() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let request = pb::RecordAssessmentRequest {
        assessment: Some(assessment(
            "airwars",
            "",
            pb::Verdict::Fair,
            Some((3, Some(5))),
            "2024-03-01",
        )),
        incident: Some(incident("airwars", "CS1942", "2017-06-12")),
        request_id: String::new(),
    };
    let first = app.record_assessment(request.clone()).await.unwrap();
    assert!(first.incident_created);
    assert_eq!(first.outcome(), pb::WriteOutcome::Created);
    let recorded = first.assessment.unwrap();
    assert_eq!(recorded.tier(), pb::Tier::Likely);
    assert!(recorded.current);

    // The same incident inline with other dates: it is found by reference and left as stored.
    let mut other_dates = request.clone();
    other_dates.incident.as_mut().unwrap().occurred_from = "2017-06-01".into();
    other_dates.assessment.as_mut().unwrap().assessed_on = "2024-04-01".into();
    let second = app.record_assessment(other_dates).await.unwrap();
    assert!(!second.incident_created);
    assert_eq!(
        second.assessment.as_ref().unwrap().incident_id,
        recorded.incident_id
    );
    let stored = app
        .get_incident(pb::GetIncidentRequest {
            incident_id: recorded.incident_id.clone(),
        })
        .await
        .unwrap()
        .incident
        .unwrap();
    assert_eq!(stored.occurred_from, "2017-06-12");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_assessment_supersedes_the_first_and_both_are_listed_in_order() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let incident = record_incident(&app, incident("cjtf-oir", "2017-0612", "2017-06-12")).await;
    let open = assessment(
        "cjtf-oir",
        &incident.id,
        pb::Verdict::Open,
        None,
        "2017-05-31",
    );
    let credible = assessment(
        "cjtf-oir",
        &incident.id,
        pb::Verdict::Credible,
        Some((3, Some(3))),
        "2017-06-30",
    );
    let first = app.record_assessment(open).await.unwrap();
    let second = app.record_assessment(credible).await.unwrap();
    assert!(second.assessment.as_ref().unwrap().current);

    let listed = history(&app, &incident.id).await;
    let ids: Vec<_> = listed.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            first.assessment.as_ref().unwrap().id.as_str(),
            second.assessment.as_ref().unwrap().id.as_str()
        ]
    );
    assert_eq!(listed[0].verdict(), pb::Verdict::Open);
    assert!(!listed[0].current, "the OPEN assessment is superseded");
    assert_eq!(listed[1].verdict(), pb::Verdict::Credible);
    assert!(listed[1].current);

    let current_only = app
        .list_assessments(pb::ListAssessmentsRequest {
            incident_id: incident.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .assessments;
    assert_eq!(current_only.len(), 1);
    assert_eq!(current_only[0].verdict(), pb::Verdict::Credible);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assessment_published_earlier_takes_its_place_in_history() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let incident = record_incident(&app, incident("airwars", "CS7", "2017-06-07")).await;
    let later = assessment(
        "airwars",
        &incident.id,
        pb::Verdict::Fair,
        Some((2, Some(4))),
        "2024-06-01",
    );
    let earlier = assessment(
        "airwars",
        &incident.id,
        pb::Verdict::Weak,
        Some((1, Some(2))),
        "2024-01-01",
    );
    app.record_assessment(later).await.unwrap();
    let recorded = app.record_assessment(earlier).await.unwrap();
    assert!(
        !recorded.assessment.unwrap().current,
        "a later-dated assessment stays current"
    );
    let verdicts: Vec<_> = history(&app, &incident.id)
        .await
        .iter()
        .map(|a| a.verdict())
        .collect();
    assert_eq!(verdicts, [pb::Verdict::Weak, pb::Verdict::Fair]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeating_an_assessment_adds_no_history() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let incident = record_incident(&app, incident("airwars", "CS8", "2017-06-08")).await;
    let fair = assessment(
        "airwars",
        &incident.id,
        pb::Verdict::Fair,
        Some((2, Some(4))),
        "2024-06-01",
    );
    let first = app.record_assessment(fair.clone()).await.unwrap();
    let relabelled = pb::Assessment {
        source_label: "Fair".into(),
        ..fair
    };
    let again = app.record_assessment(relabelled).await.unwrap();
    assert_eq!(again.outcome(), pb::WriteOutcome::Unchanged);
    assert_eq!(again.assessment.unwrap().id, first.assessment.unwrap().id);
    assert_eq!(history(&app, &incident.id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_name_an_existing_other_incident() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let original = record_incident(&app, incident("cjtf-oir", "R-1", "2017-06-01")).await;
    let copy = record_incident(&app, incident("cjtf-oir", "R-2", "2017-06-01")).await;
    let duplicate = pb::Assessment {
        duplicate_of: Some(original.id.clone()),
        ..assessment(
            "cjtf-oir",
            &copy.id,
            pb::Verdict::Duplicate,
            None,
            "2017-06-30",
        )
    };
    let recorded = app.record_assessment(duplicate.clone()).await.unwrap();
    assert_eq!(recorded.outcome(), pb::WriteOutcome::Created);
    assert_eq!(
        recorded.assessment.unwrap().duplicate_of,
        Some(original.id.clone())
    );

    let unknown = pb::Assessment {
        duplicate_of: Some("999999".into()),
        assessed_on: "2017-07-01".into(),
        ..duplicate
    };
    let err = app.record_assessment(unknown).await.unwrap_err();
    assert_eq!(assert_error(&err, Code::NotFound), "INCIDENT_NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_assessments_pages_through_every_source_and_incident() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let mut client = app.assessments();
    let mut expected = Vec::new();
    for n in 0..4 {
        let incident =
            record_incident(&app, incident("airwars", &format!("CS{n}"), "2017-06-01")).await;
        for (source, verdict) in [
            ("airwars", pb::Verdict::Weak),
            ("cjtf-oir", pb::Verdict::NotCredible),
        ] {
            let recorded = app
                .record_assessment(assessment(
                    source,
                    &incident.id,
                    verdict,
                    None,
                    "2017-06-30",
                ))
                .await
                .unwrap();
            expected.push(recorded.assessment.unwrap().id);
        }
    }
    let request = pb::ListAssessmentsRequest {
        page_size: Some(3),
        include_superseded: true,
        ..Default::default()
    };
    let seen: Vec<_> = civcas_tests::every_page!(client.list_assessments, request, assessments)
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(seen, expected, "ordered by incident, then source");

    let coalition_only = app
        .list_assessments(pb::ListAssessmentsRequest {
            source_id: "cjtf-oir".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .assessments;
    assert_eq!(coalition_only.len(), 4);
    assert!(coalition_only.iter().all(|a| a.source_id == "cjtf-oir"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_same_day_reversal_is_recorded_and_becomes_current() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let incident = record_incident(&app, incident("airwars", "CS9", "2017-06-09")).await;
    let on = |verdict| assessment("airwars", &incident.id, verdict, None, "2024-02-02");
    for verdict in [pb::Verdict::Fair, pb::Verdict::Discounted] {
        app.record_assessment(on(verdict)).await.unwrap();
    }
    // FAIR again the same day: not the verdict in effect (DISCOUNTED), so it is new and current.
    let again = app.record_assessment(on(pb::Verdict::Fair)).await.unwrap();
    assert_eq!(again.outcome(), pb::WriteOutcome::Created);
    assert!(again.assessment.unwrap().current);
    let verdicts: Vec<_> = history(&app, &incident.id)
        .await
        .iter()
        .map(|a| a.verdict())
        .collect();
    assert_eq!(
        verdicts,
        [
            pb::Verdict::Fair,
            pb::Verdict::Discounted,
            pb::Verdict::Fair
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_identical_writes_without_a_request_id_store_one_record() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let request = pb::RecordAssessmentRequest {
        assessment: Some(assessment(
            "airwars",
            "",
            pb::Verdict::Weak,
            Some((1, Some(2))),
            "2024-03-03",
        )),
        incident: Some(incident("airwars", "CS-RACE", "2017-06-03")),
        request_id: String::new(),
    };
    let outcomes = futures::future::join_all((0..20).map(|_| {
        let app = &app;
        let request = request.clone();
        async move { app.record_assessment(request).await }
    }))
    .await;
    let outcomes: Vec<_> = outcomes
        .into_iter()
        .map(|r| r.expect("every write succeeds"))
        .collect();
    let created = outcomes
        .iter()
        .filter(|r| r.outcome() == pb::WriteOutcome::Created)
        .count();
    assert_eq!(created, 1, "one write creates, the others repeat it");
    let incidents_created = outcomes.iter().filter(|r| r.incident_created).count();
    assert_eq!(incidents_created, 1);
    let incident_id = &outcomes[0].assessment.as_ref().unwrap().incident_id;
    assert!(
        outcomes
            .iter()
            .all(|r| &r.assessment.as_ref().unwrap().incident_id == incident_id)
    );
    assert_eq!(history(&app, incident_id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_crosses_page_boundaries_inside_one_history() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let incident = record_incident(&app, incident("cjtf-oir", "R-HIST", "2017-06-09")).await;
    let mut client = app.assessments();
    let mut expected = Vec::new();
    // Five steps, two of them on one day, so the keyset's recorded_at and id parts are crossed.
    for (verdict, on) in [
        (pb::Verdict::Open, "2017-06-10"),
        (pb::Verdict::Credible, "2017-07-01"),
        (pb::Verdict::NotCredible, "2017-07-01"),
        (pb::Verdict::Open, "2017-08-01"),
        (pb::Verdict::Credible, "2017-09-01"),
    ] {
        let recorded = app
            .record_assessment(assessment("cjtf-oir", &incident.id, verdict, None, on))
            .await
            .unwrap();
        expected.push(recorded.assessment.unwrap().id);
    }
    let request = pb::ListAssessmentsRequest {
        incident_id: incident.id.clone(),
        include_superseded: true,
        page_size: Some(2),
        ..Default::default()
    };
    let seen: Vec<_> = civcas_tests::every_page!(client.list_assessments, request, assessments)
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(seen, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inline_incident_that_resolves_to_its_own_duplicate_target_is_rejected() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let stored = record_incident(&app, incident("cjtf-oir", "R-SELF", "2017-06-09")).await;
    let err = app
        .record_assessment(pb::RecordAssessmentRequest {
            assessment: Some(pb::Assessment {
                duplicate_of: Some(stored.id.clone()),
                ..assessment("cjtf-oir", "", pb::Verdict::Duplicate, None, "2017-06-30")
            }),
            // Resolves, by reference, to the very incident it names as duplicated.
            incident: Some(incident("cjtf-oir", "R-SELF", "2017-06-09")),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    civcas_tests::status::assert_invalid_field(&err, "assessment.duplicate_of");
}

/// A server on a fresh database with the seed sources, and the database's url, for a store of the
/// test's own beside it: the batches a store writes are seen through its own counts.
async fn app_beside_a_store() -> (civcas_tests::TestApp, secrecy::SecretString) {
    let settings = civcas_tests::fresh_database_settings().await;
    let url = settings.database.url.clone().expect("a database url");
    let app = civcas_tests::spawn_app_with(settings).await;
    register_seed_sources(&app).await;
    (app, url)
}

/// Calls queued at once (`PgStore::record_together`, what the server does with concurrent calls):
/// the first batch holds every call that names no reference or stored incident an earlier one
/// does, and each call is answered as if it had been written alone. The store has seen no source
/// registered, so even the call that creates its incident is written in the batch's transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_arriving_together_are_written_in_one_batch_each_as_if_alone() {
    use civcas_domain::RepositoryError;
    use civcas_domain::repository::AssessmentRepository;
    use civcas_persistence::{CoalescedCounts, PgStore, PoolSettings};

    let (app, url) = app_beside_a_store().await;
    let s = record_incident(&app, incident("airwars", "S", "2017-06-01")).await;
    let t = record_incident(&app, incident("airwars", "T", "2017-06-02")).await;
    let u = record_incident(&app, incident("airwars", "U", "2017-06-03")).await;
    let v = record_incident(&app, incident("airwars", "V", "2017-06-04")).await;
    let fair = |incident: &pb::Incident, killed, day: &str| {
        assessment(
            "airwars",
            &incident.id,
            pb::Verdict::Fair,
            Some((killed, Some(killed))),
            day,
        )
    };
    let v_march = fair(&v, 2, "2024-03-01");
    let mut stored = Vec::new();
    for earlier in [
        fair(&u, 5, "2024-06-01"),
        v_march.clone(),
        fair(&v, 5, "2024-06-01"),
    ] {
        let recorded = app.record_assessment(earlier).await.unwrap();
        stored.push(recorded.assessment.unwrap());
    }

    let store = PgStore::new(&url, &PoolSettings::default()).unwrap();
    let call = store_call;
    let unami = assessment(
        "un-unami",
        &s.id,
        pb::Verdict::Fair,
        Some((3, None)),
        "2024-05-04",
    );
    let by_reference = pb::Assessment {
        incident_id: String::new(),
        ..unami.clone()
    };
    let mut both = incident("airwars", "S", "2017-06-01");
    both.references
        .extend(incident("airwars", "T", "2017-06-02").references);
    let calls = [
        // 0: S by its id.
        call(unami, None),
        // 1: S by its reference, by the same source: left for after the batch, then a repeat of 0.
        call(by_reference, Some(incident("airwars", "S", "2017-06-01"))),
        // 2: a new incident.
        call(
            assessment(
                "airwars",
                "",
                pb::Verdict::Fair,
                Some((1, Some(1))),
                "2024-05-01",
            ),
            Some(incident("airwars", "N1", "2017-07-01")),
        ),
        // 3: U on a day before its stored June assessment: stored, but not current.
        call(fair(&u, 4, "2024-04-01"), None),
        // 4: V's March assessment again: unchanged, and not current.
        call(v_march, None),
        // 5: an unknown source: refused in the batch, then alone.
        call(
            assessment("nobody", &t.id, pb::Verdict::Fair, None, "2024-05-03"),
            None,
        ),
        // 6: S's reference again, with T's: the next batch, alone.
        call(
            assessment("airwars", "", pb::Verdict::Fair, None, "2024-05-03"),
            Some(both),
        ),
    ];
    let answers = store.record_together(&calls).await;
    // Calls 0, 2, 3 and 4 were written in the batch; 1 and 5 by their callers; 6, which waited for
    // the batch, by its leader alone.
    assert_eq!(
        store.coalesced_counts(),
        CoalescedCounts {
            new_incidents: 0,
            batched: 4,
            alone: 3
        }
    );

    let ok = |n: usize| answers[n].as_ref().expect("the call succeeds");

    assert!(ok(0).created && ok(0).assessment.current && !ok(0).incident_created);
    assert!(!ok(1).created);
    assert_eq!(ok(1).assessment.id, ok(0).assessment.id);
    assert!(ok(2).created && ok(2).incident_created && ok(2).assessment.current);
    assert!(ok(3).created && !ok(3).assessment.current);
    assert!(!ok(4).created && !ok(4).assessment.current);
    assert_eq!(ok(4).assessment.id.to_string(), stored[1].id);
    let alone = store.record_assessment(calls[5].clone(), None).await;
    assert!(
        matches!(&answers[5], Err(RepositoryError::NotFound { field, .. }) if field == "assessment.source_id"),
        "{:?}",
        answers[5]
    );
    assert_eq!(format!("{:?}", answers[5]), format!("{alone:?}"));
    assert!(
        matches!(
            &answers[6],
            Err(RepositoryError::FailedPrecondition {
                reason: "REFERENCES_CONFLICT",
                ..
            })
        ),
        "{:?}",
        answers[6]
    );
    // What is stored agrees: U's current assessment is still June's, and V has no new row.
    let current = |incident: &pb::Incident| {
        let app = &app;
        let id = incident.id.clone();
        async move {
            app.list_assessments(pb::ListAssessmentsRequest {
                incident_id: id,
                source_id: "airwars".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .assessments
        }
    };
    assert_eq!(current(&u).await[0].assessed_on, "2024-06-01");
    assert_eq!(history(&app, &v.id).await.len(), 2);
}

/// The connections that write coalesced batches plan each statement once: a batch's plan is the
/// same whatever its arrays hold, and planning it anew took a third of its time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coalesced_batches_are_planned_once() {
    use civcas_persistence::{PgStore, PoolSettings};

    let (_app, url) = app_beside_a_store().await;
    let store = PgStore::new(&url, &PoolSettings::default()).unwrap();
    let new = |n: u32| {
        store_call(
            assessment("airwars", "", pb::Verdict::Fair, None, "2024-05-01"),
            Some(incident("airwars", &format!("N{n}"), "2017-07-01")),
        )
    };
    // The first call, alone, shows the store that the source is registered; the others are batches
    // of new incidents, more than the five custom plans PostgreSQL tries before choosing.
    for n in 0..8 {
        let answers = store.record_together(&[new(n)]).await;
        assert!(answers[0].as_ref().expect("the call succeeds").created);
    }
    let (generic, custom) = store.batch_plans().await.unwrap();
    assert_eq!(custom, 0, "custom plans on a batch connection");
    assert!(generic >= 7, "{generic} generic plans for 7 batches");
}

/// Calls that create their incidents are written together with one statement, without a
/// transaction; a call whose inline incident turns out to be stored is written in the transaction
/// after it, as if alone. Two replicas writing the same new incidents at once create each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_that_create_their_incidents_are_written_with_one_statement() {
    use civcas_domain::NewAssessment;
    use civcas_domain::repository::AssessmentRepository;
    use civcas_persistence::{PgStore, PoolSettings};

    let (app, url) = app_beside_a_store().await;
    let s = record_incident(&app, incident("airwars", "S", "2017-06-01")).await;
    let t = record_incident(&app, incident("airwars", "T", "2017-06-02")).await;
    let call = |assessment, inline| store_call(assessment, Some(inline));
    let fair = |killed, day: &str| {
        assessment(
            "airwars",
            "",
            pb::Verdict::Fair,
            Some((killed, Some(killed))),
            day,
        )
    };
    // A store writes calls this way only with sources it has seen registered: one write shows it.
    let warmed = || async {
        let store = PgStore::new(&url, &PoolSettings::default()).unwrap();
        let about_t = store_call(
            assessment("airwars", &t.id, pb::Verdict::Weak, None, "2024-01-01"),
            None,
        );
        store.record_assessment(about_t, None).await.unwrap();
        store
    };
    let store = warmed().await;

    let mut new_and_t = incident("airwars", "N2", "2017-07-02");
    new_and_t
        .references
        .extend(incident("airwars", "T", "2017-06-02").references);
    let calls = [
        // 0: a new incident.
        call(
            fair(2, "2024-05-01"),
            incident("airwars", "N1", "2017-07-01"),
        ),
        // 1: S's reference: the statement skips it, and the transaction assesses S.
        call(
            fair(3, "2024-05-02"),
            incident("airwars", "S", "2017-06-01"),
        ),
        // 2: a new reference with T's: T, in the transaction.
        call(fair(4, "2024-05-03"), new_and_t),
    ];
    let before = store.coalesced_counts();
    let answers = store.record_together(&calls).await;
    let after = store.coalesced_counts();
    assert_eq!(
        (
            after.new_incidents - before.new_incidents,
            after.batched - before.batched,
            after.alone - before.alone
        ),
        (1, 2, 0)
    );
    let ok = |n: usize| answers[n].as_ref().expect("the call succeeds");
    assert!(ok(0).created && ok(0).incident_created && ok(0).assessment.current);
    let incident_of = |n: usize| ok(n).assessment.incident_id.to_string();
    assert!(![s.id.clone(), t.id.clone()].contains(&incident_of(0)));
    assert!(ok(1).created && !ok(1).incident_created && ok(1).assessment.current);
    assert_eq!(incident_of(1), s.id);
    assert!(ok(2).created && !ok(2).incident_created);
    assert_eq!(incident_of(2), t.id);
    // What the one statement stored reads back as answered.
    let stored = history(&app, &incident_of(0)).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, ok(0).assessment.id.to_string());
    assert_eq!(
        (
            stored[0].verdict(),
            stored[0].civilians_killed,
            stored[0].assessed_on.as_str()
        ),
        (
            pb::Verdict::Fair,
            Some(pb::CountRange {
                min: 2,
                max: Some(2)
            }),
            "2024-05-01"
        )
    );

    // Two replicas at once: one's statement stores the references first, so the other's skips
    // them or fails on them, and its calls find the incidents stored and repeat what was stored.
    let other = warmed().await;
    let race: Vec<NewAssessment> = (0..40)
        .map(|n| {
            call(
                fair(n, "2024-06-01"),
                incident("airwars", &format!("R{n}"), "2017-08-01"),
            )
        })
        .collect();
    let (mine, theirs) = tokio::join!(store.record_together(&race), other.record_together(&race));
    for (mine, theirs) in mine.iter().zip(&theirs) {
        let (mine, theirs) = (mine.as_ref().unwrap(), theirs.as_ref().unwrap());
        assert_ne!(mine.created, theirs.created, "{mine:?} {theirs:?}");
        assert_ne!(mine.incident_created, theirs.incident_created);
        assert_eq!(mine.assessment.id, theirs.assessment.id);
        assert_eq!(mine.assessment.incident_id, theirs.assessment.incident_id);
    }
}
