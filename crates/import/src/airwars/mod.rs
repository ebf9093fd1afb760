//! Airwars' Syria export: `incidents.csv`, `belligerent_assessments.csv` and
//! `belligerent_statements.csv`, mapped as docs/real-data.md says.
//!
//! Choices the design leaves open, made here and listed in docs/real-data.md:
//! - a row that is not UTF-8, is truncated, or holds a figure that is not a whole number, a min above
//!   its max or an unknown `geolocation_accuracy` is rejected with its line, like a row without a
//!   date; coordinates out of range are dropped and counted, and the incident kept;
//! - a code's surviving row is chosen among rows with a readable `last_modified`, before the row's
//!   other fields are checked, so a later row with a bad date loses the code;
//! - an unknown grading or Coalition assessment gives no assessment, and is counted; a credible
//!   Coalition row with malformed conceded figures loses only the Coalition's assessment;
//! - `admin1` is the governorate, else the region, by the canonical name of [`governorate`] when
//!   either is a known governorate, else as written (counted), else unset;
//! - belligerents are normalised through the [`BELLIGERENTS`] table; unknown spellings are counted;
//! - the Coalition's `assessed_on` comes from the latest statement for the code, whoever the
//!   statement row names as belligerent, since the file holds the Coalition's statements;
//! - the Coalition's `source_label` is its assessment and, when given, its reason:
//!   `non_credible: no_coalition_strikes`;
//! - children, women and men killed are Airwars' own figures, mapped like killed. A group whose
//!   min exceeds killed's max, or that is not a whole number, is dropped and counted, and the row's
//!   other figures are kept; groups whose mins add up to more than killed's max are kept as given
//!   (each may be right, the overlap unknown) and counted;
//! - harm, means and infrastructure come through the spelling tables of `spellings`; a spelling
//!   in none is counted and left out.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use civcas_domain::harm::HarmDone;
use civcas_domain::text::limits;
use civcas_domain::{
    AssessmentDetails, AssessmentFields, Coordinates, CountRange, CountryCode, DateInterval,
    Demographic, HttpUrl, IncidentDetails, IncidentReference, KilledByGroup, Location, NewIncident,
    NewSource, Slug, SourceDetails, SourceId, SourceKind, Verdict,
};

use crate::table::Table;

mod spellings;

use crate::{ImportError, Rejection};
pub use spellings::{BELLIGERENTS, belligerent_slug, governorate};
use spellings::{HARM, INFRASTRUCTURE, MEANS, grading_verdict, precision, terms};

/// The three files of an export.
#[derive(Debug, Clone)]
pub struct AirwarsFiles {
    pub incidents: PathBuf,
    pub belligerent_assessments: PathBuf,
    pub belligerent_statements: PathBuf,
}

impl AirwarsFiles {
    /// The three files by their usual names in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            incidents: dir.join("incidents.csv"),
            belligerent_assessments: dir.join("belligerent_assessments.csv"),
            belligerent_statements: dir.join("belligerent_statements.csv"),
        }
    }
}

/// One incident as Airwars records it, with Airwars' own assessment and the Coalition's.
#[derive(Debug, Clone, PartialEq)]
pub struct AirwarsRecord {
    pub code: String,
    /// Referenced `(airwars, code)` and its usable previous codes.
    pub incident: NewIncident,
    pub airwars: Option<AssessmentDetails>,
    pub coalition: Option<AssessmentDetails>,
}

/// What reading found besides the records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AirwarsSummary {
    /// Data rows of `incidents.csv`.
    pub rows: u64,
    pub rejected: Vec<Rejection>,
    /// Rows dropped because a later-modified row (or a later one in the file) has the same code.
    pub replaced_duplicate_codes: u64,
    /// Previous codes not made aliases: the row's own code, another row's code, or already taken.
    pub skipped_aliases: u64,
    /// Incidents without a grading, hence without an Airwars assessment.
    pub without_grading: u64,
    pub unknown_gradings: u64,
    pub unknown_coalition_assessments: u64,
    /// Coalition assessments dated by `last_modified` because no statement names their code.
    pub coalition_date_fallbacks: u64,
    /// Credible Coalition assessments dropped because their conceded figures are malformed; the
    /// incident and Airwars' assessment are kept.
    pub invalid_coalition_figures: u64,
    /// Belligerent spellings not in [`BELLIGERENTS`], counted once per row.
    pub unknown_belligerents: u64,
    /// Rows of `belligerent_assessments.csv` and `belligerent_statements.csv` that are not UTF-8 or
    /// truncated, or whose statement date does not parse.
    pub unusable_side_rows: u64,
    /// `admin1` values that match no known governorate, kept as written.
    pub unknown_admin1: u64,
    /// Coordinates out of range, dropped (the incident is kept, located by its names).
    pub invalid_coordinates: u64,
    /// Airwars assessments stating children, women and men killed, in that order.
    pub groups_stated: [u64; 3],
    /// Rows with a group dropped because its min exceeds killed's max.
    pub groups_above_killed: u64,
    /// Rows with a group dropped because it is not a whole number or its min exceeds its max.
    pub invalid_group_figures: u64,
    /// Incidents with a harm, a means and an infrastructure term, in that order.
    pub harm_stated: [u64; 3],
    /// Spellings of harm, means or infrastructure that map to no term, with how many rows hold
    /// each; the rows are kept without them.
    pub unmapped_terms: BTreeMap<String, u64>,
    /// Rows whose groups' stated mins add up to more than killed's max; the groups within it are
    /// kept as given.
    pub groups_adding_above_killed: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AirwarsData {
    pub records: Vec<AirwarsRecord>,
    pub summary: AirwarsSummary,
}

/// The source ids the mapping uses.
pub const AIRWARS: &str = "airwars";
pub const COALITION_SOURCE: &str = "cjtf-oir";
/// The belligerent the Coalition speaks for.
pub const COALITION: &str = "coalition";

/// The two sources the export speaks for, as every civcas tool registers them, so that the demo,
/// the importer and the tests never disagree on their attributes.
pub fn sources() -> [NewSource; 2] {
    let slug = |s: &str| Slug::parse(s).unwrap_or_else(|_| unreachable!("a valid slug"));
    let id = |s: &str| SourceId::parse(s).unwrap_or_else(|_| unreachable!("a valid source id"));
    [
        NewSource {
            id: id(AIRWARS),
            details: SourceDetails {
                display_name: "Airwars".to_owned(),
                kind: SourceKind::Monitor,
                belligerent: None,
                homepage: HttpUrl::parse("https://airwars.org/").ok(),
                methodology: None,
            },
        },
        NewSource {
            id: id(COALITION_SOURCE),
            details: SourceDetails {
                display_name: "CJTF-OIR (US-led Coalition)".to_owned(),
                kind: SourceKind::Military,
                belligerent: Some(slug(COALITION)),
                homepage: HttpUrl::parse("https://www.inherentresolve.mil/").ok(),
                methodology: None,
            },
        },
    ]
}

/// A figure from its two columns: both → as given; only max → from 0; only min → at least min;
/// neither → absent.
fn figure(min: &str, max: &str) -> Result<Option<CountRange>, String> {
    let number = |raw: &str| -> Result<Option<u32>, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            Ok(None)
        } else {
            raw.parse::<u32>()
                .map(Some)
                .map_err(|_| format!("{raw:?} is not a whole number"))
        }
    };
    match (number(min)?, number(max)?) {
        (None, None) => Ok(None),
        (Some(min), max) => CountRange::new(min, max)
            .map(Some)
            .map_err(|e| e.to_string()),
        (None, Some(max)) => Ok(Some(
            CountRange::new(0, Some(max)).map_err(|e| e.to_string())?,
        )),
    }
}

fn date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()
}

/// What `belligerent_assessments.csv` says of one code.
#[derive(Debug, Default)]
struct Belligerents {
    attributed_to: BTreeSet<Slug>,
    /// The code's last Coalition row, in file order.
    coalition: Option<CoalitionRow>,
}

#[derive(Debug, Clone)]
struct CoalitionRow {
    assessment: String,
    reason: String,
    deaths: (String, String),
    injuries: (String, String),
}

fn read_belligerents(
    path: &Path,
    summary: &mut AirwarsSummary,
) -> Result<HashMap<String, Belligerents>, ImportError> {
    let mut table = Table::open(path)?;
    let [
        code,
        belligerent,
        assessment,
        non_credible,
        credible,
        deaths_min,
        deaths_max,
        injuries_min,
        injuries_max,
    ] = [
        "code",
        "belligerent",
        "assessment",
        "reason_non_credible",
        "reason_credible",
        "deaths_conceded_min",
        "deaths_conceded_max",
        "injuries_conceded_min",
        "injuries_conceded_max",
    ]
    .map(|name| table.column(name));
    let (code, belligerent, assessment, non_credible, credible) =
        (code?, belligerent?, assessment?, non_credible?, credible?);
    let (deaths_min, deaths_max, injuries_min, injuries_max) =
        (deaths_min?, deaths_max?, injuries_min?, injuries_max?);
    let mut by_code: HashMap<String, Belligerents> = HashMap::new();
    for (_, row) in table.rows()? {
        // A broken row here only loses an attribution; the incident itself is judged in its own file.
        let Ok(row) = row else {
            summary.unusable_side_rows += 1;
            continue;
        };
        let entry = by_code.entry(row[code].clone()).or_default();
        let Some(party) = belligerent_slug(&row[belligerent]) else {
            summary.unknown_belligerents += 1;
            continue;
        };
        if party.as_str() == COALITION {
            let reason = [&row[non_credible], &row[credible]]
                .into_iter()
                .find(|r| !r.is_empty())
                .cloned()
                .unwrap_or_default();
            entry.coalition = Some(CoalitionRow {
                assessment: row[assessment].clone(),
                reason,
                deaths: (row[deaths_min].clone(), row[deaths_max].clone()),
                injuries: (row[injuries_min].clone(), row[injuries_max].clone()),
            });
        }
        entry.attributed_to.insert(party);
    }
    Ok(by_code)
}

/// The latest statement date for each code.
fn read_statement_dates(
    path: &Path,
    summary: &mut AirwarsSummary,
) -> Result<HashMap<String, NaiveDate>, ImportError> {
    let mut table = Table::open(path)?;
    let (code, date) = (table.column("code")?, table.column("statement_date")?);
    let mut latest: HashMap<String, NaiveDate> = HashMap::new();
    for (_, row) in table.rows()? {
        let Ok(row) = row else {
            summary.unusable_side_rows += 1;
            continue;
        };
        let Ok(day) = NaiveDate::parse_from_str(row[date].trim(), "%Y%m%d") else {
            summary.unusable_side_rows += 1;
            continue;
        };
        let held = latest.entry(row[code].clone()).or_insert(day);
        *held = (*held).max(day);
    }
    Ok(latest)
}

struct IncidentRow {
    line: u64,
    last_modified: NaiveDate,
    fields: Vec<String>,
}

/// Reads an export. Rows that cannot be mapped are rejected with their line and reason, never
/// guessed; everything else is mapped.
pub fn read(files: &AirwarsFiles) -> Result<AirwarsData, ImportError> {
    let mut summary = AirwarsSummary::default();
    let belligerents = read_belligerents(&files.belligerent_assessments, &mut summary)?;
    let statement_dates = read_statement_dates(&files.belligerent_statements, &mut summary)?;
    let mut table = Table::open(&files.incidents)?;
    let names = [
        "code",
        "incident_date",
        "date_range_end",
        "last_modified",
        "governorate",
        "region",
        "location_en",
        "latitude",
        "longitude",
        "geolocation_accuracy",
        "grading",
        "civilians_killed_min",
        "civilians_killed_max",
        "civilians_injured_min",
        "civilians_injured_max",
        "cause_of_death_injury",
        "strike_type",
        "infrastructure",
        "children_killed_min",
        "children_killed_max",
        "women_killed_min",
        "women_killed_max",
        "men_killed_min",
        "men_killed_max",
        "previous_codes",
    ];
    let mut col = HashMap::new();
    for name in names {
        col.insert(name, table.column(name)?);
    }
    // First pass: usable rows by code, the later-modified row of a code winning.
    let mut by_code: HashMap<String, IncidentRow> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    // Every row's code, rejected rows' too: none of them may become another row's alias.
    let mut all_codes: HashSet<String> = HashSet::new();
    for (line, row) in table.rows()? {
        summary.rows += 1;
        let fields = match row {
            Ok(fields) => fields,
            Err(reason) => {
                summary.rejected.push(Rejection {
                    line,
                    key: String::new(),
                    reason,
                });
                continue;
            }
        };
        let code = fields[col["code"]].trim().to_owned();
        all_codes.insert(code.clone());
        let Some(last_modified) = date(&fields[col["last_modified"]]) else {
            summary.rejected.push(Rejection {
                line,
                key: code,
                reason: "last_modified is not a date".to_owned(),
            });
            continue;
        };
        let candidate = IncidentRow {
            line,
            last_modified,
            fields,
        };
        match by_code.get(&code) {
            None => {
                order.push(code.clone());
                by_code.insert(code, candidate);
            }
            Some(held) => {
                summary.replaced_duplicate_codes += 1;
                // Later last_modified wins; on a tie, the later row in the file.
                if candidate.last_modified >= held.last_modified {
                    by_code.insert(code, candidate);
                }
            }
        }
    }

    // Second pass: map each kept row.
    let mut taken: HashSet<String> = HashSet::new();
    let mut records = Vec::new();
    for code in order {
        let row = &by_code[&code];
        let field = |name: &str| row.fields[col[name]].trim();
        let reject = |summary: &mut AirwarsSummary, reason: String| {
            summary.rejected.push(Rejection {
                line: row.line,
                key: code.clone(),
                reason,
            });
        };

        let start = match date(field("incident_date")) {
            Some(day) if day != NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default() => day,
            _ => {
                reject(
                    &mut summary,
                    format!("no usable incident_date ({:?})", field("incident_date")),
                );
                continue;
            }
        };
        let end = match field("date_range_end") {
            "" => start,
            raw => match date(raw) {
                Some(end) => end,
                None => {
                    reject(
                        &mut summary,
                        format!("date_range_end {raw:?} is not a date"),
                    );
                    continue;
                }
            },
        };
        let Ok(occurred) = DateInterval::new(start, end) else {
            reject(
                &mut summary,
                format!("date_range_end {end} is before incident_date {start}"),
            );
            continue;
        };
        let Some(precision) = precision(field("geolocation_accuracy")) else {
            reject(
                &mut summary,
                format!(
                    "unknown geolocation_accuracy {:?}",
                    field("geolocation_accuracy")
                ),
            );
            continue;
        };
        // Coordinates out of range are a typo in the export, not a reason to lose the incident:
        // they are dropped, and counted.
        let coordinates = match (
            field("latitude").parse::<f64>(),
            field("longitude").parse::<f64>(),
        ) {
            (Ok(lat), Ok(lon)) => Coordinates::new(lat, lon).ok().or_else(|| {
                summary.invalid_coordinates += 1;
                None
            }),
            _ => None,
        };
        let (killed, injured) = match (
            figure(field("civilians_killed_min"), field("civilians_killed_max")),
            figure(
                field("civilians_injured_min"),
                field("civilians_injured_max"),
            ),
        ) {
            (Ok(k), Ok(i)) => (k, i),
            (Err(e), _) => {
                reject(&mut summary, format!("civilians_killed: {e}"));
                continue;
            }
            (_, Err(e)) => {
                reject(&mut summary, format!("civilians_injured: {e}"));
                continue;
            }
        };

        let groups = killed_by_group(&field, killed, &mut summary);

        let text = |raw: &str| {
            (!raw.is_empty()).then(|| raw.chars().take(limits::SHORT_TEXT).collect::<String>())
        };
        // The governorate, else the region, by its canonical name when either is a known
        // governorate; otherwise as written, and counted.
        let known = governorate(field("governorate")).or_else(|| governorate(field("region")));
        let admin1 = match known {
            Some(name) => Some(name.to_owned()),
            None => {
                let raw = text(field("governorate")).or_else(|| text(field("region")));
                if raw.is_some() {
                    summary.unknown_admin1 += 1;
                }
                raw
            }
        };
        let parties = belligerents.get(&code);
        let details = IncidentDetails {
            occurred,
            location: Location {
                country: CountryCode::parse("SY")
                    .unwrap_or_else(|_| unreachable!("SY is assigned")),
                admin1,
                locality: text(field("location_en")),
                coordinates,
                precision,
            },
            attributed_to: parties.map(|p| p.attributed_to.clone()).unwrap_or_default(),
            harm_done: HarmDone {
                harm: terms(
                    field("cause_of_death_injury"),
                    &HARM,
                    &mut summary.unmapped_terms,
                ),
                means: terms(field("strike_type"), &MEANS, &mut summary.unmapped_terms),
                infrastructure: terms(
                    field("infrastructure"),
                    &INFRASTRUCTURE,
                    &mut summary.unmapped_terms,
                ),
            },
        };
        for (stated, any) in summary.harm_stated.iter_mut().zip([
            !details.harm_done.harm.is_empty(),
            !details.harm_done.means.is_empty(),
            !details.harm_done.infrastructure.is_empty(),
        ]) {
            *stated += u64::from(any);
        }
        let airwars = SourceId::parse(AIRWARS).unwrap_or_else(|_| unreachable!("a valid slug"));
        let Ok(own) = IncidentReference::new(airwars.clone(), &code) else {
            reject(&mut summary, "has no code".to_owned());
            continue;
        };
        taken.insert(code.clone());
        let mut references = vec![own];
        for alias in field("previous_codes").split_whitespace() {
            if alias == code || all_codes.contains(alias) || !taken.insert(alias.to_owned()) {
                summary.skipped_aliases += 1;
                continue;
            }
            match IncidentReference::new(airwars.clone(), alias) {
                Ok(reference) => references.push(reference),
                Err(_) => summary.skipped_aliases += 1,
            }
        }
        let Ok(incident) = NewIncident::new(references, details) else {
            reject(&mut summary, "has no reference".to_owned());
            continue;
        };

        let grading = field("grading");
        let airwars_assessment = if grading.is_empty() {
            summary.without_grading += 1;
            None
        } else if let Some(verdict) = grading_verdict(grading) {
            for group in Demographic::ALL {
                if groups.of(group).is_some() {
                    summary.groups_stated[group as usize] += 1;
                }
            }
            assessment(verdict, grading, killed, injured, groups, row.last_modified)
        } else {
            summary.unknown_gradings += 1;
            None
        };

        // The Coalition concedes deaths, never by group.
        let no_groups = KilledByGroup::default();
        let coalition = match parties.and_then(|p| p.coalition.as_ref()) {
            None => None,
            Some(coalition_row) => {
                let assessed_on = match statement_dates.get(&code) {
                    Some(day) => *day,
                    None => {
                        summary.coalition_date_fallbacks += 1;
                        row.last_modified
                    }
                };
                let label = if coalition_row.reason.is_empty() {
                    coalition_row.assessment.clone()
                } else {
                    format!("{}: {}", coalition_row.assessment, coalition_row.reason)
                };
                match coalition_row.assessment.as_str() {
                    "not_yet_assessed" => None,
                    "credible" => {
                        let deaths = figure(&coalition_row.deaths.0, &coalition_row.deaths.1);
                        let injuries = figure(&coalition_row.injuries.0, &coalition_row.injuries.1);
                        match (deaths, injuries) {
                            (Ok(d), Ok(i)) => {
                                assessment(Verdict::Credible, &label, d, i, no_groups, assessed_on)
                            }
                            // Malformed conceded figures lose the Coalition's assessment only:
                            // the incident and Airwars' assessment stand.
                            _ => {
                                summary.invalid_coalition_figures += 1;
                                None
                            }
                        }
                    }
                    // "Conceded" means something only for a credible verdict.
                    "non_credible" => assessment(
                        Verdict::NotCredible,
                        &label,
                        None,
                        None,
                        no_groups,
                        assessed_on,
                    ),
                    "open_incident" => {
                        assessment(Verdict::Open, &label, None, None, no_groups, assessed_on)
                    }
                    "duplicate" => assessment(
                        Verdict::Duplicate,
                        &label,
                        None,
                        None,
                        no_groups,
                        assessed_on,
                    ),
                    _ => {
                        summary.unknown_coalition_assessments += 1;
                        None
                    }
                }
            }
        };
        records.push(AirwarsRecord {
            code: code.clone(),
            incident,
            airwars: airwars_assessment,
            coalition,
        });
    }
    Ok(AirwarsData { records, summary })
}

/// Airwars' children, women and men killed, checked against killed as the module doc says. A group
/// whose min exceeds killed's max is counted so even when its own max is malformed too.
fn killed_by_group<'a>(
    field: &impl Fn(&str) -> &'a str,
    killed: Option<CountRange>,
    summary: &mut AirwarsSummary,
) -> KilledByGroup {
    let killed_max = killed.and_then(|k| k.max());
    let (mut invalid, mut above, mut mins) = (false, false, 0_u64);
    let groups = KilledByGroup::from_fn(|group| {
        let name = group.field();
        let (min, max) = (field(&format!("{name}_min")), field(&format!("{name}_max")));
        let stated_min = min.parse::<u32>().ok();
        mins += stated_min.map_or(0, u64::from);
        if stated_min
            .zip(killed_max)
            .is_some_and(|(min, max)| min > max)
        {
            above = true;
            None
        } else {
            figure(min, max).unwrap_or_else(|_| {
                invalid = true;
                None
            })
        }
    });
    summary.invalid_group_figures += u64::from(invalid);
    summary.groups_above_killed += u64::from(above);
    summary.groups_adding_above_killed +=
        u64::from(killed_max.is_some_and(|max| mins > u64::from(max)));
    groups
}

fn assessment(
    verdict: Verdict,
    label: &str,
    killed: Option<CountRange>,
    injured: Option<CountRange>,
    groups: KilledByGroup,
    assessed_on: NaiveDate,
) -> Option<AssessmentDetails> {
    AssessmentDetails::new(AssessmentFields {
        verdict,
        source_label: label.chars().take(limits::SHORT_TEXT).collect(),
        killed,
        injured,
        groups,
        assessed_on,
        // Airwars' "duplicate" never names the other report.
        duplicate_of: None,
        citation: None,
        notes: None,
    })
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_follow_the_design_mapping() {
        assert_eq!(
            figure("2", "5"),
            Ok(Some(CountRange::new(2, Some(5)).unwrap()))
        );
        assert_eq!(
            figure("", "5"),
            Ok(Some(CountRange::new(0, Some(5)).unwrap()))
        );
        assert_eq!(figure("3", ""), Ok(Some(CountRange::at_least(3))));
        assert_eq!(figure("", ""), Ok(None));
        assert!(figure("5", "2").is_err());
        assert!(figure("two", "").is_err());
    }
}
