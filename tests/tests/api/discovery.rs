//! What a grpcurl user discovers with no proto files: reflection (v1 and v1alpha) and health.

use civcas_tests::spawn_app;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_reflection::pb::{v1, v1alpha};

const CIVCAS_SERVICES: [&str; 5] = [
    "civcas.v1.AssessmentService",
    "civcas.v1.FigureService",
    "civcas.v1.IncidentService",
    "civcas.v1.SourceService",
    "civcas.v1.StatementService",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_v1_lists_every_civcas_service() {
    let app = spawn_app().await;
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(app.channel.clone());
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        response.message_response
    else {
        panic!("not a service list: {response:?}");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for service in CIVCAS_SERVICES.iter().chain(&["grpc.health.v1.Health"]) {
        assert!(
            names.iter().any(|n| n == service),
            "{service} missing from {names:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_v1alpha_lists_and_describes_every_civcas_service() {
    let app = spawn_app().await;
    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(app.channel.clone());
    let list = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let describe = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "civcas.v1.AssessmentService".into(),
            ),
        ),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([list, describe]))
        .await
        .unwrap()
        .into_inner();
    let listed = responses.message().await.unwrap().unwrap();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        listed.message_response
    else {
        panic!("not a service list: {listed:?}");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for service in CIVCAS_SERVICES {
        assert!(
            names.iter().any(|n| n == service),
            "{service} missing from {names:?}"
        );
    }
    let described = responses.message().await.unwrap().unwrap();
    let Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(files)) =
        described.message_response
    else {
        panic!("not a file descriptor: {described:?}");
    };
    assert!(!files.file_descriptor_proto.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_says_serving_for_the_server_and_each_service() {
    let app = spawn_app().await;
    let mut health = app.health();
    for service in CIVCAS_SERVICES.iter().chain(&[""]) {
        let status = health
            .check(HealthCheckRequest {
                service: (*service).to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_turns_not_serving_and_calls_fail_unavailable_when_the_database_goes_away() {
    // A cluster of this test's own, since it is stopped mid-test.
    let cluster = civcas_persistence::embedded::LocalCluster::start_temporary()
        .await
        .unwrap();
    cluster.ensure_database("outage").await.unwrap();
    let mut settings = civcas_tests::fresh_database_settings().await;
    settings.database.url = Some(cluster.url("outage"));
    settings.database.acquire_timeout_ms = 500;
    settings.database.connect_timeout_ms = 500;
    let app = civcas_tests::spawn_app_with(settings).await;
    civcas_tests::fixtures::register_seed_sources(&app).await;

    cluster.stop().await.unwrap();
    app.wait_for_health(ServingStatus::NotServing).await;
    let started = std::time::Instant::now();
    let err = app
        .get_source(civcas_proto::v1::GetSourceRequest {
            source_id: "airwars".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        civcas_tests::status::assert_error(&err, tonic::Code::Unavailable),
        "DATABASE_UNAVAILABLE"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "UNAVAILABLE took {:?}",
        started.elapsed()
    );
}
