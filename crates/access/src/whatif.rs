//! Offline what-if: load a folder of policy files, an optional folder of named locations and
//! an input describing one sign-in; evaluate; report.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::compile::PolicySet;
use crate::context::{DeviceInfo, SignInContext};
use crate::enums::*;
use crate::error::{from_value, Error, ParseError};
use crate::location::{CountryLookup, NamedLocation};
use crate::policy::ConditionalAccessPolicy;
use crate::report::Report;

/// The `.json` files of a folder, sorted by name so results do not depend on the file system.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads every `.json` file of `dir`; a file may hold one object, an array of objects, or a
/// Graph list response (`{"value": [...]}`). All failures are reported together.
fn load_dir<T: serde::de::DeserializeOwned>(
    dir: &Path,
    kind: &'static str,
) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for path in json_files(dir)? {
        let origin = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(source) => {
                errors.push(Error::Io { path, source });
                continue;
            }
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                errors.push(
                    ParseError::new(kind, ".".into(), e.to_string())
                        .with_origin(origin)
                        .into(),
                );
                continue;
            }
        };
        let items = match value {
            Value::Array(items) => items,
            Value::Object(mut o) if o.get("value").is_some_and(Value::is_array) => {
                match o.remove("value") {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                }
            }
            v => vec![v],
        };
        for item in items {
            match from_value::<T>(kind, item) {
                Ok(t) => out.push(t),
                Err(e) => errors.push(e.with_origin(origin.clone()).into()),
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Error::Files(errors))
    }
}

/// Loads every policy in a folder of Graph JSON files; a folder without any is an error, as
/// a what-if over no policies would answer "allow" about nothing.
pub fn load_policies(dir: &Path) -> Result<Vec<ConditionalAccessPolicy>, Error> {
    let policies = load_dir(dir, "policy")?;
    if policies.is_empty() {
        return Err(Error::Input(format!(
            "{} holds no policy: give a folder of Graph policy JSON files (*.json)",
            dir.display()
        )));
    }
    Ok(policies)
}

/// Loads every named location in a folder of Graph JSON files.
pub fn load_named_locations(dir: &Path) -> Result<Vec<NamedLocation>, Error> {
    load_dir(dir, "named location")
}

/// Graph's `POST /identity/conditionalAccess/evaluate` body (beta), plus the directory facts
/// Graph would look up itself.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphEvaluate {
    #[serde(default)]
    sign_in_identity: Option<Value>,
    #[serde(default)]
    sign_in_context: Option<Value>,
    #[serde(default)]
    sign_in_conditions: Option<GraphConditions>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct GraphConditions {
    authentication_flow: Option<Value>,
    client_app_type: Option<ClientAppType>,
    country: Option<String>,
    device_info: Option<serde_json::Map<String, Value>>,
    device_platform: Option<DevicePlatform>,
    insider_risk_level: Option<InsiderRiskLevel>,
    ip_address: Option<std::net::IpAddr>,
    service_principal_risk_level: Option<RiskLevel>,
    sign_in_risk_level: Option<RiskLevel>,
    user_risk_level: Option<RiskLevel>,
}

fn str_field<'a>(v: Option<&'a Value>, name: &str) -> Option<&'a str> {
    v.and_then(|v| v.get(name)).and_then(Value::as_str)
}

/// Parses a what-if input: either the flat [`SignInContext`] shape or a Graph evaluate body
/// (recognised by `signInIdentity`, `signInContext` or `signInConditions`), whose top level
/// may also carry the flat fields for directory facts (`groupIds`, `roleIds`, `isGuest`,
/// `satisfiedControls`, ...).
pub fn parse_input(text: &str) -> Result<SignInContext, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ParseError::new("what-if input", ".".into(), e.to_string()))?;
    let graph_shape = ["signInIdentity", "signInContext", "signInConditions"]
        .iter()
        .any(|k| value.get(k).is_some());
    if !graph_shape {
        let ctx = from_value::<SignInContext>("what-if input", value)?;
        check_input(&ctx)?;
        return Ok(ctx);
    }
    let mut value = value;
    // Graph's own annotations (`@odata.type`) are not conditions.
    if let Some(Value::Object(c)) = value.get_mut("signInConditions") {
        c.retain(|k, _| !k.starts_with('@'));
    }
    let g: GraphEvaluate = from_value("what-if input", value.clone())?;
    // Flat fields beside the Graph ones give the directory facts.
    let mut flat = value;
    if let Value::Object(o) = &mut flat {
        for k in [
            "signInIdentity",
            "signInContext",
            "signInConditions",
            "appliedPoliciesOnly",
        ] {
            o.remove(k);
        }
        o.retain(|k, _| !k.starts_with('@'));
    }
    let mut ctx: SignInContext = from_value("what-if input", flat)?;

    let identity = g.sign_in_identity.as_ref();
    let kind = str_field(identity, "@odata.type")
        .unwrap_or("")
        .to_ascii_lowercase();
    if kind.contains("serviceprincipalsignin") {
        ctx.service_principal_id = str_field(identity, "servicePrincipalId").map(str::to_owned);
    } else if let Some(u) = str_field(identity, "userId") {
        ctx.user_id = Some(u.to_owned());
    }

    let sctx = g.sign_in_context.as_ref();
    let kind = str_field(sctx, "@odata.type")
        .unwrap_or("")
        .to_ascii_lowercase();
    if kind.contains("useractioncontext") {
        ctx.user_action =
            str_field(sctx, "userAction").map(|a| match a.to_ascii_lowercase().as_str() {
                "registersecurityinformation" => "urn:user:registersecurityinfo".to_owned(),
                "registerorjoindevices" => "urn:user:registerdevice".to_owned(),
                _ => a.to_owned(),
            });
    } else if kind.contains("authcontext") {
        if let Some(c) = str_field(sctx, "authenticationContextValue") {
            ctx.authentication_contexts.push(c.to_owned());
        }
    } else if let Some(apps) = sctx
        .and_then(|c| c.get("includeApplications"))
        .and_then(Value::as_array)
    {
        if let Some(first) = apps.iter().find_map(Value::as_str) {
            ctx.application_id = Some(first.to_owned());
        }
    }

    if let Some(c) = g.sign_in_conditions {
        if let Some(t) = str_field(c.authentication_flow.as_ref(), "transferMethod") {
            ctx.authentication_flow = Some(TransferMethod::parse(t));
        }
        ctx.client_app = c.client_app_type.or(ctx.client_app);
        ctx.country = c.country.or(ctx.country);
        ctx.device_platform = c.device_platform.or(ctx.device_platform);
        ctx.insider_risk = c.insider_risk_level.or(ctx.insider_risk);
        ctx.ip = c.ip_address.or(ctx.ip);
        ctx.service_principal_risk = c
            .service_principal_risk_level
            .or(ctx.service_principal_risk);
        ctx.sign_in_risk = c.sign_in_risk_level.or(ctx.sign_in_risk);
        ctx.user_risk = c.user_risk_level.or(ctx.user_risk);
        if let Some(info) = c.device_info {
            ctx.device = device_from_graph(&info, std::mem::take(&mut ctx.device));
        }
    }
    check_input(&ctx)?;
    Ok(ctx)
}

/// Rejects values the evaluator would silently treat as unknown, naming the field.
fn check_input(ctx: &SignInContext) -> Result<(), Error> {
    let bad =
        |field: &str, value: &str| Err(Error::Input(format!("`{field}`: unknown value `{value}`")));
    if let Some(c) = &ctx.client_app {
        if !c.is_known() || *c == ClientAppType::All {
            return bad("clientApp", c.as_str());
        }
    }
    if let Some(p) = ctx.device_platform.as_ref().filter(|p| !p.is_known()) {
        return bad("devicePlatform", p.as_str());
    }
    for (field, level) in [
        ("signInRisk", &ctx.sign_in_risk),
        ("userRisk", &ctx.user_risk),
        ("servicePrincipalRisk", &ctx.service_principal_risk),
    ] {
        if let Some(l) = level.as_ref().filter(|l| !l.is_known()) {
            return bad(field, l.as_str());
        }
    }
    if let Some(l) = ctx.insider_risk.as_ref().filter(|l| !l.is_known()) {
        return bad("insiderRisk", l.as_str());
    }
    if let Some(f) = ctx.authentication_flow.as_ref().filter(|f| !f.is_known()) {
        return bad("authenticationFlow", f.as_str());
    }
    if let Some(g) = ctx.guest_type.as_ref().filter(|g| !g.is_known()) {
        return bad("guestType", g.as_str());
    }
    Ok(())
}

/// Graph's `deviceInfo` (isCompliant, trustType, deviceOwnership, ...) as [`DeviceInfo`].
fn device_from_graph(info: &serde_json::Map<String, Value>, mut device: DeviceInfo) -> DeviceInfo {
    for (k, v) in info {
        if k.starts_with('@') {
            continue;
        }
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => continue,
        };
        match k.as_str() {
            "isCompliant" => device.compliant = v.as_bool().unwrap_or(false),
            "trustType" if text.eq_ignore_ascii_case("ServerAD") => {
                device.trusted = true;
                device.attributes.insert(k.clone(), text);
            }
            _ => {
                device.attributes.insert(k.clone(), text);
            }
        }
    }
    device
}

/// Resolves the country from the IP when the input did not give one.
pub fn resolve_country(ctx: &mut SignInContext, lookup: &dyn CountryLookup) {
    if ctx.country.is_none() {
        if let Some(ip) = ctx.ip {
            ctx.country = lookup.country(ip);
        }
    }
}

/// The whole offline what-if: load policies (and named locations), read the input file,
/// resolve the country when a lookup is given, evaluate, report.
pub fn what_if(
    policies_dir: &Path,
    named_locations_dir: Option<&Path>,
    input_file: &Path,
    lookup: Option<&dyn CountryLookup>,
) -> Result<Report, Error> {
    let policies = load_policies(policies_dir)?;
    let locations = match named_locations_dir {
        Some(d) => load_named_locations(d)?,
        None => Vec::new(),
    };
    let set = PolicySet::compile(&policies, &locations)?;
    let text = std::fs::read_to_string(input_file).map_err(|source| Error::Io {
        path: input_file.to_owned(),
        source,
    })?;
    let mut ctx = parse_input(&text).map_err(|e| match e {
        Error::Parse(p) => Error::Parse(p.with_origin(input_file.display().to_string())),
        other => other,
    })?;
    if let Some(l) = lookup {
        resolve_country(&mut ctx, l);
    }
    Ok(set.explain(&ctx))
}
