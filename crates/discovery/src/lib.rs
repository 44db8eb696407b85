//! Cloud discovery: which apps, cloud services, identity providers and access paths are in
//! use, from what Trustplane already reads, with a risk score from visible factors.
//!
//! - [`Discoverer::read_logs`]: CloudTrail (AWS services from `eventSource`, users from
//!   `userIdentity`, federated sign-ins per provider) and Azure activity records (resource
//!   providers), through `trustplane-detect`'s bounded streaming readers; Squid native
//!   access logs and CEF firewall logs ([`traffic`]), whose destinations are matched
//!   against the [`Catalog`] of cloud apps.
//! - [`Discoverer::add_inventory`]: a saved inventory (`trustplane scan aws --save-dir`):
//!   IAM SAML and OIDC providers and whose they are (Trustplane's own, GitHub Actions,
//!   other), roles that outside accounts may assume, IAM users with console passwords or
//!   access keys and their last use, Azure guests and service principals.
//! - [`Discoverer::finish`]: one [`DiscoveredApp`] per app or access path with first and
//!   last seen, users, volume, whether it bypasses Trustplane (with the remediation) and a
//!   [`Risk`] whose factors are listed beside the score.
//!
//! Discovery reads only; it never changes a cloud. Unreadable lines and records are counted
//! with examples and never stop a run; a log in an unknown format is refused with the
//! formats that are known.
#![deny(missing_docs)]

pub mod catalog;
mod discover;
mod error;
mod inventory;
mod logs;
mod model;
pub mod review;
mod score;
pub mod service;
pub mod traffic;

pub use catalog::{Catalog, CatalogApp, CatalogRisk};
pub use discover::{
    cloudtrail_user, Discoverer, DiscoveryOptions, MAX_APPS, MAX_UNCATALOGUED,
    MAX_UNPARSED_EXAMPLES, MAX_USERS_PER_APP,
};
pub use error::DiscoveryError;
pub use inventory::{metadata_entity_id, ProviderOwner, GITHUB_ACTIONS_ISSUER};
pub use logs::{sniff, LogFormat, MAX_FILES, MAX_LINE_BYTES};
pub use model::{
    AppKind, DiscoveredApp, DiscoveryReport, ReviewState, Risk, RiskFactor, SourceSummary,
    UncataloguedHost, Unparsed, UnparsedExample,
};
pub use review::{
    apply_patch, parse_import, unsanctioned_in_use, with_review, Review, ReviewError,
};

/// Parses an RFC 3339 time (or the credential report's `N/A`, `no_information`: `None`).
pub fn parse_time(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Formats seconds since the epoch as RFC 3339.
pub fn format_time(t: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
}
