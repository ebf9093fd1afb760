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

mod calls;
mod dataset;
mod measure;
mod real_data;
mod server;
mod table;

use calls::*;
use measure::*;
use real_data::*;
use server::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use table::*;

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
