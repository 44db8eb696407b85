//! Risk levels, ordered.

use serde::{Deserialize, Serialize};

/// `riskLevel` as identity protection uses it: none < low < medium < high.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum RiskLevel {
    /// Nothing found.
    #[default]
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl RiskLevel {
    /// Graph's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::None => "none",
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }

    /// Reads Graph's name; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(RiskLevel::None),
            "low" => Some(RiskLevel::Low),
            "medium" => Some(RiskLevel::Medium),
            "high" => Some(RiskLevel::High),
            _ => None,
        }
    }

    /// The level of a detection alert (`informational`, `low`, `medium`, `high`, `critical`).
    pub fn of_alert(level: &str) -> Self {
        match level {
            "critical" | "high" => RiskLevel::High,
            "medium" => RiskLevel::Medium,
            "low" => RiskLevel::Low,
            _ => RiskLevel::None,
        }
    }

    /// The conditional-access engine's value.
    pub fn to_access(self) -> trustplane_access::RiskLevel {
        match self {
            RiskLevel::None => trustplane_access::RiskLevel::None,
            RiskLevel::Low => trustplane_access::RiskLevel::Low,
            RiskLevel::Medium => trustplane_access::RiskLevel::Medium,
            RiskLevel::High => trustplane_access::RiskLevel::High,
        }
    }
}
