//! `trustplane discover`: offline discovery over the shipped captures, a Squid log and a saved
//! inventory; bad input is one line and a non-zero exit.

use serde_json::Value;

use crate::harness::*;

fn shared(path: &str) -> String {
    repo_root()
        .join("../shared/data")
        .join(path)
        .display()
        .to_string()
}

fn fixture(name: &str) -> String {
    repo_root()
        .join("crates/discovery/tests/data")
        .join(name)
        .display()
        .to_string()
}

fn discover(args: &[&str]) -> Value {
    let mut all = vec!["discover", "--output", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = cli(None, &all);
    assert_eq!(code, 0, "trustplane {all:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn ids(report: &Value) -> Vec<String> {
    report["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn logs_alone_inventory_alone_and_both() {
    let squid = fixture("squid-access.log");
    let stratus = shared("logs/stratus-red-team");
    let inventory = repo_root()
        .join("crates/posture/tests/fixtures/aws")
        .display()
        .to_string();

    let logs = discover(&["--logs", &squid, "--logs", &stratus]);
    let log_ids = ids(&logs);
    let dropbox = logs["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "web:dropbox")
        .unwrap();
    assert_eq!(dropbox["users"], serde_json::json!(["ada", "bob"]));
    assert!(dropbox["risk"]["factors"].as_array().unwrap().len() >= 2);
    assert!(log_ids.iter().any(|i| i.starts_with("aws-service:")));
    assert_eq!(logs["unparsed"]["count"], 2);
    assert_eq!(logs["inventoryDocuments"], 0);

    let inv = discover(&["--from-dir", &inventory]);
    assert!(inv["inventoryDocuments"].as_u64().unwrap() > 0);
    assert!(inv["sources"].as_array().unwrap().is_empty());

    let both = discover(&["--from-dir", &inventory, "--logs", &squid]);
    let both_ids = ids(&both);
    for id in ids(&inv) {
        assert!(both_ids.contains(&id), "{id}");
    }
    assert!(both_ids.contains(&"web:dropbox".to_string()));

    // The table names the apps and the unreadable lines.
    let (code, out, err) = cli(None, &["discover", "--logs", &squid]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Dropbox") && out.contains("unreadable"),
        "{out}"
    );
}

#[test]
fn bad_input_is_one_line_and_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("fw.csv");
    std::fs::write(&csv, "date,src,dst\n2024-01-01,10.0.0.1,1.2.3.4\n").unwrap();
    let csv = csv.display().to_string();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let empty = empty.display().to_string();
    let bad_catalog = dir.path().join("cat.json");
    std::fs::write(&bad_catalog, r#"{"apps":[{"id":"x"}]}"#).unwrap();
    let bad_catalog = bad_catalog.display().to_string();
    let squid = fixture("squid-access.log");
    for (args, needle) in [
        (vec!["discover"], "--from-dir"),
        (vec!["discover", "--logs", &csv], "known formats"),
        (
            vec!["discover", "--logs", "/nonexistent/x.log"],
            "/nonexistent",
        ),
        (vec!["discover", "--from-dir", &empty], "inventory"),
        (
            vec!["discover", "--logs", &squid, "--log-format", "pcap"],
            "known formats",
        ),
        (
            vec!["discover", "--logs", &squid, "--catalog", &bad_catalog],
            "catalogue",
        ),
    ] {
        let (code, out, err) = cli(None, &args);
        assert_ne!(code, 0, "{args:?}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
