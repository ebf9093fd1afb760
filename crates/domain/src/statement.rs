//! Statements: aggregate figures a source publishes ("at least 624 killed since 8 Aug 2014"), and the
//! revision chains they form.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::assessment::Tier;
use crate::count::CountRange;
use crate::country::CountryCode;
use crate::dates::DateInterval;
use crate::ids::StatementId;
use crate::slug::{Slug, SourceId};
use crate::text::HttpUrl;
use crate::validation::ValueError;

/// What a statement counts. KILLED_OR_INJURED is never added to or compared with the other two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Measure {
    Killed,
    Injured,
    KilledOrInjured,
}

impl Measure {
    pub const ALL: [Self; 3] = [Self::Killed, Self::Injured, Self::KilledOrInjured];

    /// The stable name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Killed => "killed",
            Self::Injured => "injured",
            Self::KilledOrInjured => "killed_or_injured",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// How the source qualifies its figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Qualifier {
    Exact,
    AtLeast,
    MoreThan,
    Approximately,
    AtMost,
}

impl Qualifier {
    pub const ALL: [Self; 5] = [
        Self::Exact,
        Self::AtLeast,
        Self::MoreThan,
        Self::Approximately,
        Self::AtMost,
    ];

    /// The stable name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::AtLeast => "at_least",
            Self::MoreThan => "more_than",
            Self::Approximately => "approximately",
            Self::AtMost => "at_most",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.as_str() == name)
    }

    /// Whether `count` says what the qualifier says. Fails on the count's part that disagrees.
    pub fn check(&self, count: &CountRange) -> Result<(), ValueError> {
        let disagreement = match self {
            Self::Exact if !count.is_exact() => {
                Some(("max", "an EXACT figure needs max equal to min"))
            }
            Self::AtLeast | Self::MoreThan if count.max().is_some() => Some((
                "max",
                "an AT_LEAST or MORE_THAN figure has no max: leave it unset",
            )),
            Self::AtMost if count.max().is_none() => Some(("max", "an AT_MOST figure needs a max")),
            Self::AtMost if count.min() != 0 => Some(("min", "an AT_MOST figure needs min 0")),
            _ => None,
        };
        match disagreement {
            Some((part, description)) => Err(ValueError::in_part(part, description)),
            None => Ok(()),
        }
    }
}

/// The area a statement covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Area {
    countries: BTreeSet<CountryCode>,
    pub admin1: Option<String>,
    pub locality: Option<String>,
}

impl Area {
    pub fn new(
        countries: impl IntoIterator<Item = CountryCode>,
        admin1: Option<String>,
        locality: Option<String>,
    ) -> Result<Self, ValueError> {
        let countries: BTreeSet<_> = countries.into_iter().collect();
        if countries.is_empty() {
            return Err(ValueError::in_part(
                "countries",
                "at least one country is required",
            ));
        }
        Ok(Self {
            countries,
            admin1,
            locality,
        })
    }

    pub fn countries(&self) -> &BTreeSet<CountryCode> {
        &self.countries
    }
}

/// The scope `all`: a statement about everyone's actions.
pub const ATTRIBUTED_TO_ALL: &str = "all";

/// The definition a statement counts when it names none.
pub const DEFAULT_DEFINITION: &str = "civilians";

/// What a statement says. Constructed only through [`StatementDetails::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementDetails {
    pub measure: Measure,
    count: CountRange,
    qualifier: Qualifier,
    pub definition: Slug,
    pub period: DateInterval,
    pub area: Area,
    /// A belligerent slug, or `all`.
    pub attributed_to: Slug,
    pub published_on: NaiveDate,
    /// The certainty its figure stands for (rule 6): Airwars' headline counts its Fair and
    /// Confirmed incidents (LIKELY), the Coalition's its credible ones (ESTABLISHED).
    pub tier: Tier,
    pub citation: Option<HttpUrl>,
    pub notes: Option<String>,
}

/// The fields of a statement, parsed one by one; [`StatementDetails::new`] checks them together.
#[derive(Debug, Clone)]
pub struct StatementFields {
    pub measure: Measure,
    pub count: CountRange,
    pub qualifier: Qualifier,
    pub definition: Slug,
    pub period: DateInterval,
    pub area: Area,
    pub attributed_to: Slug,
    pub published_on: NaiveDate,
    pub tier: Tier,
    pub citation: Option<HttpUrl>,
    pub notes: Option<String>,
}

impl StatementDetails {
    /// Fails on `count.<part>` when the count disagrees with the qualifier, and on `period_to` when
    /// the period ends after the statement was published: a figure cannot count days to come; and
    /// on `tier` when it is REJECTED, which no figure of harm stands for.
    pub fn new(fields: StatementFields) -> Result<Self, ValueError> {
        if fields.tier == Tier::Rejected {
            return Err(ValueError::in_part(
                "tier",
                "must be ESTABLISHED, LIKELY or ALLEGED: the certainty the figure stands for",
            ));
        }
        if fields.period.to() > fields.published_on {
            return Err(ValueError::in_part(
                "period_to",
                format!(
                    "must not be after published_on ({}), got {}",
                    fields.published_on,
                    fields.period.to()
                ),
            ));
        }
        fields
            .qualifier
            .check(&fields.count)
            .map_err(|e| ValueError {
                part: Some(match e.part {
                    Some("min") => "count.min",
                    _ => "count.max",
                }),
                description: e.description,
            })?;
        Ok(Self {
            measure: fields.measure,
            count: fields.count,
            qualifier: fields.qualifier,
            definition: fields.definition,
            period: fields.period,
            area: fields.area,
            attributed_to: fields.attributed_to,
            published_on: fields.published_on,
            tier: fields.tier,
            citation: fields.citation,
            notes: fields.notes,
        })
    }

    pub fn count(&self) -> CountRange {
        self.count
    }

    pub fn qualifier(&self) -> Qualifier {
        self.qualifier
    }

    /// Whether this restates `stored`: the same figures, qualifier, tier, period end, publication
    /// date and citation, so that recording it again would add nothing.
    pub fn repeats(&self, stored: &Self) -> bool {
        self.count == stored.count
            && self.qualifier == stored.qualifier
            && self.tier == stored.tier
            && self.period == stored.period
            && self.published_on == stored.published_on
            && self.citation == stored.citation
    }
}

/// A statement to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewStatement {
    pub source_id: SourceId,
    pub details: StatementDetails,
}

impl NewStatement {
    /// The key of the revision chain the statement belongs to: its source, measure, definition, area,
    /// attribution and period start. Parts are joined with U+001F, which no part can contain (text
    /// fields refuse control characters), so that two different keys never spell the same.
    pub fn chain_key(&self) -> String {
        let d = &self.details;
        let countries: Vec<&str> = d.area.countries().iter().map(CountryCode::as_str).collect();
        [
            self.source_id.as_str(),
            d.measure.as_str(),
            d.definition.as_str(),
            &countries.join(","),
            d.area.admin1.as_deref().unwrap_or(""),
            d.area.locality.as_deref().unwrap_or(""),
            d.attributed_to.as_str(),
            &d.period.from().to_string(),
        ]
        .join("\u{1f}")
    }
}

/// A stored statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub id: StatementId,
    pub source_id: SourceId,
    pub details: StatementDetails,
    pub recorded_at: DateTime<Utc>,
}

/// How one statement revises the one before it in its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RevisionKind {
    /// The first of its chain.
    Initial,
    /// The period was extended: `period_to` grew.
    Extension,
    /// The same period, or a shorter one, restated.
    Correction,
}

/// One step of a revision chain, with its delta from the step before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub statement: Statement,
    pub kind: RevisionKind,
    /// `count.min` minus the previous step's; `None` for the first step.
    pub min_delta: Option<i64>,
    /// `count.max` minus the previous step's, when both are bounded.
    pub max_delta: Option<i64>,
}

/// The steps of a chain, given its statements in chain order (`published_on`, then `recorded_at`,
/// then id). The delta is the figures' own: CJTF-OIR's 603 then 624 is +21, whatever a press release
/// says.
pub fn revision_chain(statements: Vec<Statement>) -> Vec<Revision> {
    let mut previous: Option<(CountRange, NaiveDate)> = None;
    statements
        .into_iter()
        .map(|statement| {
            let count = statement.details.count;
            let period_to = statement.details.period.to();
            let (kind, min_delta, max_delta) = match previous {
                None => (RevisionKind::Initial, None, None),
                Some((before, before_to)) => (
                    if period_to > before_to {
                        RevisionKind::Extension
                    } else {
                        RevisionKind::Correction
                    },
                    Some(i64::from(count.min()) - i64::from(before.min())),
                    count
                        .max()
                        .zip(before.max())
                        .map(|(now, then)| i64::from(now) - i64::from(then)),
                ),
            };
            previous = Some((count, period_to));
            Revision {
                statement,
                kind,
                min_delta,
                max_delta,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(raw: &str) -> NaiveDate {
        crate::dates::parse_date(raw).unwrap()
    }

    fn coalition_statement(id: i64, min: u32, period_to: &str, published_on: &str) -> Statement {
        let details = StatementDetails::new(StatementFields {
            measure: Measure::Killed,
            count: CountRange::at_least(min),
            qualifier: Qualifier::AtLeast,
            definition: Slug::parse(DEFAULT_DEFINITION).unwrap(),
            period: DateInterval::new(d("2014-08-08"), d(period_to)).unwrap(),
            area: Area::new(
                [
                    CountryCode::parse("IQ").unwrap(),
                    CountryCode::parse("SY").unwrap(),
                ],
                None,
                None,
            )
            .unwrap(),
            attributed_to: Slug::parse("coalition").unwrap(),
            published_on: d(published_on),
            tier: Tier::Established,
            citation: None,
            notes: None,
        })
        .unwrap();
        Statement {
            id: StatementId::from_stored(id),
            source_id: SourceId::parse("cjtf-oir").unwrap(),
            details,
            recorded_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_coalition_revision_from_603_to_624_is_plus_21() {
        // The seed article: 603 "last month", 624 now; the article's "23 more" is wrong: 624 − 603 = 21.
        let chain = revision_chain(vec![
            coalition_statement(1, 603, "2017-05-31", "2017-07-06"),
            coalition_statement(2, 624, "2017-06-30", "2017-08-04"),
        ]);
        assert_eq!(chain[0].kind, RevisionKind::Initial);
        assert_eq!(chain[0].min_delta, None);
        assert_eq!(chain[1].kind, RevisionKind::Extension);
        assert_eq!(chain[1].min_delta, Some(21));
        // Both are "at least": no max, so no max delta.
        assert_eq!(chain[1].max_delta, None);
    }

    #[test]
    fn a_restatement_of_the_same_period_is_a_correction() {
        let chain = revision_chain(vec![
            coalition_statement(1, 603, "2017-05-31", "2017-07-06"),
            coalition_statement(2, 600, "2017-05-31", "2017-07-20"),
        ]);
        assert_eq!(chain[1].kind, RevisionKind::Correction);
        assert_eq!(chain[1].min_delta, Some(-3));
    }

    #[test]
    fn qualifiers_must_agree_with_the_count() {
        let range = CountRange::new(2, Some(5)).unwrap();
        assert!(Qualifier::Approximately.check(&range).is_ok());
        assert_eq!(
            Qualifier::Exact.check(&range).unwrap_err().part,
            Some("max")
        );
        assert_eq!(
            Qualifier::AtLeast.check(&range).unwrap_err().part,
            Some("max")
        );
        assert_eq!(
            Qualifier::AtMost.check(&range).unwrap_err().part,
            Some("min")
        );
        assert!(
            Qualifier::AtMost
                .check(&CountRange::new(0, Some(5)).unwrap())
                .is_ok()
        );
        assert!(
            Qualifier::MoreThan
                .check(&CountRange::at_least(8000))
                .is_ok()
        );
        assert!(Qualifier::Exact.check(&CountRange::exact(173)).is_ok());
    }

    #[test]
    fn statements_of_one_chain_share_a_key_and_others_do_not() {
        let key = |s: &Statement| {
            NewStatement {
                source_id: s.source_id.clone(),
                details: s.details.clone(),
            }
            .chain_key()
        };
        let june = coalition_statement(1, 603, "2017-05-31", "2017-07-06");
        let july = coalition_statement(2, 624, "2017-06-30", "2017-08-04");
        assert_eq!(key(&june), key(&july));
        let mut injured = july.clone();
        injured.details.measure = Measure::Injured;
        assert_ne!(key(&june), key(&injured));
    }

    #[test]
    fn an_area_needs_a_country() {
        assert_eq!(
            Area::new([], None, None).unwrap_err().part,
            Some("countries")
        );
    }
}
