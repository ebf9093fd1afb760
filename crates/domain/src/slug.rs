//! Slugs: the lower-case identifiers clients choose for sources, belligerents and definitions.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::validation::{ValueError, quoted};

/// The text of a slug, shared by its clones: a read model holds millions of copies of a few source
/// ids and parties, and compares them often; two clones of one value compare by address.
#[derive(Clone)]
struct Shared(Arc<str>);

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl PartialEq for Shared {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Eq for Shared {}

impl PartialOrd for Shared {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Shared {
    fn cmp(&self, other: &Self) -> Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            return Ordering::Equal;
        }
        self.0.cmp(&other.0)
    }
}

impl Hash for Shared {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl Serialize for Shared {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Shared {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(String::deserialize(deserializer)?.into()))
    }
}

/// A lower-case identifier: `^[a-z0-9][a-z0-9-]{0,62}$`, e.g. `coalition`, `syrian-regime`,
/// `civilians-incl-police`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(Shared);

impl Slug {
    pub const MAX_LEN: usize = 63;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        check_slug(raw, 1)?;
        Ok(Self(Shared(raw.into())))
    }

    pub fn as_str(&self) -> &str {
        &self.0.0
    }
}

/// A source's id: a slug of 2 to 63 characters, `^[a-z0-9][a-z0-9-]{1,62}$` (`cjtf-oir`, `airwars`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceId(Shared);

impl SourceId {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        check_slug(raw, 2)?;
        Ok(Self(Shared(raw.into())))
    }

    pub fn as_str(&self) -> &str {
        &self.0.0
    }
}

fn check_slug(raw: &str, min_len: usize) -> Result<(), ValueError> {
    if raw.is_empty() {
        return Err(ValueError::new("is required"));
    }
    if raw.len() < min_len || raw.len() > Slug::MAX_LEN {
        return Err(ValueError::new(format!(
            "must be {min_len} to {} characters long, got {}",
            Slug::MAX_LEN,
            raw.chars().count()
        )));
    }
    let valid = raw
        .bytes()
        .enumerate()
        .all(|(i, b)| b.is_ascii_lowercase() || b.is_ascii_digit() || (i > 0 && b == b'-'));
    if !valid {
        return Err(ValueError::new(format!(
            "must match ^[a-z0-9][a-z0-9-]*$ (lower-case letters, digits and inner hyphens), got {}",
            quoted(raw)
        )));
    }
    Ok(())
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_ids_accept_the_seed_sources() {
        for id in ["cjtf-oir", "airwars", "un-unami", "ucdp", "a1"] {
            assert_eq!(SourceId::parse(id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn source_ids_reject_bad_slugs() {
        for bad in [
            "",
            "a",
            "-lead",
            "Upper",
            "has space",
            "under_score",
            &"a".repeat(64),
        ] {
            assert!(SourceId::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn slugs_may_be_one_character_long() {
        assert!(Slug::parse("x").is_ok());
        assert!(Slug::parse("syrian-regime").is_ok());
        assert!(Slug::parse("Coalition").is_err());
    }
}
