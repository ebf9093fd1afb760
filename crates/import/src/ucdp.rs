//! UCDP's Georeferenced Event Dataset (GED) CSV, mapped as docs/real-data.md says:
//! - an event is an incident referenced `(ucdp, id)`, from `date_start` to `date_end`, as given: in
//!   GED those two dates are already the earliest and latest the event can have happened, the window
//!   `date_prec` grades, so honouring `date_prec` means keeping the window rather than one day;
//! - a repeated `id` keeps its last row, counted;
//! - the country from its name (Iraq → IQ, Syria → SY; any other is rejected with the reason);
//! - `attributed_to` holds slugs of `side_a` and `side_b`;
//! - precision from `where_prec`: 1 exact, 2 locality, 3 district, 4 and 5 admin1, 6 and 7 country;
//!   `admin1` is `adm_1`, the locality `adm_2`, coordinates as given;
//! - the verdict from `event_clarity`: 1 FAIR, 2 WEAK (an individual event or an aggregate, not a
//!   judgement of credibility);
//! - killed = `{deaths_civilians, deaths_civilians + deaths_unknown + max(0, high − best)}`; events whose
//!   killed max is 0 are skipped and counted;
//! - `assessed_on` is the given publication date, by default the day after the latest `date_end` of any
//!   dated row of the file (kept, skipped or rejected alike).

use std::path::Path;

use chrono::{Days, NaiveDate};
use civcas_domain::harm::HarmDone;
use civcas_domain::text::limits;
use civcas_domain::{
    AssessmentDetails, AssessmentFields, Coordinates, CountRange, CountryCode, DateInterval,
    HttpUrl, IncidentDetails, IncidentReference, KilledByGroup, Location, NewIncident, NewSource,
    Precision, Slug, SourceDetails, SourceId, SourceKind, Verdict,
};

use crate::table::Table;
use crate::{ImportError, Rejection};

/// The UCDP source id.
pub const UCDP: &str = "ucdp";

/// UCDP as every civcas tool registers it.
pub fn source() -> NewSource {
    NewSource {
        id: SourceId::parse(UCDP).unwrap_or_else(|_| unreachable!("a valid id")),
        details: SourceDetails {
            display_name: "Uppsala Conflict Data Program (GED)".to_owned(),
            kind: SourceKind::Academic,
            belligerent: None,
            homepage: HttpUrl::parse("https://ucdp.uu.se/").ok(),
            methodology: None,
        },
    }
}

/// One event: its incident and UCDP's assessment of it.
#[derive(Debug, Clone, PartialEq)]
pub struct UcdpEvent {
    pub id: String,
    pub incident: NewIncident,
    pub assessment: AssessmentDetails,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UcdpData {
    pub events: Vec<UcdpEvent>,
    pub rows: u64,
    pub rejected: Vec<Rejection>,
    /// Events whose killed max is 0, skipped as the design says.
    pub skipped_without_civilian_deaths: u64,
    /// Rows whose id a later row repeats: the later one is kept.
    pub replaced_repeated_ids: u64,
    pub published_on: Option<NaiveDate>,
}

/// A side's name as a slug: lower case, runs of anything else as one hyphen, at most 63 characters.
pub fn side_slug(name: &str) -> Option<Slug> {
    let mut slug = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug
        .trim_end_matches('-')
        .chars()
        .take(Slug::MAX_LEN)
        .collect();
    Slug::parse(slug.trim_end_matches('-')).ok()
}

fn precision(where_prec: &str) -> Option<Precision> {
    Some(match where_prec.trim() {
        "1" => Precision::Exact,
        "2" => Precision::Locality,
        "3" => Precision::District,
        "4" | "5" => Precision::Admin1,
        "6" | "7" => Precision::Country,
        _ => return None,
    })
}

fn country(name: &str) -> Option<CountryCode> {
    let code = match name.trim() {
        "Iraq" => "IQ",
        "Syria" => "SY",
        _ => return None,
    };
    CountryCode::parse(code).ok()
}

fn date(raw: &str) -> Option<NaiveDate> {
    // UCDP writes dates with a time: "2017-06-10 00:00:00.000".
    NaiveDate::parse_from_str(raw.trim().get(..10)?, "%Y-%m-%d").ok()
}

fn count(raw: &str) -> Result<u32, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("{raw:?} is not a whole number"))
}

/// Reads a GED CSV. `published_on` dates UCDP's assessments; by default the day after the file's
/// latest `date_end`.
pub fn read(path: &Path, published_on: Option<NaiveDate>) -> Result<UcdpData, ImportError> {
    let mut table = Table::open(path)?;
    let names = [
        "id",
        "side_a",
        "side_b",
        "where_prec",
        "adm_1",
        "adm_2",
        "latitude",
        "longitude",
        "country",
        "event_clarity",
        "date_prec",
        "date_start",
        "date_end",
        "deaths_civilians",
        "deaths_unknown",
        "best",
        "high",
    ];
    let mut col = std::collections::HashMap::new();
    for name in names {
        col.insert(name, table.column(name)?);
    }
    let rows = table.rows()?;
    let mut data = UcdpData::default();
    let mut parsed: Vec<(String, NewIncident, Verdict, CountRange)> = Vec::new();
    let mut latest_end: Option<NaiveDate> = None;
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
        let field = |name: &str| fields[col[name]].trim().to_owned();
        let id = field("id");
        let reject = |data: &mut UcdpData, reason: String| {
            data.rejected.push(Rejection {
                line,
                key: id.clone(),
                reason,
            });
        };
        let (Some(start), Some(end)) = (date(&field("date_start")), date(&field("date_end")))
        else {
            reject(
                &mut data,
                format!(
                    "date_start {:?} or date_end {:?} is not a date",
                    field("date_start"),
                    field("date_end")
                ),
            );
            continue;
        };
        latest_end = latest_end.max(Some(end));
        let Ok(occurred) = DateInterval::new(start, end) else {
            reject(
                &mut data,
                format!("date_end {end} is before date_start {start}"),
            );
            continue;
        };
        let Some(country) = country(&field("country")) else {
            reject(
                &mut data,
                format!("country {:?} is neither Iraq nor Syria", field("country")),
            );
            continue;
        };
        let Some(precision) = precision(&field("where_prec")) else {
            reject(
                &mut data,
                format!("where_prec {:?} is not 1 to 7", field("where_prec")),
            );
            continue;
        };
        let verdict = match field("event_clarity").as_str() {
            "1" => Verdict::Fair,
            "2" => Verdict::Weak,
            other => {
                reject(
                    &mut data,
                    format!("event_clarity {other:?} is neither 1 nor 2"),
                );
                continue;
            }
        };
        let counts = [
            field("deaths_civilians"),
            field("deaths_unknown"),
            field("best"),
            field("high"),
        ]
        .map(|c| count(&c));
        let [civilians, unknown, best, high] = match counts {
            [Ok(a), Ok(b), Ok(c), Ok(d)] => [a, b, c, d],
            _ => {
                let reason = counts.into_iter().find_map(Result::err).unwrap_or_default();
                reject(&mut data, reason);
                continue;
            }
        };
        let max = civilians
            .saturating_add(unknown)
            .saturating_add(high.saturating_sub(best));
        if max == 0 {
            data.skipped_without_civilian_deaths += 1;
            continue;
        }
        let Ok(killed) = CountRange::new(civilians, Some(max)) else {
            reject(&mut data, "the killed range is inverted".to_owned());
            continue;
        };
        let coordinates = match (
            field("latitude").parse::<f64>(),
            field("longitude").parse::<f64>(),
        ) {
            (Ok(lat), Ok(lon)) => Coordinates::new(lat, lon).ok(),
            _ => None,
        };
        let text = |raw: String| {
            (!raw.is_empty()).then(|| raw.chars().take(limits::SHORT_TEXT).collect::<String>())
        };
        let details = IncidentDetails {
            occurred,
            location: Location {
                country,
                admin1: text(field("adm_1")),
                locality: text(field("adm_2")),
                coordinates,
                precision,
            },
            attributed_to: [field("side_a"), field("side_b")]
                .iter()
                .filter_map(|s| side_slug(s))
                .collect(),
            // GED records deaths, not their means.
            harm_done: HarmDone::default(),
        };
        let ucdp = SourceId::parse(UCDP).unwrap_or_else(|_| unreachable!("a valid id"));
        let (Ok(reference), false) = (IncidentReference::new(ucdp, &id), id.is_empty()) else {
            reject(&mut data, "has no id".to_owned());
            continue;
        };
        let Ok(incident) = NewIncident::new([reference], details) else {
            reject(&mut data, "has no reference".to_owned());
            continue;
        };
        // A repeated id keeps its last row.
        if let Some(held) = parsed.iter().position(|p| p.0 == id) {
            parsed.remove(held);
            data.replaced_repeated_ids += 1;
        }
        parsed.push((id, incident, verdict, killed));
    }
    let published_on = published_on
        .or_else(|| latest_end.and_then(|latest| latest.checked_add_days(Days::new(1))));
    data.published_on = published_on;
    let Some(published_on) = published_on else {
        return Ok(data);
    };
    for (id, incident, verdict, killed) in parsed {
        let assessment = AssessmentDetails::new(AssessmentFields {
            verdict,
            source_label: format!(
                "event_clarity {}",
                if verdict == Verdict::Fair { 1 } else { 2 }
            ),
            killed: Some(killed),
            injured: None,
            // GED counts deaths by side, never by age or sex.
            groups: KilledByGroup::default(),
            assessed_on: published_on,
            duplicate_of: None,
            citation: None,
            notes: None,
        })
        .unwrap_or_else(|_| unreachable!("no duplicate target"));
        data.events.push(UcdpEvent {
            id,
            incident,
            assessment,
        });
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_become_slugs() {
        let slug = |s| side_slug(s).map(|s| s.to_string());
        assert_eq!(
            slug("Government of Syria").as_deref(),
            Some("government-of-syria")
        );
        assert_eq!(slug("IS").as_deref(), Some("is"));
        assert_eq!(slug("Civilians").as_deref(), Some("civilians"));
        assert_eq!(slug("  --  "), None);
    }
}
