//! Incidents, their references and explicit links.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use civcas_domain::repository::{IdempotencyKey, IncidentFilter, IncidentRepository, Resource};
use civcas_domain::{
    Incident, IncidentId, IncidentLink, IncidentPair, IncidentReference, NewIncident, Page,
    PageRequest, RepositoryError, RepositoryResult, SourceId, WriteOutcome, Written,
};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::error::{StoreResult, classify, corrupt};
use crate::models::{IncidentDetailsRow, IncidentRow};
use crate::prepared::Prepared;
use crate::schema::{incident_links, incident_references, incidents};
use crate::sources::KnownSources;
use crate::{PgStore, paging};

/// What recording an incident may do to a stored one that its references name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnExisting {
    /// RecordIncident: the stored incident takes the given attributes.
    Update,
    /// An incident given inline with an assessment: the stored one is kept as it is.
    Keep,
}

/// Resolves an incident by its references: creates it when none is known, or finds the one they name,
/// adding any new references to it as aliases. Returns its id and what was done.
pub(crate) async fn upsert_incident(
    conn: &mut AsyncPgConnection,
    sources: &KnownSources,
    incident: &NewIncident,
    on_existing: OnExisting,
) -> StoreResult<(IncidentId, WriteOutcome)> {
    for reference in incident.references() {
        sources
            .require(conn, &reference.source_id, "incident.references.source_id")
            .await?;
    }
    let known = named_incidents(conn, incident.references()).await?;
    let owners: BTreeSet<i64> = known.values().copied().collect();
    let details = IncidentDetailsRow::from(&incident.details);
    let id = match owners.len() {
        0 => {
            let id: i64 = diesel::insert_into(incidents::table)
                .values(&details)
                .returning(incidents::id)
                .get_result(conn)
                .await?;
            add_references(conn, id, incident.references()).await?;
            return Ok((IncidentId::from_stored(id), WriteOutcome::Created));
        }
        1 => owners.into_iter().next().unwrap_or_default(),
        _ => {
            let ids: Vec<String> = owners.iter().map(i64::to_string).collect();
            return Err(RepositoryError::FailedPrecondition {
                reason: "REFERENCES_CONFLICT",
                message: format!(
                    "the incident's references name {} different incidents ({}); link them instead",
                    ids.len(),
                    ids.join(", ")
                ),
            }
            .into());
        }
    };

    // Serialise writers of one incident, so that "unchanged" is judged against settled state.
    let stored: IncidentRow = incidents::table
        .find(id)
        .select(IncidentRow::as_select())
        .for_no_key_update()
        .first(conn)
        .await?;
    let new_references: BTreeSet<IncidentReference> = incident
        .references()
        .iter()
        .filter(|r| !known.contains_key(r))
        .cloned()
        .collect();
    add_references(conn, id, &new_references).await?;
    let changed = on_existing == OnExisting::Update && stored.details()? != incident.details;
    if changed {
        diesel::update(incidents::table.find(id))
            .set((&details, incidents::updated_at.eq(diesel::dsl::now)))
            .execute(conn)
            .await?;
    }
    let outcome = if changed || !new_references.is_empty() {
        WriteOutcome::Updated
    } else {
        WriteOutcome::Unchanged
    };
    Ok((IncidentId::from_stored(id), outcome))
}

/// `references` as the two arrays (sources, external refs) that the statements below take: one text
/// for any number of references, prepared once per connection.
fn reference_arrays<'a>(
    references: impl IntoIterator<Item = &'a IncidentReference>,
) -> (Vec<&'a str>, Vec<&'a str>) {
    references
        .into_iter()
        .map(|r| (r.source_id.as_str(), r.external_ref.as_str()))
        .unzip()
}

/// A stored reference, and the incident it names.
#[derive(QueryableByName)]
pub(crate) struct KnownReference {
    #[diesel(sql_type = Text)]
    pub(crate) source_id: String,
    #[diesel(sql_type = Text)]
    pub(crate) external_ref: String,
    #[diesel(sql_type = BigInt)]
    pub(crate) incident_id: i64,
}

/// The stored ones among `references`.
pub(crate) async fn stored_references<'a>(
    conn: &mut AsyncPgConnection,
    references: impl IntoIterator<Item = &'a IncidentReference>,
) -> StoreResult<Vec<KnownReference>> {
    let (sources, externals) = reference_arrays(references);
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Prepared(
        diesel::sql_query(
            "SELECT r.source_id, r.external_ref, r.incident_id
             FROM incident_references r
             JOIN unnest($1::text[], $2::text[]) AS k (source_id, external_ref) USING (source_id, external_ref)",
        )
        .bind::<Array<Text>, _>(sources)
        .bind::<Array<Text>, _>(externals),
    )
    .load(conn)
    .await?)
}

/// The stored references among `references`, with the incident each names.
async fn named_incidents(
    conn: &mut AsyncPgConnection,
    references: &BTreeSet<IncidentReference>,
) -> StoreResult<BTreeMap<IncidentReference, i64>> {
    stored_references(conn, references)
        .await?
        .into_iter()
        .map(|row| {
            Ok((
                reference(&row.source_id, &row.external_ref)?,
                row.incident_id,
            ))
        })
        .collect()
}

fn reference(source: &str, external: &str) -> Result<IncidentReference, RepositoryError> {
    let source = SourceId::parse(source).map_err(|e| corrupt("reference", e))?;
    IncidentReference::new(source, external).map_err(|e| corrupt("reference", e))
}

async fn add_references(
    conn: &mut AsyncPgConnection,
    incident_id: i64,
    references: &BTreeSet<IncidentReference>,
) -> StoreResult<()> {
    if references.is_empty() {
        return Ok(());
    }
    let (sources, externals) = reference_arrays(references);
    // A reference another writer added meanwhile is a unique violation: the write is retried.
    Prepared(
        diesel::sql_query(
            "INSERT INTO incident_references (source_id, external_ref, incident_id)
             SELECT source_id, external_ref, $3 FROM unnest($1::text[], $2::text[]) AS r (source_id, external_ref)",
        )
        .bind::<Array<Text>, _>(sources)
        .bind::<Array<Text>, _>(externals)
        .bind::<BigInt, _>(incident_id),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Fails with NOT_FOUND on `field` unless the incident exists; locks it against concurrent writers of
/// the same incident when `lock` is set.
pub(crate) async fn require_incident(
    conn: &mut AsyncPgConnection,
    id: IncidentId,
    field: &str,
    lock: bool,
) -> StoreResult<()> {
    let query = incidents::table.find(id.get()).select(incidents::id);
    let found: Option<i64> = if lock {
        query.for_no_key_update().first(conn).await.optional()?
    } else {
        query.first(conn).await.optional()?
    };
    match found {
        Some(_) => Ok(()),
        None => Err(RepositoryError::NotFound {
            resource: Resource::Incident,
            id: id.to_string(),
            field: field.to_owned(),
        }
        .into()),
    }
}

/// Loads whole incidents (references and links included), in the order of `rows`.
async fn assemble(
    conn: &mut AsyncPgConnection,
    rows: Vec<IncidentRow>,
) -> StoreResult<Vec<Incident>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let references: Vec<(i64, String, String)> = incident_references::table
        .filter(incident_references::incident_id.eq_any(&ids))
        .select((
            incident_references::incident_id,
            incident_references::source_id,
            incident_references::external_ref,
        ))
        .order((
            incident_references::source_id,
            incident_references::external_ref,
        ))
        .load(conn)
        .await?;
    let links: Vec<(i64, i64)> = incident_links::table
        .filter(
            incident_links::low_incident_id
                .eq_any(&ids)
                .or(incident_links::high_incident_id.eq_any(&ids)),
        )
        .select((
            incident_links::low_incident_id,
            incident_links::high_incident_id,
        ))
        .order((
            incident_links::low_incident_id,
            incident_links::high_incident_id,
        ))
        .load(conn)
        .await?;

    let mut references_of: BTreeMap<i64, Vec<IncidentReference>> = BTreeMap::new();
    for (id, source, external) in references {
        references_of
            .entry(id)
            .or_default()
            .push(reference(&source, &external)?);
    }
    let mut linked_to: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for (low, high) in links {
        linked_to.entry(low).or_default().insert(high);
        linked_to.entry(high).or_default().insert(low);
    }
    rows.into_iter()
        .map(|row| {
            Ok(Incident {
                id: IncidentId::from_stored(row.id),
                references: references_of.remove(&row.id).unwrap_or_default(),
                details: row.details()?,
                linked: linked_to
                    .remove(&row.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(IncidentId::from_stored)
                    .collect(),
                created_at: row.created_at,
                updated_at: row.updated_at,
            })
        })
        .collect()
}

pub(crate) async fn load_incident(
    conn: &mut AsyncPgConnection,
    id: IncidentId,
) -> StoreResult<Option<Incident>> {
    let row = incidents::table
        .find(id.get())
        .select(IncidentRow::as_select())
        .first(conn)
        .await
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    Ok(assemble(conn, vec![row]).await?.pop())
}

impl IncidentRepository for PgStore {
    async fn record_incident(
        &self,
        incident: NewIncident,
        key: Option<IdempotencyKey>,
    ) -> RepositoryResult<Written<Incident>> {
        let (incident, key) = (&incident, key.as_ref());
        idempotent_write!(self, key, |conn| {
            let (id, outcome) =
                upsert_incident(conn, &self.known_sources, incident, OnExisting::Update).await?;
            let value = load_incident(conn, id)
                .await?
                .ok_or_else(|| RepositoryError::Internal(format!("incident {id} vanished")))?;
            Written { value, outcome }
        })
    }

    async fn get_incident(&self, id: IncidentId) -> RepositoryResult<Incident> {
        let mut conn = self.conn().await?;
        load_incident(&mut conn, id)
            .await?
            .ok_or_else(|| RepositoryError::NotFound {
                resource: Resource::Incident,
                id: id.to_string(),
                field: "incident_id".to_owned(),
            })
    }

    async fn list_incidents(
        &self,
        filter: IncidentFilter,
        page: PageRequest,
    ) -> RepositoryResult<Page<Incident>> {
        let after: Option<i64> = paging::after(&page)?;
        let mut conn = self.conn().await?;
        let mut query = incidents::table
            .select(IncidentRow::as_select())
            .order(incidents::id)
            .limit(paging::fetch_limit(&page))
            .into_boxed();
        if filter.occurred_from.is_some() || filter.occurred_to.is_some() {
            // Spelt as a range overlap so that the GiST index on the incident's span serves it; a
            // NULL bound is an open end.
            query = query.filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "daterange(incidents.occurred_from, incidents.occurred_to, '[]') && daterange(",
                )
                .bind::<diesel::sql_types::Nullable<diesel::sql_types::Date>, _>(
                    filter.occurred_from,
                )
                .sql(", ")
                .bind::<diesel::sql_types::Nullable<diesel::sql_types::Date>, _>(filter.occurred_to)
                .sql(", '[]')"),
            );
        }
        if !filter.countries.is_empty() {
            let countries: Vec<&str> = filter.countries.iter().map(|c| c.as_str()).collect();
            query = query.filter(incidents::country.eq_any(countries));
        }
        if let Some(source) = &filter.source_id {
            query = query.filter(
                incidents::id.eq_any(
                    incident_references::table
                        .filter(incident_references::source_id.eq(source.as_str()))
                        .select(incident_references::incident_id),
                ),
            );
        }
        if let Some(after) = after {
            query = query.filter(incidents::id.gt(after));
        }
        let rows = query.load(&mut conn).await.map_err(classify)?;
        let incidents = assemble(&mut conn, rows).await?;
        Ok(paging::cut(incidents, &page, |i| i.id.get()))
    }

    async fn link_incidents(
        &self,
        pair: IncidentPair,
        key: Option<IdempotencyKey>,
    ) -> RepositoryResult<Written<IncidentLink>> {
        let key = key.as_ref();
        idempotent_write!(self, key, |conn| {
            require_pair(conn, pair).await?;
            let inserted: Option<DateTime<Utc>> = diesel::insert_into(incident_links::table)
                .values((
                    incident_links::low_incident_id.eq(pair.low().get()),
                    incident_links::high_incident_id.eq(pair.high().get()),
                ))
                .on_conflict_do_nothing()
                .returning(incident_links::created_at)
                .get_result(conn)
                .await
                .optional()?;
            let (created_at, outcome) = match inserted {
                Some(created_at) => (created_at, WriteOutcome::Created),
                None => (
                    incident_links::table
                        .find((pair.low().get(), pair.high().get()))
                        .select(incident_links::created_at)
                        .first(conn)
                        .await?,
                    WriteOutcome::Unchanged,
                ),
            };
            Written {
                value: IncidentLink { pair, created_at },
                outcome,
            }
        })
    }

    async fn unlink_incidents(
        &self,
        pair: IncidentPair,
        key: Option<IdempotencyKey>,
    ) -> RepositoryResult<bool> {
        let key = key.as_ref();
        idempotent_write!(self, key, |conn| {
            require_pair(conn, pair).await?;
            diesel::delete(incident_links::table.find((pair.low().get(), pair.high().get())))
                .execute(conn)
                .await?
                > 0
        })
    }
}

async fn require_pair(conn: &mut AsyncPgConnection, pair: IncidentPair) -> StoreResult<()> {
    let [first, second] = pair.as_given();
    require_incident(conn, first, "incident_id", false).await?;
    require_incident(conn, second, "linked_incident_id", false).await
}
