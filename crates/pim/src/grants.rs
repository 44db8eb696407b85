//! The port privileged access grants cloud roles through.

use trustplane_cloudops::{BoxFuture, ScanTarget};

/// A privileged role's grant in a cloud, for one principal of that cloud.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum GrantCall {
    /// An IAM Identity Center account assignment of a permission set to a user.
    #[serde(rename_all = "camelCase")]
    AwsIdentityCenter {
        /// The Identity Center instance.
        instance_arn: String,
        /// The permission set.
        permission_set_arn: String,
        /// The account it is assigned on.
        account_id: String,
        /// The Identity Store user id.
        principal_id: String,
    },
    /// An Azure RBAC role assignment.
    #[serde(rename_all = "camelCase")]
    AzureRbac {
        /// Where the role applies.
        scope: String,
        /// The role definition's Resource Manager id.
        role_definition_id: String,
        /// The Entra object id.
        principal_id: String,
    },
}

/// The sessions of one person on an AWS IAM role issued before a time, to be denied (an
/// activation granting the role ended early: the console sessions it gave may still be
/// alive).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRevocation {
    /// `arn:aws:iam::<account>:role/<name>`.
    pub role_arn: String,
    /// What identifies this revocation on the role (letters and digits).
    pub sid: String,
    /// The person's role session names.
    pub session_names: Vec<String>,
    /// Sessions issued before this Unix time (seconds) are denied.
    pub issued_before: i64,
}

/// Who holds a cloud role, as reconciliation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The cloud principal id.
    pub principal_id: String,
    /// `USER`, `GROUP`, `User`, `ServicePrincipal`... as the cloud says.
    pub principal_type: String,
}

/// Grants and removes privileged roles in the clouds. Both directions are idempotent: a
/// grant that exists already and a removal of one that is gone succeed.
pub trait CloudGrants: Send + Sync {
    /// Grants `call` through `connection`; returns when the cloud confirms it, or `Err` with
    /// the cloud's reason when it refused.
    fn grant<'a>(
        &'a self,
        connection: &'a ScanTarget,
        call: &'a GrantCall,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Removes `call`'s grant; returns when the cloud confirms it.
    fn revoke<'a>(
        &'a self,
        connection: &'a ScanTarget,
        call: &'a GrantCall,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Everyone holding the role of `call` (its principal is ignored).
    fn holders<'a>(
        &'a self,
        connection: &'a ScanTarget,
        call: &'a GrantCall,
    ) -> BoxFuture<'a, Result<Vec<Holder>, String>>;

    /// Denies the sessions `revocation` names on its IAM role, through `connection` (the
    /// role's account); returns when IAM confirms it. Idempotent.
    fn revoke_sessions<'a>(
        &'a self,
        connection: &'a ScanTarget,
        revocation: &'a SessionRevocation,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Takes `revocation` off its role again (once no session it denies can be alive).
    /// Idempotent.
    fn lift_revocation<'a>(
        &'a self,
        connection: &'a ScanTarget,
        revocation: &'a SessionRevocation,
    ) -> BoxFuture<'a, Result<(), String>>;
}
