//! The facts held in memory, indexed by time: the groups (see [`civcas_domain::reconcile::facts`])
//! and, for each member, its first day, so that the groups meeting a window are found without a
//! scan of all of them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Days, NaiveDate};
use civcas_domain::reconcile::{
    AssessmentFacts, Dataset, Facts, Filters, Group, Part, Selection, SourceFacts,
};
use civcas_domain::{DateInterval, IncidentId, IncidentPair, SourceId, Statement};

use super::fetch::{IncidentRecord, Registry};
use super::summed::{self, Summed};

/// Members are indexed by their first day in classes of span: class `k` holds spans of at most
/// `2^k` days, so that a window looks back at most that far in each class. The last class holds
/// every longer span, and is looked back through whole.
const SPAN_CLASSES: usize = 12;

fn span_class(occurred: DateInterval) -> usize {
    let days = u64::try_from(occurred.days()).unwrap_or(u64::MAX).max(1);
    let class = (u64::BITS - (days - 1).leading_zeros()) as usize;
    class.min(SPAN_CLASSES - 1)
}

/// The facts of every group, and where to find them.
#[derive(Debug, Default)]
pub(crate) struct Index {
    registry: Registry,
    /// The groups, by slot; a slot left empty is on `free`.
    groups: Vec<Option<Group>>,
    free: Vec<usize>,
    /// Each incident held, and its group's slot.
    group_of: HashMap<IncidentId, usize>,
    /// The groups of one incident within a month, summed.
    summed: Summed,
    /// By span class, each first day of a member of the other groups, keyed with its id.
    starts: [BTreeMap<(NaiveDate, IncidentId), Start>; SPAN_CLASSES],
}

/// A member as the time index finds it.
#[derive(Debug, Clone, Copy)]
struct Start {
    last: NaiveDate,
    slot: usize,
    /// Whether its group has other members, which the index may find too.
    shared: bool,
}

impl Index {
    pub(crate) fn incidents(&self) -> usize {
        self.group_of.len()
    }

    pub(crate) fn groups(&self) -> usize {
        self.groups.len() - self.free.len()
    }

    fn all_groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.iter().flatten()
    }

    /// Every assessment held, of any date.
    pub(crate) fn assessments(&self) -> impl Iterator<Item = &AssessmentFacts> {
        self.all_groups().flat_map(Group::assessments)
    }

    /// Every fact held, ordered by id.
    pub(crate) fn dataset(&self) -> Dataset {
        let mut data = Dataset {
            sources: self.registry.sources.clone(),
            statements: self.registry.statements.clone(),
            ..Dataset::default()
        };
        for group in self.all_groups() {
            data.incidents.extend_from_slice(group.incidents());
            data.assessments.extend_from_slice(group.assessments());
            data.links.extend_from_slice(group.links());
        }
        data.incidents.sort_by_key(|i| i.id);
        data.assessments.sort_by_key(|a| a.id);
        data.links.sort_by_key(|l| (l.low(), l.high()));
        data.statements.sort_by_key(|s| s.id);
        data
    }

    pub(crate) fn set_registry(&mut self, registry: Registry) {
        self.registry = registry;
    }

    /// Takes in `records`, the incidents `touched` as they are now (an id without a record is no
    /// longer named by any assessment or link): their groups, and the groups their links and
    /// DUPLICATE verdicts now reach, are grouped again.
    pub(crate) fn update(
        &mut self,
        touched: &BTreeSet<IncidentId>,
        mut records: HashMap<IncidentId, IncidentRecord>,
    ) {
        for record in records.values() {
            for a in &record.assessments {
                let first = self
                    .registry
                    .first_assessed
                    .entry(a.source_id.clone())
                    .or_insert(a.assessed_on);
                *first = (*first).min(a.assessed_on);
            }
        }
        // Every group a touched incident, or an incident it now names, belongs to.
        let mut reached: Vec<IncidentId> = touched.iter().copied().collect();
        reached.extend(records.values().flat_map(IncidentRecord::neighbours));
        let mut pool: BTreeSet<IncidentId> = BTreeSet::new();
        while let Some(id) = reached.pop() {
            if !pool.insert(id) {
                continue;
            }
            if let Some(group) = self.group_of.get(&id).and_then(|&slot| self.group(slot)) {
                reached.extend(group.incidents().iter().map(|i| i.id));
            }
            if let Some(record) = records.get(&id) {
                reached.extend(record.neighbours());
            }
        }
        // The untouched members of those groups keep their records.
        let old_groups: BTreeSet<usize> = pool
            .iter()
            .filter_map(|id| self.group_of.get(id).copied())
            .collect();
        for slot in old_groups {
            let Some(group) = self.groups[slot].take() else {
                continue;
            };
            self.free.push(slot);
            let summed = summed::sums(group.incidents());
            for incident in group.incidents() {
                self.group_of.remove(&incident.id);
                if summed {
                    self.summed.remove(slot, incident);
                } else {
                    self.starts[span_class(incident.occurred)]
                        .remove(&(incident.occurred.from(), incident.id));
                }
            }
            for record in split(group) {
                if !touched.contains(&record.facts.id) {
                    records.entry(record.facts.id).or_insert(record);
                }
            }
        }
        records.retain(|id, _| pool.contains(id));
        self.regroup(records);
    }

    /// Groups `records` into connected components of their links and DUPLICATE verdicts, and indexes
    /// them.
    fn regroup(&mut self, mut records: HashMap<IncidentId, IncidentRecord>) {
        let mut adjacent: HashMap<IncidentId, Vec<IncidentId>> = HashMap::new();
        for record in records.values() {
            for other in record.neighbours() {
                adjacent.entry(record.facts.id).or_default().push(other);
                adjacent.entry(other).or_default().push(record.facts.id);
            }
        }
        let mut ids: Vec<IncidentId> = records.keys().copied().collect();
        ids.sort_unstable();
        for start in ids {
            let Some(first) = records.remove(&start) else {
                continue; // already in an earlier component
            };
            let mut members = vec![first];
            let mut next = adjacent.get(&start).cloned().unwrap_or_default();
            while let Some(id) = next.pop() {
                if let Some(record) = records.remove(&id) {
                    next.extend(adjacent.get(&id).into_iter().flatten());
                    members.push(record);
                }
            }
            self.insert(members);
        }
    }

    fn group(&self, slot: usize) -> Option<&Group> {
        self.groups.get(slot).and_then(Option::as_ref)
    }

    /// An index of the `registry` alone, whose groups come with [`Index::insert`].
    pub(crate) fn empty(registry: Registry) -> Self {
        Self {
            registry,
            ..Self::default()
        }
    }

    /// Adds a group: incidents joined by their links and DUPLICATE verdicts, none of them held yet.
    pub(crate) fn insert(&mut self, members: Vec<IncidentRecord>) {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.groups.push(None);
            self.groups.len() - 1
        });
        let shared = members.len() > 1;
        let mut incidents = Vec::with_capacity(members.len());
        let mut assessments = Vec::new();
        let mut links = BTreeSet::new();
        for record in members {
            self.group_of.insert(record.facts.id, slot);
            incidents.push(record.facts);
            match assessments.is_empty() {
                true => assessments = record.assessments,
                false => assessments.extend(record.assessments),
            }
            links.extend(record.links.iter().map(|l| (l.low(), l.high())));
        }
        let links = links
            .into_iter()
            .filter_map(|(low, high)| IncidentPair::new(low, high).ok())
            .collect();
        if summed::sums(&incidents) {
            self.summed.insert(slot, &incidents[0]);
        } else {
            for incident in &incidents {
                let start = Start {
                    last: incident.occurred.to(),
                    slot,
                    shared,
                };
                self.starts[span_class(incident.occurred)]
                    .insert((incident.occurred.from(), incident.id), start);
            }
        }
        self.groups[slot] = Some(Group::new(incidents, assessments, links));
    }

    /// Calls `visit` with each group of the time index that has a member whose dates overlap
    /// `window`, once each.
    fn for_each_unsummed<'a>(&'a self, window: DateInterval, visit: &mut dyn FnMut(&'a Group)) {
        // A group of one member is found once; others may be found by several, and are visited
        // once each at the end.
        let mut shared: Vec<usize> = Vec::new();
        for (class, starts) in self.starts.iter().enumerate() {
            let reach = if class + 1 == SPAN_CLASSES {
                NaiveDate::MIN
            } else {
                window
                    .from()
                    .checked_sub_days(Days::new((1 << class) - 1))
                    .unwrap_or(NaiveDate::MIN)
            };
            let (first, last) = (
                (reach, IncidentId::from_stored(i64::MIN)),
                (window.to(), IncidentId::from_stored(i64::MAX)),
            );
            for start in starts
                .range(first..=last)
                .map(|(_, start)| start)
                .filter(|start| start.last >= window.from())
            {
                if start.shared {
                    shared.push(start.slot);
                } else if let Some(group) = self.group(start.slot) {
                    visit(group);
                }
            }
        }
        shared.sort_unstable();
        shared.dedup();
        for group in shared.into_iter().filter_map(|slot| self.group(slot)) {
            visit(group);
        }
    }
}

/// A group's facts back as one record per member.
fn split(group: Group) -> Vec<IncidentRecord> {
    let mut records: BTreeMap<IncidentId, IncidentRecord> = group
        .incidents()
        .iter()
        .map(|facts| {
            let record = IncidentRecord {
                facts: facts.clone(),
                assessments: Vec::new(),
                links: Vec::new(),
            };
            (facts.id, record)
        })
        .collect();
    for a in group.assessments() {
        if let Some(record) = records.get_mut(&a.incident_id) {
            record.assessments.push(a.clone());
        }
    }
    for link in group.links() {
        for end in [link.low(), link.high()] {
            if let Some(record) = records.get_mut(&end) {
                record.links.push(*link);
            }
        }
    }
    records.into_values().collect()
}

impl Facts for Index {
    fn sources(&self) -> &[SourceFacts] {
        &self.registry.sources
    }

    fn statements(&self) -> &[Statement] {
        &self.registry.statements
    }

    fn first_assessed(&self, source: &SourceId) -> Option<NaiveDate> {
        self.registry.first_assessed.get(source).copied()
    }

    fn for_each_group<'a>(&'a self, window: DateInterval, visit: &mut dyn FnMut(&'a Group)) {
        self.for_each_unsummed(window, visit);
        for slot in self.summed.slots_meeting(window) {
            if let Some(group) = self.group(slot) {
                visit(group);
            }
        }
    }

    fn for_each_part<'a>(
        &'a self,
        window: DateInterval,
        filters: &Filters,
        selection: &Selection,
        visit: &mut dyn FnMut(Part<'a>),
    ) {
        self.for_each_unsummed(window, &mut |group| visit(Part::Group(group)));
        self.summed
            .for_each_part(&self.groups, window, filters, selection, visit);
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use civcas_domain::harm::{HarmDone, Terms};
    use civcas_domain::reconcile::{
        AssessmentFacts, FigureQuery, IncidentFacts, figures, reconcile,
    };
    use civcas_domain::{AssessmentId, CountRange, CountryCode, KilledByGroup, Verdict};

    use super::*;

    fn day(offset: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2017, 6, 1).unwrap() + Days::new(offset)
    }

    fn record(id: i64, from: u64, days: u64) -> IncidentRecord {
        IncidentRecord {
            facts: IncidentFacts {
                id: IncidentId::from_stored(id),
                occurred: DateInterval::new(day(from), day(from + days - 1)).unwrap(),
                country: CountryCode::parse("SY").unwrap(),
                admin1: None,
                locality: None,
                attributed_to: Vec::new(),
                harm_done: HarmDone::default(),
            },
            assessments: Vec::new(),
            links: Vec::new(),
        }
    }

    fn duplicate(id: i64, of: i64) -> AssessmentFacts {
        AssessmentFacts {
            id: AssessmentId::from_stored(id * 100 + of),
            source_id: SourceId::parse("airwars").unwrap(),
            incident_id: IncidentId::from_stored(id),
            verdict: Verdict::Duplicate,
            killed: None,
            injured: None,
            groups: None,
            assessed_on: day(0),
            recorded_at: DateTime::<Utc>::UNIX_EPOCH,
            duplicate_of: Some(IncidentId::from_stored(of)),
        }
    }

    fn link(a: i64, b: i64) -> IncidentPair {
        IncidentPair::new(IncidentId::from_stored(a), IncidentId::from_stored(b)).unwrap()
    }

    /// The incidents `records` hold as they would be stored: each link on both its ends.
    fn stored(records: &[IncidentRecord]) -> HashMap<IncidentId, IncidentRecord> {
        let mut by_id: HashMap<IncidentId, IncidentRecord> = records
            .iter()
            .map(|r| {
                let bare = IncidentRecord {
                    links: Vec::new(),
                    ..r.clone()
                };
                (r.facts.id, bare)
            })
            .collect();
        for pair in records.iter().flat_map(|r| r.links.iter()) {
            for end in [pair.low(), pair.high()] {
                let links = &mut by_id.get_mut(&end).unwrap().links;
                if !links.contains(pair) {
                    links.push(*pair);
                }
            }
        }
        by_id
    }

    /// An index built from `records` at once.
    fn built(records: HashMap<IncidentId, IncidentRecord>) -> Index {
        let mut index = Index::empty(Registry::default());
        let touched = records.keys().copied().collect();
        index.update(&touched, records);
        index
    }

    fn groups(index: &Index) -> BTreeSet<Vec<i64>> {
        index
            .all_groups()
            .map(|g| {
                let mut ids: Vec<i64> = g.incidents().iter().map(|i| i.id.get()).collect();
                ids.sort_unstable();
                ids
            })
            .collect()
    }

    fn visited(index: &Index, from: u64, to: u64) -> BTreeSet<i64> {
        let window = DateInterval::new(day(from), day(to)).unwrap();
        let mut seen = BTreeSet::new();
        index.for_each_group(window, &mut |g| {
            seen.extend(g.incidents().iter().map(|i| i.id.get()));
        });
        seen
    }

    /// Updates that merge and split groups leave the index as one built from scratch.
    #[test]
    fn updates_regroup_as_a_new_index_would() {
        let mut now: Vec<IncidentRecord> =
            (1..=5).map(|id| record(id, id as u64 * 10, 1)).collect();
        let mut index = built(stored(&now));
        assert_eq!(groups(&index).len(), 5);

        // 1 linked to 2, and 4 a DUPLICATE of 3: two merges.
        now[0].links.push(link(1, 2));
        now[3].assessments.push(duplicate(4, 3));
        let touched = [1, 2, 3, 4].map(IncidentId::from_stored).into();
        index.update(&touched, stored(&now));
        let scratch = built(stored(&now));
        assert_eq!(groups(&index), groups(&scratch));
        assert_eq!(groups(&index), [vec![1, 2], vec![3, 4], vec![5]].into());

        // 2 linked to 3 joins both; then the link from 1 goes: 1 alone, the rest together.
        now[1].links.push(link(2, 3));
        index.update(&[2, 3].map(IncidentId::from_stored).into(), stored(&now));
        assert_eq!(groups(&index), [vec![1, 2, 3, 4], vec![5]].into());
        now[0].links.clear();
        now[1].links.retain(|l| *l != link(1, 2));
        index.update(&[1, 2].map(IncidentId::from_stored).into(), stored(&now));
        assert_eq!(groups(&index), [vec![1], vec![2, 3, 4], vec![5]].into());
        assert_eq!(groups(&index), groups(&built(stored(&now))));
        assert_eq!(index.incidents(), 5);

        // An incident nothing names any more leaves the index, and its day with it.
        let gone = IncidentId::from_stored(5);
        index.update(&[gone].into(), HashMap::new());
        assert_eq!(index.incidents(), 4);
        assert!(visited(&index, 50, 50).is_empty());
    }

    /// A window visits every group with a member overlapping it, however long the member's span,
    /// and the summed groups of every month it meets.
    #[test]
    fn a_window_visits_the_groups_of_members_overlapping_it() {
        let records = [
            record(1, 0, 1),
            record(2, 0, 40),    // ends on day 39
            record(3, 0, 3_000), // longer than any class but the last
            record(4, 45, 1),    // summed, in July
        ];
        let index = built(stored(&records));
        assert_eq!(visited(&index, 39, 39), [2, 3, 4].into());
        assert_eq!(visited(&index, 40, 44), [3, 4].into());
        assert_eq!(visited(&index, 2_000, 2_000), [3].into());
        assert_eq!(visited(&index, 45, 45), [3, 4].into());
        assert_eq!(visited(&index, 29, 29), [1, 2, 3].into(), "30 June");
    }

    fn fair(id: i64, n: i64, killed: u32) -> AssessmentFacts {
        AssessmentFacts {
            id: AssessmentId::from_stored(id * 100 + n),
            verdict: Verdict::Fair,
            killed: CountRange::new(killed, Some(killed)).ok(),
            // Half of them children: the cached tallies carry every casualty.
            groups: KilledByGroup {
                children: CountRange::new(killed / 2, Some(killed / 2)).ok(),
                ..KilledByGroup::default()
            }
            .boxed(),
            duplicate_of: None,
            assessed_on: day(n as u64),
            ..duplicate(id, id)
        }
    }

    /// Answers of the present, which add cached tallies of whole months and days, equal the rules
    /// over every fact, before and after a write to a summed day.
    #[test]
    fn cached_tallies_give_the_answers_of_the_rules_and_follow_changes() {
        let airstrike = || Terms::parse_one("airstrike").unwrap();
        let mut records: Vec<IncidentRecord> = (1..=60)
            .map(|id| {
                let mut r = record(id, id as u64, if id % 7 == 0 { 3 } else { 1 });
                r.assessments.push(fair(id, 1, id as u32));
                if id % 3 == 0 {
                    r.facts.harm_done.means = airstrike();
                }
                r
            })
            .collect();
        let mut index = Index::empty(Registry {
            sources: vec![SourceFacts {
                id: SourceId::parse("airwars").unwrap(),
                belligerent: None,
            }],
            ..Registry::default()
        });
        let all = stored(&records);
        index.update(&all.keys().copied().collect(), all);
        let windows = [(0, 60), (29, 29), (30, 60), (10, 45), (31, 31)]; // 2017-06-01 is day 0
        // A filter the cached tallies' keys cannot tell: means.
        let mut by_air = Filters::default();
        by_air.harm_done.means = airstrike();
        let agree = |index: &Index| {
            for ((from, to), filters) in windows
                .into_iter()
                .flat_map(|w| [(w, Filters::default()), (w, by_air.clone())])
            {
                let query = FigureQuery {
                    window: DateInterval::new(day(from), day(to)).unwrap(),
                    filters,
                    as_of: None,
                };
                let served = figures(index, &query);
                assert_eq!(
                    served,
                    reconcile(&index.dataset(), &query),
                    "{from}..{to} {:?}",
                    query.filters
                );
                // A single day holds no airstrike but every third.
                if from < to || query.filters == Filters::default() {
                    assert_ne!(
                        served.tiers[1].killed.min, 0,
                        "{from}..{to} counts something"
                    );
                }
            }
        };
        agree(&index);
        // A later assessment of a single day in July, and of one spanning three days.
        for id in [35, 42] {
            records[id as usize - 1]
                .assessments
                .push(fair(id, 2, 1_000));
            let touched = [IncidentId::from_stored(id)].into();
            index.update(&touched, stored(&records[id as usize - 1..id as usize]));
        }
        agree(&index);
    }
}
