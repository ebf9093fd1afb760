//! A table of bad inputs across the RPCs: each must be INVALID_ARGUMENT, with exactly one ErrorInfo,
//! a field violation naming the offending field, and nothing internal in the message.

use civcas_proto::v1 as pb;
use civcas_tests::fixtures::{assessment, coalition_cumulative, incident, source};
use civcas_tests::spawn_app;
use civcas_tests::status::assert_invalid_field;

fn credible(killed: Option<(u32, Option<u32>)>) -> pb::Assessment {
    assessment("cjtf-oir", "1", pb::Verdict::Credible, killed, "2017-06-30")
}

fn located(edit: fn(&mut pb::Location)) -> pb::Incident {
    let mut bad = incident("airwars", "CS1", "2017-06-01");
    edit(bad.location.as_mut().unwrap());
    bad
}

/// One test per bad input, named by its case: `$app` is a fresh server, `$call` the call to make,
/// and the call must fail with INVALID_ARGUMENT naming `$field`.
macro_rules! bad_inputs {
    ($($case:ident: $app:ident => $call:expr, names $field:literal;)+) => {
        mod bad_input {
            #[allow(unused_imports, reason = "each case uses some")]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let $app = spawn_app().await;
                    let status = $call.await.expect_err("the bad input is refused");
                    assert_invalid_field(&status, $field);
                }
            )+
        }
    };
}

bad_inputs! {
    min_above_max: app => app.record_assessment(credible(Some((9, Some(3))))),
        names "assessment.civilians_killed.max";
    occurred_to_before_occurred_from: app => app.record_incident(pb::Incident {
            occurred_to: "2017-05-31".into(),
            ..incident("airwars", "CS1", "2017-06-01")
        }),
        names "incident.occurred_to";
    a_malformed_date: app => app.record_incident(incident("airwars", "CS1", "2017-6-1")),
        names "incident.occurred_from";
    a_bad_source_slug: app =>
        app.register_source(source("CJTF OIR", pb::SourceKind::Military, None)),
        names "source.id";
    a_bad_country_code: app => app.record_incident(located(|l| l.country = "XX".into())),
        names "incident.location.country";
    latitude_91: app => app.record_incident(located(|l| l.latitude = Some(91.0))),
        names "incident.location.latitude";
    precision_unspecified: app => app.record_incident(located(|l| l.precision = 0)),
        names "incident.location.precision";
    no_references: app => app.record_incident(pb::Incident {
            references: vec![],
            ..incident("airwars", "CS1", "2017-06-01")
        }),
        names "incident.references";
    an_incident_in_the_future: app =>
        app.record_incident(incident("airwars", "CS1", "2999-01-01")),
        names "incident.occurred_to";
    a_statement_period_ending_after_its_publication: app =>
        app.record_statement(coalition_cumulative(603, "2017-08-31", "2017-07-06")),
        names "statement.period_to";
    children_killed_above_killed: app => app.record_assessment(pb::Assessment {
            children_killed: Some(pb::CountRange {
                min: 4,
                max: None,
            }),
            ..credible(Some((2, Some(3))))
        }),
        names "assessment.children_killed.min";
    an_unknown_harm: app => app.record_incident(pb::Incident {
            harm: vec!["explosive-weapons".into(), "lasers".into()],
            ..incident("airwars", "CS1", "2017-06-01")
        }),
        names "incident.harm[1]";
    an_unknown_means_filter: app => app.get_reconciled_figures(pb::GetReconciledFiguresRequest {
            from: "2017-01-01".into(),
            to: "2017-12-31".into(),
            filters: Some(pb::FigureFilters {
                means: vec!["catapult".into()],
                ..Default::default()
            }),
            ..Default::default()
        }),
        names "filters.means[0]";
    verdict_unspecified: app => app.record_assessment(pb::Assessment {
            verdict: 0,
            ..credible(None)
        }),
        names "assessment.verdict";
    verdict_out_of_range: app => app.record_assessment(pb::Assessment {
            verdict: 42,
            ..credible(None)
        }),
        names "assessment.verdict";
    duplicate_of_on_a_verdict_other_than_duplicate: app =>
        app.record_assessment(pb::Assessment {
            duplicate_of: Some("2".into()),
            ..credible(None)
        }),
        names "assessment.duplicate_of";
    duplicate_of_pointing_at_itself: app => app.record_assessment(pb::Assessment {
            duplicate_of: Some("1".into()),
            ..assessment("cjtf-oir", "1", pb::Verdict::Duplicate, None, "2017-06-30")
        }),
        names "assessment.duplicate_of";
    an_assessment_dated_in_the_future: app => app.record_assessment(pb::Assessment {
            assessed_on: "2999-01-01".into(),
            ..credible(None)
        }),
        names "assessment.assessed_on";
    oversized_notes: app => app.record_assessment(pb::Assessment {
            notes: Some("x".repeat(10_001)),
            ..credible(None)
        }),
        names "assessment.notes";
    a_citation_that_is_not_a_url: app => app.record_assessment(pb::Assessment {
            citation: Some("the July release".into()),
            ..credible(None)
        }),
        names "assessment.citation";
    neither_an_incident_id_nor_an_inline_incident: app =>
        app.record_assessment(pb::Assessment {
            incident_id: String::new(),
            ..credible(None)
        }),
        names "assessment.incident_id";
    an_exact_statement_with_a_range: app => app.record_statement(pb::Statement {
            qualifier: pb::Qualifier::Exact.into(),
            count: Some(pb::CountRange {
                min: 1,
                max: Some(5),
            }),
            ..coalition_cumulative(603, "2017-05-31", "2017-07-06")
        }),
        names "statement.count.max";
    a_statement_period_ending_before_it_starts: app =>
        app.record_statement(coalition_cumulative(603, "2014-08-01", "2017-07-06")),
        names "statement.period_to";
    a_statement_without_attribution: app => app.record_statement(pb::Statement {
            attributed_to: String::new(),
            ..coalition_cumulative(603, "2017-05-31", "2017-07-06")
        }),
        names "statement.attributed_to";
    a_rejected_statement_tier: app => app.record_statement(pb::Statement {
            tier: pb::Tier::Rejected.into(),
            ..coalition_cumulative(603, "2017-05-31", "2017-07-06")
        }),
        names "statement.tier";
    a_request_id_over_200_characters: app =>
        app.record_statement(pb::RecordStatementRequest {
            statement: Some(coalition_cumulative(603, "2017-05-31", "2017-07-06")),
            request_id: "r".repeat(201),
        }),
        names "request_id";
    a_page_size_of_0: app => app.list_sources(pb::ListSourcesRequest {
            page_size: Some(0),
            page_token: String::new(),
        }),
        names "page_size";
    a_garbage_page_token: app => app.list_incidents(pb::ListIncidentsRequest {
            page_token: "definitely-not-a-token".into(),
            ..Default::default()
        }),
        names "page_token";
    a_malformed_incident_id: app => app.get_incident(pb::GetIncidentRequest {
            incident_id: "CS1942".into(),
        }),
        names "incident_id";
    an_incident_linked_to_itself: app => app.link_incidents(pb::LinkIncidentsRequest {
            incident_id: "7".into(),
            linked_incident_id: "7".into(),
            request_id: String::new(),
        }),
        names "linked_incident_id";
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_field_of_a_request_is_reported_at_once() {
    let app = spawn_app().await;
    // The fixture puts the day in both occurred_from and occurred_to, so both are reported.
    let mut bad = incident("Airwars", "", "2017-13-01");
    bad.location.as_mut().unwrap().country = "sy".into();
    let err = app
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
