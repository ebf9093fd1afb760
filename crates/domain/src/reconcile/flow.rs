//! Rule 7: the assessment flow of one source over a window: what was open, received, completed,
//! reassessed and reopened. `as_of` does not apply: the flow is history itself.

use std::collections::BTreeMap;

use chrono::Days;

use super::AssessmentFacts;
use crate::assessment::{Tier, Verdict};
use crate::dates::DateInterval;
use crate::ids::IncidentId;
use crate::slug::SourceId;

/// The flow of one source over a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowQuery {
    pub source: SourceId,
    pub window: DateInterval,
}

/// A source's flow over a window. The invariant
/// `open_at_end = open_at_start + received − Σ completed + reopened` holds by construction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssessmentFlow {
    /// Incidents whose state on the day before the window was OPEN.
    pub open_at_start: u64,
    /// Incidents whose first assessment by the source falls in the window.
    pub received: u64,
    /// Final verdicts in the window whose previous state was OPEN or nothing.
    pub completed: BTreeMap<Verdict, u64>,
    /// Final verdicts in the window whose previous state was another final verdict.
    pub reassessed: BTreeMap<Verdict, u64>,
    /// OPEN assessments in the window whose previous state was final.
    pub reopened: u64,
    /// The sum of `killed.min` over completions at tier ESTABLISHED.
    pub completed_deaths: u64,
    /// Incidents whose state on the window's last day is OPEN.
    pub open_at_end: u64,
}

impl AssessmentFlow {
    pub fn completed_total(&self) -> u64 {
        self.completed.values().sum()
    }
}

/// The flow of `source` over `window`, from every assessment of the source (any date).
pub fn assessment_flow<'a>(
    assessments: impl IntoIterator<Item = &'a AssessmentFacts>,
    source: &SourceId,
    window: DateInterval,
) -> AssessmentFlow {
    let mut histories: BTreeMap<IncidentId, Vec<&AssessmentFacts>> = BTreeMap::new();
    for a in assessments.into_iter().filter(|a| &a.source_id == source) {
        histories.entry(a.incident_id).or_default().push(a);
    }
    let day_before = window.from().checked_sub_days(Days::new(1));
    let mut flow = AssessmentFlow::default();
    for history in histories.values_mut() {
        history.sort_by_key(|a| a.effect_order());
        let state_on = |day| {
            history
                .iter()
                .rev()
                .find(|a| a.assessed_on <= day)
                .map(|a| a.verdict)
        };
        if day_before.is_some_and(|day| state_on(day) == Some(Verdict::Open)) {
            flow.open_at_start += 1;
        }
        if state_on(window.to()) == Some(Verdict::Open) {
            flow.open_at_end += 1;
        }
        let in_window =
            |a: &AssessmentFacts| window.from() <= a.assessed_on && a.assessed_on <= window.to();
        if history.first().is_some_and(|first| in_window(first)) {
            flow.received += 1;
        }
        for (index, a) in history.iter().enumerate().filter(|(_, a)| in_window(a)) {
            let previous = index.checked_sub(1).map(|i| history[i].verdict);
            let previous_final = previous.is_some_and(|v| v != Verdict::Open);
            match (a.verdict, previous_final) {
                (Verdict::Open, true) => flow.reopened += 1,
                (Verdict::Open, false) => {}
                (verdict, false) => {
                    *flow.completed.entry(verdict).or_default() += 1;
                    if verdict.tier() == Some(Tier::Established) {
                        flow.completed_deaths += a.killed.map_or(0, |k| u64::from(k.min()));
                    }
                }
                (verdict, true) => *flow.reassessed.entry(verdict).or_default() += 1,
            }
        }
    }
    flow
}
