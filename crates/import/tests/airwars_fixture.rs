//! The Airwars mapping on a small export written by hand (tests/fixtures/airwars), with one row of
//! each kind of defect: a placeholder date, a min above its max, an unknown grading, a byte that is
//! not UTF-8, and a truncated line.

use std::path::PathBuf;

use civcas_domain::{CountRange, Precision, Verdict};
use civcas_import::airwars::{self, AirwarsFiles};

fn fixture() -> AirwarsFiles {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/airwars");
    AirwarsFiles {
        incidents: dir.join("incidents.fixture.csv"),
        belligerent_assessments: dir.join("assessments.fixture.csv"),
        belligerent_statements: dir.join("statements.fixture.csv"),
    }
}

#[test]
fn broken_rows_are_rejected_with_their_line_and_the_rest_mapped() {
    let data = airwars::read(&fixture()).unwrap();
    let s = &data.summary;
    assert_eq!(s.rows, 8);
    let rejected: Vec<(u64, &str)> = s
        .rejected
        .iter()
        .map(|r| (r.line, r.key.as_str()))
        .collect();
    // Lines count the header as 1: CS3 is line 4, CS4 line 5, CS7 line 8, CS8 line 9.
    assert_eq!(
        rejected,
        [(8, ""), (9, ""), (4, "CS3"), (5, "CS4")],
        "{:#?}",
        s.rejected
    );
    assert!(s.rejected[0].reason.contains("UTF-8"));
    assert!(s.rejected[1].reason.contains("truncated"));
    assert!(s.rejected[2].reason.contains("1970-01-01"));
    assert!(s.rejected[3].reason.contains("civilians_killed"));
    let codes: Vec<&str> = data.records.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, ["CS1", "CS2", "CS5", "CS6"]);
    assert_eq!(
        (
            s.unknown_gradings,
            s.without_grading,
            s.unknown_coalition_assessments
        ),
        (1, 1, 1)
    );
    assert_eq!(
        s.skipped_aliases, 1,
        "CS1's own code among its previous codes"
    );

    let cs1 = &data.records[0];
    let references: Vec<&str> = cs1
        .incident
        .references()
        .iter()
        .map(|r| r.external_ref.as_str())
        .collect();
    assert_eq!(references, ["CS1", "R100"]);
    let location = &cs1.incident.details.location;
    assert_eq!(
        (location.admin1.as_deref(), location.precision),
        (Some("Raqqa"), Precision::Locality)
    );
    let attributed: Vec<String> = cs1
        .incident
        .details
        .attributed_to
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(attributed, ["coalition", "russia"]);
    let airwars_verdict = cs1.airwars.as_ref().unwrap();
    assert_eq!(
        (airwars_verdict.verdict(), airwars_verdict.killed),
        (Verdict::Fair, Some(CountRange::new(2, Some(5)).unwrap()))
    );
    let coalition = cs1.coalition.as_ref().unwrap();
    assert_eq!(coalition.verdict(), Verdict::Credible);
    assert_eq!(coalition.killed, Some(CountRange::exact(2)));
    assert_eq!(
        coalition.assessed_on().to_string(),
        "2017-08-04",
        "from the statement naming CS1"
    );
    assert_eq!(coalition.source_label, "credible: strike_confirmed");

    let cs2 = &data.records[1];
    assert_eq!(
        cs2.incident.details.location.admin1.as_deref(),
        Some("Deir ez-Zor")
    );
    assert_eq!(cs2.incident.details.occurred.days(), 3);
    assert_eq!(
        cs2.airwars.as_ref().unwrap().killed,
        Some(CountRange::new(0, Some(3)).unwrap()),
        "only a max: from 0"
    );
    let not_credible = cs2.coalition.as_ref().unwrap();
    assert_eq!(not_credible.verdict(), Verdict::NotCredible);
    assert_eq!(
        not_credible.assessed_on().to_string(),
        "2024-05-02",
        "no statement: last_modified"
    );

    assert!(
        data.records[2].airwars.is_none() && data.records[2].coalition.is_none(),
        "CS5"
    );
    assert_eq!(
        data.records[3].coalition.as_ref().unwrap().verdict(),
        Verdict::Open
    );
}
