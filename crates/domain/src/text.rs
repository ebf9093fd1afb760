//! Free text and URLs: bounded, so that no field can carry a megabyte of notes.

use serde::{Deserialize, Serialize};

use crate::validation::{ValueError, quoted};

/// Checks a text's length in characters and rejects control characters other than tab and newline.
pub fn bounded_text(raw: &str, min_chars: usize, max_chars: usize) -> Result<String, ValueError> {
    let chars = raw.chars().count();
    if chars < min_chars {
        return Err(ValueError::new(if min_chars == 1 {
            "is required".to_owned()
        } else {
            format!("must be at least {min_chars} characters long")
        }));
    }
    if chars > max_chars {
        return Err(ValueError::new(format!(
            "must be at most {max_chars} characters long, got {chars}"
        )));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ValueError::new("must not contain control characters"));
    }
    Ok(raw.to_owned())
}

/// Limits shared by every entity.
pub mod limits {
    /// Names, labels, admin areas, localities and external references.
    pub const SHORT_TEXT: usize = 200;
    /// Notes and methodology.
    pub const LONG_TEXT: usize = 10_000;
    /// URLs.
    pub const URL: usize = 2_048;
}

/// An absolute `http` or `https` URL, such as a citation or a home page.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HttpUrl(String);

impl HttpUrl {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        bounded_text(raw, 1, limits::URL)?;
        let url = url::Url::parse(raw)
            .map_err(|e| ValueError::new(format!("must be an absolute http(s) URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(ValueError::new(format!(
                "must be an absolute http(s) URL, got {}",
                quoted(raw)
            )));
        }
        // Keep the client's spelling: a citation is quoted, not normalised.
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_within_bounds_is_kept_as_given() {
        assert_eq!(
            bounded_text("Mosul\tاالموصل", 1, 20).unwrap(),
            "Mosul\tاالموصل"
        );
    }

    #[test]
    fn text_is_measured_in_characters_not_bytes() {
        assert!(bounded_text(&"ا".repeat(200), 1, 200).is_ok());
        assert!(bounded_text(&"ا".repeat(201), 1, 200).is_err());
    }

    #[test]
    fn empty_required_text_and_control_characters_are_rejected() {
        assert!(bounded_text("", 1, 10).is_err());
        assert!(bounded_text("a\u{0}b", 0, 10).is_err());
    }

    #[test]
    fn only_absolute_http_urls_are_accepted() {
        assert!(HttpUrl::parse("https://airwars.org/civilian-casualties/cs1942/").is_ok());
        for bad in [
            "",
            "airwars.org",
            "ftp://example.org/x",
            "javascript:alert(1)",
            "https://",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
