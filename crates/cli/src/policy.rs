//! `trustplane policy what-if`: conditional-access policies evaluated offline, for testing
//! policies as code in a pipeline. Directory facts (groups, roles) come from the input.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};
use trustplane_access::{
    load_named_locations, load_policies, parse_input, resolve_country, CountryLookup,
    MaxMindCountryLookup, PolicySet,
};

use crate::args::{Output, PolicyArgs, PolicyCommand, WhatIfArgs};
use crate::output;

pub fn run(args: PolicyArgs, out: Option<Output>) -> Result<i32> {
    let PolicyCommand::WhatIf(w) = args.command;
    let input = match &w.input {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?,
        None => flags_input(&w)?.to_string(),
    };
    let report = what_if(
        &w.policies,
        w.named_locations.as_deref(),
        &input,
        w.geoip.as_deref(),
    )?;
    // With --input the answer is JSON unless a table is asked for: it is meant for pipelines.
    let out = out.unwrap_or(if w.input.is_some() {
        Output::Json
    } else {
        Output::Table
    });
    let value = serde_json::to_value(&report)?;
    match out {
        Output::Json => println!("{}", serde_json::to_string_pretty(&value)?),
        Output::Table => print_table(&value),
    }
    Ok(0)
}

fn what_if(
    policies: &Path,
    locations: Option<&Path>,
    input: &str,
    geoip: Option<&Path>,
) -> Result<trustplane_access::Report> {
    let policies = load_policies(policies)?;
    let locations = match locations {
        Some(d) => load_named_locations(d)?,
        None => Vec::new(),
    };
    let set = PolicySet::compile(&policies, &locations)?;
    let mut ctx = parse_input(input)?;
    let lookup = match geoip {
        Some(p) => Some(
            MaxMindCountryLookup::open(p)
                .with_context(|| format!("cannot open GeoIP database {}", p.display()))?,
        ),
        None => None,
    };
    if let Some(l) = &lookup {
        resolve_country(&mut ctx, l as &dyn CountryLookup);
    }
    Ok(set.explain(&ctx))
}

/// The input JSON from flags.
fn flags_input(w: &WhatIfArgs) -> Result<Value> {
    if w.user.is_none() {
        bail!("give --input FILE, or at least --user");
    }
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<&String>| {
        if let Some(v) = v {
            m.insert(k.into(), Value::String(v.clone()));
        }
    };
    put("userId", w.user.as_ref());
    put("applicationId", w.app.as_ref());
    put("clientApp", w.client_app.as_ref());
    put("ip", w.ip.as_ref());
    put("country", w.country.as_ref());
    put("devicePlatform", w.platform.as_ref());
    put("signInRisk", w.sign_in_risk.as_ref());
    put("userRisk", w.user_risk.as_ref());
    m.insert("groupIds".into(), json!(w.groups));
    m.insert("roleIds".into(), json!(w.roles));
    m.insert("satisfiedControls".into(), json!(w.satisfied));
    Ok(Value::Object(m))
}

fn names(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p.get("displayName").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

fn print_table(v: &Value) {
    println!(
        "result:              {}",
        v["result"].as_str().unwrap_or("")
    );
    println!("enforced policies:   {}", names(&v["enforcedPolicies"]));
    println!("report-only:         {}", names(&v["reportOnlyPolicies"]));
    let controls: Vec<String> = v["requiredControls"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    c["anyOf"]
                        .as_array()
                        .map(|x| {
                            x.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(" or ")
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    println!("required controls:   {}", controls.join(", "));
    println!("session controls:    {}", v["sessionControls"]);
    let rows: Vec<Value> = v["notAppliedPolicies"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| json!({"displayName": p["displayName"], "reasons": p["reasons"]}))
                .collect()
        })
        .unwrap_or_default();
    output::list(
        Output::Table,
        &rows,
        &[("not applied", "displayName"), ("why", "reasons")],
    );
}
