//! `trustplane discover --from-dir DIR --logs PATH`: apps, cloud services, identity providers
//! and access paths in use, from a saved inventory and log files, offline. Reads only.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use trustplane_discovery::{Catalog, Discoverer, DiscoveryOptions, DiscoveryReport, LogFormat};
use trustplane_posture::Inventory;

use crate::args::{DiscoverArgs, DiscoveryCommand, Output};
use crate::client::{enc, Client};
use crate::output;

pub async fn run(args: DiscoverArgs, out: Option<Output>) -> Result<i32> {
    if args.from_dir.is_none() && args.logs.is_empty() {
        bail!(
            "give --from-dir DIR (a saved inventory), --logs PATH (log files or folders), or both"
        );
    }
    let format = match &args.log_format {
        Some(f) => Some(LogFormat::parse(f).with_context(|| {
            format!(
                "unknown --log-format {f}; known formats: {}",
                LogFormat::KNOWN
            )
        })?),
        None => None,
    };
    let report = tokio::task::spawn_blocking(move || discover(&args, format)).await??;
    match out.unwrap_or(Output::Table) {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Table => print_table(&report),
    }
    Ok(0)
}

fn discover(args: &DiscoverArgs, format: Option<LogFormat>) -> Result<DiscoveryReport> {
    let mut catalog = Catalog::builtin()?;
    for file in &args.catalog {
        catalog.extend_from_file(file)?;
    }
    let options = DiscoveryOptions {
        trustplane_saml_providers: args.saml_providers.clone(),
        trustplane_issuers: args.issuers.clone(),
        sso_through_trustplane: args.sso_apps.iter().cloned().collect(),
        reviews: Default::default(),
        now: time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    let mut d = Discoverer::new(catalog, options);
    if let Some(dir) = &args.from_dir {
        let inv = Inventory::load_dir(dir)
            .with_context(|| format!("cannot read the inventory in {}", dir.display()))?;
        d.add_inventory(&inv);
    }
    if !args.logs.is_empty() {
        d.read_logs(&args.logs, format)?;
    }
    Ok(d.finish())
}

fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn print_table(r: &DiscoveryReport) {
    let rows: Vec<Value> = r
        .apps
        .iter()
        .map(|a| {
            let users = if a.users.len() > 3 {
                format!("{} (+{})", a.users[..3].join(", "), a.user_count - 3)
            } else {
                a.users.join(", ")
            };
            json!({
                "risk": format!("{} {}", a.risk.score, a.risk.level),
                "kind": serde_json::to_value(a.kind).unwrap_or_default(),
                "name": a.name,
                "account": a.account,
                "bypass": if a.bypasses_trustplane { "yes" } else { "" },
                "users": users,
                "events": a.events,
                "bytes": if a.bytes > 0 { size(a.bytes) } else { String::new() },
                "lastSeen": a.last_seen,
                "factors": a.risk.factors.iter().map(|f| format!("{} +{}", f.factor, f.points)).collect::<Vec<_>>().join(", "),
            })
        })
        .collect();
    output::list(
        Output::Table,
        &rows,
        &[
            ("risk", "risk"),
            ("kind", "kind"),
            ("name", "name"),
            ("account", "account"),
            ("bypasses Trustplane", "bypass"),
            ("users", "users"),
            ("events", "events"),
            ("traffic", "bytes"),
            ("last seen", "lastSeen"),
            ("factors", "factors"),
        ],
    );
    let read: u64 = r.sources.iter().map(|s| s.read).sum();
    println!(
        "{} apps and access paths; {} log files ({} records or lines), {} inventory documents; {} unreadable",
        r.apps.len(),
        r.sources.len(),
        read,
        r.inventory_documents,
        r.unparsed.count
    );
    for e in &r.unparsed.examples {
        let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
        match &e.text {
            Some(t) => println!("  unreadable {}{line}: {} ({t})", e.path, e.reason),
            None => println!("  unreadable {}{line}: {}", e.path, e.reason),
        }
    }
    if r.uncatalogued_hosts > 0 {
        let top: Vec<String> = r
            .top_uncatalogued
            .iter()
            .take(5)
            .map(|h| format!("{} ({})", h.host, h.events))
            .collect();
        println!(
            "{} destinations not in the catalogue, busiest: {}",
            r.uncatalogued_hosts,
            top.join(", ")
        );
    }
    for a in r.apps.iter().filter(|a| a.remediation.is_some()) {
        if let Some(rem) = &a.remediation {
            println!("remediation for {} ({}): {rem}", a.name, a.id);
        }
    }
}

const APP_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("kind", "kind"),
    ("name", "name"),
    ("review", "review"),
    ("risk", "risk.score"),
    ("users", "userCount"),
    ("lastSeen", "lastSeen"),
    ("owner", "reviewDetails.owner"),
    ("tags", "reviewDetails.tags"),
];

/// `trustplane admin discovery ...`: the server's discovered apps and their reviews.
pub async fn admin(client: &Client, c: DiscoveryCommand, out: Output) -> Result<()> {
    match c {
        DiscoveryCommand::List { state } => {
            let mut path = "/api/v1/discovery/apps?$top=5000".to_string();
            if let Some(s) = state {
                path.push_str(&format!("&state={}", enc(&s)));
            }
            output::list(out, &client.list(&path, false).await?, APP_COLUMNS);
        }
        DiscoveryCommand::Import { file } => {
            let body =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            output::one(
                out,
                &client.post_bytes("/api/v1/discovery/apps", body).await?,
            );
        }
        DiscoveryCommand::Get { id } => {
            let app = client
                .get(&format!("/api/v1/discovery/apps/{}", enc(&id)))
                .await?;
            output::one(out, &app);
        }
        DiscoveryCommand::Review {
            id,
            state,
            tags,
            owner,
            comment,
        } => {
            let mut patch = serde_json::Map::new();
            if let Some(s) = state {
                patch.insert("state".into(), json!(s));
            }
            if !tags.is_empty() {
                patch.insert("tags".into(), json!(tags));
            }
            if let Some(o) = owner {
                patch.insert("owner".into(), json!(o));
            }
            if let Some(c) = comment {
                patch.insert("comment".into(), json!(c));
            }
            if patch.is_empty() {
                bail!("give at least one of --state, --tag, --owner and --comment");
            }
            let app = client
                .patch(
                    &format!("/api/v1/discovery/apps/{}", enc(&id)),
                    &Value::Object(patch),
                )
                .await?;
            output::one(out, &app);
        }
    }
    Ok(())
}
