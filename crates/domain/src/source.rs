//! Sources: the organisations that publish figures.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::slug::{Slug, SourceId};
use crate::text::HttpUrl;

/// What kind of organisation a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SourceKind {
    Military,
    Monitor,
    Intergovernmental,
    Government,
    Media,
    Academic,
    Other,
}

impl SourceKind {
    pub const ALL: [Self; 7] = [
        Self::Military,
        Self::Monitor,
        Self::Intergovernmental,
        Self::Government,
        Self::Media,
        Self::Academic,
        Self::Other,
    ];

    /// The stable name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Military => "military",
            Self::Monitor => "monitor",
            Self::Intergovernmental => "intergovernmental",
            Self::Government => "government",
            Self::Media => "media",
            Self::Academic => "academic",
            Self::Other => "other",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// A source's changeable attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceDetails {
    pub display_name: String,
    pub kind: SourceKind,
    /// The party the source speaks for; its verdicts are about that party's own responsibility.
    pub belligerent: Option<Slug>,
    pub homepage: Option<HttpUrl>,
    pub methodology: Option<String>,
}

/// A source to register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSource {
    pub id: SourceId,
    pub details: SourceDetails,
}

/// A registered source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub id: SourceId,
    pub details: SourceDetails,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One change an update makes: the field-mask path and its new value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceChange {
    DisplayName(String),
    Kind(SourceKind),
    Belligerent(Option<Slug>),
    Homepage(Option<HttpUrl>),
    Methodology(Option<String>),
}

/// An update of the fields a field mask names, and of those only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceUpdate {
    pub id: SourceId,
    pub changes: Vec<SourceChange>,
}

impl SourceDetails {
    /// The details after `changes`, applied in order.
    pub fn with_changes(&self, changes: &[SourceChange]) -> Self {
        let mut details = self.clone();
        for change in changes {
            match change.clone() {
                SourceChange::DisplayName(name) => details.display_name = name,
                SourceChange::Kind(kind) => details.kind = kind,
                SourceChange::Belligerent(belligerent) => details.belligerent = belligerent,
                SourceChange::Homepage(homepage) => details.homepage = homepage,
                SourceChange::Methodology(methodology) => details.methodology = methodology,
            }
        }
        details
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coalition() -> SourceDetails {
        SourceDetails {
            display_name: "CJTF-OIR".into(),
            kind: SourceKind::Military,
            belligerent: Some(Slug::parse("coalition").unwrap()),
            homepage: None,
            methodology: Some("monthly releases".into()),
        }
    }

    #[test]
    fn changes_touch_only_the_named_fields() {
        let before = coalition();
        let after = before.with_changes(&[
            SourceChange::DisplayName("Combined Joint Task Force".into()),
            SourceChange::Methodology(None),
        ]);
        assert_eq!(after.display_name, "Combined Joint Task Force");
        assert_eq!(after.methodology, None);
        assert_eq!(after.kind, before.kind);
        assert_eq!(after.belligerent, before.belligerent);
    }

    #[test]
    fn kind_names_round_trip() {
        for kind in SourceKind::ALL {
            assert_eq!(SourceKind::from_name(kind.as_str()), Some(kind));
        }
    }
}
