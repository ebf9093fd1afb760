//! Count ranges: how many people a source says were killed or injured.

use serde::{Deserialize, Serialize};

use crate::validation::ValueError;

/// A stated count: `min..=max`, or "at least `min`" when `max` is `None`. `min == max` is an exact
/// figure. An *absent* figure is `Option<CountRange>::None`, never a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CountRange {
    min: u32,
    max: Option<u32>,
}

impl CountRange {
    pub fn new(min: u32, max: Option<u32>) -> Result<Self, ValueError> {
        match max {
            Some(max) if max < min => Err(ValueError::in_part(
                "max",
                format!("must not be below min ({min}), got {max}"),
            )),
            _ => Ok(Self { min, max }),
        }
    }

    pub fn exact(count: u32) -> Self {
        Self {
            min: count,
            max: Some(count),
        }
    }

    pub fn at_least(min: u32) -> Self {
        Self { min, max: None }
    }

    pub fn min(&self) -> u32 {
        self.min
    }

    pub fn max(&self) -> Option<u32> {
        self.max
    }

    pub fn is_exact(&self) -> bool {
        self.max == Some(self.min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_keeps_its_bounds() {
        let range = CountRange::new(3, Some(7)).unwrap();
        assert_eq!((range.min(), range.max()), (3, Some(7)));
        assert!(!range.is_exact());
    }

    #[test]
    fn equal_bounds_are_an_exact_figure() {
        assert!(CountRange::new(5, Some(5)).unwrap().is_exact());
        assert_eq!(CountRange::exact(5), CountRange::new(5, Some(5)).unwrap());
    }

    #[test]
    fn a_missing_max_means_at_least() {
        assert_eq!(
            CountRange::new(624, None).unwrap(),
            CountRange::at_least(624)
        );
    }

    #[test]
    fn min_above_max_is_rejected_on_max() {
        let err = CountRange::new(8, Some(7)).unwrap_err();
        assert_eq!(err.part, Some("max"));
    }
}
