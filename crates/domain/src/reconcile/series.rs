//! Rule 8: the same rules per calendar bucket.

use chrono::{Datelike, Days, Months, NaiveDate};

use super::{Facts, FigureQuery, ReconciledFigures, figures};
use crate::dates::DateInterval;

/// How a window is cut into buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    Month,
    Year,
}

/// The figures of `query` per calendar bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesQuery {
    pub query: FigureQuery,
    pub granularity: Granularity,
}

/// The calendar buckets covering `window`, the first and last clipped to it, made one at a time so
/// that a caller can stop early (a DAY series over millennia is millions of buckets).
pub fn buckets(
    window: DateInterval,
    granularity: Granularity,
) -> impl Iterator<Item = DateInterval> {
    let mut next_start = Some(window.from());
    std::iter::from_fn(move || {
        let start = next_start.filter(|start| *start <= window.to())?;
        let end = bucket_end(start, granularity).min(window.to());
        next_start = end.checked_add_days(Days::new(1));
        // Both ends lie in the window and start <= end, so the interval is valid.
        DateInterval::new(start, end).ok()
    })
}

/// The last day of the calendar bucket that holds `day`.
fn bucket_end(day: NaiveDate, granularity: Granularity) -> NaiveDate {
    let end = match granularity {
        Granularity::Day => Some(day),
        Granularity::Week => day.checked_add_days(Days::new(u64::from(
            6 - day.weekday().num_days_from_monday(),
        ))),
        Granularity::Month => day
            .with_day(1)
            .and_then(|first| first.checked_add_months(Months::new(1)))
            .and_then(|next| next.pred_opt()),
        Granularity::Year => NaiveDate::from_ymd_opt(day.year(), 12, 31),
    };
    end.unwrap_or(NaiveDate::MAX)
}

/// The figures of each bucket. An incident spanning several buckets is a boundary incident in each,
/// so the buckets do not add up to the window's figures.
pub fn figure_series(
    facts: &impl Facts,
    query: &FigureQuery,
    granularity: Granularity,
) -> Vec<(DateInterval, ReconciledFigures)> {
    buckets(query.window, granularity)
        .map(|bucket| {
            let bucket_query = FigureQuery {
                window: bucket,
                ..query.clone()
            };
            (bucket, figures(facts, &bucket_query))
        })
        .collect()
}
