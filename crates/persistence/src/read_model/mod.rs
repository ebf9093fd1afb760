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
//!    that one answer sees one state of the model.
//!
//! Nothing else is kept: no answer, no sum. An `as_of` query runs the same rules over the same
//! facts, which hold every assessment's history.

mod fetch;
mod index;
mod log;

use std::collections::BTreeSet;
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

/// Above this many incidents to read again at once (after an import), the model reads every fact
/// instead: one pass over the tables rather than a lookup per incident.
const RELOAD_ABOVE: usize = 50_000;

/// How often a server catches up and trims the log when no change is announced: far within the
/// time the log keeps its rows ([`log::KEPT_FOR_MINUTES`]).
const FOLLOW_AT_LEAST_EVERY: Duration = Duration::from_secs(60);

/// How long a server waits before trying to catch up again when the database did not answer.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// What the read model holds and has done: for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadModelStatus {
    /// Whether the facts have been read.
    pub loaded: bool,
    /// Incidents held: those an assessment or a link names.
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
    /// One load or catch-up at a time.
    catching_up: tokio::sync::Mutex<()>,
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

    /// Brings the model up to every write committed before this call began.
    async fn catch_up(&self, conn: &mut AsyncPgConnection) -> StoreResult<()> {
        if !self.loaded() {
            let _one = self.catching_up.lock().await;
            if !self.loaded() {
                return self.load(conn).await;
            }
        }
        let watermark = self.watermark.lock().expect("not poisoned").clone();
        let read = log::read(conn, &watermark).await?;
        if read.changes.is_empty() && read.horizon <= watermark.xmin {
            self.advance(read.xmin, []);
            return Ok(());
        }
        let _one = self.catching_up.lock().await;
        let watermark = self.watermark.lock().expect("not poisoned").clone();
        if read.horizon > watermark.xmin {
            tracing::info!("the change log was trimmed past this model; reading every fact");
            return self.load(conn).await;
        }
        let new: Vec<(u64, Option<i64>)> = read
            .changes
            .into_iter()
            .filter(|(txid, _)| !watermark.applied.contains(txid))
            .collect();
        let touched: BTreeSet<i64> = new.iter().filter_map(|(_, incident)| *incident).collect();
        if touched.len() > RELOAD_ABOVE {
            return self.load(conn).await;
        }
        let registry = match new.iter().any(|(_, incident)| incident.is_none()) {
            true => Some(fetch::registry(conn).await?),
            false => None,
        };
        let ids: Vec<i64> = touched.iter().copied().collect();
        let records = match ids.is_empty() {
            true => Default::default(),
            false => fetch::incident_records(conn, Some(&ids)).await?,
        };
        {
            let mut index = self.index.write().expect("not poisoned");
            let index = index.as_mut().expect("loaded above");
            if let Some(registry) = registry {
                index.set_registry(registry);
            }
            let touched = touched.into_iter().map(IncidentId::from_stored).collect();
            index.update(&touched, records);
        }
        let mut counts = self.counts.lock().expect("not poisoned");
        counts.catch_ups += 1;
        counts.incidents_read_again += ids.len() as u64;
        drop(counts);
        self.advance(read.xmin, new.into_iter().map(|(txid, _)| txid));
        Ok(())
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
        let (watermark, registry, records) = conn
            .build_transaction()
            .read_only()
            .repeatable_read()
            .run(async |conn| {
                let watermark = log::snapshot_watermark(conn).await?;
                let registry = fetch::registry(conn).await?;
                let records = fetch::incident_records(conn, None).await?;
                Ok::<_, StoreError>((watermark, registry, records))
            })
            .await?;
        let index = tokio::task::spawn_blocking(move || Index::new(registry, records))
            .await
            .map_err(|e| RepositoryError::Internal(format!("indexing failed: {e}")))?;
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
    /// up the runtime's other tasks.
    async fn compute<T: Send + 'static>(
        &self,
        compute: impl FnOnce(&Index) -> T + Send + 'static,
    ) -> RepositoryResult<T> {
        let index = Arc::clone(&self.index);
        tokio::task::spawn_blocking(move || {
            let index = index.read().expect("not poisoned");
            index.as_ref().map(compute)
        })
        .await
        .map_err(|e| RepositoryError::Internal(format!("computing the figures failed: {e}")))?
        .ok_or_else(|| RepositoryError::Internal("the read model is not loaded".to_owned()))
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
        let mut conn = self.conn().await?;
        Ok(self.read_model.catch_up(&mut conn).await?)
    }

    /// Keeps the read model caught up in the background: at once (the first load), on each change
    /// announced, and at least every minute, when it also trims the change log. Aborting the task
    /// stops it.
    pub fn follow_changes(&self, mut changes: Changes) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut trimmed: Option<tokio::time::Instant> = None;
            loop {
                if let Err(error) = store.catch_up().await {
                    tracing::warn!(%error, "the read model could not catch up; trying again");
                    tokio::time::sleep(RETRY_AFTER).await;
                    continue;
                }
                if trimmed.is_none_or(|at| at.elapsed() >= FOLLOW_AT_LEAST_EVERY) {
                    trimmed = Some(tokio::time::Instant::now());
                    if let Err(error) = store.trim_change_log().await {
                        tracing::warn!(%error, "the change log could not be trimmed");
                    }
                }
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    () = tokio::time::sleep(FOLLOW_AT_LEAST_EVERY) => {}
                }
            }
        })
    }

    /// Every fact the read model holds, caught up, ordered by id: for the tests, which compare it
    /// with the rows.
    #[doc(hidden)]
    pub async fn read_model_facts(&self) -> RepositoryResult<Dataset> {
        self.catch_up().await?;
        self.read_model.compute(Index::dataset).await
    }

    /// Trims the change log (see `read_model::log`); whether rows went.
    pub async fn trim_change_log(&self) -> RepositoryResult<bool> {
        let mut conn = self.conn().await?;
        Ok(log::trim(&mut conn).await?)
    }
}

impl FigureRepository for PgStore {
    async fn reconciled_figures(&self, query: FigureQuery) -> RepositoryResult<ReconciledFigures> {
        self.catch_up().await?;
        self.read_model
            .compute(move |index| figures(index, &query))
            .await
    }

    async fn figure_series(
        &self,
        query: FigureQuery,
        buckets: Vec<DateInterval>,
    ) -> RepositoryResult<Vec<ReconciledFigures>> {
        self.catch_up().await?;
        self.read_model
            .compute(move |index| {
                buckets
                    .into_iter()
                    .map(|window| {
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
        self.catch_up().await?;
        self.read_model
            .compute(move |index| {
                assessment_flow(
                    index.assessments().filter(|a| a.source_id == source),
                    &source,
                    window,
                )
            })
            .await
    }

    async fn source_ids(&self) -> RepositoryResult<Vec<SourceId>> {
        self.catch_up().await?;
        self.read_model
            .compute(|index| {
                civcas_domain::reconcile::Facts::sources(index)
                    .iter()
                    .map(|s| s.id.clone())
                    .collect()
            })
            .await
    }
}
