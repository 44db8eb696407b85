//! The port a target (an Identity Store, a SCIM endpoint) is reached through, and the shapes
//! of what goes out. The engine plans and applies; a transport only translates one call.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

/// A boxed future, so the port stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A user as it is sent: the attributes Identity Center keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutUser {
    /// The directory's id, sent as the target's `externalId`.
    pub external_id: String,
    /// `userName` (the directory's userPrincipalName).
    pub user_name: String,
    /// `name.givenName` (never empty: Identity Center requires it).
    pub given_name: String,
    /// `name.familyName` (never empty: Identity Center requires it).
    pub family_name: String,
    /// `displayName`.
    pub display_name: String,
    /// The one work address (Identity Center keeps a single email).
    pub email: Option<String>,
    /// `active`.
    pub active: bool,
}

/// A group as it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutGroup {
    /// The directory's id, sent as the target's `externalId`.
    pub external_id: String,
    /// `displayName`.
    pub display_name: String,
}

/// A user as the target holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUser {
    /// The target's id.
    pub id: String,
    /// The target's `externalId`, where it keeps one.
    pub external_id: Option<String>,
    /// `userName`.
    pub user_name: String,
    /// `displayName`.
    pub display_name: String,
    /// `active`, where the target keeps it.
    pub active: Option<bool>,
}

/// A group as the target holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    /// The target's id.
    pub id: String,
    /// `displayName`.
    pub display_name: String,
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The target asks to slow down (HTTP 429, `ThrottlingException`); retried with backoff.
    #[error("throttled: {0}")]
    Throttled(String),
    /// The object is not there (a delete of it is done).
    #[error("not found: {0}")]
    NotFound(String),
    /// The target refused this object; the run goes on with the others.
    #[error("{0}")]
    Rejected(String),
    /// The target cannot be used at all (credentials, network, a wrong store id); the run
    /// stops here.
    #[error("{0}")]
    Unavailable(String),
}

/// An Identity Store or SCIM endpoint, one call at a time.
pub trait Target: Send + Sync {
    /// Whether the target keeps `active` (else a disabled user is deleted there).
    fn keeps_active(&self) -> bool;

    /// A user already there for this one: by `externalId` first, then by `userName`.
    fn find_user<'a>(
        &'a self,
        u: &'a OutUser,
    ) -> BoxFuture<'a, Result<Option<String>, TargetError>>;
    /// Creates a user; its target id.
    fn create_user<'a>(&'a self, u: &'a OutUser) -> BoxFuture<'a, Result<String, TargetError>>;
    /// Replaces a user's attributes.
    fn update_user<'a>(
        &'a self,
        id: &'a str,
        u: &'a OutUser,
    ) -> BoxFuture<'a, Result<(), TargetError>>;
    /// Deletes a user.
    fn delete_user<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), TargetError>>;

    /// A group already there: by `externalId` first, then by `displayName`.
    fn find_group<'a>(
        &'a self,
        g: &'a OutGroup,
    ) -> BoxFuture<'a, Result<Option<String>, TargetError>>;
    /// Creates a group; its target id.
    fn create_group<'a>(&'a self, g: &'a OutGroup) -> BoxFuture<'a, Result<String, TargetError>>;
    /// Renames a group.
    fn update_group<'a>(
        &'a self,
        id: &'a str,
        g: &'a OutGroup,
    ) -> BoxFuture<'a, Result<(), TargetError>>;
    /// Deletes a group.
    fn delete_group<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), TargetError>>;

    /// Makes a user a member of a group, unless they already are; the membership's id (the
    /// user's id where the target has none). `new_user`: the user was created in this run,
    /// so no membership of theirs can exist yet.
    fn add_member<'a>(
        &'a self,
        group: &'a str,
        user: &'a str,
        new_user: bool,
    ) -> BoxFuture<'a, Result<String, TargetError>>;
    /// Ends a membership (by the id `add_member` returned).
    fn remove_member<'a>(
        &'a self,
        group: &'a str,
        user: &'a str,
        membership: &'a str,
    ) -> BoxFuture<'a, Result<(), TargetError>>;

    /// Every user, for reconciliation and for matching many new users at once.
    fn list_users(&self) -> BoxFuture<'_, Result<Vec<TargetUser>, TargetError>>;
    /// Every group.
    fn list_groups(&self) -> BoxFuture<'_, Result<Vec<TargetGroup>, TargetError>>;
    /// The members of a group: (user id, membership id).
    fn list_members<'a>(
        &'a self,
        group: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, TargetError>>;
}
