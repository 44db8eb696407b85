//! `trustplane admin directory-connections` through the real binary: a bad setting is one line
//! naming the field (exit 1, nothing stored), the password comes from standard input only,
//! every command answers `--output json`, and a run against a directory nobody serves exits 1
//! with the failure recorded in the status. The engine's tests cover real slapd and Samba AD.

use crate::both_backends;
use crate::cloud::{cli_with_stdin, refused};
use crate::harness::*;

both_backends!(directory_connections_through_the_cli);

async fn directory_connections_through_the_cli(db: Db) {
    let node = Node::start(&db, &[], &[("TRUSTPLANE_BOOTSTRAP_ADMIN_TOKEN", TOKEN)]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let url = format!("ldap://127.0.0.1:{port}");
    let create = |url: &str| {
        vec![
            "admin".to_string(),
            "directory-connections".into(),
            "create".into(),
            "--type".into(),
            "ldap".into(),
            "--display-name".into(),
            "Corp LDAP".into(),
            "--ldap-url".into(),
            url.into(),
            "--no-start-tls".into(),
            "--bind-dn".into(),
            "cn=reader,dc=corp,dc=test".into(),
            "--bind-password-stdin".into(),
            "--base-dn".into(),
            "dc=corp,dc=test".into(),
            "--output".into(),
            "json".into(),
        ]
    };

    // Plain LDAP off loopback: refused with the field named; nothing stored.
    let bad = create("ldap://ldap.corp.test");
    let bad: Vec<&str> = bad.iter().map(String::as_str).collect();
    let (code, out, err) = cli_with_stdin(&node, &bad, "reader-secret-9\n");
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("url") && err.contains("loopback"), "{err}");
    // No password on standard input: refused before calling the server.
    let good = create(&url);
    let good: Vec<&str> = good.iter().map(String::as_str).collect();
    let (code, _, err) = cli_with_stdin(&node, &good, "");
    assert_eq!(code, 1);
    assert!(err.contains("no bind password"), "{err}");
    let list = cli_json(&node, &["admin", "directory-connections", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 0);

    let (code, out, err) = cli_with_stdin(&node, &good, "reader-secret-9\n");
    assert_eq!(code, 0, "{out}{err}");
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        !out.contains("reader-secret-9"),
        "the password is never shown"
    );
    assert_eq!(created["displayName"], "Corp LDAP");

    let list = cli_json(&node, &["admin", "directory-connections", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let shown = cli_json(
        &node,
        &["admin", "directory-connections", "show", "Corp LDAP"],
    );
    assert_eq!(shown["id"], created["id"]);

    // Nobody serves the directory: the run fails, exit 1, one line; the status records it.
    refused(
        &node,
        &[
            "admin",
            "directory-connections",
            "sync",
            "Corp LDAP",
            "--full",
        ],
        "changed nothing",
    );
    refused(
        &node,
        &["admin", "directory-connections", "test", "Corp LDAP"],
        "connect",
    );
    let status = cli_json(
        &node,
        &["admin", "directory-connections", "status", "Corp LDAP"],
    );
    assert_eq!(status["lastResult"], "failed", "{status}");

    let (code, out, err) = cli(
        Some(&node),
        &[
            "admin",
            "directory-connections",
            "delete",
            "Corp LDAP",
            "--output",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let list = cli_json(&node, &["admin", "directory-connections", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 0);
}
