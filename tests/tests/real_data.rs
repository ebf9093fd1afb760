//! On the real Airwars data: the Coalition-attributed incidents of 2017, with Airwars' and the
//! Coalition's assessments mapped as docs/real-data.md says, give the same figures in SQL as in the
//! reference implementation. Skipped, with a message, when `../shared/data` is absent.

use chrono::NaiveDate;
use civcas_domain::DateInterval;
use civcas_domain::reconcile::{FigureQuery, Filters, reconcile};
use civcas_domain::repository::FigureRepository;

fn d(raw: &str) -> NaiveDate {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coalition_strikes_in_syria_in_2017_served_equal_the_reference() {
    let Some(dir) = civcas_tests::data::shared_data("airwars-syria") else {
        return;
    };
    let (store, _) = civcas_tests::fresh_store().await;
    let loaded = civcas_tests::real::load_airwars_year(&store, &dir, 2017).await;
    assert!(
        loaded.incidents > 1000,
        "expected well over a thousand, got {}",
        loaded.incidents
    );

    let dataset =
        civcas_tests::dataset::read_back(&store, &civcas_tests::real::airwars_sources()).await;
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
        let actual = store.reconciled_figures(query.clone()).await.unwrap();
        let expected = reconcile(&dataset, query);
        assert_eq!(
            actual, expected,
            "served and reference differ for {query:?}"
        );
    }
}
