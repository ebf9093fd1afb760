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

/// The latest date anywhere on Earth (UTC+14): nothing can have been published or have happened
/// after it. UTC alone would refuse a release published in Baghdad just after local midnight.
fn today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(14)).date_naive()
}
