//! `civcas sources …`

use civcas_proto::v1 as pb;
use clap::{Subcommand, ValueEnum};

use crate::client::Connection;
use crate::output::{Output, print_table, table};

#[derive(Debug, Subcommand)]
pub enum SourcesCommand {
    /// Register a source. Registering the same source again changes nothing.
    Register {
        /// The source's slug, e.g. `airwars`.
        id: String,
        /// The name people know it by.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        kind: Kind,
        /// The party the source speaks for, e.g. `coalition` for CJTF-OIR.
        #[arg(long)]
        belligerent: Option<String>,
        /// Its home page.
        #[arg(long)]
        homepage: Option<String>,
    },
    /// Show one source.
    Get { id: String },
    /// List every source.
    List,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    Military,
    Monitor,
    Intergovernmental,
    Government,
    Media,
    Academic,
    Other,
}

impl From<Kind> for pb::SourceKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Military => Self::Military,
            Kind::Monitor => Self::Monitor,
            Kind::Intergovernmental => Self::Intergovernmental,
            Kind::Government => Self::Government,
            Kind::Media => Self::Media,
            Kind::Academic => Self::Academic,
            Kind::Other => Self::Other,
        }
    }
}

fn print_sources(sources: &[pb::Source]) {
    let mut t = table(&["id", "name", "kind", "speaks for", "home page"]);
    for s in sources {
        t.add_row(vec![
            s.id.clone(),
            s.display_name.clone(),
            s.kind()
                .as_str_name()
                .trim_start_matches("SOURCE_KIND_")
                .to_lowercase(),
            s.belligerent.clone().unwrap_or_default(),
            s.homepage.clone().unwrap_or_default(),
        ]);
    }
    print_table(&t);
}

pub async fn run(
    command: SourcesCommand,
    connection: &Connection,
    out: &Output,
) -> anyhow::Result<()> {
    let mut client = connection.sources();
    match command {
        SourcesCommand::Register {
            id,
            name,
            kind,
            belligerent,
            homepage,
        } => {
            let response = client
                .register_source(pb::RegisterSourceRequest {
                    source: Some(pb::Source {
                        id,
                        display_name: name,
                        kind: pb::SourceKind::from(kind).into(),
                        belligerent,
                        homepage,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await?
                .into_inner();
            out.show(&response, || print_sources(response.source.as_slice()))
        }
        SourcesCommand::Get { id } => {
            let response = client
                .get_source(pb::GetSourceRequest { source_id: id })
                .await?
                .into_inner();
            out.show(&response, || print_sources(response.source.as_slice()))
        }
        SourcesCommand::List => {
            let mut sources = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_sources(pb::ListSourcesRequest {
                        page_size: Some(1000),
                        page_token,
                    })
                    .await?
                    .into_inner();
                sources.extend(page.sources);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            let response = pb::ListSourcesResponse {
                sources,
                next_page_token: String::new(),
            };
            out.show(&response, || print_sources(&response.sources))
        }
    }
}
