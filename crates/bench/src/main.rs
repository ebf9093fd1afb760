//! `civcas-bench`: measures civcas against PostgreSQL's own limits, on the same machine, in the same
//! run, and prints one markdown table. Each figure is a ratio to its baseline:
//! - import: ImportAssessments rows/s against a `COPY` of the same rows into a bare table;
//! - reconciled query: GetReconciledFigures latency for 1-month, 1-year and 5-year windows at
//!   concurrency 1 and 32, over windows a day apart and over one window asked again, against a
//!   hand-written SQL query of the same answer sent straight to PostgreSQL (every answer is checked
//!   equal to the baseline's);
//! - unary writes: RecordAssessment calls/s at concurrency 1, 16 and 64, against single-row INSERTs;
//! - the server's peak memory;
//! - and, when `../shared/data/airwars-syria` is present, the real Airwars export: import time and
//!   query latency.
//!
//! It starts its own PostgreSQL cluster and server processes (release builds), and stops them.

mod dataset;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use chrono::{Days, NaiveDate};
use civcas_persistence::embedded::LocalCluster;
use civcas_proto::v1 as pb;
use clap::Parser;
use futures::SinkExt;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use secrecy::{ExposeSecret, SecretString};
use tonic::transport::Channel;

use crate::dataset::{BELLIGERENT, Dataset, MONITOR, UN};

const BASELINE_SQL: &str = include_str!("baseline.sql");

#[derive(Debug, Parser)]
#[command(about = "Benchmarks civcas against PostgreSQL's own limits and prints a markdown table")]
struct Args {
    /// Incidents in the synthetic dataset (about 1.9 assessments each).
    #[arg(long, default_value_t = 1_000_000)]
    incidents: usize,
    /// The dataset's seed: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Calls per query measurement (per window and concurrency). At concurrency 32 the default is
    /// one burst, each worker making one call, so its p99 is the burst's slowest call.
    #[arg(long, default_value_t = 32)]
    queries: usize,
    /// How long each unary-write measurement runs, in seconds.
    #[arg(long, default_value_t = 5)]
    write_secs: u64,
    /// RecordAssessment calls per second while the 1-year query is measured under writes.
    #[arg(long, default_value_t = 100)]
    stream_rate: u64,
    /// Rows per ImportAssessments message.
    #[arg(long, default_value_t = 5000)]
    batch: usize,
    /// After the import, print the database's connection string and wait for Ctrl-C before measuring:
    /// time to run EXPLAIN ANALYZE or perf against the loaded data.
    #[arg(long)]
    pause_for_profiling: bool,
    /// The Airwars export; skipped when absent.
    #[arg(long, default_value = "../shared/data/airwars-syria")]
    real_data: PathBuf,
    /// Where to write the benchmarked server's log (JSON lines), for what it did when.
    #[arg(long)]
    server_log: Option<PathBuf>,
}

/// The figures of one measurement: what civcas did and what its baseline did.
struct Line {
    what: String,
    civcas: String,
    baseline: String,
    ratio: f64,
    note: String,
}

impl Line {
    /// A measurement that failed: a finding, not the end of the run.
    fn failed(what: String, started: Instant, error: &anyhow::Error) -> Self {
        Self {
            what,
            civcas: format!(
                "failed after {:.1} s: {error:#}",
                started.elapsed().as_secs_f64()
            ),
            baseline: "not run".into(),
            ratio: f64::NAN,
            note: "see BENCHMARKS.md".into(),
        }
    }
}

/// The run's lines, and how many of its measurements failed: the table is printed whole either
/// way, and the run then fails, so that a script running the bench (CI) sees it.
#[derive(Default)]
struct Table {
    lines: Vec<Line>,
    failed: usize,
}

impl Table {
    /// The measurement's result, or, when it failed, `None` and a failed line in the table.
    fn or_failed<T>(
        &mut self,
        what: impl FnOnce() -> String,
        started: Instant,
        result: anyhow::Result<T>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.lines.push(Line::failed(what(), started, &error));
                self.failed += 1;
                None
            }
        }
    }

    /// The table in markdown; a figure with no baseline has no ratio.
    fn markdown(&self) -> String {
        let mut out = String::from(
            "| measurement | civcas | baseline | ratio (civcas ÷ baseline) | notes |\n|---|---|---|---|---|\n",
        );
        for line in &self.lines {
            let ratio = if line.ratio.is_finite() {
                format!("{:.2}", line.ratio)
            } else {
                "–".to_owned()
            };
            out.push_str(&format!(
                "| {} | {} | {} | {ratio} | {} |\n",
                line.what, line.civcas, line.baseline, line.note
            ));
        }
        out
    }
}

/// A civcas-server process on its own database.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// How long each load of the read model (every fact into memory) took, as the server logs them.
    loads: tokio::sync::mpsc::UnboundedReceiver<Duration>,
}

impl Server {
    fn start(
        binary: &Path,
        database_url: &SecretString,
        workdir: &Path,
        log: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let mut child = Command::new(binary)
            .current_dir(workdir)
            .env("CIVCAS_CONFIG_DIR", workdir.join("no-config"))
            .env("DATABASE_URL", database_url.expose_secret())
            .env("CIVCAS__SERVER__PORT", "0")
            .env("CIVCAS__AUTH__MODE", "disabled")
            .env("CIVCAS__METRICS__PORT", "0")
            .env("CIVCAS__LOG__FORMAT", "json")
            .env(
                "CIVCAS__LOG__FILTER",
                "warn,civcas_server=info,civcas_persistence=info",
            )
            // Enough to import and to answer 64 writers at once without queueing in the pool.
            .env("CIVCAS__DATABASE__POOL_MAX_SIZE", "32")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting civcas-server")?;
        let stdout = child.stdout.take().context("piped stdout")?;
        let mut log = log
            .map(std::fs::File::create)
            .transpose()
            .context("creating the server's log")?;
        let (sender, receiver) = std::sync::mpsc::channel();
        let (loads_sender, loads) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(log) = &mut log {
                    let _ = writeln!(log, "{line}");
                }
                let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if event["message"] == "read model loaded"
                    && let Some(took_ms) = event["took_ms"].as_u64()
                {
                    let _ = loads_sender.send(Duration::from_millis(took_ms));
                }
                if event["message"] == "civcas serving"
                    && let Some(addr) = event["addr"].as_str().and_then(|a| a.parse().ok())
                {
                    let _ = sender.send(addr);
                }
            }
        });
        let addr = receiver
            .recv_timeout(Duration::from_secs(60))
            .context("civcas-server did not start within 60 s")?;
        Ok(Self { child, addr, loads })
    }

    /// The process's peak resident memory so far, in MiB.
    fn peak_mib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|status| {
                status.lines().find_map(|l| {
                    l.strip_prefix("VmHWM:")?
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
            })
            .map_or(0, |kib| kib / 1024)
    }

    /// SIGTERM, so that the server stops gracefully, then waits for it.
    fn stop(self) {
        drop(self);
    }
}

impl Drop for Server {
    /// Also when the run fails half-way: no server outlives the benchmark.
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

async fn connect(addr: SocketAddr) -> anyhow::Result<Channel> {
    Ok(Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await?)
}

async fn sql(url: &SecretString) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url.expose_secret(), tokio_postgres::NoTls)
        .await
        .context("connecting to PostgreSQL")?;
    tokio::spawn(connection);
    // As civcas's own sessions run: JIT compilation costs the baseline's queries more than it saves.
    client.batch_execute("SET jit = off").await?;
    Ok(client)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn p50_p99(sorted: &[Duration]) -> String {
    format!(
        "p50 {}, p99 {}",
        ms(percentile(sorted, 0.5)),
        ms(percentile(sorted, 0.99))
    )
}

async fn connect_many(addr: SocketAddr, count: usize) -> anyhow::Result<Vec<Channel>> {
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count {
        channels.push(connect(addr).await?);
    }
    Ok(channels)
}

/// Runs `calls` calls of `call` over `concurrency` workers, each given its worker and the call's
/// index; returns every latency, sorted.
async fn latencies<F, Fut>(
    concurrency: usize,
    calls: usize,
    call: F,
) -> anyhow::Result<Vec<Duration>>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (next, call) = (Arc::clone(&next), call.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= calls {
                        break;
                    }
                    let started = Instant::now();
                    call(worker, n).await?;
                    seen.push(started.elapsed());
                }
                anyhow::Ok(seen)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(calls);
    for worker in workers {
        all.extend(worker.await??);
    }
    all.sort();
    Ok(all)
}

/// A window as the API and the baseline take it: its first and last day.
type Window = (NaiveDate, NaiveDate);

/// `calls` windows as long as `window`, the first `shift` days after it and each a day after the last.
fn windows_a_day_apart(window: Window, shift: u64, calls: usize) -> Vec<Window> {
    (shift..)
        .take(calls)
        .map(|days| (window.0 + Days::new(days), window.1 + Days::new(days)))
        .collect()
}

/// Asks `ask` for each of `windows` (`ask` gets its worker and the window) from `concurrency`
/// workers; returns the latencies, sorted, and each window's tiers in the windows' order.
async fn ask_windows<F, Fut>(
    concurrency: usize,
    windows: &[Window],
    ask: F,
) -> anyhow::Result<(Vec<Duration>, Vec<Tiers>)>
where
    F: Fn(usize, Window) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<Tiers>> + Send,
{
    let answers = Arc::new(Mutex::new(vec![Tiers::new(); windows.len()]));
    let latencies = latencies(concurrency, windows.len(), {
        let (answers, windows) = (Arc::clone(&answers), Arc::new(windows.to_vec()));
        move |worker, n| {
            let (answers, ask, window) = (Arc::clone(&answers), ask.clone(), windows[n]);
            async move {
                let tiers = ask(worker, window).await?;
                answers.lock().unwrap_or_else(PoisonError::into_inner)[n] = tiers;
                Ok(())
            }
        }
    })
    .await?;
    let answers = std::mem::take(&mut *answers.lock().unwrap_or_else(PoisonError::into_inner));
    Ok((latencies, answers))
}

/// Calls `call` from `concurrency` workers for `duration`; returns calls per second.
async fn throughput<F, Fut>(concurrency: usize, duration: Duration, call: F) -> anyhow::Result<f64>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut done = 0;
                while started.elapsed() < duration {
                    call(worker, done).await?;
                    done += 1;
                }
                anyhow::Ok(done)
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// RecordAssessment of a new incident, given inline as `reference` of the monitor's.
async fn record_new_incident(channel: Channel, reference: String) -> anyhow::Result<()> {
    pb::assessment_service_client::AssessmentServiceClient::new(channel)
        .record_assessment(pb::RecordAssessmentRequest {
            assessment: Some(pb::Assessment {
                source_id: MONITOR.into(),
                verdict: pb::Verdict::Fair.into(),
                civilians_killed: Some(pb::CountRange {
                    min: 1,
                    max: Some(3),
                }),
                assessed_on: "2024-01-01".into(),
                ..Default::default()
            }),
            incident: Some(pb::Incident {
                references: vec![pb::IncidentReference {
                    source_id: MONITOR.into(),
                    external_ref: reference,
                }],
                occurred_from: "2023-06-01".into(),
                occurred_to: "2023-06-01".into(),
                location: Some(pb::Location {
                    country: "SY".into(),
                    precision: pb::LocationPrecision::Country.into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await?;
    Ok(())
}

async fn register_sources(channel: &Channel) -> anyhow::Result<()> {
    let mut sources = pb::source_service_client::SourceServiceClient::new(channel.clone());
    for (id, kind, belligerent) in [
        (MONITOR, pb::SourceKind::Monitor, None),
        (BELLIGERENT, pb::SourceKind::Military, Some("coalition")),
        (UN, pb::SourceKind::Intergovernmental, None),
    ] {
        sources
            .register_source(pb::RegisterSourceRequest {
                source: Some(pb::Source {
                    id: id.into(),
                    display_name: id.into(),
                    kind: kind.into(),
                    belligerent: belligerent.map(str::to_owned),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await?;
    }
    Ok(())
}

/// Streams `rows` to ImportAssessments in messages of `batch`; fails on any rejection.
async fn import(
    channel: &Channel,
    rows: Vec<pb::ImportRow>,
    batch: usize,
) -> anyhow::Result<pb::ImportAssessmentsResponse> {
    let count = rows.len();
    let mut batches = Vec::with_capacity(count / batch + 1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        batches.push(pb::ImportAssessmentsRequest {
            rows: rows.by_ref().take(batch).collect(),
        });
    }
    let summary = pb::assessment_service_client::AssessmentServiceClient::new(channel.clone())
        .import_assessments(tokio_stream::iter(batches))
        .await?
        .into_inner();
    if summary.rejected > 0 {
        bail!(
            "{} of {count} rows rejected: {:?}",
            summary.rejected,
            summary.rejections.first()
        );
    }
    Ok(summary)
}

/// The bare table the COPY baseline fills: the import row's shape, with no index or constraint.
const BARE_TABLE: &str = "CREATE TABLE bare_rows (
    external_ref text, occurred_from date, occurred_to date, country text, admin1 text,
    locality text, attributed_to text[], source_id text, verdict text, killed_min int,
    killed_max int, assessed_on date, duplicate_of_ref text)";

fn copy_lines(data: &Dataset) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.rows() * 110);
    for row in data.first.iter().chain(&data.later) {
        let i = &data.incidents[row.incident];
        let (min, max) = row
            .killed
            .map_or(("\\N".to_owned(), "\\N".to_owned()), |(a, b)| {
                (a.to_string(), b.to_string())
            });
        let duplicate = row
            .duplicate_of
            .map_or("\\N".to_owned(), |t| data.incidents[t].reference.clone());
        out.extend_from_slice(
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{{{}}}\t{}\t{}\t{min}\t{max}\t{}\t{duplicate}\n",
                i.reference,
                i.from,
                i.to,
                i.country,
                i.admin1,
                i.locality,
                i.attributed_to,
                row.source,
                row.verdict.as_str(),
                row.assessed_on,
            )
            .as_bytes(),
        );
    }
    out
}

/// Rows/s of a COPY of the dataset's rows into the bare table.
async fn copy_baseline(url: &SecretString, data: &Dataset) -> anyhow::Result<f64> {
    let client = sql(url).await?;
    client.batch_execute(BARE_TABLE).await?;
    let lines = copy_lines(data);
    let started = Instant::now();
    let sink = client
        .copy_in::<_, Bytes>("COPY bare_rows FROM STDIN")
        .await?;
    futures::pin_mut!(sink);
    for chunk in lines.chunks(1 << 20) {
        sink.send(Bytes::copy_from_slice(chunk)).await?;
    }
    let copied = sink.finish().await?;
    let took = started.elapsed();
    anyhow::ensure!(copied as usize == data.rows(), "COPY wrote {copied} rows");
    Ok(data.rows() as f64 / took.as_secs_f64())
}

/// Tier figures as both sides report them: (tier, inside, boundary, killed min, killed max bounded,
/// unbounded, without a figure).
type Tiers = Vec<(i64, i64, i64, i64, i64, i64, i64)>;

fn tiers_of(figures: &pb::ReconciledFigures) -> Tiers {
    let mut tiers: Tiers = figures
        .tiers
        .iter()
        .filter_map(|t| {
            let tier = match t.tier() {
                pb::Tier::Established => 4,
                pb::Tier::Likely => 3,
                pb::Tier::Alleged => 2,
                _ => return None,
            };
            let counted = t.counted.unwrap_or_default();
            let killed = t.killed.unwrap_or_default();
            let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            Some((
                tier,
                n(counted.inside),
                n(counted.boundary),
                n(killed.min),
                n(killed.max_bounded),
                n(killed.unbounded),
                n(killed.without_figure),
            ))
        })
        // A tier with no cluster is no row in the baseline.
        .filter(|t| t.1 + t.2 > 0)
        .collect();
    tiers.sort_by_key(|t| std::cmp::Reverse(t.0));
    tiers
}

/// What a query selects besides its window: its filters and `as_of`.
#[derive(Debug, Clone, Default)]
struct Selection {
    countries: Vec<String>,
    attributed_to: Vec<String>,
    sources: Vec<String>,
    as_of: Option<String>,
}

impl Selection {
    /// The seed question's filters: one country and one party.
    fn seed() -> Self {
        Self {
            countries: vec!["SY".into()],
            attributed_to: vec!["coalition".into()],
            ..Self::default()
        }
    }
}

async fn baseline_tiers(
    client: &tokio_postgres::Client,
    from: &str,
    to: &str,
    selection: &Selection,
) -> anyhow::Result<Tiers> {
    let Selection {
        countries,
        attributed_to,
        sources,
        as_of,
    } = selection;
    let rows = client
        .query(
            BASELINE_SQL,
            &[&from, &to, countries, attributed_to, sources, as_of],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                i64::from(r.get::<_, i32>(0)),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
            )
        })
        .collect())
}

fn figures_request(from: &str, to: &str) -> pb::GetReconciledFiguresRequest {
    pb::GetReconciledFiguresRequest {
        from: from.into(),
        to: to.into(),
        ..Default::default()
    }
}

async fn reconciled(
    channel: Channel,
    from: &str,
    to: &str,
    selection: &Selection,
) -> anyhow::Result<pb::ReconciledFigures> {
    let request = pb::GetReconciledFiguresRequest {
        filters: Some(pb::FigureFilters {
            countries: selection.countries.clone(),
            attributed_to: selection.attributed_to.clone(),
            sources: selection.sources.clone(),
            ..Default::default()
        }),
        as_of: selection.as_of.clone().unwrap_or_default(),
        ..figures_request(from, to)
    };
    ask_figures(channel, request).await
}

async fn ask_figures(
    channel: Channel,
    request: pb::GetReconciledFiguresRequest,
) -> anyhow::Result<pb::ReconciledFigures> {
    pb::figure_service_client::FigureServiceClient::new(channel)
        .get_reconciled_figures(request)
        .await?
        .into_inner()
        .figures
        .context("figures in the response")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let progress = |what: &str| eprintln!("civcas-bench: {what}");
    let with_real_data = args.real_data.join("incidents.csv").is_file();
    // CI sets it, as for the tests that read the data: there a missing export is a fault, found
    // before the run rather than after it.
    anyhow::ensure!(
        with_real_data || std::env::var("CIVCAS_REQUIRE_DATA").as_deref() != Ok("1"),
        "CIVCAS_REQUIRE_DATA=1 but {} is absent",
        args.real_data.display()
    );

    progress("building civcas-server and civcas (release)");
    let server_binary = release_binary("civcas-server", "civcas-server")?;
    let cli_binary = release_binary("civcas-cli", "civcas")?;

    progress("starting PostgreSQL");
    let cluster = LocalCluster::start_temporary()
        .await
        .context("starting PostgreSQL")?;
    for database in ["bench", "copy_baseline", "real"] {
        cluster.ensure_database(database).await?;
    }
    let workdir = tempfile::Builder::new().prefix("civcas-bench-").tempdir()?;
    let workdir = workdir.path();
    let log = args.server_log.as_deref();
    let server = Server::start(&server_binary, &cluster.url("bench"), workdir, log)?;
    let channel = connect(server.addr).await?;
    register_sources(&channel).await?;

    progress(&format!(
        "generating {} incidents (seed {})",
        args.incidents, args.seed
    ));
    let data = Dataset::generate(args.seed, args.incidents);
    let mut table = Table::default();

    // Import: the first rows carry their incidents inline; the later ones name stored incidents.
    progress(&format!("importing {} rows", data.rows()));
    let first_rows: Vec<_> = data
        .first
        .iter()
        .enumerate()
        .map(|(index, row)| pb::ImportRow {
            index: index as u64,
            assessment: Some(row.assessment(None)),
            incident: Some(data.incident_proto(row.incident)),
        })
        .collect();
    let started = Instant::now();
    import(&channel, first_rows, args.batch).await?;
    let first_took = started.elapsed();
    let bench_sql = sql(&cluster.url("bench")).await?;
    let ids = incident_ids(&bench_sql, &data).await?;
    let later_rows: Vec<_> = data
        .later
        .iter()
        .enumerate()
        .map(|(index, row)| pb::ImportRow {
            index: index as u64,
            assessment: Some(row.assessment(Some(&ids))),
            incident: None,
        })
        .collect();
    let started = Instant::now();
    import(&channel, later_rows, args.batch).await?;
    let import_took = first_took + started.elapsed();
    let import_rate = data.rows() as f64 / import_took.as_secs_f64();
    progress("COPY baseline");
    let copy_rate = copy_baseline(&cluster.url("copy_baseline"), &data).await?;
    table.lines.push(Line {
        what: format!("import, {} rows", data.rows()),
        civcas: format!("{import_rate:.0} rows/s"),
        baseline: format!("{copy_rate:.0} rows/s (COPY, bare table)"),
        ratio: import_rate / copy_rate,
        note: format!("ImportAssessments in messages of {}; aim ≥ 0.5", args.batch),
    });
    // The first answer after the import: the read model takes it in (past 50,000 incidents touched,
    // by reading every fact again).
    progress("the first answer after the import");
    let started = Instant::now();
    let first = reconciled(
        connect(server.addr).await?,
        "2018-01-01",
        "2018-12-31",
        &Selection::default(),
    )
    .await;
    if table
        .or_failed(|| "first answer after the import".into(), started, first)
        .is_some()
    {
        table.lines.push(Line {
            what: "first answer after the import".into(),
            civcas: ms(started.elapsed()),
            baseline: "n/a".into(),
            ratio: f64::NAN,
            note: "the read model follows the import as it goes; this is what is left".into(),
        });
    }
    bench_sql.batch_execute("VACUUM ANALYZE").await?;
    if args.pause_for_profiling {
        progress(&format!(
            "loaded; the server is at {} and the database at `{}`; Ctrl-C to go on",
            server.addr,
            cluster.url("bench").expose_secret()
        ));
        tokio::signal::ctrl_c().await?;
    }

    // Reconciled queries over windows a day apart, against the baseline over the same windows with
    // the same selection; every answer is compared.
    let two_sources = Selection {
        sources: vec![MONITOR.into(), BELLIGERENT.into()],
        ..Selection::default()
    };
    let as_of = Selection {
        as_of: Some("2020-06-30".into()),
        ..Selection::default()
    };
    let queries = [
        (
            "1 month",
            "2019-06-01",
            "2019-06-30",
            Selection::default(),
            &[1, 32][..],
        ),
        (
            "1 year",
            "2019-01-01",
            "2019-12-31",
            Selection::default(),
            &[1, 32],
        ),
        (
            "5 years",
            "2015-01-01",
            "2019-12-31",
            Selection::default(),
            &[1, 32],
        ),
        (
            "1 year, Syria, coalition",
            "2019-01-01",
            "2019-12-31",
            Selection::seed(),
            &[1, 32],
        ),
        (
            "1 year, two of the three sources",
            "2019-01-01",
            "2019-12-31",
            two_sources,
            &[1, 32],
        ),
        (
            "1 year, as_of 2020-06-30",
            "2019-01-01",
            "2019-12-31",
            as_of.clone(),
            &[1],
        ),
        (
            "5 years, as_of 2020-06-30",
            "2015-01-01",
            "2019-12-31",
            as_of,
            &[1],
        ),
    ];
    let mut baseline_clients = Vec::new();
    for _ in 0..32 {
        baseline_clients.push(Arc::new(sql(&cluster.url("bench")).await?));
    }
    let channels = Arc::new(connect_many(server.addr, 32).await?);
    let ask_civcas = |selection: &Selection| {
        let (channels, selection) = (Arc::clone(&channels), selection.clone());
        move |worker: usize, (from, to): Window| {
            let (channel, selection) = (channels[worker].clone(), selection.clone());
            async move {
                let figures =
                    reconciled(channel, &from.to_string(), &to.to_string(), &selection).await?;
                Ok(tiers_of(&figures))
            }
        }
    };
    let ask_baseline = |selection: &Selection| {
        let (clients, selection) = (baseline_clients.clone(), selection.clone());
        move |worker: usize, (from, to): Window| {
            let (client, selection) = (Arc::clone(&clients[worker]), selection.clone());
            async move { baseline_tiers(&client, &from.to_string(), &to.to_string(), &selection).await }
        }
    };
    // One call on each connection at once, so that no measurement pays for opening the server's
    // pool connections.
    progress("warming up");
    let warm_up = vec![("2018-01-01".parse()?, "2018-12-31".parse()?); 32];
    ask_windows(32, &warm_up, ask_civcas(&Selection::default())).await?;
    // The baseline of the 1-year query at concurrency 1, for the line under writes.
    let mut year_baseline: Option<Vec<Duration>> = None;
    let mut shift = 1;
    for (name, from, to, selection, concurrencies) in &queries {
        let window: Window = (from.parse()?, to.parse()?);
        for &concurrency in *concurrencies {
            progress(&format!(
                "GetReconciledFigures, {name}, concurrency {concurrency}"
            ));
            let apart = windows_a_day_apart(window, shift, args.queries);
            shift += args.queries as u64;
            let what = format!("reconciled figures, {name}, concurrency {concurrency}");
            let started = Instant::now();
            let Some((civcas, ours)) = table.or_failed(
                || format!("{what}, windows a day apart"),
                started,
                ask_windows(concurrency, &apart, ask_civcas(selection)).await,
            ) else {
                continue;
            };
            let (baseline, theirs) =
                ask_windows(concurrency, &apart, ask_baseline(selection)).await?;
            for ((ours, theirs), (from, to)) in ours.iter().zip(&theirs).zip(&apart) {
                anyhow::ensure!(
                    ours == theirs,
                    "{name}, {from} to {to}: civcas and the baseline disagree:\n civcas   {ours:?}\n baseline {theirs:?}"
                );
            }
            let clusters: i64 = ours[0].iter().find(|t| t.0 == 2).map_or(0, |t| t.1 + t.2);
            let b50 = percentile(&baseline, 0.5);
            if *name == "1 year" && concurrency == 1 {
                year_baseline = Some(baseline.clone());
            }
            table.lines.push(Line {
                what: format!("{what}, windows a day apart"),
                civcas: p50_p99(&civcas),
                baseline: p50_p99(&baseline),
                ratio: percentile(&civcas, 0.5).as_secs_f64() / b50.as_secs_f64(),
                note: format!(
                    "{} calls, from {} on; answers equal ({clusters} clusters at ALLEGED or above in the first)",
                    args.queries, apart[0].0
                ),
            });
        }
    }

    // Unary writes, against single-row INSERTs at the same concurrency.
    bench_sql
        .batch_execute("CREATE TABLE bare_writes (source_id text, external_ref text, verdict text, killed_min int, killed_max int, assessed_on date)")
        .await?;
    let duration = Duration::from_secs(args.write_secs);
    for concurrency in [1, 16, 64] {
        progress(&format!("RecordAssessment, concurrency {concurrency}"));
        let write_channels = connect_many(server.addr, concurrency).await?;
        let civcas = throughput(concurrency, duration, move |worker, n| {
            let channel = write_channels[worker].clone();
            record_new_incident(channel, format!("W{concurrency}-{worker}-{n}"))
        })
        .await?;
        let clients: Vec<_> = baseline_clients
            .iter()
            .cycle()
            .take(concurrency)
            .cloned()
            .collect();
        let baseline = throughput(concurrency, duration, move |worker, n| {
            let client = Arc::clone(&clients[worker]);
            async move {
                // One round trip, as a prepared statement would take: the values are generated.
                client
                    .batch_execute(&format!(
                        "INSERT INTO bare_writes VALUES ('{MONITOR}', 'W{concurrency}-{worker}-{n}', 'fair', 1, 3, '2024-01-01')"
                    ))
                    .await?;
                Ok(())
            }
        })
        .await?;
        table.lines.push(Line {
            what: format!("RecordAssessment, concurrency {concurrency}"),
            civcas: format!("{civcas:.0} calls/s"),
            baseline: format!("{baseline:.0} INSERTs/s (one row, autocommit)"),
            ratio: civcas / baseline,
            note: format!(
                "{} s each; a new incident per call; aim ≥ 4,000/s at 16",
                args.write_secs
            ),
        });
    }

    // The 1-year query while writes keep coming, at a steady rate: each answer first takes in the
    // writes committed before it. The data moves under the answers, so they are not compared with
    // the baseline's; the property tests hold them to the reference.
    let (name, from, to) = ("1 year", "2019-01-01", "2019-12-31");
    progress(&format!(
        "GetReconciledFigures, {name}, concurrency 1, under {} RecordAssessment calls/s",
        args.stream_rate
    ));
    let query_channel = connect(server.addr).await?;
    reconciled(
        query_channel.clone(),
        "2018-01-01",
        "2018-12-31",
        &Selection::default(),
    )
    .await?;
    let stream_secs = 4 * args.write_secs;
    let stream = Duration::from_secs(stream_secs);
    let writer = {
        let channel = connect(server.addr).await?;
        let pause = Duration::from_secs(1) / u32::try_from(args.stream_rate.max(1))?;
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let mut written = 0u32;
            while started.elapsed() < stream {
                tokio::time::sleep_until(started + pause * written).await;
                record_new_incident(channel.clone(), format!("S-{written}")).await?;
                written += 1;
            }
            anyhow::Ok(f64::from(written) / started.elapsed().as_secs_f64())
        })
    };
    let (from, to): Window = (from.parse()?, to.parse()?);
    let mut under_writes = Vec::new();
    for day in 0.. {
        if writer.is_finished() {
            break;
        }
        let shift = Days::new(day);
        let started = Instant::now();
        reconciled(
            query_channel.clone(),
            &(from + shift).to_string(),
            &(to + shift).to_string(),
            &Selection::default(),
        )
        .await?;
        under_writes.push(started.elapsed());
    }
    let written = writer.await??;
    under_writes.sort();
    table.lines.push(Line {
        what: format!("reconciled figures, {name}, concurrency 1, under writes"),
        civcas: p50_p99(&under_writes),
        baseline: year_baseline.as_ref().map_or_else(|| "n/a".into(), |b| p50_p99(b)),
        ratio: year_baseline.as_ref().map_or(f64::NAN, |b| {
            percentile(&under_writes, 0.5).as_secs_f64() / percentile(b, 0.5).as_secs_f64()
        }),
        note: format!(
            "{} calls, windows a day apart, over {stream_secs} s of RecordAssessment at {written:.0} calls/s; answers not compared (the data moves); baseline: 1 year, concurrency 1, without writes",
            under_writes.len()
        ),
    });

    let peak = server.peak_mib();
    table.lines.push(Line {
        what: "server peak memory (VmHWM)".into(),
        civcas: format!("{peak} MiB"),
        baseline: "n/a".into(),
        ratio: f64::NAN,
        note: format!("over the whole run, {} incidents stored", args.incidents),
    });
    drop(channels);
    drop(channel);
    server.stop();

    // A restart: the server reads every fact at start-up; the first answer waits for that.
    progress("restarting the server");
    let started = Instant::now();
    let mut server = Server::start(&server_binary, &cluster.url("bench"), workdir, None)?;
    let first = reconciled(
        connect(server.addr).await?,
        "2019-01-01",
        "2019-12-31",
        &Selection::seed(),
    )
    .await;
    if table
        .or_failed(|| "first answer after a restart".into(), started, first)
        .is_some()
    {
        let load = server.loads.try_recv().ok();
        table.lines.push(Line {
            what: "first answer after a restart".into(),
            civcas: ms(started.elapsed()),
            baseline: "n/a".into(),
            ratio: f64::NAN,
            note: format!(
                "from the process's start; of it, reading every fact into memory {}",
                load.map_or_else(|| "(not logged)".into(), ms)
            ),
        });
    }
    server.stop();

    if with_real_data {
        real_data(
            &args,
            &server_binary,
            &cli_binary,
            &cluster,
            workdir,
            &mut table,
        )
        .await?;
    } else {
        progress(&format!(
            "{} is absent: no real-data figures",
            args.real_data.display()
        ));
    }
    let heading = format!(
        "civcas-bench: {} incidents, seed {}, {} calls per query figure, on {} CPUs\n\n",
        args.incidents,
        args.seed,
        args.queries,
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    std::io::stdout().write_all((heading + &table.markdown()).as_bytes())?;
    cluster.stop().await?;
    anyhow::ensure!(
        table.failed == 0,
        "{} of the measurements failed: see their lines in the table",
        table.failed
    );
    Ok(())
}

/// The ids the server gave the dataset's incidents, by index.
async fn incident_ids(client: &tokio_postgres::Client, data: &Dataset) -> anyhow::Result<Vec<i64>> {
    let rows = client
        .query(
            "SELECT external_ref, incident_id FROM incident_references WHERE source_id = $1",
            &[&MONITOR],
        )
        .await?;
    let by_ref: HashMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    data.incidents
        .iter()
        .map(|i| {
            by_ref
                .get(&i.reference)
                .copied()
                .with_context(|| format!("incident {} was not stored", i.reference))
        })
        .collect()
}

/// The Airwars export through the `civcas` CLI into a server of its own, then the query of the seed
/// question: Coalition strikes in Syria in 2017.
async fn real_data(
    args: &Args,
    server_binary: &Path,
    cli_binary: &Path,
    cluster: &LocalCluster,
    workdir: &Path,
    table: &mut Table,
) -> anyhow::Result<()> {
    eprintln!("civcas-bench: the Airwars export");
    let server = Server::start(server_binary, &cluster.url("real"), workdir, None)?;
    let started = Instant::now();
    let status = Command::new(cli_binary)
        .args([
            "--endpoint",
            &format!("http://{}", server.addr),
            "import",
            "airwars",
        ])
        .arg(&args.real_data)
        .stdout(Stdio::null())
        .status()?;
    let took = started.elapsed();
    anyhow::ensure!(status.success(), "civcas import airwars failed: {status}");
    table.lines.push(Line {
        what: "real data: `civcas import airwars` (9,932 rows)".into(),
        civcas: format!("{:.1} s", took.as_secs_f64()),
        baseline: "n/a".into(),
        ratio: f64::NAN,
        note: "the CLI end to end: reading, mapping, streaming, storing".into(),
    });
    // The seed question, with its filters.
    let channel = connect(server.addr).await?;
    let ask = move |_, (from, to): Window| {
        let request = pb::GetReconciledFiguresRequest {
            filters: Some(pb::FigureFilters {
                countries: vec!["SY".into()],
                attributed_to: vec!["coalition".into()],
                ..Default::default()
            }),
            ..figures_request(&from.to_string(), &to.to_string())
        };
        let channel = channel.clone();
        async move { Ok(tiers_of(&ask_figures(channel, request).await?)) }
    };
    let syria_2017: Window = ("2017-01-01".parse()?, "2017-12-31".parse()?);
    for (how, windows) in [
        (
            "1 year, windows a day apart from 2017-01-02",
            windows_a_day_apart(syria_2017, 1, args.queries),
        ),
        ("2017, one window again", vec![syria_2017; args.queries]),
    ] {
        let (calls, _) = ask_windows(1, &windows, ask.clone()).await?;
        table.lines.push(Line {
            what: format!("real data: reconciled figures, Syria, coalition, {how}"),
            civcas: p50_p99(&calls),
            baseline: "n/a".into(),
            ratio: f64::NAN,
            note: format!("{} calls, concurrency 1", args.queries),
        });
    }
    server.stop();
    Ok(())
}

fn release_binary(package: &str, bin: &str) -> anyhow::Result<PathBuf> {
    Ok(escargot::CargoBuild::new()
        .package(package)
        .bin(bin)
        .release()
        .run()
        .with_context(|| format!("building {bin}"))?
        .path()
        .to_owned())
}
