//! RecordAssessment calls that arrive together are written together.
//!
//! A single write runs about seven statements, and each round trip costs PostgreSQL more than the
//! work it carries (docs/BENCHMARKS.md, findings 7, 13 and 14). So a call without a request id joins
//! a queue, and a leader takes what is queued and writes it as one batch:
//! - the calls that create their incidents (the usual RecordAssessment of a new report) first, with
//!   one statement and no transaction: one round trip, however many calls
//!   ([`crate::imports::insert_fresh`]);
//! - then the others, and those whose incident turned out to be stored, in one transaction, with
//!   the set-wise statements of an import ([`crate::imports::write_batch`]).
//!
//! While one batch is written the next calls queue up, so batches grow with the load; a call that
//! finds itself alone is a batch of one, still fewer round trips than the single write's.
//!
//! Each call is answered as if it had been written alone, in some order of the calls:
//! - no two calls of a batch name the same reference or the same stored incident;
//! - a call about the same incident and source as an earlier call of its batch (two references of
//!   one stored incident) is written alone after the batch;
//! - so is a call the batch refuses, which then gets the single write's own error;
//! - and so is every call of a batch that fails as a whole.
//!
//! Calls with a request id are written alone: their key and result are stored in their own
//! transaction (see [`crate::idempotency`]). So are calls that find the queue full.
//!
//! A call that names what a batch being written names waits for that batch, so that two leaders
//! never wait on the same row lock. A call whose caller went away before a leader took it is not
//! written. A leader works outside its callers' calls, so it is not cancelled when one caller goes
//! away, and waits for a connection as long as the pool allows rather than as the callers' deadlines
//! do. If COMMIT fails on the way back after the server committed, the calls are written alone again
//! and find their rows there: no row is written twice, but those calls answer UNCHANGED.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use civcas_domain::repository::{ImportContent, ImportRow};
use civcas_domain::{
    AssessedIncident, NewAssessment, NewIncident, RecordedAssessment, RepositoryError,
    RepositoryResult,
};
use diesel_async::AsyncConnection;
use tokio::sync::{Semaphore, oneshot};

use crate::PgStore;
use crate::imports::{BatchKind, RowOutcome, insert_fresh, write_batch};

/// How many batches are written at once. With one, a batch waiting on a row lock would hold up every
/// call, and its larger batches saved less than a second PostgreSQL backend adds
/// (docs/BENCHMARKS.md, finding 18).
pub(crate) const BATCHES_AT_ONCE: usize = 2;

/// The most calls in one batch.
const MOST_PER_BATCH: usize = 128;

/// The most calls waiting; more are written alone, by their callers.
const MOST_QUEUED: usize = 1024;

/// The calls waiting to be written, and the leaders writing them.
#[derive(Debug)]
pub(crate) struct Coalesced {
    queue: Mutex<Queue>,
    leaders: Arc<Semaphore>,
    /// Calls that created their incidents with one statement (see [`PgStore::write_fresh`]).
    new_incidents: AtomicU64,
    /// Other calls written in a batch with others.
    batched: AtomicU64,
    /// Other calls alone in their batch, or written alone by their caller.
    alone: AtomicU64,
}

/// How the RecordAssessment calls without a request id were written, since the store was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoalescedCounts {
    /// Created their incidents with one statement, without a transaction (with the other calls of
    /// their batch that did).
    pub new_incidents: u64,
    /// Otherwise in a batch with other calls.
    pub batched: u64,
    /// Alone: they were alone in their batch, or the batch left, refused or failed them.
    pub alone: u64,
}

impl Default for Coalesced {
    fn default() -> Self {
        Self {
            queue: Mutex::default(),
            leaders: Arc::new(Semaphore::new(BATCHES_AT_ONCE)),
            new_incidents: AtomicU64::new(0),
            batched: AtomicU64::new(0),
            alone: AtomicU64::new(0),
        }
    }
}

#[derive(Debug, Default)]
struct Queue {
    calls: VecDeque<Queued>,
    /// What the batches being written name.
    writing: HashSet<Claim>,
}

/// A call waiting in the queue.
#[derive(Debug)]
struct Queued {
    assessment: NewAssessment,
    answer: oneshot::Sender<Answer>,
}

/// What a batch answers a call: `None` when the caller is to write it alone.
type Answer = Option<RepositoryResult<RecordedAssessment>>;

/// What a call writes to, which no other call of its batch, or of a batch being written, may name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
            new_incidents: AtomicU64::load(&self.new_incidents, Ordering::Relaxed),
            batched: AtomicU64::load(&self.batched, Ordering::Relaxed),
            alone: AtomicU64::load(&self.alone, Ordering::Relaxed),
        }
    }

    /// Queues `calls` under one lock, so that a leader finds them together; `None` for each call
    /// that found the queue full.
    fn enqueue(&self, calls: &[NewAssessment]) -> Vec<Option<oneshot::Receiver<Answer>>> {
        let mut queue = self.queue();
        calls
            .iter()
            .map(|assessment| {
                if queue.calls.len() >= MOST_QUEUED {
                    return None;
                }
                let (answer, answered) = oneshot::channel();
                queue.calls.push_back(Queued {
                    assessment: assessment.clone(),
                    answer,
                });
                Some(answered)
            })
            .collect()
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next batch, with what it names, which is then being written: queued calls in order,
    /// skipping (and leaving queued) those that name what an earlier call of the batch or a batch
    /// being written names, and dropping those whose callers went away.
    fn take_batch(&self) -> (Vec<Queued>, Writing<'_>) {
        let mut queue = self.queue();
        let mut claimed = HashSet::new();
        let mut batch = Vec::new();
        let mut waiting = VecDeque::new();
        for call in std::mem::take(&mut queue.calls) {
            if call.answer.is_closed() {
                continue;
            }
            let claims = claims(&call.assessment);
            let free = |c: &Claim| !claimed.contains(c) && !queue.writing.contains(c);
            if batch.len() < MOST_PER_BATCH && claims.iter().all(free) {
                claimed.extend(claims);
                batch.push(call);
            } else {
                waiting.push_back(call);
            }
        }
        queue.calls = waiting;
        queue.writing.extend(claimed.iter().cloned());
        let writing = Writing {
            coalesced: self,
            claims: claimed,
        };
        (batch, writing)
    }

    /// Whether some queued call could be taken now.
    fn has_takeable(&self) -> bool {
        let queue = self.queue();
        queue.calls.iter().any(|call| {
            claims(&call.assessment)
                .iter()
                .all(|c| !queue.writing.contains(c))
        })
    }
}

/// What a batch being written names; dropped when the batch is written, or its leader fails.
struct Writing<'a> {
    coalesced: &'a Coalesced,
    claims: HashSet<Claim>,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let mut queue = self.coalesced.queue();
        for claim in &self.claims {
            queue.writing.remove(claim);
        }
    }
}

impl PgStore {
    /// Writes `assessment` in a batch with the calls that arrive with it, or alone.
    pub(crate) async fn record_coalesced(
        &self,
        assessment: &NewAssessment,
    ) -> RepositoryResult<RecordedAssessment> {
        let queued = self
            .coalesced
            .enqueue(std::slice::from_ref(assessment))
            .pop();
        self.start_leader();
        self.answered(queued.flatten(), assessment).await
    }

    /// RecordAssessment calls (without request ids) that arrive together, each answered as if
    /// written alone: what the server does with concurrent calls, here for calls queued at once,
    /// so that a test can tell exactly which are written in one batch.
    pub async fn record_together(
        &self,
        calls: &[NewAssessment],
    ) -> Vec<RepositoryResult<RecordedAssessment>> {
        let queued = self.coalesced.enqueue(calls);
        self.start_leader();
        let answers = queued
            .into_iter()
            .zip(calls)
            .map(|(queued, call)| self.answered(queued, call));
        futures::future::join_all(answers).await
    }

    /// The batch's answer to a queued call; or, when the call was not queued or the batch did not
    /// write it, the call written alone, in the caller's own task.
    async fn answered(
        &self,
        queued: Option<oneshot::Receiver<Answer>>,
        call: &NewAssessment,
    ) -> RepositoryResult<RecordedAssessment> {
        let batched = match queued {
            Some(answered) => answered.await.ok().flatten(),
            None => None,
        };
        match batched {
            Some(recorded) => recorded,
            None => self.record_alone(call, None).await,
        }
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
                let (batch, writing) = store.coalesced.take_batch();
                if !batch.is_empty() {
                    store.write_coalesced(batch).await;
                    drop(writing);
                    continue;
                }
                drop(permit);
                // A call queued between the batch taken above and the slot given back found every
                // slot taken: take a slot again for it, unless another leader has. Calls waiting
                // for a batch being written are that batch's leader's to take when it is done.
                if !store.coalesced.has_takeable() {
                    return;
                }
                match Arc::clone(&store.coalesced.leaders).try_acquire_owned() {
                    Ok(again) => permit = again,
                    Err(_) => return,
                }
            }
        });
    }

    /// Writes one batch and answers each of its calls: first those that create their incidents, in
    /// one statement, then the others, and those the statement skipped, in one transaction.
    async fn write_coalesced(&self, batch: Vec<Queued>) {
        let calls: Vec<&NewAssessment> = batch.iter().map(|call| &call.assessment).collect();
        let mut answers = self.write_fresh(&calls).await;
        let fresh: Vec<bool> = answers.iter().map(Option::is_some).collect();
        let others: Vec<usize> = (0..calls.len()).filter(|&i| !fresh[i]).collect();
        if !others.is_empty() {
            let written = self
                .write_others(others.iter().map(|&i| calls[i]).collect())
                .await;
            for (i, answer) in others.into_iter().zip(written) {
                answers[i] = answer;
            }
        }
        let together = batch.len() > 1;
        for ((call, answer), fresh) in batch.into_iter().zip(answers).zip(fresh) {
            let counter = match answer {
                _ if fresh => &self.coalesced.new_incidents,
                Some(_) if together => &self.coalesced.batched,
                _ => &self.coalesced.alone,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            // A caller that went away needs no answer.
            let _ = call.answer.send(answer);
        }
    }

    /// The calls that give an incident of registered sources' references and name no duplicate
    /// target, written as new incidents with one statement, which needs no transaction and no
    /// lookup ([`insert_fresh`]). `None` for the other calls, those whose incident turned out to be
    /// stored, and every call when the statement fails: they are written by [`Self::write_others`].
    async fn write_fresh(&self, calls: &[&NewAssessment]) -> Vec<Answer> {
        let mut answers: Vec<Answer> = calls.iter().map(|_| None).collect();
        let (at, fresh): (Vec<usize>, Vec<(&NewIncident, &NewAssessment)>) = calls
            .iter()
            .enumerate()
            .filter_map(|(i, &call)| Some((i, (self.fresh_incident(call)?, call))))
            .unzip();
        if fresh.is_empty() {
            return answers;
        }
        let written = async {
            let mut conn = self.batch_conn().await?;
            insert_fresh(&mut conn, &fresh).await
        };
        match written.await {
            Ok(recorded) => {
                for (i, recorded) in at.into_iter().zip(recorded) {
                    answers[i] = recorded.map(Ok);
                }
            }
            Err(error) => {
                let error = RepositoryError::from(error);
                tracing::debug!(%error, calls = fresh.len(), "calls creating their incidents failed together; writing them in a transaction");
            }
        }
        answers
    }

    /// The incident `call` gives, when it can be written by [`Self::write_fresh`].
    fn fresh_incident<'a>(&self, call: &'a NewAssessment) -> Option<&'a NewIncident> {
        let AssessedIncident::Inline(incident) = &call.incident else {
            return None;
        };
        let sources = std::iter::once(call.source_id.as_str())
            .chain(incident.references().iter().map(|r| r.source_id.as_str()));
        (call.details.duplicate_of().is_none() && self.known_sources.all_seen(sources))
            .then_some(incident)
    }

    /// Writes `calls` in one transaction with the set-wise statements of an import, each answered
    /// as if written alone; `None` for those to write alone.
    async fn write_others(&self, calls: Vec<&NewAssessment>) -> Vec<Answer> {
        let rows: Vec<ImportRow> = calls
            .iter()
            .zip(0..)
            .map(|(&call, index)| ImportRow {
                index,
                content: ImportContent::Assessment(call.clone()),
            })
            .collect();
        let rows = &rows;
        let written = self
            .write(|| async move {
                let mut conn = self.batch_conn().await?;
                conn.transaction(async |conn| {
                    write_batch(conn, &self.known_sources, rows, BatchKind::Records).await
                })
                .await
            })
            .await;
        match written {
            Ok(written) => written
                .outcomes
                .into_iter()
                .map(|outcome| match outcome {
                    RowOutcome::Assessed(recorded) => Some(Ok(recorded)),
                    RowOutcome::Incident | RowOutcome::Refused(_) | RowOutcome::Left => None,
                })
                .collect(),
            Err(error) => {
                tracing::warn!(%error, calls = calls.len(), "a coalesced batch failed; writing its calls alone");
                calls.iter().map(|_| None).collect()
            }
        }
    }
}
