//! Paging: sizes, and the keyset position a page continues from.

use serde::{Deserialize, Serialize};

use crate::validation::ValueError;

/// How many items one page holds: 50 unless asked, never 0, at most 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageSize(u16);

impl PageSize {
    pub const DEFAULT: u16 = 50;
    pub const MAX: u16 = 1000;

    /// Unset means the default; a size above the maximum is clamped to it, as the API promises; zero
    /// or a negative size is a mistake worth reporting.
    pub fn parse(requested: Option<i32>) -> Result<Self, ValueError> {
        match requested {
            None => Ok(Self(Self::DEFAULT)),
            Some(size) if size <= 0 => Err(ValueError::new(format!(
                "must be between 1 and {} (leave it unset for {}), got {size}",
                Self::MAX,
                Self::DEFAULT
            ))),
            Some(size) => Ok(Self(
                u16::try_from(size).map_or(Self::MAX, |size| size.min(Self::MAX)),
            )),
        }
    }

    pub fn get(&self) -> usize {
        usize::from(self.0)
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self(Self::DEFAULT)
    }
}

/// Which page to read: its size, and the keyset position of the previous page's last item.
///
/// The position is opaque outside the repository that issued it; the API layer wraps it into a page
/// token bound to the request's filters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageRequest {
    pub size: PageSize,
    pub after: Option<String>,
}

/// One page of results and the position to continue from, when there are more.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_means_the_default() {
        assert_eq!(PageSize::parse(None).unwrap().get(), 50);
    }

    #[test]
    fn large_sizes_are_clamped() {
        assert_eq!(PageSize::parse(Some(1001)).unwrap().get(), 1000);
        assert_eq!(PageSize::parse(Some(i32::MAX)).unwrap().get(), 1000);
        assert_eq!(PageSize::parse(Some(7)).unwrap().get(), 7);
    }

    #[test]
    fn zero_and_negative_sizes_are_rejected() {
        assert!(PageSize::parse(Some(0)).is_err());
        assert!(PageSize::parse(Some(-5)).is_err());
    }
}
