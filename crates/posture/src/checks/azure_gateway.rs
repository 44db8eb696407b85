//! CIS Azure 6.0 gateway controls (7.9-7.15): Application Gateway, its WAF policy, and VPN
//! gateway point-to-site authentication.
//!
//! Inputs: `azure.network.application_gateway` (ApplicationGateways_ListAll item),
//! `azure.network.waf_policy` (WebApplicationFirewallPolicies_ListAll item),
//! `azure.network.virtual_network_gateway` (VirtualNetworkGateways_List item).

use serde_json::Value;

use super::util::*;
use crate::finding::Severity;
use crate::registry::{CheckCtx, CheckDef, Outcome};

const APPGW: &str = "azure.network.application_gateway";
const WAF: &str = "azure.network.waf_policy";
const VNG: &str = "azure.network.virtual_network_gateway";

/// Predefined SSL policies whose minimum protocol is TLS 1.2.
const TLS12_POLICIES: [&str; 3] = [
    "AppGwSslPolicy20170401S",
    "AppGwSslPolicy20220101",
    "AppGwSslPolicy20220101S",
];

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    vec![
        azure(
            "network_appgw_waf_enabled",
            "Application Gateway has a WAF",
            Severity::High,
            &[APPGW],
            waf_enabled,
        ),
        azure(
            "network_appgw_min_tls_12",
            "Application Gateway SSL policy minimum TLS 1.2",
            Severity::Medium,
            &[APPGW],
            min_tls,
        ),
        azure(
            "network_appgw_http2_enabled",
            "Application Gateway HTTP/2 enabled",
            Severity::Low,
            &[APPGW],
            http2,
        ),
        azure(
            "network_waf_request_body_inspection_enabled",
            "WAF policy inspects request bodies",
            Severity::Medium,
            &[WAF],
            body_inspection,
        ),
        azure(
            "network_waf_bot_protection_enabled",
            "WAF policy has bot protection",
            Severity::Medium,
            &[WAF],
            bot_protection,
        ),
        azure(
            "network_vpn_gateway_entra_auth_only",
            "VPN point-to-site uses Entra ID authentication only",
            Severity::Medium,
            &[VNG],
            vpn_auth,
        ),
    ]
}

fn waf_enabled<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, APPGW, out, |d| {
        let legacy = b(
            &d.raw,
            "/properties/webApplicationFirewallConfiguration/enabled",
        )
        .unwrap_or(false);
        let policy = s(&d.raw, "/properties/firewallPolicy/id");
        let ok = legacy || policy.is_some();
        let msg = if ok { "WAF enabled" } else { "no WAF" };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"waf_configuration_enabled": legacy, "firewallPolicy": policy}),
        ))
    });
}

fn min_tls<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, APPGW, out, |d| {
        let min = s(&d.raw, "/properties/sslPolicy/minProtocolVersion");
        let name = s(&d.raw, "/properties/sslPolicy/policyName");
        let ok = matches!(min, Some("TLSv1_2") | Some("TLSv1_3"))
            || name.is_some_and(|n| TLS12_POLICIES.contains(&n));
        let msg = if ok {
            "minimum TLS 1.2 or later"
        } else {
            "TLS below 1.2 accepted (or default policy)"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"minProtocolVersion": min, "policyName": name}),
        ))
    });
}

fn http2<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        APPGW,
        "/properties/enableHttp2",
        is_true,
        "HTTP/2 enabled",
        "HTTP/2 disabled",
    );
}

fn body_inspection<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        WAF,
        "/properties/policySettings/requestBodyCheck",
        is_true,
        "request body inspection on",
        "request body inspection off",
    );
}

fn bot_protection<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&Value>) -> bool {
        v.and_then(Value::as_array).is_some_and(|sets| {
            sets.iter()
                .any(|r| s(r, "/ruleSetType") == Some("Microsoft_BotManagerRuleSet"))
        })
    }
    prop_check(
        ctx,
        out,
        WAF,
        "/properties/managedRules/managedRuleSets",
        ok,
        "bot manager rule set on",
        "no bot manager rule set",
    );
}

fn vpn_auth<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, VNG, out, |d| {
        // Gateways without point-to-site configuration are not in scope.
        let cfg = d
            .raw
            .at("/properties/vpnClientConfiguration")
            .filter(|v| !v.is_null())?;
        let types: Vec<&str> = arr(cfg, "/vpnAuthenticationTypes")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let ok = types == ["AAD"];
        let msg = if ok {
            "point-to-site uses Entra ID only"
        } else {
            "point-to-site allows certificate or RADIUS authentication"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"vpnAuthenticationTypes": types}),
        ))
    });
}
