//! Incidents: locations, references and links.

use civcas_domain::dates::not_in_future;
use civcas_domain::text::{bounded_text, limits};
use civcas_domain::validation::each;
use civcas_domain::{
    AllValid, AtField, Coordinates, CountryCode, Incident, IncidentDetails, IncidentLink,
    IncidentReference, Location, NewIncident, Precision, SourceId, Violations,
};

use super::{
    both_ways, enum_field, harm_done, interval, latest_today, optional_text, required, slug, slugs,
    timestamp,
};
use crate::v1 as pb;

both_ways!(Precision, LocationPrecision {
    Exact <=> Exact,
    Neighbourhood <=> Neighbourhood,
    Locality <=> Locality,
    District <=> District,
    Admin1 <=> Admin1,
    Country <=> Country,
});

fn location(prefix: &str, raw: Option<pb::Location>) -> Result<Location, Violations> {
    let pb::Location {
        country,
        admin1,
        locality,
        latitude,
        longitude,
        precision,
    } = required(prefix, raw)?;
    let (country, admin1, locality, coordinates, precision) = (
        CountryCode::parse(&country).at(&format!("{prefix}.country")),
        optional_text(&format!("{prefix}.admin1"), admin1, limits::SHORT_TEXT),
        optional_text(&format!("{prefix}.locality"), locality, limits::SHORT_TEXT),
        Coordinates::from_parts(latitude, longitude).at(prefix),
        enum_field::<pb::LocationPrecision, _>(&format!("{prefix}.precision"), precision),
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

fn reference(field: &str, raw: pb::IncidentReference) -> Result<IncidentReference, Violations> {
    let pb::IncidentReference {
        source_id,
        external_ref,
    } = raw;
    let (source, external_ref) = (
        SourceId::parse(&source_id).at(&format!("{field}.source_id")),
        bounded_text(&external_ref, 1, limits::SHORT_TEXT).at(&format!("{field}.external_ref")),
    )
        .all_valid()?;
    IncidentReference::new(source, &external_ref).at(field)
}

/// An incident to record, from the message at `prefix` (`incident`). It cannot have happened after
/// today.
pub(super) fn new_incident(prefix: &str, raw: pb::Incident) -> Result<NewIncident, Violations> {
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
        harm,
        means,
        infrastructure,
    } = raw;
    let (references, occurred, location, attributed_to, harm_done) = (
        each(&format!("{prefix}.references"), references, |r, field| {
            reference(field, r)
        }),
        interval(
            (&format!("{prefix}.occurred_from"), &occurred_from),
            (&format!("{prefix}.occurred_to"), &occurred_to),
        )
        .and_then(|occurred| {
            not_in_future(occurred.to(), latest_today()).at(&format!("{prefix}.occurred_to"))?;
            Ok(occurred)
        }),
        location(&format!("{prefix}.location"), place),
        each(
            &format!("{prefix}.attributed_to"),
            attributed_to,
            |s, field| slug(field, &s),
        ),
        harm_done(prefix, harm, means, infrastructure),
    )
        .all_valid()?;
    let details = IncidentDetails {
        occurred,
        location,
        attributed_to: attributed_to.into_iter().collect(),
        harm_done,
    };
    NewIncident::new(references, details).at(prefix)
}

impl TryFrom<pb::RecordIncidentRequest> for NewIncident {
    type Error = Violations;

    fn try_from(request: pb::RecordIncidentRequest) -> Result<Self, Violations> {
        let pb::RecordIncidentRequest {
            incident,
            request_id: _,
        } = request;
        new_incident("incident", required("incident", incident)?)
    }
}

/// An incident's references and attributes; the server adds its id, links and timestamps.
fn incident<'a>(
    references: impl IntoIterator<Item = &'a IncidentReference>,
    details: &IncidentDetails,
) -> pb::Incident {
    let location = &details.location;
    pb::Incident {
        id: String::new(),
        references: references
            .into_iter()
            .map(|r| pb::IncidentReference {
                source_id: r.source_id.to_string(),
                external_ref: r.external_ref.clone(),
            })
            .collect(),
        occurred_from: details.occurred.from().to_string(),
        occurred_to: details.occurred.to().to_string(),
        location: Some(pb::Location {
            country: location.country.to_string(),
            admin1: location.admin1.clone(),
            locality: location.locality.clone(),
            latitude: location.coordinates.map(|c| c.latitude()),
            longitude: location.coordinates.map(|c| c.longitude()),
            precision: pb::LocationPrecision::from(location.precision).into(),
        }),
        attributed_to: details
            .attributed_to
            .iter()
            .map(ToString::to_string)
            .collect(),
        linked_incident_ids: Vec::new(),
        create_time: None,
        update_time: None,
        harm: slugs(details.harm_done.harm),
        means: slugs(details.harm_done.means),
        infrastructure: slugs(details.harm_done.infrastructure),
    }
}

impl From<&NewIncident> for pb::Incident {
    fn from(new: &NewIncident) -> Self {
        incident(new.references(), &new.details)
    }
}

impl From<Incident> for pb::Incident {
    fn from(stored: Incident) -> Self {
        Self {
            id: stored.id.to_string(),
            linked_incident_ids: stored.linked.iter().map(ToString::to_string).collect(),
            create_time: Some(timestamp(stored.created_at)),
            update_time: Some(timestamp(stored.updated_at)),
            ..incident(&stored.references, &stored.details)
        }
    }
}

impl From<IncidentLink> for pb::IncidentLink {
    fn from(link: IncidentLink) -> Self {
        Self {
            incident_id: link.pair.low().to_string(),
            linked_incident_id: link.pair.high().to_string(),
            create_time: Some(timestamp(link.created_at)),
        }
    }
}
