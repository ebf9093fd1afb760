//! Statements: measures, qualifiers, areas and revisions.

use civcas_domain::statement::{ATTRIBUTED_TO_ALL, DEFAULT_DEFINITION, Qualifier};
use civcas_domain::text::limits;
use civcas_domain::validation::each;
use civcas_domain::{
    AllValid, Area, AtField, CountryCode, Measure, NewStatement, Revision, RevisionKind, SourceId,
    Statement, StatementDetails, StatementFields, Tier, Violations,
};

use super::{
    both_ways, count_range, enum_field, interval, optional_text, optional_url, published_date,
    required, slug, timestamp,
};
use crate::v1 as pb;

both_ways!(Measure, Measure {
    Killed <=> Killed,
    Injured <=> Injured,
    KilledOrInjured <=> KilledOrInjured,
});

both_ways!(Qualifier, Qualifier {
    Exact <=> Exact,
    AtLeast <=> AtLeast,
    MoreThan <=> MoreThan,
    Approximately <=> Approximately,
    AtMost <=> AtMost,
});

/// A statement's tier: unspecified is ESTABLISHED, what rule 6 compared every statement with before
/// statements had a tier. REJECTED is refused by the domain.
fn statement_tier(raw: i32) -> Result<Tier, Violations> {
    pb::Tier::try_from(raw)
        .ok()
        .and_then(|tier| match tier {
            pb::Tier::Unspecified => Some(Tier::Established),
            known => Tier::try_from(known).ok(),
        })
        .ok_or_else(|| Violations::one("statement.tier", format!("must be a Tier, got {raw}")))
}

fn area(raw: Option<pb::Area>) -> Result<Area, Violations> {
    let pb::Area {
        countries,
        admin1,
        locality,
    } = required("statement.area", raw)?;
    let (countries, admin1, locality) = (
        each("statement.area.countries", countries, |c, field| {
            CountryCode::parse(&c).at(field)
        }),
        optional_text("statement.area.admin1", admin1, limits::SHORT_TEXT),
        optional_text("statement.area.locality", locality, limits::SHORT_TEXT),
    )
        .all_valid()?;
    Area::new(countries, admin1, locality).at("statement.area")
}

impl TryFrom<pb::RecordStatementRequest> for NewStatement {
    type Error = Violations;

    fn try_from(request: pb::RecordStatementRequest) -> Result<Self, Violations> {
        let pb::RecordStatementRequest {
            statement,
            request_id: _,
        } = request;
        let pb::Statement {
            id: _,
            source_id,
            measure,
            count,
            qualifier,
            definition,
            period_from,
            period_to,
            area: raw_area,
            attributed_to,
            published_on,
            citation,
            notes,
            recorded_at: _,
            tier,
        } = required("statement", statement)?;
        let definition = if definition.is_empty() {
            DEFAULT_DEFINITION.to_owned()
        } else {
            definition
        };
        let attributed_to = if attributed_to.is_empty() {
            Err(Violations::one(
                "statement.attributed_to",
                format!("is required: a belligerent slug, or {ATTRIBUTED_TO_ALL:?}"),
            ))
        } else {
            slug("statement.attributed_to", &attributed_to)
        };
        let (
            source_id,
            measure,
            count,
            qualifier,
            definition,
            period,
            area,
            attributed_to,
            published_on,
            tier,
            citation,
            notes,
        ) = (
            SourceId::parse(&source_id).at("statement.source_id"),
            enum_field::<pb::Measure, _>("statement.measure", measure),
            count_range("statement.count", count)
                .and_then(|count| required("statement.count", count)),
            enum_field::<pb::Qualifier, _>("statement.qualifier", qualifier),
            slug("statement.definition", &definition),
            interval(
                ("statement.period_from", &period_from),
                ("statement.period_to", &period_to),
            ),
            area(raw_area),
            attributed_to,
            published_date("statement.published_on", &published_on),
            statement_tier(tier),
            optional_url("statement.citation", citation),
            optional_text("statement.notes", notes, limits::LONG_TEXT),
        )
            .all_valid()?;
        let details = StatementDetails::new(StatementFields {
            measure,
            count,
            qualifier,
            definition,
            period,
            area,
            attributed_to,
            published_on,
            tier,
            citation,
            notes,
        })
        .at("statement")?;
        Ok(Self { source_id, details })
    }
}

/// A statement's attributes; the server adds its id and record time.
fn statement(source: &SourceId, details: &StatementDetails) -> pb::Statement {
    pb::Statement {
        id: String::new(),
        source_id: source.to_string(),
        measure: pb::Measure::from(details.measure).into(),
        count: Some(details.count().into()),
        qualifier: pb::Qualifier::from(details.qualifier()).into(),
        definition: details.definition.to_string(),
        period_from: details.period.from().to_string(),
        period_to: details.period.to().to_string(),
        area: Some(pb::Area {
            countries: details
                .area
                .countries()
                .iter()
                .map(ToString::to_string)
                .collect(),
            admin1: details.area.admin1.clone(),
            locality: details.area.locality.clone(),
        }),
        attributed_to: details.attributed_to.to_string(),
        published_on: details.published_on.to_string(),
        citation: details.citation.as_ref().map(|c| c.as_str().to_owned()),
        notes: details.notes.clone(),
        recorded_at: None,
        tier: pb::Tier::from(Some(details.tier)).into(),
    }
}

impl From<&NewStatement> for pb::Statement {
    fn from(new: &NewStatement) -> Self {
        statement(&new.source_id, &new.details)
    }
}

impl From<Statement> for pb::Statement {
    fn from(stored: Statement) -> Self {
        Self {
            id: stored.id.to_string(),
            recorded_at: Some(timestamp(stored.recorded_at)),
            ..statement(&stored.source_id, &stored.details)
        }
    }
}

impl From<Revision> for pb::StatementRevision {
    fn from(revision: Revision) -> Self {
        Self {
            statement: Some(revision.statement.into()),
            kind: match revision.kind {
                RevisionKind::Initial => pb::RevisionKind::Initial,
                RevisionKind::Extension => pb::RevisionKind::Extension,
                RevisionKind::Correction => pb::RevisionKind::Correction,
            }
            .into(),
            min_delta: revision.min_delta,
            max_delta: revision.max_delta,
        }
    }
}
