//! `trustplane admin risky-users`: confirm compromised and dismiss by name, the list and the
//! detections as JSON, and bad input as a one-line message with exit code 1 that changes
//! nothing. On both backends, so the risk tables and queries run on PostgreSQL too.

use serde_json::json;

use crate::both_backends;
use crate::harness::*;

both_backends!(risky_users_are_confirmed_and_dismissed_from_the_cli_by_name);

async fn risky_users_are_confirmed_and_dismissed_from_the_cli_by_name(db: Db) {
    let node = db.start().await;
    let (st, made) = post(
        &node,
        "/api/v1/users",
        json!({"userPrincipalName": "ada@example.com", "displayName": "Ada", "accountEnabled": true,
               "passwordProfile": {"password": "a long and unusual passphrase 42", "forceChangePasswordNextSignIn": false}}),
    )
    .await;
    assert_eq!(st, 201, "{made}");
    // A sign-in, so the sign-in attempts table is written and read on this backend.
    let signed = http()
        .post(node.url("/api/v1/auth/signIn"))
        .json(
            &json!({"username": "ada@example.com", "password": "a long and unusual passphrase 42"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 200);

    let list = cli_json(&node, &["admin", "risky-users", "list"]);
    assert_eq!(list, json!([]));
    let (code, _, err) = cli(
        Some(&node),
        &[
            "admin",
            "risky-users",
            "confirm-compromised",
            "ada@example.com",
            "nobody@example.com",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("nobody@example.com"), "{err}");
    assert_eq!(
        cli_json(&node, &["admin", "risky-users", "list"]),
        json!([])
    );

    let confirmed = cli_json(
        &node,
        &[
            "admin",
            "risky-users",
            "confirm-compromised",
            "ada@example.com",
        ],
    );
    assert_eq!(confirmed[0]["riskState"], "confirmedCompromised");
    assert_eq!(confirmed[0]["riskLevel"], "high");
    let list = cli_json(&node, &["admin", "risky-users", "list"]);
    assert_eq!(list[0]["userPrincipalName"], "ada@example.com");
    let detections = cli_json(
        &node,
        &[
            "admin",
            "risky-users",
            "detections",
            "--user",
            "ada@example.com",
        ],
    );
    assert_eq!(detections, json!([]), "a normal sign-in raised nothing");
    let dismissed = cli_json(
        &node,
        &["admin", "risky-users", "dismiss", "ada@example.com"],
    );
    assert_eq!(dismissed[0]["riskState"], "dismissed");
    assert_eq!(dismissed[0]["riskLevel"], "none");
    let (code, out, _) = cli(Some(&node), &["admin", "risky-users", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("ada@example.com") && out.contains("dismissed"),
        "{out}"
    );
}
