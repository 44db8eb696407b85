//! Debian's Chromium, driven by Playwright, through the real sign-in pages of the real binary.
//! Needs `/usr/bin/chromium` and `tests/browser/node_modules` (scripts/test.sh installs both);
//! `TRUSTPLANE_SKIP_BROWSER=1` skips it on purpose.

use std::process::Command;

use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_with_password_and_totp_in_chromium() {
    let script = repo_root().join("tests/browser/signin.mjs");
    let ready = std::path::Path::new("/usr/bin/chromium").exists()
        && repo_root()
            .join("tests/browser/node_modules/playwright-core")
            .exists();
    if !ready {
        if std::env::var("TRUSTPLANE_SKIP_BROWSER").as_deref() == Ok("1") {
            return;
        }
        panic!("Chromium or playwright-core is missing (scripts/test.sh installs them; TRUSTPLANE_SKIP_BROWSER=1 skips)");
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
