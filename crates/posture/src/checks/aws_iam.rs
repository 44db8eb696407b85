//! CIS AWS IAM controls (3.0 section 1, 7.0 section 2).
//!
//! Inputs: `aws.iam.credential_report_row` (one row of GetCredentialReport as an object keyed
//! by the CSV header, values as strings), `aws.iam.password_policy`
//! (`{"PasswordPolicy": {..} | null}`), `aws.iam.virtual_mfa_devices`
//! (`{"VirtualMFADevices": [..]}`), `aws.iam.user`, `aws.iam.role`, `aws.iam.policy`,
//! `aws.iam.server_certificate`, `aws.accessanalyzer.analyzers` (`{"analyzers": [..]}` per
//! region).

use serde_json::{json, Value};

use super::util::*;
use crate::finding::{Severity, Status};
use crate::inventory::Provider;
use crate::registry::{CheckCtx, CheckDef, Outcome};

const REPORT: &str = "aws.iam.credential_report_row";
const SUMMARY: &str = "aws.iam.account_summary";
const ROOT: &str = "<root_account>";
/// Root activity more recent than this is a finding (CIS 1.7 asks for "no recent use").
pub const ROOT_USAGE_DAYS: i64 = 90;
/// CIS 1.12: credentials unused for 45 days or more.
pub const UNUSED_DAYS: i64 = 45;
/// CIS 1.14: keys older than 90 days.
pub const ROTATION_DAYS: i64 = 90;

const fn def(
    id: &'static str,
    title: &'static str,
    severity: Severity,
    needs: &'static [&'static str],
    run: crate::registry::CheckFn,
) -> CheckDef {
    CheckDef {
        id,
        title,
        provider: Provider::Aws,
        severity,
        needs,
        run,
        applies: None,
    }
}

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    vec![
        def(
            "iam_no_root_access_key",
            "Root user has no access keys",
            Severity::Critical,
            &[REPORT],
            root_access_key,
        ),
        def(
            "iam_root_mfa_enabled",
            "Root user has MFA",
            Severity::Critical,
            &[REPORT],
            root_mfa,
        ),
        def(
            "iam_root_hardware_mfa_enabled",
            "Root user has hardware MFA",
            Severity::Critical,
            &[REPORT, "aws.iam.virtual_mfa_devices"],
            root_hw_mfa,
        ),
        def(
            "iam_avoid_root_usage",
            "Root user not used recently",
            Severity::High,
            &[REPORT],
            root_usage,
        ),
        def(
            "iam_password_policy_minimum_length_14",
            "Password policy length >= 14",
            Severity::Medium,
            &["aws.iam.password_policy"],
            pw_length,
        ),
        def(
            "iam_password_policy_reuse_24",
            "Password policy prevents reuse of 24",
            Severity::Medium,
            &["aws.iam.password_policy"],
            pw_reuse,
        ),
        def(
            "iam_user_mfa_enabled_console_access",
            "Console users have MFA",
            Severity::High,
            &[REPORT],
            user_mfa,
        ),
        def(
            "iam_user_no_setup_initial_access_key",
            "No unused access keys created with the user",
            Severity::Medium,
            &[REPORT],
            initial_key,
        ),
        def(
            "iam_user_console_access_unused",
            "Console passwords unused 45 days are disabled",
            Severity::Medium,
            &[REPORT],
            console_unused,
        ),
        def(
            "iam_user_accesskey_unused",
            "Access keys unused 45 days are disabled",
            Severity::Medium,
            &[REPORT],
            key_unused,
        ),
        def(
            "iam_user_two_active_access_key",
            "At most one active access key per user",
            Severity::Medium,
            &[REPORT],
            two_keys,
        ),
        def(
            "iam_rotate_access_key_90_days",
            "Active access keys rotated within 90 days",
            Severity::Medium,
            &[REPORT],
            key_rotation,
        ),
        def(
            "iam_policy_attached_only_to_group_or_roles",
            "Users get permissions only through groups",
            Severity::Low,
            &["aws.iam.user"],
            user_policies,
        ),
        def(
            "iam_aws_attached_policy_no_administrative_privileges",
            "No attached AWS-managed policy allows *:*",
            Severity::High,
            &["aws.iam.policy"],
            aws_admin_policy,
        ),
        def(
            "iam_customer_attached_policy_no_administrative_privileges",
            "No attached customer policy allows *:*",
            Severity::High,
            &["aws.iam.policy"],
            customer_admin_policy,
        ),
        def(
            "iam_support_role_created",
            "A role has AWSSupportAccess",
            Severity::Medium,
            &["aws.iam.role", "aws.iam.policy"],
            support_role,
        ),
        def(
            "iam_no_expired_server_certificates_stored",
            "No expired IAM server certificates",
            Severity::Medium,
            &["aws.iam.server_certificate"],
            expired_certs,
        ),
        def(
            "accessanalyzer_enabled",
            "IAM Access Analyzer active in every region",
            Severity::Low,
            &["aws.accessanalyzer.analyzers"],
            access_analyzer,
        ),
    ]
}

fn root_rows<'a>(
    ctx: &CheckCtx<'a>,
) -> impl Iterator<Item = &'a crate::inventory::ResourceDoc> + 'a {
    ctx.inventory
        .of_type(REPORT)
        .filter(|d| s(&d.raw, "/user") == Some(ROOT))
}

fn user_rows<'a>(
    ctx: &CheckCtx<'a>,
) -> impl Iterator<Item = &'a crate::inventory::ResourceDoc> + 'a {
    ctx.inventory
        .of_type(REPORT)
        .filter(|d| s(&d.raw, "/user") != Some(ROOT))
}

/// Accounts whose credential report was collected but has no root row.
fn accounts_without_root_row(ctx: &CheckCtx<'_>) -> Vec<String> {
    let have: std::collections::BTreeSet<&str> =
        root_rows(ctx).map(|d| d.account.as_str()).collect();
    collected_accounts(ctx, Provider::Aws, REPORT)
        .into_iter()
        .filter(|a| !have.contains(a.as_str()))
        .collect()
}

/// Accounts whose credential report was collected but has no root row: an ERROR, never a
/// silent omission.
fn missing_root<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for a in accounts_without_root_row(ctx) {
        out.push(missing_root_outcome(&a));
    }
}

fn missing_root_outcome<'a>(account: &str) -> Outcome<'a> {
    missing(
        Provider::Aws,
        account,
        crate::inventory::GLOBAL,
        "aws.iam.credential_report_row (root)",
    )
}

/// A flag of IAM GetAccountSummary's `SummaryMap` (0 or 1) for one account.
fn summary_flag(ctx: &CheckCtx<'_>, account: &str, key: &str) -> Option<i64> {
    ctx.inventory
        .of_type(SUMMARY)
        .find(|d| d.account == account)
        .and_then(|d| i(&d.raw, &format!("/SummaryMap/{key}")))
}

/// For accounts whose credential report has no root row (some emulators and partitions
/// leave it out), decides from GetAccountSummary instead; without a summary either, an
/// ERROR. `decide` gets the account and returns `None` when its inputs are missing.
fn root_from_summary<'a>(
    ctx: &CheckCtx<'a>,
    out: &mut Vec<Outcome<'a>>,
    decide: impl Fn(&str) -> Option<(Status, &'static str, crate::finding::Evidence)>,
) {
    for a in accounts_without_root_row(ctx) {
        match decide(&a) {
            Some((st, msg, evidence)) => out.push(scope_outcome(
                Provider::Aws,
                &a,
                crate::inventory::GLOBAL,
                st,
                msg,
                evidence,
            )),
            None => out.push(missing_root_outcome(&a)),
        }
    }
}

fn root_access_key<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for d in root_rows(ctx) {
        let k1 = b(&d.raw, "/access_key_1_active").unwrap_or(false);
        let k2 = b(&d.raw, "/access_key_2_active").unwrap_or(false);
        let st = pass_if(!k1 && !k2);
        let msg = if st == Status::Pass {
            "root user has no active access keys"
        } else {
            "root user has an active access key"
        };
        out.push(doc_outcome(
            d,
            st,
            msg,
            ev!({"access_key_1_active": k1, "access_key_2_active": k2}),
        ));
    }
    root_from_summary(ctx, out, |a| {
        let present = summary_flag(ctx, a, "AccountAccessKeysPresent")?;
        let msg = if present == 0 {
            "root user has no access keys (account summary)"
        } else {
            "root user has an access key (account summary)"
        };
        Some((
            pass_if(present == 0),
            msg,
            ev!({"source": "GetAccountSummary", "AccountAccessKeysPresent": present}),
        ))
    });
}

fn root_mfa<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for d in root_rows(ctx) {
        let mfa = b(&d.raw, "/mfa_active").unwrap_or(false);
        let msg = if mfa {
            "root user has MFA"
        } else {
            "root user has no MFA"
        };
        out.push(doc_outcome(d, pass_if(mfa), msg, ev!({"mfa_active": mfa})));
    }
    root_from_summary(ctx, out, |a| {
        let enabled = summary_flag(ctx, a, "AccountMFAEnabled")?;
        let msg = if enabled == 1 {
            "root user has MFA (account summary)"
        } else {
            "root user has no MFA (account summary)"
        };
        Some((
            pass_if(enabled == 1),
            msg,
            ev!({"source": "GetAccountSummary", "AccountMFAEnabled": enabled}),
        ))
    });
}

/// Serial numbers of the virtual MFA devices assigned to the root user of an account, or
/// `None` when the account's device list was not collected.
fn virtual_root_devices<'a>(ctx: &CheckCtx<'a>, account: &str) -> Option<Vec<&'a str>> {
    let devices = ctx
        .inventory
        .of_type("aws.iam.virtual_mfa_devices")
        .find(|v| v.account == account)?;
    // The root user's virtual device is assigned to the account's root ARN.
    Some(
        arr(&devices.raw, "/VirtualMFADevices")
            .iter()
            .filter(|v| {
                s(v, "/User/Arn").is_some_and(|a| a.ends_with(":root"))
                    || s(v, "/SerialNumber").is_some_and(|n| n.ends_with("root-account-mfa-device"))
            })
            .filter_map(|v| s(v, "/SerialNumber"))
            .collect(),
    )
}

fn hw_mfa_message(mfa: bool, virtual_root: &[&str]) -> &'static str {
    if !mfa {
        "root user has no MFA"
    } else if !virtual_root.is_empty() {
        "root user's MFA is a virtual device"
    } else {
        "root user has a hardware MFA device"
    }
}

fn root_hw_mfa<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for d in root_rows(ctx) {
        let mfa = b(&d.raw, "/mfa_active").unwrap_or(false);
        let Some(virtual_root) = virtual_root_devices(ctx, &d.account) else {
            out.push(missing(
                Provider::Aws,
                &d.account,
                crate::inventory::GLOBAL,
                "aws.iam.virtual_mfa_devices",
            ));
            continue;
        };
        let st = pass_if(mfa && virtual_root.is_empty());
        out.push(doc_outcome(
            d,
            st,
            hw_mfa_message(mfa, &virtual_root),
            ev!({"mfa_active": mfa, "virtual_root_devices": virtual_root}),
        ));
    }
    root_from_summary(ctx, out, |a| {
        let mfa = summary_flag(ctx, a, "AccountMFAEnabled")? == 1;
        let virtual_root = virtual_root_devices(ctx, a)?;
        Some((
            pass_if(mfa && virtual_root.is_empty()),
            hw_mfa_message(mfa, &virtual_root),
            ev!({"source": "GetAccountSummary", "AccountMFAEnabled": mfa, "virtual_root_devices": virtual_root}),
        ))
    });
}

fn root_usage<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for d in root_rows(ctx) {
        let mut recent = Vec::new();
        for f in [
            "password_last_used",
            "access_key_1_last_used_date",
            "access_key_2_last_used_date",
        ] {
            if let Some(age) = age_days(ctx, &d.raw, &format!("/{f}")) {
                if age < ROOT_USAGE_DAYS {
                    recent.push(json!({"field": f, "days_ago": age}));
                }
            }
        }
        let st = pass_if(recent.is_empty());
        let msg = if recent.is_empty() {
            format!("root user not used in the last {ROOT_USAGE_DAYS} days")
        } else {
            format!("root user used in the last {ROOT_USAGE_DAYS} days")
        };
        out.push(doc_outcome(d, st, msg, ev!({"recent_use": recent})));
    }
    missing_root(ctx, out);
}

fn pw_length<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_account_singleton(ctx, Provider::Aws, "aws.iam.password_policy", out, |d| {
        let len = i(&d.raw, "/PasswordPolicy/MinimumPasswordLength");
        let ok = len.is_some_and(|l| l >= 14);
        let msg = match len {
            None => "no password policy".to_string(),
            Some(l) => format!("minimum password length is {l}"),
        };
        (pass_if(ok), msg.into(), ev!({"MinimumPasswordLength": len}))
    });
}

fn pw_reuse<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_account_singleton(ctx, Provider::Aws, "aws.iam.password_policy", out, |d| {
        let n = i(&d.raw, "/PasswordPolicy/PasswordReusePrevention");
        let ok = n.is_some_and(|l| l >= 24);
        let msg = match n {
            None => "password reuse prevention not set".to_string(),
            Some(l) => format!("password reuse prevention remembers {l} passwords"),
        };
        (pass_if(ok), msg.into(), ev!({"PasswordReusePrevention": n}))
    });
}

fn user_mfa<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for d in user_rows(ctx) {
        if b(&d.raw, "/password_enabled") != Some(true) {
            continue;
        }
        let mfa = b(&d.raw, "/mfa_active").unwrap_or(false);
        let msg = if mfa {
            "console user has MFA"
        } else {
            "console user has no MFA"
        };
        out.push(doc_outcome(
            d,
            pass_if(mfa),
            msg,
            ev!({"password_enabled": true, "mfa_active": mfa}),
        ));
    }
}

fn active_keys(v: &Value) -> Vec<u8> {
    [1u8, 2]
        .into_iter()
        .filter(|n| b(v, &format!("/access_key_{n}_active")) == Some(true))
        .collect()
}

/// CIS 1.11 is about console users only: one with no access key complies, one whose
/// active key was never used does not; users without console access are not in scope.
///
/// Console access comes from the live login profile on the user document when the
/// collector recorded one (`LoginProfile`, an object or null), else from the credential
/// report's `password_enabled`, which AWS may have generated hours earlier.
fn initial_key<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    // One map per run: a report row per user must not scan every user document.
    let profiles: std::collections::HashMap<(&str, &str), bool> = ctx
        .inventory
        .of_type("aws.iam.user")
        .filter_map(|u| {
            let p = u.raw.get("LoginProfile")?;
            Some(((u.account.as_str(), u.id.as_str()), !p.is_null()))
        })
        .collect();
    for d in user_rows(ctx) {
        let console = profiles
            .get(&(d.account.as_str(), d.id.as_str()))
            .copied()
            .unwrap_or_else(|| b(&d.raw, "/password_enabled") == Some(true));
        if !console {
            continue;
        }
        let keys = active_keys(&d.raw);
        let never_used: Vec<u8> = keys
            .iter()
            .copied()
            .filter(|n| age_days(ctx, &d.raw, &format!("/access_key_{n}_last_used_date")).is_none())
            .collect();
        let st = pass_if(never_used.is_empty());
        let msg = if keys.is_empty() {
            "console user has no access keys"
        } else if never_used.is_empty() {
            "console user's access keys have been used"
        } else {
            "console user has an active access key that was never used"
        };
        out.push(doc_outcome(
            d,
            st,
            msg,
            ev!({"console_access": true, "active_keys": keys, "never_used_keys": never_used}),
        ));
    }
}

fn console_unused<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for d in user_rows(ctx) {
        if b(&d.raw, "/password_enabled") != Some(true) {
            continue;
        }
        // Never used: the password counts from when the user was created.
        let (field, age) = match age_days(ctx, &d.raw, "/password_last_used") {
            Some(a) => ("password_last_used", a),
            None => (
                "user_creation_time",
                age_days(ctx, &d.raw, "/user_creation_time").unwrap_or(i64::MAX),
            ),
        };
        let st = pass_if(age < UNUSED_DAYS);
        let msg = if st == Status::Pass {
            format!("console password used {age} days ago")
        } else {
            format!("console password unused for {UNUSED_DAYS} days or more")
        };
        out.push(doc_outcome(
            d,
            st,
            msg,
            ev!({"age_from": field, "days": age}),
        ));
    }
}

fn key_unused<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for d in user_rows(ctx) {
        let keys = active_keys(&d.raw);
        if keys.is_empty() {
            continue;
        }
        let mut stale = Vec::new();
        for n in &keys {
            let age = age_days(ctx, &d.raw, &format!("/access_key_{n}_last_used_date"))
                .or_else(|| age_days(ctx, &d.raw, &format!("/access_key_{n}_last_rotated")))
                .unwrap_or(i64::MAX);
            if age >= UNUSED_DAYS {
                stale.push(json!({"key": n, "days_unused": age}));
            }
        }
        let st = pass_if(stale.is_empty());
        let msg = if stale.is_empty() {
            "active access keys are in use"
        } else {
            "active access key unused for 45 days or more"
        };
        out.push(doc_outcome(
            d,
            st,
            msg,
            ev!({"active_keys": keys, "stale": stale}),
        ));
    }
}

fn two_keys<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for d in user_rows(ctx) {
        let keys = active_keys(&d.raw);
        if keys.is_empty() {
            continue;
        }
        let st = pass_if(keys.len() < 2);
        let msg = if keys.len() < 2 {
            "one active access key"
        } else {
            "two active access keys"
        };
        out.push(doc_outcome(d, st, msg, ev!({"active_keys": keys})));
    }
}

fn key_rotation<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for d in user_rows(ctx) {
        let keys = active_keys(&d.raw);
        if keys.is_empty() {
            continue;
        }
        let mut old = Vec::new();
        for n in &keys {
            let age =
                age_days(ctx, &d.raw, &format!("/access_key_{n}_last_rotated")).unwrap_or(i64::MAX);
            if age > ROTATION_DAYS {
                old.push(json!({"key": n, "days_since_rotation": age}));
            }
        }
        let st = pass_if(old.is_empty());
        let msg = if old.is_empty() {
            "active access keys rotated within 90 days"
        } else {
            "active access key older than 90 days"
        };
        out.push(doc_outcome(d, st, msg, ev!({"not_rotated": old})));
    }
}

fn user_policies<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "aws.iam.user", out, |d| {
        let attached: Vec<&str> = arr(&d.raw, "/AttachedPolicies")
            .iter()
            .filter_map(|p| s(p, "/PolicyArn").or_else(|| s(p, "/PolicyName")))
            .collect();
        let inline: Vec<&str> = arr(&d.raw, "/UserPolicyNames")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let ok = attached.is_empty() && inline.is_empty();
        let msg = if ok {
            "no policies attached to the user"
        } else {
            "policies attached directly to the user"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"attached": attached, "inline": inline}),
        ))
    });
}

/// Decodes a policy document that may be an object, a JSON string, or a URL-encoded JSON
/// string (as IAM returns it).
pub fn policy_document(v: Option<&Value>) -> Option<Value> {
    match v? {
        Value::Object(_) => v.cloned(),
        Value::String(text) => {
            let decoded = if text.trim_start().starts_with('{') {
                text.clone()
            } else {
                percent_decode(text)
            };
            serde_json::from_str(&decoded).ok()
        }
        _ => None,
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut n = 0;
    while n < bytes.len() {
        let c = bytes[n];
        if c == b'%' && n + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[n + 1..n + 3]).ok();
            if let Some(x) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(x);
                n += 3;
                continue;
            }
        }
        out.push(if c == b'+' { b' ' } else { c });
        n += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a policy has an `Allow` statement with action `*` on resource `*`.
pub fn allows_full_admin(doc: &Value) -> bool {
    one_or_many(doc.get("Statement")).into_iter().any(|st| {
        st.get("Effect").and_then(Value::as_str) == Some("Allow")
            && one_or_many(st.get("Action"))
                .iter()
                .any(|a| a.as_str() == Some("*"))
            && one_or_many(st.get("Resource"))
                .iter()
                .any(|r| r.as_str() == Some("*"))
    })
}

fn admin_policy<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>, aws_managed: bool) {
    per_doc(ctx, "aws.iam.policy", out, |d| {
        let arn = s(&d.raw, "/Arn").unwrap_or(&d.id);
        if arn.starts_with("arn:aws:iam::aws:policy/") != aws_managed {
            return None;
        }
        // Only attached policies grant anything.
        if i(&d.raw, "/AttachmentCount").unwrap_or(1) == 0 {
            return None;
        }
        let doc = policy_document(
            d.raw
                .at("/PolicyVersion/Document")
                .or_else(|| d.raw.get("Document")),
        );
        let Some(doc) = doc else {
            return Some((
                Status::Error,
                "policy document missing or unreadable".into(),
                ev!({"arn": arn}),
            ));
        };
        let admin = allows_full_admin(&doc);
        let msg = if admin {
            "attached policy allows \"*\" on \"*\""
        } else {
            "policy does not allow \"*:*\""
        };
        Some((
            pass_if(!admin),
            msg.into(),
            ev!({"arn": arn, "full_admin": admin}),
        ))
    });
}

fn aws_admin_policy<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    admin_policy(ctx, out, true);
}

fn customer_admin_policy<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    admin_policy(ctx, out, false);
}

const SUPPORT_POLICY: &str = "arn:aws:iam::aws:policy/AWSSupportAccess";

fn support_role<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for a in collected_accounts(ctx, Provider::Aws, "aws.iam.role") {
        let mut roles: Vec<&str> = ctx
            .inventory
            .of_type("aws.iam.role")
            .filter(|d| d.account == a)
            .filter(|d| {
                arr(&d.raw, "/AttachedPolicies")
                    .iter()
                    .any(|p| s(p, "/PolicyArn") == Some(SUPPORT_POLICY))
            })
            .map(|d| d.name.as_str())
            .collect();
        for p in ctx
            .inventory
            .of_type("aws.iam.policy")
            .filter(|d| d.account == a)
        {
            if s(&p.raw, "/Arn") == Some(SUPPORT_POLICY) || p.id == SUPPORT_POLICY {
                roles.extend(
                    arr(&p.raw, "/PolicyRoles")
                        .iter()
                        .filter_map(|r| s(r, "/RoleName")),
                );
            }
        }
        roles.sort();
        roles.dedup();
        let st = pass_if(!roles.is_empty());
        let msg = if roles.is_empty() {
            "no role has AWSSupportAccess"
        } else {
            "a role has AWSSupportAccess"
        };
        out.push(scope_outcome(
            Provider::Aws,
            &a,
            crate::inventory::GLOBAL,
            st,
            msg,
            ev!({"support_roles": roles}),
        ));
    }
}

fn expired_certs<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "aws.iam.server_certificate", out, |d| {
        let exp = d.raw.get("Expiration").and_then(parse_time);
        let expired = exp.is_some_and(|t| t < ctx.options.now);
        let msg = if expired {
            "server certificate has expired"
        } else {
            "server certificate is valid"
        };
        Some((
            pass_if(!expired),
            msg.into(),
            ev!({"Expiration": d.raw.get("Expiration")}),
        ))
    });
}

fn access_analyzer<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_region_singleton(ctx, "aws.accessanalyzer.analyzers", out, |d| {
        let active: Vec<&str> = arr(&d.raw, "/analyzers")
            .iter()
            .filter(|a| s(a, "/status") == Some("ACTIVE"))
            .filter_map(|a| s(a, "/name"))
            .collect();
        let msg = if active.is_empty() {
            "no active Access Analyzer in the region"
        } else {
            "Access Analyzer active"
        };
        (
            pass_if(!active.is_empty()),
            msg.into(),
            ev!({"active_analyzers": active}),
        )
    });
}
