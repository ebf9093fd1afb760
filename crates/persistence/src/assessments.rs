//! Assessments: append-only, one history per (source, incident).
//!
//! An assessment takes effect in the order `(assessed_on, recorded_at, id)` (docs/rules.md, rule 1); the
//! last one in that order is the source's current assessment of the incident.

use chrono::{DateTime, NaiveDate, Utc};
use civcas_domain::repository::{
    AssessmentFilter, AssessmentRepository, IdempotencyKey, ImportRow, ImportedBatch,
};
use civcas_domain::{
    AssessedIncident, Assessment, AssessmentId, IncidentId, NewAssessment, Page, PageRequest,
    RecordedAssessment, RepositoryError, RepositoryResult, WriteOutcome,
};
use diesel::OptionalExtension;
use diesel::sql_types::{BigInt, Bool, Date, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use crate::error::{StoreResult, classify};
use crate::incidents::{OnExisting, require_incident, upsert_incident};
use crate::models::{AssessmentRow, NewAssessmentRow};
use crate::prepared::Prepared;
use crate::schema::assessments;
use crate::sources::KnownSources;
use crate::{PgStore, paging};

/// Whether assessment `a` is current: no assessment by the same source of the same incident takes
/// effect after it.
const IS_CURRENT: &str = "NOT EXISTS (
    SELECT 1 FROM assessments later
    WHERE later.incident_id = a.incident_id AND later.source_id = a.source_id
      AND (later.assessed_on, later.recorded_at, later.id) > (a.assessed_on, a.recorded_at, a.id))";

pub(crate) const COLUMNS: &str = "a.id, a.source_id, a.incident_id, a.verdict, a.source_label, a.killed_min, \
    a.killed_max, a.injured_min, a.injured_max, a.children_killed_min, a.children_killed_max, \
    a.women_killed_min, a.women_killed_max, a.men_killed_min, a.men_killed_max, a.assessed_on, \
    a.duplicate_of, a.citation, a.notes, a.recorded_at";

/// The keyset of ListAssessments: an assessment's place in its history, histories ordered by incident
/// and source.
#[derive(Debug, Serialize, Deserialize)]
struct HistoryKey(i64, String, NaiveDate, i64, i64);

impl HistoryKey {
    fn of(a: &Assessment) -> Self {
        Self(
            a.incident_id.get(),
            a.source_id.to_string(),
            a.details.assessed_on(),
            a.recorded_at.timestamp_micros(),
            a.id.get(),
        )
    }
}

/// The incident the assessment is about, and whether recording it created that incident.
async fn resolve_incident(
    conn: &mut AsyncPgConnection,
    sources: &KnownSources,
    incident: &AssessedIncident,
) -> StoreResult<(IncidentId, bool)> {
    match incident {
        AssessedIncident::Stored(id) => {
            require_incident(conn, *id, "assessment.incident_id", true).await?;
            Ok((*id, false))
        }
        AssessedIncident::Inline(new) => {
            let (id, outcome) = upsert_incident(conn, sources, new, OnExisting::Keep).await?;
            Ok((id, outcome == WriteOutcome::Created))
        }
    }
}

/// The source's assessment of the incident in effect at the end of `new`'s day, if it has one that
/// day, and whether it has one of a later day, which will supersede `new`.
async fn same_day_and_later(
    conn: &mut AsyncPgConnection,
    incident_id: IncidentId,
    new: &NewAssessment,
) -> StoreResult<(Option<AssessmentRow>, bool)> {
    // The first row from the new one's day on: that day's last, else the earliest later one. That
    // day's last is superseded only by a later day's.
    let first: Option<AssessmentRow> = Prepared(
        diesel::sql_query(format!(
            "SELECT {COLUMNS}, {IS_CURRENT} AS current FROM assessments a
             WHERE a.incident_id = $1 AND a.source_id = $2 AND a.assessed_on >= $3
             ORDER BY a.assessed_on, a.recorded_at DESC, a.id DESC LIMIT 1"
        ))
        .bind::<BigInt, _>(incident_id.get())
        .bind::<Text, _>(new.source_id.as_str())
        .bind::<Date, _>(new.details.assessed_on()),
    )
    .get_result(conn)
    .await
    .optional()?;
    Ok(match first {
        None => (None, false),
        Some(row) if row.assessed_on == new.details.assessed_on() => {
            let later_day = !row.current;
            (Some(row), later_day)
        }
        Some(_) => (None, true),
    })
}

impl PgStore {
    /// One RecordAssessment in a transaction of its own, with its idempotency key if it has one.
    pub(crate) async fn record_alone(
        &self,
        new: &NewAssessment,
        key: Option<&IdempotencyKey>,
    ) -> RepositoryResult<RecordedAssessment> {
        idempotent_write!(self, key, |conn| {
            let sources = &self.known_sources;
            sources
                .require(conn, &new.source_id, "assessment.source_id")
                .await?;
            let (incident_id, incident_created) =
                resolve_incident(conn, sources, &new.incident).await?;
            new.details
                .check_target(incident_id)
                .map_err(|e| e.at("assessment"))?;
            if let Some(target) = new.details.duplicate_of() {
                require_incident(conn, target, "assessment.duplicate_of", false).await?;
            }

            // Re-recording what is already there (an import run twice) adds no history: the new
            // assessment is compared with the one in effect at the end of its own day, which is the
            // current one when it is the latest. A same-day reversal (FAIR, DISCOUNTED, FAIR) is new.
            // An incident this write created has no history to look up.
            let (in_effect_that_day, later_day) = if incident_created {
                (None, false)
            } else {
                same_day_and_later(conn, incident_id, new).await?
            };
            let that_day_key = in_effect_that_day
                .as_ref()
                .map(|row| (row.recorded_at, row.id));
            let repeated = match in_effect_that_day {
                Some(row) => Some(Assessment::try_from(row)?)
                    .filter(|stored| new.details.repeats(&stored.details)),
                None => None,
            };
            match repeated {
                Some(assessment) => RecordedAssessment {
                    assessment,
                    created: false,
                    incident_created,
                },
                None => {
                    // The row holds exactly the details given, so only what the database assigns
                    // comes back.
                    let (id, recorded_at): (i64, DateTime<Utc>) =
                        diesel::insert_into(assessments::table)
                            .values(NewAssessmentRow::new(
                                &new.source_id,
                                incident_id,
                                &new.details,
                            ))
                            .returning((assessments::id, assessments::recorded_at))
                            .get_result(conn)
                            .await?;
                    // Writers of one incident hold its row lock, so this one is recorded after every
                    // stored one, unless the clock stepped back: the comparison keeps `current` true
                    // to the order of rule 1 even then.
                    let current =
                        !later_day && that_day_key.is_none_or(|key| key < (recorded_at, id));
                    RecordedAssessment {
                        assessment: Assessment {
                            id: AssessmentId::from_stored(id),
                            source_id: new.source_id.clone(),
                            incident_id,
                            details: new.details.clone(),
                            recorded_at,
                            current,
                        },
                        created: true,
                        incident_created,
                    }
                }
            }
        })
    }
}

impl AssessmentRepository for PgStore {
    async fn record_assessment(
        &self,
        assessment: NewAssessment,
        key: Option<IdempotencyKey>,
    ) -> RepositoryResult<RecordedAssessment> {
        match key {
            None => self.record_coalesced(&assessment).await,
            Some(key) => self.record_alone(&assessment, Some(&key)).await,
        }
    }

    async fn list_assessments(
        &self,
        filter: AssessmentFilter,
        page: PageRequest,
    ) -> RepositoryResult<Page<Assessment>> {
        let after: Option<HistoryKey> = paging::after(&page)?;
        let after_recorded_at = match &after {
            Some(key) => Some(
                DateTime::<Utc>::from_timestamp_micros(key.3).ok_or_else(|| {
                    RepositoryError::Invalid(civcas_domain::Violations::one(
                        "page_token",
                        "is not a page token issued by this list",
                    ))
                })?,
            ),
            None => None,
        };
        let mut conn = self.conn().await?;
        let rows: Vec<AssessmentRow> = diesel::sql_query(format!(
            "SELECT {COLUMNS}, {IS_CURRENT} AS current FROM assessments a
             WHERE ($1::text IS NULL OR a.source_id = $1)
               AND ($2::bigint IS NULL OR a.incident_id = $2)
               AND ($3 OR {IS_CURRENT})
               AND ($4::bigint IS NULL
                    OR (a.incident_id, a.source_id, a.assessed_on, a.recorded_at, a.id) > ($4, $5, $6, $7, $8))
             ORDER BY a.incident_id, a.source_id, a.assessed_on, a.recorded_at, a.id
             LIMIT $9"
        ))
        .bind::<Nullable<Text>, _>(filter.source_id.as_ref().map(|s| s.as_str()))
        .bind::<Nullable<BigInt>, _>(filter.incident_id.map(|id| id.get()))
        .bind::<Bool, _>(filter.include_superseded)
        .bind::<Nullable<BigInt>, _>(after.as_ref().map(|k| k.0))
        .bind::<Nullable<Text>, _>(after.as_ref().map(|k| k.1.as_str()))
        .bind::<Nullable<Date>, _>(after.as_ref().map(|k| k.2))
        .bind::<Nullable<Timestamptz>, _>(after_recorded_at)
        .bind::<Nullable<BigInt>, _>(after.as_ref().map(|k| k.4))
        .bind::<BigInt, _>(paging::fetch_limit(&page))
        .load(&mut conn)
        .await
        .map_err(classify)?;
        let assessments = rows
            .into_iter()
            .map(Assessment::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(paging::cut(assessments, &page, HistoryKey::of))
    }

    async fn import_assessments(&self, rows: Vec<ImportRow>) -> RepositoryResult<ImportedBatch> {
        self.import_batch(rows).await
    }
}
