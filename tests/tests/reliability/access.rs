//! Who may call what, TLS, and the metrics endpoint.

use std::collections::BTreeMap;
use std::time::Duration;

use civcas_proto::v1 as pb;
use civcas_proto::v1::assessment_service_client::AssessmentServiceClient;
use civcas_proto::v1::figure_service_client::FigureServiceClient;
use civcas_proto::v1::incident_service_client::IncidentServiceClient;
use civcas_proto::v1::source_service_client::SourceServiceClient;
use civcas_proto::v1::statement_service_client::StatementServiceClient;
use civcas_server::auth::{Role, hash_token};
use civcas_server::settings::{AuthMode, TokenSettings};
use civcas_tests::{fresh_database_settings, metric_sample, spawn_app, spawn_app_with};
use prost::Message;
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_health::pb::health_check_response::ServingStatus;

const READ: &str = "reader-7b1f0c2e9d";
const WRITE: &str = "writer-51aa3e80c4";
const ADMIN: &str = "admin-c09d4f6b21";

fn authorized<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("an ASCII header"),
        );
    }
    request
}

fn code<T>(result: Result<T, tonic::Status>) -> Code {
    result.err().map_or(Code::Ok, |status| status.code())
}

/// Calls `rpc` with an empty request: enough to pass or fail access control, and never a write,
/// since an empty request is invalid for every write but ImportAssessments (which gets no rows).
async fn call(channel: &Channel, rpc: &str, token: Option<&str>) -> Code {
    let channel = channel.clone();
    macro_rules! unary {
        ($client:ident, $method:ident) => {
            code(
                $client::new(channel)
                    .$method(authorized(Default::default(), token))
                    .await,
            )
        };
    }
    match rpc {
        "RegisterSource" => unary!(SourceServiceClient, register_source),
        "GetSource" => unary!(SourceServiceClient, get_source),
        "ListSources" => unary!(SourceServiceClient, list_sources),
        "UpdateSource" => unary!(SourceServiceClient, update_source),
        "RecordIncident" => unary!(IncidentServiceClient, record_incident),
        "GetIncident" => unary!(IncidentServiceClient, get_incident),
        "ListIncidents" => unary!(IncidentServiceClient, list_incidents),
        "LinkIncidents" => unary!(IncidentServiceClient, link_incidents),
        "UnlinkIncidents" => unary!(IncidentServiceClient, unlink_incidents),
        "RecordAssessment" => unary!(AssessmentServiceClient, record_assessment),
        "ListAssessments" => unary!(AssessmentServiceClient, list_assessments),
        "ImportAssessments" => {
            let batches = tokio_stream::iter(vec![pb::ImportAssessmentsRequest::default()]);
            code(
                AssessmentServiceClient::new(channel)
                    .import_assessments(authorized(batches, token))
                    .await,
            )
        }
        "RecordStatement" => unary!(StatementServiceClient, record_statement),
        "ListStatements" => unary!(StatementServiceClient, list_statements),
        "GetStatementRevisions" => unary!(StatementServiceClient, get_statement_revisions),
        "GetReconciledFigures" => unary!(FigureServiceClient, get_reconciled_figures),
        "GetFigureSeries" => unary!(FigureServiceClient, get_figure_series),
        "GetAssessmentFlow" => unary!(FigureServiceClient, get_assessment_flow),
        "WatchFigures" => {
            let watch = FigureServiceClient::new(channel)
                .watch_figures(authorized(pb::WatchFiguresRequest::default(), token))
                .await;
            match watch {
                Ok(stream) => code(stream.into_inner().message().await),
                Err(status) => status.code(),
            }
        }
        other => panic!("{other} is new: add it to this matrix"),
    }
}

/// Every RPC of the proto, as `Service/Method` names.
fn every_rpc() -> Vec<String> {
    let files = prost_types::FileDescriptorSet::decode(civcas_proto::FILE_DESCRIPTOR_SET)
        .expect("the descriptor set decodes");
    files
        .file
        .iter()
        .flat_map(|file| &file.service)
        .flat_map(|service| service.method.iter().map(|m| m.name().to_owned()))
        .collect()
}

/// What the issue asks: `admin` registers and updates sources, `write` records and imports, `read`
/// queries; roles include the ones below them.
fn required(rpc: &str) -> Role {
    match rpc {
        "RegisterSource" | "UpdateSource" => Role::Admin,
        "RecordIncident" | "LinkIncidents" | "UnlinkIncidents" | "RecordAssessment"
        | "ImportAssessments" | "RecordStatement" => Role::Write,
        _ => Role::Read,
    }
}

fn tokens() -> Vec<TokenSettings> {
    [
        (READ, Role::Read),
        (WRITE, Role::Write),
        (ADMIN, Role::Admin),
    ]
    .into_iter()
    .map(|(token, role)| TokenSettings {
        name: role.as_str().to_owned(),
        role,
        sha256: hash_token(token),
    })
    .collect()
}

async fn spawn_with_auth() -> civcas_tests::TestApp {
    let mut settings = fresh_database_settings().await;
    settings.auth.mode = AuthMode::Required;
    settings.auth.tokens = tokens();
    spawn_app_with(settings).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorisation_matrix_has_no_mismatch() {
    let guarded = spawn_with_auth().await;
    // What each empty call gives once past access control: the same server code, with auth off.
    let open = spawn_app().await;
    let columns: [(&str, Option<&str>, Option<Role>); 5] = [
        ("none", None, None),
        ("unknown", Some("not-a-configured-token"), None),
        ("read", Some(READ), Some(Role::Read)),
        ("write", Some(WRITE), Some(Role::Write)),
        ("admin", Some(ADMIN), Some(Role::Admin)),
    ];
    let mut mismatches = Vec::new();
    let rpcs = every_rpc();
    for rpc in &rpcs {
        let baseline = call(&open.channel, rpc, None).await;
        assert!(
            !matches!(baseline, Code::Unauthenticated | Code::PermissionDenied),
            "{rpc} with auth off gave {baseline:?}"
        );
        for (column, token, role) in columns {
            let expected = match role {
                None => Code::Unauthenticated,
                Some(role) if role < required(rpc) => Code::PermissionDenied,
                Some(_) => baseline,
            };
            let got = call(&guarded.channel, rpc, token).await;
            if got != expected {
                mismatches.push(format!(
                    "{rpc} × {column}: expected {expected:?}, got {got:?}"
                ));
            }
        }
    }
    assert_eq!(rpcs.len(), 19);
    assert!(mismatches.is_empty(), "{mismatches:#?}");

    // Health and reflection need no token.
    let health = guarded
        .health()
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await;
    assert!(health.is_ok(), "{health:?}");
    let mut reflection =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(
            guarded.channel.clone(),
        );
    let list = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let reflected = reflection
        .server_reflection_info(tokio_stream::iter(vec![list]))
        .await
        .expect("reflection answers without a token")
        .into_inner()
        .message()
        .await;
    assert!(matches!(reflected, Ok(Some(_))), "{reflected:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_errors_say_what_is_wrong_without_leaking() {
    let app = spawn_with_auth().await;
    let mut sources = SourceServiceClient::new(app.channel.clone());
    let err = sources
        .list_sources(authorized(pb::ListSourcesRequest::default(), None))
        .await
        .unwrap_err();
    assert_eq!(
        civcas_tests::status::assert_error(&err, Code::Unauthenticated),
        "TOKEN_MISSING"
    );
    let err = sources
        .register_source(authorized(
            pb::RegisterSourceRequest::default(),
            Some(WRITE),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        civcas_tests::status::assert_error(&err, Code::PermissionDenied),
        "ROLE_INSUFFICIENT"
    );
    assert!(err.message().contains("admin"), "{}", err.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_by_code_and_report_the_pool_and_imports() {
    let app = spawn_app().await;
    civcas_tests::fixtures::register_seed_sources(&app).await;
    for _ in 0..3 {
        app.sources()
            .list_sources(pb::ListSourcesRequest::default())
            .await
            .unwrap();
    }
    let err = app
        .sources()
        .get_source(pb::GetSourceRequest {
            source_id: "Not A Slug".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let rows: Vec<pb::ImportRow> = (0..5)
        .map(|i| {
            let write = civcas_tests::fixtures::tagged_write(&format!("M{i}"));
            pb::ImportRow {
                index: i,
                assessment: write.assessment,
                incident: write.incident,
            }
        })
        .collect();
    let batch = pb::ImportAssessmentsRequest { rows };
    app.assessments()
        .import_assessments(tokio_stream::iter(vec![batch.clone(), batch]))
        .await
        .unwrap();

    let text = app.scrape_metrics().await;
    let handled = |method: &str, code: &str| {
        metric_sample(
            &text,
            &format!(
                "grpc_server_handled_total{{grpc_service=\"civcas.v1.SourceService\",grpc_method=\"{method}\",grpc_code=\"{code}\"}}"
            ),
        )
    };
    let figures = BTreeMap::from([
        ("ListSources OK", handled("ListSources", "OK")),
        (
            "GetSource INVALID_ARGUMENT",
            handled("GetSource", "INVALID_ARGUMENT"),
        ),
        ("RegisterSource OK", handled("RegisterSource", "OK")),
        (
            "import rows created",
            metric_sample(&text, "civcas_import_rows_total{outcome=\"created\"}"),
        ),
        (
            "import rows unchanged",
            metric_sample(&text, "civcas_import_rows_total{outcome=\"unchanged\"}"),
        ),
        (
            "import batches",
            metric_sample(&text, "civcas_import_batches_total"),
        ),
        (
            "pool max",
            metric_sample(&text, "civcas_db_pool_max_connections"),
        ),
    ]);
    assert_eq!(figures["ListSources OK"], Some(3.0));
    assert_eq!(figures["GetSource INVALID_ARGUMENT"], Some(1.0));
    assert_eq!(figures["RegisterSource OK"], Some(3.0));
    assert_eq!(figures["import rows created"], Some(5.0));
    assert_eq!(figures["import rows unchanged"], Some(5.0));
    assert_eq!(figures["import batches"], Some(2.0));
    assert_eq!(figures["pool max"], Some(16.0));
    assert!(
        text.contains("grpc_server_handling_seconds_count{grpc_service=\"civcas.v1.SourceService\",grpc_method=\"ListSources\"} 3"),
        "the handling histogram counts the three calls: {text}"
    );
    assert!(text.contains("civcas_db_pool_connections{state=\"idle\"}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_clients_that_trust_the_certificate_and_refuses_plaintext() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();
    let mut settings = fresh_database_settings().await;
    settings.tls = Some(civcas_server::settings::TlsSettings {
        cert_path,
        key_path,
    });
    settings.server.host = "127.0.0.1".into();
    let app = civcas_server::Application::build(settings).await.unwrap();
    let addr = app.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(
            certified.cert.pem(),
        ))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .expect("a TLS connection");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    civcas_tests::eventually(
        "the TLS server serves",
        Duration::from_secs(10),
        async || {
            let status = health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .map(|r| r.into_inner().status());
            match status {
                Ok(ServingStatus::Serving) => Ok(()),
                other => Err(other),
            }
        },
    )
    .await;
    SourceServiceClient::new(channel)
        .list_sources(pb::ListSourcesRequest::default())
        .await
        .expect("a call over TLS");

    let plaintext = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await;
    let refused = match plaintext {
        Err(_) => true,
        Ok(channel) => SourceServiceClient::new(channel)
            .list_sources(pb::ListSourcesRequest::default())
            .await
            .is_err(),
    };
    assert!(refused, "plaintext must not reach a TLS listener");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
