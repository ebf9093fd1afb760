//! The end-to-end harness: the real civcas server, in process or as its binary, against a real
//! PostgreSQL. Nothing is mocked.
//!
//! Each test process starts one throwaway PostgreSQL cluster (about a second) and gives every test a
//! fresh database in it, so tests run in parallel without seeing each other's data.
//!
//! A test starts a server with [`spawn_app`] and calls it through [`TestApp`]'s methods, one per
//! RPC ([`rpc`]), builds records with [`fixtures`], and waits for what happens later with
//! [`eventually`].

use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use civcas_persistence::embedded::LocalCluster;
use civcas_proto::v1::assessment_service_client::AssessmentServiceClient;
use civcas_proto::v1::figure_service_client::FigureServiceClient;
use civcas_proto::v1::incident_service_client::IncidentServiceClient;
use civcas_proto::v1::source_service_client::SourceServiceClient;
use civcas_proto::v1::statement_service_client::StatementServiceClient;
use civcas_server::Application;
use civcas_server::settings::Settings;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

pub mod data;
pub mod dataset;
pub mod db;
pub mod fixtures;
pub mod real;
pub mod rpc;
pub mod status;

/// Calls `check` every 20 ms until it gives `Ok`, for `within` at most; then fails, saying that
/// `what` did not happen and what `check` last gave.
pub async fn eventually<T, E: std::fmt::Debug>(
    what: &str,
    within: Duration,
    mut check: impl AsyncFnMut() -> Result<T, E>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match check().await {
            Ok(done) => return done,
            Err(last) => assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: not within {within:?}; last {last:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

static CLUSTER: OnceLock<LocalCluster> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The test process's cluster, started on first use.
///
/// It is started on a thread of its own that lives as long as the process: the kernel stops
/// PostgreSQL when the thread that started it ends (`--pdeathsig`), so it must not be a test's thread.
pub fn cluster() -> &'static LocalCluster {
    CLUSTER.get_or_init(|| {
        remove_stale_test_clusters();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("test-postgres".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the test cluster");
                runtime.block_on(async move {
                    let cluster = LocalCluster::start_temporary().await;
                    let _ = sender.send(cluster);
                    std::future::pending::<()>().await;
                });
            })
            .expect("a thread for the test cluster");
        receiver
            .recv()
            .expect("the test cluster thread answers")
            .expect("the test cluster starts: are PostgreSQL's server binaries installed?")
    })
}

/// Removes the folders of earlier test processes' clusters, which outlive them because a `static`
/// is never dropped. A folder whose postmaster still runs belongs to a live process and is kept.
fn remove_stale_test_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| SystemTime::now().duration_since(modified).ok())
            .is_some_and(|age| age > Duration::from_secs(60));
        let stale = if name.starts_with("civcas-test-pg-") {
            old && !postmaster_alive(&path.join("postgres"))
        } else if name.starts_with("civcas-pg-") {
            // A socket folder is empty once its server has stopped.
            old && std::fs::read_dir(&path).is_ok_and(|mut dir| dir.next().is_none())
        } else {
            false
        };
        if stale {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

fn postmaster_alive(pgdata: &Path) -> bool {
    std::fs::read_to_string(pgdata.join("postmaster.pid"))
        .ok()
        .and_then(|pid_file| pid_file.lines().next()?.trim().parse::<u32>().ok())
        .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

/// A store on a fresh, migrated database of the test cluster, without a server, and its url.
pub async fn fresh_store() -> (civcas_persistence::PgStore, secrecy::SecretString) {
    use civcas_persistence::{PgStore, PoolSettings};

    let url = fresh_database_settings()
        .await
        .database
        .url
        .expect("a database url");
    PgStore::migrate(&url).await.expect("migrations");
    let store = PgStore::new(&url, &PoolSettings::default()).expect("a store");
    (store, url)
}

/// A fresh, migrated database in the test cluster, and settings that point at it.
pub async fn fresh_database_settings() -> Settings {
    let cluster = cluster();
    let name = format!(
        "test_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::Relaxed)
    );
    cluster
        .ensure_database(&name)
        .await
        .expect("a test database");
    let mut settings = Settings::defaults().expect("default settings");
    settings.database.url = Some(cluster.url(&name));
    settings.server.port = 0;
    settings.server.shutdown_grace_secs = 2;
    settings.database.health_check_interval_ms = 100;
    // Said explicitly, as the server requires: tests that check access control turn it back on.
    settings.auth.mode = civcas_server::settings::AuthMode::Disabled;
    settings.metrics.port = 0;
    if std::env::var_os("TEST_LOG").is_some() {
        civcas_server::telemetry::init_subscriber(&settings.log, std::io::stderr);
    }
    settings
}

/// A server running in this process on its own database.
#[derive(Debug)]
pub struct TestApp {
    pub addr: SocketAddr,
    /// Where `GET /metrics` answers.
    pub metrics_addr: Option<SocketAddr>,
    pub channel: Channel,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// Starts the server on `127.0.0.1:0` with a fresh database. The listener is bound before this
/// returns, so no test needs to sleep.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(fresh_database_settings().await).await
}

/// Starts the server with `settings`, on `127.0.0.1:0`, and waits until it is SERVING.
pub async fn spawn_app_with(mut settings: Settings) -> TestApp {
    settings.server.host = "127.0.0.1".into();
    settings.server.port = 0;
    let app = Application::build(settings)
        .await
        .expect("the application builds");
    let addr = app.local_addr().expect("a bound address");
    let metrics_addr = app.metrics_addr();
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop.await;
    }));
    let channel = connect(addr).await;
    let app = TestApp {
        addr,
        metrics_addr,
        channel,
        shutdown: Some(shutdown),
        server: Some(server),
    };
    app.wait_until_serving().await;
    app
}

impl TestApp {
    /// `GET /metrics` over plain HTTP/1.1: the whole response, status line included.
    pub async fn scrape_metrics(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.metrics_addr.expect("metrics are enabled");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: civcas\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        response
    }
}

/// The value of the metric sample named exactly `series` (name and labels) in a scrape's `text`.
pub fn metric_sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A client connection of its own to the server at `addr`, as a separate service would have.
pub async fn connect(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("a valid endpoint")
        .connect()
        .await
        .expect("the server accepts connections")
}

impl TestApp {
    pub fn sources(&self) -> SourceServiceClient<Channel> {
        SourceServiceClient::new(self.channel.clone())
    }

    pub fn incidents(&self) -> IncidentServiceClient<Channel> {
        IncidentServiceClient::new(self.channel.clone())
    }

    pub fn assessments(&self) -> AssessmentServiceClient<Channel> {
        AssessmentServiceClient::new(self.channel.clone())
    }

    pub fn statements(&self) -> StatementServiceClient<Channel> {
        StatementServiceClient::new(self.channel.clone())
    }

    pub fn figures(&self) -> FigureServiceClient<Channel> {
        FigureServiceClient::new(self.channel.clone())
    }

    pub fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel.clone())
    }

    /// Health turns SERVING once the database has answered its first ping.
    async fn wait_until_serving(&self) {
        self.wait_for_health(ServingStatus::Serving).await;
    }

    /// Waits, for ten seconds at most, until the server's overall health is `wanted`.
    pub async fn wait_for_health(&self, wanted: ServingStatus) {
        let what = format!("health becomes {wanted:?}");
        eventually(&what, Duration::from_secs(10), async || {
            let status = self
                .health()
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .map(|r| r.into_inner().status());
            match status {
                Ok(status) if status == wanted => Ok(()),
                other => Err(other),
            }
        })
        .await;
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("the server task completes")
                .expect("the server stops cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Every item of a List RPC, page after page: `every_page!(client.list_x, request, field)`, where
/// `field` names the response's repeated items. A macro because the generated List methods share no
/// trait.
#[macro_export]
macro_rules! every_page {
    ($client:ident . $method:ident, $request:expr, $items:ident) => {{
        let mut request = $request;
        let mut items = Vec::new();
        loop {
            let page = $client
                .$method(request.clone())
                .await
                .expect("a page")
                .into_inner();
            items.extend(page.$items);
            if page.next_page_token.is_empty() {
                break items;
            }
            request.page_token = page.next_page_token;
        }
    }};
}
