//! How storage failures become [`RepositoryError`]s, so that no diesel or driver type leaves the crate.

use civcas_domain::{RepositoryError, Violations};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// The error of code running inside a transaction: a client-facing [`RepositoryError`], or a write
/// conflict with a concurrent transaction that is worth retrying from the start.
#[derive(Debug)]
pub(crate) enum StoreError {
    Repository(RepositoryError),
    /// A unique or serialization conflict with a concurrent writer: the transaction is rolled back and
    /// run again, and then sees the other writer's committed result.
    Conflict(String),
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure,
                info,
            ) => Self::Conflict(info.message().to_owned()),
            other => Self::Repository(classify(other)),
        }
    }
}

impl From<RepositoryError> for StoreError {
    fn from(error: RepositoryError) -> Self {
        Self::Repository(error)
    }
}

impl From<Violations> for StoreError {
    fn from(violations: Violations) -> Self {
        Self::Repository(RepositoryError::Invalid(violations))
    }
}

impl From<StoreError> for RepositoryError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Repository(error) => error,
            StoreError::Conflict(message) => {
                Self::Unavailable(format!("write conflict persisted after retries: {message}"))
            }
        }
    }
}

/// Sorts a diesel error into what a client can act on. Connection loss is UNAVAILABLE (retry later);
/// anything else is a bug or a broken invariant, kept whole for the logs.
pub(crate) fn classify(error: DieselError) -> RepositoryError {
    let unavailable = match &error {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        )
        | DieselError::BrokenTransactionManager => true,
        // The driver reports these with no kind of their own, only PostgreSQL's message: a statement
        // cancelled by its timeout or by civcas for an abandoned call (57014), a server shutting
        // down, crashing or failing over (57P01–57P03), and a full server (53300).
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            const TRANSIENT: [&str; 5] = [
                "canceling statement due to statement timeout",
                "canceling statement due to user request",
                "terminating connection",
                "the database system is",
                "sorry, too many clients already",
            ];
            TRANSIENT.iter().any(|m| info.message().starts_with(m))
        }
        _ => false,
    };
    if unavailable {
        RepositoryError::Unavailable(error.to_string())
    } else {
        RepositoryError::Internal(error.to_string())
    }
}

/// A stored value that no longer parses: the database holds something the domain would never write.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> RepositoryError {
    RepositoryError::Internal(format!("stored {what} is invalid: {detail}"))
}

pub(crate) type StoreResult<T> = Result<T, StoreError>;
