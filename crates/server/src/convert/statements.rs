//! Statements: measures, qualifiers, areas, revisions.

use super::*;

pub fn measure(measure: pb::Measure) -> Option<Measure> {
    Some(match measure {
        pb::Measure::Unspecified => return None,
        pb::Measure::Killed => Measure::Killed,
        pb::Measure::Injured => Measure::Injured,
        pb::Measure::KilledOrInjured => Measure::KilledOrInjured,
    })
}

pub(super) fn qualifier(qualifier: pb::Qualifier) -> Option<Qualifier> {
    Some(match qualifier {
        pb::Qualifier::Unspecified => return None,
        pb::Qualifier::Exact => Qualifier::Exact,
        pb::Qualifier::AtLeast => Qualifier::AtLeast,
        pb::Qualifier::MoreThan => Qualifier::MoreThan,
        pb::Qualifier::Approximately => Qualifier::Approximately,
        pb::Qualifier::AtMost => Qualifier::AtMost,
    })
}

pub(super) fn area(raw: Option<pb::Area>) -> Result<Area, Violations> {
    let Some(pb::Area {
        countries,
        admin1,
        locality,
    }) = raw
    else {
        return Err(Violations::one("statement.area", "is required"));
    };
    let (countries, admin1, locality) = (
        each("statement.area.countries", countries, |c, field| {
            country(field, &c)
        }),
        optional_text("statement.area.admin1", admin1, limits::SHORT_TEXT),
        optional_text("statement.area.locality", locality, limits::SHORT_TEXT),
    )
        .all_valid()?;
    Area::new(countries, admin1, locality).at("statement.area")
}

pub fn new_statement(
    raw: Option<pb::Statement>,
    today: NaiveDate,
) -> Result<NewStatement, Violations> {
    let Some(pb::Statement {
        id: _,
        source_id: source,
        measure: raw_measure,
        count,
        qualifier: raw_qualifier,
        definition,
        period_from,
        period_to,
        area: raw_area,
        attributed_to,
        published_on,
        citation,
        notes,
        recorded_at: _,
    }) = raw
    else {
        return Err(Violations::one("statement", "is required"));
    };
    let definition = if definition.is_empty() {
        DEFAULT_DEFINITION.to_owned()
    } else {
        definition
    };
    let count = count_range("statement.count", count)
        .and_then(|count| count.ok_or_else(|| Violations::one("statement.count", "is required")));
    let attributed_to = if attributed_to.is_empty() {
        Err(Violations::one(
            "statement.attributed_to",
            format!("is required: a belligerent slug, or {ATTRIBUTED_TO_ALL:?}"),
        ))
    } else {
        slug("statement.attributed_to", &attributed_to)
    };
    let (
        source,
        measure,
        count,
        qualifier,
        definition,
        period,
        area,
        attributed_to,
        published_on,
        citation,
        notes,
    ) = (
        source_id("statement.source_id", &source),
        enum_value("statement.measure", raw_measure, measure, "Measure"),
        count,
        enum_value("statement.qualifier", raw_qualifier, qualifier, "Qualifier"),
        slug("statement.definition", &definition),
        interval(
            ("statement.period_from", &period_from),
            ("statement.period_to", &period_to),
        ),
        area(raw_area),
        attributed_to,
        published_date("statement.published_on", &published_on, today),
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
        citation,
        notes,
    })
    .at("statement")?;
    Ok(NewStatement {
        source_id: source,
        details,
    })
}
