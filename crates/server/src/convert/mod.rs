//! Conversions between the proto messages and domain values.
//!
//! Inbound conversions validate: every field is parsed into its domain type and named in the error
//! when it is bad, and all bad fields are reported together. Messages are destructured completely, so
//! that a field added to the proto breaks the build here until someone decides what it means.
//! Outbound conversions cannot fail.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use civcas_domain::dates::{not_in_future, parse_date};
use civcas_domain::reconcile::flow::AssessmentFlow;
use civcas_domain::reconcile::series::Granularity;
use civcas_domain::reconcile::{Filters, RangeSum, ReconciledFigures, Split, TierFigures};
use civcas_domain::statement::{ATTRIBUTED_TO_ALL, DEFAULT_DEFINITION};
use civcas_domain::text::{bounded_text, limits};
use civcas_domain::validation::each;
use civcas_domain::{
    AllValid, Area, AssessedIncident, AssessmentDetails, AssessmentFields, AtField, Coordinates,
    CountRange, CountryCode, DateInterval, HttpUrl, IncidentDetails, IncidentId, IncidentReference,
    Location, Measure, NewAssessment, NewIncident, NewSource, NewStatement, Precision, Qualifier,
    Slug, SourceChange, SourceDetails, SourceId, SourceKind, StatementDetails, StatementFields,
    Verdict, Violations, WriteOutcome,
};
use civcas_proto::v1 as pb;

fn date(field: &str, raw: &str) -> Result<NaiveDate, Violations> {
    parse_date(raw).at(field)
}

fn published_date(field: &str, raw: &str, today: NaiveDate) -> Result<NaiveDate, Violations> {
    parse_date(raw)
        .and_then(|d| not_in_future(d, today))
        .at(field)
}

fn interval(
    (from_field, from): (&str, &str),
    (to_field, to): (&str, &str),
) -> Result<DateInterval, Violations> {
    let (from, to) = (date(from_field, from), date(to_field, to)).all_valid()?;
    DateInterval::new(from, to).at(to_field)
}

/// An optional string as given: an empty one is the same as unset (JSON clients often send "").
fn given(raw: Option<String>) -> Option<String> {
    raw.filter(|text| !text.is_empty())
}

/// An optional text field: unset (or empty) stays unset; set must be within `max` characters.
fn optional_text(
    field: &str,
    raw: Option<String>,
    max: usize,
) -> Result<Option<String>, Violations> {
    given(raw)
        .map(|text| bounded_text(&text, 1, max))
        .transpose()
        .at(field)
}

fn optional_url(field: &str, raw: Option<String>) -> Result<Option<HttpUrl>, Violations> {
    given(raw)
        .map(|url| HttpUrl::parse(&url))
        .transpose()
        .at(field)
}

fn slug(field: &str, raw: &str) -> Result<Slug, Violations> {
    Slug::parse(raw).at(field)
}

pub fn source_id(field: &str, raw: &str) -> Result<SourceId, Violations> {
    SourceId::parse(raw).at(field)
}

pub fn incident_id(field: &str, raw: &str) -> Result<IncidentId, Violations> {
    IncidentId::parse(raw).at(field)
}

pub fn country(field: &str, raw: &str) -> Result<CountryCode, Violations> {
    CountryCode::parse(raw).at(field)
}

fn enum_value<P, D>(
    field: &str,
    raw: i32,
    to_domain: impl Fn(P) -> Option<D>,
    type_name: &str,
) -> Result<D, Violations>
where
    P: TryFrom<i32>,
{
    P::try_from(raw).ok().and_then(to_domain).ok_or_else(|| {
        Violations::one(
            field,
            format!("must be a {type_name} other than *_UNSPECIFIED, got {raw}"),
        )
    })
}

fn count_range(field: &str, raw: Option<pb::CountRange>) -> Result<Option<CountRange>, Violations> {
    raw.map(|pb::CountRange { min, max }| CountRange::new(min, max))
        .transpose()
        .at(field)
}

pub fn outcome(outcome: WriteOutcome) -> i32 {
    match outcome {
        WriteOutcome::Created => pb::WriteOutcome::Created,
        WriteOutcome::Updated => pb::WriteOutcome::Updated,
        WriteOutcome::Unchanged => pb::WriteOutcome::Unchanged,
    }
    .into()
}

mod assessments;
mod figures;
mod incidents;
mod sources;
mod statements;
pub use assessments::*;
pub use figures::*;
pub use incidents::*;
pub use sources::*;
pub use statements::*;

#[cfg(test)]
mod tests {
    use super::*;

    /// The outgoing maps live in civcas-proto and the incoming ones here; a variant added to one
    /// side only, or wired to the wrong message value, breaks the round trip.
    #[test]
    fn every_enum_value_survives_the_round_trip() {
        for kind in SourceKind::ALL {
            assert_eq!(source_kind(kind.into()), Some(kind));
        }
        for level in Precision::ALL {
            assert_eq!(precision(level.into()), Some(level));
        }
        for given in Verdict::ALL {
            assert_eq!(verdict(given.into()), Some(given));
        }
        for given in Measure::ALL {
            assert_eq!(measure(given.into()), Some(given));
        }
        for given in Qualifier::ALL {
            assert_eq!(qualifier(given.into()), Some(given));
        }
    }

    #[test]
    fn unspecified_values_are_refused() {
        assert_eq!(source_kind(pb::SourceKind::Unspecified), None);
        assert_eq!(precision(pb::LocationPrecision::Unspecified), None);
        assert_eq!(verdict(pb::Verdict::Unspecified), None);
        assert_eq!(measure(pb::Measure::Unspecified), None);
        assert_eq!(qualifier(pb::Qualifier::Unspecified), None);
    }

    #[test]
    fn only_a_duplicate_has_no_tier() {
        for given in Verdict::ALL {
            let tier = pb::Tier::from(given.tier());
            assert_eq!(
                tier == pb::Tier::Unspecified,
                given == Verdict::Duplicate,
                "{given:?} is {tier:?}"
            );
        }
    }
}
