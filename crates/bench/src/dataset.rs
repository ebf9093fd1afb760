//! The synthetic dataset: deterministic from its seed, at any scale.
//!
//! Three sources over ten years (2014–2023): a monitor that grades every incident (and re-grades 30%
//! of them later: history), a belligerent that assesses 60% of the incidents attributed to it, and an
//! intergovernmental source that assesses 10%. About 1.9 assessments per incident. One incident in 40
//! is later called a DUPLICATE of its neighbour by the belligerent, so 5% of incidents sit in
//! two-incident clusters; clusters are pairs only, which the baseline SQL relies on. 3% of incidents
//! span several days, so windows have boundary incidents.

use civcas_domain::Verdict;
use civcas_proto::v1 as pb;

pub const MONITOR: &str = "bench-monitor";
pub const BELLIGERENT: &str = "bench-coalition";
pub const UN: &str = "bench-un";

/// A small deterministic generator (SplitMix64): the same seed gives the same data everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent` in 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One generated assessment, in the shape of an import row and of the COPY baseline's table.
#[derive(Debug, Clone)]
pub struct Row {
    pub incident: usize,
    pub source: &'static str,
    pub verdict: Verdict,
    pub killed: Option<(u32, u32)>,
    /// Children killed: half of killed, in two of five of the monitor's first assessments.
    pub children: Option<(u32, u32)>,
    pub assessed_on: String,
    /// Phase 2 rows name a stored incident; this is its index.
    pub duplicate_of: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Incident {
    pub reference: String,
    pub from: String,
    pub to: String,
    pub country: &'static str,
    pub admin1: &'static str,
    pub locality: String,
    pub attributed_to: &'static str,
}

#[derive(Debug)]
pub struct Dataset {
    pub incidents: Vec<Incident>,
    /// Rows imported with their incident inline.
    pub first: Vec<Row>,
    /// Later rows (re-gradings and duplicates), imported once the incidents exist.
    pub later: Vec<Row>,
}

const EPOCH_DAYS: i64 = 16_071; // 2014-01-01 as days since 1970-01-01
const SPAN_DAYS: u64 = 3_652; // to 2023-12-31
const ADMIN1: [&str; 5] = ["Raqqa", "Aleppo", "Deir ez-Zor", "Nineveh", "Anbar"];

/// `YYYY-MM-DD` for a day number since 1970-01-01 (civil-from-days, proleptic Gregorian).
pub fn date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn range(rng: &mut Rng) -> (u32, u32) {
    let min = rng.below(10) as u32;
    (min, min + rng.below(6) as u32)
}

impl Dataset {
    pub fn generate(seed: u64, count: usize) -> Self {
        let mut rng = Rng(seed);
        let mut incidents = Vec::with_capacity(count);
        let mut first = Vec::with_capacity(count * 8 / 5);
        let mut later = Vec::with_capacity(count / 3);
        let mut days = Vec::with_capacity(count);
        for i in 0..count {
            let day = EPOCH_DAYS + rng.below(SPAN_DAYS) as i64;
            let span = if rng.chance(3) {
                1 + rng.below(3) as i64
            } else {
                0
            };
            let syria = rng.chance(60);
            let coalition = rng.chance(80);
            incidents.push(Incident {
                reference: format!("B{i}"),
                from: date(day),
                to: date(day + span),
                country: if syria { "SY" } else { "IQ" },
                admin1: ADMIN1[(rng.below(2) + if syria { 0 } else { 3 }) as usize],
                locality: format!("L{}", rng.below(500)),
                attributed_to: if coalition { "coalition" } else { "russia" },
            });
            days.push(day);
            let monitor = match rng.below(10) {
                0 => Verdict::Confirmed,
                1..=4 => Verdict::Fair,
                5 | 6 => Verdict::Weak,
                7 | 8 => Verdict::Contested,
                _ => Verdict::Discounted,
            };
            let killed = range(&mut rng);
            first.push(Row {
                incident: i,
                source: MONITOR,
                verdict: monitor,
                killed: Some(killed),
                children: (i % 5 < 2).then_some((killed.0 / 2, killed.1 / 2)),
                assessed_on: date(day + 30),
                duplicate_of: None,
            });
            if coalition && rng.chance(60) {
                let (verdict, killed) = match rng.below(10) {
                    0 => {
                        let n = rng.below(8) as u32;
                        (Verdict::Credible, Some((n, n)))
                    }
                    1 | 2 => (Verdict::Open, None),
                    _ => (Verdict::NotCredible, None),
                };
                first.push(Row {
                    incident: i,
                    source: BELLIGERENT,
                    verdict,
                    killed,
                    children: None,
                    assessed_on: date(day + 60),
                    duplicate_of: None,
                });
            }
            if rng.chance(10) {
                first.push(Row {
                    incident: i,
                    source: UN,
                    verdict: Verdict::Fair,
                    killed: Some(range(&mut rng)),
                    children: None,
                    assessed_on: date(day + 45),
                    duplicate_of: None,
                });
            }
            if rng.chance(30) {
                let verdict = if monitor == Verdict::Fair {
                    Verdict::Confirmed
                } else {
                    Verdict::Fair
                };
                later.push(Row {
                    incident: i,
                    source: MONITOR,
                    verdict,
                    killed: Some(range(&mut rng)),
                    children: None,
                    assessed_on: date(day + 400),
                    duplicate_of: None,
                });
            }
        }
        // Disjoint pairs (40k, 40k + 1): the second is a duplicate of the first.
        for pair in (0..count.saturating_sub(1)).step_by(40) {
            later.push(Row {
                incident: pair + 1,
                source: BELLIGERENT,
                verdict: Verdict::Duplicate,
                killed: None,
                children: None,
                assessed_on: date(days[pair + 1].max(days[pair]) + 90),
                duplicate_of: Some(pair),
            });
        }
        Self {
            incidents,
            first,
            later,
        }
    }

    pub fn rows(&self) -> usize {
        self.first.len() + self.later.len()
    }

    pub fn incident_proto(&self, index: usize) -> pb::Incident {
        let incident = &self.incidents[index];
        pb::Incident {
            references: vec![pb::IncidentReference {
                source_id: MONITOR.into(),
                external_ref: incident.reference.clone(),
            }],
            occurred_from: incident.from.clone(),
            occurred_to: incident.to.clone(),
            location: Some(pb::Location {
                country: incident.country.into(),
                admin1: Some(incident.admin1.into()),
                locality: Some(incident.locality.clone()),
                latitude: None,
                longitude: None,
                precision: pb::LocationPrecision::Locality.into(),
            }),
            attributed_to: vec![incident.attributed_to.into()],
            ..Default::default()
        }
    }
}

impl Row {
    /// The assessment, naming its incident by `incident_id` when the incident is stored already.
    pub fn assessment(&self, ids: Option<&[i64]>) -> pb::Assessment {
        pb::Assessment {
            source_id: self.source.into(),
            incident_id: ids
                .map(|ids| ids[self.incident].to_string())
                .unwrap_or_default(),
            verdict: pb::Verdict::from(self.verdict).into(),
            civilians_killed: self.killed.map(|(min, max)| pb::CountRange {
                min,
                max: Some(max),
            }),
            children_killed: self.children.map(|(min, max)| pb::CountRange {
                min,
                max: Some(max),
            }),
            assessed_on: self.assessed_on.clone(),
            duplicate_of: self
                .duplicate_of
                .and_then(|target| ids.map(|ids| ids[target].to_string())),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_calendar() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(EPOCH_DAYS), "2014-01-01");
        assert_eq!(date(EPOCH_DAYS + SPAN_DAYS as i64 - 1), "2023-12-31");
        assert_eq!(date(19_417), "2023-03-01");
    }

    #[test]
    fn the_same_seed_gives_the_same_data_and_the_shape_asked_for() {
        let a = Dataset::generate(7, 4000);
        let b = Dataset::generate(7, 4000);
        assert_eq!(a.rows(), b.rows());
        assert_eq!(a.first[100].assessed_on, b.first[100].assessed_on);
        let per_incident = a.rows() as f64 / 4000.0;
        assert!((1.7..2.1).contains(&per_incident), "{per_incident}");
        let duplicates = a.later.iter().filter(|r| r.duplicate_of.is_some()).count();
        assert_eq!(duplicates, 100, "one pair in 40 incidents: 5% in clusters");
    }
}
