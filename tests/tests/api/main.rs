//! End-to-end tests of the civcas API: the real server and a real PostgreSQL, through gRPC clients.

mod answers_follow_writes;
mod assessments;
mod discovery;
mod figures;
mod idempotency;
mod imports;
mod incidents;
mod sources;
mod statements;
mod validation;
