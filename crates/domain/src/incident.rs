//! Incidents, their references in each source's numbering, and the links between reports of one event.

use crate::harm::HarmDone;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::dates::DateInterval;
use crate::geo::Location;
use crate::ids::IncidentId;
use crate::slug::{Slug, SourceId};
use crate::text::{bounded_text, limits};
use crate::validation::ValueError;

/// A source's own identifier for an incident, e.g. (`airwars`, `CS1942`). Each pair names exactly one
/// incident.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IncidentReference {
    pub source_id: SourceId,
    pub external_ref: String,
}

impl IncidentReference {
    pub fn new(source_id: SourceId, external_ref: &str) -> Result<Self, ValueError> {
        let external_ref = bounded_text(external_ref, 1, limits::SHORT_TEXT)
            .map_err(|e| ValueError::in_part("external_ref", e.description))?;
        Ok(Self {
            source_id,
            external_ref,
        })
    }
}

/// An incident's attributes: when, where, and whom it is attributed to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetails {
    pub occurred: DateInterval,
    pub location: Location,
    /// Belligerent slugs, deduplicated and sorted.
    pub attributed_to: BTreeSet<Slug>,
    pub harm_done: HarmDone,
}

/// An incident to record: at least one reference, deduplicated and sorted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewIncident {
    references: BTreeSet<IncidentReference>,
    pub details: IncidentDetails,
}

impl NewIncident {
    /// An incident needs a reference: it is how a retry, an import or another source finds it again.
    pub fn new(
        references: impl IntoIterator<Item = IncidentReference>,
        details: IncidentDetails,
    ) -> Result<Self, ValueError> {
        let references: BTreeSet<_> = references.into_iter().collect();
        if references.is_empty() {
            return Err(ValueError::in_part(
                "references",
                "at least one (source_id, external_ref) reference is required",
            ));
        }
        Ok(Self {
            references,
            details,
        })
    }

    pub fn references(&self) -> &BTreeSet<IncidentReference> {
        &self.references
    }
}

/// A stored incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    pub references: Vec<IncidentReference>,
    pub details: IncidentDetails,
    /// Incidents explicitly linked to this one, by id.
    pub linked: Vec<IncidentId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Two distinct incidents. A link is stored with the smaller id first, so that it has one spelling;
/// the order the client gave is kept to name the field of an unknown id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IncidentPair {
    first: IncidentId,
    second: IncidentId,
}

impl IncidentPair {
    /// Fails on `b` when both name the same incident: an incident is trivially its own event.
    pub fn new(a: IncidentId, b: IncidentId) -> Result<Self, ValueError> {
        if a == b {
            return Err(ValueError::new(format!(
                "must differ from the other incident ({a}): an incident cannot be linked to itself"
            )));
        }
        Ok(Self {
            first: a,
            second: b,
        })
    }

    /// The incidents in the order the client gave them.
    pub fn as_given(&self) -> [IncidentId; 2] {
        [self.first, self.second]
    }

    pub fn low(&self) -> IncidentId {
        self.first.min(self.second)
    }

    pub fn high(&self) -> IncidentId {
        self.first.max(self.second)
    }
}

/// An analyst's link between two reports of one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentLink {
    pub pair: IncidentPair,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::country::CountryCode;
    use crate::geo::Precision;

    fn details() -> IncidentDetails {
        let day = NaiveDate::from_ymd_opt(2017, 6, 1).unwrap();
        IncidentDetails {
            occurred: DateInterval::day(day),
            location: Location {
                country: CountryCode::parse("SY").unwrap(),
                admin1: Some("Raqqa".into()),
                locality: None,
                coordinates: None,
                precision: Precision::Admin1,
            },
            attributed_to: BTreeSet::new(),
            harm_done: HarmDone::default(),
        }
    }

    fn reference(source: &str, external: &str) -> IncidentReference {
        IncidentReference::new(SourceId::parse(source).unwrap(), external).unwrap()
    }

    #[test]
    fn an_incident_without_references_is_rejected() {
        let err = NewIncident::new([], details()).unwrap_err();
        assert_eq!(err.part, Some("references"));
    }

    #[test]
    fn repeated_references_collapse() {
        let incident = NewIncident::new(
            [
                reference("airwars", "CS1942"),
                reference("airwars", "CS1942"),
            ],
            details(),
        )
        .unwrap();
        assert_eq!(incident.references().len(), 1);
    }

    #[test]
    fn external_refs_must_not_be_empty() {
        let err = IncidentReference::new(SourceId::parse("airwars").unwrap(), "").unwrap_err();
        assert_eq!(err.part, Some("external_ref"));
    }

    #[test]
    fn a_pair_puts_the_smaller_id_first_and_refuses_self_links() {
        let (a, b) = (IncidentId::from_stored(9), IncidentId::from_stored(4));
        let pair = IncidentPair::new(a, b).unwrap();
        assert_eq!((pair.low(), pair.high()), (b, a));
        assert!(IncidentPair::new(a, a).is_err());
    }
}
