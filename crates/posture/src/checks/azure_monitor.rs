//! CIS Azure logging and monitoring controls (3.0 section 6, 6.0 section 6.1).
//!
//! Inputs: `azure.monitor.subscription_diagnostic_setting` (SubscriptionDiagnosticSettings_List
//! item), `azure.monitor.diagnostic_setting` (resource-level; its id starts with the
//! resource's id), `azure.monitor.activity_log_alert` (ActivityLogAlerts_ListBySubscriptionId
//! item), `azure.insights.component` (Application Insights), `azure.storage.account` and
//! `azure.keyvault.vault` for joins.

use serde_json::Value;

use super::util::*;
use crate::finding::{Severity, Status};
use crate::inventory::{Provider, GLOBAL};
use crate::registry::{CheckCtx, CheckDef, Outcome};

const SUB_DIAG: &str = "azure.monitor.subscription_diagnostic_setting";
const ALERT: &str = "azure.monitor.activity_log_alert";

/// Activity-log alert checks: id and the operation (or, for service health, category).
pub const ALERTS: &[(&str, &str)] = &[
    (
        "monitor_alert_create_policy_assignment",
        "Microsoft.Authorization/policyAssignments/write",
    ),
    (
        "monitor_alert_delete_policy_assignment",
        "Microsoft.Authorization/policyAssignments/delete",
    ),
    (
        "monitor_alert_create_update_nsg",
        "Microsoft.Network/networkSecurityGroups/write",
    ),
    (
        "monitor_alert_delete_nsg",
        "Microsoft.Network/networkSecurityGroups/delete",
    ),
    (
        "monitor_alert_create_update_security_solution",
        "Microsoft.Security/securitySolutions/write",
    ),
    (
        "monitor_alert_delete_security_solution",
        "Microsoft.Security/securitySolutions/delete",
    ),
    (
        "monitor_alert_create_update_sqlserver_fr",
        "Microsoft.Sql/servers/firewallRules/write",
    ),
    (
        "monitor_alert_delete_sqlserver_fr",
        "Microsoft.Sql/servers/firewallRules/delete",
    ),
    (
        "monitor_alert_create_update_public_ip_address_rule",
        "Microsoft.Network/publicIPAddresses/write",
    ),
    (
        "monitor_alert_delete_public_ip_address_rule",
        "Microsoft.Network/publicIPAddresses/delete",
    ),
    (
        "monitor_alert_service_health_exists",
        "category:ServiceHealth",
    ),
];

macro_rules! alert_fn {
    ($name:ident, $idx:expr) => {
        fn $name<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
            alert(ctx, out, ALERTS[$idx].1);
        }
    };
}
alert_fn!(a00, 0);
alert_fn!(a01, 1);
alert_fn!(a02, 2);
alert_fn!(a03, 3);
alert_fn!(a04, 4);
alert_fn!(a05, 5);
alert_fn!(a06, 6);
alert_fn!(a07, 7);
alert_fn!(a08, 8);
alert_fn!(a09, 9);
alert_fn!(a10, 10);

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    let fns: [crate::registry::CheckFn; 11] =
        [a00, a01, a02, a03, a04, a05, a06, a07, a08, a09, a10];
    let mut v: Vec<CheckDef> = ALERTS
        .iter()
        .zip(fns)
        .map(|((id, _), run)| {
            azure(
                id,
                "Activity log alert exists",
                Severity::Medium,
                &[ALERT],
                run,
            )
        })
        .collect();
    v.extend([
        azure(
            "monitor_diagnostic_settings_exists",
            "Activity log exported by a diagnostic setting",
            Severity::Medium,
            &[SUB_DIAG],
            diag_exists,
        ),
        azure(
            "monitor_diagnostic_setting_with_appropriate_categories",
            "Activity log export covers Administrative, Alert, Policy, Security",
            Severity::Medium,
            &[SUB_DIAG],
            diag_categories,
        ),
        azure(
            "monitor_storage_account_with_activity_logs_cmk_encrypted",
            "Activity log storage account uses a customer-managed key",
            Severity::Medium,
            &[SUB_DIAG, "azure.storage.account"],
            activity_storage_cmk,
        ),
        azure(
            "keyvault_logging_enabled",
            "Key Vault audit logs exported",
            Severity::Medium,
            &["azure.keyvault.vault", "azure.monitor.diagnostic_setting"],
            keyvault_logging,
        ),
        azure(
            "appinsights_ensure_is_configured",
            "Application Insights configured",
            Severity::Low,
            &["azure.insights.component"],
            app_insights,
        ),
    ]);
    v
}

fn alert_matches(a: &Value, op: &str) -> bool {
    if b(a, "/properties/enabled") == Some(false) {
        return false;
    }
    let conds = arr(a, "/properties/condition/allOf");
    let has = |field: &str, value: &str| {
        conds.iter().any(|c| {
            s(c, "/field").is_some_and(|f| f.eq_ignore_ascii_case(field))
                && s(c, "/equals").is_some_and(|e| e.eq_ignore_ascii_case(value))
        })
    };
    match op.strip_prefix("category:") {
        Some(cat) => has("category", cat),
        None => has("operationName", op),
    }
}

fn alert<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>, op: &str) {
    for sub in azure_subscriptions(ctx) {
        let hit = ctx
            .inventory
            .of_type(ALERT)
            .find(|d| d.account == sub && alert_matches(&d.raw, op));
        match hit {
            Some(d) => out.push(doc_outcome(
                d,
                Status::Pass,
                format!("alert for `{op}`"),
                ev!({"operation": op, "alert": d.name}),
            )),
            None => out.push(scope_outcome(
                Provider::Azure,
                &sub,
                GLOBAL,
                Status::Fail,
                format!("no enabled activity log alert for `{op}`"),
                ev!({"operation": op}),
            )),
        }
    }
}

fn sub_settings<'a>(ctx: &CheckCtx<'a>, sub: &str) -> Vec<&'a crate::inventory::ResourceDoc> {
    ctx.inventory
        .of_type(SUB_DIAG)
        .filter(|d| d.account == sub)
        .collect()
}

fn diag_exists<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for sub in azure_subscriptions(ctx) {
        let names: Vec<&str> = sub_settings(ctx, &sub)
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        let msg = if names.is_empty() {
            "activity log not exported"
        } else {
            "activity log exported"
        };
        out.push(scope_outcome(
            Provider::Azure,
            &sub,
            GLOBAL,
            pass_if(!names.is_empty()),
            msg,
            ev!({"settings": names}),
        ));
    }
}

/// Categories CIS requires in the activity-log export.
pub const REQUIRED_CATEGORIES: [&str; 4] = ["Administrative", "Alert", "Policy", "Security"];

fn covers_categories(setting: &Value) -> bool {
    let logs = arr(setting, "/properties/logs");
    let enabled = |cat: &str| {
        logs.iter().any(|l| {
            b(l, "/enabled") == Some(true)
                && (s(l, "/category").is_some_and(|c| c.eq_ignore_ascii_case(cat))
                    || s(l, "/categoryGroup").is_some_and(|g| g.eq_ignore_ascii_case("allLogs")))
        })
    };
    REQUIRED_CATEGORIES.iter().all(|c| enabled(c))
}

fn diag_categories<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for sub in azure_subscriptions(ctx) {
        let settings = sub_settings(ctx, &sub);
        let good: Vec<&str> = settings
            .iter()
            .filter(|d| covers_categories(&d.raw))
            .map(|d| d.name.as_str())
            .collect();
        let msg = if good.is_empty() {
            "no export covers Administrative, Alert, Policy and Security"
        } else {
            "export covers the required categories"
        };
        out.push(scope_outcome(
            Provider::Azure,
            &sub,
            GLOBAL,
            pass_if(!good.is_empty()),
            msg,
            ev!({"settings": settings.len(), "covering": good}),
        ));
    }
}

fn activity_storage_cmk<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let accounts = by_lower_id(ctx, "azure.storage.account");
    per_doc(ctx, SUB_DIAG, out, |d| {
        let sa = s(&d.raw, "/properties/storageAccountId")?;
        let Some(acct) = accounts.get(&sa.to_ascii_lowercase()) else {
            return Some((
                Status::Error,
                "activity log storage account not in the inventory".into(),
                ev!({"storageAccountId": sa}),
            ));
        };
        let src = s(&acct.raw, "/properties/encryption/keySource");
        let ok = src.is_some_and(|k| k.eq_ignore_ascii_case("Microsoft.Keyvault"));
        let msg = if ok {
            "storage account uses a customer-managed key"
        } else {
            "storage account uses Microsoft-managed keys"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"storageAccountId": sa, "keySource": src}),
        ))
    });
}

fn keyvault_logging<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let settings: Vec<(String, &Value)> = ctx
        .inventory
        .of_type("azure.monitor.diagnostic_setting")
        .filter_map(|d| {
            azure_parent(&d.id, "providers/microsoft.insights/diagnosticSettings")
                .map(|p| (p, &d.raw))
        })
        .collect();
    per_doc(ctx, "azure.keyvault.vault", out, |d| {
        let id = d.id.to_ascii_lowercase();
        let audit = settings.iter().filter(|(p, _)| *p == id).any(|(_, v)| {
            arr(v, "/properties/logs").iter().any(|l| {
                b(l, "/enabled") == Some(true)
                    && (s(l, "/category").is_some_and(|c| c.eq_ignore_ascii_case("AuditEvent"))
                        || s(l, "/categoryGroup").is_some_and(|g| {
                            g.eq_ignore_ascii_case("audit") || g.eq_ignore_ascii_case("allLogs")
                        }))
            })
        });
        let msg = if audit {
            "audit events exported"
        } else {
            "no diagnostic setting exports audit events"
        };
        Some((pass_if(audit), msg.into(), ev!({"audit_logging": audit})))
    });
}

fn app_insights<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for sub in azure_subscriptions(ctx) {
        let n = ctx
            .inventory
            .of_type("azure.insights.component")
            .filter(|d| d.account == sub)
            .count();
        let msg = if n > 0 {
            "Application Insights configured"
        } else {
            "no Application Insights component"
        };
        out.push(scope_outcome(
            Provider::Azure,
            &sub,
            GLOBAL,
            pass_if(n > 0),
            msg,
            ev!({"components": n}),
        ));
    }
}
