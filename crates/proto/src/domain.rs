//! Domain values into messages, for every crate that sends them (the server's answers, the CLI's
//! requests). Here because this crate owns the message types, so the conversions can be plain `From`
//! implementations, written once.

use civcas_domain::statement::Qualifier;
use civcas_domain::{CountRange, Measure, Precision, SourceKind, Tier, Verdict};

use crate::v1 as pb;

impl From<CountRange> for pb::CountRange {
    fn from(range: CountRange) -> Self {
        Self {
            min: range.min(),
            max: range.max(),
        }
    }
}

impl From<SourceKind> for pb::SourceKind {
    fn from(kind: SourceKind) -> Self {
        match kind {
            SourceKind::Military => Self::Military,
            SourceKind::Monitor => Self::Monitor,
            SourceKind::Intergovernmental => Self::Intergovernmental,
            SourceKind::Government => Self::Government,
            SourceKind::Media => Self::Media,
            SourceKind::Academic => Self::Academic,
            SourceKind::Other => Self::Other,
        }
    }
}

impl From<Precision> for pb::LocationPrecision {
    fn from(precision: Precision) -> Self {
        match precision {
            Precision::Exact => Self::Exact,
            Precision::Neighbourhood => Self::Neighbourhood,
            Precision::Locality => Self::Locality,
            Precision::District => Self::District,
            Precision::Admin1 => Self::Admin1,
            Precision::Country => Self::Country,
        }
    }
}

impl From<Verdict> for pb::Verdict {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Confirmed => Self::Confirmed,
            Verdict::Credible => Self::Credible,
            Verdict::Fair => Self::Fair,
            Verdict::Weak => Self::Weak,
            Verdict::Contested => Self::Contested,
            Verdict::Open => Self::Open,
            Verdict::NotCredible => Self::NotCredible,
            Verdict::Discounted => Self::Discounted,
            Verdict::Duplicate => Self::Duplicate,
        }
    }
}

/// A verdict's tier; DUPLICATE has none, which is TIER_UNSPECIFIED.
impl From<Option<Tier>> for pb::Tier {
    fn from(tier: Option<Tier>) -> Self {
        match tier {
            None => Self::Unspecified,
            Some(Tier::Established) => Self::Established,
            Some(Tier::Likely) => Self::Likely,
            Some(Tier::Alleged) => Self::Alleged,
            Some(Tier::Rejected) => Self::Rejected,
        }
    }
}

impl From<Measure> for pb::Measure {
    fn from(measure: Measure) -> Self {
        match measure {
            Measure::Killed => Self::Killed,
            Measure::Injured => Self::Injured,
            Measure::KilledOrInjured => Self::KilledOrInjured,
        }
    }
}

impl From<Qualifier> for pb::Qualifier {
    fn from(qualifier: Qualifier) -> Self {
        match qualifier {
            Qualifier::Exact => Self::Exact,
            Qualifier::AtLeast => Self::AtLeast,
            Qualifier::MoreThan => Self::MoreThan,
            Qualifier::Approximately => Self::Approximately,
            Qualifier::AtMost => Self::AtMost,
        }
    }
}
