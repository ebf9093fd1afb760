//! The tower layers every call passes through, outermost first:
//!
//! 1. [`observe`]: counts the call and times it for the metrics, by method and final gRPC code;
//! 2. [`drain`]: turns away new calls while shutting down (a [`refuse`] check);
//! 3. auth: checks the bearer token (`crate::auth`, a [`refuse`] check);
//! 4. [`gate`]: sheds calls beyond the concurrency limit, bounds the call by its deadline
//!    (cancelling its database work when it runs past it), and turns a handler's panic into
//!    INTERNAL.
//!
//! Health and reflection pass every layer but `observe` untouched, so that probes and tools work
//! under any load.

pub mod drain;
pub mod gate;
pub mod observe;
pub mod refuse;
