//! What harmed and what was hit: three vocabularies of slugs, each documented by its table here.
//!
//! - [`Harm`]: the cause of death or injury, following Every Casualty's *Standards for Casualty
//!   Recording* ("type of death") as Airwars spells them;
//! - [`Means`]: how the harm was delivered: airstrike, artillery, drone strike, ground action…;
//! - [`Infrastructure`]: the kinds of civilian objects hit.
//!
//! An incident holds a set of terms of each ([`Terms`]), kept as bits in the order of the table, so
//! that a read model of a million incidents holds them in 12 bytes each. A vocabulary changes here
//! only: a new term goes at the end of its table (stored slugs never change meaning), and
//! docs/rules.md lists the tables.

use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::validation::ValueError;

/// A table of terms: each a slug and what it means.
pub trait Vocabulary {
    /// The vocabulary's name, as the API's fields spell it.
    const NAME: &'static str;
    const TERMS: &'static [(&'static str, &'static str)];
}

/// Causes of death or injury.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Harm;

impl Vocabulary for Harm {
    const NAME: &'static str = "harm";
    const TERMS: &'static [(&'static str, &'static str)] = &[
        ("explosive-weapons", "heavy weapons and explosive munitions"),
        ("small-arms", "small arms and light weapons"),
        (
            "planted-explosives-uxo",
            "planted explosives and unexploded ordnance",
        ),
        (
            "cbrn",
            "chemical, biological, radiological or nuclear weapons",
        ),
        ("incendiary", "incendiary weapons"),
        ("electromagnetic", "electromagnetic weapons"),
        (
            "denial-of-essentials",
            "denial of access to, or destruction of, objects indispensable to survival",
        ),
        ("conflict-accident", "accidents related to the conflict"),
        ("vehicle", "run over by a vehicle"),
        ("other-means", "the use of objects and other means"),
        ("unknown", "a cause the source does not know"),
    ];
}

/// How harm was delivered.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Means;

impl Vocabulary for Means {
    const NAME: &'static str = "means";
    const TERMS: &'static [(&'static str, &'static str)] = &[
        ("airstrike", "an airstrike by a crewed aircraft"),
        ("drone-strike", "a strike by an uncrewed aircraft"),
        ("artillery", "artillery, rockets or mortars"),
        ("naval-bombardment", "fire from ships"),
        ("ground-action", "a ground operation or raid"),
        ("unknown", "means the source does not know"),
    ];
}

/// Kinds of civilian objects hit.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Infrastructure;

impl Vocabulary for Infrastructure {
    const NAME: &'static str = "infrastructure";
    const TERMS: &'static [(&'static str, &'static str)] = &[
        ("residential", "homes and apartment buildings"),
        ("education", "schools and universities"),
        ("healthcare", "hospitals, clinics and ambulances"),
        ("agriculture", "farmland, crops and livestock"),
        ("commerce", "markets and shops"),
        ("religious", "places of worship"),
        ("vehicle", "civilian vehicles"),
        (
            "displacement-camp",
            "camps for displaced people or refugees",
        ),
        ("water", "water supply and dams"),
        ("energy", "oil, gas and power facilities"),
        ("industry", "factories, warehouses and machinery"),
        ("military", "military objects among civilians"),
    ];
}

/// A set of terms of the vocabulary `V`: bit `i` stands for `V::TERMS[i]`.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Terms<V> {
    bits: u32,
    #[serde(skip)]
    vocabulary: PhantomData<V>,
}

impl<V: Vocabulary> Terms<V> {
    pub const NONE: Self = Self {
        bits: 0,
        vocabulary: PhantomData,
    };

    /// The term spelt `slug`; fails, naming every term, when the vocabulary has none such.
    pub fn parse_one(slug: &str) -> Result<Self, ValueError> {
        V::TERMS
            .iter()
            .position(|(term, _)| *term == slug)
            .map(|i| Self {
                bits: 1 << i,
                vocabulary: PhantomData,
            })
            .ok_or_else(|| {
                let known: Vec<&str> = V::TERMS.iter().map(|(term, _)| *term).collect();
                ValueError::new(format!(
                    "{slug:?} is not a {} term: one of {}",
                    V::NAME,
                    known.join(", ")
                ))
            })
    }

    pub fn with(self, other: Self) -> Self {
        Self {
            bits: self.bits | other.bits,
            vocabulary: PhantomData,
        }
    }

    pub fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// Whether a filter of these terms chooses `terms`: any term in common, or no filter at all.
    pub fn choose(self, terms: Self) -> bool {
        self.bits == 0 || self.bits & terms.bits != 0
    }

    /// The slugs, in the table's order.
    pub fn slugs(self) -> impl Iterator<Item = &'static str> {
        V::TERMS
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.bits & (1 << i) != 0)
            .map(|(_, (slug, _))| *slug)
    }
}

impl<V: Vocabulary> FromIterator<Terms<V>> for Terms<V> {
    fn from_iter<I: IntoIterator<Item = Terms<V>>>(terms: I) -> Self {
        terms.into_iter().fold(Self::NONE, Self::with)
    }
}

// By hand: derived impls would ask the marker `V` for them too.
impl<V> Clone for Terms<V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<V> Copy for Terms<V> {}
impl<V> Default for Terms<V> {
    fn default() -> Self {
        Self {
            bits: 0,
            vocabulary: PhantomData,
        }
    }
}
impl<V> PartialEq for Terms<V> {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits
    }
}
impl<V> Eq for Terms<V> {}
impl<V> std::hash::Hash for Terms<V> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bits.hash(state);
    }
}
impl<V: Vocabulary> fmt::Debug for Terms<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.slugs()).finish()
    }
}

/// What harmed and what was hit, in one incident.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HarmDone {
    pub harm: Terms<Harm>,
    pub means: Terms<Means>,
    pub infrastructure: Terms<Infrastructure>,
}

impl HarmDone {
    pub fn is_empty(&self) -> bool {
        self.harm.is_empty() && self.means.is_empty() && self.infrastructure.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_fits_its_bits_and_spells_each_term_once() {
        fn check<V: Vocabulary>() {
            assert!(V::TERMS.len() <= 32, "{}", V::NAME);
            for (i, (slug, _)) in V::TERMS.iter().enumerate() {
                assert!(crate::Slug::parse(slug).is_ok(), "{slug}");
                assert_eq!(
                    V::TERMS.iter().position(|(s, _)| s == slug),
                    Some(i),
                    "{slug} twice"
                );
            }
        }
        check::<Harm>();
        check::<Means>();
        check::<Infrastructure>();
    }

    #[test]
    fn unknown_terms_are_refused_naming_the_known_ones() {
        let refused = Terms::<Harm>::parse_one("lasers").unwrap_err();
        assert!(
            refused.description.contains("explosive-weapons"),
            "{refused:?}"
        );
        assert!(Terms::<Means>::parse_one("explosive-weapons").is_err());
    }

    #[test]
    fn a_filter_chooses_an_incident_with_any_of_its_terms() {
        let term = |s| Terms::<Means>::parse_one(s).unwrap();
        let incident: Terms<Means> = [term("airstrike"), term("artillery")].into_iter().collect();
        assert!(Terms::NONE.choose(incident), "no filter chooses all");
        assert!(term("artillery").choose(incident));
        assert!(
            term("drone-strike")
                .with(term("airstrike"))
                .choose(incident)
        );
        assert!(!term("drone-strike").choose(incident));
        assert!(!term("drone-strike").choose(Terms::NONE));
        assert_eq!(
            incident.slugs().collect::<Vec<_>>(),
            ["airstrike", "artillery"]
        );
    }
}
