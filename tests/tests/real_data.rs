//! On the real Airwars data: the Coalition-attributed incidents of 2017, with Airwars' and the
//! Coalition's assessments mapped as docs/real-data.md says, give the same figures in SQL as in the
//! reference implementation. Skipped, with a message, when `../shared/data` is absent.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::NaiveDate;
use civcas_domain::reconcile::{FigureQuery, Filters, ReconciledFigures, reconcile};
use civcas_domain::repository::FigureRepository;
use civcas_domain::{DateInterval, Tier};
use civcas_import::airwars::COALITION_SOURCE;

fn d(raw: &str) -> NaiveDate {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
}

fn describe(figures: &ReconciledFigures) -> String {
    let mut lines = Vec::new();
    let range = |min: u64, max: Option<u64>| {
        format!("{min}–{}", max.map_or("∞".to_owned(), |m| m.to_string()))
    };
    for source in &figures.sources {
        let verdicts: Vec<String> = source
            .verdicts
            .iter()
            .map(|(v, n)| format!("{}={}", v.as_str(), n.inside + n.boundary))
            .collect();
        let established = source
            .tiers
            .iter()
            .find(|t| t.tier == Tier::Established)
            .unwrap();
        let likely = source
            .tiers
            .iter()
            .find(|t| t.tier == Tier::Likely)
            .unwrap();
        lines.push(format!(
            "  {:9} {}; killed at ESTABLISHED {}, at LIKELY {}",
            source.source_id.as_str(),
            verdicts.join(" "),
            range(established.killed.min, established.killed.max()),
            range(likely.killed.min, likely.killed.max()),
        ));
    }
    for tier in &figures.tiers {
        lines.push(format!(
            "  reconciled {:?}: {} clusters inside, {} on the boundary; killed {} (bounded max {}, {} unbounded, {} without figure)",
            tier.tier,
            tier.counted.inside,
            tier.counted.boundary,
            range(tier.killed.min, tier.killed.max()),
            tier.killed.max_bounded,
            tier.killed.unbounded,
            tier.killed.without_figure,
        ));
    }
    lines.push(format!(
        "  disputed: {} clusters, killed {}",
        figures.disputed.figures.counted.inside + figures.disputed.figures.counted.boundary,
        range(
            figures.disputed.figures.killed.min,
            figures.disputed.figures.killed.max()
        ),
    ));
    for gap in &figures.coverage_gaps {
        lines.push(format!(
            "  coverage gap of {}: {} clusters",
            gap.source_id.as_str(),
            gap.clusters
        ));
    }
    lines.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coalition_strikes_in_syria_in_2017_agree_in_sql_and_in_the_reference() {
    let Some(dir) = civcas_tests::data::shared_data("airwars-syria") else {
        return;
    };
    let (store, _) = civcas_tests::fresh_store().await;
    let started = Instant::now();
    let loaded = civcas_tests::real::load_airwars_year(&store, &dir, 2017).await;
    eprintln!(
        "airwars export: {} rows, {} rejected; loaded the {} incidents of 2017 attributed to the coalition and {} assessments in {:.1} s",
        loaded.data.summary.rows,
        loaded.data.summary.rejected.len(),
        loaded.incidents,
        loaded.assessments,
        started.elapsed().as_secs_f64()
    );
    assert!(
        loaded.incidents > 1000,
        "expected well over a thousand, got {}",
        loaded.incidents
    );

    let dataset =
        civcas_tests::dataset::read_back(&store, &civcas_tests::real::airwars_sources()).await;
    let coalition_verdicts: BTreeMap<&str, usize> = dataset
        .assessments
        .iter()
        .filter(|a| a.source_id.as_str() == COALITION_SOURCE)
        .fold(BTreeMap::new(), |mut counts, a| {
            *counts.entry(a.verdict.as_str()).or_default() += 1;
            counts
        });
    eprintln!("the Coalition's verdicts on them: {coalition_verdicts:?}");

    let year = DateInterval::new(d("2017-01-01"), d("2017-12-31")).unwrap();
    let mut queries = vec![
        FigureQuery {
            window: year,
            filters: Filters::default(),
            as_of: None,
        },
        // Every Airwars verdict was last modified in 2024–2026: as of 2023 only the Coalition speaks.
        FigureQuery {
            window: year,
            filters: Filters::default(),
            as_of: Some(d("2023-12-31")),
        },
        FigureQuery {
            window: year,
            filters: Filters {
                admin1: ["Ar Raqqah".to_owned()].into(),
                ..Filters::default()
            },
            as_of: None,
        },
    ];
    for month in 1..=12 {
        let from = NaiveDate::from_ymd_opt(2017, month, 1).unwrap();
        let to = from
            .checked_add_months(chrono::Months::new(1))
            .unwrap()
            .pred_opt()
            .unwrap();
        queries.push(FigureQuery {
            window: DateInterval::new(from, to).unwrap(),
            filters: Filters::default(),
            as_of: None,
        });
    }
    for query in &queries {
        let started = Instant::now();
        let actual = store.reconciled_figures(query.clone()).await.unwrap();
        let elapsed = started.elapsed();
        let expected = reconcile(&dataset, query);
        assert_eq!(actual, expected, "SQL and reference differ for {query:?}");
        if query.window == year {
            eprintln!(
                "{:?} as of {:?}, in {} ms:\n{}",
                query.filters.admin1,
                query.as_of,
                elapsed.as_millis(),
                describe(&actual)
            );
        }
    }
}
