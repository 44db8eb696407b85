//! Directory sources: Active Directory and LDAP directories imported into Trustplane's directory.
//!
//! Three steps, each testable on its own and none of them HTTP:
//! - [`settings`]: a connection's settings, validated with the bad field named;
//! - [`read`]: connect (LDAPS, StartTLS with a given CA, plain LDAP on loopback only), bind, and
//!   read users and groups with paged searches, in full or incrementally through `uSNChanged`;
//! - [`plan`]: compare what was read with what the directory holds for the connection and list
//!   the changes, under the safety rules (a failed read changes nothing, an empty read never
//!   deletes everyone, a large share of removals waits for confirmation, conflicts are reported
//!   per object and never merged).
//!
//! - [`passthrough`]: pass-through authentication, a password checked by a bind as the person;
//! - [`service`]: connections kept in the store (bind password sealed), runs that read, plan
//!   and apply the plan in one store transaction, or record why they changed nothing.

pub mod passthrough;
pub mod plan;
pub mod read;
pub mod service;
pub mod settings;

use serde::{Deserialize, Serialize};

pub use passthrough::{verify_password, Refusal, Verdict};
pub use plan::{plan, CurrentState, Plan, PlanRefused, SafetyPolicy};
pub use read::{
    read_directory, test_connection, ConnectionInfo, DirectoryRead, ReadError, ReadMode,
};
pub use service::{
    pass_through_enabled, DirectorySync, NewConnection, ServiceError, SyncReport, SyncRequest,
};
pub use settings::{ConnectionSettings, DirectoryType, SettingsError, Transport};

/// A user as the directory holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceUser {
    /// Immutable anchor: `objectGUID` (AD) or `entryUUID` (LDAP), lower-case text.
    pub anchor: String,
    /// The entry's DN (changes when the object moves).
    pub dn: String,
    /// Sign-in name: `userPrincipalName` (AD) or `mail` (LDAP).
    pub user_principal_name: String,
    /// `displayName`, else `cn`.
    pub display_name: String,
    /// `givenName`.
    pub given_name: Option<String>,
    /// `sn`.
    pub surname: Option<String>,
    /// `mail`.
    pub mail: Option<String>,
    /// `department` (AD) or `departmentNumber` (LDAP).
    pub department: Option<String>,
    /// `sAMAccountName` (AD) or `uid` (LDAP).
    pub sam_account_name: Option<String>,
    /// The manager's DN.
    pub manager_dn: Option<String>,
    /// False when `userAccountControl` has the disabled bit.
    pub enabled: bool,
}

/// A group as the directory holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceGroup {
    /// Immutable anchor.
    pub anchor: String,
    /// The entry's DN.
    pub dn: String,
    /// `cn`.
    pub display_name: String,
    /// `description`.
    pub description: Option<String>,
    /// `member` values: DNs of users and groups (nesting).
    pub member_dns: Vec<String>,
}

/// An entry that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectIssue {
    /// The entry's DN.
    pub dn: String,
    /// Its anchor, when it was read.
    pub anchor: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl ObjectIssue {
    pub(crate) fn new(dn: &str, anchor: Option<&str>, reason: impl Into<String>) -> Self {
        ObjectIssue {
            dn: dn.to_string(),
            anchor: anchor.map(str::to_string),
            reason: reason.into(),
        }
    }
}

pub use trustplane_store::{
    source_owned_user_fields, SOURCE_OWNED_GROUP_FIELDS, SOURCE_OWNED_USER_FIELDS,
};

/// Normalises a DN for comparison: lower case, no blanks around `,` and `=`.
pub fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    for (i, rdn) in dn.split(',').enumerate() {
        if i > 0 {
            out.push(',');
        }
        match rdn.split_once('=') {
            Some((k, v)) => {
                out.push_str(&k.trim().to_lowercase());
                out.push('=');
                out.push_str(&v.trim().to_lowercase());
            }
            None => out.push_str(&rdn.trim().to_lowercase()),
        }
    }
    out
}
