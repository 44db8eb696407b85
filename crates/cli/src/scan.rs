//! `trustplane scan --from-dir DIR`: assess a saved inventory against the CIS benchmarks and
//! report compliance per section, findings as OCSF JSON, CSV or HTML, and an exit code for
//! pipelines (`--fail-on`).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use trustplane_posture::report::{
    fails_at, render_report, section_scores, write_csv, write_ocsf_json, ReportMeta,
};
use trustplane_posture::{
    assess, AssessOptions, Assessment, Benchmark, Inventory, Registry, Severity, Status,
};

use crate::args::{Output, ScanArgs, ScanCloud};
use crate::output;
use crate::progress::Bar;

/// Exit code when `--fail-on` is met.
const FAILED_CONTROLS: i32 = 4;

pub async fn run(args: ScanArgs, out: Option<Output>) -> Result<i32> {
    let threshold = match &args.fail_on {
        Some(s) => Some(
            s.parse::<Severity>()
                .map_err(|_| anyhow::anyhow!("--fail-on must be low, medium, high or critical"))?,
        ),
        None => None,
    };
    let now = time::OffsetDateTime::now_utc();
    let mut meta = ReportMeta::new(TITLE);
    meta.scanned_at = Some(now.unix_timestamp());
    meta.version = env!("CARGO_PKG_VERSION").to_string();
    meta.source = match (&args.cloud, &args.from_dir) {
        (Some(ScanCloud::Aws { .. }), _) => "AWS".into(),
        (Some(ScanCloud::Azure { .. }), _) => "Azure".into(),
        (None, Some(dir)) => format!("saved inventory {}", dir.display()),
        (None, None) => String::new(),
    };
    // A failed scan still leaves a report behind when one was asked for, saying it failed:
    // a pipeline that publishes the file must not show last week's page as today's.
    let fail = |meta: &mut ReportMeta, e: anyhow::Error| -> anyhow::Error {
        if let Some(path) = &args.report {
            meta.failure = Some(format!("{e:#}"));
            let _ = std::fs::write(path, render_report(&Assessment::default(), meta));
        }
        e
    };
    let inventory = match load(&args).await {
        Ok(i) => i,
        Err(e) => return Err(fail(&mut meta, e)),
    };
    if let Some(dir) = &args.save_dir {
        inventory
            .save_dir(dir)
            .with_context(|| format!("cannot save the inventory to {}", dir.display()))?;
    }
    let benchmarks = match &args.benchmarks {
        Some(d) => Benchmark::load_dir(d)?,
        None => Benchmark::builtin()?,
    };
    let options = AssessOptions {
        now: now.unix_timestamp(),
        trustplane_saml_providers: args.saml_providers.clone(),
        federated_accounts: args.federated_accounts.clone(),
        known_identities: None,
    };
    let assessment = assess(&inventory, &benchmarks, &Registry::builtin(), &options);
    let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    if let Some(path) = &args.report {
        std::fs::write(path, render_report(&assessment, &meta))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    // Nothing judged is not a clean result: say why, print no report, exit non-zero.
    if let Some(why) = nothing_assessed(&inventory, &assessment) {
        bail!("{why}");
    }
    let mut stdout = std::io::stdout().lock();
    match (args.format.as_deref(), out.unwrap_or(Output::Table)) {
        (Some("csv"), _) => write_csv(&assessment, &mut stdout)?,
        (Some("html"), _) => {
            use std::io::Write;
            stdout.write_all(render_report(&assessment, &meta).as_bytes())?;
        }
        (_, Output::Json) => write_ocsf_json(&assessment, now_ms, &mut stdout)?,
        (_, Output::Table) => {
            drop(stdout);
            print_table(&inventory, &assessment);
        }
    }
    Ok(match threshold {
        Some(t) if fails_at(&assessment, t) => FAILED_CONTROLS,
        _ => 0,
    })
}

const TITLE: &str = "Trustplane cloud posture";

/// The inventory: collected from a cloud, or read from a folder.
async fn load(args: &ScanArgs) -> Result<Inventory> {
    match (&args.cloud, &args.from_dir) {
        (Some(cloud), None) => collect(cloud).await,
        (None, Some(dir)) => Inventory::load_dir(dir)
            .with_context(|| format!("cannot read the inventory in {}", dir.display())),
        (Some(_), Some(_)) => bail!("give a cloud or --from-dir, not both"),
        (None, None) => bail!("give a cloud (`trustplane scan aws` or `azure`) or --from-dir DIR"),
    }
}

/// Why no check could judge anything, if none could: documents of types no check reads
/// (another tool's JSON), or only collection errors.
fn nothing_assessed(inventory: &Inventory, a: &Assessment) -> Option<String> {
    if a.findings
        .iter()
        .any(|f| matches!(f.status, Status::Pass | Status::Fail))
    {
        return None;
    }
    let errors = inventory.collection_errors();
    if let Some(first) = errors.first() {
        return Some(format!(
            "nothing was assessed: all {} collections that mattered failed (first: {} in {}: {})",
            errors.len(),
            first.service,
            first.account,
            first
                .message
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    let mut types: Vec<&str> = inventory
        .docs()
        .iter()
        .map(|d| d.resource_type.as_str())
        .collect();
    types.sort_unstable();
    types.dedup();
    let shown = types.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    Some(format!(
        "nothing was assessed: {} documents, none of a resource type the checks read (types: {shown}{})",
        inventory.len(),
        if types.len() > 5 { ", ..." } else { "" }
    ))
}

/// The terminal view: scores per section, then the failing checks, most severe first, and
/// the checks that could not run.
fn print_table(inventory: &Inventory, assessment: &Assessment) {
    let rows: Vec<Value> = section_scores(assessment)
        .iter()
        .filter(|s| s.passed + s.failed + s.error > 0)
        .map(|s| {
            let score = if s.passed + s.failed == 0 { String::new() } else { format!("{:.0} %", 100.0 * s.passed as f64 / (s.passed + s.failed) as f64) };
            json!({ "benchmark": s.benchmark_label, "section": s.section, "pass": s.passed, "fail": s.failed, "error": s.error, "manual": s.manual, "score": score })
        })
        .collect();
    output::list(
        Output::Table,
        &rows,
        &[
            ("benchmark", "benchmark"),
            ("section", "section"),
            ("pass", "pass"),
            ("fail", "fail"),
            ("error", "error"),
            ("manual", "manual"),
            ("score", "score"),
        ],
    );
    // check -> (severity, controls, failed resources, an example, errors, first error)
    struct Row<'a> {
        severity: Severity,
        controls: String,
        failed: usize,
        example: &'a str,
        errors: usize,
        error: &'a str,
    }
    let mut checks: BTreeMap<&str, Row> = BTreeMap::new();
    for f in &assessment.findings {
        if !matches!(f.status, Status::Fail | Status::Error) {
            continue;
        }
        let r = checks.entry(f.check_id.as_ref()).or_insert_with(|| Row {
            severity: f.severity,
            controls: f
                .controls
                .iter()
                .map(|c| format!("{} {}", c.benchmark_label, c.id))
                .collect::<Vec<_>>()
                .join(", "),
            failed: 0,
            example: "",
            errors: 0,
            error: "",
        });
        if f.status == Status::Fail {
            r.failed += 1;
            if r.example.is_empty() {
                r.example = if f.resource.name.is_empty() {
                    &f.resource.id
                } else {
                    &f.resource.name
                };
            }
        } else {
            r.errors += 1;
            if r.error.is_empty() {
                r.error = &f.message;
            }
        }
    }
    let mut failing: Vec<(&str, &Row)> = checks
        .iter()
        .filter(|(_, r)| r.failed > 0)
        .map(|(k, r)| (*k, r))
        .collect();
    failing.sort_by(|a, b| {
        (
            std::cmp::Reverse(a.1.severity),
            std::cmp::Reverse(a.1.failed),
            a.0,
        )
            .cmp(&(
                std::cmp::Reverse(b.1.severity),
                std::cmp::Reverse(b.1.failed),
                b.0,
            ))
    });
    if !failing.is_empty() {
        println!("\nFailing checks, most severe first:");
        let rows: Vec<Value> = failing
            .iter()
            .map(|(check, r)| {
                let example = if r.failed > 1 {
                    format!("{} and {} more", r.example, r.failed - 1)
                } else {
                    r.example.to_string()
                };
                json!({"severity": r.severity.as_str(), "check": check, "controls": r.controls, "failed": r.failed, "resources": example})
            })
            .collect();
        output::list(
            Output::Table,
            &rows,
            &[
                ("severity", "severity"),
                ("check", "check"),
                ("controls", "controls"),
                ("failed", "failed"),
                ("resources", "resources"),
            ],
        );
    }
    let mut errored: Vec<(&str, &Row)> = checks
        .iter()
        .filter(|(_, r)| r.errors > 0)
        .map(|(k, r)| (*k, r))
        .collect();
    errored.sort_by_key(|(k, r)| (std::cmp::Reverse(r.severity), *k));
    if !errored.is_empty() {
        println!("\nChecks that could not run (ERROR):");
        let rows: Vec<Value> = errored
            .iter()
            .map(|(check, r)| json!({"severity": r.severity.as_str(), "check": check, "errors": r.errors, "reason": r.error}))
            .collect();
        output::list(
            Output::Table,
            &rows,
            &[
                ("severity", "severity"),
                ("check", "check"),
                ("errors", "errors"),
                ("reason", "reason"),
            ],
        );
    }
    let count = |st: Status| {
        assessment
            .findings
            .iter()
            .filter(|f| f.status == st)
            .count()
    };
    println!(
        "{} resources, {} findings: {} pass, {} fail, {} error, {} manual",
        inventory.len(),
        assessment.findings.len(),
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Error),
        count(Status::Manual)
    );
}

/// Collects an inventory from a cloud. A failure to authenticate or to reach the cloud at all
/// is an error (no report is printed); a failure of one service becomes ERROR findings.
async fn collect(cloud: &ScanCloud) -> Result<Inventory> {
    match cloud {
        ScanCloud::Aws {
            regions,
            endpoint_url,
            assume_roles,
        } => {
            let bar = Bar::new(0, "collections");
            let hook = {
                let bar = bar.clone();
                trustplane_aws::ProgressHook(Arc::new(move |p| match p {
                    trustplane_aws::Progress::Planned(n) => bar.grow(n as u64),
                    trustplane_aws::Progress::Finished => bar.step(),
                }))
            };
            let options = trustplane_aws::CollectOptions {
                endpoint_url: endpoint_url.clone(),
                regions: regions.clone(),
                assume_roles: assume_roles.clone(),
                progress: Some(hook),
                ..Default::default()
            };
            eprintln!("collecting from AWS...");
            let docs = trustplane_aws::collect(&options).await;
            bar.finish();
            let docs = docs.context("AWS collection failed")?;
            eprintln!("collected {} documents", docs.len());
            Ok(Inventory::from_docs(docs))
        }
        ScanCloud::Azure {
            subscriptions,
            arm_endpoint,
            graph_endpoint,
            login_endpoint,
        } => {
            let credential = trustplane_azure::Credential::from_env().context(
                "no Azure credentials: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or AZURE_ACCESS_TOKEN",
            )?;
            let mut options = trustplane_azure::Options::new(credential);
            options.subscriptions = subscriptions.clone();
            if let Some(e) = arm_endpoint {
                options.arm_endpoint = e.clone();
            }
            if let Some(e) = graph_endpoint {
                options.graph_endpoint = e.clone();
            }
            if let Some(e) = login_endpoint {
                options.login_endpoint = e.clone();
            }
            let bar = Bar::new(0, "requests");
            options.progress = Some({
                let bar = bar.clone();
                trustplane_azure::ProgressHook(Arc::new(move |p| match p {
                    trustplane_azure::Progress::Started => bar.grow(1),
                    trustplane_azure::Progress::Finished => bar.step(),
                }))
            });
            eprintln!("collecting from Azure...");
            let docs = trustplane_azure::collect(&options).await;
            bar.finish();
            let docs = docs.context("Azure collection failed")?;
            eprintln!("collected {} documents", docs.len());
            Ok(Inventory::from_docs(docs))
        }
    }
}
