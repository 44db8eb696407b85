//! CIS Azure PostgreSQL / MySQL flexible server and Cosmos DB controls (3.0 sections 5.2-5.4).
//!
//! Inputs: `azure.postgresql.flexible_server`, `azure.postgresql.configuration` (a
//! Configurations_ListByServer item: `properties.value`), `azure.postgresql.firewall_rule`,
//! `azure.mysql.flexible_server`, `azure.mysql.configuration`, `azure.cosmosdb.account`.
//! Server parameters are found by id prefix (`<server id>/configurations/<name>`); a
//! parameter that was not collected is ERROR, never a default guessed here.

use std::collections::HashMap;

use super::util::*;
use crate::finding::{Severity, Status};
use crate::inventory::ResourceDoc;
use crate::registry::{CheckCtx, CheckDef, Outcome};

const PG: &str = "azure.postgresql.flexible_server";
const PG_CONF: &str = "azure.postgresql.configuration";
const MY: &str = "azure.mysql.flexible_server";
const MY_CONF: &str = "azure.mysql.configuration";
const COSMOS: &str = "azure.cosmosdb.account";

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    vec![
        azure(
            "postgresql_flexible_server_enforce_ssl_enabled",
            "PostgreSQL require_secure_transport ON",
            Severity::High,
            &[PG, PG_CONF],
            pg_ssl,
        ),
        azure(
            "postgresql_flexible_server_log_checkpoints_on",
            "PostgreSQL log_checkpoints ON",
            Severity::Low,
            &[PG, PG_CONF],
            pg_checkpoints,
        ),
        azure(
            "postgresql_flexible_server_connection_throttling_on",
            "PostgreSQL connection_throttle.enable ON",
            Severity::Low,
            &[PG, PG_CONF],
            pg_throttle,
        ),
        azure(
            "postgresql_flexible_server_log_retention_days_greater_3",
            "PostgreSQL logfiles.retention_days > 3",
            Severity::Low,
            &[PG, PG_CONF],
            pg_retention,
        ),
        azure(
            "postgresql_flexible_server_log_connections_on",
            "PostgreSQL log_connections ON",
            Severity::Low,
            &[PG, PG_CONF],
            pg_log_connections,
        ),
        azure(
            "postgresql_flexible_server_log_disconnections_on",
            "PostgreSQL log_disconnections ON",
            Severity::Low,
            &[PG, PG_CONF],
            pg_log_disconnections,
        ),
        azure(
            "postgresql_flexible_server_allow_access_services_disabled",
            "PostgreSQL does not admit all Azure services",
            Severity::Medium,
            &[PG, "azure.postgresql.firewall_rule"],
            pg_azure_services,
        ),
        azure(
            "mysql_flexible_server_ssl_connection_enabled",
            "MySQL require_secure_transport ON",
            Severity::High,
            &[MY, MY_CONF],
            my_ssl,
        ),
        azure(
            "mysql_flexible_server_minimum_tls_version_12",
            "MySQL tls_version TLSv1.2 or later only",
            Severity::Medium,
            &[MY, MY_CONF],
            my_tls,
        ),
        azure(
            "mysql_flexible_server_audit_log_enabled",
            "MySQL audit_log_enabled ON",
            Severity::Medium,
            &[MY, MY_CONF],
            my_audit,
        ),
        azure(
            "mysql_flexible_server_audit_log_connection_activated",
            "MySQL audit_log_events includes CONNECTION",
            Severity::Medium,
            &[MY, MY_CONF],
            my_audit_connection,
        ),
        azure(
            "cosmosdb_account_firewall_use_selected_networks",
            "Cosmos DB limited to selected networks",
            Severity::Medium,
            &[COSMOS],
            cosmos_networks,
        ),
        azure(
            "cosmosdb_account_use_private_endpoints",
            "Cosmos DB uses private endpoints",
            Severity::Medium,
            &[COSMOS],
            cosmos_private,
        ),
    ]
}

/// server id (lower case) -> parameter name (lower case) -> value.
fn parameters<'a>(ctx: &CheckCtx<'a>, t: &str) -> HashMap<String, HashMap<String, &'a str>> {
    let mut m: HashMap<String, HashMap<String, &'a str>> = HashMap::new();
    for d in ctx.inventory.of_type(t) {
        if let (Some(server), Some(v)) = (
            azure_parent(&d.id, "configurations"),
            s(&d.raw, "/properties/value"),
        ) {
            m.entry(server)
                .or_default()
                .insert(d.name.to_ascii_lowercase(), v);
        }
    }
    m
}

/// Judges one parameter on every server of a type.
fn param_check<'a>(
    ctx: &CheckCtx<'a>,
    out: &mut Vec<Outcome<'a>>,
    server_type: &str,
    conf_type: &str,
    name: &'static str,
    ok: fn(&str) -> bool,
) {
    let params = parameters(ctx, conf_type);
    per_doc(ctx, server_type, out, |d: &'a ResourceDoc| {
        let v = params
            .get(&d.id.to_ascii_lowercase())
            .and_then(|p| p.get(name).copied());
        let Some(v) = v else {
            return Some((
                Status::Error,
                format!("parameter `{name}` not collected").into(),
                ev!({"parameter": name}),
            ));
        };
        let pass = ok(v);
        Some((
            pass_if(pass),
            format!("`{name}` is `{v}`").into(),
            ev!({"parameter": name, "value": v}),
        ))
    });
}

fn on(v: &str) -> bool {
    v.eq_ignore_ascii_case("on") || v.eq_ignore_ascii_case("true")
}

fn pg_ssl<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    param_check(ctx, out, PG, PG_CONF, "require_secure_transport", on);
}

fn pg_checkpoints<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    param_check(ctx, out, PG, PG_CONF, "log_checkpoints", on);
}

fn pg_throttle<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    param_check(ctx, out, PG, PG_CONF, "connection_throttle.enable", on);
}

fn pg_retention<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: &str) -> bool {
        v.trim().parse::<i64>().is_ok_and(|d| d > 3)
    }
    param_check(ctx, out, PG, PG_CONF, "logfiles.retention_days", ok);
}

fn pg_log_connections<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    param_check(ctx, out, PG, PG_CONF, "log_connections", on);
}

fn pg_log_disconnections<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    param_check(ctx, out, PG, PG_CONF, "log_disconnections", on);
}

fn pg_azure_services<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let mut rules: HashMap<String, Vec<&'a ResourceDoc>> = HashMap::new();
    for r in ctx.inventory.of_type("azure.postgresql.firewall_rule") {
        if let Some(p) = azure_parent(&r.id, "firewallRules") {
            rules.entry(p).or_default().push(r);
        }
    }
    per_doc(ctx, PG, out, |d| {
        // 0.0.0.0 - 0.0.0.0 is the portal's "allow public access from any Azure service".
        let open: Vec<&str> = rules
            .get(&d.id.to_ascii_lowercase())
            .map(|v| v.as_slice())
            .unwrap_or(&[])
            .iter()
            .filter(|r| {
                s(&r.raw, "/properties/startIpAddress") == Some("0.0.0.0")
                    && s(&r.raw, "/properties/endIpAddress") == Some("0.0.0.0")
            })
            .map(|r| r.name.as_str())
            .collect();
        let msg = if open.is_empty() {
            "Azure services are not admitted wholesale"
        } else {
            "a firewall rule admits every Azure service"
        };
        Some((pass_if(open.is_empty()), msg.into(), ev!({"rules": open})))
    });
}

fn my_ssl<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    param_check(ctx, out, MY, MY_CONF, "require_secure_transport", on);
}

fn my_tls<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: &str) -> bool {
        let versions: Vec<&str> = v
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect();
        !versions.is_empty()
            && versions
                .iter()
                .all(|x| x.eq_ignore_ascii_case("TLSv1.2") || x.eq_ignore_ascii_case("TLSv1.3"))
    }
    param_check(ctx, out, MY, MY_CONF, "tls_version", ok);
}

fn my_audit<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    param_check(ctx, out, MY, MY_CONF, "audit_log_enabled", on);
}

fn my_audit_connection<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: &str) -> bool {
        v.split(',')
            .any(|x| x.trim().eq_ignore_ascii_case("CONNECTION"))
    }
    param_check(ctx, out, MY, MY_CONF, "audit_log_events", ok);
}

fn cosmos_networks<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, COSMOS, out, |d| {
        let public = s(&d.raw, "/properties/publicNetworkAccess");
        let vnet = b(&d.raw, "/properties/isVirtualNetworkFilterEnabled").unwrap_or(false);
        let ip_rules = arr(&d.raw, "/properties/ipRules").len();
        let ok = public.is_some_and(|p| p.eq_ignore_ascii_case("Disabled")) || vnet || ip_rules > 0;
        let msg = if ok {
            "limited to selected networks"
        } else {
            "reachable from all networks"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"publicNetworkAccess": public, "isVirtualNetworkFilterEnabled": vnet, "ipRules": ip_rules}),
        ))
    });
}

fn cosmos_private<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        COSMOS,
        "/properties/privateEndpointConnections",
        non_empty_array,
        "private endpoint connected",
        "no private endpoint",
    );
}
