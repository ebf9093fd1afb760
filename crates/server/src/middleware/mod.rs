//! The tower layers every call passes through, outermost first:
//!
//! 1. [`observe`]: counts the call and times it for the metrics, by method and final gRPC code;
//! 2. [`gate`]: turns away calls while shutting down, checks the bearer token, sheds calls beyond the
//!    concurrency limit, bounds the call by its deadline (cancelling its database work when it runs
//!    past it), and turns a handler's panic into INTERNAL.
//!
//! Health and reflection pass the gate untouched, so that probes and tools work under any load.

pub mod gate;
pub mod observe;
