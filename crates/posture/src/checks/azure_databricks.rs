//! CIS Azure 6.0 Azure Databricks controls (2.1.x).
//!
//! Input: `azure.databricks.workspace` (Workspaces_ListBySubscription item; parameters under
//! `properties.parameters.<name>.value`).

use super::util::*;
use crate::finding::Severity;
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
