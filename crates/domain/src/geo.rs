//! Where incidents happened: coordinates, precision and location.

use serde::{Deserialize, Serialize};

use crate::country::CountryCode;
use crate::validation::ValueError;

/// A WGS 84 point. Both parts are finite and in range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coordinates {
    latitude: f64,
    longitude: f64,
}

impl Coordinates {
    pub fn new(latitude: f64, longitude: f64) -> Result<Self, ValueError> {
        if !(latitude.is_finite() && (-90.0..=90.0).contains(&latitude)) {
            return Err(ValueError::in_part(
                "latitude",
                format!("must be between -90 and 90 degrees, got {latitude}"),
            ));
        }
        if !(longitude.is_finite() && (-180.0..=180.0).contains(&longitude)) {
            return Err(ValueError::in_part(
                "longitude",
                format!("must be between -180 and 180 degrees, got {longitude}"),
            ));
        }
        Ok(Self {
            latitude,
            longitude,
        })
    }

    /// Coordinates from two optional parts, which must come together.
    pub fn from_parts(
        latitude: Option<f64>,
        longitude: Option<f64>,
    ) -> Result<Option<Self>, ValueError> {
        match (latitude, longitude) {
            (None, None) => Ok(None),
            (Some(latitude), Some(longitude)) => Self::new(latitude, longitude).map(Some),
            (Some(_), None) => Err(ValueError::in_part(
                "longitude",
                "is required when latitude is given",
            )),
            (None, Some(_)) => Err(ValueError::in_part(
                "latitude",
                "is required when longitude is given",
            )),
        }
    }

    pub fn latitude(&self) -> f64 {
        self.latitude
    }

    pub fn longitude(&self) -> f64 {
        self.longitude
    }
}

/// How precisely a location is known, from the most to the least precise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Precision {
    Exact,
    Neighbourhood,
    Locality,
    District,
    Admin1,
    Country,
}

impl Precision {
    pub const ALL: [Self; 6] = [
        Self::Exact,
        Self::Neighbourhood,
        Self::Locality,
        Self::District,
        Self::Admin1,
        Self::Country,
    ];

    /// The stable name stored in the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Neighbourhood => "neighbourhood",
            Self::Locality => "locality",
            Self::District => "district",
            Self::Admin1 => "admin1",
            Self::Country => "country",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// Where an incident happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub country: CountryCode,
    pub admin1: Option<String>,
    pub locality: Option<String>,
    pub coordinates: Option<Coordinates>,
    pub precision: Precision,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_in_range_are_accepted() {
        let c = Coordinates::new(36.34, 43.13).unwrap();
        assert_eq!((c.latitude(), c.longitude()), (36.34, 43.13));
        assert!(Coordinates::new(-90.0, 180.0).is_ok());
    }

    #[test]
    fn latitude_91_is_rejected_on_latitude() {
        assert_eq!(
            Coordinates::new(91.0, 0.0).unwrap_err().part,
            Some("latitude")
        );
        assert_eq!(
            Coordinates::new(0.0, -180.5).unwrap_err().part,
            Some("longitude")
        );
        assert!(Coordinates::new(f64::NAN, 0.0).is_err());
    }

    #[test]
    fn half_a_point_is_rejected() {
        assert_eq!(
            Coordinates::from_parts(Some(1.0), None).unwrap_err().part,
            Some("longitude")
        );
        assert_eq!(Coordinates::from_parts(None, None), Ok(None));
    }

    #[test]
    fn precision_names_round_trip() {
        for p in Precision::ALL {
            assert_eq!(Precision::from_name(p.as_str()), Some(p));
        }
    }
}
