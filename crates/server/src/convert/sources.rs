//! Sources: registration and updates.

use super::*;

pub(super) fn source_kind(kind: pb::SourceKind) -> Option<SourceKind> {
    Some(match kind {
        pb::SourceKind::Unspecified => return None,
        pb::SourceKind::Military => SourceKind::Military,
        pb::SourceKind::Monitor => SourceKind::Monitor,
        pb::SourceKind::Intergovernmental => SourceKind::Intergovernmental,
        pb::SourceKind::Government => SourceKind::Government,
        pb::SourceKind::Media => SourceKind::Media,
        pb::SourceKind::Academic => SourceKind::Academic,
        pb::SourceKind::Other => SourceKind::Other,
    })
}

pub(super) fn display_name(field: &str, raw: &str) -> Result<String, Violations> {
    bounded_text(raw, 1, limits::SHORT_TEXT).at(field)
}

pub(super) fn belligerent(field: &str, raw: Option<String>) -> Result<Option<Slug>, Violations> {
    given(raw).map(|b| slug(field, &b)).transpose()
}

pub fn new_source(raw: Option<pb::Source>) -> Result<NewSource, Violations> {
    let Some(pb::Source {
        id,
        display_name: name,
        kind,
        belligerent: party,
        homepage,
        methodology,
        create_time: _,
        update_time: _,
    }) = raw
    else {
        return Err(Violations::one("source", "is required"));
    };
    let (id, display_name, kind, belligerent, homepage, methodology) = (
        source_id("source.id", &id),
        display_name("source.display_name", &name),
        enum_value("source.kind", kind, source_kind, "SourceKind"),
        belligerent("source.belligerent", party),
        optional_url("source.homepage", homepage),
        optional_text("source.methodology", methodology, limits::LONG_TEXT),
    )
        .all_valid()?;
    Ok(NewSource {
        id,
        details: SourceDetails {
            display_name,
            kind,
            belligerent,
            homepage,
            methodology,
        },
    })
}

/// The changes an UpdateSource asks for: each masked path, with its value from `source`.
pub fn source_changes(
    source: pb::Source,
    paths: Vec<String>,
) -> Result<Vec<SourceChange>, Violations> {
    let pb::Source {
        id: _,
        display_name: name,
        kind,
        belligerent: party,
        homepage,
        methodology,
        create_time: _,
        update_time: _,
    } = source;
    if paths.is_empty() {
        return Err(Violations::one(
            "update_mask",
            "must name at least one field: display_name, kind, belligerent, homepage or methodology",
        ));
    }
    let unique: BTreeSet<String> = paths.into_iter().collect();
    each("update_mask.paths", unique, |path, _| {
        let field = format!("source.{path}");
        Ok(match path.as_str() {
            "display_name" => SourceChange::DisplayName(display_name(&field, &name)?),
            "kind" => SourceChange::Kind(enum_value(&field, kind, source_kind, "SourceKind")?),
            "belligerent" => SourceChange::Belligerent(belligerent(&field, party.clone())?),
            "homepage" => SourceChange::Homepage(optional_url(&field, homepage.clone())?),
            "methodology" => SourceChange::Methodology(optional_text(
                &field,
                methodology.clone(),
                limits::LONG_TEXT,
            )?),
            other => {
                return Err(Violations::one(
                    "update_mask",
                    format!(
                        "{other:?} cannot be updated: use display_name, kind, belligerent, homepage or methodology"
                    ),
                ));
            }
        })
    })
}
