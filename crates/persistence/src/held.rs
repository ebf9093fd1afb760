//! The derived figures held in memory for one version of them, so that a window's answer is computed
//! without a query: a few hundred microseconds at 1,000,000 incidents, whatever the window's length
//! (docs/BENCHMARKS.md, findings 21 and 22). Its sums cost a few lookups each, and a look at the
//! intervals in two buckets of days; its listed clusters cost what the window's months hold.
//!
//! A window's sums over the derived tables' day intervals are differences of sums cumulative by first
//! day and by last day (see [`IntervalSums`]), and the listed clusters are found month by month among
//! runs kept in id order. Only the day grain is held: the month grain exists so that PostgreSQL reads
//! fewer rows, which cumulative sums do not need.
//!
//! What is held is the derived tables at one version: read in one snapshot, and then changed by
//! each refresh this process runs, with the sums, stale clusters and new runs it hands over
//! ([`FigureChanges`]), each taking them to the next version. A refresh changes the tables only
//! together with the version (`derived.version`), so held figures answer exactly the callers whose
//! snapshot sees that version and nothing pending, as the derived queries do; and, with the changes
//! the writes pending in a snapshot will make, those whose snapshot holds a few ([`crate::derived`]
//! checks which).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{Datelike, Days, NaiveDate};
use civcas_domain::DateInterval;
use civcas_domain::reconcile::LISTED_CLUSTERS;
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Date, Nullable, SmallInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;

use crate::derived::Version;
use crate::error::{StoreError, StoreResult, corrupt};
use crate::figures::{GapRow, SourceDocument, SourceTierRow, Sums, VerdictRow, WindowDocument};

/// The measures each sum keeps, as the derived tables name them (`k_` killed, `j_` injured).
type Measures = [i64; 9];
const COUNT: usize = 0;
const K_MIN: usize = 1;
const K_MAX_BOUNDED: usize = 2;
const K_UNBOUNDED: usize = 3;
const K_WITHOUT: usize = 4;
const J_MIN: usize = 5;
const J_MAX_BOUNDED: usize = 6;
const J_UNBOUNDED: usize = 7;
const J_WITHOUT: usize = 8;

/// The tiers a source's figures are reported at, as the SQL numbers them.
const SOURCE_TIERS: [i16; 3] = [4, 3, 2];

fn add<const N: usize>(sums: &mut [i64; N], values: &[i64; N]) {
    sums.iter_mut().zip(values).for_each(|(s, v)| *s += v);
}

fn less<const N: usize>(mut sums: [i64; N], values: &[i64; N]) -> [i64; N] {
    sums.iter_mut().zip(values).for_each(|(s, v)| *s -= v);
    sums
}

/// Sums by a day: entry `i` of `sums` sums every interval whose day (first or last) is `days[i]` or
/// earlier.
#[derive(Debug, Clone)]
struct Cumulative<const N: usize> {
    days: Vec<NaiveDate>,
    sums: Vec<[i64; N]>,
}

impl<const N: usize> Cumulative<N> {
    /// From values in the order of their days.
    fn new(ordered: impl Iterator<Item = (NaiveDate, [i64; N])>) -> Self {
        let mut cumulative = Self {
            days: Vec::new(),
            sums: Vec::new(),
        };
        let mut running = [0; N];
        for (day, values) in ordered {
            add(&mut running, &values);
            if cumulative.days.last() == Some(&day) {
                *cumulative.sums.last_mut().expect("a sum for every day") = running;
            } else {
                cumulative.days.push(day);
                cumulative.sums.push(running);
            }
        }
        cumulative
    }

    /// The sums of both, by every day either has.
    fn merged(&self, other: &Self) -> Self {
        let mut days: Vec<NaiveDate> = self.days.iter().chain(&other.days).copied().collect();
        days.sort_unstable();
        days.dedup();
        let sums = days
            .iter()
            .map(|&day| {
                let mut sums = self.through(Some(day));
                add(&mut sums, &other.through(Some(day)));
                sums
            })
            .collect();
        Self { days, sums }
    }

    /// The sum of the intervals whose day is `day` or earlier; nothing when `day` is before time.
    fn through(&self, day: Option<NaiveDate>) -> [i64; N] {
        let Some(day) = day else { return [0; N] };
        match self.days.partition_point(|d| *d <= day) {
            0 => [0; N],
            after => self.sums[after - 1],
        }
    }
}

/// An interval of days `[first, last]` and its measures.
type Interval<const N: usize> = (NaiveDate, NaiveDate, [i64; N]);

/// Measures kept per interval of days, which give for any window their sums over the intervals
/// inside it and over those overlapping it.
#[derive(Debug, Clone)]
struct IntervalSums<const N: usize> {
    by_first: Cumulative<N>,
    by_last: Cumulative<N>,
    /// The intervals of two days or more: the only ones that can hold a window with a day on each
    /// side.
    long: HoldingSums<N>,
}

impl<const N: usize> IntervalSums<N> {
    fn new(mut intervals: Vec<Interval<N>>) -> Self {
        intervals.sort_unstable_by_key(|(first, ..)| *first);
        let by_first = Cumulative::new(intervals.iter().map(|(first, _, v)| (*first, *v)));
        intervals.sort_unstable_by_key(|(_, last, _)| *last);
        let by_last = Cumulative::new(intervals.iter().map(|(_, last, v)| (*last, *v)));
        let long = intervals
            .into_iter()
            .filter(|(first, last, _)| last > first)
            .map(|(first, last, values)| (day(first), day(last), values))
            .collect();
        Self {
            by_first,
            by_last,
            long: HoldingSums::new(long),
        }
    }

    /// Over the intervals of both.
    fn merged(&self, other: &Self) -> Self {
        let long = self.long.intervals.iter().chain(&other.long.intervals);
        Self {
            by_first: self.by_first.merged(&other.by_first),
            by_last: self.by_last.merged(&other.by_last),
            long: HoldingSums::new(long.copied().collect()),
        }
    }

    /// What these sums keep, in entries: what they weigh in memory, and in work to merge.
    fn weight(&self) -> usize {
        self.by_first.days.len() + self.by_last.days.len() + self.long.intervals.len()
    }

    /// Over the intervals that overlap `window`: every interval that starts by its last day, less
    /// those that end before its first (which start before it too).
    fn overlapping(&self, window: DateInterval) -> [i64; N] {
        less(
            self.by_first.through(Some(window.to())),
            &self.by_last.through(window.from().pred_opt()),
        )
    }

    /// Over the intervals inside `window`: every interval that ends by its last day, less those
    /// that start before its first; which takes away twice those that start before it and end after
    /// it, so they are added back.
    fn inside(&self, window: DateInterval) -> [i64; N] {
        let before = window.from().pred_opt();
        let mut sums = less(
            self.by_last.through(Some(window.to())),
            &self.by_first.through(before),
        );
        if let (Some(before), Some(after)) = (before, window.to().succ_opt()) {
            add(&mut sums, &self.long.holding(day(before), day(after)));
        }
        sums
    }
}

/// An interval of days as numbers, `[first, last]`, and its measures.
type DayInterval<const N: usize> = (i32, i32, [i64; N]);

/// Measures of intervals, which give their sums over the intervals that hold two days: a question in
/// two dimensions (the first day, the last), which a scan of the intervals answers in time linear in
/// them, most of a window's answer at 1,000,000 incidents (BENCHMARKS.md, finding 22). So the days
/// are cut into buckets of equal width, at most as many as the square root of the intervals and
/// [`HOLDING_BUCKETS`]; sums over the buckets, cumulative both ways, answer for the intervals
/// starting and ending in other buckets than the two days', and only the intervals starting in the
/// first day's bucket or ending in the last day's are looked at one by one.
#[derive(Debug, Clone)]
struct HoldingSums<const N: usize> {
    /// The first day of the first bucket, and the days in each.
    start: i32,
    width: i32,
    buckets: usize,
    /// Entry `i * buckets + j`: the intervals that start in bucket `i` or before and end in bucket
    /// `j` or after.
    grid: Vec<[i64; N]>,
    /// By the bucket they start in, then by first day.
    intervals: Vec<DayInterval<N>>,
    /// Where each bucket's intervals start in `intervals`, and where the last ones end.
    starting: Vec<usize>,
    /// Indexes into `intervals`, by the bucket they end in, then latest last day first.
    by_end: Vec<usize>,
    /// Where each bucket's indexes start in `by_end`, and where the last ones end.
    ending: Vec<usize>,
}

/// The most buckets [`HoldingSums`] cuts the days into: its cumulative sums cost the square of them.
const HOLDING_BUCKETS: usize = 64;

impl<const N: usize> HoldingSums<N> {
    fn new(mut intervals: Vec<DayInterval<N>>) -> Self {
        let start = intervals
            .iter()
            .map(|(first, ..)| *first)
            .min()
            .unwrap_or(0);
        let end = intervals
            .iter()
            .map(|(_, last, _)| *last)
            .max()
            .unwrap_or(0);
        let buckets = intervals.len().isqrt().clamp(1, HOLDING_BUCKETS);
        // Every interval ends on or after the first day of all, so `days` is at least one.
        let days = (i64::from(end) - i64::from(start) + 1).unsigned_abs();
        let width = i32::try_from(days.div_ceil(buckets as u64)).unwrap_or(i32::MAX);
        let mut sums = Self {
            start,
            width,
            buckets,
            grid: vec![[0; N]; buckets * buckets],
            intervals: Vec::new(),
            starting: Vec::new(),
            by_end: Vec::new(),
            ending: Vec::new(),
        };
        for (first, last, values) in &intervals {
            let cell = sums.bucket(*first) * buckets + sums.bucket(*last);
            add(&mut sums.grid[cell], values);
        }
        // Cumulative over earlier starting buckets, then over later ending ones.
        for i in 1..buckets {
            for j in 0..buckets {
                let earlier = sums.grid[(i - 1) * buckets + j];
                add(&mut sums.grid[i * buckets + j], &earlier);
            }
        }
        for i in 0..buckets {
            for j in (0..buckets - 1).rev() {
                let later = sums.grid[i * buckets + j + 1];
                add(&mut sums.grid[i * buckets + j], &later);
            }
        }
        intervals.sort_unstable_by_key(|(first, ..)| *first);
        sums.starting = offsets(
            buckets,
            intervals.iter().map(|(first, ..)| sums.bucket(*first)),
        );
        let mut by_end: Vec<usize> = (0..intervals.len()).collect();
        by_end.sort_unstable_by_key(|&i| {
            let last = intervals[i].1;
            (sums.bucket(last), std::cmp::Reverse(last))
        });
        sums.ending = offsets(buckets, by_end.iter().map(|&i| sums.bucket(intervals[i].1)));
        sums.by_end = by_end;
        sums.intervals = intervals;
        sums
    }

    /// The bucket `day` falls in, or the first or last one for days before or after them all.
    fn bucket(&self, day: i32) -> usize {
        let bucket = (i64::from(day) - i64::from(self.start)) / i64::from(self.width);
        usize::try_from(bucket).map_or(0, |b| b.min(self.buckets - 1))
    }

    /// Over the intervals that hold `before` and `after` (`before < after`): those starting in an
    /// earlier bucket than `before` and ending in a later one than `after` from the cumulative sums;
    /// those starting in `before`'s bucket, or ending in `after`'s, one by one.
    fn holding(&self, before: i32, after: i32) -> [i64; N] {
        let (i, j) = (self.bucket(before), self.bucket(after));
        let mut sums = match (i.checked_sub(1), j + 1 < self.buckets) {
            (Some(earlier), true) => self.grid[earlier * self.buckets + j + 1],
            _ => [0; N],
        };
        let starting = &self.intervals[self.starting[i]..self.starting[i + 1]];
        for (_, last, values) in starting.iter().take_while(|(first, ..)| *first <= before) {
            if *last >= after {
                add(&mut sums, values);
            }
        }
        for &k in &self.by_end[self.ending[j]..self.ending[j + 1]] {
            let (first, last, values) = &self.intervals[k];
            if *last < after {
                break;
            }
            if self.bucket(*first) < i {
                add(&mut sums, values);
            }
        }
        sums
    }
}

/// For items in the order of their buckets: where each bucket's items start, and the items' end.
fn offsets(buckets: usize, ordered: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut offsets = vec![0; buckets + 1];
    for bucket in ordered {
        offsets[bucket + 1] += 1;
    }
    for b in 0..buckets {
        offsets[b + 1] += offsets[b];
    }
    offsets
}

/// Interval sums per key, from rows in any order.
fn by_key<K: Ord, const N: usize>(
    rows: impl IntoIterator<Item = (K, Interval<N>)>,
) -> BTreeMap<K, IntervalSums<N>> {
    let mut grouped: BTreeMap<K, Vec<Interval<N>>> = BTreeMap::new();
    for (key, interval) in rows {
        grouped.entry(key).or_default().push(interval);
    }
    grouped
        .into_iter()
        .map(|(key, intervals)| (key, IntervalSums::new(intervals)))
        .collect()
}

/// Sums over clusters, kept as `derived.terms` splits each cluster into intervals: a cluster is
/// inside a window when its span is, and meets it when some run of its members does. The runs that
/// meet a window are consecutive, so a cluster that meets it counts once as its runs overlapping it
/// less its pairs of consecutive runs both meeting it: those whose days between lie inside it.
#[derive(Debug, Clone)]
struct ClusterSums<const N: usize> {
    spans: IntervalSums<N>,
    runs: IntervalSums<N>,
    joins: IntervalSums<N>,
}

impl<const N: usize> ClusterSums<N> {
    /// Over the clusters inside `window`.
    fn inside(&self, window: DateInterval) -> [i64; N] {
        self.spans.inside(window)
    }

    /// Over the clusters that meet `window`.
    fn meeting(&self, window: DateInterval) -> [i64; N] {
        less(self.runs.overlapping(window), &self.joins.inside(window))
    }

    fn merged(&self, other: &Self) -> Self {
        Self {
            spans: self.spans.merged(&other.spans),
            runs: self.runs.merged(&other.runs),
            joins: self.joins.merged(&other.joins),
        }
    }

    fn weight(&self) -> usize {
        self.spans.weight() + self.runs.weight() + self.joins.weight()
    }
}

/// The values of both maps by key, merged where both have one.
fn merged_by_key<K: Ord + Clone, V: Clone>(
    older: &BTreeMap<K, V>,
    newer: &BTreeMap<K, V>,
    merge: impl Fn(&V, &V) -> V,
) -> BTreeMap<K, V> {
    let mut merged: BTreeMap<K, V> = older
        .iter()
        .map(|(key, old)| {
            let value = newer
                .get(key)
                .map_or_else(|| old.clone(), |new| merge(old, new));
            (key.clone(), value)
        })
        .collect();
    for (key, new) in newer.iter().filter(|(key, _)| !older.contains_key(key)) {
        merged.insert(key.clone(), new.clone());
    }
    merged
}

/// Cluster sums per key, from rows in any order, each with its kind of interval as
/// `derived.terms` names it: 's' a cluster's span, 'm' a run of its members, 'j' the days between
/// two consecutive runs.
fn cluster_sums<K: Ord, const N: usize>(
    rows: impl IntoIterator<Item = (K, String, Interval<N>)>,
) -> StoreResult<BTreeMap<K, ClusterSums<N>>> {
    let mut grouped: BTreeMap<K, [Vec<Interval<N>>; 3]> = BTreeMap::new();
    for (key, kind, interval) in rows {
        let term = match kind.as_str() {
            "s" => 0,
            "m" => 1,
            "j" => 2,
            other => return Err(StoreError::Repository(corrupt("kind of interval", other))),
        };
        grouped.entry(key).or_default()[term].push(interval);
    }
    Ok(grouped
        .into_iter()
        .map(|(key, [spans, runs, joins])| {
            let sums = ClusterSums {
                spans: IntervalSums::new(spans),
                runs: IntervalSums::new(runs),
                joins: IntervalSums::new(joins),
            };
            (key, sums)
        })
        .collect())
}

/// A day as a number, for comparisons by the hundred thousand.
fn day(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

/// The months since year 0, which order runs by the month they start in.
fn month(day: NaiveDate) -> i32 {
    day.year() * 12 + day.month0() as i32
}

/// A run of a listed cluster's members: `[first, last]`, in the month `month` (of `first`).
#[derive(Debug, Clone, Copy)]
struct Run {
    month: i32,
    cluster_id: i64,
    first: NaiveDate,
    last: NaiveDate,
}

/// The runs of the clusters on one list (disputed, or a source's gaps that count).
#[derive(Debug, Default, Clone)]
struct ListedRuns {
    /// By the month they start in, then by cluster id.
    runs: Vec<Run>,
    /// Those of two days or more, the only ones that can hold a window's first day and the day
    /// before, by their first day.
    long: Vec<Run>,
    /// How many days the longest run's last day is after its first: how far before a window a
    /// run reaching into it can start. One long run makes every window look at every run starting
    /// that far before it, so this is cheap while runs are short, as an incident's dates are.
    longest: u64,
}

impl ListedRuns {
    fn new(mut runs: Vec<Run>) -> Self {
        runs.sort_unstable_by_key(|r| (r.month, r.cluster_id));
        let mut long: Vec<Run> = runs.iter().filter(|r| r.last > r.first).copied().collect();
        long.sort_unstable_by_key(|r| r.first);
        let longest = long
            .iter()
            .map(|r| (r.last - r.first).num_days().unsigned_abs())
            .max()
            .unwrap_or(0);
        Self {
            runs,
            long,
            longest,
        }
    }

    /// The runs of `older` but those of the clusters in `stale`, and the runs of `newer`.
    fn merged(older: &Self, newer: &Self, stale: &HashSet<i64>) -> Self {
        let kept = older.runs.iter().filter(|r| !stale.contains(&r.cluster_id));
        Self::new(kept.chain(&newer.runs).copied().collect())
    }

    /// The first `listed` ids of the clusters with a run meeting `window` (starting in it, or
    /// holding its first day and the day before): those reaching into it from before, with the
    /// first of each month's runs starting in it, so that a window costs what its months do. Once
    /// `listed` ids are known, the months' runs are read only up to the largest of them.
    fn first_ids(&self, window: DateInterval, listed: usize) -> Vec<i64> {
        let (from, to) = (window.from(), window.to());
        let earliest = from.checked_sub_days(Days::new(self.longest));
        let reaching = earliest.map_or(0, |day| self.long.partition_point(|r| r.first < day));
        let mut ids: Vec<i64> = self.long[reaching..]
            .iter()
            .take_while(|r| r.first < from)
            .filter(|r| r.last >= from)
            .map(|r| r.cluster_id)
            .collect();
        let mut largest = keep_first(&mut ids, listed);
        let mut start = self.runs.partition_point(|r| r.month < month(from));
        while let Some(first) = self.runs.get(start).filter(|r| r.month <= month(to)) {
            let end = start + self.runs[start..].partition_point(|r| r.month == first.month);
            let before = ids.len();
            for run in self.runs[start..end]
                .iter()
                .take_while(|r| r.cluster_id <= largest)
            {
                if ids.len() - before == listed {
                    break;
                }
                let meets = from <= run.first && run.first <= to;
                if meets && ids.last() != Some(&run.cluster_id) {
                    ids.push(run.cluster_id);
                }
            }
            // Sorted now and then, so that the ids kept stay few.
            if ids.len() >= 2 * listed {
                largest = keep_first(&mut ids, listed);
            }
            start = end;
        }
        keep_first(&mut ids, listed);
        ids
    }
}

/// Keeps the `listed` smallest ids, ascending, once each; and returns the largest id that can be
/// among the first `listed`: the last kept when as many are kept.
fn keep_first(ids: &mut Vec<i64>, listed: usize) -> i64 {
    ids.sort_unstable();
    ids.dedup();
    ids.truncate(listed);
    match ids.len() {
        n if n == listed && n > 0 => ids[n - 1],
        _ => i64::MAX,
    }
}

/// A source whose coverage gaps are reported: one that has assessed something.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName, Deserialize)]
struct GapSource {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Nullable<Text>)]
    belligerent: Option<String>,
}

/// The derived tables at one version, by the day, ready to answer any window: as read at some
/// version, and changed by the refreshes since, each to the next version.
#[derive(Debug)]
pub(crate) struct HeldFigures {
    pub(crate) version: Version,
    /// Bytewise by id, as the reference implementation orders them.
    gap_sources: Vec<GapSource>,
    read: Arc<DaySums>,
    /// The changes of the refreshes since, oldest first, in layers each more than twice as heavy
    /// as the next: a refresh's changes are merged with the layers before them that are not, so
    /// that an answer looks at as few layers as the logarithm of the refreshes, and each change is
    /// merged about as many times.
    refreshes: Vec<Arc<FigureChanges>>,
}

/// The figures held are read again once the changes of the refreshes since they were read weigh
/// more than this share (one in this many) of what was read, or [`CHANGES_WEIGHED_ANYWAY`]: each
/// answer looks at them too, and they are held beside what was read.
const READ_AGAIN_SHARE: usize = 4;

/// How much the refreshes' changes may weigh before the figures are read again, however little was
/// read.
const CHANGES_WEIGHED_ANYWAY: usize = 10_000;

/// Sums over the day grain's intervals: the derived tables', or what pending writes change in them.
#[derive(Debug)]
struct DaySums {
    /// Rule 4 per (tier, disputed).
    tiers: BTreeMap<(i16, bool), ClusterSums<9>>,
    /// Rule 3 per (source, verdict, the verdict's tier).
    verdicts: BTreeMap<(String, String, i16), IntervalSums<9>>,
    /// Rule 5's LIKELY clusters per (party, covering source); '' for any.
    coverage: BTreeMap<(String, String), ClusterSums<1>>,
    /// The disputed clusters (list '') and each gap source's gaps that count (list: its id).
    lists: HashMap<String, ListedRuns>,
}

/// The day grain's rows of the derived tables: read whole, or the signed changes that pending
/// writes make to them (sql/pending_figures.sql).
#[derive(Default, Deserialize)]
struct DayRows {
    tiers: Vec<TierRow>,
    verdicts: Vec<VerdictSumRow>,
    coverage: Vec<CoverageRow>,
    /// The runs of the lists that are read, which only grow: a refresh takes out whole clusters.
    runs: Vec<RunRow>,
}

#[derive(QueryableByName, Deserialize)]
struct TierRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = SmallInt)]
    tier: i16,
    #[diesel(sql_type = Bool)]
    disputed: bool,
    #[diesel(embed)]
    #[serde(flatten)]
    interval: IntervalRow,
}

#[derive(QueryableByName, Deserialize)]
struct VerdictSumRow {
    #[diesel(sql_type = Text)]
    source_id: String,
    #[diesel(sql_type = Text)]
    verdict: String,
    #[diesel(sql_type = SmallInt)]
    tier: i16,
    #[diesel(embed)]
    #[serde(flatten)]
    interval: IntervalRow,
}

/// A sums row's interval and measures.
#[derive(QueryableByName, Deserialize)]
struct IntervalRow {
    #[diesel(sql_type = Date)]
    first: NaiveDate,
    #[diesel(sql_type = Date)]
    last: NaiveDate,
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = BigInt)]
    k_min: i64,
    #[diesel(sql_type = BigInt)]
    k_max_bounded: i64,
    #[diesel(sql_type = BigInt)]
    k_unbounded: i64,
    #[diesel(sql_type = BigInt)]
    k_without: i64,
    #[diesel(sql_type = BigInt)]
    j_min: i64,
    #[diesel(sql_type = BigInt)]
    j_max_bounded: i64,
    #[diesel(sql_type = BigInt)]
    j_unbounded: i64,
    #[diesel(sql_type = BigInt)]
    j_without: i64,
}

impl IntervalRow {
    fn interval(&self) -> Interval<9> {
        let mut measures = [0; 9];
        measures[COUNT] = self.count;
        measures[K_MIN] = self.k_min;
        measures[K_MAX_BOUNDED] = self.k_max_bounded;
        measures[K_UNBOUNDED] = self.k_unbounded;
        measures[K_WITHOUT] = self.k_without;
        measures[J_MIN] = self.j_min;
        measures[J_MAX_BOUNDED] = self.j_max_bounded;
        measures[J_UNBOUNDED] = self.j_unbounded;
        measures[J_WITHOUT] = self.j_without;
        (self.first, self.last, measures)
    }
}

#[derive(QueryableByName, Deserialize)]
struct CoverageRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    party: String,
    #[diesel(sql_type = Text)]
    source_id: String,
    #[diesel(sql_type = Date)]
    first: NaiveDate,
    #[diesel(sql_type = Date)]
    last: NaiveDate,
    #[diesel(sql_type = BigInt)]
    clusters: i64,
}

#[derive(QueryableByName, Deserialize)]
struct RunRow {
    #[diesel(sql_type = Text)]
    list: String,
    #[diesel(sql_type = BigInt)]
    cluster_id: i64,
    #[diesel(sql_type = Date)]
    first: NaiveDate,
    #[diesel(sql_type = Date)]
    last: NaiveDate,
}

const MEASURES: &str = "first, last, k_min, k_max_bounded, k_unbounded, k_without, \
                        j_min, j_max_bounded, j_unbounded, j_without";

impl DaySums {
    /// The sums of `older` and `newer`, and their lists as `newer` leaves them, taking the
    /// clusters in `stale` out of `older`'s.
    fn merged(older: &Self, newer: &Self, stale: &HashSet<i64>) -> Self {
        let empty = ListedRuns::default();
        let lists: HashSet<&String> = older.lists.keys().chain(newer.lists.keys()).collect();
        Self {
            tiers: merged_by_key(&older.tiers, &newer.tiers, ClusterSums::merged),
            verdicts: merged_by_key(&older.verdicts, &newer.verdicts, IntervalSums::merged),
            coverage: merged_by_key(&older.coverage, &newer.coverage, ClusterSums::merged),
            lists: lists
                .into_iter()
                .map(|list| {
                    let runs = ListedRuns::merged(
                        older.lists.get(list).unwrap_or(&empty),
                        newer.lists.get(list).unwrap_or(&empty),
                        stale,
                    );
                    (list.clone(), runs)
                })
                .collect(),
        }
    }

    /// What these sums keep, in entries.
    fn weight(&self) -> usize {
        self.tiers.values().map(ClusterSums::weight).sum::<usize>()
            + self
                .verdicts
                .values()
                .map(IntervalSums::weight)
                .sum::<usize>()
            + self
                .coverage
                .values()
                .map(ClusterSums::weight)
                .sum::<usize>()
            + self.lists.values().map(|l| l.runs.len()).sum::<usize>()
    }

    fn new(rows: DayRows) -> StoreResult<Self> {
        let tiers = rows
            .tiers
            .into_iter()
            .map(|row| ((row.tier, row.disputed), row.kind, row.interval.interval()));
        let verdicts = rows.verdicts.into_iter().map(|row| {
            let key = (row.source_id, row.verdict, row.tier);
            (key, row.interval.interval())
        });
        let coverage = rows.coverage.into_iter().map(|row| {
            let interval = (row.first, row.last, [row.clusters]);
            ((row.party, row.source_id), row.kind, interval)
        });
        let mut lists: HashMap<String, Vec<Run>> = HashMap::new();
        for row in rows.runs {
            lists.entry(row.list).or_default().push(Run {
                month: month(row.first),
                cluster_id: row.cluster_id,
                first: row.first,
                last: row.last,
            });
        }
        Ok(Self {
            tiers: cluster_sums(tiers)?,
            verdicts: by_key(verdicts),
            coverage: cluster_sums(coverage)?,
            lists: lists
                .into_iter()
                .map(|(list, runs)| (list, ListedRuns::new(runs)))
                .collect(),
        })
    }
}

/// What a refresh changes in the derived tables, as they are held: their signed sums, the clusters
/// taken out, and the runs listed anew (sql/changes_document.sql). Either what a refresh just did,
/// which takes the held figures to the next version, or what the writes pending in one snapshot
/// will have the next refresh do, computed anew for every snapshot (sql/pending_figures.sql).
#[derive(Debug)]
pub(crate) struct FigureChanges {
    sums: DaySums,
    /// The clusters the refresh takes out, every run of theirs with them. A new cluster may keep a
    /// former one's id, and is then among the runs listed anew.
    stale: HashSet<i64>,
}

#[derive(Deserialize)]
struct ChangesDocument {
    complete: bool,
    gap_sources: Vec<GapSource>,
    stale: HashSet<i64>,
    #[serde(flatten)]
    changes: DayRows,
}

impl FigureChanges {
    /// The changes read in `document`, if `held` can take them in: `None` when the document is not
    /// complete (see sql/changes_document.sql), or when the sources whose gaps are reported differ
    /// from the held figures' (a source's first assessment, or a new belligerent), whose lists are
    /// not held.
    pub(crate) fn new(document: &str, held: &HeldFigures) -> StoreResult<Option<Self>> {
        let mut document: ChangesDocument = serde_json::from_str(document)
            .map_err(|e| StoreError::Repository(corrupt("changes of the derived figures", e)))?;
        document
            .gap_sources
            .sort_unstable_by(|a, b| a.id.cmp(&b.id));
        if !document.complete || document.gap_sources != held.gap_sources {
            return Ok(None);
        }
        Ok(Some(Self {
            sums: DaySums::new(document.changes)?,
            stale: document.stale,
        }))
    }

    /// These changes and then `later`'s, as one.
    fn merged(&self, later: &Self) -> Self {
        Self {
            sums: DaySums::merged(&self.sums, &later.sums, &later.stale),
            stale: self.stale.union(&later.stale).copied().collect(),
        }
    }

    fn weight(&self) -> usize {
        self.sums.weight() + self.stale.len()
    }
}

impl HeldFigures {
    /// Reads the derived tables by the day, at `version`: `conn` must be in the REPEATABLE READ
    /// transaction that read it, so that they and their version are read in one snapshot.
    pub(crate) async fn read(conn: &mut AsyncPgConnection, version: Version) -> StoreResult<Self> {
        let tiers: Vec<TierRow> = diesel::sql_query(format!(
            "SELECT kind::text AS kind, tier, disputed, clusters AS count, {MEASURES}
             FROM derived.tier_sums WHERE grain = 'd'"
        ))
        .load(conn)
        .await?;
        let verdicts: Vec<VerdictSumRow> = diesel::sql_query(format!(
            "SELECT source_id, verdict, tier, incidents AS count, {MEASURES}
             FROM derived.verdict_sums WHERE grain = 'd'"
        ))
        .load(conn)
        .await?;
        let coverage: Vec<CoverageRow> = diesel::sql_query(
            "SELECT kind::text AS kind, party, source_id, first, last, clusters
             FROM derived.coverage_sums WHERE grain = 'd'",
        )
        .load(conn)
        .await?;
        // The sources whose gaps are reported, as derived_figures.sql finds them.
        let mut gap_sources: Vec<GapSource> = diesel::sql_query(
            "SELECT s.id, s.belligerent FROM sources s
             WHERE EXISTS (SELECT 1 FROM assessments a WHERE a.source_id = s.id)",
        )
        .load(conn)
        .await?;
        // Only the runs a query lists: the disputed, and a gap source's gaps, of its party's
        // clusters when it has one.
        let (ids, parties): (Vec<&str>, Vec<Option<&str>>) = gap_sources
            .iter()
            .map(|s| (s.id.as_str(), s.belligerent.as_deref()))
            .unzip();
        let runs: Vec<RunRow> = diesel::sql_query(
            "WITH lists AS (
                 SELECT '' AS list, NULL::text AS party
                 UNION ALL
                 SELECT * FROM unnest($1::text[], $2::text[])
             )
             SELECT r.list, r.cluster_id, r.first, r.last
             FROM lists l JOIN derived.listed_runs r ON r.list = l.list
             WHERE l.party IS NULL OR l.party = ANY (r.parties)",
        )
        .bind::<Array<Text>, _>(ids)
        .bind::<Array<Nullable<Text>>, _>(parties)
        .load(conn)
        .await?;
        gap_sources.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let rows = DayRows {
            tiers,
            verdicts,
            coverage,
            runs,
        };
        Ok(Self {
            version,
            gap_sources,
            read: Arc::new(DaySums::new(rows)?),
            refreshes: Vec::new(),
        })
    }

    /// Figures of nothing at all, at `version`.
    #[cfg(test)]
    pub(crate) fn empty(version: Version) -> Self {
        Self {
            version,
            gap_sources: Vec::new(),
            read: Arc::new(DaySums::new(DayRows::default()).expect("no rows")),
            refreshes: Vec::new(),
        }
    }

    /// These figures at `version`, which `refresh` took them to.
    pub(crate) fn refreshed(&self, refresh: FigureChanges, version: Version) -> Self {
        let mut refreshes = self.refreshes.clone();
        let mut latest = refresh;
        let weighs_little = |layer: &mut Arc<FigureChanges>, latest: &FigureChanges| {
            layer.weight() <= 2 * latest.weight()
        };
        while let Some(earlier) = refreshes.pop_if(|layer| weighs_little(layer, &latest)) {
            latest = earlier.merged(&latest);
        }
        refreshes.push(Arc::new(latest));
        Self {
            version,
            gap_sources: self.gap_sources.clone(),
            read: Arc::clone(&self.read),
            refreshes,
        }
    }

    /// Whether the refreshes' changes weigh enough for these figures to be read again.
    pub(crate) fn outgrown(&self) -> bool {
        let changes: usize = self.refreshes.iter().map(|layer| layer.weight()).sum();
        changes > (self.read.weight() / READ_AGAIN_SHARE).max(CHANGES_WEIGHED_ANYWAY)
    }

    /// Rules 2 to 5 for `window`: the document derived_figures.sql returns for it at this version,
    /// or, with `pending`, the one it will return once a refresh has taken those writes in.
    pub(crate) fn document(
        &self,
        window: DateInterval,
        pending: Option<&FigureChanges>,
    ) -> StoreResult<WindowDocument> {
        let changes: Vec<&FigureChanges> = self
            .refreshes
            .iter()
            .map(AsRef::as_ref)
            .chain(pending)
            .collect();
        let layers: Vec<&DaySums> = std::iter::once(self.read.as_ref())
            .chain(changes.iter().map(|c| &c.sums))
            .collect();
        Ok(WindowDocument {
            sources: source_document(&layers, window)?,
            tiers: tier_sums(&layers, window)?,
            disputed_ids: self.first_listed("", window, &changes),
            gap_sources: self.gap_sources.iter().map(|s| s.id.clone()).collect(),
            gaps: self.gaps(&layers, window, &changes)?,
        })
    }

    /// Rule 5: per gap source, the LIKELY clusters it may speak for (its party's, if it has one)
    /// that meet the window, less those it covers, and the first of them by id.
    fn gaps(
        &self,
        layers: &[&DaySums],
        window: DateInterval,
        changes: &[&FigureChanges],
    ) -> StoreResult<Vec<GapRow>> {
        let meeting = |party: &str, source: &str| -> i64 {
            let key = (party.to_owned(), source.to_owned());
            layers
                .iter()
                .filter_map(|sums| sums.coverage.get(&key))
                .map(|clusters| clusters.meeting(window)[0])
                .sum()
        };
        self.gap_sources
            .iter()
            .map(|source| {
                let party = source.belligerent.as_deref().unwrap_or("");
                Ok(GapRow {
                    source_id: source.id.clone(),
                    clusters: unsigned(meeting(party, "") - meeting(party, &source.id))?,
                    cluster_ids: self.first_listed(&source.id, window, changes),
                })
            })
            .collect()
    }

    /// The first listed ids on `list` that meet `window`, after `changes`, oldest first. Each set
    /// of runs, the read ones and those of each change, gives as many more than are listed as the
    /// changes after it take clusters out, so that the first listed are among those it keeps.
    fn first_listed(
        &self,
        list: &str,
        window: DateInterval,
        changes: &[&FigureChanges],
    ) -> Vec<i64> {
        let first_ids = |sums: &DaySums, listed: usize| {
            sums.lists
                .get(list)
                .map_or_else(Vec::new, |runs| runs.first_ids(window, listed))
        };
        if changes.is_empty() {
            return first_ids(&self.read, LISTED_CLUSTERS);
        }
        let mut ids = Vec::new();
        let mut stale_after: HashSet<i64> = HashSet::new();
        let sets = std::iter::once((self.read.as_ref(), None))
            .chain(changes.iter().map(|c| (&c.sums, Some(&c.stale))));
        for (sums, stale) in sets.rev() {
            let mut kept = first_ids(sums, LISTED_CLUSTERS + stale_after.len());
            kept.retain(|id| !stale_after.contains(id));
            ids.extend(kept);
            stale_after.extend(stale.into_iter().flatten());
        }
        keep_first(&mut ids, LISTED_CLUSTERS);
        ids
    }
}

/// Rule 4 per tier, and the disputed clusters' own figures at LIKELY as tier 0: the clusters
/// inside the window, and what each counts wherever it meets the window.
fn tier_sums(layers: &[&DaySums], window: DateInterval) -> StoreResult<Vec<Sums>> {
    // Per tier, then LIKELY disputed again as tier 0.
    let mut figures: BTreeMap<i16, (Measures, Measures)> = BTreeMap::new();
    for (&(tier, disputed), clusters) in layers.iter().flat_map(|sums| &sums.tiers) {
        let spans_inside = clusters.inside(window);
        let meeting = clusters.meeting(window);
        let counted_as = [Some(tier), (tier == 3 && disputed).then_some(0)];
        for tier in counted_as.into_iter().flatten() {
            let (tier_inside, tier_meeting) = figures.entry(tier).or_default();
            add(tier_inside, &spans_inside);
            add(tier_meeting, &meeting);
        }
    }
    figures.entry(0).or_default();
    figures
        .into_iter()
        .rev()
        .map(|(tier, (inside, meeting))| sums(tier, &inside, &meeting))
        .collect()
}

/// Rule 3: each source's incidents by verdict, and its figures per tier from the verdicts at that
/// tier or higher.
fn source_document(layers: &[&DaySums], window: DateInterval) -> StoreResult<SourceDocument> {
    let mut by_verdict: BTreeMap<&(String, String, i16), (Measures, Measures)> = BTreeMap::new();
    for (key, sums) in layers.iter().flat_map(|sums| &sums.verdicts) {
        let (inside, overlapping) = by_verdict.entry(key).or_default();
        add(inside, &sums.inside(window));
        add(overlapping, &sums.overlapping(window));
    }
    let mut verdicts = Vec::new();
    let mut by_source: BTreeMap<&str, Vec<(i16, Measures, Measures)>> = BTreeMap::new();
    for ((source_id, verdict, tier), (inside, overlapping)) in by_verdict {
        if overlapping[COUNT] == 0 {
            continue;
        }
        verdicts.push(VerdictRow {
            source_id: source_id.clone(),
            verdict: verdict.clone(),
            inside: unsigned(inside[COUNT])?,
            boundary: unsigned(overlapping[COUNT] - inside[COUNT])?,
        });
        by_source
            .entry(source_id)
            .or_default()
            .push((*tier, inside, overlapping));
    }
    let mut tiers = Vec::new();
    for (source_id, graded) in by_source {
        for tier in SOURCE_TIERS {
            let (mut inside, mut overlapping) = ([0; 9], [0; 9]);
            let mut any = false;
            for (_, i, o) in graded.iter().filter(|(t, ..)| *t >= tier) {
                add(&mut inside, i);
                add(&mut overlapping, o);
                any = true;
            }
            if any {
                tiers.push(SourceTierRow {
                    source_id: source_id.to_owned(),
                    sums: sums(tier, &inside, &overlapping)?,
                });
            }
        }
    }
    Ok(SourceDocument { verdicts, tiers })
}

fn unsigned(value: i64) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| StoreError::Repository(corrupt("derived sum", value)))
}

/// A tier's figures from the sums over the clusters (or incidents) inside the window and over all
/// those meeting it.
fn sums(tier: i16, inside: &Measures, meeting: &Measures) -> StoreResult<Sums> {
    Ok(Sums {
        tier: i32::from(tier),
        inside: unsigned(inside[COUNT])?,
        boundary: unsigned(meeting[COUNT] - inside[COUNT])?,
        k_min: unsigned(inside[K_MIN])?,
        k_max_bounded: unsigned(meeting[K_MAX_BOUNDED])?,
        k_unbounded: unsigned(meeting[K_UNBOUNDED])?,
        k_without: unsigned(meeting[K_WITHOUT])?,
        j_min: unsigned(inside[J_MIN])?,
        j_max_bounded: unsigned(meeting[J_MAX_BOUNDED])?,
        j_unbounded: unsigned(meeting[J_UNBOUNDED])?,
        j_without: unsigned(meeting[J_WITHOUT])?,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Days from 2000-01-01 on, so that a test's intervals meet often.
    fn date(offset: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date") + Days::new(offset.into())
    }

    fn intervals() -> impl Strategy<Value = Vec<Interval<2>>> {
        let interval =
            (0..400u32, 0..120u32, 1..5i64, 0..50i64).prop_map(|(first, length, count, killed)| {
                (date(first), date(first + length), [count, killed])
            });
        prop::collection::vec(interval, 0..300)
    }

    fn window(days: u32, longest: u32) -> impl Strategy<Value = DateInterval> {
        (0..days, 0..longest).prop_map(|(from, length)| {
            DateInterval::new(date(from), date(from + length)).expect("from before to")
        })
    }

    fn sum<T, const N: usize>(
        intervals: &[(T, T, [i64; N])],
        keep: impl Fn(&T, &T) -> bool,
    ) -> [i64; N] {
        let mut sums = [0; N];
        for (_, _, values) in intervals.iter().filter(|(f, l, _)| keep(f, l)) {
            add(&mut sums, values);
        }
        sums
    }

    /// A day near others, or anywhere in chrono's range of dates.
    fn day() -> impl Strategy<Value = i32> {
        prop_oneof![0..600i32, -90_000_000..90_000_000i32]
    }

    /// A month after the first 100 ids are known can still give one below the largest of them.
    #[test]
    fn first_ids_take_an_id_below_the_largest_kept_from_a_later_month() {
        let run = |cluster_id: i64, day: NaiveDate| Run {
            month: month(day),
            cluster_id,
            first: day,
            last: day,
        };
        let (january, february, march) = (date(0), date(31), date(60));
        let mut runs: Vec<Run> = (1..=100).map(|i| run(2 * i, january)).collect();
        runs.extend((1000..1100).map(|id| run(id, february)));
        runs.push(run(199, march));
        let window = DateInterval::new(january, march).expect("from before to");
        let mut expected: Vec<i64> = (1..100).map(|i| 2 * i).collect();
        expected.push(199);
        assert_eq!(
            ListedRuns::new(runs).first_ids(window, LISTED_CLUSTERS),
            expected
        );
    }

    proptest! {
        /// The sums over the intervals inside a window and over those overlapping it are those of
        /// the intervals one by one, whatever the buckets the intervals are cut into, and when
        /// they are sums of two sets of intervals merged.
        #[test]
        fn interval_sums_are_the_intervals_one_by_one(
            intervals in intervals(),
            later in intervals(),
            windows in prop::collection::vec(window(460, 200), 1..20),
        ) {
            let sums = IntervalSums::new(intervals.clone());
            let merged = sums.merged(&IntervalSums::new(later.clone()));
            let all: Vec<Interval<2>> = intervals.iter().chain(&later).copied().collect();
            for window in windows {
                let (from, to) = (window.from(), window.to());
                let inside = |intervals| sum(intervals, |first, last| from <= *first && *last <= to);
                let overlapping =
                    |intervals| sum(intervals, |first, last| *first <= to && from <= *last);
                prop_assert_eq!(sums.inside(window), inside(&intervals), "inside {:?}", window);
                prop_assert_eq!(
                    sums.overlapping(window), overlapping(&intervals), "overlapping {:?}", window
                );
                prop_assert_eq!(merged.inside(window), inside(&all), "merged, inside {:?}", window);
                prop_assert_eq!(
                    merged.overlapping(window), overlapping(&all), "merged, overlapping {:?}", window
                );
            }
        }

        /// The intervals holding two days, with as many intervals as fill every bucket, and days
        /// near one another or far apart.
        #[test]
        fn holding_sums_are_the_intervals_one_by_one(
            intervals in prop::collection::vec(
                (day(), prop_oneof![0..60i32, 0..90_000_000i32], 1..5i64),
                0..5000,
            ),
            pairs in prop::collection::vec((day(), prop_oneof![1..60i32, 1..90_000_000i32]), 1..20),
        ) {
            let intervals: Vec<DayInterval<1>> = intervals
                .into_iter()
                .map(|(first, length, count)| (first, first + length, [count]))
                .collect();
            let sums = HoldingSums::new(intervals.clone());
            for (before, gap) in pairs {
                let after = before + gap;
                let holding = sum(&intervals, |first, last| *first <= before && *last >= after);
                prop_assert_eq!(sums.holding(before, after), holding, "{} to {}", before, after);
            }
        }

        /// The first ids listed are the smallest ids of the clusters with a run starting in the
        /// window or holding its first day and the day before, with enough runs that the months'
        /// reading stops at the largest id kept, and ids both repeated and far apart.
        #[test]
        fn first_ids_are_the_smallest_ids_of_the_runs_meeting_the_window(
            runs in prop::collection::vec(
                (prop_oneof![1 => 0..400i64, 9 => 0..1_000_000i64], 0..800u32, 0..60u32),
                0..3000,
            ),
            windows in prop::collection::vec(window(860, 400), 1..10),
        ) {
            let runs: Vec<Run> = runs
                .into_iter()
                .map(|(cluster_id, first, length)| Run {
                    month: month(date(first)),
                    cluster_id,
                    first: date(first),
                    last: date(first + length),
                })
                .collect();
            let listed = ListedRuns::new(runs.clone());
            for window in windows {
                let (from, to) = (window.from(), window.to());
                let mut meeting: Vec<i64> = runs
                    .iter()
                    .filter(|r| (from <= r.first && r.first <= to) || (r.first < from && from <= r.last))
                    .map(|r| r.cluster_id)
                    .collect();
                keep_first(&mut meeting, LISTED_CLUSTERS);
                prop_assert_eq!(listed.first_ids(window, LISTED_CLUSTERS), meeting, "{:?}", window);
            }
        }

        /// After changes (refreshes, or pending writes), the listed ids are the smallest of the
        /// clusters meeting the window as the changes leave them, each taking its stale clusters
        /// out and then adding its runs: with more stale clusters among the read ones than there
        /// are ids listed, as the smallest ids too, new clusters that keep a stale one's id, and
        /// enough refreshes for their changes to be merged.
        #[test]
        fn listed_ids_after_changes_are_the_runs_they_leave(
            read in prop::collection::vec((0..400i64, 0..400u32, 0..30u32), 0..800),
            changes in prop::collection::vec(
                (
                    prop_oneof![
                        prop::collection::hash_set(0..400i64, 0..350),
                        // The smallest ids, which leave the fewest of the first read ids.
                        (0..400i64).prop_map(|smallest| (0..smallest).collect::<HashSet<_>>()),
                    ],
                    prop::collection::vec((0..400i64, 0..400u32, 0..30u32), 0..50),
                ),
                1..10,
            ),
            windows in prop::collection::vec(window(430, 150), 1..10),
        ) {
            let sums = |runs: &[(i64, u32, u32)]| {
                let rows = DayRows {
                    tiers: Vec::new(),
                    verdicts: Vec::new(),
                    coverage: Vec::new(),
                    runs: runs
                        .iter()
                        .map(|&(cluster_id, first, length)| RunRow {
                            list: String::new(),
                            cluster_id,
                            first: date(first),
                            last: date(first + length),
                        })
                        .collect(),
                };
                DaySums::new(rows).expect("rows without intervals")
            };
            let mut figures = HeldFigures {
                version: Version::default(),
                gap_sources: Vec::new(),
                read: Arc::new(sums(&read)),
                refreshes: Vec::new(),
            };
            // The runs one by one, as each change leaves them.
            let mut runs = read.clone();
            let (pending, refreshes) = changes.split_last().expect("a change");
            let mut change = |(stale, new): &(HashSet<i64>, Vec<(i64, u32, u32)>)| {
                runs.retain(|run| !stale.contains(&run.0));
                runs.extend(new);
                FigureChanges { sums: sums(new), stale: stale.clone() }
            };
            for refresh in refreshes {
                let next = Version { number: figures.version.number + 1, ..figures.version };
                figures = figures.refreshed(change(refresh), next);
            }
            let pending = change(pending);
            for window in windows {
                let (from, to) = (window.from(), window.to());
                let mut expected: Vec<i64> = runs
                    .iter()
                    .filter(|&&(_, first, length)| date(first) <= to && from <= date(first + length))
                    .map(|run| run.0)
                    .collect();
                keep_first(&mut expected, LISTED_CLUSTERS);
                let listed = figures.first_listed("", window, &figures.refreshes.iter().map(AsRef::as_ref).chain([&pending]).collect::<Vec<_>>());
                prop_assert_eq!(listed, expected, "{:?}", window);
            }
        }
    }
}
