//! Bulk imports: one batch of assessments in one transaction, written with a handful of set-wise
//! statements whatever the batch's size.
//!
//! 1. Check every source the batch names, in one query.
//! 2. Resolve every inline incident's references in one query, then, in memory and in input order,
//!    decide for each row: an existing incident, a new one (rows whose references meet share it), or
//!    a conflict. New incidents get ids reserved from the sequence, so no row depends on the order of
//!    a RETURNING clause.
//! 3. Lock the existing incidents written to, and check stored ids and duplicate targets, in one
//!    query each; insert new incidents and references in multi-row statements.
//! 4. Fetch the assessment in effect at the end of each (incident, source, day) the batch touches,
//!    in one query; a row repeating it (or an earlier row of the batch) is unchanged.
//! 5. Insert the new assessments in multi-row statements, and notify watchers once.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use civcas_domain::repository::{ImportRow, ImportedBatch, Resource, RowIncident};
use civcas_domain::{
    AssessmentDetails, IncidentId, IncidentReference, NewIncident, RepositoryError, SourceId,
};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::PgStore;
use crate::changes::Stored;
use crate::error::{StoreError, StoreResult};
use crate::models::{AssessmentRow, IncidentDetailsRow, NewAssessmentRow};
use crate::schema::{assessments, incident_references, incidents, sources};

/// Rows per multi-row INSERT: PostgreSQL takes at most 65,535 parameters a statement.
const INSERT_CHUNK: usize = 1_000;

#[derive(QueryableByName)]
struct KnownReference {
    #[diesel(sql_type = Text)]
    source_id: String,
    #[diesel(sql_type = Text)]
    external_ref: String,
    #[diesel(sql_type = BigInt)]
    incident_id: i64,
}

#[derive(QueryableByName)]
struct ReservedId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Where a row's incident is, once resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    Stored(i64),
    /// The n-th incident the batch creates.
    New(usize),
}

fn not_found(resource: Resource, id: impl ToString, field: &str) -> RepositoryError {
    RepositoryError::NotFound {
        resource,
        id: id.to_string(),
        field: field.to_owned(),
    }
}

impl PgStore {
    pub(crate) async fn import_batch(
        &self,
        rows: Vec<ImportRow>,
    ) -> Result<ImportedBatch, RepositoryError> {
        let rows = &rows;
        self.write(|| async move {
            let mut conn = self.conn().await?;
            conn.transaction(async |conn| {
                let batch = write_batch(conn, rows).await?;
                if batch.stored() {
                    diesel::sql_query(crate::changes::NOTIFY)
                        .execute(conn)
                        .await?;
                }
                Ok::<_, StoreError>(batch)
            })
            .await
        })
        .await
    }
}

async fn write_batch(
    conn: &mut AsyncPgConnection,
    rows: &[ImportRow],
) -> StoreResult<ImportedBatch> {
    let mut rejected: BTreeMap<usize, RepositoryError> = BTreeMap::new();

    // 1. Sources.
    let mut named: HashSet<&str> = HashSet::new();
    for row in rows {
        if let Some(assessment) = row.assessment() {
            named.insert(assessment.source_id.as_str());
        }
        if let RowIncident::Inline(incident) = row.incident() {
            named.extend(incident.references().iter().map(|r| r.source_id.as_str()));
        }
    }
    let known_sources: HashSet<String> = sources::table
        .filter(sources::id.eq_any(named.into_iter().collect::<Vec<_>>()))
        .select(sources::id)
        .load::<String>(conn)
        .await?
        .into_iter()
        .collect();
    for (i, row) in rows.iter().enumerate() {
        let assessing = row.assessment().map(|a| &a.source_id);
        if let Some(source) = assessing.filter(|s| !known_sources.contains(s.as_str())) {
            rejected.insert(
                i,
                not_found(Resource::Source, source, "assessment.source_id"),
            );
        } else if let RowIncident::Inline(incident) = row.incident()
            && let Some(unknown) = incident
                .references()
                .iter()
                .find(|r| !known_sources.contains(r.source_id.as_str()))
        {
            rejected.insert(
                i,
                not_found(Resource::Source, &unknown.source_id, "incident.references"),
            );
        }
    }

    // Duplicate targets must exist before anything is written for their rows.
    let targets_of_duplicates: Vec<i64> = rows
        .iter()
        .filter_map(|r| r.assessment()?.details.duplicate_of().map(|id| id.get()))
        .collect();
    let existing_targets: HashSet<i64> = incidents::table
        .filter(incidents::id.eq_any(&targets_of_duplicates))
        .select(incidents::id)
        .load::<i64>(conn)
        .await?
        .into_iter()
        .collect();
    for (i, row) in rows.iter().enumerate() {
        if let Some(target) = row.assessment().and_then(|a| a.details.duplicate_of())
            && !existing_targets.contains(&target.get())
        {
            rejected.entry(i).or_insert_with(|| {
                not_found(Resource::Incident, target, "assessment.duplicate_of")
            });
        }
    }

    // 2. References, resolved in input order.
    let wanted: Vec<&IncidentReference> = rows
        .iter()
        .enumerate()
        .filter(|(i, _)| !rejected.contains_key(i))
        .filter_map(|(_, row)| match row.incident() {
            RowIncident::Inline(incident) => Some(incident.references().iter()),
            RowIncident::Stored(_) => None,
        })
        .flatten()
        .collect();
    let stored_references: Vec<KnownReference> = diesel::sql_query(
        "SELECT r.source_id, r.external_ref, r.incident_id
         FROM incident_references r
         JOIN unnest($1::text[], $2::text[]) AS k (source_id, external_ref) USING (source_id, external_ref)",
    )
    .bind::<Array<Text>, _>(wanted.iter().map(|r| r.source_id.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(wanted.iter().map(|r| r.external_ref.as_str()).collect::<Vec<_>>())
    .load(conn)
    .await?;
    let mut owner: HashMap<(String, String), Target> = stored_references
        .into_iter()
        .map(|k| ((k.source_id, k.external_ref), Target::Stored(k.incident_id)))
        .collect();
    let mut new_incidents: Vec<&NewIncident> = Vec::new();
    // Each new reference with the row that brought it: a row refused later adds none.
    let mut new_references: Vec<(usize, Target, &IncidentReference)> = Vec::new();
    let mut targets: Vec<Option<Target>> = vec![None; rows.len()];
    for (i, row) in rows.iter().enumerate() {
        if rejected.contains_key(&i) {
            continue;
        }
        let incident = match row.incident() {
            RowIncident::Stored(id) => {
                targets[i] = Some(Target::Stored(id.get()));
                continue;
            }
            RowIncident::Inline(incident) => incident,
        };
        let key = |r: &IncidentReference| (r.source_id.to_string(), r.external_ref.clone());
        let found: HashSet<Target> = incident
            .references()
            .iter()
            .filter_map(|r| owner.get(&key(r)).copied())
            .collect();
        let target = match found.len() {
            0 => {
                new_incidents.push(incident);
                Target::New(new_incidents.len() - 1)
            }
            1 => found.into_iter().next().unwrap_or(Target::New(0)),
            _ => {
                rejected.insert(
                    i,
                    RepositoryError::FailedPrecondition {
                        reason: "REFERENCES_CONFLICT",
                        message: "the incident's references name different incidents".to_owned(),
                    },
                );
                continue;
            }
        };
        for reference in incident.references() {
            if owner.insert(key(reference), target).is_none() {
                new_references.push((i, target, reference));
            }
        }
        targets[i] = Some(target);
    }

    // 3. Incidents: reserve ids, check and lock the stored ones, insert the new ones.
    let reserved: Vec<ReservedId> = diesel::sql_query(
        "SELECT nextval(pg_get_serial_sequence('incidents', 'id')) AS id FROM generate_series(1, $1)",
    )
    .bind::<BigInt, _>(i64::try_from(new_incidents.len()).unwrap_or(i64::MAX))
    .load(conn)
    .await?;
    let id_of = |target: Target| match target {
        Target::Stored(id) => id,
        Target::New(n) => reserved[n].id,
    };
    let mut stored: Vec<i64> = targets
        .iter()
        .flatten()
        .filter_map(|t| match t {
            Target::Stored(id) => Some(*id),
            Target::New(_) => None,
        })
        .collect();
    stored.sort_unstable();
    stored.dedup();
    // Writers of one incident are serialised by its row lock, as single writes are.
    let present: HashSet<i64> = incidents::table
        .filter(incidents::id.eq_any(&stored))
        .select(incidents::id)
        .for_no_key_update()
        .load::<i64>(conn)
        .await?
        .into_iter()
        .collect();
    for (i, row) in rows.iter().enumerate() {
        let Some(target) = targets[i] else { continue };
        let incident = id_of(target);
        if let Target::Stored(id) = target
            && !present.contains(&id)
        {
            rejected.insert(
                i,
                not_found(Resource::Incident, id, "assessment.incident_id"),
            );
        } else if let Some(Err(e)) = row
            .assessment()
            .map(|a| a.details.check_target(IncidentId::from_stored(incident)))
        {
            rejected.insert(i, RepositoryError::Invalid(e.at("assessment")));
        }
        if rejected.contains_key(&i) {
            targets[i] = None;
        }
    }
    let new_rows: Vec<_> = new_incidents
        .iter()
        .zip(&reserved)
        .map(|(incident, id)| {
            (
                incidents::id.eq(id.id),
                IncidentDetailsRow::from(&incident.details),
            )
        })
        .collect();
    for chunk in new_rows.chunks(INSERT_CHUNK) {
        diesel::insert_into(incidents::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    let reference_rows: Vec<_> = new_references
        .iter()
        .filter(|(row, _, _)| !rejected.contains_key(row))
        .map(|(_, target, r)| {
            (
                incident_references::source_id.eq(r.source_id.as_str()),
                incident_references::external_ref.eq(r.external_ref.as_str()),
                incident_references::incident_id.eq(id_of(*target)),
            )
        })
        .collect();
    for chunk in reference_rows.chunks(INSERT_CHUNK) {
        // A reference another writer added meanwhile is a unique violation: the batch is retried.
        diesel::insert_into(incident_references::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }

    // A batch states each (incident, source, day) once: an earlier row for the same key is refused,
    // so that running the import again finds every written row repeated, never a sequence to
    // write again.
    let mut last_row_of: HashMap<(i64, &str, NaiveDate), usize> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        if let (Some(target), Some(assessment)) = (targets[i], row.assessment()) {
            let key = (
                id_of(target),
                assessment.source_id.as_str(),
                assessment.details.assessed_on(),
            );
            if let Some(earlier) = last_row_of.insert(key, i) {
                targets[earlier] = None;
                rejected.insert(
                    earlier,
                    RepositoryError::FailedPrecondition {
                        reason: "SUPERSEDED_IN_BATCH",
                        message: format!(
                            "row {} of this batch assesses the same incident, by the same source, on the same day",
                            rows[i].index
                        ),
                    },
                );
            }
        }
    }

    // 4. What is in effect at the end of each (incident, source, day) touched.
    let keys: Vec<(i64, &SourceId, NaiveDate)> = rows
        .iter()
        .zip(&targets)
        .filter_map(|(row, target)| {
            let assessment = row.assessment()?;
            target.map(|t| {
                (
                    id_of(t),
                    &assessment.source_id,
                    assessment.details.assessed_on(),
                )
            })
        })
        .collect();
    let in_effect: Vec<AssessmentRow> = diesel::sql_query(format!(
        "SELECT DISTINCT ON (a.incident_id, a.source_id, a.assessed_on) {}, false AS current
         FROM assessments a
         JOIN unnest($1::bigint[], $2::text[], $3::date[]) AS k (incident_id, source_id, assessed_on)
           USING (incident_id, source_id, assessed_on)
         ORDER BY a.incident_id, a.source_id, a.assessed_on, a.recorded_at DESC, a.id DESC",
        crate::assessments::COLUMNS
    ))
    .bind::<Array<BigInt>, _>(keys.iter().map(|k| k.0).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(keys.iter().map(|k| k.1.as_str()).collect::<Vec<_>>())
    .bind::<Array<Date>, _>(keys.iter().map(|k| k.2).collect::<Vec<_>>())
    .load(conn)
    .await?;
    let mut last: HashMap<(i64, String, NaiveDate), AssessmentDetails> = HashMap::new();
    for row in in_effect {
        let stored = civcas_domain::Assessment::try_from(row)?;
        last.insert(
            (
                stored.incident_id.get(),
                stored.source_id.to_string(),
                stored.details.assessed_on(),
            ),
            stored.details,
        );
    }

    // 5. The new assessments.
    let mut batch = ImportedBatch {
        incidents_created: u64::try_from(new_incidents.len()).unwrap_or(u64::MAX),
        ..ImportedBatch::default()
    };
    let mut inserts = Vec::new();
    for (row, target) in rows.iter().zip(&targets) {
        let Some(target) = target else { continue };
        let Some(assessment) = row.assessment() else {
            // An incident alone: resolved or created above, nothing more to write.
            batch.incident_rows += 1;
            continue;
        };
        let incident = id_of(*target);
        let details = &assessment.details;
        let key = (
            incident,
            assessment.source_id.to_string(),
            details.assessed_on(),
        );
        if last.get(&key).is_some_and(|held| details.repeats(held)) {
            batch.unchanged += 1;
            continue;
        }
        last.insert(key, details.clone());
        inserts.push(NewAssessmentRow::new(
            &assessment.source_id,
            IncidentId::from_stored(incident),
            details,
        ));
        batch.created += 1;
    }
    for chunk in inserts.chunks(INSERT_CHUNK) {
        diesel::insert_into(assessments::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    batch.rejected = rejected
        .into_iter()
        .map(|(i, error)| (rows[i].index, error))
        .collect();
    Ok(batch)
}
