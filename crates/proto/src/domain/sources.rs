//! Sources: registration, updates and stored sources.

use std::collections::BTreeSet;

use civcas_domain::text::{bounded_text, limits};
use civcas_domain::validation::each;
use civcas_domain::{
    AllValid, AtField, NewSource, Slug, Source, SourceChange, SourceDetails, SourceId, SourceKind,
    SourceUpdate, Violations,
};

use super::{both_ways, enum_field, given, optional_text, optional_url, required, slug, timestamp};
use crate::v1 as pb;

both_ways!(SourceKind, SourceKind {
    Military <=> Military,
    Monitor <=> Monitor,
    Intergovernmental <=> Intergovernmental,
    Government <=> Government,
    Media <=> Media,
    Academic <=> Academic,
    Other <=> Other,
});

fn display_name(field: &str, raw: &str) -> Result<String, Violations> {
    bounded_text(raw, 1, limits::SHORT_TEXT).at(field)
}

fn belligerent(field: &str, raw: Option<String>) -> Result<Option<Slug>, Violations> {
    given(raw).map(|b| slug(field, &b)).transpose()
}

impl TryFrom<pb::RegisterSourceRequest> for NewSource {
    type Error = Violations;

    fn try_from(request: pb::RegisterSourceRequest) -> Result<Self, Violations> {
        let pb::RegisterSourceRequest {
            source,
            request_id: _,
        } = request;
        let pb::Source {
            id,
            display_name: name,
            kind,
            belligerent: party,
            homepage,
            methodology,
            create_time: _,
            update_time: _,
        } = required("source", source)?;
        let (id, display_name, kind, belligerent, homepage, methodology) = (
            SourceId::parse(&id).at("source.id"),
            display_name("source.display_name", &name),
            enum_field::<pb::SourceKind, _>("source.kind", kind),
            belligerent("source.belligerent", party),
            optional_url("source.homepage", homepage),
            optional_text("source.methodology", methodology, limits::LONG_TEXT),
        )
            .all_valid()?;
        Ok(Self {
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
}

/// Each path of the update mask, with its value from `source`.
impl TryFrom<pb::UpdateSourceRequest> for SourceUpdate {
    type Error = Violations;

    fn try_from(request: pb::UpdateSourceRequest) -> Result<Self, Violations> {
        let pb::UpdateSourceRequest {
            source,
            update_mask,
            request_id: _,
        } = request;
        let pb::Source {
            id,
            display_name: name,
            kind,
            belligerent: party,
            homepage,
            methodology,
            create_time: _,
            update_time: _,
        } = source.unwrap_or_default();
        let paths = update_mask.map(|mask| mask.paths).unwrap_or_default();
        let changes = if paths.is_empty() {
            Err(Violations::one(
                "update_mask",
                "must name at least one field: display_name, kind, belligerent, homepage or methodology",
            ))
        } else {
            let unique: BTreeSet<String> = paths.into_iter().collect();
            each("update_mask.paths", unique, |path, _| {
                let field = format!("source.{path}");
                Ok(match path.as_str() {
                    "display_name" => SourceChange::DisplayName(display_name(&field, &name)?),
                    "kind" => SourceChange::Kind(enum_field::<pb::SourceKind, _>(&field, kind)?),
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
        };
        let (id, changes) = (SourceId::parse(&id).at("source.id"), changes).all_valid()?;
        Ok(Self { id, changes })
    }
}

/// A source's attributes; the server adds its timestamps.
fn source(id: &SourceId, details: &SourceDetails) -> pb::Source {
    pb::Source {
        id: id.to_string(),
        display_name: details.display_name.clone(),
        kind: pb::SourceKind::from(details.kind).into(),
        belligerent: details.belligerent.as_ref().map(ToString::to_string),
        homepage: details.homepage.as_ref().map(|h| h.as_str().to_owned()),
        methodology: details.methodology.clone(),
        create_time: None,
        update_time: None,
    }
}

impl From<&NewSource> for pb::Source {
    fn from(new: &NewSource) -> Self {
        source(&new.id, &new.details)
    }
}

impl From<Source> for pb::Source {
    fn from(stored: Source) -> Self {
        Self {
            create_time: Some(timestamp(stored.created_at)),
            update_time: Some(timestamp(stored.updated_at)),
            ..source(&stored.id, &stored.details)
        }
    }
}
