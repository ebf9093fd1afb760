//! Server-assigned ids. The API spells them as decimal strings; they are positive integers.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::{ValueError, quoted};

macro_rules! server_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, ValueError> {
                if raw.is_empty() {
                    return Err(ValueError::new("is required"));
                }
                raw.parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0 && raw.bytes().all(|b| b.is_ascii_digit()))
                    .map(Self)
                    .ok_or_else(|| ValueError::new(format!("must be a positive decimal id, got {}", quoted(raw))))
            }

            /// Wraps an id the database assigned.
            pub fn from_stored(id: i64) -> Self {
                Self(id)
            }

            pub fn get(&self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

server_id!(
    /// An incident's id.
    IncidentId
);
server_id!(
    /// An assessment's id.
    AssessmentId
);
server_id!(
    /// A statement's id.
    StatementId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_ids_parse() {
        assert_eq!(IncidentId::parse("42").unwrap().get(), 42);
        assert_eq!(IncidentId::parse("42").unwrap().to_string(), "42");
    }

    #[test]
    fn non_positive_or_non_decimal_ids_are_rejected() {
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            "1e3",
            " 1",
            "99999999999999999999",
            "abc",
        ] {
            assert!(StatementId::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
