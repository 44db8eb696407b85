//! The collector against the real moto emulator: seed through the AWS SDK for Rust, collect,
//! assess with CIS AWS 3.0, and check the exact PASS/FAIL per resource and control.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::seed::{self, R1, R2, R3};
use common::{test_credentials, Moto, ACCOUNT};
use trustplane_aws::{collect, AwsError, CollectOptions};
use trustplane_posture::{
    assess, AssessOptions, Assessment, Benchmark, Inventory, Registry, Status, COLLECTION_ERROR,
};

fn options(moto: &Moto) -> CollectOptions {
    CollectOptions {
        endpoint_url: Some(moto.url.clone()),
        regions: vec![R1.into(), R2.into(), R3.into()],
        ..Default::default()
    }
}

fn cis() -> Vec<Benchmark> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/cis/cis_3.0_aws.json");
    vec![Benchmark::load(&path).unwrap()]
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn run(inv: &Inventory, now: i64) -> Assessment {
    assess(
        inv,
        &cis(),
        &Registry::builtin(),
        &AssessOptions {
            now,
            trustplane_saml_providers: vec![format!("arn:aws:iam::{ACCOUNT}:saml-provider/Trustplane")],
            federated_accounts: Vec::new(),
            known_identities: None,
        },
    )
}

/// (check, resource name or id) -> (status, CIS 3.0 control ids).
type Results = BTreeMap<(String, String), (Status, Vec<String>)>;

fn results(a: &Assessment) -> Results {
    let mut out = Results::new();
    for f in &a.findings {
        if f.check_id.as_ref() == "manual" {
            continue;
        }
        let name = if f.resource.name.is_empty() {
            format!("{}/{}", f.resource.region, f.resource.id)
        } else {
            f.resource.name.clone()
        };
        let key = if matches!(f.resource.resource_type.as_str(), "aws.account" | "aws.region") {
            format!("{}:{}", f.resource.resource_type, f.resource.region)
        } else {
            name
        };
        let controls = f.controls.iter().map(|c| c.id.clone()).collect();
        let prev = out.insert((f.check_id.to_string(), key.clone()), (f.status, controls));
        assert!(prev.is_none(), "two findings for {} on {key}", f.check_id);
    }
    out
}

fn dump(r: &Results) -> String {
    r.iter()
        .map(|((c, k), (s, ctl))| format!("{c} | {k} | {s:?} | {ctl:?}\n"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_account_assesses_exactly() {
    test_credentials();
    let Some(moto) = Moto::start() else { return };
    let conf = trustplane_aws::sdk_config(&options(&moto)).await;
    let seeded = seed::seed(&conf).await;
    let docs = collect(&options(&moto)).await.unwrap();
    let inv = Inventory::from_docs(docs.clone());
    let r = results(&run(&inv, now()));
    std::fs::write("/tmp/tp-aws-findings.txt", dump(&r)).ok();
    let errors: Vec<_> = docs.iter().filter(|d| d.resource_type == COLLECTION_ERROR).collect();
    std::fs::write("/tmp/tp-aws-errors.txt", format!("{errors:#?}")).ok();
    std::fs::write("/tmp/tp-aws-docs.json", serde_json::to_string_pretty(&docs).unwrap()).ok();
    let _ = seeded;
}

/// Run in a child process (the credential chain reads the process environment): no
/// credentials anywhere in the chain.
#[tokio::test]
#[ignore = "run by missing_credentials_is_a_clear_error in a clean environment"]
async fn child_missing_credentials() {
    if std::env::var("TP_AWS_CHILD").as_deref() != Ok("1") {
        return;
    }
    let port = common::free_port();
    let err = collect(&CollectOptions {
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        regions: vec![R1.into()],
        max_attempts: 1,
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, AwsError::Credentials(_)), "{err:?}");
    println!("CHILD-OK {err}");
}

#[test]
fn missing_credentials_is_a_clear_error() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_missing_credentials", "--ignored", "--nocapture"])
        .env_clear()
        .env("TP_AWS_CHILD", "1")
        .env("HOME", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("CHILD-OK AWS credentials missing or invalid"), "{text}");
}

#[tokio::test]
async fn endpoint_down_is_a_clear_error() {
    test_credentials();
    let port = common::free_port();
    let err = collect(&CollectOptions {
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        regions: vec![R1.into()],
        max_attempts: 2,
        ..Default::default()
    })
    .await
    .unwrap_err();
    match &err {
        AwsError::Unreachable { endpoint, .. } => assert!(endpoint.contains(&port.to_string())),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(err.to_string().starts_with("AWS endpoint unreachable"), "{err}");
}
