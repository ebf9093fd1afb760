//! Logs through tracing-subscriber: pretty for people, JSON for machines, chosen by configuration.
//! Each call gets a span naming its method. When the caller sends a W3C `traceparent`, the span
//! continues that trace: its id is in the logs (`trace_id`), and, with `otel.endpoint` set, the span
//! is exported over OTLP/gRPC as a child of the caller's span.

use anyhow::Context as _;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::settings::{LogFormat, LogSettings, OtelSettings};

/// The trace export, when configured: flush it before the process exits.
#[derive(Debug)]
pub struct TraceExport {
    provider: Option<SdkTracerProvider>,
}

impl TraceExport {
    /// Sends the spans still buffered. It blocks, so call it off the async runtime's workers.
    pub fn flush(&self) {
        if let Some(provider) = &self.provider
            && let Err(error) = provider.force_flush()
        {
            tracing::warn!(%error, "cannot flush the trace export");
        }
    }

    /// Flushes and stops the export.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "cannot stop the trace export cleanly");
        }
    }
}

/// Installs the global subscriber, writing to `sink`. `RUST_LOG` overrides the configured filter. A
/// second call (as in tests that start several servers) keeps the first subscriber.
pub fn init_subscriber<W>(settings: &LogSettings, sink: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    install(settings, None, sink);
}

/// As [`init_subscriber`], and exports spans to `otel.endpoint` when one is set. Must run inside the
/// Tokio runtime: the exporter's gRPC channel lives on it.
pub fn init_with_export<W>(
    log: &LogSettings,
    otel: &OtelSettings,
    sink: W,
) -> anyhow::Result<TraceExport>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let provider = match otel.endpoint.as_deref().filter(|e| !e.trim().is_empty()) {
        None => None,
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()
                .with_context(|| format!("otel.endpoint {endpoint}"))?;
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name(otel.service_name.clone())
                .build();
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(resource)
                    .build(),
            )
        }
    };
    install(log, provider.as_ref(), sink);
    Ok(TraceExport { provider })
}

fn install<W>(settings: &LogSettings, provider: Option<&SdkTracerProvider>, sink: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
    let fmt = tracing_subscriber::fmt::layer().with_writer(sink);
    let fmt = match settings.format {
        LogFormat::Pretty => fmt.boxed(),
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    let export = provider.map(|provider| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        tracing_opentelemetry::layer().with_tracer(provider.tracer("civcas"))
    });
    let installed = tracing_subscriber::registry()
        .with(fmt)
        .with(export)
        .with(filter)
        .try_init();
    // Err means a subscriber is already installed, which is fine.
    let _ = installed;
}

/// Reads propagation headers from a request.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The span every call runs in.
pub fn rpc_span(request: &http::Request<()>) -> tracing::Span {
    let span = tracing::info_span!(
        "rpc",
        method = %request.uri().path(),
        trace_id = tracing::field::Empty
    );
    if let Some(trace_id) = request
        .headers()
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .and_then(trace_id)
    {
        span.record("trace_id", trace_id);
        // With no export configured, the propagator is a no-op and so is this.
        let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&HeaderExtractor(request.headers()))
        });
        let _ = span.set_parent(parent);
    }
    span
}

/// The trace id of a version-00 `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), unless it is invalid
/// or all zeros, as the W3C Trace Context spec requires.
fn trace_id(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace_id, parent_id, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex =
        |s: &str, len| s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let valid = version == "00"
        && parts.next().is_none()
        && hex(trace_id, 32)
        && hex(parent_id, 16)
        && hex(flags, 2)
        && trace_id.bytes().any(|b| b != b'0')
        && parent_id.bytes().any(|b| b != b'0');
    valid.then_some(trace_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_traceparent_gives_its_trace_id() {
        assert_eq!(
            trace_id("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        for invalid in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(trace_id(invalid), None, "{invalid}");
        }
    }
}
