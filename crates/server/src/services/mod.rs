//! The gRPC services. Each converts its request into domain values (validated once, there), calls its
//! repository, and converts the result back; errors become statuses in [`crate::errors`] only.

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
