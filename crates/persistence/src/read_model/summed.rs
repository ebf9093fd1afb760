//! The tallies the read model keeps of the groups most windows hold whole, so that an answer adds a
//! few tallies instead of a hundred thousand groups.
//!
//! A group is *summed* when it holds one incident whose dates lie within one calendar month. Its
//! part of an answer then depends only on where the window places the incident (rule 2), so every
//! window placing a set of such incidents alike can share one [`Tally`] of them. They are cached by
//! *key*, the attributes the incident filters read (country, admin1, parties), and by month:
//! - incidents of a single day, by day: a window holding the day holds them inside;
//! - the month's tally of all its incidents, for a window holding the whole month;
//! - incidents of several days, handed to the rules one by one where a window cuts their month.
//!
//! Tallies are computed by the domain ([`Tally::summing`]) when an answer first asks for them, for
//! that answer's [`Selection`], and dropped when a group of theirs changes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{Datelike, NaiveDate};
use civcas_domain::harm::HarmDone;
use civcas_domain::reconcile::{Filters, Group, IncidentFacts, Part, Selection, Tally};
use civcas_domain::{CountryCode, DateInterval, Slug};

/// How many selections a tally is cached for at once.
const SELECTIONS_CACHED: usize = 4;

/// The attributes the incident filters read, but the locality.
type Key = (CountryCode, Option<String>, Vec<Slug>);

/// A calendar month, counted from year 0.
type Month = i32;

fn month_of(date: NaiveDate) -> Month {
    date.year() * 12 + date.month0() as i32
}

fn month_days(month: Month) -> Option<DateInterval> {
    let first =
        |m: Month| NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1);
    DateInterval::new(first(month)?, first(month + 1)?.pred_opt()?).ok()
}

/// Whether a group of `incidents` is summed: one incident within one month.
pub(super) fn sums(incidents: &[IncidentFacts]) -> bool {
    matches!(incidents, [only] if month_of(only.occurred.from()) == month_of(only.occurred.to()))
}

/// Tallies cached for the selections answers asked for last.
#[derive(Debug, Default)]
struct TallyCache(Mutex<Vec<(Selection, Arc<Tally>)>>);

impl TallyCache {
    fn get_or(&self, selection: &Selection, tally: impl FnOnce() -> Tally) -> Arc<Tally> {
        let mut cached = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, held)) = cached.iter().find(|(s, _)| s == selection) {
            return Arc::clone(held);
        }
        let made = Arc::new(tally());
        if cached.len() == SELECTIONS_CACHED {
            cached.remove(0);
        }
        cached.push((selection.clone(), Arc::clone(&made)));
        made
    }

    fn clear(&mut self) {
        self.0.get_mut().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Groups by slot, and their cached tallies.
#[derive(Debug, Default)]
struct Chunk {
    slots: Vec<usize>,
    cache: TallyCache,
}

impl Chunk {
    fn tally(
        &self,
        groups: &[Option<Group>],
        window: DateInterval,
        selection: &Selection,
    ) -> Arc<Tally> {
        self.cache.get_or(selection, || {
            let members = self.slots.iter().filter_map(|&s| groups[s].as_ref());
            Tally::summing(members, window, selection)
        })
    }
}

/// One key's groups in one month.
#[derive(Debug, Default)]
struct MonthGroups {
    /// Groups of a single day, by day.
    days: BTreeMap<NaiveDate, Chunk>,
    /// Groups of several days, whose tally only a window holding the whole month may add.
    spread: Chunk,
    /// The tally of every group of the month.
    whole: TallyCache,
}

impl MonthGroups {
    fn slots(&self) -> impl Iterator<Item = &usize> {
        self.days
            .values()
            .flat_map(|c| &c.slots)
            .chain(&self.spread.slots)
    }
}

/// See the module's documentation.
#[derive(Debug, Default)]
pub(super) struct Summed {
    keys: Vec<IncidentFacts>,
    key_ids: HashMap<Key, usize>,
    months: HashMap<(usize, Month), MonthGroups>,
}

fn key(incident: &IncidentFacts) -> Key {
    (
        incident.country,
        incident.admin1.clone(),
        incident.attributed_to.clone(),
    )
}

impl Summed {
    fn place(&mut self, incident: &IncidentFacts) -> (&mut MonthGroups, Option<NaiveDate>) {
        let key = match self.key_ids.get(&key(incident)) {
            Some(&id) => id,
            None => {
                let id = self.keys.len();
                self.key_ids.insert(key(incident), id);
                self.keys.push(IncidentFacts {
                    locality: None,
                    harm_done: HarmDone::default(),
                    ..incident.clone()
                });
                id
            }
        };
        let (from, to) = (incident.occurred.from(), incident.occurred.to());
        let month = self.months.entry((key, month_of(from))).or_default();
        month.whole.clear();
        (month, (from == to).then_some(from))
    }

    /// The chunk of `incident`'s group, with its cached tallies and its month's dropped: the group
    /// is about to come or go. A day left empty stays, with nothing to tally.
    fn chunk_of(&mut self, incident: &IncidentFacts) -> &mut Chunk {
        let (month, day) = self.place(incident);
        let chunk = match day {
            Some(day) => month.days.entry(day).or_default(),
            None => &mut month.spread,
        };
        chunk.cache.clear();
        chunk
    }

    /// Adds the group in `slot`, of the one incident `incident` ([`sums`]).
    pub(super) fn insert(&mut self, slot: usize, incident: &IncidentFacts) {
        self.chunk_of(incident).slots.push(slot);
    }

    /// Removes the group in `slot`, of the one incident `incident`.
    pub(super) fn remove(&mut self, slot: usize, incident: &IncidentFacts) {
        self.chunk_of(incident).slots.retain(|s| *s != slot);
    }

    /// The months `window` meets, of the keys `chosen` picks.
    fn months_meeting(
        &self,
        window: DateInterval,
        chosen: impl Fn(&IncidentFacts) -> bool,
    ) -> impl Iterator<Item = (Month, &MonthGroups)> {
        let months = month_of(window.from())..=month_of(window.to());
        self.keys
            .iter()
            .enumerate()
            .filter(move |(_, k)| chosen(k))
            .flat_map(move |(key, _)| {
                months
                    .clone()
                    .filter_map(move |m| Some((m, self.months.get(&(key, m))?)))
            })
    }

    /// The slot of every summed group whose month `window` meets.
    pub(super) fn slots_meeting(&self, window: DateInterval) -> impl Iterator<Item = usize> {
        self.months_meeting(window, |_| true)
            .flat_map(|(_, month)| month.slots().copied())
    }

    /// Hands `visit` what an answer of the present over `window` reads of the summed groups that
    /// `filters` can select: tallies of whole months and whole days, and the groups of several days
    /// in months the window cuts.
    pub(super) fn for_each_part<'a>(
        &'a self,
        groups: &'a [Option<Group>],
        window: DateInterval,
        filters: &Filters,
        selection: &Selection,
        visit: &mut dyn FnMut(Part<'a>),
    ) {
        // A key holds no locality, harm, means or infrastructure: a filter on them reads each
        // group.
        if !filters.localities.is_empty() || !filters.harm_done.is_empty() {
            for slot in self.slots_meeting(window) {
                if let Some(group) = &groups[slot] {
                    visit(Part::Group(group));
                }
            }
            return;
        }
        for (m, month) in self.months_meeting(window, |k| filters.chooses(k)) {
            let Some(days) = month_days(m) else { continue };
            if window.from() <= days.from() && days.to() <= window.to() {
                visit(Part::Summed(month.whole.get_or(selection, || {
                    // From its days' tallies: a write to one day leaves the others standing.
                    let mut whole = month.spread.tally(groups, days, selection).as_ref().clone();
                    for (&day, chunk) in &month.days {
                        if let Ok(day) = DateInterval::new(day, day) {
                            whole.merge(&chunk.tally(groups, day, selection));
                        }
                    }
                    whole
                })));
                continue;
            }
            for (&day, chunk) in month.days.range(window.from()..=window.to()) {
                let Ok(day) = DateInterval::new(day, day) else {
                    continue;
                };
                visit(Part::Summed(chunk.tally(groups, day, selection)));
            }
            for group in month
                .spread
                .slots
                .iter()
                .filter_map(|&s| groups[s].as_ref())
            {
                visit(Part::Group(group));
            }
        }
    }
}
