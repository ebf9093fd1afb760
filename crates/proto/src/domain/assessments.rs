//! Assessments and their verdicts.

use civcas_domain::repository::ImportContent;
use civcas_domain::text::{bounded_text, limits};
use civcas_domain::{
    AllValid, AssessedIncident, AssessmentDetails, AssessmentFields, AtField, IncidentId,
    KilledByGroup, NewAssessment, SourceId, Tier, Verdict, Violations,
};

use super::incidents::new_incident;
use super::{
    both_ways, count_range, enum_field, optional_text, optional_url, published_date, required,
    timestamp,
};
use crate::v1 as pb;

both_ways!(Verdict, Verdict {
    Confirmed <=> Confirmed,
    Credible <=> Credible,
    Fair <=> Fair,
    Weak <=> Weak,
    Contested <=> Contested,
    Open <=> Open,
    NotCredible <=> NotCredible,
    Discounted <=> Discounted,
    Duplicate <=> Duplicate,
});

both_ways!(Tier, Tier {
    Established <=> Established,
    Likely <=> Likely,
    Alleged <=> Alleged,
    Rejected <=> Rejected,
});

/// A verdict's tier; DUPLICATE has none, which is TIER_UNSPECIFIED.
impl From<Option<Tier>> for pb::Tier {
    fn from(tier: Option<Tier>) -> Self {
        tier.map_or(Self::Unspecified, Self::from)
    }
}

fn killed_by_group(
    children: Option<pb::CountRange>,
    women: Option<pb::CountRange>,
    men: Option<pb::CountRange>,
) -> Result<KilledByGroup, Violations> {
    let (children, women, men) = (
        count_range("assessment.children_killed", children),
        count_range("assessment.women_killed", women),
        count_range("assessment.men_killed", men),
    )
        .all_valid()?;
    Ok(KilledByGroup {
        children,
        women,
        men,
    })
}

/// An assessment, with its incident named by id or given inline in `incident`.
fn new_assessment(
    raw: Option<pb::Assessment>,
    inline: Option<pb::Incident>,
) -> Result<NewAssessment, Violations> {
    let pb::Assessment {
        id: _,
        source_id,
        incident_id,
        verdict,
        tier: _,
        source_label,
        civilians_killed,
        civilians_injured,
        assessed_on,
        duplicate_of,
        citation,
        notes,
        recorded_at: _,
        current: _,
        children_killed,
        women_killed,
        men_killed,
    } = required("assessment", raw)?;
    let incident = match (incident_id.is_empty(), inline) {
        (false, None) => IncidentId::parse(&incident_id)
            .at("assessment.incident_id")
            .map(AssessedIncident::Stored),
        (true, Some(incident)) => new_incident("incident", incident).map(AssessedIncident::Inline),
        (true, None) => Err(Violations::one(
            "assessment.incident_id",
            "is required, unless the incident is given inline in `incident`",
        )),
        (false, Some(_)) => Err(Violations::one(
            "incident",
            "must not be given together with assessment.incident_id: name the incident one way",
        )),
    };
    let (
        source,
        incident,
        verdict,
        source_label,
        killed,
        injured,
        groups,
        assessed_on,
        duplicate_of,
        citation,
        notes,
    ) = (
        SourceId::parse(&source_id).at("assessment.source_id"),
        incident,
        enum_field::<pb::Verdict, _>("assessment.verdict", verdict),
        bounded_text(&source_label, 0, limits::SHORT_TEXT).at("assessment.source_label"),
        count_range("assessment.civilians_killed", civilians_killed),
        count_range("assessment.civilians_injured", civilians_injured),
        killed_by_group(children_killed, women_killed, men_killed),
        published_date("assessment.assessed_on", &assessed_on),
        duplicate_of
            .map(|id| IncidentId::parse(&id).at("assessment.duplicate_of"))
            .transpose(),
        optional_url("assessment.citation", citation),
        optional_text("assessment.notes", notes, limits::LONG_TEXT),
    )
        .all_valid()?;
    let details = AssessmentDetails::new(AssessmentFields {
        verdict,
        source_label,
        killed,
        injured,
        groups,
        assessed_on,
        duplicate_of,
        citation,
        notes,
    })
    .at("assessment")?;
    NewAssessment::new(source, incident, details).at("assessment")
}

impl TryFrom<pb::RecordAssessmentRequest> for NewAssessment {
    type Error = Violations;

    fn try_from(request: pb::RecordAssessmentRequest) -> Result<Self, Violations> {
        let pb::RecordAssessmentRequest {
            assessment,
            incident,
            request_id: _,
        } = request;
        new_assessment(assessment, incident)
    }
}

/// An import row: an assessment (with its incident by id or inline), or an incident alone. The
/// row's index stays with the caller, which reports rejections by it.
impl TryFrom<pb::ImportRow> for ImportContent {
    type Error = Violations;

    fn try_from(row: pb::ImportRow) -> Result<Self, Violations> {
        let pb::ImportRow {
            index: _,
            assessment,
            incident,
        } = row;
        match (assessment, incident) {
            (None, Some(incident)) => new_incident("incident", incident).map(Self::Incident),
            (None, None) => Err(Violations::one(
                "assessment",
                "a row needs an assessment, an incident, or both",
            )),
            (assessment, incident) => new_assessment(assessment, incident).map(Self::Assessment),
        }
    }
}

/// One source's assessment of an incident, as a request states it; the server adds its id, its
/// incident, tier, record time and whether it is current.
pub fn assessment(source: &SourceId, details: &AssessmentDetails) -> pb::Assessment {
    pb::Assessment {
        id: String::new(),
        source_id: source.to_string(),
        incident_id: String::new(),
        verdict: pb::Verdict::from(details.verdict()).into(),
        tier: pb::Tier::Unspecified.into(),
        source_label: details.source_label.clone(),
        civilians_killed: details.killed.map(pb::CountRange::from),
        civilians_injured: details.injured.map(pb::CountRange::from),
        assessed_on: details.assessed_on().to_string(),
        duplicate_of: details.duplicate_of().map(|id| id.to_string()),
        citation: details.citation.as_ref().map(|c| c.as_str().to_owned()),
        notes: details.notes.clone(),
        recorded_at: None,
        current: false,
        children_killed: details.groups.children.map(pb::CountRange::from),
        women_killed: details.groups.women.map(pb::CountRange::from),
        men_killed: details.groups.men.map(pb::CountRange::from),
    }
}

impl From<civcas_domain::Assessment> for pb::Assessment {
    fn from(stored: civcas_domain::Assessment) -> Self {
        Self {
            id: stored.id.to_string(),
            incident_id: stored.incident_id.to_string(),
            tier: pb::Tier::from(stored.details.verdict().tier()).into(),
            recorded_at: Some(timestamp(stored.recorded_at)),
            current: stored.current,
            ..assessment(&stored.source_id, &stored.details)
        }
    }
}
