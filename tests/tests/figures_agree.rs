//! Property test: on random datasets, the figures PostgreSQL computes (crates/persistence/src/sql)
//! equal the domain's reference implementation of docs/rules.md, exactly.
//!
//! Each case writes a random dataset through the repositories into a fresh database, reads back what
//! was stored (ids and `recorded_at` are the database's), and compares both implementations on
//! random windows, filters and `as_of` dates, and the assessment flow of every source.

use chrono::{Datelike, Days, NaiveDate};
use civcas_domain::harm::{HarmDone, Terms, Vocabulary};
use civcas_domain::reconcile::flow::assessment_flow;
use civcas_domain::reconcile::series::{Granularity, buckets, figure_series};
use civcas_domain::reconcile::{Dataset, FigureQuery, Filters, SourceFacts, reconcile};
use civcas_domain::repository::{
    AssessmentRepository, FigureRepository, ImportContent, ImportRow, IncidentRepository,
    SourceRepository, StatementRepository,
};
use civcas_domain::statement::{Area, Measure, Qualifier, StatementFields};
use civcas_domain::{
    AssessedIncident, AssessmentDetails, AssessmentFields, CountRange, CountryCode, DateInterval,
    IncidentDetails, IncidentId, IncidentPair, IncidentReference, KilledByGroup, Location,
    NewAssessment, NewIncident, NewSource, NewStatement, Precision, Slug, SourceDetails, SourceId,
    SourceKind, StatementDetails, Tier, Verdict,
};
use civcas_persistence::{PgStore, PoolSettings};
use proptest::prelude::*;
use secrecy::SecretString;

/// Two sources speak for a belligerent, so the rule-5 restriction meets both parties.
const SOURCES: [(&str, Option<&str>); 4] = [
    ("airwars", None),
    ("cjtf-oir", Some("coalition")),
    ("ru-mod", Some("russia")),
    ("un-unami", None),
];
const BELLIGERENTS: [&str; 3] = ["coalition", "russia", "isis"];
const ADMIN1: [&str; 2] = ["Raqqa", "Nineveh"];
const LOCALITIES: [&str; 2] = ["Tabqa", "Mosul"];

fn day(base: &str, offset: u16) -> NaiveDate {
    NaiveDate::parse_from_str(base, "%Y-%m-%d").unwrap() + Days::new(u64::from(offset))
}

fn slug(s: &str) -> Slug {
    Slug::parse(s).unwrap()
}

fn masked<T: Clone>(mask: u8, items: &[T]) -> Vec<T> {
    items
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, t)| t.clone())
        .collect()
}

#[derive(Debug, Clone)]
struct IncidentPlan {
    start: u16,
    span: u16,
    iraq: bool,
    admin1: u8,
    locality: u8,
    attributed: u8,
    /// What harmed and what was hit, as [`harm_done`] reads it.
    harm: u8,
}

/// Bits 0 and 1: harm (explosive weapons, small arms); 2 and 3: means (airstrike, artillery); 4 and
/// 5: infrastructure (residential, healthcare).
fn harm_done(mask: u8) -> HarmDone {
    fn terms<V: Vocabulary>(mask: u8, slugs: [&str; 2]) -> Terms<V> {
        masked(mask, &slugs)
            .into_iter()
            .map(|s| Terms::parse_one(s).unwrap())
            .collect()
    }
    HarmDone {
        harm: terms(mask, ["explosive-weapons", "small-arms"]),
        means: terms(mask >> 2, ["airstrike", "artillery"]),
        infrastructure: terms(mask >> 4, ["residential", "healthcare"]),
    }
}

#[derive(Debug, Clone)]
enum Figure {
    Absent,
    Exact(u8),
    Range(u8, u8),
    AtLeast(u8),
}

impl Figure {
    fn range(&self) -> Option<CountRange> {
        match *self {
            Figure::Absent => None,
            Figure::Exact(n) => Some(CountRange::exact(n.into())),
            Figure::Range(a, b) => {
                Some(CountRange::new(a.min(b).into(), Some(a.max(b).into())).unwrap())
            }
            Figure::AtLeast(n) => Some(CountRange::at_least(n.into())),
        }
    }
}

#[derive(Debug, Clone)]
struct AssessmentPlan {
    source: usize,
    incident: usize,
    verdict: usize,
    killed: Figure,
    injured: Figure,
    /// Children, women and men killed; one whose min exceeds killed's max is left out.
    groups: [Figure; 3],
    day: u16,
    duplicate_of: usize,
}

#[derive(Debug, Clone)]
struct StatementPlan {
    source: usize,
    measure: usize,
    min: u16,
    spread: u16,
    qualifier: usize,
    /// 0: since 2014-08-08; otherwise an offset into the queries' range of windows.
    start: u16,
    length: u16,
    published_after: u16,
    /// Bit 0: Syria, bit 1: Iraq (neither means Syria).
    countries: u8,
    admin1: u8,
    locality: u8,
    attributed: usize,
    /// Into `Tier::REPORTED`: the tier rule 6 compares the statement at.
    tier: usize,
}

#[derive(Debug, Clone)]
struct QueryPlan {
    from: u16,
    length: u16,
    countries: u8,
    admin1: u8,
    localities: u8,
    attributed: u8,
    sources: u8,
    as_of: Option<u16>,
    harm: u8,
}

#[derive(Debug, Clone)]
struct Plan {
    incidents: Vec<IncidentPlan>,
    assessments: Vec<AssessmentPlan>,
    links: Vec<(usize, usize)>,
    statements: Vec<StatementPlan>,
    queries: Vec<QueryPlan>,
    /// A second store of the database catches up after every this many assessments, so that its read
    /// model meets groups merging and splitting between two catch-ups.
    catch_up_every: usize,
    /// Whether the first link is removed after the assessments.
    unlink_first: bool,
    /// Whether each source but the first (whose references name the incidents) is registered only
    /// when it first assesses or states something, so that catch-ups meet sources registered after
    /// the clusters they gap.
    late_sources: bool,
}

fn figure() -> impl Strategy<Value = Figure> {
    prop_oneof![
        Just(Figure::Absent),
        (0u8..20).prop_map(Figure::Exact),
        (0u8..20, 0u8..20).prop_map(|(a, b)| Figure::Range(a, b)),
        (0u8..20).prop_map(Figure::AtLeast),
    ]
}

/// How many incidents a plan's assessments and links fall on.
#[derive(Debug, Clone, Copy)]
enum Density {
    /// Few incidents, many assessments and links: clusters often carry several sources' figures,
    /// with histories, at every tier.
    Dense,
    /// More incidents than assessments: most stand alone, as most do in real data, and the read
    /// model sums them in its cached tallies.
    Sparse,
}

fn plan(density: Density) -> impl Strategy<Value = Plan> {
    let incident = (
        0u16..60,
        0u16..6,
        any::<bool>(),
        0u8..3,
        0u8..3,
        0u8..8,
        0u8..64,
    )
        .prop_map(
            |(start, span, iraq, admin1, locality, attributed, harm)| IncidentPlan {
                start,
                span,
                iraq,
                admin1,
                locality,
                attributed,
                harm,
            },
        );
    let assessment = (
        0usize..4,
        0usize..64,
        0usize..Verdict::ALL.len(),
        figure(),
        figure(),
        [figure(), figure(), figure()],
        0u16..150,
        0usize..64,
    )
        .prop_map(
            |(source, incident, verdict, killed, injured, groups, day, duplicate_of)| {
                AssessmentPlan {
                    source,
                    incident,
                    verdict,
                    killed,
                    injured,
                    groups,
                    day,
                    duplicate_of,
                }
            },
        );
    let statement = (
        (
            0usize..4,
            0usize..3,
            0u16..700,
            0u16..50,
            0usize..5,
            0usize..3,
        ),
        (
            0u16..70,
            0u16..40,
            0u16..20,
            0u8..4,
            0u8..3,
            0u8..3,
            0usize..4,
        ),
    )
        .prop_map(|((source, measure, min, spread, qualifier, tier), rest)| {
            let (start, length, published_after, countries, admin1, locality, attributed) = rest;
            StatementPlan {
                source,
                measure,
                min,
                spread,
                qualifier,
                start,
                length,
                published_after,
                countries,
                admin1,
                locality,
                attributed,
                tier,
            }
        });
    // Each filter is often off, so that one filter alone, and its path through the read model,
    // is asked often enough to matter.
    let or_off = |values: std::ops::Range<u8>| prop_oneof![Just(0u8), values];
    let query = (
        (0u16..60, 0u16..45, or_off(0..4), or_off(0..4), or_off(0..4)),
        (
            or_off(0..8),
            0u8..16,
            proptest::option::of(0u16..160),
            or_off(0..64),
        ),
    )
        .prop_map(|((from, length, countries, admin1, localities), rest)| {
            let (attributed, sources, as_of, harm) = rest;
            QueryPlan {
                from,
                length,
                countries,
                admin1,
                localities,
                attributed,
                sources,
                as_of,
                harm,
            }
        });
    let (incidents, assessments, links) = match density {
        Density::Dense => (1..7, 4..40, 0..6),
        Density::Sparse => (8..20, 8..24, 0..2),
    };
    (
        (
            prop::collection::vec(incident, incidents),
            prop::collection::vec(assessment, assessments),
            prop::collection::vec((0usize..64, 0usize..64), links),
        ),
        prop::collection::vec(statement, 0..5),
        prop::collection::vec(query, 1..4),
        (1usize..12, any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                (incidents, assessments, links),
                statements,
                queries,
                (catch_up_every, unlink_first, late_sources),
            )| {
                Plan {
                    incidents,
                    assessments,
                    links,
                    statements,
                    queries,
                    catch_up_every,
                    unlink_first,
                    late_sources,
                }
            },
        )
}

/// The plan written through the repositories.
struct Stored {
    store: PgStore,
    url: SecretString,
    ids: Vec<IncidentId>,
    dataset: Dataset,
    /// A second store of the database, whose read model was loaded before the writes and caught up
    /// between them.
    follower: PgStore,
}

/// Writes the plan through the repositories.
async fn store(plan: &Plan) -> Stored {
    let (store, url) = civcas_tests::fresh_store().await;
    let follower = PgStore::new(&url, &PoolSettings::default()).unwrap();
    follower.catch_up().await.unwrap();
    let mut registered = [false; SOURCES.len()];
    let registered_now = if plan.late_sources { 1 } else { SOURCES.len() };
    for source in 0..registered_now {
        register(&store, &mut registered, source).await;
    }
    let mut ids = Vec::new();
    for (n, incident) in plan.incidents.iter().enumerate() {
        let from = day("2017-05-15", incident.start);
        let details = IncidentDetails {
            occurred: DateInterval::new(from, from + Days::new(u64::from(incident.span))).unwrap(),
            location: Location {
                country: CountryCode::parse(if incident.iraq { "IQ" } else { "SY" }).unwrap(),
                admin1: ADMIN1
                    .get(usize::from(incident.admin1))
                    .map(|a| (*a).to_owned()),
                locality: LOCALITIES
                    .get(usize::from(incident.locality))
                    .map(|l| (*l).to_owned()),
                coordinates: None,
                precision: Precision::Admin1,
            },
            attributed_to: masked(incident.attributed, &BELLIGERENTS)
                .into_iter()
                .map(slug)
                .collect(),
            harm_done: harm_done(incident.harm),
        };
        let reference =
            IncidentReference::new(SourceId::parse("airwars").unwrap(), &format!("I{n}")).unwrap();
        let written = store
            .record_incident(NewIncident::new([reference], details).unwrap(), None)
            .await
            .unwrap();
        ids.push(written.value.id);
    }
    let n = ids.len();
    let pairs: Vec<IncidentPair> = plan
        .links
        .iter()
        .filter_map(|&(a, b)| IncidentPair::new(ids[a % n], ids[b % n]).ok())
        .collect();
    for pair in &pairs {
        store.link_incidents(*pair, None).await.unwrap();
    }
    for (written, a) in plan.assessments.iter().enumerate() {
        if written % plan.catch_up_every == 0 {
            follower.catch_up().await.unwrap();
        }
        register(&store, &mut registered, a.source).await;
        write_assessment(&store, &ids, a).await;
    }
    if let Some(first) = pairs.first().filter(|_| plan.unlink_first) {
        follower.catch_up().await.unwrap();
        store.unlink_incidents(*first, None).await.unwrap();
    }
    for s in &plan.statements {
        let from = if s.start == 0 {
            day("2014-08-08", 0)
        } else {
            day("2017-05-01", s.start)
        };
        let to = from + Days::new(u64::from(s.length));
        let measure = [Measure::Killed, Measure::Injured, Measure::KilledOrInjured][s.measure];
        let min = u32::from(s.min);
        let (qualifier, count) = match s.qualifier {
            0 => (Qualifier::AtLeast, CountRange::at_least(min)),
            1 => (Qualifier::MoreThan, CountRange::at_least(min)),
            2 => (Qualifier::Exact, CountRange::exact(min)),
            3 => (
                Qualifier::Approximately,
                CountRange::new(min, Some(min + u32::from(s.spread))).unwrap(),
            ),
            _ => (Qualifier::AtMost, CountRange::new(0, Some(min)).unwrap()),
        };
        let mut countries = masked(s.countries, &["SY", "IQ"]);
        if countries.is_empty() {
            countries.push("SY");
        }
        let area = Area::new(
            countries
                .into_iter()
                .map(|c| CountryCode::parse(c).unwrap()),
            ADMIN1.get(usize::from(s.admin1)).map(|a| (*a).to_owned()),
            LOCALITIES
                .get(usize::from(s.locality))
                .map(|l| (*l).to_owned()),
        )
        .unwrap();
        let details = StatementDetails::new(StatementFields {
            measure,
            count,
            qualifier,
            definition: slug("civilians"),
            period: DateInterval::new(from, to).unwrap(),
            area,
            attributed_to: slug(["coalition", "russia", "isis", "all"][s.attributed]),
            published_on: to + Days::new(u64::from(s.published_after)),
            tier: Tier::REPORTED[s.tier],
            citation: None,
            notes: None,
        })
        .unwrap();
        register(&store, &mut registered, s.source).await;
        let new = NewStatement {
            source_id: SourceId::parse(SOURCES[s.source].0).unwrap(),
            details,
        };
        store.record_statement(new, None).await.unwrap();
    }
    for source in 0..SOURCES.len() {
        register(&store, &mut registered, source).await;
    }
    let dataset = civcas_tests::dataset::read_back(&store, &sources()).await;
    Stored {
        store,
        url,
        ids,
        dataset,
        follower,
    }
}

/// Writes the planned assessment `a` of one of the incidents `ids`.
async fn write_assessment(store: &PgStore, ids: &[IncidentId], a: &AssessmentPlan) {
    let n = ids.len();
    let verdict = Verdict::ALL[a.verdict];
    let incident = a.incident % n;
    let target = (incident + 1 + a.duplicate_of % n.max(2)) % n;
    let duplicate_of = (verdict == Verdict::Duplicate && target != incident).then(|| ids[target]);
    let killed = a.killed.range();
    let group = |figure: &Figure| {
        figure.range().filter(|g| {
            killed
                .and_then(|k| k.max())
                .is_none_or(|max| g.min() <= max)
        })
    };
    let details = AssessmentDetails::new(AssessmentFields {
        verdict,
        source_label: String::new(),
        killed,
        injured: a.injured.range(),
        groups: KilledByGroup::from_fn(|g| group(&a.groups[g as usize])),
        assessed_on: day("2017-05-01", a.day),
        duplicate_of,
        citation: None,
        notes: None,
    })
    .unwrap();
    let source = SourceId::parse(SOURCES[a.source].0).unwrap();
    let new = NewAssessment::new(source, AssessedIncident::Stored(ids[incident]), details).unwrap();
    store.record_assessment(new, None).await.unwrap();
}

/// Writes that change clusters and figures but not which sources have assessed something: each
/// planned assessment (of the first `round` + 2) again, `round` + 1 verdicts further and later,
/// and the first incident linked to the `round` + 2nd.
async fn write_later(store: &PgStore, ids: &[IncidentId], plan: &Plan, round: usize) {
    for a in plan.assessments.iter().take(round + 2) {
        let later = AssessmentPlan {
            verdict: (a.verdict + round + 1) % Verdict::ALL.len(),
            day: a.day + 200,
            ..a.clone()
        };
        write_assessment(store, ids, &later).await;
    }
    if let Some(&linked) = ids.get(round + 1)
        && let Ok(pair) = IncidentPair::new(ids[0], linked)
    {
        store.link_incidents(pair, None).await.unwrap();
    }
}

/// Registers `SOURCES[source]` unless `registered` says it is.
async fn register(store: &PgStore, registered: &mut [bool], source: usize) {
    if std::mem::replace(&mut registered[source], true) {
        return;
    }
    let (id, belligerent) = SOURCES[source];
    store
        .register_source(
            NewSource {
                id: SourceId::parse(id).unwrap(),
                details: SourceDetails {
                    display_name: id.into(),
                    kind: SourceKind::Other,
                    belligerent: belligerent.map(slug),
                    homepage: None,
                    methodology: None,
                },
            },
            None,
        )
        .await
        .unwrap();
}

fn sources() -> Vec<SourceFacts> {
    SOURCES
        .iter()
        .map(|(id, belligerent)| SourceFacts {
            id: SourceId::parse(id).unwrap(),
            belligerent: belligerent.map(slug),
        })
        .collect()
}

fn query(plan: &QueryPlan) -> FigureQuery {
    let from = day("2017-05-10", plan.from);
    FigureQuery {
        window: DateInterval::new(from, from + Days::new(u64::from(plan.length))).unwrap(),
        filters: Filters {
            countries: masked(plan.countries, &["SY", "IQ"])
                .into_iter()
                .map(|c| CountryCode::parse(c).unwrap())
                .collect(),
            admin1: masked(plan.admin1, &ADMIN1)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            localities: masked(plan.localities, &LOCALITIES)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            attributed_to: masked(plan.attributed, &BELLIGERENTS)
                .into_iter()
                .map(slug)
                .collect(),
            harm_done: harm_done(plan.harm),
            sources: masked(plan.sources, &SOURCES.map(|s| s.0))
                .into_iter()
                .map(|s| SourceId::parse(s).unwrap())
                .collect(),
        },
        as_of: plan.as_of.map(|offset| day("2017-05-01", offset)),
    }
}

fn cases() -> u32 {
    std::env::var("CIVCAS_PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24)
}

/// `window` widened to the first day of its first month and the last day of its last.
fn whole_months(window: DateInterval) -> DateInterval {
    let from = window.from().with_day(1).unwrap();
    let after = window.to().with_day(1).unwrap() + chrono::Months::new(1);
    DateInterval::new(from, after - Days::new(1)).unwrap()
}

/// Queries of the present (no filter, no `as_of`) around `query`'s window: the window itself; its
/// whole months, alone and followed by part of a month; and a window reaching 400 days further back.
fn present_windows(query: &FigureQuery) -> Vec<FigureQuery> {
    let present = FigureQuery {
        filters: Filters::default(),
        as_of: None,
        ..query.clone()
    };
    let months = whole_months(present.window);
    let then_part = DateInterval::new(months.from(), present.window.to()).unwrap();
    let long =
        DateInterval::new(present.window.from() - Days::new(400), present.window.to()).unwrap();
    [months, then_part, long]
        .into_iter()
        .map(|window| FigureQuery {
            window,
            ..present.clone()
        })
        .chain([present.clone()])
        .collect()
}

/// The store's figures for `query`, as one window and as weekly buckets from one snapshot (rule 8),
/// equal the reference's.
async fn figures_agree(
    store: &PgStore,
    dataset: &Dataset,
    query: &FigureQuery,
) -> Result<(), TestCaseError> {
    let expected = reconcile(dataset, query);
    let actual = store.reconciled_figures(query.clone()).await.unwrap();
    prop_assert_eq!(
        &actual.sources,
        &expected.sources,
        "per-source figures for {:?}",
        query
    );
    prop_assert_eq!(
        &actual.tiers,
        &expected.tiers,
        "reconciled tiers for {:?}",
        query
    );
    prop_assert_eq!(
        &actual.disputed,
        &expected.disputed,
        "disputed clusters for {:?}",
        query
    );
    prop_assert_eq!(
        &actual.coverage_gaps,
        &expected.coverage_gaps,
        "coverage gaps for {:?}",
        query
    );
    prop_assert_eq!(
        &actual.statements,
        &expected.statements,
        "statements for {:?}",
        query
    );
    let weeks: Vec<_> = buckets(query.window, Granularity::Week).collect();
    let expected_series: Vec<_> = figure_series(&dataset.facts(), query, Granularity::Week)
        .into_iter()
        .map(|(_, figures)| figures)
        .collect();
    let actual_series = store.figure_series(query.clone(), weeks).await.unwrap();
    prop_assert_eq!(
        actual_series,
        expected_series,
        "weekly series for {:?}",
        query
    );
    Ok(())
}

/// The read model's facts equal the rows': every incident an assessment, a DUPLICATE verdict or a
/// link names, every assessment, link, source and statement.
async fn facts_agree(store: &PgStore, dataset: &Dataset) -> Result<(), TestCaseError> {
    let held = store.read_model_facts().await.unwrap();
    let named: std::collections::BTreeSet<IncidentId> = dataset
        .assessments
        .iter()
        .flat_map(|a| [Some(a.incident_id), a.duplicate_of])
        .flatten()
        .chain(dataset.links.iter().flat_map(|l| [l.low(), l.high()]))
        .collect();
    let mut expected = dataset.clone();
    expected.incidents.retain(|i| named.contains(&i.id));
    expected.incidents.sort_by_key(|i| i.id);
    expected.assessments.sort_by_key(|a| a.id);
    expected.links.sort_by_key(|l| (l.low(), l.high()));
    expected.statements.sort_by_key(|s| s.id);
    expected.sources.sort_by(|a, b| a.id.cmp(&b.id));
    prop_assert_eq!(held, expected, "the read model's facts");
    Ok(())
}

/// Every planned query, its windows of the present, and every source's flow over its window.
async fn all_agree(store: &PgStore, dataset: &Dataset, plan: &Plan) -> Result<(), TestCaseError> {
    facts_agree(store, dataset).await?;
    for query_plan in &plan.queries {
        let query = query(query_plan);
        for query in present_windows(&query).iter().chain([&query]) {
            figures_agree(store, dataset, query).await?;
        }
        for (source, _) in SOURCES {
            let source = SourceId::parse(source).unwrap();
            let expected = assessment_flow(&dataset.assessments, &source, query.window);
            let actual = store
                .assessment_flow(source.clone(), query.window)
                .await
                .unwrap();
            prop_assert_eq!(
                actual,
                expected,
                "flow of {} over {:?}",
                source,
                query.window
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn served_figures_equal_the_reference_implementation(plan in plan(Density::Dense)) {
        served_figures_agree(&plan)?;
    }

    #[test]
    fn served_figures_of_lone_incidents_equal_the_reference_implementation(plan in plan(Density::Sparse)) {
        served_figures_agree(&plan)?;
    }
}

/// Writes `plan`, and checks every read model's answers against the reference, before and after
/// later writes.
fn served_figures_agree(plan: &Plan) -> Result<(), TestCaseError> {
    let plan = plan.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let Stored {
            store,
            url,
            ids,
            dataset,
            follower,
        } = store(&plan).await;
        // A read model that caught up between the writes, one that the writer's own calls
        // loaded, and one that reads every fact at once.
        all_agree(&follower, &dataset, &plan).await?;
        all_agree(&store, &dataset, &plan).await?;
        let fresh = PgStore::new(&url, &PoolSettings::default()).unwrap();
        all_agree(&fresh, &dataset, &plan).await?;
        // Three rounds of later writes (assessments that move verdicts and break or make
        // duplicates, and a link), each taken in by the next call.
        for round in 0..3 {
            write_later(&store, &ids, &plan, round).await;
            let dataset = civcas_tests::dataset::read_back(&store, &sources()).await;
            all_agree(&follower, &dataset, &plan).await?;
        }
        let loads = follower.read_model_status().loads;
        prop_assert_eq!(loads, 1, "the follower read every fact again");
        Ok(())
    })
}

/// Rows of `count` new incidents, from `first` on, one a day, each with airwars' FAIR assessment.
fn daily_incidents(first: usize, count: usize) -> Vec<ImportRow> {
    (first..first + count)
        .map(|n| {
            let day = day("2014-01-01", u16::try_from(n).unwrap());
            let reference =
                IncidentReference::new(SourceId::parse("airwars").unwrap(), &format!("D{n}"))
                    .unwrap();
            let details = IncidentDetails {
                occurred: DateInterval::new(day, day).unwrap(),
                location: Location {
                    country: CountryCode::parse("SY").unwrap(),
                    admin1: None,
                    locality: None,
                    coordinates: None,
                    precision: Precision::Country,
                },
                attributed_to: [slug("coalition")].into(),
                harm_done: HarmDone::default(),
            };
            let assessment = AssessmentDetails::new(AssessmentFields {
                verdict: Verdict::Fair,
                source_label: String::new(),
                killed: Some(CountRange::new(1, Some(2)).unwrap()),
                injured: None,
                groups: KilledByGroup::default(),
                assessed_on: day,
                duplicate_of: None,
                citation: None,
                notes: None,
            })
            .unwrap();
            let incident =
                AssessedIncident::Inline(NewIncident::new([reference], details).unwrap());
            let source = SourceId::parse("airwars").unwrap();
            ImportRow {
                index: n as u64,
                content: ImportContent::Assessment(
                    NewAssessment::new(source, incident, assessment).unwrap(),
                ),
            }
        })
        .collect()
}

/// A read model that has not read the change log since rows it needed were trimmed reads every
/// fact again, and agrees; one that has kept up does not.
#[test]
fn a_model_behind_a_trimmed_log_reads_every_fact_again() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (store, url) = civcas_tests::fresh_store().await;
        let mut registered = [false; SOURCES.len()];
        register(&store, &mut registered, 0).await;
        let behind = PgStore::new(&url, &PoolSettings::default()).unwrap();
        behind.catch_up().await.unwrap();
        let present = FigureQuery {
            window: DateInterval::new(day("2014-01-01", 0), day("2024-12-31", 0)).unwrap(),
            filters: Filters::default(),
            as_of: None,
        };
        let agree = async |store: &PgStore| {
            // Only airwars is registered.
            let dataset = civcas_tests::dataset::read_back(store, &sources()[..1]).await;
            figures_agree(store, &dataset, &present).await.unwrap();
        };

        let batch = store
            .import_assessments(daily_incidents(0, 30))
            .await
            .unwrap();
        assert_eq!(batch.created, 30, "{:?}", batch.rejected);
        // Rows older than the log keeps, trimmed: the store that wrote them has applied them (its
        // first call loaded every fact after them), the one behind has not.
        agree(&store).await;
        let mut conn = civcas_tests::db::connect(&url).await;
        diesel_async::SimpleAsyncConnection::batch_execute(
            &mut conn,
            "UPDATE fact_changes SET logged_at = now() - interval '1 hour'",
        )
        .await
        .unwrap();
        assert!(
            store.trim_change_log().await.unwrap(),
            "nothing was trimmed"
        );
        agree(&store).await;
        assert_eq!(
            store.read_model_status().loads,
            1,
            "read again though it kept up"
        );
        agree(&behind).await;
        assert_eq!(behind.read_model_status().loads, 2, "not read again");
        // Both follow later writes by the log again.
        let batch = store
            .import_assessments(daily_incidents(30, 5))
            .await
            .unwrap();
        assert_eq!(batch.created, 5, "{:?}", batch.rejected);
        agree(&behind).await;
        agree(&store).await;
        assert_eq!(behind.read_model_status().loads, 2);
        assert_eq!(store.read_model_status().catch_ups, 1);
    });
}

/// A database outage while a read model loads, or while it catches up, gives UNAVAILABLE, never a
/// figure; once the database is back, the same store answers, with what was written meanwhile.
#[test]
fn an_outage_while_the_read_model_loads_is_unavailable_until_it_passes() {
    use civcas_domain::RepositoryError;
    use civcas_persistence::embedded::LocalCluster;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut cluster = LocalCluster::start_temporary().await.unwrap();
        cluster.ensure_database("outage").await.unwrap();
        let url = cluster.url("outage");
        PgStore::migrate(&url).await.unwrap();
        let settings = PoolSettings {
            acquire_timeout: std::time::Duration::from_secs(1),
            connect_timeout: std::time::Duration::from_secs(1),
            ..PoolSettings::default()
        };
        let writer = PgStore::new(&url, &settings).unwrap();
        let reader = PgStore::new(&url, &settings).unwrap();
        register(&writer, &mut [false; SOURCES.len()], 0).await;
        let batch = writer
            .import_assessments(daily_incidents(0, 20))
            .await
            .unwrap();
        assert_eq!(batch.created, 20, "{:?}", batch.rejected);
        let present = FigureQuery {
            window: DateInterval::new(day("2014-01-01", 0), day("2024-12-31", 0)).unwrap(),
            filters: Filters::default(),
            as_of: None,
        };
        let unavailable =
            async |store: &PgStore| match store.reconciled_figures(present.clone()).await {
                Err(RepositoryError::Unavailable(_)) => {}
                other => panic!("expected UNAVAILABLE, got {other:?}"),
            };

        // Down before the reader's first call: nothing loaded, nothing answered.
        cluster.crash().await.unwrap();
        unavailable(&reader).await;
        assert!(!reader.read_model_status().loaded);
        cluster.restart().await.unwrap();
        let dataset = civcas_tests::dataset::read_back(&writer, &sources()[..1]).await;
        figures_agree(&reader, &dataset, &present).await.unwrap();

        // Down after it loaded: its next call cannot know what was written, so it does not answer.
        cluster.crash().await.unwrap();
        unavailable(&reader).await;
        cluster.restart().await.unwrap();
        let batch = writer
            .import_assessments(daily_incidents(20, 5))
            .await
            .unwrap();
        assert_eq!(batch.created, 5, "{:?}", batch.rejected);
        let dataset = civcas_tests::dataset::read_back(&writer, &sources()[..1]).await;
        figures_agree(&reader, &dataset, &present).await.unwrap();
        assert_eq!(reader.read_model_status().loads, 1, "read every fact again");
        cluster.stop().await.unwrap();
    });
}
