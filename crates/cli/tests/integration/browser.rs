//! Debian's Chromium, driven by Playwright, through the real sign-in pages of the real binary.
//! Needs `/usr/bin/chromium` and `tests/browser/node_modules` (scripts/test.sh installs both);
//! `TRUSTPLANE_SKIP_BROWSER=1` skips it on purpose.

use std::process::Command;

use serde_json::json;

use crate::harness::*;

/// Whether Chromium and Playwright are there; false only when skipping is asked for.
fn browser_ready() -> bool {
    let ready = std::path::Path::new("/usr/bin/chromium").exists()
        && repo_root()
            .join("tests/browser/node_modules/playwright-core")
            .exists();
    if !ready && std::env::var("TRUSTPLANE_SKIP_BROWSER").as_deref() != Ok("1") {
        panic!("Chromium or playwright-core is missing (scripts/test.sh installs them; TRUSTPLANE_SKIP_BROWSER=1 skips)");
    }
    ready
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_with_password_and_totp_in_chromium() {
    let script = repo_root().join("tests/browser/signin.mjs");
    if !browser_ready() {
        return;
    }
    let Some(db) = Db::new(Backend::Sqlite).await else {
        return;
    };
    let node = db.start().await;
    let (s, _) = post(
        &node,
        "/api/v1/users",
        json!({"userPrincipalName": "grace@example.com", "displayName": "Grace Hopper",
               "passwordProfile": {"password": "a long and unusual passphrase"}}),
    )
    .await;
    assert_eq!(s, 201);
    // WebAuthn and Secure cookies want a secure context: http://localhost is one.
    let base = node.base.replace("127.0.0.1", "localhost");
    let shots = db.dir.path().join("shots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(&script)
        .args([
            base.as_str(),
            "grace@example.com",
            "a long and unusual passphrase",
        ])
        .arg(&shots)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shots.join("home.png").exists());
    let (_, log) = get(&node, "/api/v1/auditLogs/signIns").await;
    let last = log["value"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["result"], "success");
    assert_eq!(last["after"]["clientAppUsed"], "browser");
    assert_eq!(
        last["after"]["authenticationMethodsUsed"],
        json!(["password", "totp"])
    );
    assert_eq!(last["initiatedBy"]["displayName"], "grace@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_activates_an_eligible_role_on_my_roles_in_chromium() {
    if !browser_ready() {
        return;
    }
    let Some(db) = Db::new(Backend::Sqlite).await else {
        return;
    };
    let node = db.start().await;
    let (s, user) = post(
        &node,
        "/api/v1/users",
        json!({"userPrincipalName": "ada@example.com", "displayName": "Ada Lovelace",
               "passwordProfile": {"password": "a long and unusual passphrase"}}),
    )
    .await;
    assert_eq!(s, 201, "{user}");
    // A role of the organisation's own: the default conditional-access policy (MFA for
    // administrators) does not cover it, so its settings alone decide.
    let (s, role) = post(
        &node,
        "/api/v1/roleDefinitions",
        json!({"displayName": "On-call responder"}),
    )
    .await;
    assert_eq!(s, 201, "{role}");
    let role_id = role["id"].as_str().unwrap();
    let (s, settings) = call(
        &node,
        reqwest::Method::PUT,
        &format!("/api/v1/pim/settings/{role_id}"),
        Some(json!({"requireMfa": false, "requireJustification": true})),
        TOKEN,
    )
    .await;
    assert_eq!(s, 200, "{settings}");
    let (s, a) = post(
        &node,
        "/api/v1/roleAssignments",
        json!({"principalId": user["id"], "roleDefinitionId": role_id, "assignmentType": "eligible"}),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let base = node.base.replace("127.0.0.1", "localhost");
    let shots = db.dir.path().join("shots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(repo_root().join("tests/browser/roles.mjs"))
        .args([
            base.as_str(),
            "ada@example.com",
            "a long and unusual passphrase",
            "On-call responder",
        ])
        .arg(&shots)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shots.join("roles.png").exists());
    let (_, active) = get(&node, "/api/v1/pim/requests?userId=*&state=active").await;
    let active = active["value"].as_array().unwrap();
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0]["durationSeconds"], 2700);
    assert_eq!(active[0]["justification"], "checking the audit trail");
}

/// Runs `first_signin.mjs` for a person whose password was set for them; panics with the
/// browser's output when the pages do not lead to a working session.
fn first_sign_in_in_chromium(node: &Node, db: &Db, upn: &str, one_time: &str) {
    let base = node.base.replace("127.0.0.1", "localhost");
    let shots = db.dir.path().join("shots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(repo_root().join("tests/browser/first_signin.mjs"))
        .args([
            base.as_str(),
            upn,
            one_time,
            "my own long passphrase, at last",
        ])
        .arg(&shots)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shots.join("3-signed-in.png").exists());
}

/// The value printed after `label` in the start banner.
fn banner_value(node: &Node, label: &str) -> String {
    node.banner
        .iter()
        .find_map(|line| line.trim().strip_prefix(label))
        .map(|rest| rest.split_whitespace().next().unwrap_or("").to_string())
        .unwrap_or_else(|| panic!("no {label:?} in the banner: {:?}", node.banner))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_administrator_gets_from_the_one_time_password_to_an_mfa_session() {
    if !browser_ready() {
        return;
    }
    let Some(db) = Db::new(Backend::Sqlite).await else {
        return;
    };
    let node = Node::start(&db, &[], &[]).await;
    let upn = banner_value(&node, "administrator:");
    let one_time = banner_value(&node, "one-time password:");
    let token = banner_value(&node, "admin API token:");
    first_sign_in_in_chromium(&node, &db, &upn, &one_time);

    // The sign-ins were recorded with both factors at the end, and the administrator's
    // methods now hold the app.
    let (s, log) = call(
        &node,
        reqwest::Method::GET,
        "/api/v1/auditLogs/signIns",
        None,
        &token,
    )
    .await;
    assert_eq!(s, 200, "{log}");
    let last = log["value"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["result"], "success", "{last}");
    assert_eq!(
        last["after"]["authenticationMethodsUsed"],
        json!(["password", "totp"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_role_holder_with_a_set_password_gets_to_a_working_session() {
    if !browser_ready() {
        return;
    }
    let Some(db) = Db::new(Backend::Sqlite).await else {
        return;
    };
    let node = db.start().await;
    let (s, user) = post(
        &node,
        "/api/v1/users",
        json!({"userPrincipalName": "lin@example.com", "displayName": "Lin Admin",
               "passwordProfile": {"password": "set by the helpdesk 7741",
                                   "forceChangePasswordNextSignIn": true}}),
    )
    .await;
    assert_eq!(s, 201, "{user}");
    // A built-in administrator role: the default policy requires MFA for it.
    let (s, a) = post(
        &node,
        "/api/v1/roleAssignments",
        json!({"principalId": user["id"], "roleDefinitionId": "User Administrator"}),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    first_sign_in_in_chromium(&node, &db, "lin@example.com", "set by the helpdesk 7741");
}

/// The posture report of the AWS fixtures (FAIL, PASS, ERROR and MANUAL findings over three
/// accounts) and of a failed scan, read in Chromium at 1280 px by `tests/browser/report.mjs`.
#[test]
fn the_posture_report_fits_the_window_filters_and_renders_remediation_in_chromium() {
    if !browser_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("posture.html");
    let failed = dir.path().join("failed.html");
    let inventory = repo_root().join("crates/posture/tests/fixtures/aws");
    let (code, _, err) = cli(
        None,
        &[
            "scan",
            "--from-dir",
            inventory.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let empty = tempfile::tempdir().unwrap();
    let (code, _, _) = cli(
        None,
        &[
            "scan",
            "--from-dir",
            empty.path().to_str().unwrap(),
            "--report",
            failed.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "an empty folder is a failed scan");
    let shots = dir.path().join("shots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(repo_root().join("tests/browser/report.mjs"))
        .arg(&report)
        .arg(&failed)
        .arg(&shots)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for shot in ["report.png", "report-full.png", "report-failed.png"] {
        assert!(shots.join(shot).exists(), "{shot}");
    }
    // Keep the screenshot where a person can look at it after the run.
    if let Ok(keep) = std::env::var("TRUSTPLANE_SCREENSHOTS") {
        let _ = std::fs::create_dir_all(&keep);
        let _ = std::fs::copy(
            shots.join("report.png"),
            std::path::Path::new(&keep).join("posture-report.png"),
        );
    }
}

/// Where the console test leaves its screenshots for review: under the build's `target/`.
fn screenshot_dir(name: &str) -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let dir = target.join("screenshots").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_console_and_my_apps_work_and_pass_axe_in_chromium() {
    if !browser_ready() {
        return;
    }
    let Some(db) = Db::new(Backend::Sqlite).await else {
        return;
    };
    let node = db.start().await;
    let password = "a long and unusual passphrase";
    let mut ids = Vec::new();
    for (upn, name) in [
        ("helpdesk@example.com", "Helen Desk"),
        ("bob@example.com", "Bob Builder"),
        ("ada@example.com", "Ada Lovelace"),
    ] {
        let (s, u) = post(
            &node,
            "/api/v1/users",
            json!({"userPrincipalName": upn, "displayName": name,
                   "passwordProfile": {"password": password}}),
        )
        .await;
        assert_eq!(s, 201, "{u}");
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    // User Administrator.
    let (s, a) = post(
        &node,
        "/api/v1/roleAssignments",
        json!({"principalId": ids[0], "roleDefinitionId": "fe930be7-5e62-47db-91af-98c3a49a38b1"}),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let (s, app) = post(
        &node,
        "/api/v1/applications",
        json!({"displayName": "AWS", "settings": {"saml": {"template": "awsConsole"}}}),
    )
    .await;
    assert_eq!(s, 201, "{app}");
    for name in ["Admin", "ReadOnly"] {
        let (s, role) = post(
            &node,
            "/api/v1/roleDefinitions",
            json!({"displayName": format!("AWS {name}"), "resource": {
                "type": "awsSamlRole", "accountId": "111111111111",
                "roleArn": format!("arn:aws:iam::111111111111:role/{name}"),
                "samlProviderArn": "arn:aws:iam::111111111111:saml-provider/Trustplane",
                "maxSessionDuration": 3600}}),
        )
        .await;
        assert_eq!(s, 201, "{role}");
        let (s, a) = post(
            &node,
            "/api/v1/roleAssignments",
            json!({"principalId": ids[2], "roleDefinitionId": role["id"]}),
        )
        .await;
        assert_eq!(s, 201, "{a}");
    }
    let base = node.base.replace("127.0.0.1", "localhost");
    let shots = screenshot_dir("console");
    let out = Command::new("node")
        .arg(repo_root().join("tests/browser/console.mjs"))
        .args([
            base.as_str(),
            "helpdesk@example.com",
            "bob@example.com",
            "ada@example.com",
            password,
        ])
        .arg(&shots)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for page in ["admin-overview", "admin-users", "admin-user", "my-apps"] {
        assert!(shots.join(format!("{page}.png")).exists(), "{page}");
    }
    let (_, bob) = get(&node, &format!("/api/v1/users/{}", ids[1])).await;
    assert_eq!(bob["accountEnabled"], false, "disabled through the console");
}
