//! Provisioning connections from the CLI, by name: created with their SCIM token shown once,
//! listed, shown, their status read, run refused with one line, deleted (the token then stops
//! working at /scim/v2).

use crate::both_backends;
use crate::harness::*;

both_backends!(an_administrator_manages_scim_connections_from_the_cli);

async fn an_administrator_manages_scim_connections_from_the_cli(db: Db) {
    let node = db.start().await;
    let made = cli_json(
        &node,
        &[
            "admin",
            "provisioning",
            "connections",
            "create",
            "--display-name",
            "Entra ID",
        ],
    );
    assert_eq!(made["type"], "scimInbound");
    let token = made["token"].as_str().unwrap().to_string();
    assert!(made["settings"]["baseUrl"]
        .as_str()
        .unwrap()
        .ends_with("/scim/v2"));

    let listed = cli_json(&node, &["admin", "provisioning", "connections", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&token));
    let shown = cli_json(
        &node,
        &["admin", "provisioning", "connections", "show", "entra id"],
    );
    assert_eq!(shown["id"], made["id"]);
    let status = cli_json(
        &node,
        &["admin", "provisioning", "connections", "status", "Entra ID"],
    );
    assert_eq!(status["changes"], 0);

    // The token reaches SCIM, and SCIM only.
    let (code, _) = call(&node, reqwest::Method::GET, "/scim/v2/Users", None, &token).await;
    assert_eq!(code, 200);
    let (code, _) = call(&node, reqwest::Method::GET, "/api/v1/users", None, &token).await;
    assert_eq!(code, 401);

    // Nothing to run for an inbound connection; an outbound one without its settings is
    // refused with the field named, in one line.
    let (code, _, err) = cli(
        Some(&node),
        &["admin", "provisioning", "connections", "run", "Entra ID"],
    );
    assert_ne!(code, 0);
    assert!(err.contains("nothing to run"), "{err}");
    let (code, _, err) = cli(
        Some(&node),
        &[
            "admin",
            "provisioning",
            "connections",
            "create",
            "--type",
            "awsIdentityStore",
            "--display-name",
            "AWS",
        ],
    );
    assert_ne!(code, 0);
    assert!(err.contains("identityStoreId"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // An outbound SCIM connection: its token read from a file, sealed, never printed; a run
    // against an endpoint that does not answer stops with the reason; nothing to confirm.
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("idc-token.txt");
    std::fs::write(&token_file, "idc-secret-token-0123\n").unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/scim/v2",
        dead.local_addr().unwrap().port()
    );
    drop(dead);
    let out = cli_json(
        &node,
        &[
            "admin",
            "provisioning",
            "connections",
            "create",
            "--type",
            "awsScim",
            "--display-name",
            "IDC",
            "--scim-url",
            &url,
            "--token-file",
            token_file.to_str().unwrap(),
            "--delete-threshold-percent",
            "20",
        ],
    );
    assert_eq!(out["type"], "awsScim");
    assert_eq!(out["settings"]["deleteThresholdPercent"], 20);
    assert!(!out.to_string().contains("idc-secret-token"), "{out}");
    let ran = cli_json(
        &node,
        &["admin", "provisioning", "connections", "run", "IDC"],
    );
    assert_eq!(ran["status"], "failed", "{ran}");
    assert!(
        ran["stopped"].as_str().unwrap().contains("cannot reach"),
        "{ran}"
    );
    let status = cli_json(
        &node,
        &["admin", "provisioning", "connections", "status", "idc"],
    );
    assert_eq!(status["lastStatus"], "failed", "{status}");
    let (code, _, err) = cli(
        Some(&node),
        &["admin", "provisioning", "connections", "confirm", "IDC"],
    );
    assert_ne!(code, 0);
    assert!(err.contains("no run waiting"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let (code, _, err) = cli(
        Some(&node),
        &["admin", "provisioning", "connections", "delete", "Entra ID"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _) = call(&node, reqwest::Method::GET, "/scim/v2/Users", None, &token).await;
    assert_eq!(code, 401);
    let (code, _, _) = cli(
        Some(&node),
        &["admin", "provisioning", "connections", "show", "Entra ID"],
    );
    assert_ne!(code, 0);
}
