//! Conversions between the messages and civcas's domain values, in pairs, for every crate that
//! sends or receives them:
//! - `From<domain>` builds a message. It cannot fail. The server answers with stored records; the
//!   CLI sends new ones.
//! - `TryFrom<message>` validates on the way in. Every bad field is named by its path in the
//!   request (`assessment.civilians_killed.max`), and all bad fields are reported together.
//!
//! Messages are destructured completely, both ways, so that a field added to the proto breaks the
//! build here until someone decides what it means. Enums are mapped by `both_ways!`, which
//! writes both directions from one list.

use chrono::{DateTime, NaiveDate, Utc};
use civcas_domain::dates::{not_in_future, parse_date};
use civcas_domain::harm::{HarmDone, Terms, Vocabulary};
use civcas_domain::text::bounded_text;
use civcas_domain::validation::each;
use civcas_domain::{AllValid, AtField, CountRange, DateInterval, HttpUrl, Slug, Violations};

use crate::v1 as pb;
use crate::well_known::Timestamp;

mod assessments;
mod figures;
mod incidents;
mod sources;
mod statements;

pub use assessments::assessment;

/// A message enum's `*_UNSPECIFIED` value, which no domain value matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unspecified;

/// `From<domain>` and `TryFrom<message>` for an enum, from one list of variant pairs.
macro_rules! both_ways {
    ($domain:ident, $message:ident { $($d:ident <=> $m:ident),+ $(,)? }) => {
        impl From<$domain> for pb::$message {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$d => Self::$m),+
                }
            }
        }

        impl TryFrom<pb::$message> for $domain {
            type Error = $crate::domain::Unspecified;

            fn try_from(value: pb::$message) -> Result<Self, $crate::domain::Unspecified> {
                match value {
                    $(pb::$message::$m => Ok(Self::$d),)+
                    pb::$message::Unspecified => Err($crate::domain::Unspecified),
                }
            }
        }
    };
}
use both_ways;

/// The latest date anywhere on Earth (UTC+14): nothing can have been published or have happened
/// after it. UTC alone would refuse a release published in Baghdad just after local midnight.
pub fn latest_today() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(14)).date_naive()
}

fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A required message field: unset is a violation of `field`.
fn required<T>(field: &str, raw: Option<T>) -> Result<T, Violations> {
    raw.ok_or_else(|| Violations::one(field, "is required"))
}

fn date(field: &str, raw: &str) -> Result<NaiveDate, Violations> {
    parse_date(raw).at(field)
}

/// A publication date: nothing is published in the future.
fn published_date(field: &str, raw: &str) -> Result<NaiveDate, Violations> {
    parse_date(raw)
        .and_then(|d| not_in_future(d, latest_today()))
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

/// An enum field, as its wire number: unknown numbers and `*_UNSPECIFIED` are refused.
fn enum_field<M, D>(field: &str, raw: i32) -> Result<D, Violations>
where
    M: TryFrom<i32>,
    D: TryFrom<M>,
{
    M::try_from(raw)
        .ok()
        .and_then(|message| D::try_from(message).ok())
        .ok_or_else(|| {
            let type_name = std::any::type_name::<M>().rsplit("::").next().unwrap_or("");
            Violations::one(
                field,
                format!("must be a {type_name} other than *_UNSPECIFIED, got {raw}"),
            )
        })
}

/// The harm, means and infrastructure of an incident or a filter at `prefix` (`incident`,
/// `filters`): every value must be a term of its vocabulary.
fn harm_done(
    prefix: &str,
    harm: Vec<String>,
    means: Vec<String>,
    infrastructure: Vec<String>,
) -> Result<HarmDone, Violations> {
    fn terms<V: Vocabulary>(prefix: &str, values: Vec<String>) -> Result<Terms<V>, Violations> {
        let field = format!("{prefix}.{}", V::NAME);
        let terms = each(&field, values, |v, field| Terms::parse_one(&v).at(field))?;
        Ok(terms.into_iter().collect())
    }
    let (harm, means, infrastructure) = (
        terms(prefix, harm),
        terms(prefix, means),
        terms(prefix, infrastructure),
    )
        .all_valid()?;
    Ok(HarmDone {
        harm,
        means,
        infrastructure,
    })
}

/// The slugs of a set of terms, for a message.
fn slugs<V: Vocabulary>(terms: Terms<V>) -> Vec<String> {
    terms.slugs().map(str::to_owned).collect()
}

fn count_range(field: &str, raw: Option<pb::CountRange>) -> Result<Option<CountRange>, Violations> {
    raw.map(|pb::CountRange { min, max }| CountRange::new(min, max))
        .transpose()
        .at(field)
}

impl From<CountRange> for pb::CountRange {
    fn from(range: CountRange) -> Self {
        Self {
            min: range.min(),
            max: range.max(),
        }
    }
}

impl From<civcas_domain::WriteOutcome> for pb::WriteOutcome {
    fn from(outcome: civcas_domain::WriteOutcome) -> Self {
        use civcas_domain::WriteOutcome;
        match outcome {
            WriteOutcome::Created => Self::Created,
            WriteOutcome::Updated => Self::Updated,
            WriteOutcome::Unchanged => Self::Unchanged,
        }
    }
}

#[cfg(test)]
mod tests {
    use civcas_domain::statement::Qualifier;
    use civcas_domain::{Measure, Precision, SourceKind, Tier, Verdict};

    use super::*;

    /// A variant wired to the wrong message value breaks the round trip.
    #[test]
    fn every_enum_value_survives_the_round_trip() {
        fn round_trip<D, M>(values: &[D])
        where
            D: Copy + PartialEq + std::fmt::Debug + TryFrom<M>,
            M: From<D>,
        {
            for &value in values {
                assert_eq!(D::try_from(M::from(value)).ok(), Some(value));
            }
        }
        round_trip::<_, pb::SourceKind>(&SourceKind::ALL);
        round_trip::<_, pb::LocationPrecision>(&Precision::ALL);
        round_trip::<_, pb::Verdict>(&Verdict::ALL);
        round_trip::<_, pb::Measure>(&Measure::ALL);
        round_trip::<_, pb::Qualifier>(&Qualifier::ALL);
        round_trip::<_, pb::Tier>(&[
            Tier::Established,
            Tier::Likely,
            Tier::Alleged,
            Tier::Rejected,
        ]);
    }

    #[test]
    fn unspecified_and_unknown_values_are_refused_naming_the_field() {
        assert_eq!(
            SourceKind::try_from(pb::SourceKind::Unspecified),
            Err(Unspecified)
        );
        let refused = enum_field::<pb::Verdict, Verdict>("assessment.verdict", 0).unwrap_err();
        assert_eq!(refused.0[0].field, "assessment.verdict");
        assert!(refused.0[0].description.contains("Verdict"), "{refused}");
        assert!(enum_field::<pb::Verdict, Verdict>("assessment.verdict", 99).is_err());
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
