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

/// What an assessment says. Constructed only through [`AssessmentDetails::new`], which enforces the
/// rules that tie its fields together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentDetails {
    verdict: Verdict,
    pub source_label: String,
    pub killed: Option<CountRange>,
    pub injured: Option<CountRange>,
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
    pub assessed_on: NaiveDate,
    pub duplicate_of: Option<IncidentId>,
    pub citation: Option<HttpUrl>,
    pub notes: Option<String>,
}

impl AssessmentDetails {
    /// Fails on `duplicate_of` when it is given with a verdict other than DUPLICATE: only a duplicate
    /// names another incident.
    pub fn new(fields: AssessmentFields) -> Result<Self, ValueError> {
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
