//! Rules 3 to 5 as sums. A [`Tally`] adds up what each settled cluster gives an answer: each selected
//! source's own figures (rule 3), the reconciled tiers (rule 4), the disputed clusters and the
//! coverage gaps (rule 5). Tallies of disjoint clusters add up, so a read model may hold the tally of
//! clusters that every window placing them alike shares ([`Tally::summing`]), and an answer adds it
//! instead of the clusters.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::facts::SettledCluster;
use super::{
    Casualty, CoverageGap, Disputed, Facts, Filters, Group, LISTED_CLUSTERS, Position,
    SourceFigures, SourceSays, Split, TierFigures, combine, position,
};
use crate::assessment::{Tier, Verdict};
use crate::dates::DateInterval;
use crate::ids::IncidentId;
use crate::slug::{Slug, SourceId};

/// The sources an answer reads, ordered by id, and the party each speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selection {
    sources: Vec<SourceId>,
    belligerents: Vec<Option<Slug>>,
}

impl Selection {
    /// The filter's sources, or every source; as the facts spell them, so that comparing them with
    /// the facts' own is cheap.
    pub fn new(facts: &impl Facts, filters: &Filters) -> Self {
        let registered = facts.sources();
        let spelled = |s: &SourceId| {
            registered
                .iter()
                .find(|r| r.id == *s)
                .map_or_else(|| s.clone(), |r| r.id.clone())
        };
        let sources: Vec<SourceId> = if filters.sources.is_empty() {
            registered.iter().map(|s| s.id.clone()).collect()
        } else {
            let chosen: BTreeSet<SourceId> = filters.sources.iter().map(spelled).collect();
            chosen.into_iter().collect()
        };
        let belligerents = sources
            .iter()
            .map(|s| {
                registered
                    .iter()
                    .find(|r| r.id == *s)
                    .and_then(|r| r.belligerent.clone())
            })
            .collect();
        Self {
            sources,
            belligerents,
        }
    }

    pub fn sources(&self) -> &[SourceId] {
        &self.sources
    }

    fn index_of(&self, source: &SourceId) -> Option<usize> {
        self.sources.iter().position(|s| s == source)
    }

    pub(crate) fn includes(&self, source: &SourceId) -> bool {
        self.index_of(source).is_some()
    }
}

/// The first [`LISTED_CLUSTERS`] cluster ids of those added, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Listed(Vec<IncidentId>);

impl Listed {
    fn push(&mut self, id: IncidentId) {
        if self.0.len() == LISTED_CLUSTERS && self.0.last().is_some_and(|last| id >= *last) {
            return;
        }
        let at = self.0.partition_point(|held| *held < id);
        self.0.insert(at, id);
        self.0.truncate(LISTED_CLUSTERS);
    }

    fn merge(&mut self, other: &Self) {
        for id in &other.0 {
            self.push(*id);
        }
    }
}

/// One source's own figures (rule 3) as they are summed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SourceTally {
    /// By verdict, in [`Verdict::ALL`]'s order.
    verdicts: [Split; Verdict::ALL.len()],
    tiers: [TierFigures; 3],
}

/// A source's coverage gap as it is summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Gap {
    clusters: u64,
    listed: Listed,
}

/// Rules 3 to 5 summed over some settled clusters, for one [`Selection`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Per selected source, in the selection's order.
    sources: Vec<SourceTally>,
    tiers: [TierFigures; 3],
    disputed: TierFigures,
    disputed_ids: Listed,
    /// Per selected source. Those that have recorded no assessment have none (rule 5): they are
    /// dropped when the answer is read, so that a tally does not depend on it.
    gaps: Vec<Gap>,
}

fn reported_tiers() -> [TierFigures; 3] {
    Tier::REPORTED.map(TierFigures::empty)
}

impl Tally {
    pub fn new(selection: &Selection) -> Self {
        let source = SourceTally {
            verdicts: [Split::default(); Verdict::ALL.len()],
            tiers: reported_tiers(),
        };
        Self {
            sources: vec![source; selection.sources.len()],
            tiers: reported_tiers(),
            disputed: TierFigures::empty(Tier::Likely),
            disputed_ids: Listed::default(),
            gaps: vec![Gap::default(); selection.sources.len()],
        }
    }

    /// The tally of the present clusters of `groups`, as an answer whose window places every member
    /// as `window` does, and whose filters choose every member, counts them.
    pub fn summing<'a>(
        groups: impl IntoIterator<Item = &'a Group>,
        window: DateInterval,
        selection: &Selection,
    ) -> Self {
        let mut tally = Self::new(selection);
        for group in groups {
            tally.add_group(group, None, window, &Filters::default(), selection);
        }
        tally
    }

    /// Adds the clusters of `group` as of `as_of` that meet `window` and that `filters` select.
    pub fn add_group(
        &mut self,
        group: &Group,
        as_of: Option<NaiveDate>,
        window: DateInterval,
        filters: &Filters,
        selection: &Selection,
    ) {
        for cluster in group.settle(as_of) {
            self.count_members(group, &cluster, window, filters, selection);
            if let Some(view) = ClusterView::of(group, &cluster, window, filters, selection) {
                self.add_cluster(&view, selection);
            }
        }
    }

    /// Adds `other`, a tally of other clusters for the same selection.
    pub fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.sources.iter_mut().zip(&other.sources) {
            for (a, b) in mine.verdicts.iter_mut().zip(&theirs.verdicts) {
                a.merge(b);
            }
            for (a, b) in mine.tiers.iter_mut().zip(&theirs.tiers) {
                a.merge(b);
            }
        }
        for (a, b) in self.tiers.iter_mut().zip(&other.tiers) {
            a.merge(b);
        }
        self.disputed.merge(&other.disputed);
        self.disputed_ids.merge(&other.disputed_ids);
        for (a, b) in self.gaps.iter_mut().zip(&other.gaps) {
            a.clusters += b.clusters;
            a.listed.merge(&b.listed);
        }
    }

    /// Rule 3 for one cluster's members that the filters choose and that meet `window`.
    fn count_members(
        &mut self,
        group: &Group,
        cluster: &SettledCluster,
        window: DateInterval,
        filters: &Filters,
        selection: &Selection,
    ) {
        for &member in &cluster.members {
            let incident = &group.incidents()[member];
            if !filters.chooses(incident) {
                continue;
            }
            let inside = match position(incident.occurred, window) {
                Position::Inside => true,
                Position::Boundary => false,
                Position::Out => continue,
            };
            for &index in &cluster.current {
                let a = &group.assessments()[index];
                if a.incident_id != incident.id {
                    continue;
                }
                let Some(source) = selection.index_of(&a.source_id) else {
                    continue;
                };
                let Some(verdict_tier) = a.verdict.tier() else {
                    continue; // DUPLICATE links incidents; it is not a verdict on one.
                };
                let figures = &mut self.sources[source];
                if let Some(v) = Verdict::ALL.iter().position(|v| *v == a.verdict) {
                    figures.verdicts[v].count(inside);
                }
                for tier in figures.tiers.iter_mut().filter(|f| verdict_tier >= f.tier) {
                    tier.counted.count(inside);
                    for casualty in Casualty::ALL {
                        tier.of_mut(casualty).add(casualty.of(a), inside);
                    }
                }
            }
        }
    }

    /// Rules 4 and 5 for one selected cluster in the window.
    fn add_cluster(&mut self, cluster: &ClusterView<'_>, selection: &Selection) {
        for tier in &mut self.tiers {
            tier.add_cluster(cluster);
        }
        // Rule 5: a source with a belligerent speaks only for clusters involving that party.
        let speaks_for = |source: usize| {
            selection.belligerents[source]
                .as_ref()
                .is_none_or(|party| cluster.involves(party))
        };
        // Disputed when one selected source puts it at LIKELY or higher and another rejects it.
        let rejects =
            |s: &(usize, &SourceSays)| s.1.tier == Some(Tier::Rejected) && speaks_for(s.0);
        let disputed = cluster.says.iter().any(|high| {
            high.1.tier.is_some_and(|t| t >= Tier::Likely)
                && cluster
                    .says
                    .iter()
                    .any(|low| low.0 != high.0 && rejects(low))
        });
        if disputed {
            self.disputed.add_cluster(cluster);
            self.disputed_ids.push(cluster.id);
        }
        if cluster.at_tier(Tier::Likely) {
            for (source, gap) in self.gaps.iter_mut().enumerate() {
                if !cluster.says.iter().any(|s| s.0 == source) && speaks_for(source) {
                    gap.clusters += 1;
                    gap.listed.push(cluster.id);
                }
            }
        }
    }

    /// The answer's incident figures: per source, the reconciled tiers, the disputed clusters, and
    /// the gaps of the sources that have recorded an assessment.
    pub(crate) fn finish(
        self,
        selection: &Selection,
        facts: &impl Facts,
    ) -> (
        Vec<SourceFigures>,
        Vec<TierFigures>,
        Disputed,
        Vec<CoverageGap>,
    ) {
        let sources = selection
            .sources
            .iter()
            .zip(self.sources)
            .map(|(source_id, own)| SourceFigures {
                source_id: source_id.clone(),
                verdicts: Verdict::ALL
                    .into_iter()
                    .zip(own.verdicts)
                    .filter(|(_, split)| *split != Split::default())
                    .collect(),
                tiers: own.tiers.to_vec(),
            })
            .collect();
        let disputed = Disputed {
            figures: self.disputed,
            cluster_ids: self.disputed_ids.0,
        };
        let coverage_gaps = selection
            .sources
            .iter()
            .zip(self.gaps)
            .filter(|(source, _)| facts.first_assessed(source).is_some())
            .map(|(source_id, gap)| CoverageGap {
                source_id: source_id.clone(),
                clusters: gap.clusters,
                cluster_ids: gap.listed.0,
            })
            .collect();
        (sources, self.tiers.to_vec(), disputed, coverage_gaps)
    }
}

/// One selected cluster in the window, with what its selected sources say.
struct ClusterView<'a> {
    id: IncidentId,
    position: Position,
    group: &'a Group,
    cluster: &'a SettledCluster,
    /// Each selected source with a current assessment of a member (DUPLICATE and OPEN included), by
    /// its index in the selection.
    says: Vec<(usize, &'a SourceSays)>,
}

impl<'a> ClusterView<'a> {
    /// Rule 2 for one settled cluster: its view when the filters select it and it meets `window`.
    fn of(
        group: &'a Group,
        cluster: &'a SettledCluster,
        window: DateInterval,
        filters: &Filters,
        selection: &Selection,
    ) -> Option<Self> {
        let members = || cluster.members.iter().map(|&i| &group.incidents()[i]);
        if !members().any(|m| filters.chooses(m)) {
            return None;
        }
        let positions = || members().map(|m| position(m.occurred, window));
        let position = if positions().all(|p| p == Position::Inside) {
            Position::Inside
        } else if positions().any(|p| p != Position::Out) {
            Position::Boundary
        } else {
            return None;
        };
        let says = cluster
            .sources
            .iter()
            .filter_map(|s| {
                let source = &group.assessments()[s.source_of].source_id;
                Some((selection.index_of(source)?, s))
            })
            .collect();
        Some(Self {
            id: cluster.id,
            position,
            group,
            cluster,
            says,
        })
    }

    /// Whether at least one selected source puts the cluster at `tier` or higher.
    fn at_tier(&self, tier: Tier) -> bool {
        self.says
            .iter()
            .any(|s| s.1.tier.is_some_and(|t| t >= tier))
    }

    /// Whether some member is attributed to `belligerent`.
    fn involves(&self, belligerent: &Slug) -> bool {
        self.cluster.members.iter().any(|&m| {
            self.group.incidents()[m]
                .attributed_to
                .contains(belligerent)
        })
    }

    /// Rule 4's figure for the cluster at `tier`: the smallest min and the largest max among the
    /// figures of the sources that put it at that tier or higher.
    fn figure(&self, tier: Tier, casualty: Casualty) -> Option<crate::count::CountRange> {
        combine(
            self.says
                .iter()
                .filter(|s| s.1.tier.is_some_and(|t| t >= tier))
                .filter_map(|s| s.1.figure(tier, casualty)),
            u32::min,
        )
    }
}

impl TierFigures {
    /// Rule 4: adds `cluster` when a selected source puts it at this tier or higher.
    fn add_cluster(&mut self, cluster: &ClusterView<'_>) {
        if !cluster.at_tier(self.tier) {
            return;
        }
        let inside = cluster.position == Position::Inside;
        self.counted.count(inside);
        for casualty in Casualty::ALL {
            let figure = cluster.figure(self.tier, casualty);
            self.of_mut(casualty).add(figure, inside);
        }
    }
}
