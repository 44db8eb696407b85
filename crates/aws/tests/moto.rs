//! The collector against the real moto emulator: seed through the AWS SDK for Rust, collect,
//! assess with CIS AWS 3.0, and check the exact PASS/FAIL per resource and control. The
//! `identity_center` module tests IAM Identity Center account assignments on the same emulator.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;
mod identity_center;

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
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cis/cis_3.0_aws.json");
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
            trustplane_saml_providers: vec![format!(
                "arn:aws:iam::{ACCOUNT}:saml-provider/Trustplane"
            )],
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
        // Default security groups share a name: tell them apart by id.
        let key = if name == "default" {
            format!("{}/default:{}", f.resource.region, f.resource.id)
        } else {
            format!("{}/{name}", f.resource.region)
        };
        let controls = f.controls.iter().map(|c| c.id.clone()).collect();
        let prev = out.insert((f.check_id.to_string(), key.clone()), (f.status, controls));
        assert!(prev.is_none(), "two findings for {} on {key}", f.check_id);
    }
    out
}

/// The findings as sorted lines `check | region/label | status | controls`, with the
/// emulator's random ids replaced by what the seed called them.
fn table(r: &Results, seeded: &seed::Seeded) -> Vec<String> {
    let labels = [
        (&seeded.instance_good, "instance-good"),
        (&seeded.instance_bad, "instance-bad"),
        (&seeded.vpc_logged, "vpc-logged"),
        (&seeded.vpc_unlogged, "vpc-unlogged"),
        (&seeded.nacl_open_rdp, "nacl-open-rdp"),
        (&seeded.nacl_closed, "nacl-closed"),
        (&seeded.key_rotating, "key-rotating"),
        (&seeded.key_static, "key-static"),
        (&seeded.key_asymmetric, "key-asymmetric"),
        (&seeded.efs_encrypted, "efs-encrypted"),
        (&seeded.efs_plain, "efs-plain"),
    ];
    let mut lines: Vec<String> = r
        .iter()
        .filter(|((check, _), (status, _))| {
            !check.starts_with("trustplane_federated") && *status != Status::Manual
        })
        .map(|((check, key), (status, controls))| {
            let (region, rest) = key.split_once('/').unwrap();
            let mut label = rest.to_string();
            for (id, name) in labels {
                if rest.contains(id.as_str()) {
                    label = name.to_string();
                }
            }
            if label.starts_with("default:") {
                label = "default-sg".into();
            } else if label.starts_with("vpc-") && !label.contains("logged") {
                label = "default-vpc".into();
            } else if label.starts_with("acl-") {
                label = "default-nacl".into();
            } else if label == ACCOUNT || label == format!("{ACCOUNT}/{region}") {
                label = "account".into();
            }
            format!(
                "{check} | {region}/{label} | {status:?} | {}",
                controls.join(",")
            )
        })
        .collect();
    lines.sort();
    lines
}

const EXPECTED: &str = include_str!("expected_cis_3.0.txt");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_account_assesses_exactly() {
    test_credentials();
    let Some(moto) = Moto::start() else { return };
    let conf = trustplane_aws::sdk_config(&options(&moto)).await;
    let seeded = seed::seed(&conf).await;
    let docs = collect(&options(&moto)).await.unwrap();

    // Only the services moto does not emulate failed, and they are recorded, per region.
    let mut errors: Vec<String> = docs
        .iter()
        .filter(|d| d.resource_type == COLLECTION_ERROR)
        .map(|d| format!("{} {}", d.name, d.region))
        .collect();
    errors.sort();
    assert_eq!(
        errors,
        [
            "accessanalyzer ap-southeast-2",
            "accessanalyzer eu-west-1",
            "accessanalyzer us-east-1",
            "securityhub ap-southeast-2",
            "securityhub eu-west-1",
            "securityhub us-east-1",
        ]
    );
    // Recorded failures are one readable line (`Code: message`), never the SDK's dump.
    for d in docs.iter().filter(|d| d.resource_type == COLLECTION_ERROR) {
        let m = d.raw["message"].as_str().unwrap();
        assert!(
            !m.contains('\n')
                && !m.contains("Error {")
                && !m.contains("ServiceError")
                && !m.starts_with("service error"),
            "{m}"
        );
    }
    // Console access from the live login profile: alice and bob have one, carol none.
    let profile = |name: &str| {
        docs.iter()
            .find(|d| d.resource_type == "aws.iam.user" && d.name == name)
            .map(|d| d.raw["LoginProfile"].clone())
            .unwrap()
    };
    assert!(profile("alice")["CreateDate"].is_string());
    assert!(profile("bob").is_object());
    assert_eq!(profile("carol"), serde_json::Value::Null);
    // moto's account summary backs the root controls its credential report cannot.
    let summary = docs
        .iter()
        .find(|d| d.resource_type == "aws.iam.account_summary")
        .unwrap();
    assert_eq!(summary.raw["SummaryMap"]["AccountAccessKeysPresent"], 0);

    // The asymmetric key is collected but has no rotation status to judge.
    let asym = docs
        .iter()
        .find(|d| d.resource_type == "aws.kms.key" && d.name == seeded.key_asymmetric)
        .unwrap();
    assert_eq!(asym.raw["KeyRotationEnabled"], serde_json::Value::Null);
    assert_eq!(asym.raw["KeyMetadata"]["KeySpec"], "RSA_2048");

    let inv = Inventory::from_docs(docs.clone());
    let now = now();
    let got = table(&results(&run(&inv, now)), &seeded);
    let want: Vec<String> = EXPECTED
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    if got != want {
        std::fs::write(std::env::temp_dir().join("tp-aws-got.txt"), got.join("\n")).ok();
        for l in got.iter().filter(|l| !want.contains(l)) {
            eprintln!("unexpected: {l}");
        }
        for l in want.iter().filter(|l| !got.contains(l)) {
            eprintln!("missing:    {l}");
        }
        panic!("findings differ from tests/expected_cis_3.0.txt");
    }

    // 100 days on, every key is past rotation and unused, every password unused.
    let later = results(&run(&inv, now + 100 * 86_400));
    for (check, users) in [
        (
            "iam_rotate_access_key_90_days",
            &["bob", "carol", "dave"][..],
        ),
        ("iam_user_accesskey_unused", &["bob", "carol", "dave"][..]),
        ("iam_user_console_access_unused", &["alice", "bob"][..]),
    ] {
        for u in users {
            let (status, _) = &later[&(check.to_string(), format!("global/{u}"))];
            assert_eq!(*status, Status::Fail, "{check} {u} after 100 days");
        }
    }

    // The inventory round-trips through save_dir / load_dir and assesses identically.
    let dir = std::env::temp_dir().join(format!("tp-aws-inventory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    inv.save_dir(&dir).unwrap();
    let loaded = Inventory::load_dir(&dir).unwrap();
    assert_eq!(loaded.docs(), inv.docs());
    assert_eq!(table(&results(&run(&loaded, now)), &seeded), got);
    std::fs::remove_dir_all(&dir).ok();
}

/// Tests that share a server start from an empty emulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_account_writes_singletons_and_reset_clears() {
    test_credentials();
    let Some(moto) = Moto::start() else { return };
    let conf = trustplane_aws::sdk_config(&options(&moto)).await;
    aws_sdk_iam::Client::new(&conf)
        .create_user()
        .user_name("temp")
        .send()
        .await
        .unwrap();
    moto.reset();
    let docs = collect(&CollectOptions {
        regions: vec![R1.into()],
        ..options(&moto)
    })
    .await
    .unwrap();
    let of = |t: &str| docs.iter().filter(|d| d.resource_type == t).count();
    // Absence means "not collected": singletons are written even when empty.
    assert_eq!(of("aws.iam.password_policy"), 1);
    let pp = docs
        .iter()
        .find(|d| d.resource_type == "aws.iam.password_policy")
        .unwrap();
    assert_eq!(pp.raw, serde_json::json!({"PasswordPolicy": null}));
    assert_eq!(of("aws.iam.virtual_mfa_devices"), 1);
    assert_eq!(of("aws.s3.account_public_access_block"), 1);
    assert_eq!(of("aws.ec2.ebs_encryption_by_default"), 1);
    assert_eq!(of("aws.config.recorders"), 1);
    assert_eq!(of("aws.ec2.regions"), 1);
    assert_eq!(of("aws.iam.user"), 0, "reset removed the user");
    assert_eq!(of("aws.s3.bucket"), 0);
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
        .args([
            "--exact",
            "child_missing_credentials",
            "--ignored",
            "--nocapture",
        ])
        .env_clear()
        .env("TP_AWS_CHILD", "1")
        .env("HOME", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("CHILD-OK AWS credentials missing or invalid"),
        "{text}"
    );
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
    assert!(
        err.to_string().starts_with("AWS endpoint unreachable"),
        "{err}"
    );
    // One line a person can read: the causes, not a Debug dump of the SDK's types.
    let text = err.to_string();
    assert!(text.contains("Connection refused"), "{text}");
    assert!(
        !text.contains("DispatchFailure") && !text.contains("ConnectorError"),
        "{text}"
    );
}

/// One role per account: the documents carry the assumed account, and a role that cannot be
/// assumed is an error document for that account, not a failed scan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assumed_roles_scan_their_accounts() {
    test_credentials();
    let Some(moto) = Moto::start() else { return };
    let docs = collect(&CollectOptions {
        regions: vec![R1.into()],
        assume_roles: vec!["arn:aws:iam::111111111111:role/audit".into()],
        ..options(&moto)
    })
    .await
    .unwrap();
    assert!(!docs.is_empty());
    assert!(
        docs.iter().all(|d| d.account == "111111111111"),
        "{docs:#?}"
    );
    assert!(docs
        .iter()
        .any(|d| d.resource_type == "aws.iam.password_policy"));

    let err = collect(&CollectOptions {
        assume_roles: vec!["arn:aws:iam::1:user/nope".into()],
        ..options(&moto)
    })
    .await
    .unwrap_err();
    assert!(matches!(err, AwsError::Options(_)), "{err:?}");
}
