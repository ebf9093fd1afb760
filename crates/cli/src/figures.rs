//! `civcas figures …`

use civcas_proto::v1 as pb;
use clap::{Args, Subcommand};

use crate::client::Connection;
use crate::output::{Output, line, print_table, range, table};

#[derive(Debug, Subcommand)]
pub enum FiguresCommand {
    /// What each source says over a window, the reconciled range per tier, and where they disagree.
    Reconcile {
        #[command(flatten)]
        window: Window,
        #[command(flatten)]
        filters: Filters,
        /// Only what was published on or before this date (YYYY-MM-DD).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// The reconciled killed ranges per calendar bucket. Buckets do not add up to the window: an
    /// incident spanning two months is on the boundary of both.
    Series {
        #[command(flatten)]
        window: Window,
        #[arg(long, value_enum)]
        granularity: GranularityArg,
        #[command(flatten)]
        filters: Filters,
    },
    /// One source's open, received, completed, reassessed and reopened reports over a window.
    Flow {
        #[command(flatten)]
        window: Window,
        /// The source, e.g. cjtf-oir.
        #[arg(long)]
        source: String,
    },
}

/// The filters of a figure query; repeat a flag for several values, which are ORed.
#[derive(Debug, Args)]
pub struct Filters {
    /// Only incidents in these countries (ISO codes, e.g. SY).
    #[arg(long = "country")]
    countries: Vec<String>,
    /// Only incidents in these first-level areas, as recorded.
    #[arg(long)]
    admin1: Vec<String>,
    /// Only incidents attributed to these belligerents, e.g. coalition.
    #[arg(long)]
    attributed_to: Vec<String>,
    /// Only these sources' assessments and statements.
    #[arg(long = "source")]
    sources: Vec<String>,
    /// Only incidents with these causes of death or injury, e.g. explosive-weapons (docs/rules.md).
    #[arg(long)]
    harm: Vec<String>,
    /// Only incidents with these means, e.g. airstrike, drone-strike.
    #[arg(long)]
    means: Vec<String>,
    /// Only incidents that hit these kinds of civilian object, e.g. healthcare.
    #[arg(long)]
    infrastructure: Vec<String>,
}

impl From<Filters> for pb::FigureFilters {
    fn from(f: Filters) -> Self {
        Self {
            countries: f.countries,
            admin1: f.admin1,
            attributed_to: f.attributed_to,
            sources: f.sources,
            harm: f.harm,
            means: f.means,
            infrastructure: f.infrastructure,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum GranularityArg {
    Day,
    Week,
    Month,
    Year,
}

#[derive(Debug, Args)]
pub struct Window {
    /// The window's first day, YYYY-MM-DD.
    #[arg(long)]
    from: String,
    /// The window's last day, YYYY-MM-DD.
    #[arg(long)]
    to: String,
}

fn verdict_name(v: i32) -> String {
    pb::Verdict::try_from(v)
        .map(|v| {
            v.as_str_name()
                .trim_start_matches("VERDICT_")
                .to_lowercase()
        })
        .unwrap_or_else(|_| v.to_string())
}

fn tier_name(tier: pb::Tier) -> String {
    tier.as_str_name().trim_start_matches("TIER_").to_owned()
}

fn killed(t: &pb::TierFigures) -> String {
    t.killed.map_or_else(String::new, |k| range(k.min, k.max))
}

/// A group's killed among `counted` clusters, with how many state no figure for it: "no figure"
/// when none does, never a zero.
fn group(sum: Option<pb::RangeSum>, counted: u64) -> String {
    match sum {
        Some(s) if s.without_figure < counted => {
            format!("{} ({} without)", range(s.min, s.max), s.without_figure)
        }
        _ => "no figure".to_owned(),
    }
}

fn print_figures(f: &pb::ReconciledFigures) {
    line(format!("{} to {}", f.from, f.to));
    let mut sources = table(&[
        "source",
        "verdicts (inside+boundary)",
        "ESTABLISHED",
        "LIKELY",
        "ALLEGED",
    ]);
    for s in &f.sources {
        let verdicts: Vec<String> = s
            .verdicts
            .iter()
            .map(|v| {
                let c = v.count.unwrap_or_default();
                format!("{} {}", verdict_name(v.verdict), c.inside + c.boundary)
            })
            .collect();
        let mut row = vec![s.source_id.clone(), verdicts.join(", ")];
        row.extend(s.tiers.iter().map(killed));
        sources.add_row(row);
    }
    print_table(&sources);
    let mut tiers = table(&[
        "reconciled tier",
        "clusters inside",
        "on boundary",
        "killed",
        "injured",
        "without figure",
        "children killed",
        "women killed",
        "men killed",
    ]);
    for t in &f.tiers {
        let counted = t.counted.unwrap_or_default();
        let clusters = counted.inside + counted.boundary;
        tiers.add_row(vec![
            tier_name(t.tier()),
            counted.inside.to_string(),
            counted.boundary.to_string(),
            killed(t),
            t.injured.map_or_else(String::new, |j| range(j.min, j.max)),
            t.killed.map_or(0, |k| k.without_figure).to_string(),
            group(t.children_killed, clusters),
            group(t.women_killed, clusters),
            group(t.men_killed, clusters),
        ]);
    }
    print_table(&tiers);
    if let Some(d) = &f.disputed
        && let Some(figures) = &d.figures
    {
        let counted = figures.counted.unwrap_or_default();
        line(format!(
            "disputed: {} clusters (one source LIKELY or higher, another rejecting), killed {}",
            counted.inside + counted.boundary,
            killed(figures)
        ));
    }
    for g in &f.coverage_gaps {
        line(format!(
            "coverage gap of {}: {} clusters it has not assessed",
            g.source_id, g.clusters
        ));
    }
    if !f.statements.is_empty() {
        let mut statements = table(&[
            "source",
            "statement",
            "period",
            "in window",
            "vs own records at its tier",
        ]);
        for s in &f.statements {
            let Some(st) = &s.statement else { continue };
            let count = st.count.unwrap_or_default();
            statements.add_row(vec![
                st.source_id.clone(),
                format!(
                    "{} {}",
                    st.measure()
                        .as_str_name()
                        .trim_start_matches("MEASURE_")
                        .to_lowercase(),
                    range(count.min.into(), count.max.map(u64::from))
                ),
                format!("{} to {}", st.period_from, st.period_to),
                format!("{}/{} days", s.overlap_days, s.period_days),
                s.difference.map_or_else(
                    || "not comparable".to_owned(),
                    |d| format!("{d:+} at {}", tier_name(st.tier())),
                ),
            ]);
        }
        print_table(&statements);
    }
}

pub async fn run(
    command: FiguresCommand,
    connection: &Connection,
    out: &Output,
) -> anyhow::Result<()> {
    let mut client = connection.figures();
    match command {
        FiguresCommand::Reconcile {
            window,
            filters,
            as_of,
        } => {
            let response = client
                .get_reconciled_figures(pb::GetReconciledFiguresRequest {
                    from: window.from,
                    to: window.to,
                    filters: Some(filters.into()),
                    as_of: as_of.unwrap_or_default(),
                })
                .await?
                .into_inner();
            out.show(&response, || {
                if let Some(figures) = &response.figures {
                    print_figures(figures);
                }
            })
        }
        FiguresCommand::Series {
            window,
            granularity,
            filters,
        } => {
            let granularity = match granularity {
                GranularityArg::Day => pb::Granularity::Day,
                GranularityArg::Week => pb::Granularity::Week,
                GranularityArg::Month => pb::Granularity::Month,
                GranularityArg::Year => pb::Granularity::Year,
            };
            let response = client
                .get_figure_series(pb::GetFigureSeriesRequest {
                    from: window.from,
                    to: window.to,
                    filters: Some(filters.into()),
                    as_of: String::new(),
                    granularity: granularity.into(),
                })
                .await?
                .into_inner();
            out.show(&response, || {
                let mut t = table(&["from", "to", "ESTABLISHED", "LIKELY", "ALLEGED"]);
                for bucket in &response.buckets {
                    let mut row = vec![bucket.from.clone(), bucket.to.clone()];
                    row.extend(bucket.tiers.iter().map(killed));
                    t.add_row(row);
                }
                print_table(&t);
            })
        }
        FiguresCommand::Flow { window, source } => {
            let response = client
                .get_assessment_flow(pb::GetAssessmentFlowRequest {
                    source_id: source,
                    from: window.from,
                    to: window.to,
                })
                .await?
                .into_inner();
            out.show(&response, || {
                let totals = |v: &[pb::VerdictTotal]| {
                    v.iter()
                        .map(|t| format!("{} {}", verdict_name(t.verdict), t.count))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let mut t = table(&[
                    "open at start",
                    "received",
                    "completed",
                    "reassessed",
                    "reopened",
                    "completed deaths",
                    "open at end",
                ]);
                t.add_row(vec![
                    response.open_at_start.to_string(),
                    response.received.to_string(),
                    totals(&response.completed),
                    totals(&response.reassessed),
                    response.reopened.to_string(),
                    response.completed_deaths.to_string(),
                    response.open_at_end.to_string(),
                ]);
                print_table(&t);
            })
        }
    }
}
