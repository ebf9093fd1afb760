//! Figure queries and their answers.

use super::*;

/// The filters of a figure query, validated; `sources` are checked against the registry later.
pub fn figure_filters(raw: Option<pb::FigureFilters>) -> Result<Filters, Violations> {
    let pb::FigureFilters {
        countries,
        admin1,
        attributed_to,
        sources,
    } = raw.unwrap_or_default();
    let (countries, admin1, attributed_to, sources) = (
        each("filters.countries", countries, |c, field| {
            country(field, &c)
        }),
        each("filters.admin1", admin1, |a, field| {
            bounded_text(&a, 1, limits::SHORT_TEXT).at(field)
        }),
        each("filters.attributed_to", attributed_to, |b, field| {
            slug(field, &b)
        }),
        each("filters.sources", sources, |s, field| source_id(field, &s)),
    )
        .all_valid()?;
    Ok(Filters {
        countries: countries.into_iter().collect(),
        admin1: admin1.into_iter().collect(),
        // Not offered by the API; used for statements' own comparisons.
        localities: BTreeSet::new(),
        attributed_to: attributed_to.into_iter().collect(),
        sources: sources.into_iter().collect(),
    })
}

/// A query window from its two ends.
pub fn window(from: &str, to: &str) -> Result<DateInterval, Violations> {
    interval(("from", from), ("to", to))
}

pub fn as_of(raw: &str) -> Result<Option<NaiveDate>, Violations> {
    civcas_domain::dates::parse_optional_date(raw).at("as_of")
}

pub fn granularity(raw: i32) -> Result<Granularity, Violations> {
    enum_value(
        "granularity",
        raw,
        |g| match g {
            pb::Granularity::Unspecified => None,
            pb::Granularity::Day => Some(Granularity::Day),
            pb::Granularity::Week => Some(Granularity::Week),
            pb::Granularity::Month => Some(Granularity::Month),
            pb::Granularity::Year => Some(Granularity::Year),
        },
        "Granularity",
    )
}

pub(super) fn range_sum_to_pb(sum: RangeSum) -> pb::RangeSum {
    pb::RangeSum {
        min: sum.min,
        max: sum.max(),
        max_bounded: sum.max_bounded,
        unbounded: sum.unbounded,
        without_figure: sum.without_figure,
    }
}

pub(super) fn split_to_pb(split: Split) -> pb::PositionCounts {
    pb::PositionCounts {
        inside: split.inside,
        boundary: split.boundary,
    }
}

pub(super) fn tier_figures_to_pb(figures: TierFigures) -> pb::TierFigures {
    pb::TierFigures {
        tier: pb::Tier::from(Some(figures.tier)).into(),
        counted: Some(split_to_pb(figures.counted)),
        killed: Some(range_sum_to_pb(figures.killed)),
        injured: Some(range_sum_to_pb(figures.injured)),
    }
}

pub(super) fn verdict_totals(counts: BTreeMap<Verdict, u64>) -> Vec<pb::VerdictTotal> {
    counts
        .into_iter()
        .map(|(verdict, count)| pb::VerdictTotal {
            verdict: pb::Verdict::from(verdict).into(),
            count,
        })
        .collect()
}

/// The figures of one window.
pub fn figures_to_pb(window: DateInterval, figures: ReconciledFigures) -> pb::ReconciledFigures {
    let ReconciledFigures {
        sources,
        tiers,
        disputed,
        coverage_gaps,
        statements,
    } = figures;
    let ids = |ids: Vec<IncidentId>| ids.into_iter().map(|id| id.to_string()).collect();
    pb::ReconciledFigures {
        from: window.from().to_string(),
        to: window.to().to_string(),
        sources: sources
            .into_iter()
            .map(|s| pb::SourceFigures {
                source_id: s.source_id.to_string(),
                verdicts: s
                    .verdicts
                    .into_iter()
                    .map(|(verdict, count)| pb::VerdictCount {
                        verdict: pb::Verdict::from(verdict).into(),
                        count: Some(split_to_pb(count)),
                    })
                    .collect(),
                tiers: s.tiers.into_iter().map(tier_figures_to_pb).collect(),
            })
            .collect(),
        tiers: tiers.into_iter().map(tier_figures_to_pb).collect(),
        disputed: Some(pb::DisputedClusters {
            figures: Some(tier_figures_to_pb(disputed.figures)),
            cluster_ids: ids(disputed.cluster_ids),
        }),
        coverage_gaps: coverage_gaps
            .into_iter()
            .map(|g| pb::CoverageGap {
                source_id: g.source_id.to_string(),
                clusters: g.clusters,
                cluster_ids: ids(g.cluster_ids),
            })
            .collect(),
        statements: statements
            .into_iter()
            .map(|s| {
                let difference = s.difference();
                pb::StatementFigure {
                    inside: s.inside,
                    overlap_days: s.overlap_days,
                    period_days: s.period_days,
                    own_established: s.own_established.map(range_sum_to_pb),
                    difference,
                    statement: Some(s.statement.into()),
                }
            })
            .collect(),
    }
}

pub fn flow_to_pb(flow: AssessmentFlow) -> pb::GetAssessmentFlowResponse {
    let AssessmentFlow {
        open_at_start,
        received,
        completed,
        reassessed,
        reopened,
        completed_deaths,
        open_at_end,
    } = flow;
    pb::GetAssessmentFlowResponse {
        open_at_start,
        received,
        completed: verdict_totals(completed),
        reassessed: verdict_totals(reassessed),
        reopened,
        completed_deaths,
        open_at_end,
    }
}
