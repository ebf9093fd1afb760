use civcas_proto::v1 as pb;
use civcas_tests::fixtures::{assessment, coalition_cumulative, incident, register_seed_sources};
use civcas_tests::spawn_app;
use civcas_tests::status::assert_error;
use tonic::Code;

/// The UN's "over 8,000 civilians killed or wounded in Mosul".
fn unami_mosul() -> pb::Statement {
    pb::Statement {
        source_id: "un-unami".into(),
        measure: pb::Measure::KilledOrInjured.into(),
        count: Some(pb::CountRange {
            min: 8000,
            max: None,
        }),
        qualifier: pb::Qualifier::MoreThan.into(),
        period_from: "2016-10-17".into(),
        period_to: "2017-07-10".into(),
        area: Some(pb::Area {
            countries: vec!["IQ".into()],
            admin1: Some("Nineveh".into()),
            locality: Some("Mosul".into()),
        }),
        attributed_to: "all".into(),
        published_on: "2017-08-02".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coalition_revision_from_603_to_624_is_plus_21() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    app.record_statement(coalition_cumulative(603, "2017-05-31", "2017-07-06"))
        .await
        .unwrap();
    let latest = app
        .record_statement(coalition_cumulative(624, "2017-06-30", "2017-08-04"))
        .await
        .unwrap()
        .statement
        .unwrap();
    assert_eq!(latest.definition, "civilians", "the default definition");

    let revisions = app
        .get_statement_revisions(pb::GetStatementRevisionsRequest {
            statement_id: latest.id.clone(),
        })
        .await
        .unwrap()
        .revisions;
    let figures: Vec<_> = revisions
        .iter()
        .map(|r| {
            (
                r.statement.as_ref().unwrap().count.unwrap().min,
                r.kind(),
                r.min_delta,
                r.max_delta,
            )
        })
        .collect();
    // The seed article says "23 more"; the figures say 624 − 603 = 21.
    assert_eq!(
        figures,
        [
            (603, pb::RevisionKind::Initial, None, None),
            (624, pb::RevisionKind::Extension, Some(21), None),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_or_injured_statements_form_a_chain_of_their_own() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    app.record_statement(coalition_cumulative(603, "2017-05-31", "2017-07-06"))
        .await
        .unwrap();
    let mosul = app
        .record_statement(unami_mosul())
        .await
        .unwrap()
        .statement
        .unwrap();
    assert_eq!(mosul.measure(), pb::Measure::KilledOrInjured);
    let revisions = app
        .get_statement_revisions(pb::GetStatementRevisionsRequest {
            statement_id: mosul.id,
        })
        .await
        .unwrap()
        .revisions;
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions[0].kind(), pb::RevisionKind::Initial);

    let killed_only = app
        .list_statements(pb::ListStatementsRequest {
            measure: pb::Measure::Killed.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .statements;
    assert_eq!(killed_only.len(), 1);
    assert_eq!(killed_only[0].source_id, "cjtf-oir");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restating_a_statement_is_unchanged() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let first = app
        .record_statement(coalition_cumulative(603, "2017-05-31", "2017-07-06"))
        .await
        .unwrap();
    let again = app
        .record_statement(coalition_cumulative(603, "2017-05-31", "2017-07-06"))
        .await
        .unwrap();
    assert_eq!(again.outcome(), pb::WriteOutcome::Unchanged);
    assert_eq!(again.statement.unwrap().id, first.statement.unwrap().id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_statements_pages_by_id_and_unknown_chains_are_not_found() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    let mut client = app.statements();
    let mut expected = Vec::new();
    for (month, min) in [
        ("01", 500u32),
        ("02", 510),
        ("03", 520),
        ("04", 530),
        ("05", 603),
    ] {
        let statement = coalition_cumulative(
            min,
            &format!("2017-{month}-28"),
            &format!("2017-{month}-28"),
        );
        let stored = app.record_statement(statement).await.unwrap();
        expected.push(stored.statement.unwrap().id);
    }
    let request = pb::ListStatementsRequest {
        source_id: "cjtf-oir".into(),
        page_size: Some(2),
        ..Default::default()
    };
    let seen: Vec<_> = civcas_tests::every_page!(client.list_statements, request, statements)
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(seen, expected);

    let err = app
        .get_statement_revisions(pb::GetStatementRevisionsRequest {
            statement_id: "31337".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(assert_error(&err, Code::NotFound), "STATEMENT_NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_keeps_its_tier_and_is_compared_at_it() {
    let app = spawn_app().await;
    register_seed_sources(&app).await;
    // Airwars: a Fair incident with 5 killed and a Confirmed one with 2, in June 2017.
    for (code, verdict, killed) in [
        ("CS1", pb::Verdict::Fair, 5),
        ("CS2", pb::Verdict::Confirmed, 2),
    ] {
        app.record_assessment(pb::RecordAssessmentRequest {
            assessment: Some(assessment(
                "airwars",
                "",
                verdict,
                Some((killed, Some(killed))),
                "2017-07-01",
            )),
            incident: Some(incident("airwars", code, "2017-06-12")),
            request_id: String::new(),
        })
        .await
        .unwrap();
    }
    // Unspecified is ESTABLISHED; a headline at LIKELY is stored at LIKELY.
    let headline = |tier: pb::Tier, published_on: &str| pb::Statement {
        source_id: "airwars".into(),
        count: Some(pb::CountRange {
            min: 10,
            max: Some(10),
        }),
        qualifier: pb::Qualifier::Approximately.into(),
        period_from: "2017-06-01".into(),
        tier: tier.into(),
        ..coalition_cumulative(0, "2017-06-30", published_on)
    };
    let stored = app
        .record_statement(headline(pb::Tier::Unspecified, "2017-07-02"))
        .await
        .unwrap()
        .statement
        .unwrap();
    assert_eq!(stored.tier(), pb::Tier::Established);
    let june = pb::GetReconciledFiguresRequest {
        from: "2017-06-01".into(),
        to: "2017-06-30".into(),
        ..Default::default()
    };
    let compared = |figures: pb::ReconciledFigures| {
        let s = &figures.statements[0];
        (s.own_at_tier.map(|own| own.min), s.difference)
    };
    // At ESTABLISHED only the Confirmed incident counts: 10 − 2.
    assert_eq!(
        compared(app.reconciled(june.clone()).await.unwrap()),
        (Some(2), Some(8))
    );
    let stored = app
        .record_statement(headline(pb::Tier::Likely, "2017-07-03"))
        .await
        .unwrap()
        .statement
        .unwrap();
    assert_eq!(stored.tier(), pb::Tier::Likely);
    // The later statement of the chain, at LIKELY: the Fair one counts too, 10 − (5 + 2).
    assert_eq!(
        compared(app.reconciled(june).await.unwrap()),
        (Some(7), Some(3))
    );
}
