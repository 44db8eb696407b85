//! CIS Azure 6.0 Azure Databricks controls (2.1.x).
//!
//! Input: `azure.databricks.workspace` (Workspaces_ListBySubscription item; parameters under
//! `properties.parameters.<name>.value`).

use super::util::*;
use crate::finding::{Severity, Status};
use crate::registry::{CheckCtx, CheckDef, Outcome};

const WS: &str = "azure.databricks.workspace";

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    vec![
        azure(
            "databricks_workspace_vnet_injection_enabled",
            "Workspace deployed in a customer-managed VNet",
            Severity::Medium,
            &[WS],
            vnet_injection,
        ),
        azure(
            "databricks_workspace_no_public_ip_enabled",
            "Workspace clusters have no public IP",
            Severity::Medium,
            &[WS],
            no_public_ip,
        ),
        azure(
            "databricks_workspace_public_network_access_disabled",
            "Workspace public network access disabled",
            Severity::Medium,
            &[WS],
            public_access,
        ),
        azure(
            "databricks_workspace_private_endpoints",
            "Workspace uses private endpoints",
            Severity::Medium,
            &[WS],
            private_endpoints,
        ),
        azure(
            "databricks_workspace_subnets_have_nsg",
            "Workspace subnets have NSGs",
            Severity::Medium,
            &[WS, "azure.network.virtual_network"],
            subnet_nsgs,
        ),
        azure(
            "databricks_workspace_diagnostic_logs_enabled",
            "Workspace diagnostic logs delivered",
            Severity::Medium,
            &[WS, "azure.monitor.diagnostic_setting"],
            diagnostic_logs,
        ),
    ]
}

fn vnet_injection<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&serde_json::Value>) -> bool {
        v.and_then(serde_json::Value::as_str)
            .is_some_and(|x| !x.is_empty())
    }
    prop_check(
        ctx,
        out,
        WS,
        "/properties/parameters/customVirtualNetworkId/value",
        ok,
        "customer-managed VNet",
        "managed VNet",
    );
}

fn no_public_ip<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        WS,
        "/properties/parameters/enableNoPublicIp/value",
        is_true,
        "no public IP (secure cluster connectivity)",
        "clusters get public IPs",
    );
}

fn public_access<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&serde_json::Value>) -> bool {
        str_in(v, &["Disabled"])
    }
    prop_check(
        ctx,
        out,
        WS,
        "/properties/publicNetworkAccess",
        ok,
        "public network access disabled",
        "public network access enabled",
    );
}

fn private_endpoints<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        WS,
        "/properties/privateEndpointConnections",
        non_empty_array,
        "private endpoint connected",
        "no private endpoint",
    );
}

/// Subnets of a workspace's own VNet (`customPublicSubnetName`, `customPrivateSubnetName`)
/// must each have an NSG.
fn subnet_nsgs<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let vnets = by_lower_id(ctx, "azure.network.virtual_network");
    per_doc(ctx, WS, out, |d| {
        let vnet_id = s(
            &d.raw,
            "/properties/parameters/customVirtualNetworkId/value",
        )?;
        let Some(vnet) = vnets.get(&vnet_id.to_ascii_lowercase()) else {
            return Some((
                Status::Error,
                "workspace VNet not in the inventory".into(),
                ev!({"customVirtualNetworkId": vnet_id}),
            ));
        };
        let names: Vec<&str> = ["customPublicSubnetName", "customPrivateSubnetName"]
            .iter()
            .filter_map(|p| s(&d.raw, &format!("/properties/parameters/{p}/value")))
            .collect();
        let bare: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| {
                !arr(&vnet.raw, "/properties/subnets").iter().any(|sn| {
                    s(sn, "/name") == Some(*n)
                        && sn.at("/properties/networkSecurityGroup/id").is_some()
                })
            })
            .collect();
        let ok = !names.is_empty() && bare.is_empty();
        let msg = if ok {
            "workspace subnets have NSGs"
        } else {
            "a workspace subnet has no NSG"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"subnets": names, "without_nsg": bare}),
        ))
    });
}

/// A diagnostic setting of the workspace sends at least one log category somewhere.
fn diagnostic_logs<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let mut with_logs = std::collections::BTreeSet::new();
    for ds in ctx.inventory.of_type("azure.monitor.diagnostic_setting") {
        let enabled = arr(&ds.raw, "/properties/logs")
            .iter()
            .any(|l| b(l, "/enabled") == Some(true));
        if let (true, Some(p)) = (
            enabled,
            azure_parent(&ds.id, "providers/microsoft.insights/diagnosticSettings"),
        ) {
            with_logs.insert(p);
        }
    }
    per_doc(ctx, WS, out, |d| {
        let ok = with_logs.contains(&d.id.to_ascii_lowercase());
        let msg = if ok {
            "diagnostic logs delivered"
        } else {
            "no diagnostic setting delivers workspace logs"
        };
        Some((pass_if(ok), msg.into(), ev!({"diagnostic_logs": ok})))
    });
}
