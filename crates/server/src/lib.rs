//! civcas's gRPC server: one module per service in [`api`], the [`middleware`] every call passes
//! through, configuration, telemetry, and the [`Application`] that puts them together.
//!
//! Data flows one way: a request is converted into domain values (validated once, by the `TryFrom`
//! conversions of `civcas_proto::domain`), passed to a repository, and the result converted back.
//! Errors become gRPC statuses in one place, [`errors`].

pub mod api;
pub mod auth;
pub mod errors;
pub mod methods;
pub mod metrics;
pub mod middleware;
pub mod requests;
pub mod settings;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use civcas_persistence::PgStore;
use civcas_persistence::embedded::{ClusterSettings, LocalCluster};
use civcas_proto::v1::assessment_service_server::{self, AssessmentServiceServer};
use civcas_proto::v1::figure_service_server::{self, FigureServiceServer};
use civcas_proto::v1::incident_service_server::{self, IncidentServiceServer};
use civcas_proto::v1::source_service_server::{self, SourceServiceServer};
use civcas_proto::v1::statement_service_server::{self, StatementServiceServer};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::api::{AssessmentApi, FigureApi, IncidentApi, SourceApi, StatementApi};
use crate::auth::Authenticator;
use crate::metrics::Metrics;
use crate::middleware::Middleware;
use crate::middleware::drain::Draining;
use crate::settings::Settings;

/// The services health reports on; the empty name stands for the whole server.
const HEALTH_SERVICES: [&str; 6] = [
    "",
    source_service_server::SERVICE_NAME,
    incident_service_server::SERVICE_NAME,
    assessment_service_server::SERVICE_NAME,
    statement_service_server::SERVICE_NAME,
    figure_service_server::SERVICE_NAME,
];

/// A server ready to run: its listeners are bound, its database migrated, its configuration checked.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    tls: Option<ServerTlsConfig>,
    auth: Authenticator,
    store: Arc<PgStore>,
    cluster: Option<LocalCluster>,
    settings: Settings,
}

impl Application {
    /// Connects to the configured database, or starts the managed cluster when none is configured;
    /// applies migrations; and binds the listener, so that the address is known before serving.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // Configuration mistakes surface before anything starts.
        let auth = Authenticator::from_settings(&settings.auth)?;
        let tls = match &settings.tls {
            Some(tls) => {
                let read = |path: &std::path::Path| {
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
                };
                let identity = Identity::from_pem(read(&tls.cert_path)?, read(&tls.key_path)?);
                Some(ServerTlsConfig::new().identity(identity))
            }
            None => None,
        };
        let database = &settings.database;
        let (url, cluster) = match &database.url {
            Some(url) => (url.clone(), None),
            None => {
                let cluster = LocalCluster::start(&ClusterSettings {
                    data_dir: database.data_dir.clone(),
                    bin_dir: database.bin_dir.clone(),
                })
                .await
                .context("starting the managed PostgreSQL")?;
                cluster.ensure_database(&database.name).await?;
                (cluster.url(&database.name), Some(cluster))
            }
        };
        PgStore::migrate(&url)
            .await
            .context("migrating the database")?;
        let store = Arc::new(PgStore::new(&url, &database.pool())?);
        let addr = settings
            .listen_addr()
            .context("server.host and server.port")?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let metrics_listener = if settings.metrics.enabled {
            let addr = settings
                .metrics_addr()
                .context("metrics.host and metrics.port")?;
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the metrics port {addr}"))?;
            Some(listener)
        } else {
            None
        };
        Ok(Self {
            listener,
            metrics_listener,
            tls,
            auth,
            store,
            cluster,
            settings,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `GET /metrics` answers, when metrics are enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// Serves until `shutdown` completes. Then health turns NOT_SERVING, new connections are refused,
    /// calls in flight get `server.shutdown_grace_secs` to finish, and the managed cluster is stopped.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            metrics_listener,
            tls,
            auth,
            store,
            cluster,
            settings,
        } = self;
        if auth.is_disabled() {
            tracing::warn!(
                "auth.mode is \"disabled\": anyone who can reach this port may read and write; \
                 never run like this outside a developer's machine"
            );
        } else {
            tracing::info!(tokens = auth.token_count(), "bearer tokens required");
        }
        let (reporter, health_service) = tonic_health::server::health_reporter();
        set_health(&reporter, ServingStatus::NotServing).await;
        let monitor = tokio::spawn(monitor_database(
            Arc::clone(&store),
            reporter.clone(),
            Duration::from_millis(settings.database.health_check_interval_ms),
        ));

        let metrics = Arc::new(Metrics::new());
        let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics_server = metrics_listener.map(|listener| {
            tracing::info!(addr = ?listener.local_addr().ok(), "metrics at /metrics");
            tokio::spawn(metrics::serve(
                listener,
                Arc::clone(&metrics),
                Arc::clone(&store),
                async move {
                    let _ = metrics_stopped.await;
                },
            ))
        });
        let auth = Arc::new(auth);

        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(civcas_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection().build_v1()?;
        let reflection_v1alpha = reflection().build_v1alpha()?;

        let (changes, change_feed) = store.listen_for_changes();
        let follower = store.follow_changes(changes.clone());
        let stop_feed = change_feed.abort_handle();
        let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel();
        let shutdown_reporter = reporter.clone();
        let draining = Arc::new(Draining::default());
        let shutting_down = Arc::clone(&draining);
        let on_shutdown = async move {
            shutdown.await;
            tracing::info!("shutting down: refusing new calls, finishing calls in flight");
            shutting_down.start();
            set_health(&shutdown_reporter, ServingStatus::NotServing).await;
            // Closing the change feed ends every WatchFigures stream.
            stop_feed.abort();
            let _ = signalled_tx.send(());
        };
        // serve_with_incoming ignores Server::tcp_nodelay: without this, streaming calls stall ~40 ms.
        let addr = listener.local_addr()?;
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        tracing::info!(%addr, tls = tls.is_some(), "civcas serving");
        let mut builder = Server::builder();
        if let Some(tls) = tls {
            builder = builder.tls_config(tls).context("TLS configuration")?;
        }
        let middleware = Middleware::new(
            Arc::clone(&metrics),
            draining,
            auth,
            settings.server.concurrency(),
            settings.server.request_timeout(),
        );
        let max_message = settings.server.max_message_bytes;
        // The generated servers share no trait, so the limits are set by a macro.
        macro_rules! limited {
            ($server:expr) => {
                $server
                    .max_decoding_message_size(max_message)
                    .max_encoding_message_size(max_message)
            };
        }
        let server = builder
            .trace_fn(telemetry::rpc_span)
            .layer(middleware)
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(limited!(SourceServiceServer::new(SourceApi::new(
                Arc::clone(&store)
            ))))
            .add_service(limited!(IncidentServiceServer::new(IncidentApi::new(
                Arc::clone(&store)
            ))))
            .add_service(limited!(AssessmentServiceServer::new(AssessmentApi::new(
                Arc::clone(&store),
                Arc::clone(&metrics),
            ))))
            .add_service(limited!(StatementServiceServer::new(StatementApi::new(
                Arc::clone(&store)
            ))))
            .add_service(limited!(FigureServiceServer::new(FigureApi::new(
                Arc::clone(&store),
                changes
            ))))
            .serve_with_incoming_shutdown(incoming, on_shutdown);

        let grace = Duration::from_secs(settings.server.shutdown_grace_secs);
        let grace_over = async move {
            match signalled_rx.await {
                Ok(()) => tokio::time::sleep(grace).await,
                Err(_) => std::future::pending().await,
            }
        };
        let served = tokio::select! {
            served = server => served.context("serving"),
            () = grace_over => {
                tracing::warn!(?grace, "grace period over; closing the connections still open");
                Ok(())
            }
        };

        monitor.abort();
        follower.abort();
        change_feed.abort();
        let _ = stop_metrics.send(());
        if let Some(metrics_server) = metrics_server {
            let _ = metrics_server.await;
        }
        drop(store);
        if let Some(cluster) = cluster {
            cluster
                .stop()
                .await
                .context("stopping the managed PostgreSQL")?;
        }
        tracing::info!("stopped");
        served
    }
}

async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    for service in HEALTH_SERVICES {
        reporter.set_service_status(service, status).await;
    }
}

/// Keeps health in step with the database: SERVING while it answers, NOT_SERVING while it does not.
async fn monitor_database(store: Arc<PgStore>, reporter: HealthReporter, interval: Duration) {
    let mut serving = None;
    loop {
        let status = match store.ping().await {
            Ok(()) => ServingStatus::Serving,
            Err(error) => {
                if serving != Some(ServingStatus::NotServing) {
                    tracing::warn!(%error, "database unreachable: health is NOT_SERVING");
                }
                ServingStatus::NotServing
            }
        };
        if serving != Some(status) {
            if status == ServingStatus::Serving {
                tracing::info!("database reachable: health is SERVING");
            }
            set_health(&reporter, status).await;
            serving = Some(status);
        }
        tokio::time::sleep(interval).await;
    }
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = interrupt => {},
        () = terminate => {},
    }
}

/// Asks the health service of the server at `endpoint` whether it is SERVING.
pub async fn check_health(endpoint: String) -> anyhow::Result<bool> {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    let channel = tonic::transport::Endpoint::from_shared(endpoint)?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(3))
        .connect()
        .await?;
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await?;
    Ok(response.into_inner().status()
        == tonic_health::pb::health_check_response::ServingStatus::Serving)
}
