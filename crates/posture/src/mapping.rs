//! From benchmark requirements to our checks.
//!
//! A requirement maps to the registered checks whose ids equal the scanner check ids in the
//! benchmark file. Where that is not right (the scanner id has another name here, one scanner
//! check answers two CIS requirements that we split, or the file lists no check) the tables
//! below say so. Automated requirements that still map to nothing are listed, with a reason,
//! by [`uncovered_automated_controls`].

use serde::Serialize;

use crate::benchmark::{Benchmark, Requirement};
use crate::registry::Registry;

/// Scanner check id -> our check ids, where the names differ.
const ALIASES: &[(&str, &[&str])] = &[
    ("ec2_ebs_volume_encryption", &["ec2_ebs_default_encryption"]),
    (
        "ec2_networkacl_allow_ingress_any_port",
        &["ec2_networkacl_allow_ingress_admin_ports"],
    ),
    (
        "ec2_networkacl_allow_ingress_tcp_port_22",
        &["ec2_networkacl_allow_ingress_admin_ports"],
    ),
    (
        "ec2_networkacl_allow_ingress_tcp_port_3389",
        &["ec2_networkacl_allow_ingress_admin_ports"],
    ),
];

/// (benchmark key, requirement id) -> our check ids, replacing the file's list.
const OVERRIDES: &[(&str, &str, &[&str])] = &[
    (
        "cis_6.0_azure",
        "2.1.2",
        &["databricks_workspace_subnets_have_nsg"],
    ),
    (
        "cis_6.0_azure",
        "2.1.7",
        &["databricks_workspace_diagnostic_logs_enabled"],
    ),
    // The scanner's security-group checks cover IPv4 and IPv6 together; CIS splits them.
    (
        "cis_3.0_aws",
        "5.2",
        &["ec2_securitygroup_admin_ports_open_ipv4"],
    ),
    (
        "cis_3.0_aws",
        "5.3",
        &["ec2_securitygroup_admin_ports_open_ipv6"],
    ),
    (
        "cis_7.0_aws",
        "6.3",
        &["ec2_securitygroup_admin_ports_open_ipv4"],
    ),
    (
        "cis_7.0_aws",
        "6.4",
        &["ec2_securitygroup_admin_ports_open_ipv6"],
    ),
    // The file lists no scanner check for these; ours answer them.
    (
        "cis_3.0_azure",
        "3.1.4.2",
        &["defender_containers_agentless_discovery_on"],
    ),
    (
        "cis_3.0_azure",
        "3.1.4.3",
        &["defender_containers_vulnerability_assessment_on"],
    ),
    (
        "cis_3.0_azure",
        "4.2",
        &["storage_infrastructure_encryption_enabled"],
    ),
    (
        "cis_3.0_azure",
        "4.16",
        &["storage_cross_tenant_replication_disabled"],
    ),
    (
        "cis_3.0_azure",
        "4.17",
        &["storage_blob_public_access_level_is_disabled"],
    ),
    (
        "cis_3.0_azure",
        "8.5",
        &["vm_disk_public_network_access_disabled"],
    ),
    (
        "cis_3.0_azure",
        "8.6",
        &["vm_disk_data_access_auth_mode_enabled"],
    ),
    ("cis_3.0_azure", "9.12", &["app_remote_debugging_disabled"]),
    (
        "cis_6.0_azure",
        "5.7",
        &["iam_subscription_owner_count_2_to_3"],
    ),
    (
        "cis_3.0_azure",
        "5.3.2",
        &["mysql_flexible_server_minimum_tls_version_12"],
    ),
    // CIS Azure 6.0 requirements the file maps to no scanner check.
    (
        "cis_6.0_azure",
        "2.1.11",
        &["databricks_workspace_private_endpoints"],
    ),
    (
        "cis_6.0_azure",
        "7.9",
        &["network_vpn_gateway_entra_auth_only"],
    ),
    ("cis_6.0_azure", "7.10", &["network_appgw_waf_enabled"]),
    ("cis_6.0_azure", "7.12", &["network_appgw_min_tls_12"]),
    ("cis_6.0_azure", "7.13", &["network_appgw_http2_enabled"]),
    (
        "cis_6.0_azure",
        "7.14",
        &["network_waf_request_body_inspection_enabled"],
    ),
    (
        "cis_6.0_azure",
        "7.15",
        &["network_waf_bot_protection_enabled"],
    ),
    // The file maps MySQL's require_secure_transport to the PostgreSQL check.
    (
        "cis_3.0_azure",
        "5.3.1",
        &["mysql_flexible_server_ssl_connection_enabled"],
    ),
    // The file maps these to a check about something else.
    (
        "cis_6.0_azure",
        "8.1.2.1",
        &["defender_ensure_defender_for_apis_is_on"],
    ),
    (
        "cis_6.0_azure",
        "8.3.7",
        &["keyvault_public_network_access_disabled"],
    ),
    (
        "cis_6.0_azure",
        "9.2.1",
        &["storage_blob_soft_delete_enabled"],
    ),
    (
        "cis_6.0_azure",
        "9.2.2",
        &["storage_container_soft_delete_enabled"],
    ),
    (
        "cis_6.0_azure",
        "9.3.1.1",
        &["storage_key_rotation_reminders_enabled"],
    ),
];

/// Our check ids for a requirement (only registered ones, in order, without repeats).
pub fn resolve(b: &Benchmark, r: &Requirement, registry: &Registry) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    let mut add = |id: &str| {
        if let Some(c) = registry.get(id) {
            if !out.contains(&c.id) {
                out.push(c.id);
            }
        }
    };
    if let Some((_, _, ids)) = OVERRIDES
        .iter()
        .find(|(k, id, _)| *k == b.key && *id == r.id)
    {
        for id in *ids {
            add(id);
        }
        return out;
    }
    for sc in &r.scanner_checks {
        add(sc);
        if let Some((_, ours)) = ALIASES.iter().find(|(a, _)| a == sc) {
            for id in *ours {
                add(id);
            }
        }
    }
    out
}

/// An automated requirement no registered check answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UncoveredControl {
    /// Benchmark key.
    pub benchmark: String,
    /// Requirement id.
    pub id: String,
    /// Requirement title.
    pub title: String,
    /// Why it is not covered.
    pub reason: String,
}

/// Every automated requirement of `benchmarks` that the built-in checks do not answer, with
/// the reason.
pub fn uncovered_automated_controls(benchmarks: &[Benchmark]) -> Vec<UncoveredControl> {
    let registry = Registry::builtin();
    let mut v = Vec::new();
    for b in benchmarks {
        for r in b.requirements.iter().filter(|r| r.automated) {
            if resolve(b, r, &registry).is_empty() {
                v.push(UncoveredControl {
                    benchmark: b.key.clone(),
                    id: r.id.clone(),
                    title: r.title.clone(),
                    reason: uncovered_reason(b, r),
                });
            }
        }
    }
    v
}

/// The fallback reason; a unit test asserts no uncovered control uses it.
pub const NO_REASON: &str = "no reason recorded";

/// Why a requirement has no check.
pub fn uncovered_reason(b: &Benchmark, r: &Requirement) -> String {
    if let Some((_, _, why)) = REASONS_BY_REQUIREMENT
        .iter()
        .find(|(k, id, _)| *k == b.key && *id == r.id)
    {
        return (*why).to_string();
    }
    for sc in &r.scanner_checks {
        if let Some((_, why)) = REASONS_BY_CHECK.iter().find(|(c, _)| c == sc) {
            return (*why).to_string();
        }
    }
    NO_REASON.to_string()
}

/// Reasons keyed by the scanner check id (so they apply to every benchmark version).
const REASONS_BY_CHECK: &[(&str, &str)] = &[];

/// Reasons for requirements the file maps to no scanner check.
const REASONS_BY_REQUIREMENT: &[(&str, &str, &str)] = &[
    ("cis_3.0_azure", "4.12", "Storage Analytics logging for the queue service is a data-plane setting (Queue service properties), not returned by Resource Manager"),
    ("cis_3.0_azure", "4.13", "Storage Analytics logging for the blob service is a data-plane setting (Blob service properties), not returned by Resource Manager"),
    ("cis_3.0_azure", "4.14", "Storage Analytics logging for the table service is a data-plane setting (Table service properties), not returned by Resource Manager"),
    ("cis_3.0_azure", "5.2.8", "legacy PostgreSQL single server (retired by Azure); not collected"),
    ("cis_6.0_azure", "8.3.11", "certificate policies are Key Vault data-plane objects (not returned by Resource Manager)"),
];
