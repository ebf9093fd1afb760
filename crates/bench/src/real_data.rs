//! The Airwars export through the CLI, and the seed question over it.

use super::*;

/// The ids the server gave the dataset's incidents, by index.
pub(crate) async fn incident_ids(
    client: &tokio_postgres::Client,
    data: &Dataset,
) -> anyhow::Result<Vec<i64>> {
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
pub(crate) async fn real_data(
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

pub(crate) fn release_binary(package: &str, bin: &str) -> anyhow::Result<PathBuf> {
    Ok(escargot::CargoBuild::new()
        .package(package)
        .bin(bin)
        .release()
        .run()
        .with_context(|| format!("building {bin}"))?
        .path()
        .to_owned())
}
