//! Typed, layered configuration: built-in defaults, then `config/base.toml`, then `config/<env>.toml`
//! (env from `CIVCAS_ENV`, default `local`), then `CIVCAS__SECTION__KEY` environment variables, then
//! `DATABASE_URL`. The result is passed in wherever it is needed; nothing reads it globally.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use civcas_persistence::PoolSettings;
use config::{Config, ConfigError, Environment, File, FileFormat};
use secrecy::SecretString;
use serde::Deserialize;

/// The defaults every layer starts from; docs/operations.md's configuration reference lists the
/// same keys.
const DEFAULTS: &str = r#"
[server]
host = "127.0.0.1"
port = 50051
shutdown_grace_secs = 10
request_timeout_ms = 30000
max_concurrent_calls = 64
max_queued_calls = 256
max_message_bytes = 16777216

[auth]
mode = "required"
tokens = []

[metrics]
enabled = true
host = "127.0.0.1"
port = 9464

[database]
data_dir = ".data"
name = "civcas"
pool_max_size = 16
acquire_timeout_ms = 5000
connect_timeout_ms = 5000
statement_timeout_ms = 30000
health_check_interval_ms = 1000

[log]
format = "pretty"
filter = "info"

[otel]
service_name = "civcas"
"#;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub otel: OtelSettings,
    pub auth: AuthSettings,
    pub metrics: MetricsSettings,
    #[serde(default)]
    pub tls: Option<TlsSettings>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// How long calls in flight may take to finish after SIGTERM or SIGINT.
    pub shutdown_grace_secs: u64,
    /// The longest a call may run, unless the client's own deadline (`grpc-timeout`) is shorter.
    /// ImportAssessments is bounded only by the client's deadline, since a large import takes minutes.
    pub request_timeout_ms: u64,
    /// Calls handled at once.
    pub max_concurrent_calls: usize,
    /// Calls that may wait for a turn (within their deadline); one more is refused at once with
    /// RESOURCE_EXHAUSTED.
    pub max_queued_calls: usize,
    /// The largest message the server decodes or sends.
    pub max_message_bytes: usize,
}

/// OpenTelemetry trace export, off unless an endpoint is set.
#[derive(Debug, Clone, Deserialize)]
pub struct OtelSettings {
    /// An OTLP/gRPC collector, e.g. `http://otel-collector:4317`.
    pub endpoint: Option<String>,
    /// The `service.name` resource of the exported spans.
    pub service_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Every call but health and reflection needs a bearer token with a sufficient role.
    Required,
    /// No checks at all; the server warns at start. For a developer's machine only.
    Disabled,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub mode: AuthMode,
    pub tokens: Vec<TokenSettings>,
}

/// One accepted bearer token, stored as its SHA-256 (`civcas-server hash-token` prints it).
#[derive(Debug, Clone, Deserialize)]
pub struct TokenSettings {
    /// Who holds the token, for the logs.
    pub name: String,
    pub role: crate::auth::Role,
    /// The token's SHA-256, in hex.
    pub sha256: String,
}

/// Prometheus metrics, served over HTTP on a port of their own.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricsSettings {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
}

/// TLS for the gRPC listener: both files in PEM.
#[derive(Debug, Clone, Deserialize)]
pub struct TlsSettings {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// A PostgreSQL URL. When unset, civcas runs its own cluster in `data_dir`.
    pub url: Option<SecretString>,
    /// The managed cluster's folder, when no URL is set.
    pub data_dir: PathBuf,
    /// The folder of `initdb` and `postgres`, when it cannot be found automatically.
    pub bin_dir: Option<PathBuf>,
    /// The database created in the managed cluster.
    pub name: String,
    pub pool_max_size: usize,
    pub acquire_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    pub statement_timeout_ms: u64,
    /// How often health checks the database.
    pub health_check_interval_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, for people.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A tracing `EnvFilter` directive, e.g. `info` or `civcas_server=debug,info`. `RUST_LOG` wins.
    pub filter: String,
}

impl Settings {
    /// Loads the layers from `config/` (or `CIVCAS_CONFIG_DIR`) and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        let dir = std::env::var_os("CIVCAS_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config"));
        let env = std::env::var("CIVCAS_ENV").unwrap_or_else(|_| "local".to_owned());
        let database_url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| !url.trim().is_empty());
        Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::from(dir.join("base")).required(false))
            .add_source(File::from(dir.join(&env)).required(false))
            .add_source(
                Environment::with_prefix("CIVCAS")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .set_override_option("database.url", database_url)?
            .build()?
            .try_deserialize()
    }

    /// The built-in defaults alone; for tests and tools that configure the rest in code.
    pub fn defaults() -> Result<Self, ConfigError> {
        Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .build()?
            .try_deserialize()
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, std::net::AddrParseError> {
        socket_addr(&self.server.host, self.server.port)
    }

    pub fn metrics_addr(&self) -> Result<SocketAddr, std::net::AddrParseError> {
        socket_addr(&self.metrics.host, self.metrics.port)
    }
}

fn socket_addr(host: &str, port: u16) -> Result<SocketAddr, std::net::AddrParseError> {
    // An IPv6 literal needs brackets before the port.
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}").parse()
    } else {
        format!("{host}:{port}").parse()
    }
}

impl ServerSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn concurrency(&self) -> crate::middleware::admission::Concurrency {
        crate::middleware::admission::Concurrency {
            max_concurrent_calls: self.max_concurrent_calls,
            max_queued_calls: self.max_queued_calls,
        }
    }
}

impl DatabaseSettings {
    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_size: self.pool_max_size,
            acquire_timeout: Duration::from_millis(self.acquire_timeout_ms),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            statement_timeout: Duration::from_millis(self.statement_timeout_ms),
            application_name: "civcas".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_deserialize() {
        let settings = Settings::defaults().unwrap();
        assert_eq!(settings.server.port, 50051);
        assert!(settings.database.url.is_none());
        assert_eq!(settings.log.format, LogFormat::Pretty);
        assert_eq!(
            settings.auth.mode,
            AuthMode::Required,
            "auth is on unless configured off"
        );
        assert!(settings.tls.is_none());
        assert_eq!(
            settings.listen_addr().unwrap().to_string(),
            "127.0.0.1:50051"
        );
    }

    #[test]
    fn the_shipped_config_files_deserialize_over_the_defaults() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config");
        for env in ["local", "production", "compose"] {
            let settings: Settings = Config::builder()
                .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
                .add_source(File::from(dir.join("base")))
                .add_source(File::from(dir.join(env)))
                .build()
                .unwrap()
                .try_deserialize()
                .unwrap();
            assert!(settings.listen_addr().is_ok(), "{env}");
            let auth = crate::auth::Authenticator::from_settings(&settings.auth).unwrap();
            // Only a developer's machine runs without tokens.
            assert_eq!(auth.is_disabled(), env == "local", "{env}");
        }
    }

    #[test]
    fn ipv6_hosts_get_brackets() {
        let mut settings = Settings::defaults().unwrap();
        settings.server.host = "::".into();
        assert_eq!(settings.listen_addr().unwrap().to_string(), "[::]:50051");
    }
}
