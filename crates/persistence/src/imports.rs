//! Batches of assessments: one batch in one transaction, written with a handful of set-wise
//! statements whatever its size. ImportAssessments writes its messages this way, and so do
//! RecordAssessment calls that arrive together (see [`crate::coalesced`]).
//!
//! 1. Check every source the batch names, in one query.
//! 2. Resolve every inline incident's references in one query, then, in memory and in input order,
//!    decide for each row: an existing incident, a new one (rows whose references meet share it), or
//!    a conflict.
//! 3. Lock the existing incidents written to, and check stored ids and duplicate targets, in one
//!    query each.
//! 4. Fetch the assessment in effect at the end of each (incident, source, day) the batch touches,
//!    in one query (and, for coalesced records, whether a later day's supersedes it); a row
//!    repeating it is unchanged.
//! 5. Insert the new incidents, references and assessments in one statement (`sql/insert_batch.sql`),
//!    each assessment returned with its key; the statement notifies watchers when it stores anything.
//!
//! Round trips, not rows, are what a small batch costs (findings 13 and 14 in docs/BENCHMARKS.md),
//! so each lookup is skipped when it has nothing to look up, and every statement is prepared once
//! per connection ([`Prepared`]). RecordAssessment calls that create their incidents skip steps 1
//! to 4 altogether: [`insert_fresh`] sends step 5's statement alone, without a transaction.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use civcas_domain::repository::{ImportRow, ImportedBatch, Resource, RowIncident};
use civcas_domain::{
    Assessment, AssessmentId, IncidentId, IncidentReference, NewAssessment, NewIncident,
    RecordedAssessment, RepositoryError, SourceId,
};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Double, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::PgStore;
use crate::error::{StoreError, StoreResult};
use crate::incidents::stored_references;
use crate::models::{AssessmentRow, AssessmentValues, IncidentDetailsRow};
use crate::prepared::Prepared;
use crate::schema::incidents;
use crate::sources::KnownSources;

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

/// An assessment's (incident, source, day): what is in effect at the end of a day is per key.
type DayKey = (i64, String, NaiveDate);

fn day_key(incident: i64, source: &SourceId, day: NaiveDate) -> DayKey {
    (incident, source.to_string(), day)
}

/// Who a batch is for: what a second row about the same incident and source does, and whether each
/// row's answer is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchKind {
    /// ImportAssessments: a batch states each (incident, source, day) once, and is answered by counts.
    Import,
    /// RecordAssessment calls written together (see [`crate::coalesced`]), each answered as if alone.
    Records,
}

/// What became of one row of a batch.
#[derive(Debug)]
pub(crate) enum RowOutcome {
    /// Stored (`created`), or unchanged: it repeats the one in effect at the end of its day, which
    /// is the assessment given.
    Assessed(RecordedAssessment),
    /// An incident alone, found or created.
    Incident,
    Refused(RepositoryError),
    /// Left to be written alone, after the batch: an earlier row of the batch is about the same
    /// incident and source (coalesced records only).
    Left,
}

/// Every row's outcome, in input order.
#[derive(Debug)]
pub(crate) struct WrittenBatch {
    pub outcomes: Vec<RowOutcome>,
    pub incidents_created: u64,
}

#[derive(QueryableByName)]
struct AssessmentKey {
    #[diesel(sql_type = BigInt)]
    incident_id: i64,
    #[diesel(sql_type = Text)]
    source_id: String,
    #[diesel(sql_type = Date)]
    assessed_on: NaiveDate,
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
                write_batch(conn, &self.known_sources, rows, BatchKind::Import).await
            })
            .await
        })
        .await
        .map(|written| {
            let mut batch = ImportedBatch {
                incidents_created: written.incidents_created,
                ..ImportedBatch::default()
            };
            for (row, outcome) in rows.iter().zip(written.outcomes) {
                match outcome {
                    RowOutcome::Assessed(r) if r.created => batch.created += 1,
                    RowOutcome::Assessed(_) => batch.unchanged += 1,
                    RowOutcome::Incident => batch.incident_rows += 1,
                    RowOutcome::Refused(error) => batch.rejected.push((row.index, error)),
                    RowOutcome::Left => {}
                }
            }
            batch
        })
    }
}

/// Writes `rows` in the caller's transaction, and notifies watchers once when anything was stored.
pub(crate) async fn write_batch(
    conn: &mut AsyncPgConnection,
    sources: &KnownSources,
    rows: &[ImportRow],
    kind: BatchKind,
) -> StoreResult<WrittenBatch> {
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
    let known_sources = sources.registered(conn, named).await?;
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
    let existing_targets: HashSet<i64> = if targets_of_duplicates.is_empty() {
        HashSet::new()
    } else {
        incidents::table
            .filter(incidents::id.eq_any(&targets_of_duplicates))
            .select(incidents::id)
            .load::<i64>(conn)
            .await?
            .into_iter()
            .collect()
    };
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
    let stored_references = stored_references(conn, wanted).await?;
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

    // 3. Incidents: check and lock the stored ones.
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
    let present: HashSet<i64> = if stored.is_empty() {
        HashSet::new()
    } else {
        // In id order, so that two batches locking some of the same incidents cannot deadlock.
        incidents::table
            .filter(incidents::id.eq_any(&stored))
            .select(incidents::id)
            .order(incidents::id)
            .for_no_key_update()
            .load::<i64>(conn)
            .await?
            .into_iter()
            .collect()
    };
    for (i, row) in rows.iter().enumerate() {
        // A new incident cannot be its own duplicate target: every target exists already.
        let Some(Target::Stored(id)) = targets[i] else {
            continue;
        };
        if !present.contains(&id) {
            rejected.insert(
                i,
                not_found(Resource::Incident, id, "assessment.incident_id"),
            );
        } else if let Some(Err(e)) = row
            .assessment()
            .map(|a| a.details.check_target(IncidentId::from_stored(id)))
        {
            rejected.insert(i, RepositoryError::Invalid(e.at("assessment")));
        }
        if rejected.contains_key(&i) {
            targets[i] = None;
        }
    }
    // Rows refused so far add no reference. (An import's row refused just below, for a later row
    // about the same incident, source and day, still adds its references, as it always has.)
    let refused_before: HashSet<usize> = rejected.keys().copied().collect();
    let mut left: HashSet<usize> = HashSet::new();
    // A second row about the same incident and source. An import states each (incident, source,
    // day) once: the earlier row is refused, so that running the import again finds every written
    // row repeated, never a sequence to write again. Coalesced writes are each answered as if alone:
    // a later row about the same incident and source is left to be written alone, after the batch.
    let mut seen: HashMap<(Target, &str, Option<NaiveDate>), usize> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        let (Some(target), Some(assessment)) = (targets[i], row.assessment()) else {
            continue;
        };
        let day = match kind {
            BatchKind::Import => Some(assessment.details.assessed_on()),
            BatchKind::Records => None,
        };
        let key = (target, assessment.source_id.as_str(), day);
        let Some(earlier) = seen.insert(key, i) else {
            continue;
        };
        match kind {
            BatchKind::Import => {
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
            BatchKind::Records => {
                // Neither refused nor written here, its references included: left (see step 5).
                seen.insert(key, earlier);
                targets[i] = None;
                left.insert(i);
            }
        }
    }

    // 4. What is in effect at the end of each (incident, source, day) touched; and for coalesced
    // writes, which of those keys a later day's assessment already supersedes.
    // An incident the batch creates has no history.
    let keys: Vec<(i64, &SourceId, NaiveDate)> = rows
        .iter()
        .zip(&targets)
        .filter_map(|(row, target)| match (row.assessment(), target) {
            (Some(assessment), Some(Target::Stored(id))) => {
                Some((*id, &assessment.source_id, assessment.details.assessed_on()))
            }
            _ => None,
        })
        .collect();
    let key_columns = (
        keys.iter().map(|k| k.0).collect::<Vec<_>>(),
        keys.iter().map(|k| k.1.as_str()).collect::<Vec<_>>(),
        keys.iter().map(|k| k.2).collect::<Vec<_>>(),
    );
    let in_effect: Vec<AssessmentRow> = if keys.is_empty() {
        Vec::new()
    } else {
        Prepared(diesel::sql_query(format!(
        "SELECT DISTINCT ON (a.incident_id, a.source_id, a.assessed_on) {}, false AS current
         FROM assessments a
         JOIN unnest($1::bigint[], $2::text[], $3::date[]) AS k (incident_id, source_id, assessed_on)
           USING (incident_id, source_id, assessed_on)
         ORDER BY a.incident_id, a.source_id, a.assessed_on, a.recorded_at DESC, a.id DESC",
        crate::assessments::COLUMNS
    ))
    .bind::<Array<BigInt>, _>(&key_columns.0)
    .bind::<Array<Text>, _>(&key_columns.1)
    .bind::<Array<Date>, _>(&key_columns.2))
    .load(conn)
    .await?
    };
    let superseded: HashSet<DayKey> = match kind {
        BatchKind::Records if !keys.is_empty() => Prepared(diesel::sql_query(
            "SELECT k.incident_id, k.source_id, k.assessed_on
             FROM unnest($1::bigint[], $2::text[], $3::date[]) AS k (incident_id, source_id, assessed_on)
             WHERE EXISTS (SELECT 1 FROM assessments later
                           WHERE later.incident_id = k.incident_id AND later.source_id = k.source_id
                             AND later.assessed_on > k.assessed_on)",
        )
        .bind::<Array<BigInt>, _>(&key_columns.0)
        .bind::<Array<Text>, _>(&key_columns.1)
        .bind::<Array<Date>, _>(&key_columns.2))
        .load::<AssessmentKey>(conn)
        .await?
        .into_iter()
        .map(|k| (k.incident_id, k.source_id, k.assessed_on))
        .collect(),
        _ => HashSet::new(),
    };
    let mut last: HashMap<DayKey, Assessment> = HashMap::new();
    for row in in_effect {
        let mut stored = Assessment::try_from(row)?;
        let key = day_key(
            stored.incident_id.get(),
            &stored.source_id,
            stored.details.assessed_on(),
        );
        // The last of its day is current unless a later day's assessment supersedes it.
        stored.current = !superseded.contains(&key);
        last.insert(key, stored);
    }

    // 5. The new assessments, and the new incidents and references, in one statement.
    // Each row's outcome; None for those being inserted, until the insert returns their ids.
    let mut outcomes: Vec<Option<RowOutcome>> = Vec::with_capacity(rows.len());
    // The rows being inserted: their index, incident and assessment.
    let mut inserting: Vec<(usize, Target, &NewAssessment)> = Vec::new();
    for (i, (row, target)) in rows.iter().zip(&targets).enumerate() {
        let outcome = match (target, row.assessment()) {
            (None, _) => Some(match rejected.remove(&i) {
                Some(error) => RowOutcome::Refused(error),
                None => RowOutcome::Left,
            }),
            // An incident alone: resolved or created above, nothing more to write.
            (Some(_), None) => Some(RowOutcome::Incident),
            (Some(target), Some(assessment)) => {
                let held = match target {
                    Target::Stored(id) => last.get(&day_key(
                        *id,
                        &assessment.source_id,
                        assessment.details.assessed_on(),
                    )),
                    Target::New(_) => None,
                };
                match held.filter(|held| assessment.details.repeats(&held.details)) {
                    Some(held) => Some(RowOutcome::Assessed(RecordedAssessment {
                        assessment: held.clone(),
                        created: false,
                        incident_created: false,
                    })),
                    None => {
                        inserting.push((i, *target, assessment));
                        None
                    }
                }
            }
        };
        outcomes.push(outcome);
    }
    let references: Vec<(Target, &IncidentReference)> = new_references
        .iter()
        .filter(|(row, _, _)| !refused_before.contains(row) && !left.contains(row))
        .map(|&(_, target, reference)| (target, reference))
        .collect();
    let inserted = insert_new(
        conn,
        &new_incidents,
        &references,
        inserting
            .iter()
            .map(|&(_, target, assessment)| (target, assessment)),
    )
    .await?;

    // The first row of a new incident created it.
    let mut creating: HashSet<usize> = HashSet::new();
    // Every new incident's references were looked up above: a write that committed since stored
    // one of them, so the batch is tried again.
    let incident_ids = inserted
        .incident_ids
        .iter()
        .copied()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            StoreError::Conflict("a new incident's reference was stored meanwhile".into())
        })?;
    for (i, target, new) in inserting {
        let incident = match target {
            Target::Stored(id) => id,
            Target::New(n) => incident_ids[n],
        };
        let key = day_key(incident, &new.source_id, new.details.assessed_on());
        let mut assessment = inserted.assessment(&key, new)?;
        // Writers of one incident hold its row lock, so this one is recorded after every stored one,
        // unless the clock stepped back: the comparison keeps `current` true to rule 1 even then.
        let recorded = (assessment.recorded_at, assessment.id.get());
        assessment.current = !superseded.contains(&key)
            && last
                .get(&key)
                .is_none_or(|held| (held.recorded_at, held.id.get()) < recorded);
        outcomes[i] = Some(RowOutcome::Assessed(RecordedAssessment {
            assessment,
            created: true,
            incident_created: matches!(target, Target::New(n) if creating.insert(n)),
        }));
    }
    let outcomes = outcomes
        .into_iter()
        .map(|outcome| {
            outcome.ok_or_else(|| {
                StoreError::from(RepositoryError::Internal(
                    "an inserted row was not returned".into(),
                ))
            })
        })
        .collect::<StoreResult<_>>()?;
    Ok(WrittenBatch {
        outcomes,
        incidents_created: u64::try_from(new_incidents.len()).unwrap_or(u64::MAX),
    })
}

/// Calls that each create the incident they give, written by step 5's statement alone: no
/// transaction and no lookup, one round trip for them all. The statement skips a call one of whose
/// references is stored already, and the answer is `None` for it.
///
/// No call may name a duplicate target, or a reference that another call names. A call naming an
/// unregistered source, or a reference that a concurrent write stores first, fails the statement.
pub(crate) async fn insert_fresh(
    conn: &mut AsyncPgConnection,
    calls: &[(&NewIncident, &NewAssessment)],
) -> StoreResult<Vec<Option<RecordedAssessment>>> {
    let incidents: Vec<&NewIncident> = calls.iter().map(|&(incident, _)| incident).collect();
    let references: Vec<(Target, &IncidentReference)> = incidents
        .iter()
        .enumerate()
        .flat_map(|(n, incident)| {
            incident
                .references()
                .iter()
                .map(move |r| (Target::New(n), r))
        })
        .collect();
    let inserted = insert_new(
        conn,
        &incidents,
        &references,
        calls
            .iter()
            .enumerate()
            .map(|(n, &(_, call))| (Target::New(n), call)),
    )
    .await?;
    calls
        .iter()
        .zip(&inserted.incident_ids)
        .map(|(&(_, new), incident)| {
            let Some(incident) = *incident else {
                return Ok(None);
            };
            Ok(Some(RecordedAssessment {
                // A new incident has no other assessment.
                assessment: inserted.assessment(
                    &day_key(incident, &new.source_id, new.details.assessed_on()),
                    new,
                )?,
                created: true,
                incident_created: true,
            }))
        })
        .collect()
}

static INSERT_BATCH: &str = include_str!("sql/insert_batch.sql");

/// One row of [`INSERT_BATCH`]'s answer: a new incident (`new_incident` is its n) or a new
/// assessment (with its key).
#[derive(QueryableByName)]
struct InsertedRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    new_incident: Option<i64>,
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    recorded_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<BigInt>)]
    incident_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    source_id: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    assessed_on: Option<NaiveDate>,
}

/// What [`insert_new`] stored: the new incidents' ids, in order (`None` for one not created), and
/// each new assessment's id and time by its key.
struct Inserted {
    incident_ids: Vec<Option<i64>>,
    assessments: HashMap<DayKey, (i64, DateTime<Utc>)>,
}

impl Inserted {
    /// The assessment stored for `new` under `key` (its incident's), as current: whoever knows of
    /// others about the same incident and source decides whether it is.
    fn assessment(&self, key: &DayKey, new: &NewAssessment) -> StoreResult<Assessment> {
        let &(id, recorded_at) = self.assessments.get(key).ok_or_else(|| {
            StoreError::from(RepositoryError::Internal(
                "an inserted row was not returned".into(),
            ))
        })?;
        Ok(Assessment {
            id: AssessmentId::from_stored(id),
            source_id: new.source_id.clone(),
            incident_id: IncidentId::from_stored(key.0),
            details: new.details.clone(),
            recorded_at,
            current: true,
        })
    }
}

/// A row's incident as the statement takes it: a stored id, or the new incident's n (from 1).
fn stored_id(target: Target) -> Option<i64> {
    match target {
        Target::Stored(id) => Some(id),
        Target::New(_) => None,
    }
}

fn new_n(target: Target) -> Option<i64> {
    match target {
        Target::Stored(_) => None,
        Target::New(n) => i64::try_from(n + 1).ok(),
    }
}

/// One column of `rows`, as one array parameter.
fn column<T, U>(rows: &[T], value: impl Fn(&T) -> U) -> Vec<U> {
    rows.iter().map(value).collect()
}

/// Inserts the new incidents, references and assessments with [`INSERT_BATCH`], which notifies
/// watchers when anything is stored. A new incident one of whose references is stored already is
/// not created, and nothing is written for it: its id is `None`.
async fn insert_new<'a>(
    conn: &mut AsyncPgConnection,
    incidents: &[&'a NewIncident],
    references: &[(Target, &'a IncidentReference)],
    assessments: impl Iterator<Item = (Target, &'a NewAssessment)>,
) -> StoreResult<Inserted> {
    let assessments: Vec<(Target, AssessmentValues<'a>)> = assessments
        .map(|(target, a)| (target, AssessmentValues::new(&a.source_id, &a.details)))
        .collect();
    // A row about a stored incident may add references and no assessment: they are written too.
    if incidents.is_empty() && references.is_empty() && assessments.is_empty() {
        return Ok(Inserted {
            incident_ids: Vec::new(),
            assessments: HashMap::new(),
        });
    }
    let details: Vec<IncidentDetailsRow<'a>> = incidents
        .iter()
        .map(|incident| IncidentDetailsRow::from(&incident.details))
        .collect();
    let statement = Prepared(
        diesel::sql_query(INSERT_BATCH)
            .bind::<BigInt, _>(i64::try_from(incidents.len()).unwrap_or(i64::MAX))
            .bind::<Array<Date>, _>(column(&details, |d| d.occurred_from))
            .bind::<Array<Date>, _>(column(&details, |d| d.occurred_to))
            .bind::<Array<Text>, _>(column(&details, |d| d.country))
            .bind::<Array<Nullable<Text>>, _>(column(&details, |d| d.admin1))
            .bind::<Array<Nullable<Text>>, _>(column(&details, |d| d.locality))
            .bind::<Array<Nullable<Double>>, _>(column(&details, |d| d.latitude))
            .bind::<Array<Nullable<Double>>, _>(column(&details, |d| d.longitude))
            .bind::<Array<Text>, _>(column(&details, |d| d.location_precision))
            // Slugs hold no comma.
            .bind::<Array<Text>, _>(column(&details, |d| d.attributed_to.join(",")))
            .bind::<Array<Text>, _>(column(references, |(_, r)| r.source_id.as_str()))
            .bind::<Array<Text>, _>(column(references, |(_, r)| r.external_ref.as_str()))
            .bind::<Array<Nullable<BigInt>>, _>(column(references, |(t, _)| stored_id(*t)))
            .bind::<Array<Nullable<BigInt>>, _>(column(references, |(t, _)| new_n(*t)))
            .bind::<Array<Text>, _>(column(&assessments, |(_, a)| a.source_id))
            .bind::<Array<Nullable<BigInt>>, _>(column(&assessments, |(t, _)| stored_id(*t)))
            .bind::<Array<Nullable<BigInt>>, _>(column(&assessments, |(t, _)| new_n(*t)))
            .bind::<Array<Text>, _>(column(&assessments, |(_, a)| a.verdict))
            .bind::<Array<Text>, _>(column(&assessments, |(_, a)| a.source_label))
            .bind::<Array<Nullable<BigInt>>, _>(column(&assessments, |(_, a)| a.killed_min))
            .bind::<Array<Nullable<BigInt>>, _>(column(&assessments, |(_, a)| a.killed_max))
            .bind::<Array<Nullable<BigInt>>, _>(column(&assessments, |(_, a)| a.injured_min))
            .bind::<Array<Nullable<BigInt>>, _>(column(&assessments, |(_, a)| a.injured_max))
            .bind::<Array<Nullable<BigInt>>, _>(column(&assessments, |(_, a)| {
                a.children_killed_min
            }))
            .bind::<Array<Nullable<BigInt>>, _>(column(&assessments, |(_, a)| {
                a.children_killed_max
            }))
            .bind::<Array<Nullable<BigInt>>, _>(column(&assessments, |(_, a)| a.women_killed_min))
            .bind::<Array<Nullable<BigInt>>, _>(column(&assessments, |(_, a)| a.women_killed_max))
            .bind::<Array<Nullable<BigInt>>, _>(column(&assessments, |(_, a)| a.men_killed_min))
            .bind::<Array<Nullable<BigInt>>, _>(column(&assessments, |(_, a)| a.men_killed_max))
            .bind::<Array<Date>, _>(column(&assessments, |(_, a)| a.assessed_on))
            .bind::<Array<Nullable<BigInt>>, _>(column(&assessments, |(_, a)| a.duplicate_of))
            .bind::<Array<Nullable<Text>>, _>(column(&assessments, |(_, a)| a.citation))
            .bind::<Array<Nullable<Text>>, _>(column(&assessments, |(_, a)| a.notes))
            .bind::<Text, _>(crate::changes::CHANNEL)
            .bind::<Array<Text>, _>(column(&details, |d| d.harm.join(",")))
            .bind::<Array<Text>, _>(column(&details, |d| d.means.join(",")))
            .bind::<Array<Text>, _>(column(&details, |d| d.infrastructure.join(","))),
    );
    let returned = statement.load::<InsertedRow>(conn).await?;
    let mut incident_ids = vec![None; incidents.len()];
    let mut stored = HashMap::with_capacity(assessments.len());
    let corrupt = || {
        StoreError::from(RepositoryError::Internal(
            "a batch's insert returned an incomplete row".into(),
        ))
    };
    for row in returned {
        match row.new_incident {
            Some(n) => {
                let slot = usize::try_from(n - 1)
                    .ok()
                    .and_then(|n| incident_ids.get_mut(n))
                    .ok_or_else(corrupt)?;
                *slot = Some(row.id);
            }
            None => {
                let (Some(at), Some(incident), Some(source), Some(day)) = (
                    row.recorded_at,
                    row.incident_id,
                    row.source_id,
                    row.assessed_on,
                ) else {
                    return Err(corrupt());
                };
                stored.insert((incident, source, day), (row.id, at));
            }
        }
    }
    Ok(Inserted {
        incident_ids,
        assessments: stored,
    })
}
