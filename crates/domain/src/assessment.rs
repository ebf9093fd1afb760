//! Assessments: one source's verdict on one incident, as published on a date. Append-only: a newer
//! assessment supersedes an older one, and the history is kept.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::count::CountRange;
use crate::ids::{AssessmentId, IncidentId};
use crate::incident::NewIncident;
use crate::slug::SourceId;
use crate::text::HttpUrl;
use crate::validation::ValueError;

/// How strongly a verdict holds that civilians were harmed. Ordered from lowest to highest, so that
/// "at tier ≥ T" is `tier >= T`, and REJECTED is never at tier ≥ any reported tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tier {
    Rejected,
    Alleged,
    Likely,
    Established,
}

impl Tier {
    /// The tiers reconciliation reports, highest first.
    pub const REPORTED: [Self; 3] = [Self::Established, Self::Likely, Self::Alleged];

    /// The stable name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::Alleged => "alleged",
            Self::Likely => "likely",
            Self::Established => "established",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Rejected,
            Self::Alleged,
            Self::Likely,
            Self::Established,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
    }
}

/// A verdict in civcas's common vocabulary (docs/rules.md). Ordered as the API lists them,
/// so that counts by verdict come out in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Verdict {
    Confirmed,
    Credible,
    Fair,
    Weak,
    Contested,
    Open,
    NotCredible,
    Discounted,
    Duplicate,
}

impl Verdict {
    pub const ALL: [Self; 9] = [
        Self::Confirmed,
        Self::Credible,
        Self::Fair,
        Self::Weak,
        Self::Contested,
        Self::Open,
        Self::NotCredible,
        Self::Discounted,
        Self::Duplicate,
    ];

    /// The verdict's tier; DUPLICATE has none, because it links incidents rather than judging one.
    pub fn tier(&self) -> Option<Tier> {
        match self {
            Self::Confirmed | Self::Credible => Some(Tier::Established),
            Self::Fair => Some(Tier::Likely),
            Self::Weak | Self::Contested | Self::Open => Some(Tier::Alleged),
            Self::NotCredible | Self::Discounted => Some(Tier::Rejected),
            Self::Duplicate => None,
        }
    }

    /// The stable name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Credible => "credible",
            Self::Fair => "fair",
            Self::Weak => "weak",
            Self::Contested => "contested",
            Self::Open => "open",
            Self::NotCredible => "not_credible",
            Self::Discounted => "discounted",
            Self::Duplicate => "duplicate",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == name)
    }
}

/// A group of civilians whose killed an assessment may count apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Demographic {
    Children,
    Women,
    Men,
}

impl Demographic {
    pub const ALL: [Self; 3] = [Self::Children, Self::Women, Self::Men];

    /// The field that holds the group's killed range, in the API and the database.
    pub fn field(self) -> &'static str {
        match self {
            Self::Children => "children_killed",
            Self::Women => "women_killed",
            Self::Men => "men_killed",
        }
    }

    fn min_part(self) -> &'static str {
        match self {
            Self::Children => "children_killed.min",
            Self::Women => "women_killed.min",
            Self::Men => "men_killed.min",
        }
    }
}

/// Civilians killed by group, each an optional range. The groups need not add up to killed: ages and
/// sexes are often unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KilledByGroup {
    pub children: Option<CountRange>,
    pub women: Option<CountRange>,
    pub men: Option<CountRange>,
}

impl KilledByGroup {
    /// Each group's range from `range`.
    pub fn from_fn(mut range: impl FnMut(Demographic) -> Option<CountRange>) -> Self {
        Self {
            children: range(Demographic::Children),
            women: range(Demographic::Women),
            men: range(Demographic::Men),
        }
    }

    pub fn of(&self, group: Demographic) -> Option<CountRange> {
        match group {
            Demographic::Children => self.children,
            Demographic::Women => self.women,
            Demographic::Men => self.men,
        }
    }

    /// Whether no group is stated.
    pub fn is_empty(&self) -> bool {
        Demographic::ALL.iter().all(|g| self.of(*g).is_none())
    }

    /// As [`crate::reconcile::AssessmentFacts`] holds it: boxed, and none when no group is stated.
    pub fn boxed(self) -> Option<Box<Self>> {
        (!self.is_empty()).then(|| Box::new(self))
    }
}

/// What an assessment says. Constructed only through [`AssessmentDetails::new`], which enforces the
/// rules that tie its fields together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentDetails {
    verdict: Verdict,
    pub source_label: String,
    pub killed: Option<CountRange>,
    pub injured: Option<CountRange>,
    pub groups: KilledByGroup,
    assessed_on: NaiveDate,
    duplicate_of: Option<IncidentId>,
    pub citation: Option<HttpUrl>,
    pub notes: Option<String>,
}

/// The fields of an assessment, parsed one by one; [`AssessmentDetails::new`] checks them together.
#[derive(Debug, Clone)]
pub struct AssessmentFields {
    pub verdict: Verdict,
    pub source_label: String,
    pub killed: Option<CountRange>,
    pub injured: Option<CountRange>,
    pub groups: KilledByGroup,
    pub assessed_on: NaiveDate,
    pub duplicate_of: Option<IncidentId>,
    pub citation: Option<HttpUrl>,
    pub notes: Option<String>,
}

impl AssessmentDetails {
    /// Fails on `duplicate_of` when it is given with a verdict other than DUPLICATE: only a duplicate
    /// names another incident; and on a group's min (`children_killed.min`) above killed's max: a
    /// group cannot hold more dead than the whole.
    pub fn new(fields: AssessmentFields) -> Result<Self, ValueError> {
        let killed_max = fields.killed.and_then(|k| k.max());
        for group in Demographic::ALL {
            if let (Some(range), Some(max)) = (fields.groups.of(group), killed_max)
                && range.min() > max
            {
                return Err(ValueError::in_part(
                    group.min_part(),
                    format!(
                        "must not exceed civilians_killed.max ({max}), got {}",
                        range.min()
                    ),
                ));
            }
        }
        if fields.duplicate_of.is_some() && fields.verdict != Verdict::Duplicate {
            return Err(ValueError::in_part(
                "duplicate_of",
                format!(
                    "is allowed only with VERDICT_DUPLICATE, not with {}",
                    fields.verdict.as_str()
                ),
            ));
        }
        Ok(Self {
            verdict: fields.verdict,
            source_label: fields.source_label,
            killed: fields.killed,
            injured: fields.injured,
            groups: fields.groups,
            assessed_on: fields.assessed_on,
            duplicate_of: fields.duplicate_of,
            citation: fields.citation,
            notes: fields.notes,
        })
    }

    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    pub fn assessed_on(&self) -> NaiveDate {
        self.assessed_on
    }

    pub fn duplicate_of(&self) -> Option<IncidentId> {
        self.duplicate_of
    }

    /// Fails on `duplicate_of` when it names the assessed incident itself.
    pub fn check_target(&self, incident: IncidentId) -> Result<(), ValueError> {
        if self.duplicate_of == Some(incident) {
            return Err(ValueError::in_part(
                "duplicate_of",
                format!("must name another incident, not the assessed incident {incident}"),
            ));
        }
        Ok(())
    }

    /// Whether this repeats `current` closely enough to add no history: the same verdict, figures,
    /// date, citation and duplicate target. Labels and notes are commentary and do not count.
    pub fn repeats(&self, current: &Self) -> bool {
        self.verdict == current.verdict
            && self.killed == current.killed
            && self.injured == current.injured
            && self.groups == current.groups
            && self.assessed_on == current.assessed_on
            && self.citation == current.citation
            && self.duplicate_of == current.duplicate_of
    }
}

/// Which incident an assessment is about: a stored one, or one given inline by its references.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AssessedIncident {
    Stored(IncidentId),
    /// Created when none of its references is known; never overwrites a stored incident.
    Inline(NewIncident),
}

/// An assessment to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAssessment {
    pub source_id: SourceId,
    pub incident: AssessedIncident,
    pub details: AssessmentDetails,
}

impl NewAssessment {
    /// Fails on `duplicate_of` when a stored target names itself.
    pub fn new(
        source_id: SourceId,
        incident: AssessedIncident,
        details: AssessmentDetails,
    ) -> Result<Self, ValueError> {
        if let AssessedIncident::Stored(id) = &incident {
            details.check_target(*id)?;
        }
        Ok(Self {
            source_id,
            incident,
            details,
        })
    }
}

/// A stored assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub id: AssessmentId,
    pub source_id: SourceId,
    pub incident_id: IncidentId,
    pub details: AssessmentDetails,
    pub recorded_at: DateTime<Utc>,
    /// Whether no later assessment by the same source of the same incident supersedes it (today).
    pub current: bool,
}

/// What recording an assessment did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedAssessment {
    pub assessment: Assessment,
    /// False when it repeated the current assessment and nothing was stored.
    pub created: bool,
    pub incident_created: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(verdict: Verdict) -> AssessmentFields {
        AssessmentFields {
            verdict,
            source_label: String::new(),
            killed: Some(CountRange::exact(3)),
            injured: None,
            groups: KilledByGroup::default(),
            assessed_on: NaiveDate::from_ymd_opt(2017, 6, 30).unwrap(),
            duplicate_of: None,
            citation: None,
            notes: None,
        }
    }

    #[test]
    fn tiers_follow_the_design_table() {
        use Verdict::*;
        let tiers: Vec<_> = Verdict::ALL.iter().map(Verdict::tier).collect();
        assert_eq!(
            tiers,
            [
                Some(Tier::Established),
                Some(Tier::Established),
                Some(Tier::Likely),
                Some(Tier::Alleged),
                Some(Tier::Alleged),
                Some(Tier::Alleged),
                Some(Tier::Rejected),
                Some(Tier::Rejected),
                None,
            ]
        );
        assert_eq!(Duplicate.tier(), None);
    }

    #[test]
    fn tiers_are_ordered_rejected_lowest() {
        assert!(Tier::Established > Tier::Likely);
        assert!(Tier::Likely > Tier::Alleged);
        assert!(Tier::Alleged > Tier::Rejected);
    }

    #[test]
    fn verdict_names_round_trip() {
        for verdict in Verdict::ALL {
            assert_eq!(Verdict::from_name(verdict.as_str()), Some(verdict));
        }
    }

    #[test]
    fn a_group_may_not_hold_more_dead_than_killed_but_need_not_add_up() {
        let mut f = fields(Verdict::Credible);
        f.killed = CountRange::new(2, Some(4)).ok();
        f.groups.women = CountRange::new(5, None).ok();
        let refused = AssessmentDetails::new(f.clone()).unwrap_err();
        assert_eq!(refused.part, Some("women_killed.min"));
        assert!(refused.description.contains("(4)"), "{refused:?}");
        // Each group within killed's max, though together above it: ages and sexes overlap in
        // what sources know, and are often unknown.
        f.groups = KilledByGroup {
            children: CountRange::new(3, Some(4)).ok(),
            women: CountRange::new(2, None).ok(),
            men: CountRange::new(4, Some(4)).ok(),
        };
        assert!(AssessmentDetails::new(f.clone()).is_ok());
        // Without a killed max there is nothing to exceed.
        f.killed = Some(CountRange::at_least(1));
        f.groups.children = Some(CountRange::at_least(9));
        assert!(AssessmentDetails::new(f).is_ok());
    }

    #[test]
    fn duplicate_of_needs_the_duplicate_verdict() {
        let mut f = fields(Verdict::Credible);
        f.duplicate_of = Some(IncidentId::from_stored(7));
        assert_eq!(
            AssessmentDetails::new(f.clone()).unwrap_err().part,
            Some("duplicate_of")
        );
        f.verdict = Verdict::Duplicate;
        assert!(AssessmentDetails::new(f).is_ok());
    }

    #[test]
    fn a_duplicate_cannot_point_at_itself() {
        let mut f = fields(Verdict::Duplicate);
        f.duplicate_of = Some(IncidentId::from_stored(7));
        let details = AssessmentDetails::new(f).unwrap();
        let source = SourceId::parse("cjtf-oir").unwrap();
        let target = AssessedIncident::Stored(IncidentId::from_stored(7));
        let err = NewAssessment::new(source, target, details).unwrap_err();
        assert_eq!(err.part, Some("duplicate_of"));
    }

    #[test]
    fn a_repeat_ignores_labels_and_notes_but_not_figures() {
        let current = AssessmentDetails::new(fields(Verdict::Credible)).unwrap();
        let mut relabelled = current.clone();
        relabelled.source_label = "credible".into();
        relabelled.notes = Some("re-imported".into());
        assert!(relabelled.repeats(&current));
        let mut refigured = current.clone();
        refigured.killed = Some(CountRange::exact(4));
        assert!(!refigured.repeats(&current));
    }
}
