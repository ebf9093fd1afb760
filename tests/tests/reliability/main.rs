//! Reliability under access control, contention, faults and deadlines: the real server against a
//! real PostgreSQL. Each test prints its figures (run with `--nocapture` to see them); they are
//! collected in docs/RELIABILITY.md.

mod access;
mod contention;
mod faults;
