//! The reconciliation rules of docs/rules.md, as pure functions: every rule is written here
//! and only here. Every answer civcas serves is computed by these functions, of the present or
//! `as_of`, filtered or not, one window or a series.
//!
//! The rules read [`Facts`]: the reference hands them every row of a [`Dataset`]; the persistence
//! crate's read model hands them the groups its index finds for a window. Property tests require both
//! to give the same answers. The code favours being obviously right: every rule is a few lines over
//! plain collections, and every list is ordered by id.
//!
//! - [`current_assessments`]: rule 1. [`Clusters`]: rule 2's clusters.
//! - [`figures`]: rules 2 to 6 for one window; [`reconcile`], the same over a [`Dataset`].
//! - [`flow::assessment_flow`]: rule 7. [`series::figure_series`]: rule 8.

pub mod facts;
pub mod flow;
pub mod series;
mod tally;

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

pub use facts::{
    AssessmentFacts, Clusters, Dataset, Facts, Group, IncidentFacts, Part, SourceFacts,
    current_assessments,
};
pub use tally::{Selection, Tally};

use crate::assessment::{Demographic, Tier, Verdict};
use crate::count::CountRange;
use crate::country::CountryCode;
use crate::dates::DateInterval;
use crate::harm::HarmDone;
use crate::ids::IncidentId;
use crate::slug::{Slug, SourceId};
use crate::statement::{ATTRIBUTED_TO_ALL, Measure, Statement};

/// The filters of a query. Values within one filter are ORed; separate filters are ANDed; an empty
/// filter lets everything through.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filters {
    pub countries: BTreeSet<CountryCode>,
    pub admin1: BTreeSet<String>,
    /// Localities, spelt as recorded. The API does not offer it: it narrows a statement's own
    /// comparison to the statement's locality (rule 6).
    pub localities: BTreeSet<String>,
    pub attributed_to: BTreeSet<Slug>,
    /// The means of harm and what was hit: each of the three chooses incidents with any of its
    /// terms.
    pub harm_done: HarmDone,
    /// Whose assessments and statements count; empty means every source.
    pub sources: BTreeSet<SourceId>,
}

impl Filters {
    /// Whether the incident filters (countries, admin1, localities, attributed_to, harm, means,
    /// infrastructure) choose `incident`.
    pub fn chooses(&self, incident: &IncidentFacts) -> bool {
        let among = |values: &BTreeSet<String>, value: &Option<String>| {
            values.is_empty() || value.as_ref().is_some_and(|v| values.contains(v))
        };
        (self.countries.is_empty() || self.countries.contains(&incident.country))
            && among(&self.admin1, &incident.admin1)
            && among(&self.localities, &incident.locality)
            && (self.attributed_to.is_empty()
                || incident
                    .attributed_to
                    .iter()
                    .any(|b| self.attributed_to.contains(b)))
            && self.harm_done.harm.choose(incident.harm_done.harm)
            && self.harm_done.means.choose(incident.harm_done.means)
            && self
                .harm_done
                .infrastructure
                .choose(incident.harm_done.infrastructure)
    }

    /// Whether the statement filters (countries, attributed_to) choose `statement` (rule 6). The
    /// scope `all` meets any attribution.
    pub fn chooses_statement(&self, statement: &Statement) -> bool {
        let d = &statement.details;
        (self.countries.is_empty()
            || d.area
                .countries()
                .iter()
                .any(|c| self.countries.contains(c)))
            && (self.attributed_to.is_empty()
                || d.attributed_to.as_str() == ATTRIBUTED_TO_ALL
                || self.attributed_to.contains(&d.attributed_to))
    }
}

/// A reconciliation query: a window, filters, and an optional `as_of` date.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FigureQuery {
    pub window: DateInterval,
    pub filters: Filters,
    /// Only assessments and statements published on or before this date exist for the query.
    pub as_of: Option<NaiveDate>,
}

/// Where an incident or a cluster lies relative to a window (rule 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Position {
    Inside,
    Boundary,
    Out,
}

/// An incident's position: inside when its whole span is in the window, boundary when the span only
/// overlaps it.
pub fn position(occurred: DateInterval, window: DateInterval) -> Position {
    if window.from() <= occurred.from() && occurred.to() <= window.to() {
        Position::Inside
    } else if occurred.from() <= window.to() && window.from() <= occurred.to() {
        Position::Boundary
    } else {
        Position::Out
    }
}

/// A sum of count ranges, with what makes a max unbounded reported beside it (rule 4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RangeSum {
    /// The sum of the mins over inside items.
    pub min: u64,
    /// The sum of the maxes over the items whose figure has a max.
    pub max_bounded: u64,
    /// Items whose figure has no max ("at least"): when any, the max sum is unbounded.
    pub unbounded: u64,
    /// Items counted that state no figure at all.
    pub without_figure: u64,
}

impl RangeSum {
    /// The max sum, or `None` when a figure without a max makes it unbounded.
    pub fn max(&self) -> Option<u64> {
        (self.unbounded == 0).then_some(self.max_bounded)
    }

    fn merge(&mut self, other: &Self) {
        self.min += other.min;
        self.max_bounded += other.max_bounded;
        self.unbounded += other.unbounded;
        self.without_figure += other.without_figure;
    }

    /// Adds one item's figure: its min only when it is inside, its max in any case.
    fn add(&mut self, figure: Option<CountRange>, inside: bool) {
        match figure {
            None => self.without_figure += 1,
            Some(range) => {
                if inside {
                    self.min += u64::from(range.min());
                }
                match range.max() {
                    Some(max) => self.max_bounded += u64::from(max),
                    None => self.unbounded += 1,
                }
            }
        }
    }
}

/// Counts split by position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Split {
    pub inside: u64,
    pub boundary: u64,
}

impl Split {
    fn merge(&mut self, other: &Self) {
        self.inside += other.inside;
        self.boundary += other.boundary;
    }

    fn count(&mut self, inside: bool) {
        if inside {
            self.inside += 1;
        } else {
            self.boundary += 1;
        }
    }
}

/// Killed, injured, and children, women and men killed, at one tier. Each is summed on its own: a
/// cluster whose sources state killed but no children counts as without a figure for children,
/// never as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierFigures {
    pub tier: Tier,
    /// Incidents (per source) or clusters (reconciled) at this tier or higher.
    pub counted: Split,
    pub killed: RangeSum,
    pub injured: RangeSum,
    pub children_killed: RangeSum,
    pub women_killed: RangeSum,
    pub men_killed: RangeSum,
}

impl TierFigures {
    fn empty(tier: Tier) -> Self {
        Self {
            tier,
            counted: Split::default(),
            killed: RangeSum::default(),
            injured: RangeSum::default(),
            children_killed: RangeSum::default(),
            women_killed: RangeSum::default(),
            men_killed: RangeSum::default(),
        }
    }

    /// The sum of `casualty`.
    pub fn of(&self, casualty: Casualty) -> &RangeSum {
        match casualty {
            Casualty::Killed => &self.killed,
            Casualty::Injured => &self.injured,
            Casualty::KilledAmong(Demographic::Children) => &self.children_killed,
            Casualty::KilledAmong(Demographic::Women) => &self.women_killed,
            Casualty::KilledAmong(Demographic::Men) => &self.men_killed,
        }
    }

    fn of_mut(&mut self, casualty: Casualty) -> &mut RangeSum {
        match casualty {
            Casualty::Killed => &mut self.killed,
            Casualty::Injured => &mut self.injured,
            Casualty::KilledAmong(Demographic::Children) => &mut self.children_killed,
            Casualty::KilledAmong(Demographic::Women) => &mut self.women_killed,
            Casualty::KilledAmong(Demographic::Men) => &mut self.men_killed,
        }
    }

    fn merge(&mut self, other: &Self) {
        self.counted.merge(&other.counted);
        for casualty in Casualty::ALL {
            self.of_mut(casualty).merge(other.of(casualty));
        }
    }
}

/// One source's own figures (rule 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFigures {
    pub source_id: SourceId,
    /// Its current non-DUPLICATE assessments of chosen incidents in the window, by verdict.
    pub verdicts: BTreeMap<Verdict, Split>,
    /// ESTABLISHED, LIKELY, ALLEGED.
    pub tiers: Vec<TierFigures>,
}

/// The disputed clusters (rule 5): one source at LIKELY or higher, another rejecting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disputed {
    /// Their count and killed and injured figures, as rule 4 computes them at LIKELY.
    pub figures: TierFigures,
    /// The first 100 disputed cluster ids.
    pub cluster_ids: Vec<IncidentId>,
}

/// A source's coverage gap (rule 5): clusters at LIKELY or higher it has not assessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageGap {
    pub source_id: SourceId,
    pub clusters: u64,
    /// The first 100 cluster ids.
    pub cluster_ids: Vec<IncidentId>,
}

/// A statement reported beside the incident figures (rule 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementFigure {
    pub statement: Statement,
    /// Whether its period lies inside the window.
    pub inside: bool,
    pub overlap_days: i64,
    pub period_days: i64,
    /// The source's own incident sum at the statement's tier over the statement's own period and
    /// area, for a KILLED or INJURED statement of a source that has incident assessments.
    pub own: Option<RangeSum>,
}

impl StatementFigure {
    /// The statement's min minus the source's own min at the statement's tier, when they are
    /// comparable.
    pub fn difference(&self) -> Option<i64> {
        self.own.map(|own| {
            i64::from(self.statement.details.count().min())
                - i64::try_from(own.min).unwrap_or(i64::MAX)
        })
    }
}

/// The answer to a reconciliation query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciledFigures {
    /// Every selected source, ordered by id, zero-filled when it has nothing.
    pub sources: Vec<SourceFigures>,
    /// The reconciled cluster-level figures: ESTABLISHED, LIKELY, ALLEGED.
    pub tiers: Vec<TierFigures>,
    pub disputed: Disputed,
    /// One per selected source that has recorded any assessment, ordered by source id.
    pub coverage_gaps: Vec<CoverageGap>,
    /// Ordered by source, then statement id.
    pub statements: Vec<StatementFigure>,
}

/// How many cluster ids a list reports.
pub const LISTED_CLUSTERS: usize = 100;

/// What a figure counts: each is reconciled by the same rules, independently of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Casualty {
    Killed,
    Injured,
    /// Killed among children, women or men.
    KilledAmong(Demographic),
}

impl Casualty {
    pub const ALL: [Self; 5] = [
        Self::Killed,
        Self::Injured,
        Self::KilledAmong(Demographic::Children),
        Self::KilledAmong(Demographic::Women),
        Self::KilledAmong(Demographic::Men),
    ];

    fn index(self) -> usize {
        match self {
            Self::Killed => 0,
            Self::Injured => 1,
            Self::KilledAmong(Demographic::Children) => 2,
            Self::KilledAmong(Demographic::Women) => 3,
            Self::KilledAmong(Demographic::Men) => 4,
        }
    }

    fn of(self, assessment: &AssessmentFacts) -> Option<CountRange> {
        match self {
            Self::Killed => assessment.killed,
            Self::Injured => assessment.injured,
            Self::KilledAmong(group) => assessment.groups.as_ref()?.of(group),
        }
    }
}

/// What one source says of one cluster (rule 4): its tier for the cluster, the highest among its
/// current non-DUPLICATE assessments of the members (none when it has only DUPLICATEs), and its
/// figure at each reported tier.
#[derive(Debug, Clone)]
pub(crate) struct SourceSays {
    /// One of the source's assessments, by index in its group: whose source it is.
    source_of: usize,
    tier: Option<Tier>,
    /// Per casualty (in [`Casualty::ALL`]'s order), at ESTABLISHED, LIKELY and ALLEGED, as
    /// [`Tier::REPORTED`] lists them.
    figures: [[Option<CountRange>; 3]; 5],
}

impl SourceSays {
    /// From one source's current assessments of the cluster's members, the first `source_of`.
    ///
    /// Its figure at tier T is the largest min and the largest max (unbounded when any lacks a max)
    /// among its assessments at T or higher that state one. Never a sum: a cluster is one event.
    /// Read in one pass: this runs for every source of every cluster an answer reads.
    pub(crate) fn of<'a>(source_of: usize, own: impl Iterator<Item = &'a AssessmentFacts>) -> Self {
        let mut says = Self {
            source_of,
            tier: None,
            figures: [[None; 3]; 5],
        };
        for a in own {
            let Some(tier) = a.verdict.tier() else {
                continue;
            };
            says.tier = says.tier.max(Some(tier));
            for (at, reported) in Tier::REPORTED.iter().enumerate() {
                if tier < *reported {
                    continue;
                }
                for casualty in Casualty::ALL {
                    if let Some(figure) = casualty.of(a) {
                        let held = &mut says.figures[casualty.index()][at];
                        *held = Some(widen(*held, figure, u32::max));
                    }
                }
            }
        }
        says
    }

    fn figure(&self, tier: Tier, casualty: Casualty) -> Option<CountRange> {
        let at = Tier::REPORTED.iter().position(|t| *t == tier)?;
        self.figures[casualty.index()][at]
    }
}

/// Combines figures: the min `pick_min` keeps of their mins, and the largest max (none when any is
/// unbounded); none when there is no figure.
fn combine(
    figures: impl Iterator<Item = CountRange>,
    pick_min: impl Fn(u32, u32) -> u32,
) -> Option<CountRange> {
    figures.fold(None, |held, figure| Some(widen(held, figure, &pick_min)))
}

/// `held` with `figure` combined in, as [`combine`] does.
fn widen(
    held: Option<CountRange>,
    figure: CountRange,
    pick_min: impl Fn(u32, u32) -> u32,
) -> CountRange {
    let Some(held) = held else { return figure };
    let max = held.max().zip(figure.max()).map(|(a, b)| a.max(b));
    // max >= every min >= the chosen min, so the range is valid.
    CountRange::new(pick_min(held.min(), figure.min()), max).unwrap_or(held)
}

/// Rule 3 alone, over `window` and `filters`: what [`own_at_tier`] compares a statement with.
fn source_figures(
    facts: &impl Facts,
    window: DateInterval,
    filters: &Filters,
    as_of: Option<NaiveDate>,
) -> Vec<SourceFigures> {
    let selection = Selection::new(facts, filters);
    tally(facts, window, filters, as_of, &selection)
        .finish(&selection, facts)
        .0
}

/// Rules 2 to 5 over the groups that may meet `window`; for the present, over the tallies the facts
/// hold too.
fn tally(
    facts: &impl Facts,
    window: DateInterval,
    filters: &Filters,
    as_of: Option<NaiveDate>,
    selection: &Selection,
) -> Tally {
    let mut tally = Tally::new(selection);
    match as_of {
        None => facts.for_each_part(window, filters, selection, &mut |part| match part {
            Part::Group(group) => tally.add_group(group, None, window, filters, selection),
            Part::Summed(summed) => tally.merge(&summed),
        }),
        Some(_) => facts.for_each_group(window, &mut |group| {
            tally.add_group(group, as_of, window, filters, selection);
        }),
    }
    tally
}

/// Rules 2 to 6 for one query, over the facts `facts` holds.
pub fn figures(facts: &impl Facts, query: &FigureQuery) -> ReconciledFigures {
    let FigureQuery {
        window,
        filters,
        as_of,
    } = query;
    let selection = Selection::new(facts, filters);
    let (sources, tiers, disputed, coverage_gaps) =
        tally(facts, *window, filters, *as_of, &selection).finish(&selection, facts);
    ReconciledFigures {
        sources,
        tiers,
        disputed,
        coverage_gaps,
        statements: statement_figures(facts, &selection, query),
    }
}

/// The reference: rules 2 to 6 over every row of `data`.
pub fn reconcile(data: &Dataset, query: &FigureQuery) -> ReconciledFigures {
    figures(&data.facts(), query)
}

/// Rule 6: for each revision chain of each selected source, its latest statement as of `as_of` whose
/// period overlaps the window.
fn statement_figures(
    facts: &impl Facts,
    selection: &Selection,
    query: &FigureQuery,
) -> Vec<StatementFigure> {
    let window = query.window;
    let mut latest: BTreeMap<(SourceId, String), &Statement> = BTreeMap::new();
    for statement in facts.statements().iter().filter(|s| {
        selection.includes(&s.source_id)
            && query
                .as_of
                .is_none_or(|as_of| s.details.published_on <= as_of)
            && position(s.details.period, window) != Position::Out
            && query.filters.chooses_statement(s)
    }) {
        let order = |s: &Statement| (s.details.published_on, s.recorded_at, s.id);
        let key = (statement.source_id.clone(), chain_key(statement));
        match latest.get(&key) {
            Some(held) if order(held) >= order(statement) => {}
            _ => {
                latest.insert(key, statement);
            }
        }
    }
    let mut figures: Vec<StatementFigure> = latest
        .into_values()
        .map(|statement| {
            let period = statement.details.period;
            let overlap_from = period.from().max(window.from());
            let overlap_to = period.to().min(window.to());
            StatementFigure {
                statement: statement.clone(),
                inside: position(period, window) == Position::Inside,
                overlap_days: (overlap_to - overlap_from).num_days() + 1,
                period_days: period.days(),
                own: own_at_tier(statement, facts, query.as_of),
            }
        })
        .collect();
    figures.sort_by(|a, b| {
        (&a.statement.source_id, a.statement.id).cmp(&(&b.statement.source_id, b.statement.id))
    });
    figures
}

fn chain_key(statement: &Statement) -> String {
    crate::statement::NewStatement {
        source_id: statement.source_id.clone(),
        details: statement.details.clone(),
    }
    .chain_key()
}

/// The source's own incident sum at the statement's tier over the statement's period and area, for
/// a KILLED or INJURED statement of a source with incident assessments. KILLED_OR_INJURED is compared
/// with nothing.
fn own_at_tier(
    statement: &Statement,
    facts: &impl Facts,
    as_of: Option<NaiveDate>,
) -> Option<RangeSum> {
    let casualty = match statement.details.measure {
        Measure::Killed => Casualty::Killed,
        Measure::Injured => Casualty::Injured,
        Measure::KilledOrInjured => return None,
    };
    let d = &statement.details;
    // The statement's own period and area (countries, admin1, locality). Its attribution is its
    // scope, not its area, so it does not narrow the comparison.
    let filters = Filters {
        countries: d.area.countries().clone(),
        admin1: d.area.admin1.iter().cloned().collect(),
        localities: d.area.locality.iter().cloned().collect(),
        attributed_to: BTreeSet::new(),
        harm_done: HarmDone::default(),
        sources: BTreeSet::from([statement.source_id.clone()]),
    };
    // "Has incident assessments" as of the query: what was not yet published does not exist.
    let first = facts.first_assessed(&statement.source_id)?;
    if as_of.is_some_and(|as_of| first > as_of) {
        return None;
    }
    let figures = source_figures(facts, d.period, &filters, as_of);
    let own = figures.first()?;
    let at_tier = own.tiers.iter().find(|f| f.tier == d.tier)?;
    Some(*at_tier.of(casualty))
}

#[cfg(test)]
mod tests;
