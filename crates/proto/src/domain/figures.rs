//! Figure queries and their answers.

use std::collections::{BTreeMap, BTreeSet};

use civcas_domain::dates::parse_optional_date;
use civcas_domain::reconcile::flow::{AssessmentFlow, FlowQuery};
use civcas_domain::reconcile::series::{Granularity, SeriesQuery};
use civcas_domain::reconcile::{
    FigureQuery, Filters, RangeSum, ReconciledFigures, Split, TierFigures,
};
use civcas_domain::text::{bounded_text, limits};
use civcas_domain::validation::each;
use civcas_domain::{
    AllValid, AtField, CountryCode, DateInterval, IncidentId, SourceId, Verdict, Violations,
};

use super::{both_ways, enum_field, harm_done, interval, slug};
use crate::v1 as pb;

both_ways!(Granularity, Granularity {
    Day <=> Day,
    Week <=> Week,
    Month <=> Month,
    Year <=> Year,
});

/// The filters of a figure query; `sources` are checked against the registry by the server.
impl TryFrom<pb::FigureFilters> for Filters {
    type Error = Violations;

    fn try_from(filters: pb::FigureFilters) -> Result<Self, Violations> {
        let pb::FigureFilters {
            countries,
            admin1,
            attributed_to,
            sources,
            harm,
            means,
            infrastructure,
        } = filters;
        let (countries, admin1, attributed_to, sources, harm_done) = (
            each("filters.countries", countries, |c, field| {
                CountryCode::parse(&c).at(field)
            }),
            each("filters.admin1", admin1, |a, field| {
                bounded_text(&a, 1, limits::SHORT_TEXT).at(field)
            }),
            each("filters.attributed_to", attributed_to, |b, field| {
                slug(field, &b)
            }),
            each("filters.sources", sources, |s, field| {
                SourceId::parse(&s).at(field)
            }),
            harm_done("filters", harm, means, infrastructure),
        )
            .all_valid()?;
        Ok(Self {
            countries: countries.into_iter().collect(),
            admin1: admin1.into_iter().collect(),
            // Not offered by the API; used for statements' own comparisons.
            localities: BTreeSet::new(),
            attributed_to: attributed_to.into_iter().collect(),
            harm_done,
            sources: sources.into_iter().collect(),
        })
    }
}

/// A query window from the request's `from` and `to`.
fn window(from: &str, to: &str) -> Result<DateInterval, Violations> {
    interval(("from", from), ("to", to))
}

fn figure_query(
    from: &str,
    to: &str,
    filters: Option<pb::FigureFilters>,
    as_of: &str,
) -> Result<FigureQuery, Violations> {
    let (window, filters, as_of) = (
        window(from, to),
        Filters::try_from(filters.unwrap_or_default()),
        parse_optional_date(as_of).at("as_of"),
    )
        .all_valid()?;
    Ok(FigureQuery {
        window,
        filters,
        as_of,
    })
}

impl TryFrom<pb::GetReconciledFiguresRequest> for FigureQuery {
    type Error = Violations;

    fn try_from(request: pb::GetReconciledFiguresRequest) -> Result<Self, Violations> {
        let pb::GetReconciledFiguresRequest {
            from,
            to,
            filters,
            as_of,
        } = request;
        figure_query(&from, &to, filters, &as_of)
    }
}

/// A watch follows the present: it has no `as_of`.
impl TryFrom<pb::WatchFiguresRequest> for FigureQuery {
    type Error = Violations;

    fn try_from(request: pb::WatchFiguresRequest) -> Result<Self, Violations> {
        let pb::WatchFiguresRequest { from, to, filters } = request;
        figure_query(&from, &to, filters, "")
    }
}

impl TryFrom<pb::GetFigureSeriesRequest> for SeriesQuery {
    type Error = Violations;

    fn try_from(request: pb::GetFigureSeriesRequest) -> Result<Self, Violations> {
        let pb::GetFigureSeriesRequest {
            from,
            to,
            filters,
            as_of,
            granularity,
        } = request;
        let (query, granularity) = (
            figure_query(&from, &to, filters, &as_of),
            enum_field::<pb::Granularity, _>("granularity", granularity),
        )
            .all_valid()?;
        Ok(Self { query, granularity })
    }
}

impl TryFrom<pb::GetAssessmentFlowRequest> for FlowQuery {
    type Error = Violations;

    fn try_from(request: pb::GetAssessmentFlowRequest) -> Result<Self, Violations> {
        let pb::GetAssessmentFlowRequest {
            source_id,
            from,
            to,
        } = request;
        let (source, window) = (
            SourceId::parse(&source_id).at("source_id"),
            window(&from, &to),
        )
            .all_valid()?;
        Ok(Self { source, window })
    }
}

impl From<RangeSum> for pb::RangeSum {
    fn from(sum: RangeSum) -> Self {
        Self {
            min: sum.min,
            max: sum.max(),
            max_bounded: sum.max_bounded,
            unbounded: sum.unbounded,
            without_figure: sum.without_figure,
        }
    }
}

impl From<Split> for pb::PositionCounts {
    fn from(split: Split) -> Self {
        Self {
            inside: split.inside,
            boundary: split.boundary,
        }
    }
}

impl From<TierFigures> for pb::TierFigures {
    fn from(figures: TierFigures) -> Self {
        Self {
            tier: pb::Tier::from(Some(figures.tier)).into(),
            counted: Some(figures.counted.into()),
            killed: Some(figures.killed.into()),
            injured: Some(figures.injured.into()),
            children_killed: Some(figures.children_killed.into()),
            women_killed: Some(figures.women_killed.into()),
            men_killed: Some(figures.men_killed.into()),
        }
    }
}

fn verdict_totals(counts: BTreeMap<Verdict, u64>) -> Vec<pb::VerdictTotal> {
    counts
        .into_iter()
        .map(|(verdict, count)| pb::VerdictTotal {
            verdict: pb::Verdict::from(verdict).into(),
            count,
        })
        .collect()
}

/// The figures of one window.
impl From<(DateInterval, ReconciledFigures)> for pb::ReconciledFigures {
    fn from((window, figures): (DateInterval, ReconciledFigures)) -> Self {
        let ReconciledFigures {
            sources,
            tiers,
            disputed,
            coverage_gaps,
            statements,
        } = figures;
        let ids = |ids: Vec<IncidentId>| ids.into_iter().map(|id| id.to_string()).collect();
        let each_tier = |tiers: Vec<TierFigures>| tiers.into_iter().map(Into::into).collect();
        Self {
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
                            count: Some(count.into()),
                        })
                        .collect(),
                    tiers: each_tier(s.tiers),
                })
                .collect(),
            tiers: each_tier(tiers),
            disputed: Some(pb::DisputedClusters {
                figures: Some(disputed.figures.into()),
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
                        own_at_tier: s.own.map(Into::into),
                        difference,
                        statement: Some(s.statement.into()),
                    }
                })
                .collect(),
        }
    }
}

impl From<AssessmentFlow> for pb::GetAssessmentFlowResponse {
    fn from(flow: AssessmentFlow) -> Self {
        let AssessmentFlow {
            open_at_start,
            received,
            completed,
            reassessed,
            reopened,
            completed_deaths,
            open_at_end,
        } = flow;
        Self {
            open_at_start,
            received,
            completed: verdict_totals(completed),
            reassessed: verdict_totals(reassessed),
            reopened,
            completed_deaths,
            open_at_end,
        }
    }
}
