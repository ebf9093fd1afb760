//! `civcas demo`: the seed article's figures (RT, 4 August 2017), loaded so that a newcomer has
//! something meaningful to ask. Running it again changes nothing.

use std::time::Instant;

use civcas_proto::v1 as pb;

use crate::client::Connection;
use crate::import::{import_rows, print_summary, register};
use crate::output::{Output, line};

/// A statement; `source` is who says it and the tier its figure stands for, `dates` the period's
/// first and last days and the publication date.
fn statement(
    (source, tier): (&str, pb::Tier),
    measure: pb::Measure,
    qualifier: pb::Qualifier,
    count: (u32, Option<u32>),
    dates: (&str, &str, &str),
    area: (&[&str], Option<&str>),
    attributed_to: &str,
) -> pb::Statement {
    pb::Statement {
        source_id: source.into(),
        measure: measure.into(),
        count: Some(pb::CountRange {
            min: count.0,
            max: count.1,
        }),
        qualifier: qualifier.into(),
        period_from: dates.0.into(),
        period_to: dates.1.into(),
        area: Some(pb::Area {
            countries: area.0.iter().map(|c| (*c).to_owned()).collect(),
            admin1: None,
            locality: area.1.map(str::to_owned),
        }),
        attributed_to: attributed_to.into(),
        published_on: dates.2.into(),
        tier: tier.into(),
        ..Default::default()
    }
}

/// A Coalition report of a possible civilian casualty incident, referenced (cjtf-oir, `code`).
fn report(code: &str, day: &str) -> pb::Incident {
    pb::Incident {
        references: vec![pb::IncidentReference {
            source_id: "cjtf-oir".into(),
            external_ref: code.into(),
        }],
        occurred_from: day.into(),
        occurred_to: day.into(),
        location: Some(pb::Location {
            country: "SY".into(),
            precision: pb::LocationPrecision::Country.into(),
            ..Default::default()
        }),
        attributed_to: vec!["coalition".into()],
        ..Default::default()
    }
}

fn row(
    index: u64,
    incident: pb::Incident,
    verdict: pb::Verdict,
    killed: Option<u32>,
    on: &str,
) -> pb::ImportRow {
    pb::ImportRow {
        index,
        assessment: Some(pb::Assessment {
            source_id: "cjtf-oir".into(),
            verdict: verdict.into(),
            civilians_killed: killed.map(|k| pb::CountRange {
                min: k,
                max: Some(k),
            }),
            assessed_on: on.into(),
            ..Default::default()
        }),
        incident: Some(incident),
    }
}

pub async fn run(connection: &Connection, out: &Output) -> anyhow::Result<()> {
    // Airwars and the Coalition as the importer registers them, so that either may run first.
    for source in civcas_import::airwars::sources() {
        register(connection, pb::Source::from(&source)).await?;
    }
    register(
        connection,
        pb::Source::from(&civcas_import::monthly::unami_source()),
    )
    .await?;
    use pb::{Measure::*, Qualifier::*};
    // The Coalition's figures count its credible incidents; Airwars' its Fair and Confirmed ones;
    // UNAMI's the casualties it verified.
    let (coalition, airwars, unami) = (
        ("cjtf-oir", pb::Tier::Established),
        ("airwars", pb::Tier::Likely),
        ("un-unami", pb::Tier::Established),
    );
    let since_2014 = "2014-08-08";
    for s in [
        statement(
            coalition,
            Killed,
            AtLeast,
            (603, None),
            (since_2014, "2017-05-31", "2017-07-06"),
            (&["IQ", "SY"], None),
            "coalition",
        ),
        statement(
            coalition,
            Killed,
            AtLeast,
            (624, None),
            (since_2014, "2017-06-30", "2017-08-04"),
            (&["IQ", "SY"], None),
            "coalition",
        ),
        statement(
            airwars,
            Killed,
            Approximately,
            (4354, Some(4354)),
            ("2014-06-01", "2017-07-31", "2017-08-03"),
            (&["IQ", "SY"], None),
            "coalition",
        ),
        statement(
            unami,
            KilledOrInjured,
            MoreThan,
            (8000, None),
            ("2016-10-17", "2017-07-10", "2017-08-02"),
            (&["IQ"], Some("Mosul")),
            "all",
        ),
        statement(
            unami,
            Killed,
            AtLeast,
            (173, None),
            ("2017-06-01", "2017-06-30", "2017-07-10"),
            (&["SY"], Some("Raqqa")),
            "all",
        ),
    ] {
        connection
            .statements()
            .record_statement(pb::RecordStatementRequest {
                statement: Some(s),
                request_id: String::new(),
            })
            .await?;
    }

    // June 2017: 180 reports carried over open, 72 received; 121 found non-credible, 7 credible
    // with 21 deaths in all, 4 duplicates of the first carried report.
    let first = connection
        .incidents()
        .record_incident(pb::RecordIncidentRequest {
            incident: Some(report("C0", "2017-05-10")),
            request_id: String::new(),
        })
        .await?
        .into_inner()
        .incident
        .map(|i| i.id)
        .unwrap_or_default();
    let mut rows = Vec::new();
    let mut push = |incident: pb::Incident, verdict, killed, on: &str| {
        let index = rows.len() as u64 + 1;
        rows.push(row(index, incident, verdict, killed, on));
    };
    for n in 0..180 {
        push(
            report(&format!("C{n}"), "2017-05-10"),
            pb::Verdict::Open,
            None,
            "2017-05-20",
        );
    }
    for n in 0..72 {
        push(
            report(&format!("N{n}"), "2017-06-10"),
            pb::Verdict::Open,
            None,
            "2017-06-12",
        );
    }
    for n in 0..7 {
        push(
            report(&format!("N{n}"), "2017-06-10"),
            pb::Verdict::Credible,
            Some(3),
            "2017-06-28",
        );
    }
    for n in 1..=121 {
        push(
            report(&format!("C{n}"), "2017-05-10"),
            pb::Verdict::NotCredible,
            None,
            "2017-06-29",
        );
    }
    for n in 122..126 {
        let mut duplicate = row(
            0,
            report(&format!("C{n}"), "2017-05-10"),
            pb::Verdict::Duplicate,
            None,
            "2017-06-29",
        );
        if let Some(a) = duplicate.assessment.as_mut() {
            a.duplicate_of = Some(first.clone());
        }
        duplicate.index = rows.len() as u64 + 1;
        rows.push(duplicate);
    }
    let started = Instant::now();
    let total = rows.len();
    // One batch per step, so that each step's assessments follow the one before.
    let response = import_rows(connection, rows, total).await?;
    out.show(&response, || {
        print_summary(&response, total, started, &|_| None);
        line("Loaded the seed article. Try:");
        line("  civcas figures flow --source cjtf-oir --from 2017-06-01 --to 2017-06-30");
        line("  civcas figures reconcile --from 2017-06-01 --to 2017-06-30");
    })
}
