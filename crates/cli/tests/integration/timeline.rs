//! `trustplane admin users timeline` and `trustplane admin incidents`: a person's sign-in and
//! CloudTrail activity on one timeline, read in pages and exported as OCSF; their alerts as
//! one incident that is taken, commented on and resolved; bad input as a one-line message with
//! exit code 1 that changes nothing. On both backends, so the timeline's merged reads and the
//! incident grouping run on PostgreSQL too.

use serde_json::{json, Value};

use crate::both_backends;
use crate::harness::*;
use crate::trail;

both_backends!(a_persons_timeline_and_incident_are_read_and_worked_from_the_cli);

async fn a_persons_timeline_and_incident_are_read_and_worked_from_the_cli(db: Db) {
    let node = db.start().await;
    let (st, made) = post(
        &node,
        "/api/v1/users",
        json!({"userPrincipalName": "ada@example.com", "displayName": "Ada", "accountEnabled": true,
               "passwordProfile": {"password": "a long and unusual passphrase 42", "forceChangePasswordNextSignIn": false}}),
    )
    .await;
    assert_eq!(st, 201, "{made}");
    let signed = http()
        .post(node.url("/api/v1/auth/signIn"))
        .json(
            &json!({"username": "ada@example.com", "password": "a long and unusual passphrase 42"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 200);
    let record = trail::stop_logging("ada@example.com", "111122223333", "2026-11-28T10:00:00Z");
    let pushed = http()
        .post(node.url("/api/v1/detect/ingest"))
        .bearer_auth(TOKEN)
        .body(trail::envelope(&[record]))
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 200);

    // The whole timeline, followed page by page, holds her sign-in and the CloudTrail call.
    let all = cli_json(
        &node,
        &[
            "admin",
            "users",
            "timeline",
            "ada@example.com",
            "--top",
            "2",
            "--all",
        ],
    );
    let activities: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["activity"].as_str().unwrap())
        .collect();
    assert!(activities.contains(&"signIn"), "{activities:?}");
    assert!(activities.contains(&"StopLogging"), "{activities:?}");
    let aws = cli_json(
        &node,
        &[
            "admin",
            "users",
            "timeline",
            "ada@example.com",
            "--source",
            "aws",
        ],
    );
    assert_eq!(aws.as_array().unwrap().len(), 1, "{aws}");
    assert_eq!(aws[0]["source"], "aws");

    let (code, out, err) = cli(
        Some(&node),
        &[
            "admin",
            "users",
            "timeline",
            "ada@example.com",
            "--export",
            "ocsf",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), activities.len());
    assert!(events
        .iter()
        .any(|e| e["class_uid"] == 3002 && e["activity_id"] == 1));
    assert!(events
        .iter()
        .any(|e| e["class_uid"] == 6003 && e["cloud"]["provider"] == "AWS"));

    for bad in [
        &[
            "admin",
            "users",
            "timeline",
            "ada@example.com",
            "--from",
            "soon",
        ][..],
        &["admin", "users", "timeline", "nobody@example.com"][..],
    ] {
        let (code, _, err) = cli(Some(&node), bad);
        assert_eq!(code, 1, "{bad:?}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }

    // Her alerts are one incident.
    let incidents = cli_json(
        &node,
        &["admin", "incidents", "list", "--person", "ada@example.com"],
    );
    assert_eq!(incidents.as_array().unwrap().len(), 1, "{incidents}");
    let id = incidents[0]["id"].as_str().unwrap().to_string();
    let (code, _, err) = cli(Some(&node), &["admin", "incidents", "update", &id]);
    assert_eq!((code, err.trim().lines().count()), (1, 1), "{err}");
    let (code, _, err) = cli(
        Some(&node),
        &["admin", "incidents", "update", &id, "--status", "closed"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("status"), "{err}");
    let taken = cli_json(
        &node,
        &[
            "admin",
            "incidents",
            "update",
            &id,
            "--assign",
            "ada@example.com",
            "--status",
            "inProgress",
        ],
    );
    assert_eq!(taken["assignedTo"], "ada@example.com");
    assert_eq!(taken["status"], "inProgress");
    let commented = cli_json(
        &node,
        &["admin", "incidents", "comment", &id, "keys rotated"],
    );
    assert_eq!(commented["comments"][0]["comment"], "keys rotated");
    let resolved = cli_json(
        &node,
        &["admin", "incidents", "update", &id, "--status", "resolved"],
    );
    assert!(resolved["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["status"] == "resolved"));
    let shown = cli_json(&node, &["admin", "incidents", "show", &id]);
    assert_eq!(shown["status"], "resolved");
    drop(node);
    let (code, out) = audit_verify(&db);
    assert_eq!(code, 0, "{out}");
}
