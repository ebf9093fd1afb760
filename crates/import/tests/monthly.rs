//! The monthly releases: hand-written fixtures with broken rows, and the real files when present.

use std::path::PathBuf;

use civcas_domain::{Measure, Tier};
use civcas_import::monthly::{self, month_of};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/monthly")
        .join(name)
}

fn shared(file: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(file);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("CIVCAS_REQUIRE_DATA").as_deref() != Ok("1"),
        "CIVCAS_REQUIRE_DATA=1 but {} is absent",
        path.display()
    );
    eprintln!("skipped: {} is absent", path.display());
    None
}

#[test]
fn cjtf_oir_cumulative_figures_form_one_chain_and_broken_arithmetic_is_reported() {
    let data = monthly::read_cjtf_oir(&fixture("cjtf.fixture.csv")).unwrap();
    assert_eq!(data.rows, 6);
    // The truncated 2017-08 line, the month 2017-13, and a line that is not UTF-8.
    let rejected: Vec<u64> = data.rejected.iter().map(|r| r.line).collect();
    assert_eq!(rejected, [5, 6, 7], "{:#?}", data.rejected);
    assert!(
        data.rejected[1].reason.contains("2017-13") && data.rejected[2].reason.contains("UTF-8")
    );
    let mins: Vec<u32> = data
        .statements
        .iter()
        .map(|s| s.details.count().min())
        .collect();
    assert_eq!(mins, [603, 624, 700]);
    let keys: Vec<String> = data.statements.iter().map(|s| s.chain_key()).collect();
    assert!(keys.windows(2).all(|w| w[0] == w[1]), "one revision chain");
    // June: 12 + 6 − 4 = 14, not 99. July: 624 + 5 = 629, not 700. Both reported, neither hidden.
    let problems: Vec<(&str, &str)> = data
        .arithmetic
        .iter()
        .map(|a| (a.key.as_str(), a.reason.as_str()))
        .collect();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].1.contains("= 14") && problems[1].1.contains("= 629"),
        "{problems:#?}"
    );
    // June's release date is only a month, August: its last day, never earlier than the real
    // release, said in the summary and in the statement's notes.
    let june = &data.statements[1].details;
    assert_eq!(june.published_on.to_string(), "2017-08-31");
    assert_eq!(data.notes.len(), 1);
    assert!(
        june.notes
            .as_deref()
            .is_some_and(|n| n.contains("2017-08-31")),
        "{june:?}"
    );
    // The Coalition's figures count its credible incidents.
    assert!(
        data.statements
            .iter()
            .all(|s| s.details.tier == Tier::Established)
    );
}

#[test]
fn unami_keeps_killed_and_injured_apart_and_missing_months_missing() {
    let data = monthly::read_unami(&fixture("unami.fixture.csv")).unwrap();
    assert_eq!(data.rows, 6);
    // September's 'lots', the month 2017-13, a line not UTF-8, a truncated line.
    let rejected: Vec<u64> = data.rejected.iter().map(|r| r.line).collect();
    assert_eq!(rejected, [4, 5, 6, 7], "{:#?}", data.rejected);
    // June: 6 figures; August: 4, Anbar not obtained: no Anbar statement, never a zero.
    let per_month: Vec<(String, usize)> = ["2017-06", "2017-08"]
        .iter()
        .map(|m| {
            (
                (*m).to_owned(),
                data.statements.iter().filter(|s| month_of(s) == *m).count(),
            )
        })
        .collect();
    assert_eq!(
        per_month,
        [("2017-06".to_owned(), 6), ("2017-08".to_owned(), 4)]
    );
    // August's release has no date: estimated as the first day of the second month after, October,
    // and said so.
    let august: Vec<_> = data
        .statements
        .iter()
        .filter(|s| month_of(s) == "2017-08")
        .collect();
    assert!(
        august
            .iter()
            .all(|s| s.details.published_on.to_string() == "2017-10-01"
                && s.details
                    .notes
                    .as_deref()
                    .is_some_and(|n| n.contains("estimated"))),
        "{august:#?}"
    );
    assert_eq!(data.notes.len(), 1, "{:?}", data.notes);
    assert!(
        data.statements
            .iter()
            .all(|s| s.details.count().min() > 0 || s.details.area.admin1.is_none())
    );
    let june_killed: Vec<(String, u32)> = data
        .statements
        .iter()
        .filter(|s| month_of(s) == "2017-06" && s.details.measure == Measure::Killed)
        .map(|s| {
            (
                format!(
                    "{}/{}",
                    s.details.definition,
                    s.details.area.admin1.clone().unwrap_or_default()
                ),
                s.details.count().min(),
            )
        })
        .collect();
    assert_eq!(
        june_killed,
        [
            ("civilians-incl-police/".into(), 415),
            ("civilians/".into(), 411),
            ("civilians/Anbar".into(), 20)
        ]
    );
}

#[test]
fn the_real_monthly_files_map_in_full() {
    if let Some(path) = shared("cjtf-oir-monthly/cjtf_oir_monthly_reports.csv") {
        let data = monthly::read_cjtf_oir(&path).unwrap();
        assert_eq!((data.rows, data.rejected.len()), (9, 0));
        assert!(
            data.arithmetic.is_empty(),
            "the releases' arithmetic holds: {:#?}",
            data.arithmetic
        );
        let mins: Vec<u32> = data
            .statements
            .iter()
            .map(|s| s.details.count().min())
            .collect();
        assert_eq!(mins, [484, 603, 624, 1139, 1335]);
    }
    if let Some(path) = shared("unami-monthly/unami_monthly_iraq.csv") {
        let data = monthly::read_unami(&path).unwrap();
        assert_eq!(
            (data.rows, data.rejected.len(), data.statements.len()),
            (7, 0, 32)
        );
    }
}
