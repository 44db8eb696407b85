//! CIS AWS networking controls (3.0 section 5, 7.0 section 6) and instance controls.
//!
//! Inputs: `aws.ec2.network_acl` (a DescribeNetworkAcls item), `aws.ec2.security_group` (a
//! DescribeSecurityGroups item), `aws.ec2.instance` (a DescribeInstances instance).

use std::collections::HashMap;

use serde_json::{json, Value};

use super::util::*;
use crate::finding::Severity;
use crate::inventory::{Provider, ResourceDoc};
use crate::registry::{CheckCtx, CheckDef, Outcome};

/// Remote administration ports (SSH, RDP).
pub const ADMIN_PORTS: [i64; 2] = [22, 3389];

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
            "ec2_networkacl_allow_ingress_admin_ports",
            "No NACL admits 0.0.0.0/0 or ::/0 to ports 22/3389",
            Severity::Medium,
            &["aws.ec2.network_acl"],
            nacl_admin,
        ),
        def(
            "ec2_securitygroup_admin_ports_open_ipv4",
            "No security group admits 0.0.0.0/0 to ports 22/3389",
            Severity::High,
            &["aws.ec2.security_group"],
            sg_ipv4,
        ),
        def(
            "ec2_securitygroup_admin_ports_open_ipv6",
            "No security group admits ::/0 to ports 22/3389",
            Severity::High,
            &["aws.ec2.security_group"],
            sg_ipv6,
        ),
        def(
            "ec2_securitygroup_default_restrict_traffic",
            "Default security groups restrict all traffic",
            Severity::Medium,
            &["aws.ec2.security_group"],
            default_sg,
        ),
        def(
            "ec2_instance_imdsv2_enabled",
            "Instances require IMDSv2",
            Severity::Medium,
            &["aws.ec2.instance"],
            imdsv2,
        ),
        def(
            "ec2_instance_profile_attached",
            "Instances use an instance profile",
            Severity::Low,
            &["aws.ec2.instance"],
            instance_profile,
        ),
        def(
            "ec2_instance_port_cifs_exposed_to_internet",
            "No instance exposes CIFS (445) to the internet",
            Severity::High,
            &["aws.ec2.instance", "aws.ec2.security_group"],
            cifs,
        ),
    ]
}

fn is_tcp_or_all(proto: Option<&str>) -> bool {
    matches!(
        proto,
        None | Some("-1") | Some("6") | Some("tcp") | Some("all")
    )
}

fn covers(from: Option<i64>, to: Option<i64>, port: i64) -> bool {
    match (from, to) {
        (Some(f), Some(t)) if f >= 0 => f <= port && port <= t,
        // No range (or -1) means every port.
        _ => true,
    }
}

/// Admin ports an ingress permission opens to the given "anywhere" CIDR.
fn sg_open_ports(perm: &Value, ipv6: bool) -> Vec<i64> {
    let proto = perm.get("IpProtocol").and_then(Value::as_str);
    if !is_tcp_or_all(proto) {
        return Vec::new();
    }
    let anywhere = if ipv6 {
        arr(perm, "/Ipv6Ranges")
            .iter()
            .any(|r| s(r, "/CidrIpv6") == Some("::/0"))
    } else {
        arr(perm, "/IpRanges")
            .iter()
            .any(|r| s(r, "/CidrIp") == Some("0.0.0.0/0"))
    };
    if !anywhere {
        return Vec::new();
    }
    let all = proto == Some("-1") || proto == Some("all");
    let (from, to) = if all {
        (None, None)
    } else {
        (i(perm, "/FromPort"), i(perm, "/ToPort"))
    };
    ADMIN_PORTS
        .iter()
        .copied()
        .filter(|p| covers(from, to, *p))
        .collect()
}

fn sg_check<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>, ipv6: bool) {
    let cidr = if ipv6 { "::/0" } else { "0.0.0.0/0" };
    per_doc(ctx, "aws.ec2.security_group", out, |d| {
        let mut open: Vec<i64> = arr(&d.raw, "/IpPermissions")
            .iter()
            .flat_map(|p| sg_open_ports(p, ipv6))
            .collect();
        open.sort();
        open.dedup();
        let msg = if open.is_empty() {
            format!("no admin port open to {cidr}")
        } else {
            format!("admin ports {open:?} open to {cidr}")
        };
        Some((
            pass_if(open.is_empty()),
            msg.into(),
            ev!({"cidr": cidr, "open_ports": open}),
        ))
    });
}

fn sg_ipv4<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    sg_check(ctx, out, false);
}

fn sg_ipv6<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    sg_check(ctx, out, true);
}

fn nacl_admin<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "aws.ec2.network_acl", out, |d| {
        let mut entries: Vec<&Value> = arr(&d.raw, "/Entries")
            .iter()
            .filter(|e| b(e, "/Egress") != Some(true))
            .collect();
        entries.sort_by_key(|e| i(e, "/RuleNumber").unwrap_or(i64::MAX));
        let mut open = Vec::new();
        for (cidr_field, cidr) in [("/CidrBlock", "0.0.0.0/0"), ("/Ipv6CidrBlock", "::/0")] {
            for port in ADMIN_PORTS {
                // The first rule (by number) that matches traffic from anywhere decides.
                let decided = entries.iter().find(|e| {
                    s(e, cidr_field) == Some(cidr)
                        && is_tcp_or_all(s(e, "/Protocol"))
                        && covers(i(e, "/PortRange/From"), i(e, "/PortRange/To"), port)
                });
                if decided.is_some_and(|e| s(e, "/RuleAction") == Some("allow")) {
                    open.push(json!({"cidr": cidr, "port": port}));
                }
            }
        }
        let msg = if open.is_empty() {
            "NACL does not admit admin ports from anywhere"
        } else {
            "NACL admits admin ports from anywhere"
        };
        Some((pass_if(open.is_empty()), msg.into(), ev!({"open": open})))
    });
}

fn default_sg<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "aws.ec2.security_group", out, |d| {
        if s(&d.raw, "/GroupName") != Some("default") {
            return None;
        }
        let ingress = arr(&d.raw, "/IpPermissions").len();
        let egress = arr(&d.raw, "/IpPermissionsEgress").len();
        let ok = ingress == 0 && egress == 0;
        let msg = if ok {
            "default security group has no rules"
        } else {
            "default security group has rules"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"ingress_rules": ingress, "egress_rules": egress}),
        ))
    });
}

fn live(d: &ResourceDoc) -> bool {
    !matches!(
        s(&d.raw, "/State/Name"),
        Some("terminated") | Some("shutting-down")
    )
}

fn imdsv2<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "aws.ec2.instance", out, |d| {
        if !live(d) {
            return None;
        }
        let tokens = s(&d.raw, "/MetadataOptions/HttpTokens");
        let endpoint = s(&d.raw, "/MetadataOptions/HttpEndpoint");
        let ok = tokens == Some("required") || endpoint == Some("disabled");
        let msg = if ok {
            "IMDSv2 required (or metadata disabled)"
        } else {
            "IMDSv1 allowed"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"HttpTokens": tokens, "HttpEndpoint": endpoint}),
        ))
    });
}

fn instance_profile<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "aws.ec2.instance", out, |d| {
        if !live(d) {
            return None;
        }
        let p = s(&d.raw, "/IamInstanceProfile/Arn");
        Some((
            pass_if(p.is_some()),
            if p.is_some() {
                "instance profile attached"
            } else {
                "no instance profile"
            }
            .into(),
            ev!({"IamInstanceProfile": p}),
        ))
    });
}

fn cifs<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let mut open: HashMap<(&str, &str), bool> = HashMap::new();
    for g in ctx.inventory.of_type("aws.ec2.security_group") {
        let exposed = arr(&g.raw, "/IpPermissions").iter().any(|p| {
            let proto = p.get("IpProtocol").and_then(Value::as_str);
            let anywhere = arr(p, "/IpRanges")
                .iter()
                .any(|r| s(r, "/CidrIp") == Some("0.0.0.0/0"))
                || arr(p, "/Ipv6Ranges")
                    .iter()
                    .any(|r| s(r, "/CidrIpv6") == Some("::/0"));
            let all = matches!(proto, Some("-1") | Some("all"));
            let ports = if all {
                true
            } else {
                is_tcp_or_all(proto) && covers(i(p, "/FromPort"), i(p, "/ToPort"), 445)
            };
            anywhere && ports
        });
        let gid = s(&g.raw, "/GroupId").unwrap_or(&g.id);
        open.insert((g.account.as_str(), gid), exposed);
    }
    per_doc(ctx, "aws.ec2.instance", out, |d| {
        if !live(d) {
            return None;
        }
        let groups: Vec<&str> = arr(&d.raw, "/SecurityGroups")
            .iter()
            .filter_map(|g| s(g, "/GroupId"))
            .collect();
        let exposing: Vec<&str> = groups
            .iter()
            .copied()
            .filter(|g| {
                open.get(&(d.account.as_str(), *g))
                    .copied()
                    .unwrap_or(false)
            })
            .collect();
        let msg = if exposing.is_empty() {
            "CIFS not open to the internet"
        } else {
            "a security group opens CIFS (445) to the internet"
        };
        Some((
            pass_if(exposing.is_empty()),
            msg.into(),
            ev!({"security_groups": groups, "exposing": exposing}),
        ))
    });
}
