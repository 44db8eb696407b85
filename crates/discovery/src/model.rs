//! What discovery produces.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What kind of app or access path an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AppKind {
    /// An AWS service called (CloudTrail `eventSource`).
    AwsService,
    /// An Azure resource provider used (activity log).
    AzureResourceProvider,
    /// An IAM SAML or OIDC identity provider trusted by an account.
    IdentityProvider,
    /// An IAM role that an outside account may assume.
    CrossAccountRole,
    /// An IAM user with a console password or access keys.
    IamUser,
    /// An Azure enterprise application (service principal).
    ServicePrincipal,
    /// An Azure guest user.
    Guest,
    /// A web app from the catalogue, seen in proxy or firewall logs.
    WebApp,
}

/// A review decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewState {
    /// Allowed and managed.
    Sanctioned,
    /// Not allowed.
    Unsanctioned,
    /// Allowed for now, watched.
    Monitored,
}

impl ReviewState {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Sanctioned => "sanctioned",
            ReviewState::Unsanctioned => "unsanctioned",
            ReviewState::Monitored => "monitored",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(s: &str) -> Option<ReviewState> {
        match s {
            "sanctioned" => Some(ReviewState::Sanctioned),
            "unsanctioned" => Some(ReviewState::Unsanctioned),
            "monitored" => Some(ReviewState::Monitored),
            _ => None,
        }
    }
}

/// One visible reason for part of a risk score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskFactor {
    /// Short name (`review`, `catalogueRisk`, `sso`, `mfa`, `volume`, ...).
    pub factor: String,
    /// Points added.
    pub points: u32,
    /// Why, in words.
    pub detail: String,
}

/// A risk score (0..=100) with the factors that add up to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Risk {
    /// Sum of the factors' points, at most 100.
    pub score: u32,
    /// `low` (< 40), `medium` (< 70) or `high`.
    pub level: String,
    /// The factors, each with its points.
    pub factors: Vec<RiskFactor>,
}

/// One discovered app or access path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredApp {
    /// Stable id (`aws-service:<account>:<eventSource>`, `idp:<arn>`, `cross-account:<arn>`,
    /// `iam-user:<arn>`, `web:<catalogue id>`, `azure-rp:<subscription>:<provider>`,
    /// `azure-sp:<tenant>:<appId>`, `azure-guest:<tenant>:<id>`).
    pub id: String,
    /// What it is.
    pub kind: AppKind,
    /// Display name.
    pub name: String,
    /// AWS account, Azure subscription or tenant; none for web apps.
    pub account: Option<String>,
    /// Category (catalogue category, `identity provider`, ...).
    pub category: Option<String>,
    /// First time it was seen in use (RFC 3339), when known.
    pub first_seen: Option<String>,
    /// Last time it was seen in use (RFC 3339), when known.
    pub last_seen: Option<String>,
    /// Who used it (sorted; at most [`crate::MAX_USERS_PER_APP`]).
    pub users: Vec<String>,
    /// How many distinct users, counted up to the bound.
    pub user_count: usize,
    /// Users beyond the bound were not kept.
    pub users_truncated: bool,
    /// Log records or lines that show its use.
    pub events: u64,
    /// Bytes transferred (traffic logs).
    pub bytes: u64,
    /// Requests the proxy or firewall refused.
    pub blocked: u64,
    /// A door into the cloud that does not go through Trustplane's federation.
    pub bypasses_trustplane: bool,
    /// The posture check that reports it and the commands that remove it, when it bypasses.
    pub remediation: Option<String>,
    /// Kind-specific facts (provider type and issuer, trusting roles, external accounts,
    /// credentials, catalogue fields).
    pub details: Value,
    /// The review, when one was made.
    pub review: Option<ReviewState>,
    /// Risk score and its factors.
    pub risk: Risk,
}

/// A line or record that could not be read, kept as an example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnparsedExample {
    /// The file.
    pub path: String,
    /// Line (1-based) or record index (0-based for JSON documents), when known.
    pub line: Option<u64>,
    /// Why.
    pub reason: String,
    /// The start of the line (at most 200 characters).
    pub text: Option<String>,
}

/// Lines and records that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unparsed {
    /// How many.
    pub count: u64,
    /// The first few ([`crate::MAX_UNPARSED_EXAMPLES`]).
    pub examples: Vec<UnparsedExample>,
}

/// One log file read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceSummary {
    /// The file.
    pub path: String,
    /// `cloudtrail`, `squid` or `cef`.
    pub format: String,
    /// Records or lines read.
    pub read: u64,
    /// Of which could not be parsed.
    pub unparsed: u64,
}

/// A destination seen in traffic logs that the catalogue does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UncataloguedHost {
    /// Host name or address.
    pub host: String,
    /// Requests.
    pub events: u64,
    /// Bytes.
    pub bytes: u64,
}

/// The result of a discovery run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveryReport {
    /// Apps and access paths, highest risk first.
    pub apps: Vec<DiscoveredApp>,
    /// Log files read.
    pub sources: Vec<SourceSummary>,
    /// Inventory documents read.
    pub inventory_documents: usize,
    /// Unreadable lines and records.
    pub unparsed: Unparsed,
    /// Distinct destinations the catalogue does not know.
    pub uncatalogued_hosts: usize,
    /// The busiest of them (at most 20).
    pub top_uncatalogued: Vec<UncataloguedHost>,
}
