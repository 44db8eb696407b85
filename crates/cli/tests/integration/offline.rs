//! The offline commands over the shared real data: `policy what-if` and `detect`.

use serde_json::Value;

use crate::harness::*;

fn data(path: &str) -> String {
    repo_root()
        .join("../shared/data")
        .join(path)
        .display()
        .to_string()
}

fn json_of(args: &[&str]) -> Value {
    let (code, out, err) = cli(None, args);
    assert_eq!(code, 0, "trustplane {args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| p["displayName"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn what_if_blocks_legacy_authentication_and_foreign_countries_with_the_real_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("legacy.json");
    std::fs::write(&input, r#"{"userId": "11111111-1111-1111-1111-111111111111", "clientApp": "other", "country": "NL"}"#).unwrap();
    let policies = data("conditional-access/j0eyv-baseline/ConditionalAccess");
    let locations = data("conditional-access/j0eyv-baseline/NamedLocations");
    let report = json_of(&[
        "policy",
        "what-if",
        "--policies",
        &policies,
        "--named-locations",
        &locations,
        "--input",
        input.to_str().unwrap(),
    ]);
    assert_eq!(report["result"], "block");
    assert!(
        names(&report["enforcedPolicies"])
            .iter()
            .any(|n| n.contains("Block-LegacyAuthentication")),
        "{report}"
    );
    for field in [
        "reportOnlyPolicies",
        "requiredControls",
        "sessionControls",
        "notAppliedPolicies",
    ] {
        assert!(!report[field].is_null(), "{field} missing");
    }

    let report = json_of(&[
        "--output",
        "json",
        "policy",
        "what-if",
        "--policies",
        &policies,
        "--named-locations",
        &locations,
        "--user",
        "11111111-1111-1111-1111-111111111111",
        "--client-app",
        "browser",
        "--country",
        "US",
    ]);
    assert_eq!(report["result"], "block");
    assert!(
        names(&report["enforcedPolicies"])
            .iter()
            .any(|n| n.contains("CountryWhitelist")),
        "{report}"
    );

    let (code, _, err) = cli(
        None,
        &[
            "policy",
            "what-if",
            "--policies",
            "/nonexistent",
            "--user",
            "x",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "one-line error: {err}");
}

#[test]
fn what_if_tables_show_full_grant_controls_warnings_and_refuse_empty_folders() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(
        policies.join("device.json"),
        r#"{"id": "p1", "displayName": "Device or MFA", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                           "clientAppTypes": ["all"],
                           "locations": {"includeLocations": ["no-such-location"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]}}"#,
    )
    .unwrap();
    std::fs::write(
        policies.join("all.json"),
        r#"{"id": "p2", "displayName": "Everyone MFA or device", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                           "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]}}"#,
    )
    .unwrap();
    let input = dir.path().join("in.json");
    std::fs::write(&input, r#"{"userId": "u1", "device": {"compliant": true}}"#).unwrap();
    let (code, out, err) = cli(
        None,
        &[
            "--output",
            "table",
            "policy",
            "what-if",
            "--policies",
            policies.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    // Satisfied by the compliant device, the policy still shows what it asks for.
    assert!(
        out.contains("Everyone MFA or device: allow; grant: mfa or compliantDevice"),
        "{out}"
    );
    assert!(out.contains("warning: "), "{out}");
    assert!(out.contains("no-such-location"), "{out}");

    // A misspelt field is an error, not a silently different answer.
    std::fs::write(&input, r#"{"userId": "u1", "signInRiskLevel": "high"}"#).unwrap();
    let (code, _, err) = cli(
        None,
        &[
            "policy",
            "what-if",
            "--policies",
            policies.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("did you mean `signInRisk`"), "{err}");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, out, err) = cli(
        None,
        &[
            "policy",
            "what-if",
            "--policies",
            empty.to_str().unwrap(),
            "--user",
            "u1",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("holds no policy"), "{err}");
    assert_eq!(err.lines().count(), 1, "one-line error: {err}");
}

#[test]
fn detect_finds_the_console_login_without_mfa_and_credits_the_author() {
    let rules = data("sigma/rules/cloud/aws");
    let logs = data("logs/stratus-red-team");
    let report = json_of(&["--output", "json", "detect", "--rules", &rules, &logs]);
    let matches = report["matches"].as_array().unwrap();
    let console: Vec<&Value> = matches
        .iter()
        .filter(|m| m["rule"]["title"] == "AWS Successful Console Login Without MFA")
        .collect();
    assert_eq!(console.len(), 1, "{}", matches.len());
    assert!(console[0]["rule"]["author"]
        .as_str()
        .is_some_and(|a| !a.is_empty()));
    assert_eq!(console[0]["record"]["eventName"], "ConsoleLogin");
    assert_eq!(report["rules"]["failures"].as_array().unwrap().len(), 0);
    // Field names are camelCase, as everywhere else.
    assert!(
        report["rules"]["detectionRules"].as_u64().unwrap() > 0,
        "{}",
        report["rules"]
    );
    assert!(
        console[0]["summary"].get("sourceIp").is_some(),
        "{}",
        console[0]["summary"]
    );
    assert!(console[0]["summary"].get("source_ip").is_none());

    // Severity first, and a floor on the level.
    let rank = |l: &Value| {
        ["informational", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| l.as_str() == Some(*x))
    };
    let sorted = json_of(&[
        "--output", "json", "detect", "--rules", &rules, &logs, "--sort", "severity",
    ]);
    let levels: Vec<Option<usize>> = sorted["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| rank(&m["rule"]["level"]))
        .collect();
    assert_eq!(levels.len(), matches.len());
    assert!(levels.windows(2).all(|w| w[0] >= w[1]), "{levels:?}");
    let high = json_of(&[
        "--output",
        "json",
        "detect",
        "--rules",
        &rules,
        &logs,
        "--min-level",
        "high",
    ]);
    let high_levels: Vec<Option<usize>> = high["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| rank(&m["rule"]["level"]))
        .collect();
    assert!(!high_levels.is_empty());
    assert!(high_levels.len() < matches.len());
    assert!(
        high_levels.iter().all(|l| l.is_some_and(|l| l >= 3)),
        "{high_levels:?}"
    );
    let counted: usize = high["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c.as_u64().unwrap() as usize)
        .sum();
    assert_eq!(counted, high_levels.len());

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.yml"), "title: broken\nlogsource: {product: aws}\ndetection:\n  sel: {eventName|re: '('}\n  condition: sel\n").unwrap();
    let (code, out, _) = cli(
        None,
        &["detect", "--check-rules", dir.path().to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("broken"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_cloudtrail_raises_alerts_listed_by_the_cli() {
    let Some(db) = Db::new(Backend::Sqlite).await else {
        return;
    };
    let rules = data("sigma/rules/cloud/aws");
    let node = Node::start(
        &db,
        &["--detection-rules", &rules],
        &[("TRUSTPLANE_BOOTSTRAP_ADMIN_TOKEN", TOKEN)],
    )
    .await;
    let file = data("logs/stratus-red-team/aws.defense-evasion.cloudtrail-stop.json");
    let report = cli_json(&node, &["admin", "alerts", "push", &file]);
    assert!(report["records"].as_u64().unwrap() >= 1, "{report}");
    let alerts = cli_json(&node, &["admin", "alerts", "list"]);
    let stop = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["ruleTitle"] == "AWS CloudTrail Important Change")
        .expect("alert raised");
    assert!(stop["ruleAuthor"].as_str().is_some_and(|a| !a.is_empty()));
    let id = stop["id"].as_str().unwrap();
    let acked = cli_json(&node, &["admin", "alerts", "ack", id]);
    assert_eq!(acked["status"], "acknowledged");
    let (code, _, err) = cli(Some(&node), &["admin", "alerts", "respond", id, "reboot"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown action"), "{err}");

    // A folder is pushed file by file, as `detect` reads it.
    let folder = tempfile::tempdir().unwrap();
    for name in [
        "aws.defense-evasion.cloudtrail-delete.json",
        "aws.defense-evasion.organizations-leave.json",
    ] {
        std::fs::copy(
            data(&format!("logs/stratus-red-team/{name}")),
            folder.path().join(name),
        )
        .unwrap();
    }
    let pushed = cli_json(
        &node,
        &["admin", "alerts", "push", folder.path().to_str().unwrap()],
    );
    assert_eq!(pushed["files"], 2, "{pushed}");
    assert_eq!(pushed["results"].as_array().unwrap().len(), 2, "{pushed}");
    let per_file: u64 = pushed["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["records"].as_u64().unwrap())
        .sum();
    assert!(per_file >= 2, "{pushed}");
    assert_eq!(pushed["records"], per_file, "{pushed}");
    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = cli(
        Some(&node),
        &["admin", "alerts", "push", empty.path().to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(err.contains("holds no log files"), "{err}");
}

#[test]
fn scan_assesses_a_saved_inventory_and_fails_a_pipeline_on_request() {
    let inventory = repo_root()
        .join("crates/posture/tests/fixtures/aws")
        .display()
        .to_string();
    let (code, table, err) = cli(None, &["scan", "--from-dir", &inventory]);
    assert_eq!(code, 0, "{err}");
    assert!(
        table.contains("CIS AWS 3.0") && table.contains("1 Identity and Access Management"),
        "{table}"
    );
    let findings = json_of(&["--output", "json", "scan", "--from-dir", &inventory]);
    let findings = findings.as_array().unwrap();
    assert!(
        findings.iter().all(|f| f["class_uid"] == 2003),
        "OCSF compliance findings"
    );
    assert!(findings
        .iter()
        .any(|f| f["status"] == "New" || f["compliance"]["status"] == "Fail"));
    let (code, _, _) = cli(
        None,
        &["scan", "--from-dir", &inventory, "--fail-on", "high"],
    );
    assert_eq!(code, 4, "a high-severity FAIL fails the pipeline");

    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("broken.json"), "{\"provider\": \"aws\"").unwrap();
    let (code, out, err) = cli(None, &["scan", "--from-dir", bad.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "no partial report: {out}");
    assert!(
        err.contains("broken.json") && err.lines().count() == 1,
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_scan_is_kept_and_listed_by_the_cli() {
    let Some(db) = Db::new(Backend::Sqlite).await else {
        return;
    };
    let node = db.start().await;
    let inventory = repo_root()
        .join("crates/posture/tests/fixtures/aws")
        .display()
        .to_string();
    let summary = cli_json(&node, &["admin", "upload-scan", &inventory]);
    assert!(
        summary["summary"]["new"].as_u64().unwrap() > 100,
        "{summary}"
    );
    let failing = cli_json(
        &node,
        &[
            "admin",
            "findings",
            "--status",
            "FAIL",
            "--account",
            "111111111111",
        ],
    );
    let failing = failing.as_array().unwrap();
    assert!(!failing.is_empty());
    assert!(failing
        .iter()
        .all(|f| f["state"] == "FAIL" && f["firstSeen"].is_string()));
    let (code, table, _) = cli(Some(&node), &["admin", "findings", "--status", "FAIL"]);
    assert_eq!(code, 0);
    assert!(
        table.contains("ec2_securitygroup_admin_ports_open_ipv4"),
        "{table}"
    );
}

#[test]
fn scan_azure_fails_clearly_without_credentials_or_a_reachable_cloud_and_inventories_round_trip() {
    let mut cmd = std::process::Command::new(BIN);
    for k in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_ACCESS_TOKEN",
    ] {
        cmd.env_remove(k);
    }
    let out = cmd.args(["scan", "azure"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Azure credentials"));

    let out = std::process::Command::new(BIN)
        .env("AZURE_ACCESS_TOKEN", "not-a-real-token")
        .args([
            "scan",
            "azure",
            "--arm-endpoint",
            "http://127.0.0.1:1",
            "--graph-endpoint",
            "http://127.0.0.1:1",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "no partial report is presented");

    let saved = tempfile::tempdir().unwrap();
    let inventory = repo_root()
        .join("crates/posture/tests/fixtures/aws")
        .display()
        .to_string();
    let (code, first, _) = cli(
        None,
        &[
            "scan",
            "--from-dir",
            &inventory,
            "--save-dir",
            saved.path().to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0);
    let (code, again, _) = cli(
        None,
        &["scan", "--from-dir", saved.path().to_str().unwrap()],
    );
    assert_eq!(code, 0);
    assert_eq!(
        first.lines().last(),
        again.lines().last(),
        "a saved inventory assesses the same"
    );
}

#[test]
fn scan_aws_with_an_endpoint_that_is_down_fails_with_no_partial_report() {
    let out = std::process::Command::new(BIN)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args([
            "scan",
            "aws",
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--regions",
            "us-east-1",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("AWS collection failed"));
}

#[test]
fn scan_from_a_folder_it_cannot_use_fails_and_never_reports_a_clean_result() {
    // Empty folder.
    let empty = tempfile::tempdir().unwrap();
    let report = empty.path().join("out").join("report.html");
    let (code, out, err) = cli(
        None,
        &["scan", "--from-dir", empty.path().to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.is_empty(), "no table: {out}");
    assert!(
        err.contains("the directory is empty") && err.lines().count() == 1,
        "{err}"
    );

    // Another tool's output: files that are not an inventory at all.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("prowler.csv"), "ACCOUNT;CHECK\n1;x\n").unwrap();
    let (code, out, err) = cli(
        None,
        &["scan", "--from-dir", other.path().to_str().unwrap()],
    );
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("none of its 1 entries is a .json"), "{err}");

    // Inventory-shaped documents no check reads: nothing assessed is not a pass.
    std::fs::write(
        other.path().join("x.json"),
        r#"[{"provider":"aws","account":"1","region":"global","type":"aws.unknown.thing","id":"x"}]"#,
    )
    .unwrap();
    let (code, out, err) = cli(
        None,
        &[
            "--output",
            "json",
            "scan",
            "--from-dir",
            other.path().to_str().unwrap(),
        ],
    );
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.contains("nothing was assessed") && err.contains("aws.unknown.thing"),
        "{err}"
    );

    // With --report, the page says the scan failed rather than being missing or clean.
    std::fs::create_dir_all(report.parent().unwrap()).unwrap();
    let (code, _, _) = cli(
        None,
        &[
            "scan",
            "--from-dir",
            other.path().to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("data-state=\"empty\""),
        "marked as nothing assessed"
    );
}

#[test]
fn scan_help_names_the_clouds_and_options_work_after_the_cloud() {
    let (code, help, _) = cli(None, &["scan", "--help"]);
    assert_eq!(code, 0);
    for want in [
        "trustplane scan aws",
        "trustplane scan azure",
        "--from-dir DIR",
        "aws ",
        "azure ",
    ] {
        assert!(help.contains(want), "{want} missing from:\n{help}");
    }
    // `--report` and `--fail-on` after the subcommand are parsed (the collection then fails
    // on the closed port, not on the arguments), and the failure still leaves a report.
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.html");
    let out = std::process::Command::new(BIN)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args([
            "scan",
            "aws",
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--regions",
            "us-east-1",
            "--report",
            report.to_str().unwrap(),
            "--fail-on",
            "high",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("unexpected argument"), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: AWS collection failed"), "{err}");
    // One readable line: no SDK debug structures.
    assert!(
        !last.contains("DispatchFailure") && !last.contains("{ "),
        "{last}"
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("data-state=\"failed\"") && html.contains("AWS collection failed"));
}

#[test]
fn scan_lists_failing_checks_by_severity_in_the_terminal() {
    let inventory = repo_root()
        .join("crates/posture/tests/fixtures/aws")
        .display()
        .to_string();
    let (code, table, err) = cli(None, &["scan", "--from-dir", &inventory]);
    assert_eq!(code, 0, "{err}");
    let failing = table
        .split("Failing checks, most severe first:")
        .nth(1)
        .expect("a failing checks table");
    let order = ["critical", "high", "medium", "low", "informational"];
    let sevs: Vec<usize> = failing
        .split("Checks that could not run")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| {
            let cell = l.trim_start_matches('│').split('┆').next()?.trim();
            order.iter().position(|s| *s == cell)
        })
        .collect();
    assert!(sevs.len() > 10, "{failing}");
    assert!(sevs.windows(2).all(|w| w[0] <= w[1]), "{failing}");
    assert!(failing.contains("iam_no_root_access_key"), "{failing}");
    assert!(table.contains("Checks that could not run (ERROR):"));
    assert!(table.contains("AccessDenied: not authorized to perform iam:GenerateCredentialReport"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_streams_a_large_file_in_batches_and_refuses_an_unreadable_one_before_sending() {
    use std::io::Write;
    let Some(db) = Db::new(Backend::Sqlite).await else {
        return;
    };
    let rules = data("sigma/rules/cloud/aws");
    let node = Node::start(
        &db,
        &["--detection-rules", &rules],
        &[("TRUSTPLANE_BOOTSTRAP_ADMIN_TOKEN", TOKEN)],
    )
    .await;
    let stop: Value = serde_json::from_str(
        &std::fs::read_to_string(data(
            "logs/stratus-red-team/aws.defense-evasion.cloudtrail-stop.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let stop = stop[0].clone();
    assert_eq!(stop["eventName"], "StopLogging");
    let gzip = |bytes: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();

    // Refused before anything is sent: damaged gzip, and a record larger than one request
    // may be (1 MiB) after one that would raise an alert.
    let mut damaged = gzip(format!("{stop}\n").repeat(50).as_bytes());
    damaged.truncate(damaged.len() / 2);
    let damaged_path = dir.path().join("damaged.json.gz");
    std::fs::write(&damaged_path, damaged).unwrap();
    let huge = serde_json::json!({"eventSource": "s3.amazonaws.com", "eventName": "x", "pad": "x".repeat(5 * 1024 * 1024)});
    let huge_path = dir.path().join("huge.json");
    std::fs::write(
        &huge_path,
        serde_json::to_vec(&serde_json::json!({"Records": [stop, huge]})).unwrap(),
    )
    .unwrap();
    for (path, why) in [
        (&damaged_path, "bad gzip data"),
        (&huge_path, "a record is larger than 1048575 bytes"),
    ] {
        let (code, _, err) = cli(
            Some(&node),
            &["admin", "alerts", "push", path.to_str().unwrap()],
        );
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(why), "{err}");
    }
    let alerts = cli_json(&node, &["admin", "alerts", "list"]);
    assert_eq!(alerts.as_array().unwrap().len(), 0, "{alerts}");

    // 12,001 records (2.3 MB), gzipped: at least three batches (5,000 records and 1 MiB at
    // most each, the server's request limit), the last of which holds the StopLogging record.
    let mut ndjson = String::new();
    for i in 0..12_000 {
        let quiet = serde_json::json!({
            "eventVersion": "1.08",
            "eventSource": "ec2.amazonaws.com",
            "eventName": "DescribeRegions",
            "awsRegion": "eu-west-1",
            "eventID": format!("quiet-{i}"),
            "userIdentity": {"type": "IAMUser", "userName": "nobody"},
        });
        ndjson.push_str(&quiet.to_string());
        ndjson.push('\n');
    }
    ndjson.push_str(&stop.to_string());
    ndjson.push_str("\nnot json\n");
    let big = dir.path().join("big.ndjson.gz");
    std::fs::write(&big, gzip(ndjson.as_bytes())).unwrap();
    let report = cli_json(&node, &["admin", "alerts", "push", big.to_str().unwrap()]);
    assert_eq!(report["records"], 12_001, "{report}");
    assert!(report["batches"].as_u64().unwrap() >= 3, "{report}");
    assert_eq!(report["malformed"], 1, "{report}");
    assert!(report["matches"].as_u64().unwrap() >= 1, "{report}");
    let alerts = cli_json(&node, &["admin", "alerts", "list"]);
    assert!(
        alerts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["ruleTitle"] == "AWS CloudTrail Important Change"),
        "{alerts}"
    );
}
