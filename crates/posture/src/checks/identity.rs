//! Identity-aware checks that tie the clouds back to Trustplane's directory: long-lived IAM
//! credentials in accounts federated through Trustplane, roles trusting another SAML
//! provider, permanent privileged Azure role assignments, and cloud identities that map to no
//! Trustplane user. They answer no CIS requirement; their ids start with `trustplane_`.
//!
//! Extra inputs: `aws.iam.role` (`AssumeRolePolicyDocument` as an object or URL-encoded
//! string), `azure.authorization.role_assignment` (a roleAssignments item),
//! `azure.authorization.role_assignment_schedule_instance` (a roleAssignmentScheduleInstances
//! item: `assignmentType` Activated/Assigned, `endDateTime`), `azure.entra.user` (a Graph user).

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::aws_iam::policy_document;
use super::util::*;
use crate::finding::{Severity, Status};
use crate::inventory::{Provider, ResourceDoc};
use crate::registry::{AssessOptions, CheckCtx, CheckDef, Outcome};

/// Owner, Contributor and User Access Administrator role definition GUIDs (built-in roles,
/// the same in every tenant).
pub const PRIVILEGED_ROLES: [(&str, &str); 3] = [
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    (
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "User Access Administrator",
    ),
];

const REPORT: &str = "aws.iam.credential_report_row";

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    vec![
        CheckDef {
            id: "trustplane_federated_account_user_console_password",
            title: "No IAM console passwords in accounts federated through Trustplane",
            provider: Provider::Aws,
            severity: Severity::High,
            needs: &[REPORT],
            run: fed_password,
            applies: Some(federated_account),
        },
        CheckDef {
            id: "trustplane_federated_account_user_access_keys",
            title: "No long-lived IAM access keys in accounts federated through Trustplane",
            provider: Provider::Aws,
            severity: Severity::High,
            needs: &[REPORT],
            run: fed_keys,
            applies: Some(federated_account),
        },
        CheckDef {
            id: "trustplane_role_trusts_foreign_saml_provider",
            title: "Roles trust only Trustplane's SAML provider",
            provider: Provider::Aws,
            severity: Severity::High,
            needs: &["aws.iam.role"],
            run: foreign_saml,
            applies: None,
        },
        CheckDef {
            id: "trustplane_azure_permanent_privileged_assignment",
            title: "Owner / Contributor / User Access Administrator are eligible, not permanent",
            provider: Provider::Azure,
            severity: Severity::High,
            needs: &[
                "azure.authorization.role_assignment",
                "azure.authorization.role_assignment_schedule_instance",
            ],
            run: permanent_privileged,
            applies: None,
        },
        CheckDef {
            id: "trustplane_aws_identity_unmapped",
            title: "Every IAM user maps to a Trustplane user",
            provider: Provider::Aws,
            severity: Severity::Medium,
            needs: &["aws.iam.user"],
            run: aws_unmapped,
            applies: None,
        },
        CheckDef {
            id: "trustplane_azure_identity_unmapped",
            title: "Every Entra ID user maps to a Trustplane user",
            provider: Provider::Azure,
            severity: Severity::Medium,
            needs: &["azure.entra.user"],
            run: azure_unmapped,
            applies: None,
        },
    ]
}

/// The federated-account checks apply only to accounts federated through Trustplane.
fn federated_account(options: &AssessOptions, account: &str) -> bool {
    options.federated_accounts.iter().any(|a| a == account)
}

fn federated<'a>(ctx: &CheckCtx<'a>) -> impl Iterator<Item = &'a ResourceDoc> + 'a {
    let accounts = &ctx.options.federated_accounts;
    ctx.inventory
        .of_type(REPORT)
        .filter(move |d| accounts.contains(&d.account))
        .filter(|d| s(&d.raw, "/user") != Some("<root_account>"))
}

fn fed_password<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for d in federated(ctx) {
        let pw = b(&d.raw, "/password_enabled").unwrap_or(false);
        let msg = if pw {
            "IAM user has a console password in a federated account"
        } else {
            "no console password"
        };
        out.push(doc_outcome(
            d,
            pass_if(!pw),
            msg,
            ev!({"password_enabled": pw, "federated_through": "trustplane"}),
        ));
    }
}

fn fed_keys<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for d in federated(ctx) {
        let keys: Vec<u8> = [1u8, 2]
            .into_iter()
            .filter(|n| b(&d.raw, &format!("/access_key_{n}_active")) == Some(true))
            .collect();
        let msg = if keys.is_empty() {
            "no active access keys"
        } else {
            "IAM user has active access keys in a federated account"
        };
        out.push(doc_outcome(
            d,
            pass_if(keys.is_empty()),
            msg,
            ev!({"active_keys": keys, "federated_through": "trustplane"}),
        ));
    }
}

/// SAML provider ARNs a trust policy allows to assume the role.
pub fn trusted_saml_providers(trust: &Value) -> Vec<String> {
    let mut v = Vec::new();
    for st in one_or_many(trust.get("Statement")) {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        for p in one_or_many(st.at("/Principal/Federated")) {
            if let Some(arn) = p.as_str().filter(|a| a.contains(":saml-provider/")) {
                v.push(arn.to_string());
            }
        }
    }
    v.sort();
    v.dedup();
    v
}

fn foreign_saml<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let ours = &ctx.options.trustplane_saml_providers;
    per_doc(ctx, "aws.iam.role", out, |d| {
        let trust = policy_document(d.raw.get("AssumeRolePolicyDocument"))?;
        let providers = trusted_saml_providers(&trust);
        if providers.is_empty() {
            return None;
        }
        let foreign: Vec<&String> = providers.iter().filter(|p| !ours.contains(p)).collect();
        let msg = if foreign.is_empty() {
            "role trusts only Trustplane's SAML provider"
        } else {
            "role trusts a SAML provider other than Trustplane's"
        };
        Some((
            pass_if(foreign.is_empty()),
            msg.into(),
            ev!({"saml_providers": providers, "foreign": foreign}),
        ))
    });
}

fn last_segment(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).to_ascii_lowercase()
}

fn permanent_privileged<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    // (principal, role guid, scope) -> schedule instance properties
    let mut schedules: HashMap<(String, String, String), &Value> = HashMap::new();
    for d in ctx
        .inventory
        .of_type("azure.authorization.role_assignment_schedule_instance")
    {
        let p = d.raw.get("properties").unwrap_or(&Value::Null);
        let key = (
            s(p, "/principalId").unwrap_or("").to_ascii_lowercase(),
            last_segment(s(p, "/roleDefinitionId").unwrap_or("")),
            s(p, "/scope").unwrap_or("").to_ascii_lowercase(),
        );
        schedules.insert(key, p);
    }
    per_doc(ctx, "azure.authorization.role_assignment", out, |d| {
        let p = d.raw.get("properties")?;
        let guid = last_segment(s(p, "/roleDefinitionId")?);
        let role = PRIVILEGED_ROLES.iter().find(|(g, _)| *g == guid)?.1;
        let principal = s(p, "/principalId").unwrap_or("");
        let scope = s(p, "/scope").unwrap_or("");
        let key = (
            principal.to_ascii_lowercase(),
            guid.clone(),
            scope.to_ascii_lowercase(),
        );
        let sched = schedules.get(&key);
        let assignment_type = sched.and_then(|x| s(x, "/assignmentType"));
        let end = sched.and_then(|x| s(x, "/endDateTime"));
        let (status, msg) = if assignment_type == Some("Activated") {
            (
                Status::Pass,
                format!("{role} is active through an eligible (PIM) activation"),
            )
        } else if end.is_some() {
            (Status::Pass, format!("{role} assignment is time-bound"))
        } else {
            (Status::Fail, format!("{role} assignment is permanent"))
        };
        Some((
            status,
            msg.into(),
            ev!({
                "role": role, "principalId": principal, "principalType": s(p, "/principalType"),
                "scope": scope, "assignmentType": assignment_type, "endDateTime": end,
            }),
        ))
    });
}

fn known(ctx: &CheckCtx<'_>) -> Option<BTreeSet<String>> {
    ctx.options
        .known_identities
        .as_ref()
        .map(|v| v.iter().map(|x| x.trim().to_lowercase()).collect())
}

fn aws_unmapped<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let Some(known) = known(ctx) else { return };
    per_doc(ctx, "aws.iam.user", out, |d| {
        let name = s(&d.raw, "/UserName").unwrap_or(&d.name);
        let mut candidates = vec![name.to_lowercase()];
        for t in arr(&d.raw, "/Tags") {
            let k = s(t, "/Key").unwrap_or("").to_ascii_lowercase();
            if matches!(k.as_str(), "email" | "mail" | "upn" | "trustplane:user") {
                if let Some(v) = s(t, "/Value") {
                    candidates.push(v.to_lowercase());
                }
            }
        }
        let hit = candidates.iter().find(|c| known.contains(*c)).cloned();
        let msg = if hit.is_some() {
            "maps to a Trustplane user"
        } else {
            "maps to no Trustplane user"
        };
        Some((
            pass_if(hit.is_some()),
            msg.into(),
            ev!({"candidates": candidates, "matched": hit}),
        ))
    });
}

fn azure_unmapped<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let Some(known) = known(ctx) else { return };
    per_doc(ctx, "azure.entra.user", out, |d| {
        let candidates: Vec<String> = ["/userPrincipalName", "/mail"]
            .iter()
            .filter_map(|p| s(&d.raw, p))
            .map(str::to_lowercase)
            .collect();
        let hit = candidates.iter().find(|c| known.contains(*c)).cloned();
        let msg = if hit.is_some() {
            "maps to a Trustplane user"
        } else {
            "maps to no Trustplane user"
        };
        Some((
            pass_if(hit.is_some()),
            msg.into(),
            ev!({"candidates": candidates, "matched": hit}),
        ))
    });
}
