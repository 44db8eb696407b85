//! CIS Azure App Service controls (3.0 section 9).
//!
//! Inputs: `azure.web.site` (a WebApps_List item), `azure.web.site_config` (WebApps_GetConfiguration,
//! id ending `/config/web`), `azure.web.site_auth_settings` (`/config/authsettingsV2` or
//! `/config/authsettings`). Settings come from the config document when present, otherwise from
//! the site's embedded `siteConfig`.

use std::collections::HashMap;

use serde_json::Value;

use super::util::*;
use crate::finding::{Severity, Status};
use crate::inventory::ResourceDoc;
use crate::registry::{CheckCtx, CheckDef, Outcome};

const SITE: &str = "azure.web.site";
const CONFIG: &str = "azure.web.site_config";

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    vec![
        azure(
            "app_ensure_http_is_redirected_to_https",
            "HTTPS only",
            Severity::Medium,
            &[SITE],
            https_only,
        ),
        azure(
            "app_ensure_auth_is_set_up",
            "App Service authentication on",
            Severity::Medium,
            &[SITE, "azure.web.site_auth_settings"],
            auth,
        ),
        azure(
            "app_ftp_deployment_disabled",
            "FTP disabled or FTPS only",
            Severity::Medium,
            &[SITE, CONFIG],
            ftps,
        ),
        azure(
            "app_minimum_tls_version_12",
            "Minimum TLS 1.2",
            Severity::Medium,
            &[SITE, CONFIG],
            min_tls,
        ),
        azure(
            "app_register_with_identity",
            "Managed identity registered",
            Severity::Low,
            &[SITE],
            identity,
        ),
        azure(
            "app_ensure_using_http20",
            "HTTP/2 enabled",
            Severity::Low,
            &[SITE, CONFIG],
            http2,
        ),
        azure(
            "app_remote_debugging_disabled",
            "Remote debugging off",
            Severity::Medium,
            &[SITE, CONFIG],
            remote_debugging,
        ),
    ]
}

fn https_only<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        SITE,
        "/properties/httpsOnly",
        is_true,
        "HTTPS only",
        "HTTP allowed",
    );
}

fn identity<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&Value>) -> bool {
        v.and_then(Value::as_str)
            .is_some_and(|t| !t.eq_ignore_ascii_case("None"))
    }
    prop_check(
        ctx,
        out,
        SITE,
        "/identity/type",
        ok,
        "managed identity registered",
        "no managed identity",
    );
}

/// Site id (lower case) -> `/config/...` children of a type.
fn configs<'a>(ctx: &CheckCtx<'a>, t: &str) -> HashMap<String, &'a ResourceDoc> {
    ctx.inventory
        .of_type(t)
        .filter_map(|d| azure_parent(&d.id, "config").map(|p| (p, d)))
        .collect()
}

/// Reads a site setting from the config document, falling back to the embedded siteConfig.
fn setting_check<'a>(
    ctx: &CheckCtx<'a>,
    out: &mut Vec<Outcome<'a>>,
    field: &'static str,
    ok: fn(&Value) -> bool,
    good: &'static str,
    bad: &'static str,
) {
    let cfg = configs(ctx, CONFIG);
    per_doc(ctx, SITE, out, |d| {
        let from_config = cfg
            .get(&d.id.to_ascii_lowercase())
            .and_then(|c| c.raw.at(&format!("/properties/{field}")))
            .filter(|v| !v.is_null());
        let v = from_config.or_else(|| {
            d.raw
                .at(&format!("/properties/siteConfig/{field}"))
                .filter(|v| !v.is_null())
        });
        let Some(v) = v else {
            return Some((
                Status::Error,
                format!("`{field}` not collected").into(),
                ev!({ field: () }),
            ));
        };
        let pass = ok(v);
        Some((
            pass_if(pass),
            if pass { good } else { bad }.into(),
            ev!({ field: v }),
        ))
    });
}

fn ftps<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: &Value) -> bool {
        str_in(Some(v), &["FtpsOnly", "Disabled"])
    }
    setting_check(
        ctx,
        out,
        "ftpsState",
        ok,
        "FTP disabled or FTPS only",
        "plain FTP allowed",
    );
}

fn min_tls<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: &Value) -> bool {
        str_in(Some(v), &["1.2", "1.3"])
    }
    setting_check(
        ctx,
        out,
        "minTlsVersion",
        ok,
        "minimum TLS 1.2 or later",
        "TLS below 1.2 accepted",
    );
}

fn http2<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: &Value) -> bool {
        is_true(Some(v))
    }
    setting_check(
        ctx,
        out,
        "http20Enabled",
        ok,
        "HTTP/2 enabled",
        "HTTP/2 disabled",
    );
}

fn remote_debugging<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: &Value) -> bool {
        is_false(Some(v))
    }
    setting_check(
        ctx,
        out,
        "remoteDebuggingEnabled",
        ok,
        "remote debugging off",
        "remote debugging on",
    );
}

fn auth<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let cfg = configs(ctx, "azure.web.site_auth_settings");
    per_doc(ctx, SITE, out, |d| {
        let Some(c) = cfg.get(&d.id.to_ascii_lowercase()) else {
            return Some((
                Status::Error,
                "authentication settings not collected".into(),
                ev!({"missing_type": "azure.web.site_auth_settings"}),
            ));
        };
        let on = b(&c.raw, "/properties/platform/enabled")
            .or_else(|| b(&c.raw, "/properties/enabled"))
            .unwrap_or(false);
        Some((
            pass_if(on),
            if on {
                "authentication on"
            } else {
                "authentication off"
            }
            .into(),
            ev!({"enabled": on}),
        ))
    });
}
