//! The facts the rules read, and where they find them.
//!
//! A **group** is a set of incidents closed under explicit links and under DUPLICATE verdicts of any
//! date, superseded or not: the clusters of every `as_of` lie inside one group, so the rules can
//! settle a group's clusters (rules 1 and 2) without looking outside it. Most groups hold one
//! incident. [`Facts`] hands the rules the groups that may meet a window; the reference
//! ([`Dataset::facts`]) hands them one group of every row, a read model hands them those its index
//! finds.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::{Filters, Selection, SourceSays, Tally};
use crate::assessment::{KilledByGroup, Verdict};
use crate::count::CountRange;
use crate::country::CountryCode;
use crate::dates::DateInterval;
use crate::harm::HarmDone;
use crate::ids::{AssessmentId, IncidentId};
use crate::incident::IncidentPair;
use crate::slug::{Slug, SourceId};
use crate::statement::Statement;

/// What reconciliation needs to know of an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentFacts {
    pub id: IncidentId,
    pub occurred: DateInterval,
    pub country: CountryCode,
    pub admin1: Option<String>,
    pub locality: Option<String>,
    /// Sorted; a list rather than a set, since most incidents name one party and a read model holds
    /// millions of them.
    pub attributed_to: Vec<Slug>,
    pub harm_done: HarmDone,
}

/// What reconciliation needs to know of an assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentFacts {
    pub id: AssessmentId,
    pub source_id: SourceId,
    pub incident_id: IncidentId,
    pub verdict: Verdict,
    pub killed: Option<CountRange>,
    pub injured: Option<CountRange>,
    /// Boxed: most assessments state no group, and a read model holds millions of them.
    pub groups: Option<Box<KilledByGroup>>,
    pub assessed_on: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    pub duplicate_of: Option<IncidentId>,
}

impl AssessmentFacts {
    /// The order in which assessments take effect (rule 1): `assessed_on`, then `recorded_at`, then id.
    pub fn effect_order(&self) -> (NaiveDate, DateTime<Utc>, AssessmentId) {
        (self.assessed_on, self.recorded_at, self.id)
    }
}

/// What reconciliation needs to know of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFacts {
    pub id: SourceId,
    /// The party the source speaks for: its rejections and coverage gaps count only for clusters
    /// with a member attributed to that party (rule 5).
    pub belligerent: Option<Slug>,
}

/// Where the rules find their facts.
pub trait Facts {
    /// Every registered source, ordered by id.
    fn sources(&self) -> &[SourceFacts];
    /// Every statement, of any date.
    fn statements(&self) -> &[Statement];
    /// The earliest `assessed_on` of `source`'s assessments: whether it has recorded any (rules 5
    /// and 6).
    fn first_assessed(&self, source: &SourceId) -> Option<NaiveDate>;
    /// Calls `visit` with every group that has a member whose dates overlap `window`, each once.
    /// Others may come too: the rules place every member themselves.
    fn for_each_group<'a>(&'a self, window: DateInterval, visit: &mut dyn FnMut(&'a Group));
    /// For an answer of the present: calls `visit` with every group that [`Facts::for_each_group`]
    /// would, except those that `filters` cannot select, some of them summed in tallies for
    /// `selection` (see [`Tally::summing`]). Each group comes once, alone or in one tally.
    fn for_each_part<'a>(
        &'a self,
        window: DateInterval,
        _filters: &Filters,
        _selection: &Selection,
        visit: &mut dyn FnMut(Part<'a>),
    ) {
        self.for_each_group(window, &mut |group| visit(Part::Group(group)));
    }
}

/// What [`Facts::for_each_part`] hands an answer: a group, or a tally of groups.
#[derive(Debug)]
pub enum Part<'a> {
    Group(&'a Group),
    Summed(Arc<Tally>),
}

/// Incidents closed under links and DUPLICATE verdicts of any date, with every assessment of them.
#[derive(Debug, Clone)]
pub struct Group {
    incidents: Vec<IncidentFacts>,
    assessments: Vec<AssessmentFacts>,
    links: Vec<IncidentPair>,
    /// Rules 1 and 2 with no `as_of`, settled once for a group of several incidents: most queries
    /// ask of the present. A group of one incident, most groups, is settled when asked: that is
    /// cheap, and a read model holds a million of them (BENCHMARKS.md, finding 32).
    present: Option<Settled>,
}

impl Group {
    /// A group of `incidents`, with every assessment of them and the explicit links between them.
    pub fn new(
        incidents: Vec<IncidentFacts>,
        assessments: Vec<AssessmentFacts>,
        links: Vec<IncidentPair>,
    ) -> Self {
        let (mut incidents, mut assessments) = (incidents, assessments);
        incidents.shrink_to_fit();
        assessments.shrink_to_fit();
        let present =
            (incidents.len() > 1).then(|| Settled::new(&incidents, &assessments, &links, None));
        Self {
            incidents,
            assessments,
            links,
            present,
        }
    }

    pub fn incidents(&self) -> &[IncidentFacts] {
        &self.incidents
    }

    pub fn assessments(&self) -> &[AssessmentFacts] {
        &self.assessments
    }

    pub fn links(&self) -> &[IncidentPair] {
        &self.links
    }

    /// The group's clusters as of `as_of`, with the current assessments of their members: borrowed
    /// when settled once already, computed otherwise.
    pub(crate) fn settle(
        &self,
        as_of: Option<NaiveDate>,
    ) -> Box<dyn Iterator<Item = Cow<'_, SettledCluster>> + '_> {
        match (as_of, &self.present) {
            (None, Some(present)) => Box::new(present.clusters.iter().map(Cow::Borrowed)),
            _ => Box::new(
                Settled::new(&self.incidents, &self.assessments, &self.links, as_of)
                    .clusters
                    .into_iter()
                    .map(Cow::Owned),
            ),
        }
    }
}

/// A group's clusters at one `as_of` (rules 1 and 2), by index into the group's incidents and
/// assessments.
#[derive(Debug, Clone)]
pub(crate) struct Settled {
    pub(crate) clusters: Vec<SettledCluster>,
}

#[derive(Debug, Clone)]
pub(crate) struct SettledCluster {
    pub(crate) id: IncidentId,
    pub(crate) members: Vec<usize>,
    /// The current assessment of each (source, member), DUPLICATE included, ordered by source.
    pub(crate) current: Vec<usize>,
    /// What each source with a current assessment of a member says of the cluster, by source.
    pub(crate) sources: Vec<SourceSays>,
}

impl Settled {
    fn new(
        incidents: &[IncidentFacts],
        assessments: &[AssessmentFacts],
        links: &[IncidentPair],
        as_of: Option<NaiveDate>,
    ) -> Self {
        let current = current_indices(assessments, as_of);
        if let [only] = incidents {
            // One incident is one cluster: no links to walk.
            let current: Vec<usize> = current
                .into_iter()
                .filter(|&i| assessments[i].incident_id == only.id)
                .collect();
            let sources = says(&current, assessments);
            let cluster = SettledCluster {
                id: only.id,
                members: vec![0],
                current,
                sources,
            };
            return Self {
                clusters: vec![cluster],
            };
        }
        let clusters = Clusters::build(links, current.iter().map(|&i| &assessments[i]));
        let mut settled: BTreeMap<IncidentId, SettledCluster> = BTreeMap::new();
        let mut cluster_of = BTreeMap::new();
        for (index, incident) in incidents.iter().enumerate() {
            let id = clusters.cluster_of(incident.id);
            cluster_of.insert(incident.id, id);
            settled
                .entry(id)
                .or_insert_with(|| SettledCluster {
                    id,
                    members: Vec::new(),
                    current: Vec::new(),
                    sources: Vec::new(),
                })
                .members
                .push(index);
        }
        for index in current {
            if let Some(cluster) = cluster_of
                .get(&assessments[index].incident_id)
                .and_then(|id| settled.get_mut(id))
            {
                cluster.current.push(index);
            }
        }
        for cluster in settled.values_mut() {
            // Settled once for the present and held for every group: no spare capacity.
            cluster.members.shrink_to_fit();
            cluster.current.shrink_to_fit();
            cluster.sources = says(&cluster.current, assessments);
            cluster.sources.shrink_to_fit();
        }
        Self {
            clusters: settled.into_values().collect(),
        }
    }
}

/// What each source says of a cluster, from the current assessments of its members (by index,
/// ordered by source).
fn says(current: &[usize], assessments: &[AssessmentFacts]) -> Vec<SourceSays> {
    current
        .chunk_by(|a, b| assessments[*a].source_id == assessments[*b].source_id)
        .map(|own| SourceSays::of(own[0], own.iter().map(|&i| &assessments[i])))
        .collect()
}

/// Rule 1, by index: each source's current assessment of each incident as of `as_of` (no limit when
/// `None`), ordered by (source, incident).
fn current_indices(assessments: &[AssessmentFacts], as_of: Option<NaiveDate>) -> Vec<usize> {
    let mut current: BTreeMap<(&SourceId, IncidentId), usize> = BTreeMap::new();
    for (index, a) in assessments.iter().enumerate() {
        if as_of.is_some_and(|as_of| a.assessed_on > as_of) {
            continue;
        }
        let held = current
            .entry((&a.source_id, a.incident_id))
            .or_insert(index);
        if assessments[*held].effect_order() < a.effect_order() {
            *held = index;
        }
    }
    current.into_values().collect()
}

/// Rule 1: each source's current assessment of each incident as of `as_of` (no limit when `None`).
pub fn current_assessments(
    assessments: &[AssessmentFacts],
    as_of: Option<NaiveDate>,
) -> BTreeMap<(SourceId, IncidentId), &AssessmentFacts> {
    current_indices(assessments, as_of)
        .into_iter()
        .map(|i| {
            let a = &assessments[i];
            ((a.source_id.clone(), a.incident_id), a)
        })
        .collect()
}

/// The connected components of the links (rule 2): one real event each, identified by its smallest
/// incident id.
#[derive(Debug, Clone, Default)]
pub struct Clusters {
    parent: BTreeMap<IncidentId, IncidentId>,
}

impl Clusters {
    /// Clusters from every explicit link and every current DUPLICATE verdict that names its target.
    pub fn build<'a>(
        links: &[IncidentPair],
        current: impl IntoIterator<Item = &'a AssessmentFacts>,
    ) -> Self {
        let mut clusters = Self::default();
        for link in links {
            clusters.union(link.low(), link.high());
        }
        for a in current {
            if a.verdict == Verdict::Duplicate
                && let Some(target) = a.duplicate_of
            {
                clusters.union(a.incident_id, target);
            }
        }
        clusters
    }

    fn root(&self, mut id: IncidentId) -> IncidentId {
        while let Some(&parent) = self.parent.get(&id) {
            if parent == id {
                break;
            }
            id = parent;
        }
        id
    }

    fn union(&mut self, a: IncidentId, b: IncidentId) {
        let (ra, rb) = (self.root(a), self.root(b));
        // The smaller root wins, so a root is always its cluster's smallest id.
        let (low, high) = (ra.min(rb), ra.max(rb));
        self.parent.insert(low, low);
        self.parent.insert(high, low);
    }

    /// The id of the cluster `incident` belongs to: its smallest member's id.
    pub fn cluster_of(&self, incident: IncidentId) -> IncidentId {
        self.root(incident)
    }
}

/// Every row, as the reference implementation takes it: no index, no read model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dataset {
    pub sources: Vec<SourceFacts>,
    pub incidents: Vec<IncidentFacts>,
    pub assessments: Vec<AssessmentFacts>,
    /// Explicit links, which hold whatever `as_of` says: they are an analyst's judgement.
    pub links: Vec<IncidentPair>,
    pub statements: Vec<Statement>,
}

impl Dataset {
    /// The dataset as the rules read it: one group of every incident, visited for any window.
    pub fn facts(&self) -> DatasetFacts<'_> {
        let mut sources = self.sources.clone();
        sources.sort_by(|a, b| a.id.cmp(&b.id));
        DatasetFacts {
            data: self,
            sources,
            everything: Group::new(
                self.incidents.clone(),
                self.assessments.clone(),
                self.links.clone(),
            ),
        }
    }
}

/// A [`Dataset`] as [`Facts`]: see [`Dataset::facts`].
#[derive(Debug)]
pub struct DatasetFacts<'a> {
    data: &'a Dataset,
    sources: Vec<SourceFacts>,
    everything: Group,
}

impl Facts for DatasetFacts<'_> {
    fn sources(&self) -> &[SourceFacts] {
        &self.sources
    }

    fn statements(&self) -> &[Statement] {
        &self.data.statements
    }

    fn first_assessed(&self, source: &SourceId) -> Option<NaiveDate> {
        self.data
            .assessments
            .iter()
            .filter(|a| a.source_id == *source)
            .map(|a| a.assessed_on)
            .min()
    }

    fn for_each_group<'a>(&'a self, _window: DateInterval, visit: &mut dyn FnMut(&'a Group)) {
        visit(&self.everything);
    }
}
