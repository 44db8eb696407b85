//! Assessment speed over a synthetic inventory (default 1,000,000 resources; set
//! `POSTURE_BENCH_RESOURCES` to change). Single-threaded: the engine uses one core.
//!
//! Run: `cargo bench -p trustplane-posture --bench assess`
// `is_multiple_of` is newer than the workspace's rust-version (1.85).
#![allow(clippy::manual_is_multiple_of)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;
use trustplane_posture::report::{section_scores, write_ocsf_json};
use trustplane_posture::{
    assess, AssessOptions, Benchmark, Inventory, Provider, Registry, ResourceDoc,
};

const ACCOUNTS: usize = 100;
const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"];

/// One synthetic resource; `n` picks the type and makes every third one non-compliant.
fn resource(n: usize) -> ResourceDoc {
    let account = format!("{:012}", 100_000_000_000 + n % ACCOUNTS);
    let region = REGIONS[n % REGIONS.len()];
    let bad = n % 3 == 0;
    let aws = |t: &str, id: String, raw| {
        ResourceDoc::new(Provider::Aws, &account, region, t, id.clone(), id, raw)
    };
    let azure = |t: &str, id: String, raw| {
        ResourceDoc::new(
            Provider::Azure,
            format!("sub-{}", n % ACCOUNTS),
            "eastus",
            t,
            id.clone(),
            id,
            raw,
        )
    };
    match n % 10 {
        0 | 1 => aws("aws.ec2.security_group", format!("sg-{n}"), json!({
            "GroupId": format!("sg-{n}"), "GroupName": if n % 50 == 0 { "default" } else { "app" },
            "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                "IpRanges": [{"CidrIp": if bad { "0.0.0.0/0" } else { "10.0.0.0/8" }}], "Ipv6Ranges": []}],
            "IpPermissionsEgress": []})),
        2 => aws("aws.ec2.instance", format!("i-{n}"), json!({
            "InstanceId": format!("i-{n}"), "State": {"Name": "running"},
            "MetadataOptions": {"HttpTokens": if bad { "optional" } else { "required" }},
            "SecurityGroups": [{"GroupId": format!("sg-{}", n - 2)}]})),
        3 => aws("aws.s3.bucket", format!("arn:aws:s3:::b-{n}"), json!({
            "Name": format!("b-{n}"), "Versioning": {"Status": "Enabled", "MFADelete": if bad { "Disabled" } else { "Enabled" }},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": !bad, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true},
            "Policy": null})),
        4 => ResourceDoc::new(Provider::Aws, &account, "global", "aws.iam.credential_report_row", format!("arn:aws:iam::{account}:user/u{n}"), format!("u{n}"), json!({
            "user": format!("u{n}"), "password_enabled": if bad { "true" } else { "false" }, "mfa_active": "false",
            "password_last_used": "2026-10-01T00:00:00+00:00", "user_creation_time": "2025-01-01T00:00:00+00:00",
            "access_key_1_active": "true", "access_key_1_last_rotated": if bad { "2025-01-01T00:00:00+00:00" } else { "2026-11-01T00:00:00+00:00" },
            "access_key_1_last_used_date": "2026-11-20T00:00:00+00:00", "access_key_2_active": "false"})),
        5 => aws("aws.rds.db_instance", format!("db-{n}"), json!({"StorageEncrypted": !bad, "PubliclyAccessible": bad, "AutoMinorVersionUpgrade": true})),
        6 => azure("azure.storage.account", format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st{n}"), json!({
            "sku": {"name": "Standard_LRS"},
            "properties": {"supportsHttpsTrafficOnly": !bad, "minimumTlsVersion": if bad { "TLS1_0" } else { "TLS1_2" },
                "allowBlobPublicAccess": bad, "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"}}})),
        7 => azure("azure.network.nsg", format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg{n}"), json!({
            "properties": {"securityRules": [{"name": "r", "properties": {"direction": "Inbound", "access": "Allow", "protocol": "Tcp",
                "sourceAddressPrefix": if bad { "*" } else { "10.0.0.0/8" }, "destinationPortRange": "3389"}}]}})),
        8 => azure("azure.keyvault.vault", format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv{n}"), json!({
            "properties": {"enableRbacAuthorization": !bad, "enableSoftDelete": true, "enablePurgeProtection": !bad, "publicNetworkAccess": "Enabled"}})),
        _ => aws("aws.kms.key", format!("key-{n}"), json!({
            "KeyMetadata": {"KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "KeyState": "Enabled"}, "KeyRotationEnabled": !bad})),
    }
}

/// CPU time (user + system) of this thread in seconds, from /proc (10 ms resolution). Wall
/// time on a shared two-core machine mostly measures the neighbours.
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn main() {
    let total: usize = std::env::var("POSTURE_BENCH_RESOURCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let cis = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cis");
    let benchmarks = Benchmark::load_dir(&cis).unwrap_or_default();

    let t = Instant::now();
    let c = cpu();
    let inventory = Inventory::from_docs((0..total).map(resource));
    let build = t.elapsed();
    let build_cpu = cpu() - c;

    if std::env::var("POSTURE_BENCH_DISK").is_ok() {
        // Save as NDJSON and load back: the `--from-dir` path.
        let dir = std::env::temp_dir().join(format!("posture-bench-{}", std::process::id()));
        let t = Instant::now();
        let saved = inventory
            .save_dir(&dir)
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0));
        let save = t.elapsed();
        let t = Instant::now();
        let c = cpu();
        let loaded = Inventory::load_dir(&dir).map(|i| i.len());
        println!(
            "save NDJSON:          {:.3} s wall ({} MB); load: {:.3} s wall, {:.2} s CPU ({:?} docs)",
            save.as_secs_f64(),
            saved.unwrap_or(0) / 1_000_000,
            t.elapsed().as_secs_f64(),
            cpu() - c,
            loaded.ok()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    let registry = Registry::builtin();
    let options = AssessOptions {
        now: 1_795_824_000,
        ..Default::default()
    };
    // One warm-up on a small slice so page faults of the first run do not skew the figure.
    let _ = assess(
        &Inventory::from_docs((0..10_000).map(resource)),
        &benchmarks,
        &registry,
        &options,
    );

    let mut runs = Vec::new();
    let mut cpus = Vec::new();
    let mut findings = 0;
    let repeats: usize = std::env::var("POSTURE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    for _ in 0..repeats {
        let t = Instant::now();
        let c = cpu();
        let a = assess(&inventory, &benchmarks, &registry, &options);
        runs.push(t.elapsed());
        cpus.push(cpu() - c);
        findings = a.findings.len();
        black_box(&a);
    }
    if repeats == 0 || std::env::var("POSTURE_BENCH_SKIP_REPORTS").is_ok() {
        println!(
            "build + index:        {:.3} s wall, {build_cpu:.2} s CPU",
            build.as_secs_f64()
        );
        return;
    }
    let a = assess(&inventory, &benchmarks, &registry, &options);
    let t = Instant::now();
    let scores = section_scores(&a);
    let score_time = t.elapsed();
    let t = Instant::now();
    let c = cpu();
    let mut sink = std::io::sink();
    let _ = write_ocsf_json(&a, 0, &mut sink);
    let ocsf_time = t.elapsed();
    let ocsf_cpu = cpu() - c;

    if std::env::var("POSTURE_BENCH_PER_CHECK").is_ok() {
        let mut per: Vec<(f64, &str, usize)> = registry
            .iter()
            .map(|c| {
                let mut one = Registry::new();
                let _ = one.register(*c);
                let t = Instant::now();
                let a = assess(&inventory, &[], &one, &options);
                (t.elapsed().as_secs_f64(), c.id, a.findings.len())
            })
            .collect();
        per.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (s, id, n) in per.iter().take(15) {
            println!("{s:8.4} s  {n:8} findings  {id}");
        }
    }
    runs.sort();
    cpus.sort_by(f64::total_cmp);
    println!("resources:            {total}");
    println!(
        "benchmarks:           {} ({} checks registered)",
        benchmarks.len(),
        registry.len()
    );
    println!("findings:             {findings}");
    println!(
        "build + index:        {:.3} s wall, {build_cpu:.2} s CPU",
        build.as_secs_f64()
    );
    println!(
        "assess (min of 3):    {:.3} s wall, {:.2} s CPU",
        runs[0].as_secs_f64(),
        cpus[0]
    );
    println!(
        "assess (max of 3):    {:.3} s wall, {:.2} s CPU",
        runs[runs.len() - 1].as_secs_f64(),
        cpus[cpus.len() - 1]
    );
    println!(
        "section scores:       {:.3} s ({} sections)",
        score_time.as_secs_f64(),
        scores.len()
    );
    println!(
        "OCSF JSON to a sink:  {:.3} s wall, {ocsf_cpu:.2} s CPU",
        ocsf_time.as_secs_f64()
    );
}
