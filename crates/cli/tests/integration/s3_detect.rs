//! `trustplane detect` over CloudTrail objects in an S3 bucket of the moto emulator: the same
//! matches as the hunt over the same files on disk, gzipped as CloudTrail delivers them, with
//! an unreadable object counted and a bucket that does not exist refused.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::harness::*;

use crate::trail;
use trustplane_aws::emulator as moto;

const TECHNIQUES: &[&str] = &[
    "aws.credential-access.ec2-steal-instance-credentials.json",
    "aws.defense-evasion.cloudtrail-delete.json",
    "aws.defense-evasion.cloudtrail-stop.json",
    "aws.defense-evasion.vpc-remove-flow-logs.json",
];

fn data(path: &str) -> String {
    repo_root()
        .join("../shared/data")
        .join(path)
        .display()
        .to_string()
}

/// Rule title -> matches, per object or file name (the last path segment).
fn per_source(report: &Value) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for m in report["matches"].as_array().unwrap() {
        let origin = m["origin"]["path"].as_str().unwrap();
        let name = origin.rsplit('/').next().unwrap().trim_end_matches(".gz");
        *out.entry(name.to_string())
            .or_default()
            .entry(m["rule"]["title"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    out
}

fn hunt(args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["--output", "json", "detect"];
    all.extend_from_slice(args);
    let (code, out, err) = cli(None, &all);
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detect_hunts_gzipped_cloudtrail_objects_under_an_s3_prefix() {
    moto::test_credentials();
    let Some(moto) = moto::Moto::start() else {
        return;
    };
    let conf = trustplane_aws::sdk_config(&trustplane_aws::CollectOptions {
        endpoint_url: Some(moto.url.clone()),
        ..Default::default()
    })
    .await;
    trail::create_bucket(&conf, "trail-logs").await;
    let local = tempfile::tempdir().unwrap();
    let prefix = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/28/";
    for t in TECHNIQUES {
        let bytes = std::fs::read(data(&format!("logs/stratus-red-team/{t}"))).unwrap();
        std::fs::write(local.path().join(t), &bytes).unwrap();
        trail::put(
            &conf,
            "trail-logs",
            &format!("{prefix}{t}.gz"),
            trail::gzip(&bytes),
        )
        .await;
    }
    // A damaged object and one outside the prefix.
    trail::put(
        &conf,
        "trail-logs",
        &format!("{prefix}zz-damaged.json.gz"),
        vec![0x1f, 0x8b, 8, 0, 1, 2, 3],
    )
    .await;
    trail::put(&conf, "trail-logs", "other/x.json", b"{}".to_vec()).await;

    let rules = data("sigma/rules/cloud/aws");
    let (code, on_disk, err) = hunt(&["--rules", &rules, local.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, in_s3, err) = hunt(&[
        "--rules",
        &rules,
        "--endpoint-url",
        &moto.url,
        "s3://trail-logs/AWSLogs/123456789012/",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !err.contains('\r') && !err.contains("\u{1b}["),
        "no progress bar drawn when standard error is not a terminal: {err:?}"
    );

    let expected: BTreeMap<String, BTreeMap<String, u64>> = [
        (
            "aws.credential-access.ec2-steal-instance-credentials.json",
            vec![
                ("AWS STS AssumeRole Misuse", 2),
                ("Potential Malicious Usage of CloudTrail System Manager", 1),
            ],
        ),
        (
            "aws.defense-evasion.cloudtrail-delete.json",
            vec![("AWS CloudTrail Important Change", 1)],
        ),
        (
            "aws.defense-evasion.cloudtrail-stop.json",
            vec![("AWS CloudTrail Important Change", 1)],
        ),
        (
            "aws.defense-evasion.vpc-remove-flow-logs.json",
            vec![("AWS VPC Flow Logs Deleted", 1)],
        ),
    ]
    .into_iter()
    .map(|(f, rules)| {
        (
            f.to_string(),
            rules.into_iter().map(|(r, n)| (r.to_string(), n)).collect(),
        )
    })
    .collect();
    assert_eq!(per_source(&in_s3), expected);
    assert_eq!(per_source(&on_disk), expected);
    assert_eq!(in_s3["records"], on_disk["records"]);
    assert_eq!(in_s3["files"], 5, "four techniques and the damaged object");
    let origin = in_s3["matches"][0]["origin"]["path"].as_str().unwrap();
    assert!(
        origin.starts_with(&format!("s3://trail-logs/{prefix}aws.")),
        "{origin}"
    );
    let malformed = in_s3["malformed"].as_array().unwrap();
    assert_eq!(malformed.len(), 1, "{malformed:?}");
    assert_eq!(
        malformed[0]["path"],
        format!("s3://trail-logs/{prefix}zz-damaged.json.gz")
    );
    assert!(malformed[0]["index"].is_null());

    // A bucket that does not exist, or a location that is not one: one line, exit 1.
    let (code, _, err) = hunt(&[
        "--rules",
        &rules,
        "--endpoint-url",
        &moto.url,
        "s3://no-such-bucket/AWSLogs/",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: cannot list s3://no-such-bucket/AWSLogs/")
            && err.contains("NoSuchBucket"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let (code, _, err) = hunt(&["--rules", &rules, "s3://Bad_Bucket/x"]);
    assert_eq!(code, 1);
    assert!(err.contains("not an S3 location"), "{err}");
}
