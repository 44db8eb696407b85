//! CIS Azure networking controls (3.0 sections 7 and 8.1, 6.0 sections 7 and 8.4-8.5).
//!
//! Inputs: `azure.network.nsg` (a NetworkSecurityGroups_ListAll item),
//! `azure.network.watcher`, `azure.network.flow_log`, `azure.network.bastion_host`,
//! `azure.network.virtual_network`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::util::*;
use crate::finding::{Severity, Status};
use crate::inventory::{Provider, GLOBAL};
use crate::registry::{CheckCtx, CheckDef, Outcome};

const NSG: &str = "azure.network.nsg";

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    vec![
        azure(
            "network_rdp_internet_access_restricted",
            "No NSG allows RDP from the internet",
            Severity::High,
            &[NSG],
            rdp,
        ),
        azure(
            "network_ssh_internet_access_restricted",
            "No NSG allows SSH from the internet",
            Severity::High,
            &[NSG],
            ssh,
        ),
        azure(
            "network_udp_internet_access_restricted",
            "No NSG allows UDP from the internet",
            Severity::Medium,
            &[NSG],
            udp,
        ),
        azure(
            "network_http_internet_access_restricted",
            "No NSG allows HTTP(S) from the internet",
            Severity::Medium,
            &[NSG],
            http,
        ),
        azure(
            "network_watcher_enabled",
            "Network Watcher in every region in use",
            Severity::Medium,
            &["azure.network.watcher"],
            watcher,
        ),
        azure(
            "network_flow_log_more_than_90_days",
            "Flow log retention at least 90 days",
            Severity::Medium,
            &["azure.network.flow_log"],
            flow_retention,
        ),
        azure(
            "network_bastion_host_exists",
            "An Azure Bastion host exists",
            Severity::Low,
            &["azure.network.bastion_host"],
            bastion,
        ),
        azure(
            "network_subnet_nsg_associated",
            "Subnets have an NSG",
            Severity::Medium,
            &["azure.network.virtual_network"],
            subnet_nsg,
        ),
        azure(
            "network_vnet_ddos_protection_enabled",
            "VNet DDoS protection on",
            Severity::Low,
            &["azure.network.virtual_network"],
            ddos,
        ),
    ]
}

/// Whether an NSG source means "the internet".
fn internet_source(p: &Value) -> bool {
    let any = |x: &str| {
        matches!(
            x.to_ascii_lowercase().as_str(),
            "*" | "0.0.0.0" | "0.0.0.0/0" | "internet" | "any" | "::/0"
        )
    };
    s(p, "/sourceAddressPrefix").is_some_and(any)
        || arr(p, "/sourceAddressPrefixes")
            .iter()
            .filter_map(Value::as_str)
            .any(any)
}

/// Whether a port spec (`*`, `22`, `20-30`) includes the port.
fn port_in(spec: &str, port: u16) -> bool {
    let spec = spec.trim();
    if spec == "*" {
        return true;
    }
    match spec.split_once('-') {
        Some((a, b)) => {
            matches!((a.trim().parse::<u16>(), b.trim().parse::<u16>()), (Ok(a), Ok(b)) if a <= port && port <= b)
        }
        None => spec.parse::<u16>() == Ok(port),
    }
}

/// Inbound Allow rules from the internet matching the protocol and (when given) a port.
fn open_rules<'v>(nsg: &'v Value, protocols: &[&str], ports: &[u16]) -> Vec<&'v str> {
    arr(nsg, "/properties/securityRules")
        .iter()
        .filter(|r| {
            let p = r.get("properties").unwrap_or(&Value::Null);
            let inbound = s(p, "/direction").is_some_and(|d| d.eq_ignore_ascii_case("Inbound"));
            let allow = s(p, "/access").is_some_and(|a| a.eq_ignore_ascii_case("Allow"));
            let proto = s(p, "/protocol").unwrap_or("*");
            let proto_ok = proto == "*" || protocols.iter().any(|x| x.eq_ignore_ascii_case(proto));
            let mut specs: Vec<&str> = arr(p, "/destinationPortRanges")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            if let Some(one) = s(p, "/destinationPortRange") {
                specs.push(one);
            }
            let port_ok = ports.is_empty()
                || ports
                    .iter()
                    .any(|port| specs.iter().any(|sp| port_in(sp, *port)));
            inbound && allow && proto_ok && port_ok && internet_source(p)
        })
        .filter_map(|r| s(r, "/name"))
        .collect()
}

fn nsg_check<'a>(
    ctx: &CheckCtx<'a>,
    out: &mut Vec<Outcome<'a>>,
    what: &'static str,
    protocols: &'static [&'static str],
    ports: &'static [u16],
) {
    per_doc(ctx, NSG, out, |d| {
        let open = open_rules(&d.raw, protocols, ports);
        let msg = if open.is_empty() {
            format!("{what} not open to the internet")
        } else {
            format!("{what} open to the internet")
        };
        Some((pass_if(open.is_empty()), msg.into(), ev!({"rules": open})))
    });
}

fn rdp<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    nsg_check(ctx, out, "RDP (3389)", &["Tcp"], &[3389]);
}

fn ssh<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    nsg_check(ctx, out, "SSH (22)", &["Tcp"], &[22]);
}

fn udp<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, NSG, out, |d| {
        // Only an explicit UDP rule counts; `*` rules are judged by the port checks.
        let open: Vec<&str> = open_rules(&d.raw, &["Udp"], &[])
            .into_iter()
            .filter(|name| {
                arr(&d.raw, "/properties/securityRules").iter().any(|r| {
                    s(r, "/name") == Some(*name)
                        && s(r, "/properties/protocol")
                            .is_some_and(|p| p.eq_ignore_ascii_case("Udp"))
                })
            })
            .collect();
        let msg = if open.is_empty() {
            "UDP not open to the internet"
        } else {
            "UDP open to the internet"
        };
        Some((pass_if(open.is_empty()), msg.into(), ev!({"rules": open})))
    });
}

fn http<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    nsg_check(ctx, out, "HTTP(S) (80/443)", &["Tcp"], &[80, 443]);
}

fn watcher<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for sub in azure_subscriptions(ctx) {
        let watchers: BTreeSet<String> = ctx
            .inventory
            .of_type("azure.network.watcher")
            .filter(|d| d.account == sub)
            .filter(|d| {
                s(&d.raw, "/properties/provisioningState").unwrap_or("Succeeded") == "Succeeded"
            })
            .map(|d| norm_location(&d.region))
            .collect();
        let in_use: BTreeSet<String> = ctx
            .inventory
            .regions_of(Provider::Azure, &sub)
            .iter()
            .map(|r| norm_location(r))
            .filter(|r| r != GLOBAL)
            .collect();
        for region in in_use {
            let ok = watchers.contains(&region);
            let msg = if ok {
                "Network Watcher enabled"
            } else {
                "no Network Watcher in a region in use"
            };
            out.push(scope_outcome(
                Provider::Azure,
                &sub,
                &region,
                pass_if(ok),
                msg,
                ev!({"location": region}),
            ));
        }
    }
}

fn flow_retention<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "azure.network.flow_log", out, |d| {
        let enabled = b(&d.raw, "/properties/retentionPolicy/enabled").unwrap_or(false);
        let days = i(&d.raw, "/properties/retentionPolicy/days").unwrap_or(0);
        let ok = enabled && (days == 0 || days >= 90);
        Some((
            pass_if(ok),
            format!(
                "retention {} ({days} days)",
                if enabled { "on" } else { "off" }
            )
            .into(),
            ev!({"enabled": enabled, "days": days}),
        ))
    });
}

fn bastion<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for sub in azure_subscriptions(ctx) {
        let hosts: Vec<&str> = ctx
            .inventory
            .of_type("azure.network.bastion_host")
            .filter(|d| d.account == sub)
            .map(|d| d.name.as_str())
            .collect();
        let msg = if hosts.is_empty() {
            "no Bastion host"
        } else {
            "Bastion host exists"
        };
        out.push(scope_outcome(
            Provider::Azure,
            &sub,
            GLOBAL,
            pass_if(!hosts.is_empty()),
            msg,
            ev!({"bastion_hosts": hosts}),
        ));
    }
}

/// Subnets that Azure does not allow (or need) an NSG on.
const NSG_EXEMPT_SUBNETS: [&str; 4] = [
    "GatewaySubnet",
    "AzureBastionSubnet",
    "AzureFirewallSubnet",
    "AzureFirewallManagementSubnet",
];

fn subnet_nsg<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "azure.network.virtual_network", out, |d| {
        let bare: Vec<&str> = arr(&d.raw, "/properties/subnets")
            .iter()
            .filter(|sn| {
                !NSG_EXEMPT_SUBNETS
                    .iter()
                    .any(|x| s(sn, "/name") == Some(*x))
            })
            .filter(|sn| sn.at("/properties/networkSecurityGroup/id").is_none())
            .filter_map(|sn| s(sn, "/name"))
            .collect();
        let st = if bare.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        };
        let msg = if bare.is_empty() {
            "every subnet has an NSG"
        } else {
            "subnets without an NSG"
        };
        Some((st, msg.into(), ev!({"subnets_without_nsg": bare})))
    });
}

fn ddos<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        "azure.network.virtual_network",
        "/properties/enableDdosProtection",
        is_true,
        "DDoS protection on",
        "DDoS protection off",
    );
}
