//! Airwars' spellings and the civcas values they map to: belligerents, governorates, location
//! precisions, gradings, and the terms of harm, means and infrastructure. Each is one table or one
//! function, and docs/real-data.md describes them.

use std::collections::BTreeMap;

use civcas_domain::harm::{Terms, Vocabulary};
use civcas_domain::{Precision, Slug, Verdict};

/// Airwars' belligerent spellings and their civcas slugs: the one table the mapping uses.
/// `russia` and `russian_forces` are one belligerent, and so are `iraq` and `iraq_government_forces`.
/// The US and the UK stay parties of their own: Airwars names them when the Coalition does not.
pub const BELLIGERENTS: [(&str, &str); 20] = [
    ("coalition", "coalition"),
    ("free_syrian_army", "free-syrian-army"),
    ("iranian_forces", "iran"),
    ("iraq", "iraq"),
    ("iraq_government_forces", "iraq"),
    ("iraq_irregular_forces", "iraq-irregular-forces"),
    ("isis", "isis"),
    ("israeli_forces", "israel"),
    ("jordan", "jordan"),
    ("kurdish_forces", "kurdish-forces"),
    ("rebel_forces", "rebels"),
    ("russia", "russia"),
    ("russian_forces", "russia"),
    ("syrian_democratic_forces", "sdf"),
    ("syrian_regime", "syrian-regime"),
    ("turkey", "turkey"),
    ("united_kingdom", "united-kingdom"),
    ("united_states", "united-states"),
    ("unknown", "unknown"),
    ("ypg_forces", "ypg"),
];

/// A belligerent as Airwars spells it, as a civcas slug; `None` for a spelling not in
/// [`BELLIGERENTS`], which the summary counts.
pub fn belligerent_slug(raw: &str) -> Option<Slug> {
    let raw = raw.trim().to_lowercase();
    BELLIGERENTS
        .iter()
        .find(|(spelling, _)| *spelling == raw)
        .and_then(|(_, slug)| Slug::parse(slug).ok())
}

/// Syria's governorates, by the canonical name civcas records as `admin1`.
const GOVERNORATES: [&str; 14] = [
    "Aleppo",
    "Damascus",
    "Daraa",
    "Deir ez-Zor",
    "Hama",
    "Hasakah",
    "Homs",
    "Idlib",
    "Latakia",
    "Quneitra",
    "Raqqa",
    "Rif Dimashq",
    "Suwayda",
    "Tartus",
];

/// A governorate's canonical name from any of Airwars' spellings ("Ar Raqqah", "Al-Hasakah",
/// "Deir Ezzor", "Dara'a"...): compared without case, leading article or punctuation, with a few
/// transliteration variants folded.
pub fn governorate(raw: &str) -> Option<&'static str> {
    let lower = raw.trim().to_lowercase();
    // An article only when a space or hyphen follows it: "Al-Hasakah", not "Aleppo".
    let without_article = ["al", "ar", "as", "ad"]
        .iter()
        .find_map(|article| {
            let rest = lower.strip_prefix(article)?;
            rest.strip_prefix(['-', ' '])
        })
        .unwrap_or(&lower);
    let letters: String = without_article
        .chars()
        .filter(char::is_ascii_alphabetic)
        .collect();
    let key = letters.as_str();
    let key = match key {
        "raqqah" => "raqqa",
        "hassakah" | "hasaka" | "hassaka" | "hasakeh" => "hasakah",
        "deirezzour" => "deirezzor",
        "lattakia" | "ladhiqiyah" => "latakia",
        "tartous" => "tartus",
        "sweida" | "suwaida" => "suwayda",
        "damascuscountryside" | "reefdimashq" => "rifdimashq",
        other => other,
    };
    GOVERNORATES.iter().copied().find(|name| {
        name.to_lowercase()
            .chars()
            .filter(char::is_ascii_alphabetic)
            .collect::<String>()
            == key
    })
}

/// `geolocation_accuracy` as a precision; `None` for a value the design does not list.
pub(super) fn precision(raw: &str) -> Option<Precision> {
    Some(match raw {
        "" => Precision::Country,
        r if r.starts_with("exact_location") => Precision::Exact,
        "within_1m" | "within_100m" => Precision::Exact,
        "street" | "nearby_landmark" | "neighbourhood_area" => Precision::Neighbourhood,
        "village" | "town" | "city" => Precision::Locality,
        "district" | "subdistrict" => Precision::District,
        "province_governorate" => Precision::Admin1,
        _ => return None,
    })
}

pub(super) fn grading_verdict(grading: &str) -> Option<Verdict> {
    // A combined grading ("Contested, Discounted") takes its first part.
    Some(match grading.split(',').next()?.trim() {
        "Confirmed" => Verdict::Confirmed,
        "Fair" => Verdict::Fair,
        "Weak" => Verdict::Weak,
        "Contested" => Verdict::Contested,
        "Discounted" => Verdict::Discounted,
        _ => return None,
    })
}

/// Airwars' spellings of the causes of death or injury (`cause_of_death_injury`), and their terms.
pub(super) const HARM: [(&str, &str); 11] = [
    ("Heavy weapons and explosive munitions", "explosive-weapons"),
    ("Small arms and light weapons", "small-arms"),
    (
        "Planted explosives and unexploded ordnance (UXO)",
        "planted-explosives-uxo",
    ),
    ("Chemical, Biological, Radiological, Nuclear (CBRN)", "cbrn"),
    ("Incendiary", "incendiary"),
    ("Electromagnetic weapons", "electromagnetic"),
    (
        "Denial of access to/destruction of objects indispensable to survival",
        "denial-of-essentials",
    ),
    ("Accidents related to conflict", "conflict-accident"),
    ("Run over by vehicle", "vehicle"),
    ("Use of objects and other means", "other-means"),
    ("Unknown", "unknown"),
];

/// Airwars' `strike_type` spellings and their means. "Airstrike and/or Artillery" is either, so it
/// gives both: a filter on either finds it.
pub(super) const MEANS: [(&str, &str); 9] = [
    ("Airstrike", "airstrike"),
    ("Airstrike and/or Artillery", "airstrike"),
    ("Airstrike and/or Artillery", "artillery"),
    ("Artillery", "artillery"),
    ("Drone Strike", "drone-strike"),
    ("Counter-Terrorism Action (Ground)", "ground-action"),
    ("Ground operation", "ground-action"),
    ("Naval bombardment", "naval-bombardment"),
    ("Unknown", "unknown"),
];

/// Airwars' `infrastructure` spellings and their terms.
pub(super) const INFRASTRUCTURE: [(&str, &str); 28] = [
    ("Residential", "residential"),
    ("House", "residential"),
    ("Apartment Building", "residential"),
    ("Education", "education"),
    ("Secondary School", "education"),
    ("Healthcare", "healthcare"),
    ("Hospital", "healthcare"),
    ("Clinic", "healthcare"),
    ("Ambulance", "healthcare"),
    ("Agriculture", "agriculture"),
    ("Agricultural Land", "agriculture"),
    ("Livestock", "agriculture"),
    ("Commerce", "commerce"),
    ("Market", "commerce"),
    ("Shop", "commerce"),
    ("Religious", "religious"),
    ("Mosque", "religious"),
    ("Vehicle", "vehicle"),
    ("Car", "vehicle"),
    ("Motorcycle", "vehicle"),
    ("IDP or Refugee Camp", "displacement-camp"),
    ("Water", "water"),
    ("Dam", "water"),
    ("Oil Facility", "energy"),
    ("Factory", "industry"),
    ("Warehouse", "industry"),
    ("Equipment / Machinery", "industry"),
    ("Military", "military"),
];

/// The terms of a list of Airwars spellings joined by commas. A spelling may hold a comma itself
/// ("Chemical, Biological, …"), so known spellings are matched first, longest first; whatever else
/// lies between commas is counted as unmapped.
pub(super) fn terms<V: Vocabulary>(
    raw: &str,
    spellings: &[(&str, &str)],
    unmapped: &mut BTreeMap<String, u64>,
) -> Terms<V> {
    let mut found = Terms::NONE;
    let mut rest = raw.trim();
    while !rest.is_empty() {
        let known = spellings
            .iter()
            .filter(|(spelling, _)| {
                rest.strip_prefix(spelling)
                    .is_some_and(|after| after.is_empty() || after.starts_with(','))
            })
            .max_by_key(|(spelling, _)| spelling.len());
        let taken = match known {
            Some((spelling, _)) => {
                for (_, term) in spellings.iter().filter(|(s, _)| s == spelling) {
                    found = found.with(
                        Terms::parse_one(term)
                            .unwrap_or_else(|_| unreachable!("{term} is a {} term", V::NAME)),
                    );
                }
                spelling.len()
            }
            None => {
                let item = rest.split(',').next().unwrap_or(rest);
                *unmapped
                    .entry(format!("{}: {}", V::NAME, item.trim()))
                    .or_default() += 1;
                item.len()
            }
        };
        rest = rest[taken..].trim_start_matches([',', ' ']);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_maps_to_a_term_of_its_vocabulary_and_lists_split_right() {
        use civcas_domain::harm::{Harm, Infrastructure, Means};
        fn check<V: Vocabulary>(spellings: &[(&str, &str)]) {
            for (spelling, term) in spellings {
                assert!(Terms::<V>::parse_one(term).is_ok(), "{spelling} → {term}");
            }
        }
        check::<Harm>(&HARM);
        check::<Means>(&MEANS);
        check::<Infrastructure>(&INFRASTRUCTURE);
        let mut unmapped = BTreeMap::new();
        let harm: Terms<Harm> = terms(
            "Chemical, Biological, Radiological, Nuclear (CBRN), Heavy weapons and explosive munitions, Lasers",
            &HARM,
            &mut unmapped,
        );
        assert_eq!(
            harm.slugs().collect::<Vec<_>>(),
            ["explosive-weapons", "cbrn"]
        );
        assert_eq!(unmapped.get("harm: Lasers"), Some(&1));
        let means: Terms<Means> = terms("Airstrike and/or Artillery", &MEANS, &mut unmapped);
        assert_eq!(
            means.slugs().collect::<Vec<_>>(),
            ["airstrike", "artillery"]
        );
    }

    #[test]
    fn belligerents_are_normalised_to_one_slug_each() {
        let slug = |raw| belligerent_slug(raw).map(|s| s.to_string());
        assert_eq!(slug("russian_forces"), slug("russia"));
        assert_eq!(slug("syrian_regime").as_deref(), Some("syrian-regime"));
        assert_eq!(slug("coalition").as_deref(), Some("coalition"));
        assert_eq!(slug("turkey").as_deref(), Some("turkey"));
        assert_eq!(slug("syrian_democratic_forces").as_deref(), Some("sdf"));
        assert_eq!(slug("martians"), None);
    }

    #[test]
    fn governorate_spellings_fold_to_one_name() {
        for raw in ["Ar Raqqah", "Raqqa", "Raqqah", "raqqa"] {
            assert_eq!(governorate(raw), Some("Raqqa"), "{raw}");
        }
        for raw in ["Deir Ezzor", "Deir ez-Zor"] {
            assert_eq!(governorate(raw), Some("Deir ez-Zor"), "{raw}");
        }
        for raw in [
            "Al-Hasakah",
            "Hassakah",
            "Al Hassakah",
            "Hasaka",
            "Al Hasaka",
        ] {
            assert_eq!(governorate(raw), Some("Hasakah"), "{raw}");
        }
        assert_eq!(governorate("Dara'a"), Some("Daraa"));
        assert_eq!(governorate("Lattakia"), Some("Latakia"));
        assert_eq!(governorate("Aleppo"), Some("Aleppo"));
        assert_eq!(governorate("Ma'arat al-Numan"), None);
    }

    #[test]
    fn gradings_take_the_first_of_a_combination() {
        assert_eq!(
            grading_verdict("Contested, Discounted"),
            Some(Verdict::Contested)
        );
        assert_eq!(grading_verdict("Fair"), Some(Verdict::Fair));
        assert_eq!(grading_verdict("Excellent"), None);
    }

    #[test]
    fn precisions_follow_the_design_table() {
        assert_eq!(precision("exact_location_other"), Some(Precision::Exact));
        assert_eq!(precision("within_100m"), Some(Precision::Exact));
        assert_eq!(precision("nearby_landmark"), Some(Precision::Neighbourhood));
        assert_eq!(precision("city"), Some(Precision::Locality));
        assert_eq!(precision("subdistrict"), Some(Precision::District));
        assert_eq!(precision("province_governorate"), Some(Precision::Admin1));
        assert_eq!(precision(""), Some(Precision::Country));
        assert_eq!(precision("somewhere"), None);
    }
}
