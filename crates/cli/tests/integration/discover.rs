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

async fn token_for(node: &Node, upn: &str, role: Option<&str>) -> String {
    let (status, user) = post(
        node,
        "/api/v1/users",
        serde_json::json!({"userPrincipalName": upn, "displayName": upn}),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    if let Some(role) = role {
        let (status, a) = post(
            node,
            "/api/v1/roleAssignments",
            serde_json::json!({"principalId": user["id"], "roleDefinitionId": role}),
        )
        .await;
        assert_eq!(status, 201, "{a}");
    }
    let (status, t) = post(
        node,
        "/api/v1/apiTokens",
        serde_json::json!({"userId": upn, "description": "test"}),
    )
    .await;
    assert_eq!(status, 201, "{t}");
    t["token"].as_str().unwrap().to_string()
}

fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Import a run, review apps, and read them back; bad input, unknown ids and callers without
/// the role change nothing.
async fn reviews_through_the_api(db: Db) {
    use reqwest::Method;
    use serde_json::json;
    let node = db.start().await;
    let inventory = repo_root()
        .join("crates/posture/tests/fixtures/aws")
        .display()
        .to_string();
    let report = discover(&[
        "--from-dir",
        &inventory,
        "--logs",
        &fixture("squid-access.log"),
    ]);
    let admin = TOKEN;
    let reader = token_for(&node, "reader@example.com", Some("Security Reader")).await;
    let nobody = token_for(&node, "nobody@example.com", None).await;

    // Only security administrators import; readers read.
    let (s, _) = call(
        &node,
        Method::POST,
        "/api/v1/discovery/apps",
        Some(report.clone()),
        &reader,
    )
    .await;
    assert_eq!(s, 403);
    let (s, body) = call(
        &node,
        Method::POST,
        "/api/v1/discovery/apps",
        Some(report.clone()),
        admin,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let total = report["apps"].as_array().unwrap().len();
    assert_eq!(
        (body["apps"].as_u64(), body["new"].as_u64()),
        (Some(total as u64), Some(total as u64))
    );
    let (s, list) = call(&node, Method::GET, "/api/v1/discovery/apps", None, &reader).await;
    assert_eq!(s, 200);
    assert_eq!(list["value"].as_array().unwrap().len(), total);
    let (s, _) = call(&node, Method::GET, "/api/v1/discovery/apps", None, &nobody).await;
    assert_eq!(s, 403);

    // Review: sanctioning drops the `review` factor from the score.
    let before = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "web:dropbox")
        .unwrap()
        .clone();
    let review = json!({"state": "sanctioned", "tags": ["file-sharing"], "owner": "it@example.com", "comment": "contract 42"});
    let path = "/api/v1/discovery/apps/web%3Adropbox";
    let (s, _) = call(&node, Method::PATCH, path, Some(review.clone()), &reader).await;
    assert_eq!(s, 403, "a reader cannot review");
    let (s, after) = call(&node, Method::PATCH, path, Some(review.clone()), admin).await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(after["review"], "sanctioned");
    assert_eq!(after["reviewDetails"]["tags"], json!(["file-sharing"]));
    assert_eq!(after["reviewDetails"]["owner"], "it@example.com");
    assert_eq!(
        after["risk"]["score"].as_u64().unwrap(),
        before["risk"]["score"].as_u64().unwrap() - 20
    );
    // An id with slashes, percent-encoded; or the app's name.
    let user = report["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "iamUser")
        .unwrap();
    let uid = user["id"].as_str().unwrap();
    let (s, got) = call(
        &node,
        Method::PATCH,
        &format!("/api/v1/discovery/apps/{}", encode(uid)),
        Some(json!({"state": "unsanctioned"})),
        admin,
    )
    .await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["id"], uid);
    let (s, got) = call(
        &node,
        Method::GET,
        "/api/v1/discovery/apps/Dropbox",
        None,
        &reader,
    )
    .await;
    assert_eq!((s, got["review"].as_str()), (200, Some("sanctioned")));

    // Bad input: 422 or 400 problem documents; unknown ids 404; nothing changes.
    for (body, status) in [
        (json!({"state": "approved"}), 422),
        (json!({"tags": "x"}), 422),
        (json!({"owner": "x".repeat(300)}), 422),
        (json!({"colour": "red"}), 422),
        (json!({}), 422),
    ] {
        let (s, p) = call(&node, Method::PATCH, path, Some(body.clone()), admin).await;
        assert_eq!(s, status, "{body}: {p}");
        assert!(p["detail"].is_string(), "{p}");
    }
    let resp = http()
        .patch(node.url(path))
        .bearer_auth(admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("application/problem+json"));
    let (s, _) = call(
        &node,
        Method::PATCH,
        "/api/v1/discovery/apps/web%3Anope",
        Some(json!({"state": "monitored"})),
        admin,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = call(
        &node,
        Method::POST,
        "/api/v1/discovery/apps",
        Some(json!({"apps": [{"id": "x"}]})),
        admin,
    )
    .await;
    assert_eq!(s, 422);
    let (_, got) = call(
        &node,
        Method::GET,
        "/api/v1/discovery/apps?state=sanctioned",
        None,
        &reader,
    )
    .await;
    let ids: Vec<&str> = got["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["web:dropbox"]);
    assert_eq!(got["value"][0]["reviewDetails"]["comment"], "contract 42");
    let (s, _) = call(
        &node,
        Method::GET,
        "/api/v1/discovery/apps?state=maybe",
        None,
        &reader,
    )
    .await;
    assert_eq!(s, 400);

    // A new import keeps the reviews.
    let (s, body) = call(
        &node,
        Method::POST,
        "/api/v1/discovery/apps",
        Some(report.clone()),
        admin,
    )
    .await;
    assert_eq!((s, body["new"].as_u64()), (200, Some(0)));
    // The unsanctioned IAM user was last used before its review: no alert.
    assert_eq!(body["unsanctionedInUse"], 0);

    // Use of an unsanctioned app after its review raises an alert naming it.
    let (s, _) = call(
        &node,
        Method::PATCH,
        "/api/v1/discovery/apps/web%3Achatgpt",
        Some(json!({"state": "unsanctioned"})),
        admin,
    )
    .await;
    assert_eq!(s, 200);
    let mut later = report.clone();
    for a in later["apps"].as_array_mut().unwrap() {
        if a["id"] == "web:chatgpt" {
            a["lastSeen"] = json!("2099-01-01T00:00:00Z");
        }
    }
    let (s, body) = call(
        &node,
        Method::POST,
        "/api/v1/discovery/apps",
        Some(later),
        admin,
    )
    .await;
    assert_eq!(
        (s, body["unsanctionedInUse"].as_u64()),
        (200, Some(1)),
        "{body}"
    );
    let (_, alerts) = call(&node, Method::GET, "/api/v1/alerts", None, admin).await;
    let titles: Vec<&str> = alerts["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["ruleTitle"].as_str())
        .collect();
    assert_eq!(
        titles,
        vec!["Unsanctioned app in use: ChatGPT (OpenAI)"],
        "{alerts}"
    );
    let (_, got) = call(&node, Method::GET, path, None, &reader).await;
    assert_eq!(got["review"], "sanctioned");

    // The history is in the audit trail, with what it was before.
    let (s, audit) = call(&node, Method::GET, "/api/v1/audit?$top=200", None, admin).await;
    assert_eq!(s, 200);
    let reviews: Vec<&Value> = audit["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["activity"] == "discovery.review")
        .collect();
    assert_eq!(reviews.len(), 3, "{audit}");
    let dropbox = reviews
        .iter()
        .find(|e| e["target"]["id"] == "web:dropbox")
        .unwrap();
    assert_eq!(dropbox["before"]["state"], Value::Null);
    assert_eq!(dropbox["after"]["state"], "sanctioned");

    // The same through `trustplane admin discovery`.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.json");
    std::fs::write(&file, report.to_string()).unwrap();
    let file = file.display().to_string();
    let imported = cli_json(&node, &["admin", "discovery", "import", &file]);
    assert_eq!(imported["new"], 0);
    let reviewed = cli_json(
        &node,
        &[
            "admin",
            "discovery",
            "review",
            "Slack",
            "--state",
            "monitored",
            "--tag",
            "chat",
        ],
    );
    assert_eq!(
        (reviewed["id"].as_str(), reviewed["review"].as_str()),
        (Some("web:slack"), Some("monitored"))
    );
    let listed = cli_json(
        &node,
        &["admin", "discovery", "list", "--state", "monitored"],
    );
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["web:slack"]);
    let one = cli_json(&node, &["admin", "discovery", "get", uid]);
    assert_eq!(one["review"], "unsanctioned");
    for args in [
        vec!["admin", "discovery", "review", "Slack"],
        vec![
            "admin",
            "discovery",
            "review",
            "web:nope",
            "--state",
            "monitored",
        ],
        vec!["admin", "discovery", "review", "Slack", "--state", "maybe"],
    ] {
        let (code, out, err) = cli(Some(&node), &args);
        assert_ne!(code, 0, "{args:?}");
        assert!(out.is_empty(), "{out}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }

    // A sanctioned web app registered as a linked application is a tile in My Apps.
    let register = |id: &str| format!("/api/v1/discovery/apps/{id}/register");
    let (s, out) = call(&node, Method::POST, &register("web:slack"), None, admin).await;
    assert_eq!(s, 409, "an unsanctioned app is not registered: {out}");
    let (_, dropbox) = call(
        &node,
        Method::GET,
        "/api/v1/discovery/apps/web:dropbox",
        None,
        admin,
    )
    .await;
    assert_eq!(
        dropbox["reviewDetails"]["state"], "sanctioned",
        "reviewed above"
    );
    // A report may say anything: a URL changed in an import is not what gets linked.
    let mut tampered = report.clone();
    for app in tampered["apps"].as_array_mut().unwrap() {
        if app["id"] == "web:dropbox" {
            app["details"]["catalogue"]["url"] = json!("https://evil.example/");
        }
    }
    let (s, out) = call(
        &node,
        Method::POST,
        "/api/v1/discovery/apps",
        Some(tampered),
        admin,
    )
    .await;
    assert_eq!(s, 200, "{out}");
    let (s, _) = call(&node, Method::POST, &register("web:dropbox"), None, &reader).await;
    assert_eq!(
        s, 403,
        "registering an application needs applications/write"
    );
    let (s, app) = call(&node, Method::POST, &register("web:dropbox"), None, admin).await;
    assert_eq!(s, 201, "{app}");
    let url = app["settings"]["linked"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        url.starts_with("https://") && url.contains("dropbox"),
        "{url}"
    );
    let (s, person) = post(
        &node,
        "/api/v1/users",
        json!({"userPrincipalName": "worker@example.com", "displayName": "Worker",
               "passwordProfile": {"password": "a long and unusual passphrase"}}),
    )
    .await;
    assert_eq!(s, 201, "{person}");
    let signed: serde_json::Value = http()
        .post(node.url("/api/v1/auth/signIn"))
        .json(
            &json!({"username": "worker@example.com", "password": "a long and unusual passphrase"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = signed["sessionToken"].as_str().unwrap();
    let home = http()
        .get(node.url("/"))
        .header("cookie", format!("tp_session={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains(&format!("href=\"{url}\"")) && home.contains("Dropbox"),
        "{home}"
    );

    let (_, doc) = get(&node, "/api/v1/openapi.json").await;
    for p in ["/api/v1/discovery/apps", "/api/v1/discovery/apps/{id}"] {
        assert!(
            doc["paths"][p].is_object(),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(doc["paths"]["/api/v1/discovery/apps/{id}"]["patch"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_through_the_api_sqlite() {
    if let Some(db) = Db::new(Backend::Sqlite).await {
        reviews_through_the_api(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_through_the_api_postgres() {
    if let Some(db) = Db::new(Backend::Postgres).await {
        reviews_through_the_api(db).await;
    }
}
