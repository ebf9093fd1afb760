//! The civcas domain: the values, entities and rules of casualty figures, free of transport and storage.
//!
//! - Every constrained value is a newtype with a parse constructor ([`SourceId::parse`],
//!   [`CountRange::new`], ...). Once a value exists it is valid, so the layers above never re-check it.
//! - Errors name what is wrong ([`ValueError`]); the caller that knows the request names the field
//!   ([`AtField::at`]), and [`AllValid::all_valid`] gathers every bad field of a request at once.
//! - The persistence layer is reached through the traits in [`repository`], whose errors
//!   ([`RepositoryError`]) speak of records and rules, never of SQL.
//!
//! This crate depends on neither tonic, diesel nor tokio; CI checks it with `cargo tree`.

pub mod assessment;
pub mod count;
pub mod country;
pub mod dates;
pub mod geo;
pub mod harm;
pub mod ids;
pub mod incident;
pub mod paging;
pub mod reconcile;
pub mod repository;
pub mod slug;
pub mod source;
pub mod statement;
pub mod text;
pub mod validation;

pub use assessment::{
    AssessedIncident, Assessment, AssessmentDetails, AssessmentFields, Demographic, KilledByGroup,
    NewAssessment, RecordedAssessment, Tier, Verdict,
};
pub use count::CountRange;
pub use country::CountryCode;
pub use dates::DateInterval;
pub use geo::{Coordinates, Location, Precision};
pub use ids::{AssessmentId, IncidentId, StatementId};
pub use incident::{
    Incident, IncidentDetails, IncidentLink, IncidentPair, IncidentReference, NewIncident,
};
pub use paging::{Page, PageRequest, PageSize};
pub use repository::{RepositoryError, RepositoryResult, WriteOutcome, Written};
pub use slug::{Slug, SourceId};
pub use source::{NewSource, Source, SourceChange, SourceDetails, SourceKind, SourceUpdate};
pub use statement::{
    Area, Measure, NewStatement, Qualifier, Revision, RevisionKind, Statement, StatementDetails,
    StatementFields,
};
pub use text::HttpUrl;
pub use validation::{AllValid, AtField, FieldViolation, ValueError, Violations};
