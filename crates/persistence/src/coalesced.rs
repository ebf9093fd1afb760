//! RecordAssessment calls that arrive together are written together.
//!
//! A single write runs about seven statements, and each round trip costs PostgreSQL more than the
//! work it carries (docs/BENCHMARKS.md, finding 7). So a call without a request id joins a queue,
//! and a leader takes what is queued and writes it as one batch, with the set-wise statements of an
//! import (see [`crate::imports`]). While one batch is written the next calls queue up, so batches
//! grow with the load; a call that finds itself alone is written alone, at no extra cost in
//! statements.
//!
//! Each call is answered as if it had been written alone, in some order of the calls:
//! - no two calls of a batch name the same reference or the same stored incident;
//! - a call about the same incident and source as an earlier call of its batch (two references of
//!   one stored incident) is written alone after the batch;
//! - so is a call the batch refuses, which then gets the single write's own error;
//! - and so is every call of a batch that fails as a whole.
//!
//! Calls with a request id are written alone: their key and result are stored in their own
//! transaction (see [`crate::idempotency`]).

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use civcas_domain::repository::{ImportContent, ImportRow};
use civcas_domain::{AssessedIncident, NewAssessment, RecordedAssessment, RepositoryResult};
use diesel_async::AsyncConnection;
use tokio::sync::{Semaphore, oneshot};

use crate::PgStore;
use crate::imports::{BatchKind, RowOutcome, write_batch};

/// How many batches are written at once. One gave slightly larger batches and more calls per second
/// at concurrency 16 (2,489 against 2,176, within the runs' noise), but a batch waiting on a row lock
/// would then hold up every call; two leave a slot free.
const BATCHES_AT_ONCE: usize = 2;

/// The most calls in one batch.
const MOST_PER_BATCH: usize = 128;

/// The calls waiting to be written, and the leaders writing them.
#[derive(Debug)]
pub(crate) struct Coalesced {
    queue: Mutex<VecDeque<Queued>>,
    leaders: Arc<Semaphore>,
    /// Calls written in a batch with others.
    batched: AtomicU64,
    /// Calls written alone, by the leader or by their caller.
    alone: AtomicU64,
}

/// How the RecordAssessment calls without a request id were written, since the store was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoalescedCounts {
    /// In a batch with other calls.
    pub batched: u64,
    /// Alone: they arrived alone, or the batch left, refused or failed them.
    pub alone: u64,
}

impl Default for Coalesced {
    fn default() -> Self {
        Self {
            queue: Mutex::default(),
            leaders: Arc::new(Semaphore::new(BATCHES_AT_ONCE)),
            batched: AtomicU64::new(0),
            alone: AtomicU64::new(0),
        }
    }
}

/// A call waiting in the queue. Its answer is `None` when the caller is to write it alone.
#[derive(Debug)]
struct Queued {
    assessment: NewAssessment,
    answer: oneshot::Sender<Option<RepositoryResult<RecordedAssessment>>>,
}

/// What a call writes to, which no other call of its batch may name.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Claim {
    Incident(i64),
    Reference(String, String),
}

fn claims(assessment: &NewAssessment) -> Vec<Claim> {
    match &assessment.incident {
        AssessedIncident::Stored(id) => vec![Claim::Incident(id.get())],
        AssessedIncident::Inline(incident) => incident
            .references()
            .iter()
            .map(|r| Claim::Reference(r.source_id.to_string(), r.external_ref.clone()))
            .collect(),
    }
}

impl Coalesced {
    pub(crate) fn counts(&self) -> CoalescedCounts {
        CoalescedCounts {
            batched: AtomicU64::load(&self.batched, Ordering::Relaxed),
            alone: AtomicU64::load(&self.alone, Ordering::Relaxed),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Queued>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next batch: queued calls in order, skipping (and leaving queued) those that name what an
    /// earlier call of the batch names.
    fn take_batch(&self) -> Vec<Queued> {
        let mut queue = self.queue();
        let mut claimed = HashSet::new();
        let mut batch = Vec::new();
        let mut waiting = VecDeque::new();
        for call in queue.drain(..) {
            let claims = claims(&call.assessment);
            if batch.len() < MOST_PER_BATCH && claims.iter().all(|c| !claimed.contains(c)) {
                claimed.extend(claims);
                batch.push(call);
            } else {
                waiting.push_back(call);
            }
        }
        *queue = waiting;
        batch
    }
}

impl PgStore {
    /// Writes `assessment` in a batch with the calls that arrive with it; `None` when the caller is
    /// to write it alone.
    pub(crate) async fn record_coalesced(
        &self,
        assessment: &NewAssessment,
    ) -> Option<RepositoryResult<RecordedAssessment>> {
        let (answer, answered) = oneshot::channel();
        self.coalesced.queue().push_back(Queued {
            assessment: assessment.clone(),
            answer,
        });
        self.start_leader();
        answered.await.ok().flatten()
    }

    /// RecordAssessment calls (without request ids) that arrive together, each answered as if
    /// written alone: what the server does with concurrent calls, here for calls queued at once,
    /// so that a test can tell exactly which are written in one batch.
    pub async fn record_together(
        &self,
        calls: &[NewAssessment],
    ) -> Vec<RepositoryResult<RecordedAssessment>> {
        let answers: Vec<_> = {
            let mut queue = self.coalesced.queue();
            calls
                .iter()
                .map(|assessment| {
                    let (answer, answered) = oneshot::channel();
                    queue.push_back(Queued {
                        assessment: assessment.clone(),
                        answer,
                    });
                    answered
                })
                .collect()
        };
        self.start_leader();
        let answers = answers
            .into_iter()
            .zip(calls)
            .map(|(answered, call)| async move {
                match answered.await.ok().flatten() {
                    Some(recorded) => recorded,
                    None => self.record_alone(call, None).await,
                }
            });
        futures::future::join_all(answers).await
    }

    /// Starts a leader unless every leader slot is taken, in which case a running leader takes the
    /// queued calls when its batch is written.
    fn start_leader(&self) {
        let Ok(permit) = Arc::clone(&self.coalesced.leaders).try_acquire_owned() else {
            return;
        };
        let store = self.clone();
        // A task of its own, outside the caller's call: one caller going away must not cancel the
        // others' writes.
        tokio::spawn(async move {
            let mut permit = permit;
            loop {
                let batch = store.coalesced.take_batch();
                if !batch.is_empty() {
                    store.write_coalesced(batch).await;
                    continue;
                }
                drop(permit);
                // A call queued between the batch taken above and the slot given back found every
                // slot taken: take a slot again for it, unless another leader has.
                if store.coalesced.queue().is_empty() {
                    return;
                }
                match Arc::clone(&store.coalesced.leaders).try_acquire_owned() {
                    Ok(again) => permit = again,
                    Err(_) => return,
                }
            }
        });
    }

    /// Writes one batch and answers each of its calls.
    async fn write_coalesced(&self, mut batch: Vec<Queued>) {
        if batch.len() == 1
            && let Some(call) = batch.pop()
        {
            // Alone, the single write's statements are fewer than a batch's. The leader writes it
            // all the same, so that the calls arriving meanwhile queue up for the next batch.
            let recorded = self.record_alone(&call.assessment, None).await;
            self.coalesced.alone.fetch_add(1, Ordering::Relaxed);
            let _ = call.answer.send(Some(recorded));
            return;
        }
        let rows: Vec<ImportRow> = batch
            .iter()
            .zip(0..)
            .map(|(call, index)| ImportRow {
                index,
                content: ImportContent::Assessment(call.assessment.clone()),
            })
            .collect();
        let rows = &rows;
        let written = self
            .write(|| async move {
                let mut conn = self.conn().await?;
                conn.transaction(async |conn| {
                    write_batch(conn, &self.known_sources, rows, BatchKind::Records).await
                })
                .await
            })
            .await;
        let outcomes: Vec<Option<RepositoryResult<RecordedAssessment>>> = match written {
            Ok(written) => written
                .outcomes
                .into_iter()
                .map(|outcome| match outcome {
                    RowOutcome::Created(assessment, incident_created) => {
                        Some(Ok(RecordedAssessment {
                            assessment,
                            created: true,
                            incident_created,
                        }))
                    }
                    RowOutcome::Unchanged(assessment) => Some(Ok(RecordedAssessment {
                        assessment,
                        created: false,
                        incident_created: false,
                    })),
                    RowOutcome::Incident | RowOutcome::Refused(_) | RowOutcome::Left => None,
                })
                .collect(),
            Err(error) => {
                tracing::warn!(%error, calls = batch.len(), "a coalesced batch failed; writing its calls alone");
                batch.iter().map(|_| None).collect()
            }
        };
        for (call, outcome) in batch.into_iter().zip(outcomes) {
            let counter = match outcome {
                Some(_) => &self.coalesced.batched,
                None => &self.coalesced.alone,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            // A caller that went away needs no answer.
            let _ = call.answer.send(outcome);
        }
    }
}
