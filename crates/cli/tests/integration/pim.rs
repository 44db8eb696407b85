//! `trustplane pim`: a user with an eligible role activates it from the command line and
//! gives it up; refused input gets one line and an exit code.

use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::harness::*;

both_backends!(a_user_activates_and_deactivates_an_eligible_role_with_the_cli);

/// Runs the CLI as the holder of `token`; returns exit code, stdout and stderr.
fn cli_as(node: &Node, token: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("TRUSTPLANE_URL", &node.base)
        .env("TRUSTPLANE_TOKEN", token)
        .env("TRUSTPLANE_PROFILE", "/nonexistent/profile.toml")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Like [`cli_as`] with `--output json`, expecting success.
fn json_as(node: &Node, token: &str, args: &[&str]) -> Value {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = cli_as(node, token, &all);
    assert_eq!(code, 0, "trustplane {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

async fn request_count(node: &Node) -> usize {
    let (status, all) = get(node, "/api/v1/pim/requests?userId=*").await;
    assert_eq!(status, 200, "{all}");
    all["value"].as_array().unwrap().len()
}

async fn a_user_activates_and_deactivates_an_eligible_role_with_the_cli(db: Db) {
    let node = db.start().await;
    // A role of the organisation's own: the default conditional-access policy (MFA for
    // administrators) does not cover it, so its settings alone decide.
    let (status, role) = post(
        &node,
        "/api/v1/roleDefinitions",
        json!({"displayName": "On-call responder"}),
    )
    .await;
    assert_eq!(status, 201, "{role}");
    let role_id = role["id"].as_str().unwrap().to_string();
    let (status, settings) = call(
        &node,
        Method::PUT,
        &format!("/api/v1/pim/settings/{role_id}"),
        Some(json!({"requireMfa": false, "requireJustification": true})),
        TOKEN,
    )
    .await;
    assert_eq!(status, 200, "{settings}");
    let (status, user) = post(
        &node,
        "/api/v1/users",
        json!({"userPrincipalName": "oncall@example.com", "displayName": "On call"}),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let (status, eligibility) = post(
        &node,
        "/api/v1/roleAssignments",
        json!({"principalId": user["id"], "roleDefinitionId": role_id, "assignmentType": "eligible"}),
    )
    .await;
    assert_eq!(status, 201, "{eligibility}");
    let (status, t) = post(
        &node,
        "/api/v1/apiTokens",
        json!({"userId": "oncall@example.com", "description": "pim"}),
    )
    .await;
    assert_eq!(status, 201, "{t}");
    let token = t["token"].as_str().unwrap();

    let eligible = json_as(&node, token, &["pim", "eligible"]);
    let listed = eligible.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{eligible}");
    assert_eq!(listed[0]["roleDefinition"]["id"], role_id.as_str());
    let (code, table, _) = cli_as(&node, token, &["pim", "eligible"]);
    assert_eq!(code, 0);
    assert!(table.contains("On-call responder"), "{table}");

    // Without a justification the server refuses, in one line.
    let (code, out, err) = cli_as(
        &node,
        token,
        &["pim", "request", "--role", &role_id, "--duration", "1h"],
    );
    assert_ne!(code, 0, "{out}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("justification"), "{err}");

    let active = json_as(
        &node,
        token,
        &[
            "pim",
            "request",
            "--role",
            &role_id,
            "--duration",
            "1h30m",
            "--justification",
            "incident 42",
            "--ticket",
            "INC-42",
        ],
    );
    assert_eq!(active["state"], "active", "{active}");
    assert_eq!(active["durationSeconds"], 5400);
    assert_eq!(active["ticketNumber"], "INC-42");
    let id = active["id"].as_str().unwrap().to_string();

    let listed = json_as(&node, token, &["pim", "active"]);
    let mine = listed.as_array().unwrap();
    assert_eq!(mine.len(), 1, "{listed}");
    assert_eq!(mine[0]["id"], id.as_str());
    let left = mine[0]["remainingSeconds"].as_i64().unwrap();
    assert!(left > 0 && left <= 5400, "{left}");

    // Extending is refused by the role's settings (one line), and a bad duration before any call.
    let (code, _, err) = cli_as(&node, token, &["pim", "extend", &id, "--duration", "10m"]);
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("extend"), "{err}");
    let (code, _, err) = cli_as(&node, token, &["pim", "extend", &id, "--duration", "1x"]);
    assert_eq!(code, 2, "{err}");

    let ended = json_as(&node, token, &["pim", "deactivate", &id]);
    assert_eq!(ended["state"], "revoked", "{ended}");
    assert_eq!(json_as(&node, token, &["pim", "active"]), json!([]));

    // A duration that cannot be read stops before any request is made.
    let before = request_count(&node).await;
    for bad in ["1x", "h", "0", "1h30"] {
        let (code, _, err) = cli_as(
            &node,
            token,
            &[
                "pim",
                "request",
                "--role",
                &role_id,
                "--duration",
                bad,
                "--justification",
                "x",
            ],
        );
        assert_eq!(code, 2, "{bad}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("--duration"), "{err}");
    }
    assert_eq!(request_count(&node).await, before);
}
