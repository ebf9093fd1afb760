//! Metrics for monitoring platforms, in the Prometheus text format, on a port of their own.
//!
//! - `grpc_server_handled_total{grpc_service,grpc_method,grpc_code}`: calls finished, by final code;
//! - `grpc_server_handling_seconds{grpc_service,grpc_method}`: a histogram of call durations, until the
//!   last message of the response;
//! - `civcas_db_pool_*`: the connection pool, read at each scrape;
//! - `civcas_import_*`: ImportAssessments rows by outcome, and batches committed;
//! - `civcas_read_model_*`: the facts held in memory (incidents), and how often they were read whole
//!   (loads) or caught up with writes (catch-ups, incidents read again), read at each scrape;
//! - `civcas_coalesced_records_total{outcome}`: RecordAssessment calls without a request id that
//!   created their incident with one statement, or were written in a batch with others, or alone,
//!   read at each scrape.
//!
//! Labels take only the names in [`crate::methods`] and the 17 gRPC codes, so they stay bounded.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use civcas_persistence::PgStore;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tonic::Code;

use crate::errors;
use crate::methods::Method;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandledLabels {
    grpc_service: &'static str,
    grpc_method: &'static str,
    grpc_code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    grpc_service: &'static str,
    grpc_method: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

fn handling_histogram() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Every metric civcas keeps. Cheap to share: the families are reference-counted inside.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    handled: Family<HandledLabels, Counter>,
    handling: Family<MethodLabels, Histogram, fn() -> Histogram>,
    import_rows: Family<OutcomeLabels, Counter>,
    import_batches: Counter,
    pool_connections: Family<StateLabels, Gauge>,
    pool_max: Gauge,
    pool_waiting: Gauge,
    read_model_incidents: Gauge,
    read_model_events: Family<OutcomeLabels, Counter>,
    coalesced_records: Family<OutcomeLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let handled = Family::<HandledLabels, Counter>::default();
        registry.register(
            "grpc_server_handled",
            "gRPC calls finished on the server, by method and final status code",
            handled.clone(),
        );
        let handling = Family::<MethodLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            handling_histogram,
        );
        registry.register(
            "grpc_server_handling_seconds",
            "How long gRPC calls took, from the request to the last response message",
            handling.clone(),
        );
        let import_rows = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "civcas_import_rows",
            "ImportAssessments rows, by outcome: created, unchanged or rejected",
            import_rows.clone(),
        );
        let import_batches = Counter::default();
        registry.register(
            "civcas_import_batches",
            "ImportAssessments batches committed",
            import_batches.clone(),
        );
        let pool_connections = Family::<StateLabels, Gauge>::default();
        registry.register(
            "civcas_db_pool_connections",
            "Database connections open in the pool, by state: idle or in_use",
            pool_connections.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "civcas_db_pool_max_connections",
            "The most connections the pool opens",
            pool_max.clone(),
        );
        let pool_waiting = Gauge::default();
        registry.register(
            "civcas_db_pool_waiting",
            "Calls waiting for a database connection",
            pool_waiting.clone(),
        );
        let read_model_incidents = Gauge::default();
        registry.register(
            "civcas_read_model_incidents",
            "Incidents the read model holds in memory: those an assessment, a DUPLICATE verdict or a link names",
            read_model_incidents.clone(),
        );
        let read_model_events = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "civcas_read_model",
            "What the read model did, by outcome: read every fact (load), caught up with writes (catch_up), and the incidents it read again for them (incident_read_again)",
            read_model_events.clone(),
        );
        let coalesced_records = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "civcas_coalesced_records",
            "RecordAssessment calls without a request id, by outcome: created their incident with one statement (new_incident), otherwise written in a batch with others (batched), or alone",
            coalesced_records.clone(),
        );
        Self {
            registry,
            handled,
            handling,
            import_rows,
            import_batches,
            pool_connections,
            pool_max,
            pool_waiting,
            read_model_incidents,
            read_model_events,
            coalesced_records,
        }
    }

    /// Records one finished call.
    pub fn call_handled(&self, method: &Method, code: Code, took: Duration) {
        self.handled
            .get_or_create(&HandledLabels {
                grpc_service: method.service_name,
                grpc_method: method.name,
                grpc_code: errors::code_name(code),
            })
            .inc();
        self.handling
            .get_or_create(&MethodLabels {
                grpc_service: method.service_name,
                grpc_method: method.name,
            })
            .observe(took.as_secs_f64());
    }

    /// How many calls of `method` finished with `code`.
    #[cfg(test)]
    pub(crate) fn handled(&self, method: &Method, code: Code) -> u64 {
        self.handled
            .get_or_create(&HandledLabels {
                grpc_service: method.service_name,
                grpc_method: method.name,
                grpc_code: errors::code_name(code),
            })
            .get()
    }

    /// Records one committed import batch.
    pub fn import_batch(&self, created: u64, unchanged: u64, rejected: u64) {
        self.import_batches.inc();
        for (outcome, rows) in [
            ("created", created),
            ("unchanged", unchanged),
            ("rejected", rejected),
        ] {
            self.import_rows
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(rows);
        }
    }

    /// The text exposition, with the pool read now.
    pub fn render(&self, store: &PgStore) -> String {
        let pool = store.pool_status();
        let gauge = |value: usize| i64::try_from(value).unwrap_or(i64::MAX);
        self.pool_connections
            .get_or_create(&StateLabels { state: "idle" })
            .set(gauge(pool.available));
        self.pool_connections
            .get_or_create(&StateLabels { state: "in_use" })
            .set(gauge(pool.size.saturating_sub(pool.available)));
        self.pool_max.set(gauge(pool.max_size));
        self.pool_waiting.set(gauge(pool.waiting));
        // The store counts these; each counter catches up with it, and so never goes down.
        let catch_up = |family: &Family<OutcomeLabels, Counter>, outcome, now: u64| {
            let counter = family.get_or_create(&OutcomeLabels { outcome });
            counter.inc_by(now.saturating_sub(counter.get()));
        };
        let model = store.read_model_status();
        self.read_model_incidents.set(gauge(model.incidents));
        catch_up(&self.read_model_events, "load", model.loads);
        catch_up(&self.read_model_events, "catch_up", model.catch_ups);
        catch_up(
            &self.read_model_events,
            "incident_read_again",
            model.incidents_read_again,
        );
        let records = store.coalesced_counts();
        catch_up(
            &self.coalesced_records,
            "new_incident",
            records.new_incidents,
        );
        catch_up(&self.coalesced_records, "batched", records.batched);
        catch_up(&self.coalesced_records, "alone", records.alone);
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    store: Arc<PgStore>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "metrics: cannot accept a connection");
                    continue;
                }
            },
        };
        let metrics = Arc::clone(&metrics);
        let store = Arc::clone(&store);
        let respond = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let response = if request.uri().path() == "/metrics" {
                Response::builder()
                    .header(
                        hyper::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )
                    .body(Full::new(Bytes::from(metrics.render(&store))))
            } else {
                Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body(Full::new(Bytes::from_static(b"metrics are at /metrics\n")))
            };
            std::future::ready(Ok::<_, Infallible>(response.unwrap_or_default()))
        });
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, respond)
                .await
            {
                tracing::debug!(%error, "metrics: connection ended with an error");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handled_calls_are_counted_by_method_and_code() {
        let metrics = Metrics::new();
        let method = Method::from_path("/civcas.v1.SourceService/ListSources");
        metrics.call_handled(&method, Code::Ok, Duration::from_millis(3));
        metrics.call_handled(&method, Code::Ok, Duration::from_millis(5));
        metrics.call_handled(
            &Method::from_path("/no/such"),
            Code::Unimplemented,
            Duration::ZERO,
        );
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.registry).unwrap();
        assert!(
            text.contains(
                r#"grpc_server_handled_total{grpc_service="civcas.v1.SourceService",grpc_method="ListSources",grpc_code="OK"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(
            r#"grpc_server_handled_total{grpc_service="unknown",grpc_method="unknown",grpc_code="UNIMPLEMENTED"} 1"#
        ));
        assert!(text.contains(
            r#"grpc_server_handling_seconds_count{grpc_service="civcas.v1.SourceService",grpc_method="ListSources"} 2"#
        ));
    }
}
