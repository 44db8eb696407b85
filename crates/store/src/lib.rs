//! Trustplane's persistence.
//!
//! One [`Store`] serves both backends: SQLite (embedded, the default) and PostgreSQL (shared
//! by several nodes). The SQL is written once in the subset both understand, and the few
//! places where they differ (row locking, connection set-up) switch on [`Backend`]. Every
//! change goes through a [`WriteTx`], which appends its audit events in the same transaction,
//! so a change and its record commit or vanish together.
//!
//! ```no_run
//! # async fn demo() -> Result<(), trustplane_store::StoreError> {
//! use std::sync::Arc;
//! use trustplane_model::SystemClock;
//! let store = trustplane_store::Store::open("sqlite://trustplane.db?mode=rwc", Arc::new(SystemClock)).await?;
//! let report = store.verify_audit_chain().await?;
//! assert!(report.first_problem.is_none());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod alerts;
mod audit;
mod auth;
mod business_metrics;
mod changes;
mod cloud;
mod db;
mod directory;
mod directory_sources;
mod discovery;
mod error;
mod filter;
mod findings;
mod identity_providers;
mod incidents;
pub mod jobs;
mod lease;
mod list;
mod migrate;
mod oidc;
mod outbound;
mod pim;
mod policies;
mod protection;
mod provisioning;
mod risk;
mod signing_keys;
mod timeline;
mod tokens;

pub use alerts::{level_rank, Alert, NewHit, ResponsePolicy};
pub use audit::{AuditAnchor, AuditKey, AuditQuery, ChainProblem, VerifyReport};
pub use auth::{NewSession, Session, SignInFacts, StoredMethod, TEMPORARY_ACCESS_PASS};
pub use business_metrics::describe_business_metrics;
pub use changes::{Changes, Topic};
pub use cloud::{
    CloudAccount, CloudScan, LogSource, NewCloudAccount, NewLogSource, DEFAULT_SCAN_INTERVAL_SECS,
};
pub use db::{Backend, Store, WriteTx};
pub use directory::{
    AppPatch, GroupPatch, NewApplication, NewAssignment, NewGroup, NewUser, PasswordSignIns,
    RoleDefinitionPatch, UserPatch,
};
pub use directory_sources::{
    source_owned_user_fields, DirectoryConnection, DirectorySyncChanges, DirectorySyncStatus,
    NameHolder, NewDirectoryConnection, SourceAttribution, SourceObject, SourceSnapshot,
    SourcedGroup, SourcedMembership, SourcedUser, DIRECTORY_SYNC_CATEGORY,
    SOURCE_OWNED_GROUP_FIELDS, SOURCE_OWNED_USER_FIELDS,
};
pub use discovery::{DiscoveryReview, StoredDiscoveredApp};
pub use error::{Result, StoreError};
pub use filter::{parse_filter, FilterError, MAX_CLAUSES};
pub use findings::{ScanFinding, ScanSummary};
pub use identity_providers::{IdentityProvider, NewIdentityProvider, IDENTITY_PROVIDERS_CATEGORY};
pub use incidents::{
    Incident, IncidentChange, CORRELATION_WINDOW_MS, INCIDENT_STATUSES, MAX_COMMENTS,
    MAX_COMMENT_CHARS,
};
pub use list::{Clause, ListQuery, Op, Page};
pub use oidc::{
    AuthCode, Authentication, ClientSecret, CodeUse, Grant, NewClientSecret, NewRefreshToken,
    RefreshToken,
};
pub use outbound::{DirectorySnapshot, Membership, PushedObject, RunRecord};
pub use pim::{
    pim_event, Drift, NewMessage, OutboxMessage, PimGrant, RequestChange, Review, ReviewItem,
};
pub use policies::CaKind;
pub use protection::GroupProtection;
pub use provisioning::{
    ConnectionStatus, GroupChange, LookupField, MemberRef, ProvisionedGroup, ProvisionedUser,
    ProvisioningConnection, AWS_IDENTITY_STORE, AWS_SCIM, MAX_PROVISIONED_SCAN, SCIM_INBOUND,
};
pub use risk::{
    network_of, AlertRef, NewRiskDetection, RiskDetection, RiskyUserState, SignInAttempt,
};
pub use signing_keys::{NewKey, StoredKey};
pub use timeline::{PersonEvent, PersonEventPosition, TimeRange};
pub use tokens::{ApiTokenInfo, TokenOwner};
