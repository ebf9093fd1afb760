//! The gRPC services, one module each. A handler converts its request into domain values with
//! `TryFrom` (validated once, there), calls its repository, and converts the result back with
//! `From`; errors become statuses in [`crate::errors`] only.

mod assessments;
mod figures;
mod incidents;
mod sources;
mod statements;

pub use assessments::AssessmentApi;
pub use figures::FigureApi;
pub use incidents::IncidentApi;
pub use sources::SourceApi;
pub use statements::StatementApi;
