//! Derived figures: rules 2 to 5 for the present, precomputed per cluster and summed per interval of
//! days and of months (the `derived` schema, see its migration), so that a window with no `as_of` and
//! no filter costs what its months cost, not what its incidents do.
//!
//! Writes only mark the incidents they touch (triggers fill `derived.pending`); [`PgStore::refresh_derived`]
//! brings the tables up to date, and the server runs it after every change. A query reads them when
//! its snapshot holds no pending incident. When it holds a few, and the figures are held in memory
//! at its version, it adds what those writes change, computed as the refresh will compute it; and
//! otherwise it computes in full. So an answer never depends on whether the refresh has caught up:
//! only its cost does.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use civcas_domain::reconcile::FigureQuery;
use civcas_domain::{DateInterval, RepositoryResult};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures::FutureExt;
use tokio::sync::{Notify, OnceCell};

use crate::PgStore;
use crate::changes::Changes;
use crate::error::{StoreError, StoreResult};
use crate::figures::WindowDocument;
use crate::held::{FigureChanges, HeldFigures};
use crate::prepared::Prepared;

/// The advisory lock that serialises refreshes across replicas ("civder" in ASCII).
const REFRESH_LOCK: i64 = 0x63_69_76_64_65_72;

/// A refresh after an import recomputes every cluster it touched, far longer than a request may run.
const REFRESH_TIMEOUT: &str = "SET LOCAL statement_timeout = '10min'";

/// From this many pending incidents, and a tenth of the incidents stored ([`ANALYZED_SHARE`]), a
/// refresh first brings the planner's statistics of the tables it reads up to date (`ANALYZE`,
/// outside its transaction, so that they are everybody's). Such a set comes from an import, whose
/// rows the statistics may not describe yet: autovacuum analyzes a table some time after it changed.
/// Planned with statistics taken before an import's later rows (and so with no DUPLICATE verdict),
/// the cluster walk of a refresh of 425,457 incidents took 150 s; in a run whose statistics had
/// caught up, 1.8 s (docs/BENCHMARKS.md, finding 16). Analyzing the three tables takes well under a
/// second, and a refresh this large some seconds.
pub const ANALYZED_REFRESH: u64 = 10_000;

/// The share of the stored incidents (one in this many) that a refresh must take in to analyze
/// first, as autovacuum's own threshold is a tenth of a table. A stream of writes leaves more than
/// [`ANALYZED_REFRESH`] pending between refreshes without changing what the statistics describe, and
/// at 1,000,000 incidents the analysis took 0.7 s of each such refresh (finding 18).
pub const ANALYZED_SHARE: u64 = 10;

/// Whether any incident is pending, and whether the refresh is to analyze first: as many pending as
/// [`ANALYZED_REFRESH`] and [`ANALYZED_SHARE`] say, counted up to that many only, a bounded cost; or
/// [`ANALYZED_REFRESH`] pending and [`CLUSTERS_UNSEEN`]. (A source registered since the last refresh
/// waits for the next write: reading `sources` here would have the refresher wait for whoever locks
/// it.)
static PENDING: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH analyzed AS (
             SELECT greatest({ANALYZED_REFRESH}, reltuples::bigint / {ANALYZED_SHARE}) AS pending
             FROM pg_class WHERE oid = 'incidents'::regclass
         )
         SELECT count(*) > 0 AS due,
                count(*) >= (SELECT pending FROM analyzed)
                OR (count(*) >= {ANALYZED_REFRESH} AND ({CLUSTERS_UNSEEN})) AS analyze_first
         FROM (SELECT FROM derived.pending LIMIT (SELECT pending FROM analyzed)) p"
    )
});

/// Whether the planner's statistics know of fewer than half the DUPLICATE verdicts or links stored
/// (and 100 more): the few rows that join incidents into clusters. The cluster walk's plan turns on
/// how many there are. An import that ends with its DUPLICATE verdicts, as the bench's does, can
/// leave them to a last refresh too small to analyze by [`ANALYZED_SHARE`], whose walk, planned for
/// none, ran for 110 s where it takes seconds (docs/BENCHMARKS.md, finding 29). The DUPLICATE
/// verdicts are counted through their partial index, only when a refresh is that large.
const CLUSTERS_UNSEEN: &str = "
    (SELECT count(*) FROM assessments WHERE duplicate_of IS NOT NULL)
        > 2 * (SELECT COALESCE((1 - s.null_frac) * greatest(c.reltuples, 0), 0)
               FROM pg_class c
               LEFT JOIN pg_stats s
                 ON s.schemaname = 'public' AND s.tablename = 'assessments' AND s.attname = 'duplicate_of'
               WHERE c.oid = 'assessments'::regclass) + 100
    OR (SELECT n_live_tup FROM pg_stat_user_tables WHERE relid = 'incident_links'::regclass)
        > 2 * (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'incident_links'::regclass) + 100";

/// Refreshes at most this often, so that a stream of writes is taken in batches, not one by one.
const REFRESH_PAUSE: Duration = Duration::from_millis(100);

/// After a refresh the refresher pauses this many times as long as the refresh took (within
/// [`REFRESH_PAUSE`] and [`LONGEST_PAUSE`]), so that under a stream of writes the refresh takes at most
/// about a fifth of one core and leaves the rest to the writes, in larger and cheaper batches.
const PAUSE_PER_REFRESH_TIME: u32 = 4;

/// The longest pause between refreshes while writes keep coming.
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// The pause after a refresh, or a reading of the held figures, that took `took`.
fn pause_after(took: Duration) -> Duration {
    (took * PAUSE_PER_REFRESH_TIME).clamp(REFRESH_PAUSE, LONGEST_PAUSE)
}

/// Waits `pause`, or less if a caller wants the figures refreshed meanwhile, but at least
/// [`REFRESH_PAUSE`], so that a refresh that failed, or that another replica's held off, is not tried
/// again at every caller's wish: whether one was wanted.
///
/// The pause after a refresh leaves the cores to the writes. But a caller behind more pending writes
/// than its answers can take in computes them in full, a year's in seconds of a core at 1,000,000
/// incidents, while the refresh that ends this costs a fraction of that per incident: so such a
/// caller cuts the pause short, and with no caller asking, the writes keep their share.
async fn until_wanted(pause: Duration, wanted: &Notify) -> bool {
    tokio::time::sleep(REFRESH_PAUSE).await;
    tokio::select! {
        biased;
        () = wanted.notified() => true,
        () = tokio::time::sleep(pause.saturating_sub(REFRESH_PAUSE)) => false,
    }
}

/// How often the refresher looks for pending incidents when no change is announced: the change feed
/// can miss notifications while it reconnects.
const REFRESH_TICK: Duration = Duration::from_secs(10);

static REFRESH_DERIVED: LazyLock<String> =
    LazyLock::new(|| crate::figures::with_fragments(include_str!("sql/refresh_derived.sql")));
static PENDING_FIGURES: LazyLock<String> =
    LazyLock::new(|| crate::figures::with_fragments(include_str!("sql/pending_figures.sql")));
/// What the refresh just run changed, read in its transaction from its temporary tables.
static REFRESH_CHANGES: LazyLock<String> =
    LazyLock::new(|| crate::figures::with_fragments("WITH {changes_document}"));

/// Up to this many incidents taken, a refresh hands what it changed to the figures held in memory,
/// which move to its version without being read again (1.3 to 1.5 s at 1,000,000 incidents); past
/// it, as after an import, they are read again.
const CHANGES_HELD: i64 = 10_000;

/// How long a caller waits for the figures held to follow a refresh that its snapshot sees
/// committed: the refresh's changes are in hand by then, and only wait to be taken in.
const FOLLOW_WAIT: Duration = Duration::from_secs(1);

/// How many refreshes' changes are kept, for figures read meanwhile to catch up with: a reading takes
/// 1.4 s at 1,000,000 incidents, and refreshes under a stream of writes come every 100 ms or more.
const CHANGES_KEPT: usize = 32;

/// Up to this many pending rows (incidents, some more than once), a snapshot's answers are the
/// figures held in memory with what the pending writes change (sql/pending_figures.sql), which costs
/// what the next refresh's recomputation of their clusters does; past it, as after an import, they
/// are computed in full.
pub const PENDING_HELD: usize = 1_000;

/// The derived figures' version in a snapshot, the incidents pending in it (read up to one more row
/// than [`PENDING_HELD`] only), and the registered sources, which an answer reports on unless its
/// query names its sources: one round trip for both, where an answer found kept makes only three
/// others.
static DERIVED_STATE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT version, stamp,
                ARRAY(SELECT incident_id FROM derived.pending LIMIT {}) AS pending,
                ARRAY(SELECT id FROM sources ORDER BY id) AS sources
         FROM derived.version",
        PENDING_HELD + 1
    )
});

#[derive(QueryableByName)]
struct Document {
    #[diesel(sql_type = Text)]
    document: String,
}

/// One version of the derived figures: its number, which every refresh adds one to, and the stamp
/// a trigger drew at random when it did (`derived.version`). The number orders the versions of one
/// history of the database. The stamp tells two refreshes to the same number apart, when the
/// database's history forked: a failover that lost the last refresh's commit, or a restore from a
/// backup, has its refreshes count the same numbers again over other data, and figures held or
/// answers kept at a number must not answer for another history's.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub(crate) struct Version {
    #[diesel(sql_type = BigInt, column_name = version)]
    pub(crate) number: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) stamp: i64,
}

/// What the refresh in a transaction took in (its pending incidents), and what it did to the
/// version: the one it started from, and the one it led to.
#[derive(QueryableByName)]
struct RefreshStep {
    #[diesel(sql_type = BigInt)]
    taken: i64,
    #[diesel(embed)]
    to: Version,
    #[diesel(sql_type = BigInt)]
    previous_stamp: i64,
}

impl RefreshStep {
    fn from(&self) -> Version {
        Version {
            number: self.to.number - 1,
            stamp: self.previous_stamp,
        }
    }
}

#[derive(QueryableByName)]
struct DerivedState {
    #[diesel(embed)]
    version: Version,
    #[diesel(sql_type = Array<BigInt>)]
    pending: Vec<i64>,
    #[diesel(sql_type = Array<Text>)]
    sources: Vec<String>,
}

#[derive(QueryableByName)]
struct Pending {
    #[diesel(sql_type = Bool)]
    due: bool,
    #[diesel(sql_type = Bool)]
    analyze_first: bool,
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    flag: bool,
}

impl PgStore {
    /// Brings the derived figures up to the latest committed writes, and returns how many pending
    /// incidents it took; `None` when another refresh (in this process or another replica) holds
    /// the lock, which leaves the pending incidents to it and to the next refresh.
    pub async fn refresh_derived(&self) -> RepositoryResult<Option<u64>> {
        let mut conn = self.conn().await?;
        let pending: Pending = Prepared(diesel::sql_query(PENDING.as_str()))
            .get_result(&mut conn)
            .await
            .map_err(crate::error::classify)?;
        if !pending.due {
            return Ok(Some(0));
        }
        // A session lock, taken before the transaction begins: its REPEATABLE READ snapshot must
        // follow the previous refresh's commit, or it would recompute from older data.
        let locked: Flag = diesel::sql_query(format!(
            "SELECT pg_try_advisory_lock({REFRESH_LOCK}) AS flag"
        ))
        .get_result(&mut conn)
        .await
        .map_err(crate::error::classify)?;
        if !locked.flag {
            return Ok(None);
        }
        if pending.analyze_first
            && let Err(error) = conn
                .batch_execute("ANALYZE incidents, incident_links, assessments")
                .await
        {
            // The refresh goes on with the statistics as they are.
            tracing::warn!(%error, "cannot analyze the tables before a large refresh");
        }
        let following = Following(&self.derived_answers);
        let refreshed = conn
            .build_transaction()
            .repeatable_read()
            .run(async |conn| {
                conn.batch_execute(REFRESH_TIMEOUT).await?;
                conn.batch_execute(&REFRESH_DERIVED).await?;
                let step: RefreshStep = diesel::sql_query(
                    "SELECT (SELECT count(*) FROM refresh_pending) AS taken,
                            version, stamp, previous_stamp
                     FROM derived.version",
                )
                .get_result(conn)
                .await?;
                // Asked as late as may be, so that a reading that began meanwhile, whose snapshot
                // may precede this commit, has these changes to catch up with.
                let holding = self.derived_answers.holding();
                let changes = if holding && step.taken <= CHANGES_HELD {
                    let changes: Document = diesel::sql_query(REFRESH_CHANGES.as_str())
                        .get_result(conn)
                        .await?;
                    self.derived_answers
                        .following
                        .store(step.to.number, Ordering::SeqCst);
                    Some((step.from(), step.to, changes.document))
                } else {
                    None
                };
                Ok::<_, StoreError>((step.taken, changes))
            })
            .await;
        // Committed: callers may see the version already, and wait for the held figures.
        let refreshed = refreshed.map(|(taken, changes)| {
            if let Some((from, to, changes)) = changes {
                self.derived_answers.refreshed(from, to, changes.into());
            }
            taken
        });
        // Before the unlock's round trip, which the callers waiting for the figures need not wait.
        drop(following);
        let unlocked = conn
            .batch_execute(&format!("SELECT pg_advisory_unlock({REFRESH_LOCK})"))
            .await
            .map_err(crate::error::classify);
        let taken = refreshed?;
        unlocked?;
        Ok(Some(u64::try_from(taken).unwrap_or_default()))
    }

    /// Refreshes the derived figures whenever `changes` moves, and every ten seconds besides,
    /// until `changes` closes; after the shortest pause (0.1 s), or at once when idle,
    /// when a caller computed its answers in full behind more than [`PENDING_HELD`] pending writes
    /// (see `until_wanted`).
    pub fn keep_derived_fresh(&self, mut changes: Changes) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let wanted = &store.derived_answers.refresh_wanted;
            loop {
                // A wish made before this refresh begins is granted by it, whose snapshot sees the
                // writes the caller saw pending: it must not end the pause after it too.
                wanted.notified().now_or_never();
                let started = tokio::time::Instant::now();
                let refreshed = store.refresh_derived().await;
                match &refreshed {
                    Ok(Some(0) | None) => {}
                    Ok(Some(incidents)) => tracing::info!(
                        incidents,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "derived figures refreshed"
                    ),
                    Err(error) => tracing::warn!(%error, "cannot refresh the derived figures"),
                }
                if until_wanted(pause_after(started.elapsed()), wanted).await {
                    continue;
                }
                // Another refresher held the lock: what it did not see is still pending, so try
                // again after the pause rather than wait for the next change.
                if matches!(refreshed, Ok(None)) {
                    continue;
                }
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    () = wanted.notified() => {}
                    () = tokio::time::sleep(REFRESH_TICK) => {}
                }
            }
        })
    }

    /// Reads the derived figures into memory, where the callers of the present whose snapshot sees
    /// the same version compute their answers without a query. Returns the version read, or `None`
    /// when the latest is held already, and has not outgrown what was read.
    pub async fn hold_derived(&self) -> RepositoryResult<Option<i64>> {
        let mut conn = self.conn().await?;
        let _reading = Reading::new(&self.derived_answers);
        let held = conn
            .build_transaction()
            .repeatable_read()
            .read_only()
            .run(async |conn| {
                let latest: Version = Prepared(diesel::sql_query(
                    "SELECT version, stamp FROM derived.version",
                ))
                .get_result(conn)
                .await?;
                if !self.derived_answers.reading_needed(latest).await {
                    return Ok(None);
                }
                HeldFigures::read(conn, latest).await.map(Some)
            })
            .await?;
        let Some(held) = held else { return Ok(None) };
        let version = held.version;
        *self
            .derived_answers
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(held));
        self.derived_answers.catch_up()?;
        Ok(Some(version.number))
    }

    /// Holds the derived figures in memory at the version a caller found none held at, until
    /// aborted. Like the refresher, it pauses after each reading four times as long as the reading
    /// took, so that while refreshes follow one another it takes at most a fifth of a core.
    pub fn keep_derived_held(&self) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                store.derived_answers.hold_wanted.notified().await;
                let started = tokio::time::Instant::now();
                match store.hold_derived().await {
                    Ok(None) => {}
                    Ok(Some(version)) => tracing::info!(
                        version,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "derived figures held in memory"
                    ),
                    Err(error) => {
                        tracing::warn!(%error, "cannot hold the derived figures in memory")
                    }
                }
                tokio::time::sleep(pause_after(started.elapsed())).await;
            }
        })
    }
}

/// How many answers of each kind (windows of the derived figures, queries computed in full) are kept
/// at once; past that they are all dropped and kept anew. A document is a few kilobytes (it lists at
/// most 100 clusters of each kind), and platforms that poll ask the same few queries again and again.
const KEPT_ANSWERS: usize = 256;

/// The documents of recent queries, for one version of the derived figures, and the derived figures
/// themselves held in memory (see [`crate::held`]).
///
/// The derived figures change only when a refresh adds one to their version (`derived.version`), so
/// a document read at a version is the answer of every snapshot that sees that version and nothing
/// pending. So is a document computed in full (a query with a filter or an `as_of`) in such a
/// snapshot: every write to what the full computation reads marks an incident pending. Callers
/// asking the same at the same time share one reading or computation: the first does it, the others
/// wait for it. A caller whose snapshot holds a few pending writes computes its
/// answers from the figures held at its version with what those writes change, each anew; one
/// whose snapshot holds more, or that finds no figures held at its version, computes in full.
///
/// The figures held follow the refreshes this process runs, from what each changed, rather than
/// being read again (1.3 to 1.5 s at 1,000,000 incidents), so that under a stream of writes they
/// stay at the latest version. They are read again after a refresh of more than [`CHANGES_HELD`]
/// incidents (an import's), a new source's first assessment, another replica's refresh, or once the
/// changes taken in weigh a quarter of what was read ([`HeldFigures::outgrown`]).
#[derive(Debug, Default)]
pub(crate) struct DerivedAnswers {
    kept: Mutex<Kept>,
    /// The derived figures in memory, at the version they were read at or refreshed to since.
    held: Mutex<Option<Arc<HeldFigures>>>,
    /// The changes of the latest refreshes of this process, oldest first, for the figures held to
    /// follow.
    refreshes: Mutex<VecDeque<Refresh>>,
    /// Woken when a caller finds no figures held at its version ([`PgStore::keep_derived_held`]).
    hold_wanted: Notify,
    /// Woken when a caller computes its answers in full behind more pending writes than they can
    /// take in ([`PgStore::keep_derived_fresh`]).
    refresh_wanted: Notify,
    /// The version a refresh of this process is taking the held figures to, from before it commits
    /// until they have followed it (or it failed); 0 when none is. A caller whose snapshot sees that
    /// version before the held figures reach it waits for them, rather than compute its answers
    /// another way and have the figures read again.
    following: AtomicI64,
    /// Woken when a refresh of this process ends, after the held figures have followed it or not.
    followed: Notify,
    /// How many readings of the figures are under way: the refreshes meanwhile keep their changes
    /// for the readings to catch up with, as they do for figures held.
    readings: AtomicU64,
    /// Documents read from the database.
    read: AtomicU64,
    /// Documents found kept, or read by another caller of the same window.
    found: AtomicU64,
    /// Documents computed from the figures held in memory.
    computed: AtomicU64,
    /// Documents computed from the figures held in memory with what pending writes change.
    pending: AtomicU64,
    /// Answers of the present computed in full, as some write was pending.
    full: AtomicU64,
    /// Documents of queries the derived figures cannot give, found kept from an earlier computation
    /// in full, or computed by another caller of the same query at the same time.
    kept_in_full: AtomicU64,
}

/// How the answers of the present were found, since the store was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerivedAnswerCounts {
    /// Read from the derived figures.
    pub read: u64,
    /// Found kept from an earlier reading at the same version, or read by another caller of the
    /// same window at the same time (callers of one window share its reading).
    pub kept: u64,
    /// Computed from the derived figures held in memory at the same version.
    pub held: u64,
    /// Computed from the derived figures held in memory at the same version, with what the writes
    /// pending in the caller's snapshot change in them.
    pub pending: u64,
    /// Computed in full, as writes were pending: too many, or no figures held at their version.
    pub full: u64,
    /// Of the queries the derived figures cannot give (a filter, an `as_of`), which are computed in
    /// full: found kept from an earlier computation at the same version with nothing pending, or
    /// computed by another caller of the same query at the same time.
    pub kept_in_full: u64,
}

/// A document being found, or found: callers that find it wait for the first.
type Answer = Arc<OnceCell<Arc<WindowDocument>>>;

/// What one refresh of this process changed, from one version to the next.
#[derive(Debug)]
struct Refresh {
    from: Version,
    to: Version,
    changes: Arc<str>,
}

/// What a kept document answers: a window of the derived figures, or a query they cannot give,
/// computed in full.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Asked {
    Window(DateInterval),
    InFull(FigureQuery),
}

/// The answers kept at one version. Those computed in full are kept apart, so that a series of many
/// buckets with a filter cannot drop the windows a dashboard polls, nor they its buckets.
#[derive(Debug, Default)]
struct Kept {
    version: Version,
    windows: HashMap<DateInterval, Answer>,
    in_full: HashMap<FigureQuery, Answer>,
}

/// The answer kept in `answers` for `key`, new if none is: when they are full, every answer in them
/// is dropped first, and kept anew.
fn kept<K: Hash + Eq>(answers: &mut HashMap<K, Answer>, key: K) -> Answer {
    if answers.len() >= KEPT_ANSWERS && !answers.contains_key(&key) {
        answers.clear();
    }
    Arc::clone(answers.entry(key).or_default())
}

/// The derived figures as one snapshot sees them: their version, the answers kept for it, and the
/// writes pending in it, if any.
#[derive(Debug, Clone)]
pub(crate) struct DerivedSnapshot<'a> {
    answers: &'a DerivedAnswers,
    version: Version,
    pending: Option<Arc<HeldPending>>,
}

/// Marks no refresh as followed when dropped, whichever way the refresh ended, and wakes the
/// callers waiting for one ([`DerivedAnswers::following`]).
struct Following<'a>(&'a DerivedAnswers);

impl Drop for Following<'_> {
    fn drop(&mut self) {
        self.0.following.store(0, Ordering::SeqCst);
        self.0.followed.notify_waiters();
    }
}

/// Counts a reading of the figures under way until dropped ([`DerivedAnswers::readings`]).
struct Reading<'a>(&'a DerivedAnswers);

impl<'a> Reading<'a> {
    fn new(answers: &'a DerivedAnswers) -> Self {
        answers.readings.fetch_add(1, Ordering::SeqCst);
        Self(answers)
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0.readings.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The figures held at a snapshot's version, and what the writes pending in it change in them.
#[derive(Debug)]
struct HeldPending {
    held: Arc<HeldFigures>,
    figures: FigureChanges,
}

impl DerivedSnapshot<'_> {
    /// The derived document of `window`: found kept, computed from the figures held in memory at
    /// the snapshot's version, or else read in `conn`'s transaction (the snapshot's), which asks for
    /// the figures to be held at it. `None` for a window the derived figures cannot express.
    pub(crate) async fn document(
        &self,
        conn: &mut AsyncPgConnection,
        window: DateInterval,
    ) -> StoreResult<Option<Arc<WindowDocument>>> {
        let Some(months) = crate::figures::whole_months(window) else {
            return Ok(None);
        };
        let answers = self.answers;
        if let Some(pending) = &self.pending {
            // Not kept: another snapshot at this version may hold other pending writes.
            let document = pending.held.document(window, Some(&pending.figures))?;
            answers.pending.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(Arc::new(document)));
        }
        let mut found = &answers.found;
        let document = answers
            .answer(self.version, Asked::Window(window))
            .get_or_try_init(|| async {
                if let Some(held) = answers.held_at_soon(self.version).await {
                    found = &answers.computed;
                    return Ok(Arc::new(held.document(window, None)?));
                }
                answers.hold_wanted.notify_one();
                let document = crate::figures::derived_document(conn, window, months).await?;
                found = &answers.read;
                Ok::<_, StoreError>(Arc::new(document))
            })
            .await?
            .clone();
        found.fetch_add(1, Ordering::Relaxed);
        Ok(Some(document))
    }

    /// The document of `query`, which the derived figures cannot give: `compute`d in full, or, when
    /// nothing is pending in the snapshot, found kept from a computation at its version. The
    /// sources registered since that computation need not be part of what it is kept by: a source
    /// adds nothing to the document before its first assessment, which marks an incident pending,
    /// and the answer lists the snapshot's sources, zero-filled.
    pub(crate) async fn in_full(
        &self,
        query: &FigureQuery,
        compute: impl Future<Output = StoreResult<WindowDocument>>,
    ) -> StoreResult<Arc<WindowDocument>> {
        if self.pending.is_some() {
            // Not kept: another snapshot at this version may hold other pending writes.
            return Ok(Arc::new(compute.await?));
        }
        let mut computed = false;
        let asked = Asked::InFull(query.clone());
        let document = self
            .answers
            .answer(self.version, asked)
            .get_or_try_init(|| async {
                computed = true;
                Ok::<_, StoreError>(Arc::new(compute.await?))
            })
            .await?
            .clone();
        if !computed {
            self.answers.kept_in_full.fetch_add(1, Ordering::Relaxed);
        }
        Ok(document)
    }
}

impl DerivedAnswers {
    /// The registered sources, and the derived figures in the snapshot of `conn`'s transaction for
    /// `answers` answers of `query`: with nothing pending in it, as they are, which also keeps the
    /// answers computed in full of a query they cannot give ([`DerivedSnapshot::in_full`]); for a
    /// query they can give, with what the writes pending in it change when they are few and the
    /// figures are held at its version. `None` when it holds pending writes that they cannot take
    /// in, and the answers are then computed in full.
    pub(crate) async fn snapshot(
        &self,
        conn: &mut AsyncPgConnection,
        query: &FigureQuery,
        answers: usize,
    ) -> StoreResult<(Vec<String>, Option<DerivedSnapshot<'_>>)> {
        let state: DerivedState = Prepared(diesel::sql_query(DERIVED_STATE.as_str()))
            .get_result(conn)
            .await?;
        let snapshot = |pending| DerivedSnapshot {
            answers: self,
            version: state.version,
            pending,
        };
        if state.pending.is_empty() {
            return Ok((state.sources, Some(snapshot(None))));
        }
        if !crate::figures::derivable(query) {
            return Ok((state.sources, None));
        }
        // With more pending, the answers are computed in full until a refresh takes them in: the
        // refresher is wanted now, and figures held at this version would answer nothing before it
        // moves the version on.
        let held = if state.pending.len() > PENDING_HELD {
            self.refresh_wanted.notify_one();
            None
        } else {
            let held = self.held_at_soon(state.version).await;
            if held.is_none() {
                self.hold_wanted.notify_one();
            }
            held
        };
        let pending = match held {
            Some(held) => {
                let document: Document = Prepared(
                    diesel::sql_query(PENDING_FIGURES.as_str())
                        .bind::<Array<BigInt>, _>(&state.pending),
                )
                .get_result(conn)
                .await?;
                FigureChanges::new(&document.document, &held)?
                    .map(|figures| Arc::new(HeldPending { held, figures }))
            }
            None => None,
        };
        if pending.is_none() {
            let answers = u64::try_from(answers).unwrap_or(u64::MAX);
            self.full.fetch_add(answers, Ordering::Relaxed);
        }
        let snapshot = pending.map(|pending| snapshot(Some(pending)));
        Ok((state.sources, snapshot))
    }

    /// The kept answer of `asked` at `version`, new if none is kept. Any other version than the
    /// kept one drops every kept answer: a newer one because they are stale, an older one or one of
    /// another stamp because the database's history forked. (A reader whose snapshot began before
    /// the latest refresh also drops them, which costs a reading, never a wrong answer.)
    fn answer(&self, version: Version, asked: Asked) -> Answer {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if version != kept.version {
            *kept = Kept {
                version,
                ..Kept::default()
            };
        }
        match asked {
            Asked::Window(window) => self::kept(&mut kept.windows, window),
            Asked::InFull(query) => self::kept(&mut kept.in_full, query),
        }
    }

    /// Whether figures are held in memory, at any version, or being read: what a refresh changed is
    /// then kept for them.
    fn holding(&self) -> bool {
        AtomicU64::load(&self.readings, Ordering::SeqCst) > 0
            || self
                .held
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_some()
    }

    /// Whether the figures are to be read at `latest`: none are held at it, once a refresh of this
    /// process that committed it has taken them there or not, or they have outgrown what was read.
    /// Figures at another version are then let go of first.
    async fn reading_needed(&self, latest: Version) -> bool {
        let held = self.held_at_soon(latest).await;
        if held.is_some_and(|held| !held.outgrown()) {
            return false;
        }
        self.let_go_unless_at(latest);
        true
    }

    /// Lets go of the figures held, unless they are at `version`: an older one's, or another
    /// history's, answer no snapshot of it, so they would only double the memory a reading at it
    /// takes.
    fn let_go_unless_at(&self, version: Version) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.as_ref().is_some_and(|held| held.version != version) {
            *held = None;
        }
    }

    /// Keeps what the refresh from `from` to `to` changed, and has the figures held follow it. (The
    /// callers waiting for them are woken when the refresh's [`Following`] is dropped.)
    fn refreshed(&self, from: Version, to: Version, changes: Arc<str>) {
        {
            let mut refreshes = self
                .refreshes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // Refreshes kept from this number on are of a history the database has left (a
            // failover or restore): figures read at `from` must follow this one, not those.
            refreshes.retain(|kept| kept.from.number < from.number);
            if refreshes.len() == CHANGES_KEPT {
                refreshes.pop_front();
            }
            refreshes.push_back(Refresh { from, to, changes });
        }
        if let Err(error) = self.catch_up() {
            tracing::warn!(
                ?error,
                "cannot take a refresh into the derived figures held in memory"
            );
        }
    }

    /// Takes into the figures held the changes kept of the refresh from their version, then of the
    /// one from where that led, and so on while there is one; and asks for them to be read again
    /// once they have taken in enough ([`HeldFigures::outgrown`]), or when a refresh's changes do
    /// not apply to them.
    fn catch_up(&self) -> StoreResult<()> {
        loop {
            let Some(held) = self
                .held
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
            else {
                return Ok(());
            };
            let next = {
                let refreshes = self
                    .refreshes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let found = refreshes.iter().find(|r| r.from == held.version);
                found.map(|r| (r.to, Arc::clone(&r.changes)))
            };
            let Some((to, changes)) = next else {
                return Ok(());
            };
            let Some(changes) = FigureChanges::new(&changes, &held)? else {
                self.hold_wanted.notify_one();
                return Ok(());
            };
            let refreshed = Arc::new(held.refreshed(changes, to));
            if refreshed.outgrown() {
                self.hold_wanted.notify_one();
            }
            let mut current = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            // Another reading or refresh may have replaced them meanwhile: then start again.
            if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, &held)) {
                *current = Some(refreshed);
            }
        }
    }

    /// The figures held in memory, if they are at `version`.
    fn held_at(&self, version: Version) -> Option<Arc<HeldFigures>> {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.as_ref().filter(|h| h.version == version).cloned()
    }

    /// The figures held in memory at `version`, once they are there if this process's refresh is
    /// taking them there (for up to [`FOLLOW_WAIT`]).
    async fn held_at_soon(&self, version: Version) -> Option<Arc<HeldFigures>> {
        let waited = tokio::time::timeout(FOLLOW_WAIT, async {
            loop {
                // Listening before looking, so that a wake-up between the two is not missed.
                let followed = self.followed.notified();
                tokio::pin!(followed);
                followed.as_mut().enable();
                if let Some(held) = self.held_at(version) {
                    return Some(held);
                }
                if AtomicI64::load(&self.following, Ordering::SeqCst) != version.number {
                    return None;
                }
                followed.await;
            }
        });
        waited.await.ok().flatten()
    }

    pub(crate) fn counts(&self) -> DerivedAnswerCounts {
        DerivedAnswerCounts {
            read: AtomicU64::load(&self.read, Ordering::Relaxed),
            kept: AtomicU64::load(&self.found, Ordering::Relaxed),
            held: AtomicU64::load(&self.computed, Ordering::Relaxed),
            pending: AtomicU64::load(&self.pending, Ordering::Relaxed),
            full: AtomicU64::load(&self.full, Ordering::Relaxed),
            kept_in_full: AtomicU64::load(&self.kept_in_full, Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a refresh that changed nothing hands the figures held.
    const NO_CHANGES: &str = r#"{"complete": true, "gap_sources": [], "stale": [],
        "tiers": [], "verdicts": [], "coverage": [], "runs": []}"#;

    /// Version `number` of one history of the database.
    fn at(number: i64) -> Version {
        Version { number, stamp: 0 }
    }

    fn holding(version: Version) -> Arc<DerivedAnswers> {
        let answers = Arc::new(DerivedAnswers::default());
        *answers.held.lock().unwrap() = Some(Arc::new(HeldFigures::empty(version)));
        answers
    }

    /// A refresh of this process to `number` that has committed, and hands its changes to the held
    /// figures a little later.
    fn committed(answers: &Arc<DerivedAnswers>, number: i64) -> tokio::task::JoinHandle<()> {
        AtomicI64::store(&answers.following, number, Ordering::SeqCst);
        let answers = Arc::clone(answers);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            answers.refreshed(at(number - 1), at(number), NO_CHANGES.into());
            drop(Following(&answers));
        })
    }

    #[test]
    fn a_reading_lets_go_of_other_figures_and_has_the_refreshes_meanwhile_keep_their_changes() {
        let answers = DerivedAnswers::default();
        assert!(!answers.holding());
        let reading = Reading::new(&answers);
        assert!(
            answers.holding(),
            "nothing held, but the figures are being read"
        );
        drop(reading);
        assert!(!answers.holding());

        let answers = holding(at(4));
        answers.let_go_unless_at(at(4));
        assert!(
            answers.held_at(at(4)).is_some(),
            "let go of figures at the version read"
        );
        let _reading = Reading::new(&answers);
        answers.let_go_unless_at(at(5));
        assert!(answers.held.lock().unwrap().is_none(), "kept older figures");
        assert!(answers.holding());

        let answers = holding(at(4));
        answers.let_go_unless_at(Version {
            number: 4,
            stamp: 1,
        });
        assert!(
            answers.held.lock().unwrap().is_none(),
            "kept another history's figures"
        );
    }

    #[test]
    fn answers_computed_in_full_do_not_drop_the_windows_kept() {
        let answers = DerivedAnswers::default();
        let day = |ordinal| chrono::NaiveDate::from_yo_opt(2019, ordinal).unwrap();
        let year = DateInterval::new(day(1), day(365)).unwrap();
        let kept = answers.answer(at(1), Asked::Window(year));
        // A series of more buckets with a filter than are kept.
        for ordinal in 1..=u32::try_from(KEPT_ANSWERS).unwrap() + 1 {
            let bucket = FigureQuery {
                window: DateInterval::new(day(ordinal), day(ordinal)).unwrap(),
                filters: civcas_domain::reconcile::Filters::default(),
                as_of: Some(day(365)),
            };
            answers.answer(at(1), Asked::InFull(bucket));
        }
        assert!(Arc::ptr_eq(
            &kept,
            &answers.answer(at(1), Asked::Window(year))
        ));
        assert!(!Arc::ptr_eq(
            &kept,
            &answers.answer(at(2), Asked::Window(year))
        ));
    }

    #[test]
    fn figures_and_changes_of_another_history_answer_nothing_in_this_one() {
        // This process followed a refresh from 4 to 5, which a failover lost; on the new primary,
        // a refresh from 4 led to another 5.
        let answers = holding(at(4));
        answers.refreshed(at(4), at(5), NO_CHANGES.into());
        assert!(answers.held_at(at(5)).is_some());
        let forked = Version {
            number: 5,
            stamp: 1,
        };
        assert!(
            answers.held_at(forked).is_none(),
            "another history's figures held"
        );
        let year = DateInterval::new(
            chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2019, 12, 31).unwrap(),
        )
        .unwrap();
        assert!(
            !Arc::ptr_eq(
                &answers.answer(at(5), Asked::Window(year)),
                &answers.answer(forked, Asked::Window(year))
            ),
            "an answer kept at another history's version"
        );

        // Figures read at the new 5 follow the new history's refreshes only.
        *answers.held.lock().unwrap() = Some(Arc::new(HeldFigures::empty(forked)));
        answers.refreshed(at(5), at(6), NO_CHANGES.into());
        assert!(
            answers.held_at(at(6)).is_none(),
            "followed the lost history"
        );
        let next = Version {
            number: 6,
            stamp: 2,
        };
        answers.refreshed(forked, next, NO_CHANGES.into());
        assert!(answers.held_at(next).is_some());

        // Restored to 4, the database refreshes from it again: figures read at 4 follow that
        // refresh, not the one this process followed from 4 before.
        *answers.held.lock().unwrap() = Some(Arc::new(HeldFigures::empty(at(4))));
        let restored = Version {
            number: 5,
            stamp: 3,
        };
        answers.refreshed(at(4), restored, NO_CHANGES.into());
        assert!(
            answers.held_at(restored).is_some(),
            "followed a refresh of the history left"
        );
    }

    #[tokio::test]
    async fn a_refresh_wanted_ends_the_pause_after_the_shortest_one() {
        let wanted = Notify::new();
        wanted.notify_one();
        let started = std::time::Instant::now();
        assert!(until_wanted(Duration::from_secs(60), &wanted).await);
        let waited = started.elapsed();
        assert!(
            (REFRESH_PAUSE..Duration::from_secs(1)).contains(&waited),
            "waited {waited:?}"
        );
        assert!(
            !until_wanted(REFRESH_PAUSE, &wanted).await,
            "one wish ended two pauses"
        );
    }

    #[tokio::test]
    async fn a_reading_waits_for_the_held_figures_to_follow_the_refresh_it_sees() {
        // The figures held at 4 follow the refresh to 5, and are neither let go of nor read again.
        let answers = holding(at(4));
        let refresher = committed(&answers, 5);
        assert!(
            !answers.reading_needed(at(5)).await,
            "read figures that follow"
        );
        assert!(answers.held_at(at(5)).is_some());
        refresher.await.unwrap();

        // Nothing takes them to 6: they are let go of before the reading.
        assert!(answers.reading_needed(at(6)).await);
        assert!(answers.held.lock().unwrap().is_none(), "kept older figures");
    }

    #[tokio::test]
    async fn a_caller_waits_for_the_held_figures_to_follow_the_refresh_its_snapshot_sees() {
        let answers = holding(at(4));
        assert!(
            answers.held_at_soon(at(5)).await.is_none(),
            "no refresh to follow"
        );

        let refresher = committed(&answers, 5);
        let held = answers.held_at_soon(at(5)).await;
        assert_eq!(held.map(|held| held.version), Some(at(5)));
        refresher.await.unwrap();

        // A refresh that ends without changes for the held figures lets its waiters go at once.
        AtomicI64::store(&answers.following, 6, Ordering::SeqCst);
        let started = tokio::time::Instant::now();
        let refresher = tokio::spawn({
            let answers = Arc::clone(&answers);
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                drop(Following(&answers));
            }
        });
        assert!(answers.held_at_soon(at(6)).await.is_none());
        assert!(started.elapsed() < FOLLOW_WAIT, "{:?}", started.elapsed());
        refresher.await.unwrap();
        assert!(answers.held_at_soon(at(5)).await.is_some());
    }
}
