//! CIS Azure SQL controls (3.0 section 5.1).
//!
//! Inputs: `azure.sql.server` (a Servers_List item), `azure.sql.server_auditing_policy`
//! (ServerBlobAuditingPolicies_Get, id ending `/auditingSettings/default`),
//! `azure.sql.firewall_rule`, `azure.sql.encryption_protector`
//! (`/encryptionProtector/current`), `azure.sql.server_administrator`
//! (`/administrators/ActiveDirectory`), `azure.sql.transparent_data_encryption` (per
//! database).

use std::collections::HashMap;

use serde_json::Value;

use super::util::*;
use crate::finding::{Severity, Status};
use crate::inventory::ResourceDoc;
use crate::registry::{CheckCtx, CheckDef, Outcome};

const SERVER: &str = "azure.sql.server";
const AUDIT: &str = "azure.sql.server_auditing_policy";
/// CIS 5.1.6: audit logs kept more than 90 days (0 = forever).
pub const AUDIT_RETENTION_DAYS: i64 = 90;

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    vec![
        azure(
            "sqlserver_auditing_enabled",
            "SQL server auditing on",
            Severity::Medium,
            &[SERVER, AUDIT],
            auditing,
        ),
        azure(
            "sqlserver_auditing_retention_90_days",
            "SQL audit retention over 90 days",
            Severity::Medium,
            &[SERVER, AUDIT],
            retention,
        ),
        azure(
            "sqlserver_unrestricted_inbound_access",
            "No SQL firewall rule from 0.0.0.0",
            Severity::High,
            &[SERVER, "azure.sql.firewall_rule"],
            firewall,
        ),
        azure(
            "sqlserver_tde_encrypted_with_cmk",
            "TDE protector is a customer-managed key",
            Severity::Medium,
            &[SERVER, "azure.sql.encryption_protector"],
            tde_cmk,
        ),
        azure(
            "sqlserver_azuread_administrator_enabled",
            "Entra ID admin configured",
            Severity::Medium,
            &[SERVER, "azure.sql.server_administrator"],
            entra_admin,
        ),
        azure(
            "sqlserver_tde_encryption_enabled",
            "Database TDE on",
            Severity::Medium,
            &["azure.sql.transparent_data_encryption"],
            tde_on,
        ),
    ]
}

/// Child documents of servers: server id (lower case) -> child.
fn children<'a>(
    ctx: &CheckCtx<'a>,
    t: &str,
    segment: &str,
) -> HashMap<String, Vec<&'a ResourceDoc>> {
    let mut m: HashMap<String, Vec<&'a ResourceDoc>> = HashMap::new();
    for d in ctx.inventory.of_type(t) {
        if let Some(p) = azure_parent(&d.id, segment) {
            m.entry(p).or_default().push(d);
        }
    }
    m
}

/// Runs `f` for every server with its single child of a type; servers without one are
/// ERROR (the child was not collected).
fn with_child<'a>(
    ctx: &CheckCtx<'a>,
    out: &mut Vec<Outcome<'a>>,
    t: &str,
    segment: &str,
    f: impl Fn(&Value) -> (bool, String, Evidence),
) {
    let kids = children(ctx, t, segment);
    per_doc(ctx, SERVER, out, |d| {
        let Some(child) = kids.get(&d.id.to_ascii_lowercase()).and_then(|v| v.first()) else {
            return Some((
                Status::Error,
                format!("no `{t}` document for the server").into(),
                ev!({"missing_type": t}),
            ));
        };
        let (ok, msg, ev) = f(&child.raw);
        Some((pass_if(ok), msg.into(), ev))
    });
}

fn auditing<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    with_child(ctx, out, AUDIT, "auditingSettings", |a| {
        let st = s(a, "/properties/state");
        let on = st.is_some_and(|x| x.eq_ignore_ascii_case("Enabled"));
        (
            on,
            format!("auditing {}", st.unwrap_or("unset")),
            ev!({"state": st}),
        )
    });
}

fn retention<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    with_child(ctx, out, AUDIT, "auditingSettings", |a| {
        let on = s(a, "/properties/state").is_some_and(|x| x.eq_ignore_ascii_case("Enabled"));
        let days = i(a, "/properties/retentionDays").unwrap_or(0);
        let ok = on && (days == 0 || days > AUDIT_RETENTION_DAYS);
        let msg = if !on {
            "auditing off".to_string()
        } else {
            format!("audit retention {days} days (0 = forever)")
        };
        (ok, msg, ev!({"enabled": on, "retentionDays": days}))
    });
}

fn firewall<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let rules = children(ctx, "azure.sql.firewall_rule", "firewallRules");
    per_doc(ctx, SERVER, out, |d| {
        let open: Vec<&str> = rules
            .get(&d.id.to_ascii_lowercase())
            .map(|v| v.as_slice())
            .unwrap_or(&[])
            .iter()
            .filter(|r| s(&r.raw, "/properties/startIpAddress") == Some("0.0.0.0"))
            .map(|r| r.name.as_str())
            .collect();
        let msg = if open.is_empty() {
            "no firewall rule starts at 0.0.0.0"
        } else {
            "firewall admits 0.0.0.0 (any IP or all Azure)"
        };
        Some((
            pass_if(open.is_empty()),
            msg.into(),
            ev!({"open_rules": open}),
        ))
    });
}

fn tde_cmk<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    with_child(
        ctx,
        out,
        "azure.sql.encryption_protector",
        "encryptionProtector",
        |p| {
            let t = s(p, "/properties/serverKeyType");
            let ok = t == Some("AzureKeyVault");
            (
                ok,
                format!("TDE protector is {}", t.unwrap_or("unset")),
                ev!({"serverKeyType": t}),
            )
        },
    );
}

fn entra_admin<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let admins = children(ctx, "azure.sql.server_administrator", "administrators");
    per_doc(ctx, SERVER, out, |d| {
        let inline =
            s(&d.raw, "/properties/administrators/administratorType") == Some("ActiveDirectory");
        let child = admins.contains_key(&d.id.to_ascii_lowercase());
        let ok = inline || child;
        let msg = if ok {
            "Entra ID administrator configured"
        } else {
            "no Entra ID administrator"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"administrators": d.raw.at("/properties/administrators"), "administrator_document": child}),
        ))
    });
}

fn tde_on<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "azure.sql.transparent_data_encryption", out, |d| {
        if d.id.to_ascii_lowercase().contains("/databases/master") {
            return None;
        }
        let st = s(&d.raw, "/properties/state");
        let on = st.is_some_and(|x| x.eq_ignore_ascii_case("Enabled"));
        Some((
            pass_if(on),
            format!("TDE {}", st.unwrap_or("unset")).into(),
            ev!({"state": st}),
        ))
    });
}
