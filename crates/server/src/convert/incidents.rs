//! Incidents: locations, references, links.

use super::*;

pub(super) fn precision(precision: pb::LocationPrecision) -> Option<Precision> {
    Some(match precision {
        pb::LocationPrecision::Unspecified => return None,
        pb::LocationPrecision::Exact => Precision::Exact,
        pb::LocationPrecision::Neighbourhood => Precision::Neighbourhood,
        pb::LocationPrecision::Locality => Precision::Locality,
        pb::LocationPrecision::District => Precision::District,
        pb::LocationPrecision::Admin1 => Precision::Admin1,
        pb::LocationPrecision::Country => Precision::Country,
    })
}

pub(super) fn location(prefix: &str, raw: Option<pb::Location>) -> Result<Location, Violations> {
    let Some(pb::Location {
        country: code,
        admin1,
        locality,
        latitude,
        longitude,
        precision: level,
    }) = raw
    else {
        return Err(Violations::one(prefix, "is required"));
    };
    let (country, admin1, locality, coordinates, precision) = (
        country(&format!("{prefix}.country"), &code),
        optional_text(&format!("{prefix}.admin1"), admin1, limits::SHORT_TEXT),
        optional_text(&format!("{prefix}.locality"), locality, limits::SHORT_TEXT),
        Coordinates::from_parts(latitude, longitude).at(prefix),
        enum_value(
            &format!("{prefix}.precision"),
            level,
            precision,
            "LocationPrecision",
        ),
    )
        .all_valid()?;
    Ok(Location {
        country,
        admin1,
        locality,
        coordinates,
        precision,
    })
}

pub(super) fn reference(
    field: &str,
    raw: pb::IncidentReference,
) -> Result<IncidentReference, Violations> {
    let pb::IncidentReference {
        source_id: source,
        external_ref,
    } = raw;
    let external_ref =
        bounded_text(&external_ref, 1, limits::SHORT_TEXT).at(&format!("{field}.external_ref"));
    let (source, external_ref) = (
        source_id(&format!("{field}.source_id"), &source),
        external_ref,
    )
        .all_valid()?;
    IncidentReference::new(source, &external_ref).at(field)
}

/// An incident to record, from the message at `prefix` (`incident`). It cannot have happened after
/// `today`.
pub fn new_incident(
    prefix: &str,
    raw: pb::Incident,
    today: NaiveDate,
) -> Result<NewIncident, Violations> {
    let pb::Incident {
        id: _,
        references,
        occurred_from,
        occurred_to,
        location: place,
        attributed_to,
        linked_incident_ids: _,
        create_time: _,
        update_time: _,
    } = raw;
    let (references, occurred, location, attributed_to) = (
        each(&format!("{prefix}.references"), references, |r, field| {
            reference(field, r)
        }),
        interval(
            (&format!("{prefix}.occurred_from"), &occurred_from),
            (&format!("{prefix}.occurred_to"), &occurred_to),
        )
        .and_then(|occurred| {
            not_in_future(occurred.to(), today).at(&format!("{prefix}.occurred_to"))?;
            Ok(occurred)
        }),
        location(&format!("{prefix}.location"), place),
        each(
            &format!("{prefix}.attributed_to"),
            attributed_to,
            |s, field| slug(field, &s),
        ),
    )
        .all_valid()?;
    let details = IncidentDetails {
        occurred,
        location,
        attributed_to: attributed_to.into_iter().collect(),
    };
    NewIncident::new(references, details).at(prefix)
}
