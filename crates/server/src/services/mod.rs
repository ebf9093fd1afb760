//! The gRPC services. Each converts its request into domain values (validated once, there), calls its
//! repository, and converts the result back; errors become statuses in [`crate::errors`] only.

mod assessments;
mod incidents;
mod sources;
mod statements;

pub use assessments::AssessmentApi;
pub use incidents::IncidentApi;
pub use sources::SourceApi;
pub use statements::StatementApi;

/// Today's date in UTC: the latest date a source can have published anything.
fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}
