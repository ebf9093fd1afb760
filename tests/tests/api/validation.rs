//! A table of bad inputs across the RPCs: each must be INVALID_ARGUMENT, with exactly one ErrorInfo,
//! a field violation naming the offending field, and nothing internal in the message.

use std::future::Future;
use std::pin::Pin;

use civcas_proto::v1 as pb;
use civcas_tests::fixtures::{assessment, coalition_cumulative, incident, source};
use civcas_tests::status::assert_invalid_field;
use civcas_tests::{TestApp, spawn_app};
use tonic::Status;

type Call = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

fn record_assessment(app: &TestApp, assessment: pb::Assessment) -> Call {
    let mut client = app.assessments();
    Box::pin(async move {
        client
            .record_assessment(pb::RecordAssessmentRequest {
                assessment: Some(assessment),
                incident: None,
                request_id: String::new(),
            })
            .await
            .map(drop)
    })
}

fn record_incident(app: &TestApp, incident: pb::Incident) -> Call {
    let mut client = app.incidents();
    Box::pin(async move {
        client
            .record_incident(pb::RecordIncidentRequest {
                incident: Some(incident),
                request_id: String::new(),
            })
            .await
            .map(drop)
    })
}

fn record_statement(app: &TestApp, statement: pb::Statement) -> Call {
    let mut client = app.statements();
    Box::pin(async move {
        client
            .record_statement(pb::RecordStatementRequest {
                statement: Some(statement),
                request_id: String::new(),
            })
            .await
            .map(drop)
    })
}

fn credible(killed: Option<(u32, Option<u32>)>) -> pb::Assessment {
    assessment("cjtf-oir", "1", pb::Verdict::Credible, killed, "2017-06-30")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_are_invalid_arguments_naming_the_field() {
    let app = spawn_app().await;
    let located = |edit: fn(&mut pb::Location)| {
        let mut bad = incident("airwars", "CS1", "2017-06-01");
        edit(bad.location.as_mut().unwrap());
        bad
    };
    let cases: Vec<(&str, Call, &str)> = vec![
        (
            "min above max",
            record_assessment(&app, credible(Some((9, Some(3))))),
            "assessment.civilians_killed.max",
        ),
        (
            "occurred_to before occurred_from",
            record_incident(
                &app,
                pb::Incident {
                    occurred_to: "2017-05-31".into(),
                    ..incident("airwars", "CS1", "2017-06-01")
                },
            ),
            "incident.occurred_to",
        ),
        (
            "a malformed date",
            record_incident(&app, incident("airwars", "CS1", "2017-6-1")),
            "incident.occurred_from",
        ),
        (
            "bad source slug",
            {
                let mut client = app.sources();
                Box::pin(async move {
                    client
                        .register_source(pb::RegisterSourceRequest {
                            source: Some(source("CJTF OIR", pb::SourceKind::Military, None)),
                            request_id: String::new(),
                        })
                        .await
                        .map(drop)
                })
            },
            "source.id",
        ),
        (
            "bad country code",
            record_incident(&app, located(|l| l.country = "XX".into())),
            "incident.location.country",
        ),
        (
            "latitude 91",
            record_incident(&app, located(|l| l.latitude = Some(91.0))),
            "incident.location.latitude",
        ),
        (
            "precision unspecified",
            record_incident(&app, located(|l| l.precision = 0)),
            "incident.location.precision",
        ),
        (
            "no references",
            record_incident(
                &app,
                pb::Incident {
                    references: vec![],
                    ..incident("airwars", "CS1", "2017-06-01")
                },
            ),
            "incident.references",
        ),
        (
            "an incident in the future",
            record_incident(&app, incident("airwars", "CS1", "2999-01-01")),
            "incident.occurred_to",
        ),
        (
            "a statement period ending after its publication",
            record_statement(&app, coalition_cumulative(603, "2017-08-31", "2017-07-06")),
            "statement.period_to",
        ),
        (
            "verdict unspecified",
            record_assessment(
                &app,
                pb::Assessment {
                    verdict: 0,
                    ..credible(None)
                },
            ),
            "assessment.verdict",
        ),
        (
            "verdict out of range",
            record_assessment(
                &app,
                pb::Assessment {
                    verdict: 42,
                    ..credible(None)
                },
            ),
            "assessment.verdict",
        ),
        (
            "duplicate_of on a non-DUPLICATE verdict",
            record_assessment(
                &app,
                pb::Assessment {
                    duplicate_of: Some("2".into()),
                    ..credible(None)
                },
            ),
            "assessment.duplicate_of",
        ),
        (
            "duplicate_of pointing at itself",
            record_assessment(
                &app,
                pb::Assessment {
                    duplicate_of: Some("1".into()),
                    ..assessment("cjtf-oir", "1", pb::Verdict::Duplicate, None, "2017-06-30")
                },
            ),
            "assessment.duplicate_of",
        ),
        (
            "an assessment dated in the future",
            record_assessment(
                &app,
                pb::Assessment {
                    assessed_on: "2999-01-01".into(),
                    ..credible(None)
                },
            ),
            "assessment.assessed_on",
        ),
        (
            "oversized notes",
            record_assessment(
                &app,
                pb::Assessment {
                    notes: Some("x".repeat(10_001)),
                    ..credible(None)
                },
            ),
            "assessment.notes",
        ),
        (
            "a citation that is not a URL",
            record_assessment(
                &app,
                pb::Assessment {
                    citation: Some("the July release".into()),
                    ..credible(None)
                },
            ),
            "assessment.citation",
        ),
        (
            "neither an incident id nor an inline incident",
            record_assessment(
                &app,
                pb::Assessment {
                    incident_id: String::new(),
                    ..credible(None)
                },
            ),
            "assessment.incident_id",
        ),
        (
            "an EXACT statement with a range",
            record_statement(
                &app,
                pb::Statement {
                    qualifier: pb::Qualifier::Exact.into(),
                    count: Some(pb::CountRange {
                        min: 1,
                        max: Some(5),
                    }),
                    ..coalition_cumulative(603, "2017-05-31", "2017-07-06")
                },
            ),
            "statement.count.max",
        ),
        (
            "a statement period ending before it starts",
            record_statement(&app, coalition_cumulative(603, "2014-08-01", "2017-07-06")),
            "statement.period_to",
        ),
        (
            "a statement without attribution",
            record_statement(
                &app,
                pb::Statement {
                    attributed_to: String::new(),
                    ..coalition_cumulative(603, "2017-05-31", "2017-07-06")
                },
            ),
            "statement.attributed_to",
        ),
        (
            "a request_id over 200 characters",
            {
                let mut client = app.statements();
                Box::pin(async move {
                    client
                        .record_statement(pb::RecordStatementRequest {
                            statement: Some(coalition_cumulative(603, "2017-05-31", "2017-07-06")),
                            request_id: "r".repeat(201),
                        })
                        .await
                        .map(drop)
                })
            },
            "request_id",
        ),
        (
            "a page size of 0",
            {
                let mut client = app.sources();
                Box::pin(async move {
                    client
                        .list_sources(pb::ListSourcesRequest {
                            page_size: Some(0),
                            page_token: String::new(),
                        })
                        .await
                        .map(drop)
                })
            },
            "page_size",
        ),
        (
            "a garbage page token",
            {
                let mut client = app.incidents();
                Box::pin(async move {
                    client
                        .list_incidents(pb::ListIncidentsRequest {
                            page_token: "definitely-not-a-token".into(),
                            ..Default::default()
                        })
                        .await
                        .map(drop)
                })
            },
            "page_token",
        ),
        (
            "a malformed incident id",
            {
                let mut client = app.incidents();
                Box::pin(async move {
                    client
                        .get_incident(pb::GetIncidentRequest {
                            incident_id: "CS1942".into(),
                        })
                        .await
                        .map(drop)
                })
            },
            "incident_id",
        ),
        (
            "an incident linked to itself",
            {
                let mut client = app.incidents();
                Box::pin(async move {
                    client
                        .link_incidents(pb::LinkIncidentsRequest {
                            incident_id: "7".into(),
                            linked_incident_id: "7".into(),
                            request_id: String::new(),
                        })
                        .await
                        .map(drop)
                })
            },
            "linked_incident_id",
        ),
    ];

    let mut failures = Vec::new();
    for (name, call, field) in cases {
        match call.await {
            Ok(()) => failures.push(format!("{name}: accepted")),
            Err(status) => {
                if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    assert_invalid_field(&status, field);
                })) {
                    let why = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .unwrap_or_else(|| "assertion failed".into());
                    failures.push(format!("{name}: {why}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "bad inputs not rejected as expected:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_field_of_a_request_is_reported_at_once() {
    let app = spawn_app().await;
    // The fixture puts the day in both occurred_from and occurred_to, so both are reported.
    let mut bad = incident("Airwars", "", "2017-13-01");
    bad.location.as_mut().unwrap().country = "sy".into();
    let err = app
        .assessments()
        .record_assessment(pb::RecordAssessmentRequest {
            assessment: Some(pb::Assessment {
                civilians_killed: Some(pb::CountRange {
                    min: 5,
                    max: Some(1),
                }),
                ..assessment("cjtf-oir", "", pb::Verdict::Credible, None, "2999-12-31")
            }),
            incident: Some(bad),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    let mut fields = civcas_tests::status::violated_fields(&err);
    fields.sort();
    assert_eq!(
        fields,
        [
            "assessment.assessed_on",
            "assessment.civilians_killed.max",
            "incident.location.country",
            "incident.occurred_from",
            "incident.occurred_to",
            "incident.references[0].external_ref",
            "incident.references[0].source_id",
        ]
    );
}

/// One bad input for each RPC the table above does not reach, so that together they cover all 19:
/// each must be INVALID_ARGUMENT naming the field, with one ErrorInfo and nothing leaked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_rejects_a_bad_input_naming_the_field() {
    let app = spawn_app().await;
    civcas_tests::fixtures::register_seed_sources(&app).await;
    let (mut sources, mut incidents, mut assessments, mut statements, mut figures) = (
        app.sources(),
        app.incidents(),
        app.assessments(),
        app.statements(),
        app.figures(),
    );
    let mut tried = Vec::new();
    macro_rules! case {
        ($rpc:literal, $call:expr, $field:literal) => {{
            let err = $call.await.map(drop).unwrap_err();
            assert_invalid_field(&err, $field);
            tried.push($rpc);
        }};
    }
    case!(
        "GetSource",
        sources.get_source(pb::GetSourceRequest {
            source_id: "Not A Slug".into()
        }),
        "source_id"
    );
    case!(
        "ListSources",
        sources.list_sources(pb::ListSourcesRequest {
            page_size: Some(-5),
            page_token: String::new()
        }),
        "page_size"
    );
    case!(
        "UpdateSource",
        sources.update_source(pb::UpdateSourceRequest {
            source: Some(source("airwars", pb::SourceKind::Monitor, None)),
            update_mask: Some(civcas_proto::well_known::FieldMask {
                paths: vec!["id".into()]
            }),
            request_id: String::new(),
        }),
        "update_mask"
    );
    case!(
        "UnlinkIncidents",
        incidents.unlink_incidents(pb::UnlinkIncidentsRequest {
            incident_id: "seven".into(),
            linked_incident_id: "8".into(),
            request_id: String::new(),
        }),
        "incident_id"
    );
    case!(
        "ImportAssessments",
        assessments.import_assessments(tokio_stream::iter(vec![pb::ImportAssessmentsRequest {
            rows: vec![pb::ImportRow::default(); 10_001],
        }])),
        "rows"
    );
    case!(
        "ListAssessments",
        assessments.list_assessments(pb::ListAssessmentsRequest {
            incident_id: "-3".into(),
            ..Default::default()
        }),
        "incident_id"
    );
    case!(
        "ListStatements",
        statements.list_statements(pb::ListStatementsRequest {
            source_id: "CJTF OIR".into(),
            ..Default::default()
        }),
        "source_id"
    );
    case!(
        "GetStatementRevisions",
        statements.get_statement_revisions(pb::GetStatementRevisionsRequest {
            statement_id: String::new()
        }),
        "statement_id"
    );
    case!(
        "GetReconciledFigures",
        figures.get_reconciled_figures(pb::GetReconciledFiguresRequest {
            from: "2017-13-01".into(),
            to: "2017-12-31".into(),
            ..Default::default()
        }),
        "from"
    );
    case!(
        "GetFigureSeries",
        figures.get_figure_series(pb::GetFigureSeriesRequest {
            from: "2017-01-01".into(),
            to: "2017-12-31".into(),
            granularity: pb::Granularity::Unspecified.into(),
            ..Default::default()
        }),
        "granularity"
    );
    case!(
        "GetAssessmentFlow",
        figures.get_assessment_flow(pb::GetAssessmentFlowRequest {
            source_id: String::new(),
            from: "2017-01-01".into(),
            to: "2017-12-31".into(),
        }),
        "source_id"
    );
    case!(
        "WatchFigures",
        figures.watch_figures(pb::WatchFiguresRequest {
            from: "2017-01-01".into(),
            to: "2017-12-31".into(),
            filters: Some(pb::FigureFilters {
                countries: vec!["SY".to_owned(); civcas_domain::validation::MAX_REPEATED + 1],
                ..Default::default()
            }),
        }),
        "filters.countries"
    );
    assert_eq!(tried.len(), 12);
}
