//! Assertions on error statuses: the code, exactly one ErrorInfo, the offending fields, and nothing
//! internal leaked.

use tonic::{Code, Status};
use tonic_types::{ErrorDetail, StatusExt};

/// Words that would mean storage or host detail reached a client.
const LEAKS: [&str; 9] = [
    "SELECT",
    "INSERT",
    "relation",
    "diesel",
    "postgres",
    "constraint",
    "panicked",
    "127.0.0.1",
    ".rs:",
];

/// Checks what every civcas error promises, and returns the ErrorInfo's reason.
pub fn assert_error(status: &Status, code: Code) -> String {
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    let details = status
        .check_error_details_vec()
        .expect("error details decode");
    let infos: Vec<_> = details
        .iter()
        .filter_map(|d| match d {
            ErrorDetail::ErrorInfo(info) => Some(info),
            _ => None,
        })
        .collect();
    assert_eq!(
        infos.len(),
        1,
        "exactly one ErrorInfo expected: {details:?}"
    );
    assert_eq!(infos[0].domain, "civcas.v1");
    // Everything a client sees: the message, the BadRequest descriptions and the ErrorInfo metadata.
    let mut visible = vec![status.message().to_owned()];
    for detail in &details {
        match detail {
            ErrorDetail::BadRequest(bad) => visible.extend(
                bad.field_violations
                    .iter()
                    .map(|v| format!("{} {}", v.field, v.description)),
            ),
            ErrorDetail::ErrorInfo(info) => {
                visible.extend(info.metadata.iter().map(|(k, v)| format!("{k} {v}")));
            }
            _ => {}
        }
    }
    for text in &visible {
        for leak in LEAKS {
            assert!(!text.contains(leak), "the error leaks {leak:?}: {text}");
        }
    }
    infos[0].reason.clone()
}

/// The fields named by an INVALID_ARGUMENT's BadRequest.
pub fn violated_fields(status: &Status) -> Vec<String> {
    assert_error(status, Code::InvalidArgument);
    status
        .get_error_details()
        .bad_request()
        .expect("INVALID_ARGUMENT carries a BadRequest")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect()
}

/// Asserts INVALID_ARGUMENT naming `field` among its violations.
pub fn assert_invalid_field(status: &Status, field: &str) {
    let fields = violated_fields(status);
    assert!(
        fields.iter().any(|f| f == field),
        "expected a violation of {field:?}, got {fields:?} ({})",
        status.message()
    );
}
