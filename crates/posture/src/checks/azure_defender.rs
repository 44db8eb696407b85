//! CIS Azure Microsoft Defender for Cloud controls (3.0 section 3.1, 6.0 section 8.1).
//!
//! Inputs: `azure.security.pricing` (a Pricings_List item, one per plan),
//! `azure.security.contact` (a SecurityContacts_List item, any api-version),
//! `azure.security.auto_provisioning_setting`, `azure.security.setting` (`MCAS`, `WDATP`).

use serde_json::Value;

use super::util::*;
use crate::finding::{Severity, Status};
use crate::inventory::{Provider, ResourceDoc, GLOBAL};
use crate::registry::{CheckCtx, CheckDef, Outcome};

const PRICING: &str = "azure.security.pricing";
const CONTACT: &str = "azure.security.contact";

/// Check id -> Defender plan name (the pricing's `name`).
pub const PLANS: &[(&str, &str)] = &[
    (
        "defender_ensure_defender_for_server_is_on",
        "VirtualMachines",
    ),
    (
        "defender_ensure_defender_for_app_services_is_on",
        "AppServices",
    ),
    (
        "defender_ensure_defender_for_containers_is_on",
        "Containers",
    ),
    (
        "defender_ensure_defender_for_storage_is_on",
        "StorageAccounts",
    ),
    ("defender_ensure_defender_for_cosmosdb_is_on", "CosmosDbs"),
    (
        "defender_ensure_defender_for_os_relational_databases_is_on",
        "OpenSourceRelationalDatabases",
    ),
    (
        "defender_ensure_defender_for_azure_sql_databases_is_on",
        "SqlServers",
    ),
    (
        "defender_ensure_defender_for_sql_servers_is_on",
        "SqlServerVirtualMachines",
    ),
    ("defender_ensure_defender_for_keyvault_is_on", "KeyVaults"),
    ("defender_ensure_defender_for_arm_is_on", "Arm"),
    ("defender_ensure_defender_for_dns_is_on", "Dns"),
    ("defender_ensure_defender_cspm_is_on", "CloudPosture"),
    ("defender_ensure_defender_for_apis_is_on", "Api"),
];

macro_rules! plan_fn {
    ($name:ident, $idx:expr) => {
        fn $name<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
            plan(ctx, out, PLANS[$idx].1, None);
        }
    };
}
plan_fn!(p00, 0);
plan_fn!(p01, 1);
plan_fn!(p02, 2);
plan_fn!(p03, 3);
plan_fn!(p04, 4);
plan_fn!(p05, 5);
plan_fn!(p06, 6);
plan_fn!(p07, 7);
plan_fn!(p08, 8);
plan_fn!(p09, 9);
plan_fn!(p10, 10);
plan_fn!(p11, 11);
plan_fn!(p12, 12);

fn containers_discovery<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    plan(
        ctx,
        out,
        "Containers",
        Some("AgentlessDiscoveryForKubernetes"),
    );
}

fn containers_va<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    plan(
        ctx,
        out,
        "Containers",
        Some("ContainerRegistriesVulnerabilityAssessments"),
    );
}

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    let fns: [crate::registry::CheckFn; 13] = [
        p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12,
    ];
    let mut v: Vec<CheckDef> = PLANS
        .iter()
        .zip(fns)
        .map(|((id, _), run)| {
            azure(
                id,
                "Defender plan is Standard",
                Severity::High,
                &[PRICING],
                run,
            )
        })
        .collect();
    v.extend([
        azure(
            "defender_containers_agentless_discovery_on",
            "Defender for Containers agentless discovery on",
            Severity::Medium,
            &[PRICING],
            containers_discovery,
        ),
        azure(
            "defender_containers_vulnerability_assessment_on",
            "Defender for Containers vulnerability assessment on",
            Severity::Medium,
            &[PRICING],
            containers_va,
        ),
        azure(
            "defender_ensure_notify_emails_to_owners",
            "Security alerts e-mailed to owners",
            Severity::Medium,
            &[CONTACT],
            notify_owners,
        ),
        azure(
            "defender_additional_email_configured_with_a_security_contact",
            "Security contact e-mail configured",
            Severity::Medium,
            &[CONTACT],
            contact_email,
        ),
        azure(
            "defender_ensure_notify_alerts_severity_is_high",
            "Alert notifications include high severity",
            Severity::Medium,
            &[CONTACT],
            alert_severity,
        ),
        azure(
            "defender_attack_path_notifications_properly_configured",
            "Attack path notifications include high risk",
            Severity::Medium,
            &[CONTACT],
            attack_path,
        ),
        azure(
            "defender_auto_provisioning_log_analytics_agent_vms_on",
            "Auto provisioning on",
            Severity::Medium,
            &["azure.security.auto_provisioning_setting"],
            auto_provisioning,
        ),
        azure(
            "defender_ensure_mcas_is_enabled",
            "Defender for Cloud Apps integration on",
            Severity::Medium,
            &["azure.security.setting"],
            mcas,
        ),
    ]);
    v
}

fn plan<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>, name: &str, extension: Option<&str>) {
    for sub in collected_accounts(ctx, Provider::Azure, PRICING) {
        let listed = ctx.inventory.of_type(PRICING).any(|d| d.account == sub);
        if !listed {
            out.push(missing(Provider::Azure, &sub, GLOBAL, PRICING));
            continue;
        }
        let doc = ctx
            .inventory
            .of_type(PRICING)
            .find(|d| d.account == sub && d.name.eq_ignore_ascii_case(name));
        let Some(d) = doc else {
            out.push(scope_outcome(
                Provider::Azure,
                &sub,
                GLOBAL,
                Status::Fail,
                format!("Defender plan `{name}` not listed (Free)"),
                ev!({"plan": name, "pricingTier": ()}),
            ));
            continue;
        };
        let tier = s(&d.raw, "/properties/pricingTier");
        let standard = tier.is_some_and(|t| t.eq_ignore_ascii_case("Standard"));
        let (ok, msg, ev) = match extension {
            None => (
                standard,
                format!("Defender plan `{name}` is {}", tier.unwrap_or("unset")),
                ev!({"plan": name, "pricingTier": tier}),
            ),
            Some(ext) => {
                let on = arr(&d.raw, "/properties/extensions")
                    .iter()
                    .any(|e| s(e, "/name") == Some(ext) && b(e, "/isEnabled") == Some(true));
                (
                    standard && on,
                    format!("`{ext}` {}", if standard && on { "on" } else { "off" }),
                    ev!({"plan": name, "pricingTier": tier, "extension": ext, "enabled": on}),
                )
            }
        };
        out.push(doc_outcome(d, pass_if(ok), msg, ev));
    }
}

/// Per subscription: PASS if any security contact satisfies `ok`.
fn contacts<'a>(
    ctx: &CheckCtx<'a>,
    out: &mut Vec<Outcome<'a>>,
    ok: fn(&Value) -> bool,
    good: &'static str,
    bad: &'static str,
) {
    for sub in collected_accounts(ctx, Provider::Azure, CONTACT) {
        let docs: Vec<&'a ResourceDoc> = ctx
            .inventory
            .of_type(CONTACT)
            .filter(|d| d.account == sub)
            .collect();
        let Some(first) = docs.first() else {
            out.push(scope_outcome(
                Provider::Azure,
                &sub,
                GLOBAL,
                Status::Fail,
                "no security contact configured",
                ev!({"contacts": 0}),
            ));
            continue;
        };
        let hit = docs
            .iter()
            .find(|d| d.raw.get("properties").is_some_and(ok));
        let d = hit.copied().unwrap_or(first);
        let msg = if hit.is_some() { good } else { bad };
        out.push(doc_outcome(
            d,
            pass_if(hit.is_some()),
            msg,
            ev!({"properties": d.raw.get("properties")}),
        ));
    }
}

fn notify_owners<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(p: &Value) -> bool {
        let by_role = s(p, "/notificationsByRole/state")
            .is_some_and(|x| x.eq_ignore_ascii_case("On"))
            && arr(p, "/notificationsByRole/roles")
                .iter()
                .any(|r| r.as_str() == Some("Owner"));
        // 2017 api-version: alertsToAdmins.
        by_role || s(p, "/alertsToAdmins").is_some_and(|x| x.eq_ignore_ascii_case("On"))
    }
    contacts(
        ctx,
        out,
        ok,
        "alerts e-mailed to owners",
        "owners are not notified",
    );
}

fn contact_email<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(p: &Value) -> bool {
        s(p, "/emails")
            .or_else(|| s(p, "/email"))
            .is_some_and(|e| !e.trim().is_empty())
    }
    contacts(
        ctx,
        out,
        ok,
        "security contact e-mail set",
        "no security contact e-mail",
    );
}

/// Severities that include high-severity alerts.
fn includes_high(v: Option<&str>) -> bool {
    matches!(v, Some("High") | Some("Medium") | Some("Low"))
}

fn alert_severity<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(p: &Value) -> bool {
        let sources = arr(p, "/notificationsSources").iter().any(|x| {
            s(x, "/sourceType") == Some("Alert") && includes_high(s(x, "/minimalSeverity"))
        });
        let legacy = s(p, "/alertNotifications/state")
            .is_some_and(|x| x.eq_ignore_ascii_case("On"))
            && includes_high(s(p, "/alertNotifications/minimalSeverity"));
        sources || legacy
    }
    contacts(
        ctx,
        out,
        ok,
        "alert notifications include high severity",
        "alert notifications off or above high",
    );
}

fn attack_path<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(p: &Value) -> bool {
        arr(p, "/notificationsSources").iter().any(|x| {
            s(x, "/sourceType") == Some("AttackPath") && includes_high(s(x, "/minimalRiskLevel"))
        })
    }
    contacts(
        ctx,
        out,
        ok,
        "attack path notifications include high risk",
        "attack path notifications off or critical only",
    );
}

fn auto_provisioning<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&Value>) -> bool {
        str_in(v, &["On"])
    }
    prop_check(
        ctx,
        out,
        "azure.security.auto_provisioning_setting",
        "/properties/autoProvision",
        ok,
        "auto provisioning on",
        "auto provisioning off",
    );
}

fn mcas<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "azure.security.setting", out, |d| {
        if !d.name.eq_ignore_ascii_case("MCAS") {
            return None;
        }
        let on = b(&d.raw, "/properties/enabled") == Some(true);
        Some((
            pass_if(on),
            if on {
                "MCAS integration on"
            } else {
                "MCAS integration off"
            }
            .into(),
            ev!({"enabled": on}),
        ))
    });
}
