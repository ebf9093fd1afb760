//! The UCDP GED mapping on a hand-written extract with one row of each defect.

use std::path::PathBuf;

use civcas_domain::{CountRange, Precision, Verdict};
use civcas_import::ucdp;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ucdp/ged.fixture.csv")
}

#[test]
fn events_map_as_the_design_says_and_broken_rows_are_rejected() {
    let data = ucdp::read(&fixture(), None).unwrap();
    assert_eq!(data.rows, 8);
    // 102: killed max 0 + 0 + max(0, 2 − 2) = 0: skipped, counted.
    assert_eq!(data.skipped_without_civilian_deaths, 1);
    let rejected: Vec<(&str, &str)> = data
        .rejected
        .iter()
        .map(|r| (r.key.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(rejected.len(), 6, "{rejected:#?}");
    assert!(
        rejected
            .iter()
            .any(|(k, r)| *k == "107" && r.contains("event_clarity")),
        "{rejected:#?}"
    );
    assert!(
        rejected.iter().any(|(_, r)| r.contains("UTF-8")),
        "{rejected:#?}"
    );
    assert!(
        rejected
            .iter()
            .any(|(k, r)| *k == "103" && r.contains("Afghanistan")),
        "{rejected:#?}"
    );
    assert!(
        rejected
            .iter()
            .any(|(k, r)| *k == "104" && r.contains("not a date")),
        "{rejected:#?}"
    );
    assert!(
        rejected
            .iter()
            .any(|(k, r)| *k == "105" && r.contains("many")),
        "{rejected:#?}"
    );
    assert!(
        rejected
            .iter()
            .any(|(k, r)| k.is_empty() && r.contains("truncated")),
        "{rejected:#?}"
    );

    assert_eq!(data.events.len(), 1);
    let event = &data.events[0];
    assert_eq!(event.id, "101");
    // killed = {3, 3 + 1 + max(0, 7 − 5)} = {3, 6}.
    assert_eq!(
        event.assessment.killed,
        Some(CountRange::new(3, Some(6)).unwrap())
    );
    assert_eq!(event.assessment.verdict(), Verdict::Fair);
    // The day after the latest date_end.
    assert_eq!(event.assessment.assessed_on().to_string(), "2017-06-12");
    let location = &event.incident.details.location;
    assert_eq!(
        (location.country.as_str(), location.precision),
        ("SY", Precision::Locality)
    );
    let sides: Vec<String> = event
        .incident
        .details
        .attributed_to
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(sides, ["civilians", "is"]);
}

#[test]
fn a_given_publication_date_dates_every_assessment() {
    let day = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).unwrap();
    let data = ucdp::read(&fixture(), Some(day)).unwrap();
    assert_eq!(data.events[0].assessment.assessed_on(), day);
}
