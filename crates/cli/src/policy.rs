//! `trustplane policy ...`: conditional-access policies on the server (list, import, export,
//! state changes) and `what-if`, offline against a folder for testing policies as code in a
//! pipeline (directory facts come from the input), or on the server with its directory.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};
use trustplane_access::{
    load_named_locations, load_policies, parse_input, resolve_country, CountryLookup,
    MaxMindCountryLookup, PolicySet,
};

use crate::args::{ImportAs, LocationsCommand, Output, PolicyArgs, PolicyCommand, WhatIfArgs};
use crate::client::{enc, Client};
use crate::output;

pub async fn run(args: PolicyArgs, out: Option<Output>) -> Result<i32> {
    let w = match args.command {
        PolicyCommand::WhatIf(w) => w,
        other => {
            return manage(
                &Client::new(&args.api)?,
                other,
                out.unwrap_or(Output::Table),
            )
            .await
        }
    };
    let input = match &w.input {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?,
        None => flags_input(&w)?.to_string(),
    };
    let value = match &w.policies {
        Some(dir) => serde_json::to_value(what_if(
            dir,
            w.named_locations.as_deref(),
            &input,
            w.geoip.as_deref(),
        )?)?,
        None => {
            let body: Value = serde_json::from_str(&input).context("the input is not JSON")?;
            Client::new(&args.api)?
                .post(&format!("{BASE}/evaluate"), &body)
                .await?
                .unwrap_or(Value::Null)
        }
    };
    // With --input the answer is JSON unless a table is asked for: it is meant for pipelines.
    let out = out.unwrap_or(if w.input.is_some() {
        Output::Json
    } else {
        Output::Table
    });
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
    print_applied(&v["enforcedPolicies"]);
    println!("report-only:         {}", names(&v["reportOnlyPolicies"]));
    print_applied(&v["reportOnlyPolicies"]);
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
    for w in v["warnings"].as_array().into_iter().flatten() {
        println!("warning: {}", w.as_str().unwrap_or_default());
    }
}

/// One line per applied policy: what it does to this sign-in, its grant controls in full,
/// and those this sign-in has still to satisfy.
fn print_applied(policies: &Value) {
    let words = |v: &Value, sep: &str| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(sep)
            })
            .unwrap_or_default()
    };
    for p in policies.as_array().into_iter().flatten() {
        let grant = &p["grantControls"];
        let operator = if grant["operator"] == "AND" {
            " and "
        } else {
            " or "
        };
        let mut line = format!(
            "  - {}: {}",
            p["displayName"].as_str().unwrap_or_default(),
            p["result"].as_str().unwrap_or_default()
        );
        if grant.is_object() {
            line.push_str(&format!("; grant: {}", words(&grant["controls"], operator)));
        }
        let still: Vec<String> = p["requiredControls"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| words(&c["anyOf"], " or "))
            .collect();
        if !still.is_empty() {
            line.push_str(&format!("; still needed: {}", still.join(", ")));
        }
        println!("{line}");
    }
}

const BASE: &str = "/api/v1/identity/conditionalAccess";
const POLICY_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("displayName", "displayName"),
    ("state", "state"),
    ("modified", "modifiedDateTime"),
];
const LOCATION_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("displayName", "displayName"),
    ("type", "@odata.type"),
];

/// Reads every `*.json` file of a folder, in name order.
fn json_files(dir: &Path) -> Result<Vec<(String, Value)>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
                .with_context(|| format!("{} is not JSON", p.display()))?;
            Ok((p.display().to_string(), value))
        })
        .collect()
}

async fn import(client: &Client, kind: &str, dir: &Path, out: Output) -> Result<i32> {
    let mut imported = 0;
    for (file, body) in json_files(dir)? {
        client
            .post(&format!("{BASE}/{kind}"), &body)
            .await
            .with_context(|| format!("{file} was refused"))?;
        imported += 1;
    }
    output::done(out, &format!("imported {imported} from {}", dir.display()));
    Ok(0)
}

/// Imports policies one by one: a refused one is reported and the others still go in, and
/// the exit code says whether any was refused.
async fn import_policies(
    client: &Client,
    dir: &Path,
    state: Option<ImportAs>,
    force: bool,
    out: Output,
) -> Result<i32> {
    let files = json_files(dir)?;
    if files.is_empty() {
        bail!("{} holds no *.json policy files", dir.display());
    }
    let mut query = vec![];
    if force {
        query.push("force=true");
    }
    if state.is_none() {
        query.push("reportOnlyIfItAppliesToMe=true");
    }
    let path = if query.is_empty() {
        format!("{BASE}/policies")
    } else {
        format!("{BASE}/policies?{}", query.join("&"))
    };
    let mut imported = Vec::new();
    let mut refused = Vec::new();
    let mut warnings = Vec::new();
    for (file, mut body) in files {
        if state == Some(ImportAs::ReportOnly) && body["state"] == "enabled" {
            body["state"] = json!("enabledForReportingButNotEnforced");
        }
        let name = body["displayName"].as_str().unwrap_or(&file).to_string();
        match client.post(&path, &body).await {
            Ok(stored) => {
                let stored = stored.unwrap_or(Value::Null);
                for w in stored["@trustplane.warnings"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    warnings.push(json!({"policy": name, "warning": w}));
                }
                imported.push(json!({"policy": name, "state": stored["state"]}));
            }
            Err(e) => {
                refused.push(json!({"policy": name, "file": file, "reason": format!("{e:#}")}))
            }
        }
    }
    let summary = json!({"imported": imported, "refused": refused, "warnings": warnings});
    match out {
        Output::Json => println!("{summary}"),
        Output::Table => {
            for i in &imported {
                println!("imported  {}  ({})", text(&i["policy"]), text(&i["state"]));
            }
            for w in &warnings {
                println!("warning   {}: {}", text(&w["policy"]), text(&w["warning"]));
            }
            for r in &refused {
                println!(
                    "refused   {} ({}): {}",
                    text(&r["policy"]),
                    text(&r["file"]),
                    text(&r["reason"])
                );
            }
            println!(
                "imported {} of {} from {}",
                imported.len(),
                imported.len() + refused.len(),
                dir.display()
            );
        }
    }
    Ok(if refused.is_empty() { 0 } else { 1 })
}

fn text(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

async fn set_state(
    client: &Client,
    ids: &[String],
    state: &str,
    force: bool,
    out: Output,
) -> Result<i32> {
    let mut failed = 0;
    let mut results = Vec::new();
    for id in ids {
        let query = if force { "?force=true" } else { "" };
        match client
            .patch(
                &format!("{BASE}/policies/{}{query}", enc(id)),
                &json!({ "state": state }),
            )
            .await
        {
            Ok(p) => results
                .push(json!({"policy": p["displayName"].as_str().unwrap_or(id), "state": state})),
            Err(e) => {
                failed += 1;
                results.push(json!({"policy": id, "error": format!("{e:#}")}));
            }
        }
    }
    match out {
        Output::Json => println!("{}", json!({ "value": results })),
        Output::Table => {
            for r in &results {
                match r.get("error") {
                    Some(e) => println!("{}: {}", text(&r["policy"]), text(e)),
                    None => println!("{} is now {state}", text(&r["policy"])),
                }
            }
        }
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

async fn manage(client: &Client, command: PolicyCommand, out: Output) -> Result<i32> {
    match command {
        PolicyCommand::WhatIf(_) => Ok(2),
        PolicyCommand::List => {
            output::list(
                out,
                &client.list(&format!("{BASE}/policies"), false).await?,
                POLICY_COLUMNS,
            );
            Ok(0)
        }
        PolicyCommand::Get { id } => {
            // Graph JSON is the useful form of a policy, so it is printed as such.
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &client.get(&format!("{BASE}/policies/{}", enc(&id))).await?
                )?
            );
            Ok(0)
        }
        PolicyCommand::Import { dir, state, force } => {
            import_policies(client, &dir, state, force, out).await
        }
        PolicyCommand::Export { dir } => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let policies = client.list(&format!("{BASE}/policies"), false).await?;
            for p in &policies {
                let id = p["id"].as_str().unwrap_or_default();
                let safe: String = id
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                std::fs::write(
                    dir.join(format!("{safe}.json")),
                    serde_json::to_string_pretty(p)?,
                )?;
            }
            output::done(
                out,
                &format!("exported {} policies to {}", policies.len(), dir.display()),
            );
            Ok(0)
        }
        PolicyCommand::Delete { ids } => {
            for id in &ids {
                client
                    .delete(&format!("{BASE}/policies/{}", enc(id)))
                    .await
                    .with_context(|| format!("policy {id}"))?;
            }
            output::done(out, &format!("deleted {} policies", ids.len()));
            Ok(0)
        }
        PolicyCommand::Enable { ids, force } => {
            set_state(client, &ids, "enabled", force, out).await
        }
        PolicyCommand::Disable { ids } => set_state(client, &ids, "disabled", false, out).await,
        PolicyCommand::ReportOnly { ids } => {
            set_state(
                client,
                &ids,
                "enabledForReportingButNotEnforced",
                false,
                out,
            )
            .await
        }
        PolicyCommand::Locations(LocationsCommand::List) => {
            output::list(
                out,
                &client
                    .list(&format!("{BASE}/namedLocations"), false)
                    .await?,
                LOCATION_COLUMNS,
            );
            Ok(0)
        }
        PolicyCommand::Locations(LocationsCommand::Import { dir }) => {
            import(client, "namedLocations", &dir, out).await
        }
        PolicyCommand::Locations(LocationsCommand::Delete { id }) => {
            client
                .delete(&format!("{BASE}/namedLocations/{}", enc(&id)))
                .await?;
            output::done(out, &format!("deleted named location {id}"));
            Ok(0)
        }
    }
}
