//! ISO 3166-1 alpha-2 country codes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::{ValueError, quoted};

/// Every officially assigned ISO 3166-1 alpha-2 code (from Debian's iso-codes), sorted.
const ASSIGNED: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT \
BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH \
ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT \
HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS \
LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI \
NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG \
SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG \
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// An officially assigned ISO 3166-1 alpha-2 code, upper case: `SY`, `IQ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let bytes: [u8; 2] = raw
            .as_bytes()
            .try_into()
            .ok()
            .filter(|b: &[u8; 2]| b.iter().all(u8::is_ascii_uppercase))
            .ok_or_else(|| {
                ValueError::new(format!(
                    "must be an ISO 3166-1 alpha-2 code in upper case, like SY or IQ; got {}",
                    quoted(raw)
                ))
            })?;
        if !ASSIGNED.split(' ').any(|code| code.as_bytes() == bytes) {
            return Err(ValueError::new(format!(
                "{} is not an assigned ISO 3166-1 alpha-2 code",
                quoted(raw)
            )));
        }
        Ok(Self(bytes))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters get in through `parse`.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for CountryCode {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CountryCode> for String {
    fn from(value: CountryCode) -> Self {
        value.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_codes_are_accepted() {
        for code in ["SY", "IQ", "AD", "ZW", "PS"] {
            assert_eq!(CountryCode::parse(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn malformed_or_unassigned_codes_are_rejected() {
        for bad in ["", "S", "sy", "SYR", "XX", "ZZ", "1Q", "É"] {
            assert!(CountryCode::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn the_assigned_list_is_sorted_and_complete() {
        let codes: Vec<_> = ASSIGNED.split(' ').collect();
        assert_eq!(codes.len(), 249);
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
    }
}
