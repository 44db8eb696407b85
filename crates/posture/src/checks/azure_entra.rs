//! CIS Azure identity controls (3.0 section 2, 6.0 section 5) from Microsoft Graph and
//! Azure RBAC data.
//!
//! Inputs (account = tenant id for Graph data): `azure.entra.authorization_policy` (GET
//! /policies/authorizationPolicy), `azure.entra.security_defaults_policy` (GET
//! /policies/identitySecurityDefaultsEnforcementPolicy); per subscription
//! `azure.authorization.role_definition` and `azure.authorization.role_assignment`.

use serde_json::Value;

use super::identity::PRIVILEGED_ROLES;
use super::util::*;
use crate::finding::Severity;
use crate::inventory::{Provider, GLOBAL};
use crate::registry::{CheckCtx, CheckDef, Outcome};

const AUTHZ: &str = "azure.entra.authorization_policy";
/// Graph `reports/authenticationMethods/userRegistrationDetails` items.
const REG: &str = "azure.entra.user_registration_details";
/// Graph's "restricted guest user" role: guests see only their own directory objects.
const RESTRICTED_GUEST_ROLE: &str = "2af84b1e-32c8-42b7-82bc-daa82404023b";

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    vec![
        azure(
            "entra_policy_ensure_default_user_cannot_create_tenants",
            "Non-admin users cannot create tenants",
            Severity::Medium,
            &[AUTHZ],
            no_tenants,
        ),
        azure(
            "entra_policy_ensure_default_user_cannot_create_apps",
            "Users cannot register applications",
            Severity::Medium,
            &[AUTHZ],
            no_apps,
        ),
        azure(
            "entra_policy_guest_users_access_restrictions",
            "Guest access restricted to own objects",
            Severity::Medium,
            &[AUTHZ],
            guest_access,
        ),
        azure(
            "entra_policy_guest_invite_only_for_admin_roles",
            "Only admins (or guest inviters) invite guests",
            Severity::Medium,
            &[AUTHZ],
            guest_invite,
        ),
        azure(
            "entra_security_defaults_enabled",
            "Security defaults enabled",
            Severity::High,
            &["azure.entra.security_defaults_policy"],
            security_defaults,
        ),
        azure(
            "entra_privileged_user_has_mfa",
            "Administrators are registered for MFA",
            Severity::High,
            &[REG],
            admin_mfa,
        ),
        azure(
            "entra_non_privileged_user_has_mfa",
            "Users are registered for MFA",
            Severity::Medium,
            &[REG],
            user_mfa,
        ),
        azure(
            "iam_subscription_roles_owner_custom_not_created",
            "No custom subscription administrator roles",
            Severity::High,
            &["azure.authorization.role_definition"],
            custom_owner_roles,
        ),
        azure(
            "iam_role_user_access_admin_restricted",
            "No User Access Administrator assignments",
            Severity::High,
            &["azure.authorization.role_assignment"],
            uaa_restricted,
        ),
        azure(
            "iam_subscription_owner_count_2_to_3",
            "Two or three subscription owners",
            Severity::Medium,
            &["azure.authorization.role_assignment"],
            owner_count,
        ),
    ]
}

fn no_tenants<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        AUTHZ,
        "/defaultUserRolePermissions/allowedToCreateTenants",
        is_false,
        "users cannot create tenants",
        "users can create tenants",
    );
}

fn no_apps<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        AUTHZ,
        "/defaultUserRolePermissions/allowedToCreateApps",
        is_false,
        "users cannot register applications",
        "users can register applications",
    );
}

fn guest_access<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&Value>) -> bool {
        str_in(v, &[RESTRICTED_GUEST_ROLE])
    }
    prop_check(
        ctx,
        out,
        AUTHZ,
        "/guestUserRoleId",
        ok,
        "guests limited to their own objects",
        "guests can see other directory objects",
    );
}

fn guest_invite<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&Value>) -> bool {
        str_in(v, &["adminsAndGuestInviters", "none"])
    }
    prop_check(
        ctx,
        out,
        AUTHZ,
        "/allowInvitesFrom",
        ok,
        "only admins and guest inviters can invite",
        "too many users can invite guests",
    );
}

fn security_defaults<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        "azure.entra.security_defaults_policy",
        "/isEnabled",
        is_true,
        "security defaults enabled",
        "security defaults disabled",
    );
}

fn custom_owner_roles<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "azure.authorization.role_definition", out, |d| {
        let p = d.raw.get("properties")?;
        if !s(p, "/type").is_some_and(|t| t.eq_ignore_ascii_case("CustomRole")) {
            return None;
        }
        let scopes: Vec<&str> = arr(p, "/assignableScopes")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let sub_scope = scopes.iter().any(|sc| {
            *sc == "/" || sc.trim_end_matches('/').rsplit('/').nth(1) == Some("subscriptions")
        });
        let star = arr(p, "/permissions").iter().any(|perm| {
            arr(perm, "/actions")
                .iter()
                .any(|a| a.as_str() == Some("*"))
        });
        let bad = sub_scope && star;
        let msg = if bad {
            "custom role grants \"*\" at subscription scope"
        } else {
            "custom role is not a subscription administrator"
        };
        Some((
            pass_if(!bad),
            msg.into(),
            ev!({"roleName": s(p, "/roleName"), "assignableScopes": scopes, "actions_star": star}),
        ))
    });
}

fn role_guid(d: &crate::inventory::ResourceDoc) -> Option<String> {
    s(&d.raw, "/properties/roleDefinitionId")
        .map(|r| r.rsplit('/').next().unwrap_or(r).to_ascii_lowercase())
}

fn assignments_with_role<'a>(
    ctx: &CheckCtx<'a>,
    account: &str,
    guid: &str,
) -> Vec<&'a crate::inventory::ResourceDoc> {
    ctx.inventory
        .of_type("azure.authorization.role_assignment")
        .filter(|d| d.account == account && role_guid(d).as_deref() == Some(guid))
        .collect()
}

fn uaa_restricted<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let uaa = PRIVILEGED_ROLES[2].0;
    for sub in collected_accounts(ctx, Provider::Azure, "azure.authorization.role_assignment") {
        let found: Vec<&str> = assignments_with_role(ctx, &sub, uaa)
            .into_iter()
            .filter_map(|d| s(&d.raw, "/properties/principalId"))
            .collect();
        let msg = if found.is_empty() {
            "no User Access Administrator assignment"
        } else {
            "User Access Administrator is assigned"
        };
        out.push(scope_outcome(
            Provider::Azure,
            &sub,
            GLOBAL,
            pass_if(found.is_empty()),
            msg,
            ev!({"principals": found}),
        ));
    }
}

fn owner_count<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let owner = PRIVILEGED_ROLES[0].0;
    for sub in collected_accounts(ctx, Provider::Azure, "azure.authorization.role_assignment") {
        let scope = format!("/subscriptions/{}", sub.to_ascii_lowercase());
        let mut owners: Vec<&str> = assignments_with_role(ctx, &sub, owner)
            .into_iter()
            .filter(|d| {
                s(&d.raw, "/properties/scope")
                    .is_some_and(|sc| sc.trim_end_matches('/').eq_ignore_ascii_case(&scope))
            })
            .filter_map(|d| s(&d.raw, "/properties/principalId"))
            .collect();
        owners.sort();
        owners.dedup();
        let ok = (2..=3).contains(&owners.len());
        let msg = format!("{} subscription owners", owners.len());
        out.push(scope_outcome(
            Provider::Azure,
            &sub,
            GLOBAL,
            pass_if(ok),
            msg,
            ev!({"owners": owners}),
        ));
    }
}

fn mfa_registered<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>, admins: bool) {
    per_doc(ctx, REG, out, |d| {
        if b(&d.raw, "/isAdmin").unwrap_or(false) != admins {
            return None;
        }
        let mfa = b(&d.raw, "/isMfaRegistered").unwrap_or(false);
        let msg = if mfa {
            "registered for MFA"
        } else {
            "not registered for MFA"
        };
        Some((
            pass_if(mfa),
            msg.into(),
            ev!({"userPrincipalName": s(&d.raw, "/userPrincipalName"), "isAdmin": admins, "isMfaRegistered": mfa}),
        ))
    });
}

fn admin_mfa<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    mfa_registered(ctx, out, true);
}

fn user_mfa<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    mfa_registered(ctx, out, false);
}
