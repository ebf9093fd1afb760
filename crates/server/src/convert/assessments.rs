//! Assessments and their verdicts.

use super::*;

pub(super) fn verdict(verdict: pb::Verdict) -> Option<Verdict> {
    Some(match verdict {
        pb::Verdict::Unspecified => return None,
        pb::Verdict::Confirmed => Verdict::Confirmed,
        pb::Verdict::Credible => Verdict::Credible,
        pb::Verdict::Fair => Verdict::Fair,
        pb::Verdict::Weak => Verdict::Weak,
        pb::Verdict::Contested => Verdict::Contested,
        pb::Verdict::Open => Verdict::Open,
        pb::Verdict::NotCredible => Verdict::NotCredible,
        pb::Verdict::Discounted => Verdict::Discounted,
        pb::Verdict::Duplicate => Verdict::Duplicate,
    })
}

/// The assessment of a RecordAssessmentRequest, with its incident named by id or given inline.
/// `today` bounds `assessed_on`: nothing is published in the future.
pub fn new_assessment(
    raw: Option<pb::Assessment>,
    inline: Option<pb::Incident>,
    today: NaiveDate,
) -> Result<NewAssessment, Violations> {
    let Some(pb::Assessment {
        id: _,
        source_id: source,
        incident_id: target,
        verdict: raw_verdict,
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
    }) = raw
    else {
        return Err(Violations::one("assessment", "is required"));
    };
    let incident = match (target.is_empty(), inline) {
        (false, None) => {
            incident_id("assessment.incident_id", &target).map(AssessedIncident::Stored)
        }
        (true, Some(incident)) => {
            new_incident("incident", incident, today).map(AssessedIncident::Inline)
        }
        (true, None) => Err(Violations::one(
            "assessment.incident_id",
            "is required, unless the incident is given inline in `incident`",
        )),
        (false, Some(_)) => Err(Violations::one(
            "incident",
            "must not be given together with assessment.incident_id: name the incident one way",
        )),
    };
    let fields = (
        source_id("assessment.source_id", &source),
        incident,
        enum_value("assessment.verdict", raw_verdict, verdict, "Verdict"),
        bounded_text(&source_label, 0, limits::SHORT_TEXT).at("assessment.source_label"),
        count_range("assessment.civilians_killed", civilians_killed),
        count_range("assessment.civilians_injured", civilians_injured),
        published_date("assessment.assessed_on", &assessed_on, today),
        duplicate_of
            .map(|id| incident_id("assessment.duplicate_of", &id))
            .transpose(),
        optional_url("assessment.citation", citation),
        optional_text("assessment.notes", notes, limits::LONG_TEXT),
    );
    let (
        source,
        incident,
        verdict,
        source_label,
        killed,
        injured,
        assessed_on,
        duplicate_of,
        citation,
        notes,
    ) = fields.all_valid()?;
    let details = AssessmentDetails::new(AssessmentFields {
        verdict,
        source_label,
        killed,
        injured,
        assessed_on,
        duplicate_of,
        citation,
        notes,
    })
    .at("assessment")?;
    NewAssessment::new(source, incident, details).at("assessment")
}
