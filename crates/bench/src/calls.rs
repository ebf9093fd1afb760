//! The calls measured, to civcas and to the baselines.

use super::*;

/// RecordAssessment of a new incident, given inline as `reference` of the monitor's.
pub(crate) async fn record_new_incident(channel: Channel, reference: String) -> anyhow::Result<()> {
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

pub(crate) async fn register_sources(channel: &Channel) -> anyhow::Result<()> {
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
pub(crate) async fn import(
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
pub(crate) const BARE_TABLE: &str = "CREATE TABLE bare_rows (
    external_ref text, occurred_from date, occurred_to date, country text, admin1 text,
    locality text, attributed_to text[], source_id text, verdict text, killed_min int,
    killed_max int, children_killed_min int, children_killed_max int, assessed_on date,
    duplicate_of_ref text)";

pub(crate) fn copy_lines(data: &Dataset) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.rows() * 110);
    for row in data.first.iter().chain(&data.later) {
        let i = &data.incidents[row.incident];
        let columns = |range: Option<(u32, u32)>| {
            range.map_or(("\\N".to_owned(), "\\N".to_owned()), |(a, b)| {
                (a.to_string(), b.to_string())
            })
        };
        let (min, max) = columns(row.killed);
        let (children_min, children_max) = columns(row.children);
        let duplicate = row
            .duplicate_of
            .map_or("\\N".to_owned(), |t| data.incidents[t].reference.clone());
        out.extend_from_slice(
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{{{}}}\t{}\t{}\t{min}\t{max}\t{children_min}\t{children_max}\t{}\t{duplicate}\n",
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
pub(crate) async fn copy_baseline(url: &SecretString, data: &Dataset) -> anyhow::Result<f64> {
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

/// A sum as both sides report it: min, max bounded, unbounded, without a figure.
pub(crate) type Sum = [i64; 4];

/// Tier figures as both sides report them: (tier, inside, boundary, killed, children killed).
pub(crate) type Tiers = Vec<(i64, i64, i64, Sum, Sum)>;

pub(crate) fn tiers_of(figures: &pb::ReconciledFigures) -> Tiers {
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
            let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            let sum = |s: Option<pb::RangeSum>| {
                let s = s.unwrap_or_default();
                [s.min, s.max_bounded, s.unbounded, s.without_figure].map(n)
            };
            Some((
                tier,
                n(counted.inside),
                n(counted.boundary),
                sum(t.killed),
                sum(t.children_killed),
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
pub(crate) struct Selection {
    pub(crate) countries: Vec<String>,
    pub(crate) attributed_to: Vec<String>,
    pub(crate) sources: Vec<String>,
    pub(crate) as_of: Option<String>,
}

impl Selection {
    /// The seed question's filters: one country and one party.
    pub(crate) fn seed() -> Self {
        Self {
            countries: vec!["SY".into()],
            attributed_to: vec!["coalition".into()],
            ..Self::default()
        }
    }
}

pub(crate) async fn baseline_tiers(
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
                [r.get(3), r.get(4), r.get(5), r.get(6)],
                [r.get(7), r.get(8), r.get(9), r.get(10)],
            )
        })
        .collect())
}

pub(crate) fn figures_request(from: &str, to: &str) -> pb::GetReconciledFiguresRequest {
    pb::GetReconciledFiguresRequest {
        from: from.into(),
        to: to.into(),
        ..Default::default()
    }
}

pub(crate) async fn reconciled(
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

pub(crate) async fn ask_figures(
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
