//! Monthly aggregate releases, as statements: CJTF-OIR's cumulative "at least N" figures and UNAMI's
//! monthly killed and injured (docs/real-data.md).

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{Datelike, Months, NaiveDate};
use civcas_domain::statement::{Area, Measure, Qualifier, StatementFields};
use civcas_domain::{
    CountRange, CountryCode, DateInterval, HttpUrl, NewSource, NewStatement, Slug, SourceDetails,
    SourceId, SourceKind, StatementDetails, Tier,
};

use crate::table::Table;
use crate::{ImportError, Rejection};

/// A release's statements, and what reading found on the way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonthlyData {
    pub statements: Vec<NewStatement>,
    pub rows: u64,
    pub rejected: Vec<Rejection>,
    /// Rows where the release's own arithmetic does not hold, reported rather than hidden.
    pub arithmetic: Vec<Rejection>,
    /// Publication dates civcas had to choose, and why.
    pub notes: Vec<String>,
}

fn slug(s: &str) -> Slug {
    Slug::parse(s).unwrap_or_else(|_| unreachable!("{s} is a valid slug"))
}

fn country(code: &str) -> CountryCode {
    CountryCode::parse(code).unwrap_or_else(|_| unreachable!("{code} is assigned"))
}

/// `YYYY-MM` as the month's first and last days.
fn month(raw: &str) -> Option<DateInterval> {
    let first = NaiveDate::parse_from_str(&format!("{}-01", raw.trim()), "%Y-%m-%d").ok()?;
    let last = first.checked_add_months(Months::new(1))?.pred_opt()?;
    DateInterval::new(first, last).ok()
}

/// When a release came out, never earlier than it really did, so that an `as_of` query never shows a
/// figure before anyone could read it: a full date as given; a month alone is that month's last day
/// (the June 2017 release dated "2017-08" came on 4 August); none is the first day of the second
/// month after the reporting month, since releases came one to two months after. Returns the date
/// and, when civcas had to choose it, a note saying how.
fn publication_date(raw: &str, reporting: DateInterval) -> (NaiveDate, Option<String>) {
    let raw = raw.trim();
    if let Ok(day) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return (day, None);
    }
    if let Some(month) = month(raw) {
        let note = format!(
            "published {raw:?} gives only a month: taken as its last day, {}",
            month.to()
        );
        return (month.to(), Some(note));
    }
    let second_month_after = reporting
        .from()
        .checked_add_months(Months::new(2))
        .unwrap_or(reporting.to());
    let note = format!(
        "published {raw:?} is missing or not a date: estimated as {second_month_after}, the first day of the second month after the reporting month"
    );
    (second_month_after, Some(note))
}

fn number(raw: &str) -> Result<Option<u32>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.replace(',', "")
        .parse()
        .map(Some)
        .map_err(|_| format!("{raw:?} is not a whole number"))
}

/// The CJTF-OIR source id.
pub const CJTF_OIR: &str = "cjtf-oir";
/// The UNAMI source id.
pub const UNAMI: &str = "un-unami";

/// UNAMI as every civcas tool registers it.
pub fn unami_source() -> NewSource {
    NewSource {
        id: SourceId::parse(UNAMI).unwrap_or_else(|_| unreachable!("a valid id")),
        details: SourceDetails {
            display_name: "UN Assistance Mission for Iraq".to_owned(),
            kind: SourceKind::Intergovernmental,
            belligerent: None,
            homepage: HttpUrl::parse("https://iraq.un.org/").ok(),
            methodology: None,
        },
    }
}

/// CJTF-OIR's monthly releases: the cumulative "at least N" figures become one KILLED revision chain
/// from 2014-08-08, attributed to the Coalition, over Iraq and Syria. `credible_deaths` counts the
/// deaths conceded in that month's assessments, not deaths of that month, so it is never a statement;
/// it only checks the chain.
pub fn read_cjtf_oir(path: &Path) -> Result<MonthlyData, ImportError> {
    let mut table = Table::open(path)?;
    let col = |name| table.column(name);
    let (
        release,
        reporting,
        carried,
        new,
        completed,
        credible_deaths,
        open_end,
        cumulative,
        period_end,
        url,
    ) = (
        col("release_date")?,
        col("reporting_month")?,
        col("carried_over_open")?,
        col("new_reports")?,
        col("completed")?,
        col("credible_deaths")?,
        col("open_end_of_month")?,
        col("cumulative_civilian_deaths_at_least")?,
        col("cumulative_period_end")?,
        col("source_url")?,
    );
    let rows = table.rows()?;
    let mut data = MonthlyData::default();
    let mut previous: Option<(NaiveDate, Option<u32>)> = None;
    for (line, row) in rows {
        data.rows += 1;
        let reject = |data: &mut MonthlyData, key: &str, reason: String| {
            data.rejected.push(Rejection {
                line,
                key: key.to_owned(),
                reason,
            });
        };
        let fields = match row {
            Ok(fields) => fields,
            Err(reason) => {
                reject(&mut data, "", reason);
                continue;
            }
        };
        let key = fields[reporting].trim().to_owned();
        let Some(period) = month(&key) else {
            reject(
                &mut data,
                &key,
                format!("reporting_month {key:?} is not YYYY-MM"),
            );
            continue;
        };
        let figures = [
            carried,
            new,
            completed,
            credible_deaths,
            open_end,
            cumulative,
        ]
        .map(|i| number(&fields[i]));
        if let Some(Err(e)) = figures.iter().find(|f| f.is_err()) {
            reject(&mut data, &key, e.clone());
            continue;
        }
        let [carried, new, completed, deaths, open_end, cumulative] =
            figures.map(|f| f.unwrap_or(None));

        // The release's own arithmetic, within the month and with the month before.
        if let (Some(c), Some(n), Some(done), Some(end)) = (carried, new, completed, open_end)
            && i64::from(c) + i64::from(n) - i64::from(done) != i64::from(end)
        {
            data.arithmetic.push(Rejection {
                line,
                key: key.clone(),
                reason: format!(
                    "open_end {end} ≠ carried_over {c} + new {n} − completed {done} = {}",
                    i64::from(c) + i64::from(n) - i64::from(done)
                ),
            });
        }
        if let (Some((before, Some(then))), Some(now), Some(deaths)) =
            (previous, cumulative, deaths)
            && before.checked_add_months(Months::new(1)) == Some(period.from())
            && u64::from(then) + u64::from(deaths) != u64::from(now)
        {
            data.arithmetic.push(Rejection {
                line,
                key: key.clone(),
                reason: format!(
                    "cumulative {now} ≠ previous cumulative {then} + credible_deaths {deaths} = {}",
                    u64::from(then) + u64::from(deaths)
                ),
            });
        }
        previous = Some((period.from(), cumulative));

        let Some(cumulative) = cumulative else {
            continue;
        };
        let (published_on, chosen) = publication_date(&fields[release], period);
        if let Some(chosen) = &chosen {
            data.notes.push(format!("{key}: {chosen}"));
        }
        let period_to =
            NaiveDate::parse_from_str(fields[period_end].trim(), "%Y-%m-%d").unwrap_or(period.to());
        let Ok(span) = DateInterval::new(
            NaiveDate::from_ymd_opt(2014, 8, 8).unwrap_or(period.from()),
            period_to,
        ) else {
            reject(
                &mut data,
                &key,
                format!("cumulative_period_end {period_to} is before 2014-08-08"),
            );
            continue;
        };
        let details = StatementDetails::new(StatementFields {
            measure: Measure::Killed,
            count: CountRange::at_least(cumulative),
            qualifier: Qualifier::AtLeast,
            definition: slug("civilians"),
            period: span,
            area: Area::new([country("IQ"), country("SY")], None, None)
                .unwrap_or_else(|_| unreachable!("two countries")),
            attributed_to: slug("coalition"),
            published_on,
            // "More likely than not": the Coalition's credible incidents.
            tier: Tier::Established,
            citation: HttpUrl::parse(fields[url].trim()).ok(),
            notes: chosen,
        });
        match details {
            Ok(details) => data.statements.push(NewStatement {
                source_id: SourceId::parse(CJTF_OIR).unwrap_or_else(|_| unreachable!("a valid id")),
                details,
            }),
            Err(e) => reject(&mut data, &key, e.to_string()),
        }
    }
    Ok(data)
}

/// UNAMI's monthly figures for Iraq: killed and injured kept apart, with (`civilians-incl-police`)
/// and without (`civilians`) police, and Anbar's own figures as Anbar's area. UNAMI calls its figures
/// an "absolute minimum" and attributes them to no one: AT_LEAST, attributed to `all`. A month Anbar
/// did not report gives no Anbar statement: missing, never zero. A release without a full date is
/// dated by `publication_date`, and the notes say so.
pub fn read_unami(path: &Path) -> Result<MonthlyData, ImportError> {
    let mut table = Table::open(path)?;
    let col = |name| table.column(name);
    let (reporting, published, url) = (
        col("reporting_month")?,
        col("published")?,
        col("source_url")?,
    );
    let figures = [
        (
            col("civilians_killed_total")?,
            Measure::Killed,
            "civilians-incl-police",
            None,
        ),
        (
            col("civilians_injured_total")?,
            Measure::Injured,
            "civilians-incl-police",
            None,
        ),
        (
            col("civilians_killed_excl_police")?,
            Measure::Killed,
            "civilians",
            None,
        ),
        (
            col("civilians_injured_excl_police")?,
            Measure::Injured,
            "civilians",
            None,
        ),
        (
            col("anbar_killed")?,
            Measure::Killed,
            "civilians",
            Some("Anbar"),
        ),
        (
            col("anbar_injured")?,
            Measure::Injured,
            "civilians",
            Some("Anbar"),
        ),
    ];
    let rows = table.rows()?;
    let mut data = MonthlyData::default();
    for (line, row) in rows {
        data.rows += 1;
        let fields = match row {
            Ok(fields) => fields,
            Err(reason) => {
                data.rejected.push(Rejection {
                    line,
                    key: String::new(),
                    reason,
                });
                continue;
            }
        };
        let key = fields[reporting].trim().to_owned();
        let Some(period) = month(&key) else {
            data.rejected.push(Rejection {
                line,
                key: key.clone(),
                reason: format!("reporting_month {key:?} is not YYYY-MM"),
            });
            continue;
        };
        let (published_on, chosen) = publication_date(&fields[published], period);
        if let Some(chosen) = &chosen {
            data.notes.push(format!("{key}: {chosen}"));
        }
        let mut statements = Vec::new();
        let mut problems = BTreeSet::new();
        for (index, measure, definition, admin1) in figures {
            match number(&fields[index]) {
                Err(e) => {
                    problems.insert(e);
                }
                // Not stated: no statement, never a zero.
                Ok(None) => {}
                Ok(Some(count)) => {
                    let details = StatementDetails::new(StatementFields {
                        measure,
                        count: CountRange::at_least(count),
                        qualifier: Qualifier::AtLeast,
                        definition: slug(definition),
                        period,
                        area: Area::new([country("IQ")], admin1.map(str::to_owned), None)
                            .unwrap_or_else(|_| unreachable!("one country")),
                        attributed_to: slug("all"),
                        published_on,
                        // Casualties UNAMI verified itself.
                        tier: Tier::Established,
                        citation: HttpUrl::parse(fields[url].trim()).ok(),
                        notes: chosen.clone(),
                    });
                    match details {
                        Ok(details) => statements.push(NewStatement {
                            source_id: SourceId::parse(UNAMI)
                                .unwrap_or_else(|_| unreachable!("a valid id")),
                            details,
                        }),
                        Err(e) => {
                            problems.insert(e.to_string());
                        }
                    }
                }
            }
        }
        if problems.is_empty() {
            data.statements.extend(statements);
        } else {
            data.rejected.push(Rejection {
                line,
                key,
                reason: problems.into_iter().collect::<Vec<_>>().join("; "),
            });
        }
    }
    Ok(data)
}

/// The year and month of a statement's period start, for summaries.
pub fn month_of(statement: &NewStatement) -> String {
    let from = statement.details.period.from();
    format!("{}-{:02}", from.year(), from.month())
}
