//! `trustplane-pim`'s [`CloudGrants`] port over IAM Identity Center account assignments
//! (`trustplane_aws::identity_center`) and Azure RBAC role assignments
//! (`trustplane_azure::rbac`), for just-in-time privileged access, and the revocation of IAM
//! role sessions (`trustplane_aws::role_sessions`) when an activation ends early.

use std::time::Duration;

use trustplane_aws::identity_center::{
    AccountAssignment, ConnectOptions, IdentityCenter, PrincipalType,
};
use trustplane_aws::role_sessions::{role_name, Revocation, RoleSessions};
use trustplane_azure::rbac::Rbac;
use trustplane_cloudops::{BoxFuture, ScanTarget};
use trustplane_pim::{CloudGrants, GrantCall, Holder, SessionRevocation};

use crate::azure_options;

/// How often the status of an account assignment request is asked for, and how many times.
const POLL_EVERY: Duration = Duration::from_millis(500);
const MAX_POLLS: u32 = 240;

/// Grants through the connected account's own credentials: the AWS connection's role (the
/// Identity Center administrator account) or the Azure connection's service principal.
#[derive(Debug, Default, Clone, Copy)]
pub struct Grants;

/// How to reach an AWS connection.
fn aws_options(connection: &ScanTarget) -> Option<ConnectOptions> {
    match connection {
        ScanTarget::Aws {
            role_arn,
            regions,
            endpoint_url,
            ..
        } => Some(ConnectOptions {
            endpoint_url: endpoint_url.clone(),
            region: regions
                .first()
                .cloned()
                .unwrap_or_else(|| "us-east-1".to_string()),
            role_arn: role_arn.clone(),
        }),
        ScanTarget::Azure { .. } => None,
    }
}

async fn identity_center(connection: &ScanTarget) -> Result<IdentityCenter, String> {
    let options = aws_options(connection)
        .ok_or("an Identity Center role needs an AWS connection, not an Azure one")?;
    Ok(IdentityCenter::connect(&options)
        .await
        .with_polling(POLL_EVERY, MAX_POLLS))
}

/// Puts (or lifts) a revocation of role sessions on its IAM role, in the connection's
/// account.
async fn role_sessions(
    connection: &ScanTarget,
    r: &SessionRevocation,
    way: Change,
) -> Result<(), String> {
    let options =
        aws_options(connection).ok_or("an AWS role needs an AWS connection, not an Azure one")?;
    if let ScanTarget::Aws { account_id, .. } = connection {
        if !r.role_arn.contains(&format!(":{account_id}:role/")) {
            return Err(format!(
                "{} is not in the connected account {account_id}",
                r.role_arn
            ));
        }
    }
    let role = role_name(&r.role_arn).ok_or_else(|| format!("{} is not a role ARN", r.role_arn))?;
    let iam = RoleSessions::connect(&options).await;
    match way {
        Change::Grant => {
            iam.revoke(
                role,
                &Revocation {
                    sid: r.sid.clone(),
                    session_names: r.session_names.clone(),
                    issued_before: r.issued_before,
                },
            )
            .await
        }
        Change::Revoke => iam.lift(role, &r.sid).await,
    }
    .map_err(|e| e.to_string())
}

fn rbac(connection: &ScanTarget) -> Result<Rbac, String> {
    let options = azure_options(connection)
        .ok_or("an Azure role needs an Azure connection, not an AWS one")?;
    Rbac::new(&options).map_err(|e| e.to_string())
}

fn assignment(call: &GrantCall) -> Option<AccountAssignment> {
    match call {
        GrantCall::AwsIdentityCenter {
            instance_arn,
            permission_set_arn,
            account_id,
            principal_id,
        } => Some(AccountAssignment {
            instance_arn: instance_arn.clone(),
            permission_set_arn: permission_set_arn.clone(),
            account_id: account_id.clone(),
            principal_type: PrincipalType::User,
            principal_id: principal_id.clone(),
        }),
        GrantCall::AzureRbac { .. } => None,
    }
}

/// Which way a grant changes.
#[derive(Clone, Copy)]
enum Change {
    Grant,
    Revoke,
}

/// Grants or takes back `call` through `connection`.
async fn change(connection: &ScanTarget, call: &GrantCall, way: Change) -> Result<(), String> {
    match call {
        GrantCall::AwsIdentityCenter { .. } => {
            let a = assignment(call).ok_or("not an Identity Center grant")?;
            let center = identity_center(connection).await?;
            match way {
                Change::Grant => center.assign(&a).await,
                Change::Revoke => center.unassign(&a).await,
            }
            .map_err(|e| e.to_string())
        }
        GrantCall::AzureRbac {
            scope,
            role_definition_id,
            principal_id,
        } => {
            let rbac = rbac(connection)?;
            match way {
                Change::Grant => rbac
                    .assign(scope, role_definition_id, principal_id)
                    .await
                    .map(|_| ()),
                Change::Revoke => rbac.unassign(scope, role_definition_id, principal_id).await,
            }
            .map_err(|e| e.to_string())
        }
    }
}

impl CloudGrants for Grants {
    fn grant<'a>(
        &'a self,
        connection: &'a ScanTarget,
        call: &'a GrantCall,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(change(connection, call, Change::Grant))
    }

    fn revoke<'a>(
        &'a self,
        connection: &'a ScanTarget,
        call: &'a GrantCall,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(change(connection, call, Change::Revoke))
    }

    fn revoke_sessions<'a>(
        &'a self,
        connection: &'a ScanTarget,
        revocation: &'a SessionRevocation,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(role_sessions(connection, revocation, Change::Grant))
    }

    fn lift_revocation<'a>(
        &'a self,
        connection: &'a ScanTarget,
        revocation: &'a SessionRevocation,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(role_sessions(connection, revocation, Change::Revoke))
    }

    fn holders<'a>(
        &'a self,
        connection: &'a ScanTarget,
        call: &'a GrantCall,
    ) -> BoxFuture<'a, Result<Vec<Holder>, String>> {
        Box::pin(async move {
            match call {
                GrantCall::AwsIdentityCenter {
                    instance_arn,
                    permission_set_arn,
                    account_id,
                    ..
                } => Ok(identity_center(connection)
                    .await?
                    .assignments(instance_arn, account_id, permission_set_arn)
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|a| Holder {
                        principal_id: a.principal_id,
                        principal_type: a.principal_type.as_str().to_string(),
                    })
                    .collect()),
                GrantCall::AzureRbac {
                    scope,
                    role_definition_id,
                    ..
                } => Ok(rbac(connection)?
                    .list(scope)
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    // Only assignments made at this scope: inherited ones are another
                    // scope's business.
                    .filter(|a| {
                        a.scope.eq_ignore_ascii_case(scope)
                            && role_guid(&a.role_definition_id) == role_guid(role_definition_id)
                    })
                    .map(|a| Holder {
                        principal_id: a.principal_id,
                        principal_type: a.principal_type.unwrap_or_default(),
                    })
                    .collect()),
            }
        })
    }
}

/// The GUID at the end of a role definition id (the same role is named under several
/// scopes).
fn role_guid(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).to_ascii_lowercase()
}
