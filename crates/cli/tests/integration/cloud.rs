//! Connected clouds through the real binary: `trustplane serve` links the AWS collector and
//! the S3 reader, and `trustplane admin accounts` / `admin log-sources` drive them against
//! the moto emulator, on both backends.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::both_backends;
use crate::harness::*;

use crate::trail;
use trustplane_aws::emulator as moto;

both_backends!(connected_accounts_and_log_sources_through_the_cli);

/// Runs the CLI with `input` on standard input.
pub(crate) fn cli_with_stdin(node: &Node, args: &[&str], input: &str) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("TRUSTPLANE_PROFILE", "/nonexistent/profile.toml")
        .env("TRUSTPLANE_URL", &node.base)
        .env("TRUSTPLANE_TOKEN", TOKEN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A command that must fail with exit code 1 and one line naming `needle`.
pub(crate) fn refused(node: &Node, args: &[&str], needle: &str) {
    let (code, out, err) = cli(Some(node), args);
    assert_eq!(code, 1, "trustplane {args:?}: {out}{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{err}");
}

async fn connected_accounts_and_log_sources_through_the_cli(db: Db) {
    moto::test_credentials();
    let Some(moto) = moto::Moto::start() else {
        return;
    };
    let rules = repo_root()
        .join("../shared/data/sigma/rules/cloud/aws")
        .display()
        .to_string();
    let node = Node::start(
        &db,
        &["--detection-rules", &rules],
        &[("TRUSTPLANE_BOOTSTRAP_ADMIN_TOKEN", TOKEN)],
    )
    .await;

    let schedule = cli_json(&node, &["admin", "accounts", "schedule"]);
    assert_eq!(schedule["intervalSecs"], 86400);
    refused(
        &node,
        &["admin", "accounts", "schedule", "--interval-secs", "5"],
        "intervalSecs",
    );
    let schedule = cli_json(
        &node,
        &["admin", "accounts", "schedule", "--interval-secs", "3600"],
    );
    assert_eq!(schedule["intervalSecs"], 3600);

    // Connected without scheduled scans, so that the scan below is the only one.
    let connect = [
        "admin",
        "accounts",
        "connect-aws",
        "--account-id",
        moto::ACCOUNT,
        "--regions",
        "us-east-1",
        "--endpoint-url",
        &moto.url,
        "--disabled",
    ];
    let account = cli_json(&node, &connect);
    let id = account["id"].as_str().unwrap().to_string();
    assert_eq!(account["enabled"], false);
    refused(&node, &connect, "already connected");
    refused(
        &node,
        &["admin", "accounts", "connect-aws", "--account-id", "12"],
        "12 digits",
    );

    let scan = cli_json(&node, &["admin", "accounts", "scan", &id]);
    // moto has no Access Analyzer or Security Hub: those checks are ERROR, the scan PARTIAL.
    assert_eq!(scan["status"], "PARTIAL", "{scan}");
    assert!(scan["summary"]["new"].as_u64().unwrap() > 10, "{scan}");
    let scans = cli_json(&node, &["admin", "accounts", "scans", &id]);
    assert_eq!(scans.as_array().unwrap().len(), 1);
    let failing = cli_json(
        &node,
        &[
            "admin",
            "findings",
            "--account",
            moto::ACCOUNT,
            "--status",
            "FAIL",
        ],
    );
    assert!(!failing.as_array().unwrap().is_empty());
    let listed = cli_json(&node, &["admin", "accounts", "list"]);
    assert_eq!(listed[0]["lastStatus"], "PARTIAL");

    // The Azure client secret comes from standard input and never comes back.
    let secret = "client-secret-from-stdin-0123";
    let (code, out, err) = cli_with_stdin(
        &node,
        &[
            "--output",
            "json",
            "admin",
            "accounts",
            "connect-azure",
            "--subscription-id",
            "00000000-0000-0000-0000-00000000000a",
            "--tenant-id",
            "00000000-0000-0000-0000-00000000000b",
            "--client-id",
            "00000000-0000-0000-0000-00000000000c",
            "--client-secret-stdin",
            "--disabled",
        ],
        &format!("{secret}\n"),
    );
    assert_eq!(code, 0, "{err}");
    let azure: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(azure["hasSecret"], true);
    let everything = format!(
        "{out}{}{}",
        cli_json(&node, &["admin", "accounts", "list"]),
        cli_json(&node, &["admin", "audit", "list", "--top", "500"])
    );
    assert!(!everything.contains(secret));

    // A log source, polled on demand.
    let conf = trustplane_aws::sdk_config(&trustplane_aws::CollectOptions {
        endpoint_url: Some(moto.url.clone()),
        ..Default::default()
    })
    .await;
    trail::create_bucket(&conf, "trail-logs").await;
    let prefix = format!("AWSLogs/{}/CloudTrail/us-east-1/", moto::ACCOUNT);
    trail::put(
        &conf,
        "trail-logs",
        &trail::key(moto::ACCOUNT, "us-east-1", 1),
        trail::gzip(&trail::envelope(&[trail::stop_logging(
            "someone@example.com",
            moto::ACCOUNT,
            "2026-11-28T10:00:00Z",
        )])),
    )
    .await;
    refused(
        &node,
        &[
            "admin",
            "log-sources",
            "add",
            "--bucket",
            "Bad_Bucket",
            "--region",
            "us-east-1",
        ],
        "bucket",
    );
    let source = cli_json(
        &node,
        &[
            "admin",
            "log-sources",
            "add",
            "--bucket",
            "trail-logs",
            "--prefix",
            &prefix,
            "--region",
            "us-east-1",
            "--endpoint-url",
            &moto.url,
            "--disabled",
        ],
    );
    let source_id = source["id"].as_str().unwrap().to_string();
    let polled = cli_json(&node, &["admin", "log-sources", "poll", &source_id]);
    assert_eq!(polled["objects"], 1, "{polled}");
    assert_eq!(polled["records"], 1, "{polled}");
    let again = cli_json(&node, &["admin", "log-sources", "poll", &source_id]);
    assert_eq!(again["objects"], 0, "{again}");
    let alerts = cli_json(&node, &["admin", "alerts", "list"]);
    assert!(
        alerts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["ruleTitle"] == "AWS CloudTrail Important Change"),
        "{alerts}"
    );
    let sources = cli_json(&node, &["admin", "log-sources", "list"]);
    assert_eq!(sources[0]["objectsRead"], 1);

    let (code, report) = audit_verify(&db);
    assert_eq!(code, 0, "{report}");
}
