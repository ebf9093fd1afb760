//! The one place where errors become gRPC statuses.
//!
//! Every status carries exactly one `google.rpc.ErrorInfo` (domain `civcas.v1`), and INVALID_ARGUMENT
//! also a `google.rpc.BadRequest` with one field violation per bad field. Storage detail never reaches
//! a client: UNAVAILABLE and INTERNAL are logged in full and answered with a fixed message.

use std::collections::HashMap;

use civcas_domain::{RepositoryError, Violations};
use civcas_proto::ERROR_DOMAIN;
use tonic::body::Body;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Builds a status with its ErrorInfo.
fn status(
    code: Code,
    message: impl Into<String>,
    reason: &str,
    metadata: HashMap<String, String>,
) -> Status {
    let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata);
    Status::with_error_details(code, message, details)
}

/// INVALID_ARGUMENT naming every bad field.
pub fn invalid(violations: Violations) -> Status {
    let mut details = ErrorDetails::new();
    let mut fields = Vec::new();
    for v in violations.iter() {
        details.add_bad_request_violation(&v.field, &v.description);
        fields.push(v.field.clone());
    }
    let message = violations.to_string();
    details.set_error_info(
        "INVALID_ARGUMENT",
        ERROR_DOMAIN,
        HashMap::from([("fields".to_owned(), fields.join(","))]),
    );
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// UNAVAILABLE for a stream the server ends because it is shutting down: the client should go on with
/// another replica.
pub fn shutting_down() -> Status {
    status(
        Code::Unavailable,
        "the server is shutting down; call again, and another replica will answer",
        "SHUTTING_DOWN",
        HashMap::new(),
    )
}

/// UNAUTHENTICATED: no bearer token, or one this server does not accept.
pub fn unauthenticated(reason: &str, message: &str) -> Status {
    status(Code::Unauthenticated, message, reason, HashMap::new())
}

/// PERMISSION_DENIED: the token is known, but its role is below what the method needs.
pub fn permission_denied(method: &impl std::fmt::Display, required: &str, held: &str) -> Status {
    status(
        Code::PermissionDenied,
        format!("{method} needs the {required} role; this token has {held}"),
        "ROLE_INSUFFICIENT",
        HashMap::from([
            ("required_role".to_owned(), required.to_owned()),
            ("role".to_owned(), held.to_owned()),
        ]),
    )
}

/// RESOURCE_EXHAUSTED for a call refused because the server runs and queues all the calls it may.
pub fn overloaded(limits: crate::middleware::admission::Concurrency) -> Status {
    status(
        Code::ResourceExhausted,
        format!(
            "the server is running {} calls and queueing {} more, its limits; retry with backoff, or call another replica",
            limits.max_concurrent_calls, limits.max_queued_calls
        ),
        "OVERLOADED",
        HashMap::from([
            (
                "max_concurrent_calls".to_owned(),
                limits.max_concurrent_calls.to_string(),
            ),
            (
                "max_queued_calls".to_owned(),
                limits.max_queued_calls.to_string(),
            ),
        ]),
    )
}

/// DEADLINE_EXCEEDED for a call that ran past the client's deadline or the server's request timeout.
pub fn deadline_exceeded(timeout: std::time::Duration) -> Status {
    status(
        Code::DeadlineExceeded,
        format!(
            "the call did not finish within its deadline ({} ms); its database work was cancelled",
            timeout.as_millis()
        ),
        "DEADLINE_EXCEEDED",
        HashMap::from([("timeout_ms".to_owned(), timeout.as_millis().to_string())]),
    )
}

/// Gives a status that tonic produced itself (before or around a handler) the ErrorInfo every civcas
/// error carries:
/// - a request that is not protobuf keeps INTERNAL, as the gRPC spec's table of codes says for
///   "error parsing request proto", with reason MALFORMED_MESSAGE; prost's description names the
///   wire-format fault, never anything of the server's;
/// - a message over the size limit becomes RESOURCE_EXHAUSTED, as the same table says, with reason
///   MESSAGE_TOO_LARGE;
/// - anything else keeps its code and message, with the code's name as reason.
pub fn with_error_info(tonic_status: Status) -> Status {
    let message = tonic_status.message();
    let code = tonic_status.code();
    if code == Code::Internal && message.starts_with("failed to decode Protobuf message") {
        return status(
            Code::Internal,
            format!("the request is not a valid protobuf message of its type: {message}"),
            "MALFORMED_MESSAGE",
            HashMap::new(),
        );
    }
    if code == Code::OutOfRange && message.contains("message length too large") {
        return status(
            Code::ResourceExhausted,
            format!("{message}; send smaller messages (an import, in more batches)"),
            "MESSAGE_TOO_LARGE",
            HashMap::new(),
        );
    }
    status(code, message, code_name(code), HashMap::new())
}

/// tonic answers some bad requests itself (not protobuf, too large), without the ErrorInfo civcas
/// promises on every error: add it. Such answers are trailers-only, so the headers tell.
pub fn with_error_info_on_tonic_errors(response: http::Response<Body>) -> http::Response<Body> {
    match Status::from_header_map(response.headers()) {
        Some(status) if status.code() != Code::Ok && status.details().is_empty() => {
            with_error_info(status).into_http()
        }
        _ => response,
    }
}

/// INTERNAL for a handler that panicked: the panic is logged, never sent.
pub fn panicked() -> Status {
    status(
        Code::Internal,
        "internal error; it has been logged",
        "INTERNAL",
        HashMap::new(),
    )
}

/// The canonical upper-case name of a gRPC code, as metrics labels and fallback ErrorInfo reasons
/// use it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Maps every repository error to its status.
pub fn from_repository(error: RepositoryError) -> Status {
    match error {
        RepositoryError::Invalid(violations) => invalid(violations),
        RepositoryError::NotFound {
            resource,
            id,
            field,
        } => status(
            Code::NotFound,
            format!("{} {id} not found (field {field})", resource.as_str()),
            &format!("{}_NOT_FOUND", resource.as_str().to_uppercase()),
            HashMap::from([
                ("resource".to_owned(), resource.as_str().to_owned()),
                ("id".to_owned(), id),
                ("field".to_owned(), field),
            ]),
        ),
        RepositoryError::AlreadyExists { reason, message } => {
            status(Code::AlreadyExists, message, reason, HashMap::new())
        }
        RepositoryError::FailedPrecondition { reason, message } => {
            status(Code::FailedPrecondition, message, reason, HashMap::new())
        }
        RepositoryError::RequestIdReused(request_id) => status(
            Code::AlreadyExists,
            format!(
                "request_id {request_id:?} was already used with a different payload; use a new request_id for a new write"
            ),
            "REQUEST_ID_REUSED",
            HashMap::from([("request_id".to_owned(), request_id)]),
        ),
        RepositoryError::Unavailable(detail) => {
            tracing::warn!(%detail, "database unavailable");
            status(
                Code::Unavailable,
                "the database is unavailable; retry later",
                "DATABASE_UNAVAILABLE",
                HashMap::new(),
            )
        }
        RepositoryError::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            status(
                Code::Internal,
                "internal error; it has been logged",
                "INTERNAL",
                HashMap::new(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use civcas_domain::repository::Resource;

    use super::*;

    #[test]
    fn invalid_argument_carries_one_violation_per_field_and_one_error_info() {
        let mut violations = Violations::one("a.min", "bad");
        violations.0.extend(Violations::one("b", "worse").0);
        let details = invalid(violations).get_error_details();
        let bad_request = details.bad_request().unwrap();
        assert_eq!(bad_request.field_violations.len(), 2);
        assert_eq!(bad_request.field_violations[0].field, "a.min");
        assert_eq!(details.error_info().unwrap().domain, ERROR_DOMAIN);
    }

    #[test]
    fn storage_detail_never_reaches_the_client() {
        let status = from_repository(RepositoryError::Internal(
            "relation \"assessments\" does not exist at host=10.0.0.1".into(),
        ));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("assessments"));
        assert!(!status.message().contains("10.0.0.1"));
        let status = from_repository(RepositoryError::Unavailable(
            "connection refused to db:5432".into(),
        ));
        assert_eq!(status.code(), Code::Unavailable);
        assert!(!status.message().contains("5432"));
    }

    #[test]
    fn every_code_has_its_canonical_name() {
        for number in 0..=16 {
            let code = Code::from_i32(number);
            assert_eq!(
                code_name(code).replace('_', "").to_lowercase(),
                format!("{code:?}").to_lowercase(),
            );
        }
    }

    #[test]
    fn tonic_statuses_gain_an_error_info() {
        let malformed = with_error_info(Status::internal(
            "failed to decode Protobuf message: invalid wire type value: 7",
        ));
        assert_eq!(malformed.code(), Code::Internal);
        let info = malformed.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.reason, "MALFORMED_MESSAGE");
        let large = with_error_info(Status::out_of_range(
            "Error, decoded message length too large: found 40796400 bytes, the limit is: 4194304 bytes",
        ));
        assert_eq!(large.code(), Code::ResourceExhausted);
        assert_eq!(
            large.get_error_details().error_info().unwrap().reason,
            "MESSAGE_TOO_LARGE"
        );
        let other = with_error_info(Status::unimplemented("no such method"));
        assert_eq!(
            other.get_error_details().error_info().unwrap().reason,
            "UNIMPLEMENTED"
        );
        let other = with_error_info(Status::failed_precondition("x"));
        assert_eq!(
            other.get_error_details().error_info().unwrap().reason,
            "FAILED_PRECONDITION"
        );
    }

    #[test]
    fn not_found_names_the_resource_and_field() {
        let status = from_repository(RepositoryError::NotFound {
            resource: Resource::Source,
            id: "nobody".into(),
            field: "assessment.source_id".into(),
        });
        assert_eq!(status.code(), Code::NotFound);
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.reason, "SOURCE_NOT_FOUND");
        assert_eq!(info.metadata["field"], "assessment.source_id");
    }
}
