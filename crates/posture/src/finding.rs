//! Findings: what one check decided about one resource, with the controls it answers.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::inventory::{Provider, ResourceDoc};

/// The result of one check for one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// The resource meets the control.
    Pass,
    /// The resource does not meet the control.
    Fail,
    /// The control needs a person to judge it.
    Manual,
    /// The data the control needs could not be collected.
    Error,
}

impl Status {
    /// Upper-case name as used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Manual => "MANUAL",
            Status::Error => "ERROR",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a failure of the check is. Ordered: `Informational < ... < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No risk by itself.
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// OCSF `severity_id` (1 informational .. 5 critical).
    pub fn ocsf_id(self) -> u8 {
        match self {
            Severity::Informational => 1,
            Severity::Low => 2,
            Severity::Medium => 3,
            Severity::High => 4,
            Severity::Critical => 5,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `--fail-on` values that are not a severity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}` (expected informational, low, medium, high or critical)")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "informational" | "info" => Ok(Severity::Informational),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(UnknownSeverity(s.to_string())),
        }
    }
}

/// The resource (or account / region scope) a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    /// The cloud.
    pub provider: Provider,
    /// Account, subscription or tenant.
    pub account: String,
    /// Region or `global`.
    pub region: String,
    /// Resource type; `aws.account` / `azure.subscription` / `aws.region` for scope findings.
    pub resource_type: String,
    /// Resource id.
    pub id: String,
    /// Display name.
    pub name: String,
}

impl ResourceRef {
    /// The reference to an inventory document.
    pub fn of(doc: &ResourceDoc) -> Self {
        ResourceRef {
            provider: doc.provider,
            account: doc.account.clone(),
            region: doc.region.clone(),
            resource_type: doc.resource_type.clone(),
            id: doc.id.clone(),
            name: doc.name.clone(),
        }
    }
}

/// One benchmark requirement a check answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlRef {
    /// Benchmark key (`cis_3.0_aws`).
    pub benchmark: String,
    /// Benchmark label (`CIS AWS 3.0`).
    pub benchmark_label: String,
    /// Requirement id (`1.4`).
    pub id: String,
    /// Requirement title.
    pub title: String,
    /// Section.
    pub section: String,
    /// Remediation text from the benchmark file.
    pub remediation: String,
}

/// One decision.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The check that decided it (`iam_root_mfa_enabled`), or `manual` for manual controls.
    pub check_id: Arc<str>,
    /// The benchmark requirements it answers (shared by every finding of the check).
    pub controls: Arc<[ControlRef]>,
    /// What it is about (shared by every finding on the same resource).
    pub resource: Arc<ResourceRef>,
    /// PASS / FAIL / MANUAL / ERROR.
    pub status: Status,
    /// The check's severity.
    pub severity: Severity,
    /// One line for people.
    pub message: Cow<'static, str>,
    /// The values that decided it, as compact JSON text: a scan holds millions of findings,
    /// and a small JSON object as a `Value` costs several hundred bytes.
    pub evidence: Evidence,
}

/// Evidence: the values that decided a finding, kept as compact JSON text. A scan holds
/// millions of findings; a small object as a `serde_json::Value` costs several hundred bytes
/// and several allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence(Box<str>);

impl Default for Evidence {
    fn default() -> Self {
        Evidence("null".into())
    }
}

impl Evidence {
    /// Wraps JSON text produced by `serde_json` (not re-validated: the writers here only
    /// produce valid JSON; serialising re-checks it).
    pub(crate) fn from_json_text(text: String) -> Self {
        Evidence(text.into_boxed_str())
    }

    /// From a JSON value.
    pub fn from_value(v: &Value) -> Self {
        Evidence(v.to_string().into_boxed_str())
    }

    /// The JSON text.
    pub fn as_json(&self) -> &str {
        &self.0
    }

    /// The evidence as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(&self.0) {
            Ok(raw) => raw.serialize(s),
            Err(_) => s.serialize_unit(),
        }
    }
}

impl Finding {
    /// The evidence as a JSON value.
    pub fn evidence_value(&self) -> Value {
        self.evidence.to_value()
    }
}

/// Compacts a JSON value into [`Evidence`].
pub fn compact_evidence(v: &Value) -> Evidence {
    Evidence::from_value(v)
}
