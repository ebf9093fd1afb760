//! `civcas import …`: real data files, streamed to ImportAssessments in batches.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use civcas_domain::SourceId;
use civcas_import::airwars::{self, AIRWARS, AirwarsFiles, COALITION_SOURCE};
use civcas_proto::v1 as pb;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use crate::client::Connection;
use crate::output::{Output, line};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Airwars' export: incidents.csv, belligerent_assessments.csv and belligerent_statements.csv
    /// (or the folder holding them). Registers `airwars` and `cjtf-oir`, then imports every incident
    /// with Airwars' assessment and the Coalition's, as docs/real-data.md maps them.
    Airwars {
        /// The folder, or the three files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Rows per batch; each batch is written in one transaction.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
    /// CJTF-OIR's monthly releases (one CSV): the cumulative "at least N" figures become one KILLED
    /// revision chain; rows where the release's own arithmetic does not hold are reported.
    CjtfOirMonthly {
        /// The CSV file.
        file: PathBuf,
    },
    /// UNAMI's monthly figures for Iraq (one CSV): killed and injured, with and without police, and
    /// Anbar's own figures when it reported them.
    UnamiMonthly {
        /// The CSV file.
        file: PathBuf,
    },
    /// UCDP's Georeferenced Event Dataset (GED) CSV: Iraq and Syria events with civilian deaths, as
    /// UCDP's FAIR (individual) or WEAK (aggregated) assessments.
    UcdpGed {
        /// The CSV file.
        file: PathBuf,
        /// The date UCDP published the release (YYYY-MM-DD); by default the day after the file's
        /// latest date_end.
        #[arg(long)]
        published_on: Option<chrono::NaiveDate>,
        /// Rows per batch; each batch is written in one transaction.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
}

/// Records each statement (small files: one call each; a repeat answers UNCHANGED) and prints what
/// reading found.
async fn import_statements(
    connection: &Connection,
    source: &civcas_domain::NewSource,
    data: &civcas_import::monthly::MonthlyData,
    out: &Output,
) -> anyhow::Result<()> {
    register(connection, pb::Source::from(source)).await?;
    let mut created = 0;
    let mut unchanged = 0;
    let mut recorded = Vec::new();
    for statement in &data.statements {
        let response = connection
            .statements()
            .record_statement(pb::RecordStatementRequest {
                statement: Some(pb::Statement::from(statement)),
                request_id: String::new(),
            })
            .await?
            .into_inner();
        if response.outcome() == pb::WriteOutcome::Created {
            created += 1;
        } else {
            unchanged += 1;
        }
        recorded.extend(response.statement);
    }
    let report = serde_json::json!({
        "rows": data.rows,
        "rejected": rejections_json(&data.rejected),
        "arithmetic": rejections_json(&data.arithmetic),
        "notes": data.notes,
        "created": created,
        "unchanged": unchanged,
        "statements": recorded,
    });
    out.show(&report, || {
        line(format!(
            "{} rows read, {} rejected: {created} statements created, {unchanged} unchanged",
            data.rows,
            data.rejected.len()
        ));
        for r in &data.rejected {
            line(format!(
                "  rejected line {} {}: {}",
                r.line, r.key, r.reason
            ));
        }
        for a in &data.arithmetic {
            line(format!(
                "  the release's arithmetic does not hold, line {} ({}): {}",
                a.line, a.key, a.reason
            ));
        }
        for note in &data.notes {
            line(format!("  note: {note}"));
        }
    })
}

fn airwars_files(paths: &[PathBuf]) -> anyhow::Result<AirwarsFiles> {
    if let Some(missing) = paths.iter().find(|p| !p.exists()) {
        anyhow::bail!("{} does not exist", missing.display());
    }
    if let [dir] = paths
        && dir.is_dir()
    {
        return Ok(AirwarsFiles::in_dir(dir));
    }
    // By the stem of their names, so that renamed copies (`incidents-2024.csv`) are found too.
    let find = |stem: &str| -> anyhow::Result<PathBuf> {
        paths
            .iter()
            .find(|p| {
                p.file_name()
                    .and_then(|f| f.to_str())
                    .is_some_and(|f| f.contains(stem) && f.ends_with(".csv"))
            })
            .cloned()
            .with_context(|| format!("no CSV file named like *{stem}* among the files given"))
    };
    Ok(AirwarsFiles {
        incidents: find("incidents")?,
        belligerent_assessments: find("assessments")?,
        belligerent_statements: find("statements")?,
    })
}

/// What reading found, as JSON beside the server's answer: nothing the text output reports is hidden
/// from `--json`.
fn rejections_json(rejected: &[civcas_import::Rejection]) -> serde_json::Value {
    rejected
        .iter()
        .map(|r| serde_json::json!({"line": r.line, "key": r.key, "reason": r.reason}))
        .collect()
}

/// Registers a source unless it exists with the same attributes (registering is idempotent).
pub async fn register(connection: &Connection, source: pb::Source) -> anyhow::Result<()> {
    connection
        .sources()
        .register_source(pb::RegisterSourceRequest {
            source: Some(source),
            request_id: String::new(),
        })
        .await?;
    Ok(())
}

/// Streams `rows` in batches of `batch`, with a progress bar when the terminal can show one.
pub async fn import_rows(
    connection: &Connection,
    rows: Vec<pb::ImportRow>,
    batch: usize,
) -> anyhow::Result<pb::ImportAssessmentsResponse> {
    if batch == 0 {
        bail!("--batch must be at least 1");
    }
    let progress = ProgressBar::new(rows.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {per_sec}  {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let batches: Vec<pb::ImportAssessmentsRequest> = rows
        .chunks(batch)
        .map(|chunk| pb::ImportAssessmentsRequest {
            rows: chunk.to_vec(),
        })
        .collect();
    let shown = progress.clone();
    let stream = tokio_stream::iter(
        batches
            .into_iter()
            .inspect(move |b| shown.inc(b.rows.len() as u64)),
    );
    let response = connection
        .assessments()
        .import_assessments(stream)
        .await?
        .into_inner();
    progress.finish_and_clear();
    Ok(response)
}

/// Prints an import's summary; `origin` names where a row came from (a code, an id) when known.
pub fn print_summary(
    summary: &pb::ImportAssessmentsResponse,
    rows: usize,
    started: Instant,
    origin: &dyn Fn(u64) -> Option<String>,
) {
    let seconds = started.elapsed().as_secs_f64();
    line(format!(
        "{rows} rows in {seconds:.1} s ({:.0} rows/s), {} batches: {} created, {} unchanged, {} rejected; {} incidents created, {} rows with an incident alone",
        rows as f64 / seconds.max(f64::EPSILON),
        summary.batches,
        summary.created,
        summary.unchanged,
        summary.rejected,
        summary.incidents_created,
        summary.incident_rows
    ));
    for r in &summary.rejections {
        let fields: Vec<String> = r
            .field_violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect();
        let from = origin(r.index).map_or_else(String::new, |o| format!(" ({o})"));
        line(format!(
            "  rejected row {}{from}: {} {}",
            r.index,
            r.reason,
            fields.join("; ")
        ));
    }
}

async fn import_airwars(
    connection: &Connection,
    paths: &[PathBuf],
    batch: usize,
    out: &Output,
) -> anyhow::Result<()> {
    let files = airwars_files(paths)?;
    let data =
        airwars::read(&files).with_context(|| format!("reading {}", display(&files.incidents)))?;
    for source in airwars::sources() {
        register(connection, pb::Source::from(&source)).await?;
    }
    let airwars_id = SourceId::parse(AIRWARS)?;
    let coalition_id = SourceId::parse(COALITION_SOURCE)?;
    let mut rows = Vec::new();
    // The export code behind each row, to name a rejected row by it.
    let mut codes: Vec<&str> = Vec::new();
    for record in &data.records {
        let incident = pb::Incident::from(&record.incident);
        let assessments: Vec<pb::Assessment> = [
            (&airwars_id, &record.airwars),
            (&coalition_id, &record.coalition),
        ]
        .into_iter()
        .filter_map(|(source, details)| {
            details
                .as_ref()
                .map(|d| civcas_proto::domain::assessment(source, d))
        })
        .collect();
        if assessments.is_empty() {
            // One incident per row, as docs/real-data.md says, even when no one has assessed it.
            codes.push(&record.code);
            rows.push(pb::ImportRow {
                index: rows.len() as u64 + 1,
                assessment: None,
                incident: Some(incident),
            });
            continue;
        }
        for assessment in assessments {
            codes.push(&record.code);
            rows.push(pb::ImportRow {
                index: rows.len() as u64 + 1,
                assessment: Some(assessment),
                incident: Some(incident.clone()),
            });
        }
    }
    let started = Instant::now();
    let total = rows.len();
    let response = import_rows(connection, rows, batch).await?;
    let s = &data.summary;
    let report = serde_json::json!({
        "rows": s.rows,
        "rejected": rejections_json(&s.rejected),
        "replaced_duplicate_codes": s.replaced_duplicate_codes,
        "skipped_aliases": s.skipped_aliases,
        "without_grading": s.without_grading,
        "unknown_gradings": s.unknown_gradings,
        "unknown_coalition_assessments": s.unknown_coalition_assessments,
        "coalition_date_fallbacks": s.coalition_date_fallbacks,
        "invalid_coordinates": s.invalid_coordinates,
        "unknown_admin1": s.unknown_admin1,
        "children_killed_stated": s.groups_stated[0],
        "women_killed_stated": s.groups_stated[1],
        "men_killed_stated": s.groups_stated[2],
        "groups_above_killed": s.groups_above_killed,
        "invalid_group_figures": s.invalid_group_figures,
        "groups_adding_above_killed": s.groups_adding_above_killed,
        "harm_stated": s.harm_stated[0],
        "means_stated": s.harm_stated[1],
        "infrastructure_stated": s.harm_stated[2],
        "unmapped_terms": s.unmapped_terms,
        "import": response,
    });
    out.show(&report, || {
        let s = &data.summary;
        line(format!(
            "read {} incident rows: {} rejected, {} replaced by a later row of the same code, {} without grading",
            s.rows,
            s.rejected.len(),
            s.replaced_duplicate_codes,
            s.without_grading
        ));
        for r in &s.rejected {
            line(format!("  line {} {}: {}", r.line, r.key, r.reason));
        }
        let [children, women, men] = s.groups_stated;
        line(format!(
            "killed by group, in Airwars' assessments: children in {children}, women in {women}, men in {men}"
        ));
        line(format!(
            "  {} rows lost a group whose min exceeds killed's max, {} a group not a whole number; \
             {} rows' groups add up to more than killed's max, kept as given",
            s.groups_above_killed, s.invalid_group_figures, s.groups_adding_above_killed
        ));
        let [harm, means, infrastructure] = s.harm_stated;
        line(format!(
            "harm in {harm} incidents, means in {means}, infrastructure hit in {infrastructure}"
        ));
        for (spelling, rows) in &s.unmapped_terms {
            line(format!("  unmapped {spelling}: {rows} rows, kept without it"));
        }
        print_summary(&response, total, started, &|index| {
            codes.get(usize::try_from(index).ok()?.checked_sub(1)?).map(|c| (*c).to_owned())
        });
    })
}

async fn import_ucdp(
    connection: &Connection,
    file: &Path,
    published_on: Option<chrono::NaiveDate>,
    batch: usize,
    out: &Output,
) -> anyhow::Result<()> {
    let data = civcas_import::ucdp::read(file, published_on)
        .with_context(|| format!("reading {}", display(file)))?;
    let source = civcas_import::ucdp::source();
    register(connection, pb::Source::from(&source)).await?;
    let rows: Vec<pb::ImportRow> = data
        .events
        .iter()
        .enumerate()
        .map(|(n, event)| pb::ImportRow {
            index: n as u64 + 1,
            assessment: Some(civcas_proto::domain::assessment(
                &source.id,
                &event.assessment,
            )),
            incident: Some(pb::Incident::from(&event.incident)),
        })
        .collect();
    let started = Instant::now();
    let total = rows.len();
    let response = import_rows(connection, rows, batch).await?;
    let report = serde_json::json!({
        "rows": data.rows,
        "rejected": rejections_json(&data.rejected),
        "skipped_without_civilian_deaths": data.skipped_without_civilian_deaths,
        "replaced_repeated_ids": data.replaced_repeated_ids,
        "published_on": data.published_on.map(|d| d.to_string()),
        "import": response,
    });
    out.show(&report, || {
        line(format!(
            "read {} event rows: {} rejected, {} skipped without civilian deaths; assessed on {}",
            data.rows,
            data.rejected.len(),
            data.skipped_without_civilian_deaths,
            data.published_on
                .map_or_else(|| "-".to_owned(), |d| d.to_string())
        ));
        for r in &data.rejected {
            line(format!("  line {} {}: {}", r.line, r.key, r.reason));
        }
        print_summary(&response, total, started, &|index| {
            let event = data
                .events
                .get(usize::try_from(index).ok()?.checked_sub(1)?)?;
            Some(format!("ucdp {}", event.id))
        });
    })
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

pub async fn run(
    command: ImportCommand,
    connection: &Connection,
    out: &Output,
) -> anyhow::Result<()> {
    match command {
        ImportCommand::Airwars { paths, batch } => {
            import_airwars(connection, &paths, batch, out).await
        }
        ImportCommand::CjtfOirMonthly { file } => {
            let data = civcas_import::monthly::read_cjtf_oir(&file)?;
            let coalition = airwars::sources()
                .into_iter()
                .find(|s| s.id.as_str() == COALITION_SOURCE)
                .context("the Coalition's definition")?;
            import_statements(connection, &coalition, &data, out).await
        }
        ImportCommand::UcdpGed {
            file,
            published_on,
            batch,
        } => import_ucdp(connection, &file, published_on, batch, out).await,
        ImportCommand::UnamiMonthly { file } => {
            let data = civcas_import::monthly::read_unami(&file)?;
            import_statements(
                connection,
                &civcas_import::monthly::unami_source(),
                &data,
                out,
            )
            .await
        }
    }
}
