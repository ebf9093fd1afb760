//! What every write and every List shares: idempotency keys and page tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use civcas_domain::repository::IdempotencyKey;
use civcas_domain::text::bounded_text;
use civcas_domain::{AtField, PageRequest, PageSize, Violations};
use prost::Message;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The longest `request_id` accepted.
const MAX_REQUEST_ID: usize = 200;

/// A hash of a method and a message, hex-encoded.
fn fingerprint(method: &str, message: &impl Message) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(message.encode_to_vec());
    hex::encode(hasher.finalize())
}

/// The idempotency key of a write: its `request_id` (empty means none) and a fingerprint of the rest of
/// the request, `payload`, which must have its `request_id` cleared. The method is part of the
/// fingerprint, so one id cannot stand for writes of two kinds.
pub fn idempotency_key(
    method: &str,
    request_id: String,
    payload: &impl Message,
) -> Result<Option<IdempotencyKey>, Violations> {
    if request_id.is_empty() {
        return Ok(None);
    }
    bounded_text(&request_id, 1, MAX_REQUEST_ID).at("request_id")?;
    Ok(Some(IdempotencyKey {
        request_id,
        fingerprint: fingerprint(method, payload),
    }))
}

/// What a page token holds: the filters it was issued for, and where the next page starts.
#[derive(Debug, Serialize, Deserialize)]
struct PageToken {
    #[serde(rename = "f")]
    filters: String,
    #[serde(rename = "a")]
    after: String,
}

/// The page a List asks for. `filters` is the request with `page_size` and `page_token` cleared: a
/// token works only with the method and filters it was issued for.
pub fn page_request(
    method: &str,
    page_size: Option<i32>,
    page_token: &str,
    filters: &impl Message,
) -> Result<PageRequest, Violations> {
    let size = PageSize::parse(page_size).at("page_size");
    let after = decode_token(method, page_token, filters);
    let (size, after) = civcas_domain::AllValid::all_valid((size, after))?;
    Ok(PageRequest { size, after })
}

fn decode_token(
    method: &str,
    raw: &str,
    filters: &impl Message,
) -> Result<Option<String>, Violations> {
    if raw.is_empty() {
        return Ok(None);
    }
    let garbage = || Violations::one("page_token", "is not a page token issued by this list");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| garbage())?;
    let token: PageToken = serde_json::from_slice(&bytes).map_err(|_| garbage())?;
    if token.filters != fingerprint(method, filters) {
        return Err(Violations::one(
            "page_token",
            "was issued for other filters: repeat the request's filters, or start again without a token",
        ));
    }
    Ok(Some(token.after))
}

/// The token for the page after `next`, or empty on the last page.
pub fn next_page_token(method: &str, next: Option<String>, filters: &impl Message) -> String {
    let Some(after) = next else {
        return String::new();
    };
    let token = PageToken {
        filters: fingerprint(method, filters),
        after,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use civcas_proto::v1::{ListIncidentsRequest, ListSourcesRequest};

    use super::*;

    #[test]
    fn a_token_round_trips_with_the_same_filters() {
        let filters = ListSourcesRequest::default();
        let token = next_page_token("ListSources", Some("\"cjtf-oir\"".into()), &filters);
        let page = page_request("ListSources", Some(10), &token, &filters).unwrap();
        assert_eq!(page.after.as_deref(), Some("\"cjtf-oir\""));
        assert_eq!(page.size.get(), 10);
    }

    #[test]
    fn a_token_for_other_filters_is_rejected() {
        let issued_for = ListIncidentsRequest {
            countries: vec!["SY".into()],
            ..Default::default()
        };
        let token = next_page_token("ListIncidents", Some("5".into()), &issued_for);
        let other = ListIncidentsRequest {
            countries: vec!["IQ".into()],
            ..Default::default()
        };
        let err = page_request("ListIncidents", None, &token, &other).unwrap_err();
        assert_eq!(err.0[0].field, "page_token");
    }

    #[test]
    fn a_token_for_another_list_is_rejected() {
        let token = next_page_token(
            "ListStatements",
            Some("5".into()),
            &ListSourcesRequest::default(),
        );
        let err =
            page_request("ListSources", None, &token, &ListSourcesRequest::default()).unwrap_err();
        assert_eq!(err.0[0].field, "page_token");
    }

    #[test]
    fn garbage_tokens_and_zero_sizes_are_reported_together() {
        let err = page_request(
            "ListSources",
            Some(0),
            "not-a-token!",
            &ListSourcesRequest::default(),
        )
        .unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["page_size", "page_token"]);
    }

    #[test]
    fn the_last_page_has_an_empty_token() {
        assert_eq!(
            next_page_token("ListSources", None, &ListSourcesRequest::default()),
            ""
        );
    }

    #[test]
    fn fingerprints_differ_by_method_and_payload() {
        let a = ListSourcesRequest::default();
        assert_ne!(fingerprint("A", &a), fingerprint("B", &a));
        let key = idempotency_key("A", "r1".into(), &a).unwrap().unwrap();
        assert_eq!(key.request_id, "r1");
        assert!(idempotency_key("A", String::new(), &a).unwrap().is_none());
        assert!(idempotency_key("A", "x".repeat(201), &a).is_err());
    }
}
