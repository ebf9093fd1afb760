//! Calendar dates and inclusive date intervals.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::validation::{ValueError, quoted};

/// Parses an ISO 8601 calendar date, `YYYY-MM-DD`, the only date format of the API.
pub fn parse_date(raw: &str) -> Result<NaiveDate, ValueError> {
    if raw.is_empty() {
        return Err(ValueError::new("is required (YYYY-MM-DD)"));
    }
    // chrono's `%Y` accepts signed and short years; the API promises exactly four digits.
    let well_formed = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let date = well_formed
        .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
        .flatten();
    date.ok_or_else(|| {
        ValueError::new(format!(
            "must be a calendar date YYYY-MM-DD, got {}",
            quoted(raw)
        ))
    })
}

/// Parses an optional date: empty means unset.
pub fn parse_optional_date(raw: &str) -> Result<Option<NaiveDate>, ValueError> {
    if raw.is_empty() {
        Ok(None)
    } else {
        parse_date(raw).map(Some)
    }
}

/// Rejects a publication date after `today`: nobody has published in the future.
pub fn not_in_future(date: NaiveDate, today: NaiveDate) -> Result<NaiveDate, ValueError> {
    if date > today {
        Err(ValueError::new(format!(
            "must not be in the future (today is {today}), got {date}"
        )))
    } else {
        Ok(date)
    }
}

/// An inclusive interval of calendar days, `from <= to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DateInterval {
    from: NaiveDate,
    to: NaiveDate,
}

impl DateInterval {
    /// The interval `[from, to]`. An end before its start is reported on the end, since that is the
    /// value a client most likely mistyped.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, ValueError> {
        if to < from {
            return Err(ValueError::new(format!(
                "must not be before the start of the interval ({from}), got {to}"
            )));
        }
        Ok(Self { from, to })
    }

    pub fn day(day: NaiveDate) -> Self {
        Self { from: day, to: day }
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// The number of days in the interval, both ends included.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(raw: &str) -> NaiveDate {
        parse_date(raw).unwrap()
    }

    #[test]
    fn iso_dates_parse() {
        assert_eq!(
            d("2017-06-30"),
            NaiveDate::from_ymd_opt(2017, 6, 30).unwrap()
        );
    }

    #[test]
    fn malformed_and_impossible_dates_are_rejected() {
        for bad in [
            "",
            "2017-6-30",
            "2017-06-31",
            "30/06/2017",
            "+2017-06-30",
            "2017-02-29",
            "2017-06-30T00:00",
        ] {
            assert!(parse_date(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn an_interval_ending_before_it_starts_is_rejected() {
        assert!(DateInterval::new(d("2017-06-02"), d("2017-06-01")).is_err());
    }

    #[test]
    fn an_interval_counts_both_ends() {
        let june = DateInterval::new(d("2017-06-01"), d("2017-06-30")).unwrap();
        assert_eq!(june.days(), 30);
        assert_eq!(DateInterval::day(d("2017-06-01")).days(), 1);
    }

    #[test]
    fn future_dates_are_rejected() {
        assert!(not_in_future(d("2017-06-02"), d("2017-06-01")).is_err());
        assert!(not_in_future(d("2017-06-01"), d("2017-06-01")).is_ok());
    }
}
