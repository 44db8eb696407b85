//! `trustplane scan --from-dir DIR`: assess a saved inventory against the CIS benchmarks and
//! report compliance per section, findings as OCSF JSON, CSV or HTML, and an exit code for
//! pipelines (`--fail-on`).

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use trustplane_posture::report::{
    fails_at, render_html, section_scores, write_csv, write_ocsf_json,
};
use trustplane_posture::{assess, AssessOptions, Benchmark, Inventory, Registry, Severity, Status};

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
    let inventory = match (&args.cloud, &args.from_dir) {
        (Some(cloud), None) => collect(cloud).await?,
        (None, Some(dir)) => Inventory::load_dir(dir)
            .with_context(|| format!("cannot read the inventory in {}", dir.display()))?,
        (Some(_), Some(_)) => bail!("give a cloud or --from-dir, not both"),
        (None, None) => bail!("give a cloud (`trustplane scan aws` or `azure`) or --from-dir DIR"),
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
    let now = time::OffsetDateTime::now_utc();
    let options = AssessOptions {
        now: now.unix_timestamp(),
        trustplane_saml_providers: args.saml_providers.clone(),
        federated_accounts: args.federated_accounts.clone(),
        known_identities: None,
    };
    let assessment = assess(&inventory, &benchmarks, &Registry::builtin(), &options);
    let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    if let Some(path) = &args.report {
        std::fs::write(path, render_html(&assessment, "Trustplane cloud posture"))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    match (args.format.as_deref(), out.unwrap_or(Output::Table)) {
        (Some("csv"), _) => write_csv(&assessment, &mut stdout)?,
        (Some("html"), _) => {
            use std::io::Write;
            stdout.write_all(render_html(&assessment, "Trustplane cloud posture").as_bytes())?;
        }
        (_, Output::Json) => write_ocsf_json(&assessment, now_ms, &mut stdout)?,
        (_, Output::Table) => {
            drop(stdout);
            let rows: Vec<Value> = section_scores(&assessment)
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
    }
    Ok(match threshold {
        Some(t) if fails_at(&assessment, t) => FAILED_CONTROLS,
        _ => 0,
    })
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
