//! Assessing a collected inventory and recording its findings.

use serde_json::json;
use trustplane_posture::report::section_scores;
use trustplane_posture::{assess, AssessOptions, Benchmark, Inventory, Provider, Registry};
use trustplane_store::ScanFinding;

/// Assesses an inventory with the built-in benchmarks (the directory as the identity
/// reference) and records its findings: the summary, the accounts it covered, and the
/// section scores. Uploaded scans and scheduled scans of connected accounts both use it.
pub async fn assess_and_record(
    store: &trustplane_store::Store,
    actor: &trustplane_model::Actor,
    inventory: &Inventory,
) -> Result<
    (
        trustplane_store::ScanSummary,
        Vec<String>,
        Vec<serde_json::Value>,
    ),
    trustplane_store::StoreError,
> {
    let benchmarks = Benchmark::builtin()
        .map_err(|e| trustplane_store::StoreError::Corrupt(format!("built-in benchmarks: {e}")))?;
    // Identities that map to no Trustplane user are findings: the directory is the reference.
    let known: Vec<String> = store
        .identity_index()
        .await?
        .into_iter()
        .flat_map(|(_, _, names)| names)
        .collect();
    let options = AssessOptions {
        now: store.clock().now_ms() / 1000,
        trustplane_saml_providers: Vec::new(),
        federated_accounts: Vec::new(),
        known_identities: Some(known),
    };
    let assessment = assess(inventory, &benchmarks, &Registry::builtin(), &options);
    let mut accounts = inventory.accounts(Provider::Aws);
    accounts.extend(inventory.accounts(Provider::Azure));
    let findings: Vec<ScanFinding> = assessment
        .findings
        .iter()
        .map(|f| ScanFinding {
            provider: format!("{:?}", f.resource.provider).to_lowercase(),
            account: f.resource.account.clone(),
            check_id: f.check_id.to_string(),
            resource_id: f.resource.id.clone(),
            status: format!("{:?}", f.status).to_uppercase(),
            severity: format!("{:?}", f.severity).to_lowercase(),
            body: serde_json::to_value(f).unwrap_or_default(),
        })
        .collect();
    let summary = store.record_scan(actor, &accounts, findings).await?;
    let scores: Vec<_> = section_scores(&assessment)
        .into_iter()
        .filter(|s| s.passed + s.failed > 0)
        .map(|s| json!({ "benchmark": s.benchmark_label, "section": s.section, "passed": s.passed, "failed": s.failed }))
        .collect();
    Ok((summary, accounts, scores))
}
