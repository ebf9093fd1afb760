//! `civcas`: the command-line client of the civcas gRPC service.
//!
//! Every command talks to a running server (`--endpoint`, default `http://127.0.0.1:50051`). Output is
//! a table for people, or proto3 JSON with `--json` for programs. Errors print the server's reason
//! and every field violation, and exit with status 1.

mod client;
mod demo;
mod figures;
mod import;
mod output;
mod records;
mod sources;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// civcas keeps civilian-casualty figures from many sources side by side and reconciles them.
///
/// Start a server first (scripts/serve in the civcas repository), then, for example:
///
///   civcas demo
///   civcas figures flow --source cjtf-oir --from 2017-06-01 --to 2017-06-30
///   civcas import airwars ../shared/data/airwars-syria
///   civcas figures reconcile --from 2017-01-01 --to 2017-12-31 --country SY --attributed-to coalition
#[derive(Debug, Parser)]
#[command(name = "civcas", version, verbatim_doc_comment)]
struct Cli {
    /// The server's address.
    #[arg(
        long,
        env = "CIVCAS_ENDPOINT",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    endpoint: String,
    /// A bearer token, sent with every call when given.
    #[arg(long, env = "CIVCAS_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Print proto3 JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Register, show and list sources: the organisations that publish figures.
    #[command(subcommand)]
    Sources(sources::SourcesCommand),
    /// Incidents: get, list, link.
    #[command(subcommand)]
    Incidents(records::IncidentsCommand),
    /// Assessments, current or with their history.
    #[command(subcommand)]
    Assessments(records::AssessmentsCommand),
    /// Statements and their revision chains.
    #[command(subcommand)]
    Statements(records::StatementsCommand),
    /// Reconciled figures and assessment flows.
    #[command(subcommand)]
    Figures(figures::FiguresCommand),
    /// Import real data files.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Load the seed article's figures (RT, 4 August 2017) into the server, to have something to ask.
    Demo,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = async {
        let connection = client::Connection::open(&cli.endpoint, cli.token.as_deref()).await?;
        let out = output::Output { json: cli.json };
        match cli.command {
            Command::Sources(command) => sources::run(command, &connection, &out).await,
            Command::Incidents(command) => records::incidents(command, &connection, &out).await,
            Command::Assessments(command) => records::assessments(command, &connection, &out).await,
            Command::Statements(command) => records::statements(command, &connection, &out).await,
            Command::Figures(command) => figures::run(command, &connection, &out).await,
            Command::Import(command) => import::run(command, &connection, &out).await,
            Command::Demo => demo::run(&connection, &out).await,
        }
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::print_error(&error);
            ExitCode::FAILURE
        }
    }
}
