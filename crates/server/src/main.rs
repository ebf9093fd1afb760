//! `civcas-server`: serves the civcas gRPC API (the default), or checks a running server's health.

use std::io::Write;
use std::process::ExitCode;

use civcas_server::settings::Settings;
use civcas_server::{Application, check_health, shutdown_signal, telemetry};

const USAGE: &str = "\
civcas-server: keeps civilian-casualty figures from many sources and reconciles them over gRPC.

USAGE:
    civcas-server [serve]      serve the API (the default)
    civcas-server healthcheck  exit 0 when the local server's health is SERVING, 1 otherwise
    civcas-server hash-token   read a bearer token on stdin; print the SHA-256 that auth.tokens wants

Configuration: config/base.toml, config/$CIVCAS_ENV.toml, CIVCAS__SECTION__KEY variables and
DATABASE_URL; with no database URL, civcas runs its own PostgreSQL in .data/. See README.md.";

#[tokio::main]
async fn main() -> ExitCode {
    let command = std::env::args().nth(1);
    if matches!(command.as_deref(), Some("-h" | "--help" | "help")) {
        let _ = writeln!(std::io::stdout(), "{USAGE}");
        return ExitCode::SUCCESS;
    }
    if command.as_deref() == Some("hash-token") {
        return hash_token();
    }
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            let _ = writeln!(
                std::io::stderr(),
                "civcas-server: configuration error: {error}"
            );
            return ExitCode::from(2);
        }
    };
    match command.as_deref() {
        None | Some("serve") => serve(settings).await,
        Some("healthcheck") => healthcheck(&settings).await,
        Some(other) => {
            let _ = writeln!(
                std::io::stderr(),
                "civcas-server: unknown command {other:?}\n\n{USAGE}"
            );
            ExitCode::from(2)
        }
    }
}

async fn serve(settings: Settings) -> ExitCode {
    let export = match telemetry::init_with_export(&settings.log, &settings.otel, std::io::stdout) {
        Ok(export) => export,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "civcas-server: trace export: {error:#}");
            return ExitCode::from(2);
        }
    };
    let result = async {
        let app = Application::build(settings).await?;
        app.run_until(shutdown_signal()).await
    }
    .await;
    // Flushing blocks until the last spans are sent; the runtime's workers must stay free for it.
    let _ = tokio::task::spawn_blocking(move || export.shutdown()).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "civcas-server failed");
            ExitCode::FAILURE
        }
    }
}

async fn healthcheck(settings: &Settings) -> ExitCode {
    // A server listening on every interface is reached on loopback from inside its own container.
    let host = match settings.server.host.as_str() {
        "0.0.0.0" | "::" | "[::]" => "127.0.0.1",
        host => host,
    };
    let endpoint = format!("http://{host}:{}", settings.server.port);
    match check_health(endpoint).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            let _ = writeln!(std::io::stderr(), "not serving");
            ExitCode::FAILURE
        }
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "health check failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Tokens are read from stdin, not arguments, so they stay out of shell history and `ps`.
fn hash_token() -> ExitCode {
    let mut token = String::new();
    if let Err(error) = std::io::stdin().read_line(&mut token) {
        let _ = writeln!(std::io::stderr(), "cannot read the token: {error}");
        return ExitCode::FAILURE;
    }
    if token.trim().is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "give the token on stdin, e.g. `head -c 32 /dev/urandom | base64 | tee token | civcas-server hash-token`"
        );
        return ExitCode::from(2);
    }
    let _ = writeln!(
        std::io::stdout(),
        "{}",
        civcas_server::auth::hash_token(&token)
    );
    ExitCode::SUCCESS
}
