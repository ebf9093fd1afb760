//! The read model: every fact the figures read, held in memory and indexed by time, kept exact by
//! the change log. Every answer is computed by `civcas_domain::reconcile`'s functions over it.
//!
//! How an answer is found, every time:
//! 1. **Load** on first use: every fact, with the log's watermark, in one snapshot ([`fetch`],
//!    [`log::snapshot_watermark`]).
//! 2. **Catch up**: one statement reads the log's rows this snapshot sees and the model has not
//!    applied ([`log`]). A write acknowledged before the call began is among them, whichever replica
//!    took it. When there are any, the incidents they name are read again and grouped anew.
//! 3. **Compute**: the domain's rules over the [`Index`], on a blocking thread, under a read lock, so
//!    that one answer sees one state of the model. An answer of the present adds the domain's
//!    tallies of whole months and days where it can ([`summed`]); a tally is computed when first
//!    asked for and dropped when one of its groups changes.
//!
//! No answer is kept. An `as_of` query runs the same rules over the same facts, which hold every
//! assessment's history.

mod fetch;
mod index;
mod log;
mod summed;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use civcas_domain::reconcile::flow::{AssessmentFlow, assessment_flow};
use civcas_domain::reconcile::{Dataset, FigureQuery, ReconciledFigures, figures};
use civcas_domain::repository::FigureRepository;
use civcas_domain::{DateInterval, IncidentId, RepositoryError, RepositoryResult, SourceId};
use diesel_async::AsyncPgConnection;

use crate::PgStore;
use crate::changes::Changes;
use crate::error::{StoreError, StoreResult};
use index::Index;
use log::Watermark;

/// At most about this many incidents are read again and applied at once, whole transactions at a
/// time, so that catching up with an import holds only a slice of it besides the model.
const CATCH_UP_SLICE: usize = 20_000;

/// How often a server catches up and trims the log when no change is announced: far within the
/// time the log keeps its rows ([`log::KEPT_FOR_MINUTES`]).
const FOLLOW_AT_LEAST_EVERY: Duration = Duration::from_secs(60);

/// The shortest rest of the follower between two catch-ups; it rests four times as long as its last
/// one took when that is longer. Every write announces itself, and callers catch up themselves
/// before answering, so the follower only keeps the model warm: chasing each announcement took a
/// core from a stream of writes (BENCHMARKS.md, finding 30).
const FOLLOWER_REST: Duration = Duration::from_millis(100);

/// How long a server waits before trying to catch up again when the database did not answer.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// What the read model holds and has done: for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadModelStatus {
    /// Whether the facts have been read.
    pub loaded: bool,
    /// Incidents held: those an assessment, a DUPLICATE verdict or a link names.
    pub incidents: usize,
    pub groups: usize,
    /// How often every fact was read.
    pub loads: u64,
    /// How often the model caught up with writes, and the incidents it read again for them.
    pub catch_ups: u64,
    pub incidents_read_again: u64,
}

/// See the module's documentation.
#[derive(Debug, Default)]
pub(crate) struct ReadModel {
    index: Arc<RwLock<Option<Index>>>,
    watermark: Mutex<Watermark>,
    /// Catch-ups are numbered as they begin; one runs at a time, and this holds the number of the
    /// last that finished. A caller is served by any catch-up that began after it came, so a burst
    /// of callers shares one or two.
    catching_up: tokio::sync::Mutex<u64>,
    begun: AtomicU64,
    names: fetch::Names,
    counts: Mutex<ReadModelStatus>,
}

impl ReadModel {
    pub(crate) fn status(&self) -> ReadModelStatus {
        let mut status = *self.counts.lock().expect("not poisoned");
        if let Some(index) = self.index.read().expect("not poisoned").as_ref() {
            status.loaded = true;
            status.incidents = index.incidents();
            status.groups = index.groups();
        }
        status
    }

    fn loaded(&self) -> bool {
        self.index.read().expect("not poisoned").is_some()
    }

    /// Brings the model up to every write committed before this call began; called by one caller
    /// at a time.
    async fn catch_up(&self, conn: &mut AsyncPgConnection) -> StoreResult<()> {
        if !self.loaded() {
            return self.load(conn).await;
        }
        let watermark = self.watermark.lock().expect("not poisoned").clone();
        let read = log::read(conn, &watermark).await?;
        if read.changes.is_empty() && read.horizon <= watermark.xmin {
            self.advance(read.xmin, []);
            return Ok(());
        }
        if read.horizon > watermark.xmin {
            tracing::info!("the change log was trimmed past this model; reading every fact");
            return self.load(conn).await;
        }
        let new: Vec<(u64, Option<i64>)> = read
            .changes
            .into_iter()
            .filter(|(txid, _)| !watermark.applied.contains(txid))
            .collect();
        if new.iter().any(|(_, incident)| incident.is_none()) {
            let registry = fetch::registry(conn, &self.names).await?;
            self.apply(|index| index.set_registry(registry));
        }
        let mut by_transaction: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
        for (txid, incident) in &new {
            by_transaction.entry(*txid).or_default().extend(*incident);
        }
        let mut slice: BTreeSet<i64> = BTreeSet::new();
        let mut transactions = by_transaction.into_values().peekable();
        while let Some(incidents) = transactions.next() {
            slice.extend(incidents);
            if slice.len() < CATCH_UP_SLICE && transactions.peek().is_some() {
                continue;
            }
            let ids: Vec<i64> = std::mem::take(&mut slice).into_iter().collect();
            let records = fetch::incident_records(conn, &ids, &self.names).await?;
            let touched = ids.iter().copied().map(IncidentId::from_stored).collect();
            self.apply(|index| index.update(&touched, records));
            self.counts
                .lock()
                .expect("not poisoned")
                .incidents_read_again += ids.len() as u64;
        }
        self.counts.lock().expect("not poisoned").catch_ups += 1;
        self.advance(read.xmin, new.into_iter().map(|(txid, _)| txid));
        Ok(())
    }

    fn apply(&self, change: impl FnOnce(&mut Index)) {
        if let Some(index) = self.index.write().expect("not poisoned").as_mut() {
            change(index);
        }
    }

    fn advance(&self, xmin: u64, applied: impl IntoIterator<Item = u64>) {
        self.watermark
            .lock()
            .expect("not poisoned")
            .advance(xmin, applied);
    }

    /// Reads every fact in one snapshot, with the log's watermark there.
    async fn load(&self, conn: &mut AsyncPgConnection) -> StoreResult<()> {
        let started = std::time::Instant::now();
        // Not two models at once: callers wait for this one (see `catch_up`).
        *self.index.write().expect("not poisoned") = None;
        // The groups are indexed on a blocking thread as they are read.
        let (groups, mut indexed) = tokio::sync::mpsc::channel(1024);
        let indexing = tokio::task::spawn_blocking(move || {
            let mut index = Index::empty(Default::default());
            while let Some(group) = indexed.blocking_recv() {
                index.insert(group);
            }
            index
        });
        let names = &self.names;
        let read = conn
            .build_transaction()
            .read_only()
            .repeatable_read()
            .run(async |conn| {
                let watermark = log::snapshot_watermark(conn).await?;
                let registry = fetch::registry(conn, names).await?;
                fetch::every_group(conn, names, &groups).await?;
                Ok::<_, StoreError>((watermark, registry))
            })
            .await;
        drop(groups);
        let mut index = indexing
            .await
            .map_err(|e| RepositoryError::Internal(format!("indexing failed: {e}")))?;
        let (watermark, registry) = read?;
        index.set_registry(registry);
        tracing::info!(
            incidents = index.incidents(),
            groups = index.groups(),
            took_ms = started.elapsed().as_millis() as u64,
            "read model loaded"
        );
        *self.index.write().expect("not poisoned") = Some(index);
        *self.watermark.lock().expect("not poisoned") = watermark;
        self.counts.lock().expect("not poisoned").loads += 1;
        Ok(())
    }

    /// Runs `compute` over the index on a blocking thread, so that a long computation does not hold
    /// up the runtime's other tasks; `None` when a reload emptied the model meanwhile.
    async fn compute<T: Send + 'static>(
        &self,
        compute: impl FnOnce(&Index) -> T + Send + 'static,
    ) -> RepositoryResult<Option<T>> {
        let index = Arc::clone(&self.index);
        tokio::task::spawn_blocking(move || {
            index.read().expect("not poisoned").as_ref().map(compute)
        })
        .await
        .map_err(|e| RepositoryError::Internal(format!("computing the figures failed: {e}")))
    }
}

/// The follower's schedule (see [`PgStore::follow_changes`]): `catch_up` at once, after each change
/// announced and at least every [`FOLLOW_AT_LEAST_EVERY`], resting between two; `trim` once a
/// minute. It ends when the announcements end.
async fn follow(
    mut changes: Changes,
    mut catch_up: impl AsyncFnMut() -> RepositoryResult<()>,
    mut trim: impl AsyncFnMut(),
) {
    let mut trimmed: Option<tokio::time::Instant> = None;
    loop {
        let started = tokio::time::Instant::now();
        if let Err(error) = catch_up().await {
            tracing::warn!(%error, "the read model could not catch up; trying again");
            tokio::time::sleep(RETRY_AFTER).await;
            continue;
        }
        if trimmed.is_none_or(|at| at.elapsed() >= FOLLOW_AT_LEAST_EVERY) {
            trimmed = Some(tokio::time::Instant::now());
            trim().await;
        }
        tokio::time::sleep((started.elapsed() * 4).max(FOLLOWER_REST)).await;
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(FOLLOW_AT_LEAST_EVERY) => {}
        }
    }
}

impl PgStore {
    /// What the read model holds and has done.
    pub fn read_model_status(&self) -> ReadModelStatus {
        self.read_model.status()
    }

    /// Brings the read model up to every committed write (reading every fact the first time): at
    /// start-up, so that the first caller does not wait, and on each change announced, so that
    /// callers rarely find anything to catch up.
    pub async fn catch_up(&self) -> RepositoryResult<()> {
        let model = &self.read_model;
        let came_after = model.begun.load(Ordering::SeqCst);
        let mut finished = model.catching_up.lock().await;
        if *finished > came_after {
            return Ok(()); // one that began after this call came has finished
        }
        let number = model.begun.fetch_add(1, Ordering::SeqCst) + 1;
        let mut conn = self.conn().await?;
        model.catch_up(&mut conn).await?;
        *finished = number;
        Ok(())
    }

    /// Keeps the read model caught up in the background: at once (the first load), after a change
    /// announced (resting between catch-ups, four times as long as the last took, at least 0.1 s),
    /// and at least every minute; and trims the change log once a minute. Aborting the task stops
    /// it.
    pub fn follow_changes(&self, changes: Changes) -> tokio::task::JoinHandle<()> {
        let (store, trimmer) = (self.clone(), self.clone());
        tokio::spawn(follow(
            changes,
            async move || store.catch_up().await,
            async move || {
                if let Err(error) = trimmer.trim_change_log().await {
                    tracing::warn!(%error, "the change log could not be trimmed");
                }
            },
        ))
    }

    /// Every fact the read model holds, caught up, ordered by id: for the tests, which compare it
    /// with the rows.
    #[doc(hidden)]
    pub async fn read_model_facts(&self) -> RepositoryResult<Dataset> {
        self.answer(Index::dataset).await
    }

    /// Catches up, then computes an answer over the read model; again when a reload emptied the
    /// model in between.
    async fn answer<T: Send + 'static>(
        &self,
        compute: impl FnOnce(&Index) -> T + Clone + Send + 'static,
    ) -> RepositoryResult<T> {
        loop {
            self.catch_up().await?;
            if let Some(answer) = self.read_model.compute(compute.clone()).await? {
                return Ok(answer);
            }
        }
    }

    /// Trims the change log (see `read_model::log`); whether rows went.
    pub async fn trim_change_log(&self) -> RepositoryResult<bool> {
        let mut conn = self.conn().await?;
        Ok(log::trim(&mut conn).await?)
    }
}

impl FigureRepository for PgStore {
    async fn reconciled_figures(&self, query: FigureQuery) -> RepositoryResult<ReconciledFigures> {
        self.answer(move |index| figures(index, &query)).await
    }

    async fn figure_series(
        &self,
        query: FigureQuery,
        buckets: Vec<DateInterval>,
    ) -> RepositoryResult<Vec<ReconciledFigures>> {
        self.answer(move |index| {
            buckets
                .iter()
                .map(|&window| {
                    let bucket = FigureQuery {
                        window,
                        ..query.clone()
                    };
                    figures(index, &bucket)
                })
                .collect()
        })
        .await
    }

    async fn assessment_flow(
        &self,
        source: SourceId,
        window: DateInterval,
    ) -> RepositoryResult<AssessmentFlow> {
        self.answer(move |index| {
            assessment_flow(
                index.assessments().filter(|a| a.source_id == source),
                &source,
                window,
            )
        })
        .await
    }

    async fn source_ids(&self) -> RepositoryResult<Vec<SourceId>> {
        self.answer(|index| {
            civcas_domain::reconcile::Facts::sources(index)
                .iter()
                .map(|s| s.id.clone())
                .collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use tokio::time::{Duration, sleep};

    use super::*;

    /// With time paused, each sleep below lets the runtime move the clock from timer to timer.
    /// The follower catches up at once, after a change once its rest is over, at least every
    /// minute without one, again a second after a failure, and trims once a minute; it ends with
    /// the announcements.
    #[tokio::test(start_paused = true)]
    async fn the_follower_catches_up_on_changes_and_every_minute_and_rests_between() {
        let (announce, changes) = tokio::sync::watch::channel(0_u64);
        let catch_ups = Arc::new(AtomicUsize::new(0));
        let trims = Arc::new(AtomicUsize::new(0));
        let fail_next = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (counted, trimmed, failing) = (catch_ups.clone(), trims.clone(), fail_next.clone());
        let follower = tokio::spawn(follow(
            changes,
            async move || {
                // Each catch-up takes 50 ms, so the follower rests 200 ms after it.
                sleep(Duration::from_millis(50)).await;
                counted.fetch_add(1, Ordering::SeqCst);
                if failing.swap(false, Ordering::SeqCst) {
                    Err(RepositoryError::Unavailable("down".into()))
                } else {
                    Ok(())
                }
            },
            async move || {
                trimmed.fetch_add(1, Ordering::SeqCst);
            },
        ));
        let count = || catch_ups.load(Ordering::SeqCst);

        sleep(Duration::from_millis(60)).await;
        assert_eq!(
            (count(), trims.load(Ordering::SeqCst)),
            (1, 1),
            "at once, and a trim"
        );

        // A change during the rest waits for its end (50 ms + 200 ms), then is caught up.
        announce.send_modify(|n| *n += 1);
        sleep(Duration::from_millis(150)).await;
        assert_eq!(count(), 1, "still resting");
        sleep(Duration::from_millis(100)).await;
        sleep(Duration::from_millis(60)).await;
        assert_eq!(count(), 2, "the change is caught up after the rest");

        // Without a change: nothing for a minute, then a catch-up and a trim.
        sleep(Duration::from_secs(30)).await;
        assert_eq!(count(), 2);
        sleep(Duration::from_secs(31)).await;
        sleep(Duration::from_millis(60)).await;
        assert_eq!(count(), 3, "at least every minute");
        assert_eq!(trims.load(Ordering::SeqCst), 2, "trimmed once a minute");

        // A failure is tried again a second later, without waiting for a change.
        fail_next.store(true, Ordering::SeqCst);
        announce.send_modify(|n| *n += 1);
        sleep(Duration::from_millis(260)).await;
        sleep(Duration::from_millis(60)).await;
        assert_eq!(count(), 4, "the failed catch-up");
        sleep(Duration::from_millis(1_000)).await;
        sleep(Duration::from_millis(60)).await;
        assert_eq!(count(), 5, "tried again after a second");

        drop(announce);
        sleep(Duration::from_secs(61)).await;
        sleep(Duration::from_secs(1)).await;
        assert!(
            follower.is_finished(),
            "the follower ends with the announcements"
        );
    }
}
