//! `civcas incidents …`, `civcas assessments …` and `civcas statements …`.

use civcas_proto::v1 as pb;
use clap::{Subcommand, ValueEnum};

use crate::client::Connection;
use crate::output::{Output, print_table, range, table};

#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// Show one incident.
    Get { id: String },
    /// List incidents overlapping a window, in countries, or referenced by a source.
    List {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long = "country")]
        countries: Vec<String>,
        #[arg(long)]
        source: Option<String>,
    },
    /// Link two incidents as reports of one event; they are then counted once.
    Link { id: String, other: String },
}

#[derive(Debug, Subcommand)]
pub enum AssessmentsCommand {
    /// List current assessments, or the whole history with --history.
    List {
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        incident: Option<String>,
        /// Include superseded assessments.
        #[arg(long)]
        history: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MeasureArg {
    Killed,
    Injured,
    KilledOrInjured,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum QualifierArg {
    Exact,
    AtLeast,
    MoreThan,
    Approximately,
    AtMost,
}

/// The certainty a statement's figure stands for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TierArg {
    Established,
    Likely,
    Alleged,
}

#[derive(Debug, Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once per run: its size costs nothing"
)]
pub enum StatementsCommand {
    /// Record an aggregate figure a source published, e.g. the Coalition's "at least 624 killed
    /// since 8 August 2014": --source cjtf-oir --measure killed --min 624 --qualifier at-least
    /// --from 2014-08-08 --to 2017-06-30 --country IQ --country SY --attributed-to coalition
    /// --published-on 2017-08-04
    Record {
        #[arg(long)]
        source: String,
        #[arg(long, value_enum)]
        measure: MeasureArg,
        /// The figure, or its lower bound.
        #[arg(long)]
        min: u32,
        /// The upper bound, when the source gives one.
        #[arg(long)]
        max: Option<u32>,
        #[arg(long, value_enum)]
        qualifier: QualifierArg,
        /// The period's first day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// The period's last day, YYYY-MM-DD.
        #[arg(long)]
        to: String,
        /// Countries the figure covers (ISO codes); repeat for several.
        #[arg(long = "country", required = true)]
        countries: Vec<String>,
        #[arg(long)]
        admin1: Option<String>,
        #[arg(long)]
        locality: Option<String>,
        /// A belligerent slug, or `all`.
        #[arg(long)]
        attributed_to: String,
        /// Who is counted; `civilians` by default.
        #[arg(long, default_value = "civilians")]
        definition: String,
        #[arg(long)]
        published_on: String,
        /// The certainty the figure stands for: Airwars' headline counts its Fair and Confirmed
        /// incidents (likely), the Coalition's its credible ones (established).
        #[arg(long, value_enum, default_value = "established")]
        tier: TierArg,
        #[arg(long)]
        citation: Option<String>,
    },
    /// List statements.
    List {
        #[arg(long)]
        source: Option<String>,
        #[arg(long, value_enum)]
        measure: Option<MeasureArg>,
    },
    /// A statement's revision chain, oldest first, with each step's delta.
    Revisions { id: String },
}

fn measure_of(measure: MeasureArg) -> pb::Measure {
    match measure {
        MeasureArg::Killed => pb::Measure::Killed,
        MeasureArg::Injured => pb::Measure::Injured,
        MeasureArg::KilledOrInjured => pb::Measure::KilledOrInjured,
    }
}

fn print_incidents(incidents: &[pb::Incident]) {
    let mut t = table(&[
        "id",
        "references",
        "occurred",
        "where",
        "attributed to",
        "linked",
    ]);
    for i in incidents {
        let location = i.location.clone().unwrap_or_default();
        t.add_row(vec![
            i.id.clone(),
            i.references
                .iter()
                .map(|r| format!("{}:{}", r.source_id, r.external_ref))
                .collect::<Vec<_>>()
                .join(" "),
            if i.occurred_from == i.occurred_to {
                i.occurred_from.clone()
            } else {
                format!("{} to {}", i.occurred_from, i.occurred_to)
            },
            [Some(location.country), location.admin1, location.locality]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
            i.attributed_to.join(", "),
            i.linked_incident_ids.join(", "),
        ]);
    }
    print_table(&t);
}

fn print_statements(statements: &[pb::Statement], deltas: Option<&[pb::StatementRevision]>) {
    let mut header = vec![
        "id",
        "source",
        "measure",
        "count",
        "tier",
        "period",
        "area",
        "published",
    ];
    if deltas.is_some() {
        header.extend(["kind", "delta"]);
    }
    let mut t = table(&header);
    for (n, s) in statements.iter().enumerate() {
        let count = s.count.unwrap_or_default();
        let area = s.area.clone().unwrap_or_default();
        let mut row = vec![
            s.id.clone(),
            s.source_id.clone(),
            s.measure()
                .as_str_name()
                .trim_start_matches("MEASURE_")
                .to_lowercase(),
            range(count.min.into(), count.max.map(u64::from)),
            s.tier()
                .as_str_name()
                .trim_start_matches("TIER_")
                .to_lowercase(),
            format!("{} to {}", s.period_from, s.period_to),
            [Some(area.countries.join("+")), area.admin1, area.locality]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
            s.published_on.clone(),
        ];
        if let Some(revision) = deltas.and_then(|d| d.get(n)) {
            row.push(
                revision
                    .kind()
                    .as_str_name()
                    .trim_start_matches("REVISION_KIND_")
                    .to_lowercase(),
            );
            row.push(
                revision
                    .min_delta
                    .map_or_else(String::new, |d| format!("{d:+}")),
            );
        }
        t.add_row(row);
    }
    print_table(&t);
}

pub async fn incidents(
    command: IncidentsCommand,
    connection: &Connection,
    out: &Output,
) -> anyhow::Result<()> {
    let mut client = connection.incidents();
    match command {
        IncidentsCommand::Get { id } => {
            let response = client
                .get_incident(pb::GetIncidentRequest { incident_id: id })
                .await?
                .into_inner();
            out.show(&response, || print_incidents(response.incident.as_slice()))
        }
        IncidentsCommand::List {
            from,
            to,
            countries,
            source,
        } => {
            let mut request = pb::ListIncidentsRequest {
                occurred_from: from.unwrap_or_default(),
                occurred_to: to.unwrap_or_default(),
                countries,
                source_id: source.unwrap_or_default(),
                page_size: Some(1000),
                page_token: String::new(),
            };
            let mut incidents = Vec::new();
            loop {
                let page = client.list_incidents(request.clone()).await?.into_inner();
                incidents.extend(page.incidents);
                if page.next_page_token.is_empty() {
                    break;
                }
                request.page_token = page.next_page_token;
            }
            let response = pb::ListIncidentsResponse {
                incidents,
                next_page_token: String::new(),
            };
            out.show(&response, || print_incidents(&response.incidents))
        }
        IncidentsCommand::Link { id, other } => {
            let response = client
                .link_incidents(pb::LinkIncidentsRequest {
                    incident_id: id,
                    linked_incident_id: other,
                    request_id: String::new(),
                })
                .await?
                .into_inner();
            out.show(&response, || {
                if let Some(link) = &response.link {
                    crate::output::line(format!(
                        "linked {} and {}",
                        link.incident_id, link.linked_incident_id
                    ));
                }
            })
        }
    }
}

pub async fn assessments(
    command: AssessmentsCommand,
    connection: &Connection,
    out: &Output,
) -> anyhow::Result<()> {
    let AssessmentsCommand::List {
        source,
        incident,
        history,
    } = command;
    let mut client = connection.assessments();
    let mut request = pb::ListAssessmentsRequest {
        source_id: source.unwrap_or_default(),
        incident_id: incident.unwrap_or_default(),
        include_superseded: history,
        page_size: Some(1000),
        page_token: String::new(),
    };
    let mut assessments = Vec::new();
    loop {
        let page = client.list_assessments(request.clone()).await?.into_inner();
        assessments.extend(page.assessments);
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    let response = pb::ListAssessmentsResponse {
        assessments,
        next_page_token: String::new(),
    };
    out.show(&response, || {
        let mut t = table(&[
            "id",
            "incident",
            "source",
            "verdict",
            "killed",
            "injured",
            "assessed on",
            "current",
        ]);
        for a in &response.assessments {
            t.add_row(vec![
                a.id.clone(),
                a.incident_id.clone(),
                a.source_id.clone(),
                a.verdict()
                    .as_str_name()
                    .trim_start_matches("VERDICT_")
                    .to_lowercase(),
                a.civilians_killed
                    .map_or_else(String::new, |k| range(k.min.into(), k.max.map(u64::from))),
                a.civilians_injured
                    .map_or_else(String::new, |k| range(k.min.into(), k.max.map(u64::from))),
                a.assessed_on.clone(),
                if a.current { "yes" } else { "superseded" }.to_owned(),
            ]);
        }
        print_table(&t);
    })
}

pub async fn statements(
    command: StatementsCommand,
    connection: &Connection,
    out: &Output,
) -> anyhow::Result<()> {
    let mut client = connection.statements();
    match command {
        StatementsCommand::List { source, measure } => {
            let measure = measure.map_or(pb::Measure::Unspecified, measure_of);
            let mut request = pb::ListStatementsRequest {
                source_id: source.unwrap_or_default(),
                measure: measure.into(),
                page_size: Some(1000),
                page_token: String::new(),
            };
            let mut statements = Vec::new();
            loop {
                let page = client.list_statements(request.clone()).await?.into_inner();
                statements.extend(page.statements);
                if page.next_page_token.is_empty() {
                    break;
                }
                request.page_token = page.next_page_token;
            }
            let response = pb::ListStatementsResponse {
                statements,
                next_page_token: String::new(),
            };
            out.show(&response, || print_statements(&response.statements, None))
        }
        StatementsCommand::Record {
            source,
            measure,
            min,
            max,
            qualifier,
            from,
            to,
            countries,
            admin1,
            locality,
            attributed_to,
            definition,
            published_on,
            tier,
            citation,
        } => {
            let statement = pb::Statement {
                source_id: source,
                measure: measure_of(measure).into(),
                count: Some(pb::CountRange { min, max }),
                qualifier: match qualifier {
                    QualifierArg::Exact => pb::Qualifier::Exact,
                    QualifierArg::AtLeast => pb::Qualifier::AtLeast,
                    QualifierArg::MoreThan => pb::Qualifier::MoreThan,
                    QualifierArg::Approximately => pb::Qualifier::Approximately,
                    QualifierArg::AtMost => pb::Qualifier::AtMost,
                }
                .into(),
                definition,
                period_from: from,
                period_to: to,
                area: Some(pb::Area {
                    countries,
                    admin1,
                    locality,
                }),
                attributed_to,
                published_on,
                tier: match tier {
                    TierArg::Established => pb::Tier::Established,
                    TierArg::Likely => pb::Tier::Likely,
                    TierArg::Alleged => pb::Tier::Alleged,
                }
                .into(),
                citation,
                ..Default::default()
            };
            let response = client
                .record_statement(pb::RecordStatementRequest {
                    statement: Some(statement),
                    request_id: String::new(),
                })
                .await?
                .into_inner();
            out.show(&response, || {
                crate::output::line(
                    response
                        .outcome()
                        .as_str_name()
                        .trim_start_matches("WRITE_OUTCOME_")
                        .to_lowercase(),
                );
                print_statements(response.statement.as_slice(), None);
            })
        }
        StatementsCommand::Revisions { id } => {
            let response = client
                .get_statement_revisions(pb::GetStatementRevisionsRequest { statement_id: id })
                .await?
                .into_inner();
            out.show(&response, || {
                let statements: Vec<pb::Statement> = response
                    .revisions
                    .iter()
                    .filter_map(|r| r.statement.clone())
                    .collect();
                print_statements(&statements, Some(&response.revisions));
            })
        }
    }
}
