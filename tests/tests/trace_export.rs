//! OpenTelemetry export: a call that carries a W3C `traceparent` is exported over OTLP/gRPC as a span
//! of the caller's trace, with the caller's span as its parent. The collector is a small OTLP trace
//! service of the test's own. A test binary of its own, since the tracing subscriber is global.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use civcas_proto::v1 as pb;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;

/// A span as received, with its resource's `service.name`.
type Received = (Span, Option<String>);

#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Received>>>,
}

/// An attribute's value, debug-printed: enough to look for a string inside it.
fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref())
        .map(|v| format!("{:?}", v.value))
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .and_then(|resource| attribute(&resource.attributes, "service.name"));
            for scope in resource_spans.scope_spans {
                spans.extend(scope.spans.into_iter().map(|s| (s, service.clone())));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_with_a_traceparent_is_exported_as_a_child_of_the_callers_span() {
    const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT_ID: &str = "00f067aa0ba902b7";
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let settings = civcas_tests::fresh_database_settings().await;
    let mut otel = settings.otel.clone();
    otel.endpoint = Some(format!("http://{collector_addr}"));
    otel.service_name = "civcas-under-test".into();
    let export =
        civcas_server::telemetry::init_with_export(&settings.log, &otel, std::io::sink).unwrap();
    let app = civcas_tests::spawn_app_with(settings).await;

    let mut request = tonic::Request::new(pb::ListSourcesRequest::default());
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-{PARENT_ID}-01").parse().unwrap(),
    );
    app.sources().list_sources(request).await.unwrap();
    // Untraced calls are exported too, in traces of their own.
    app.sources()
        .list_sources(pb::ListSourcesRequest::default())
        .await
        .unwrap();

    let export = Arc::new(export);
    let exported = civcas_tests::eventually(
        "two rpc spans exported",
        Duration::from_secs(10),
        async || {
            let flushing = Arc::clone(&export);
            tokio::task::spawn_blocking(move || flushing.flush())
                .await
                .unwrap();
            let spans = collector.spans.lock().unwrap().clone();
            let rpc: Vec<_> = spans.into_iter().filter(|(s, _)| s.name == "rpc").collect();
            if rpc.len() >= 2 {
                Ok(rpc)
            } else {
                Err(rpc.len())
            }
        },
    )
    .await;
    let traced: Vec<_> = exported
        .iter()
        .filter(|(s, _)| hex(&s.trace_id) == TRACE_ID)
        .collect();
    assert_eq!(traced.len(), 1, "one span continues the caller's trace");
    let (span, service) = traced[0];
    assert_eq!(hex(&span.parent_span_id), PARENT_ID);
    assert!(
        service
            .as_deref()
            .is_some_and(|s| s.contains("civcas-under-test")),
        "{service:?}"
    );
    let method = attribute(&span.attributes, "method");
    assert!(
        method.is_some_and(|m| m.contains("/civcas.v1.SourceService/ListSources")),
        "the span names its method"
    );
    assert!(
        exported
            .iter()
            .any(|(s, _)| hex(&s.trace_id) != TRACE_ID && s.parent_span_id.is_empty()),
        "a call without a traceparent starts a trace of its own"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
