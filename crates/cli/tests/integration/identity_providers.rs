//! `trustplane admin identity-providers` through the real binary, on both backends: a bad
//! setting is one line naming the field (exit 1, nothing stored), the client secret comes from
//! standard input only and is never shown, every command answers `--output json`, a domain
//! belongs to one provider, and a provider nobody serves fails its test with exit 1. The
//! sign-in itself is tested in crates/server/tests/upstream and crates/idp/tests/pass_through.rs.

use crate::both_backends;
use crate::cloud::{cli_with_stdin, refused};
use crate::harness::*;

both_backends!(identity_providers_through_the_cli);

async fn identity_providers_through_the_cli(db: Db) {
    let node = Node::start(&db, &[], &[("TRUSTPLANE_BOOTSTRAP_ADMIN_TOKEN", TOKEN)]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = format!("http://127.0.0.1:{port}");
    let create = |name: &str, issuer: &str, domain: &str| -> Vec<String> {
        [
            "admin",
            "identity-providers",
            "create",
            "--display-name",
            name,
            "--issuer",
            issuer,
            "--client-id",
            "trustplane",
            "--client-secret-stdin",
            "--domain",
            domain,
            "--link-by",
            "userPrincipalName",
            "--trust-mfa",
            "--output",
            "json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |args: &[String], input: &str| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli_with_stdin(&node, &args, input)
    };

    // http:// off loopback: refused with the field named; nothing stored.
    let (code, out, err) = run(
        &create("Corp", "http://login.example.test", "corp.example.test"),
        "s3cret-value\n",
    );
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("issuer"), "{err}");
    // No secret on standard input: refused before calling the server.
    let good = create("Corp", &issuer, "corp.example.test");
    let (code, _, err) = run(&good, "");
    assert_eq!(code, 1);
    assert!(err.contains("no client secret"), "{err}");
    let list = cli_json(&node, &["admin", "identity-providers", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 0);

    let (code, out, err) = run(&good, "s3cret-value\n");
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("s3cret-value"), "the secret is never shown");
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(created["domains"], serde_json::json!(["corp.example.test"]));
    assert_eq!(created["settings"]["trustMfa"], true);
    assert!(created["redirectUri"]
        .as_str()
        .unwrap()
        .ends_with("/login/federated/callback"));

    // A domain belongs to one provider.
    let (code, _, err) = run(
        &create("Other", &issuer, "corp.example.test"),
        "s3cret-value\n",
    );
    assert_eq!(code, 1);
    assert!(err.contains("corp.example.test"), "{err}");

    let list = cli_json(&node, &["admin", "identity-providers", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains("s3cret-value"));
    let shown = cli_json(&node, &["admin", "identity-providers", "show", "Corp"]);
    assert_eq!(shown["id"], created["id"]);

    // Nobody serves the issuer: the test fails, exit 1, one line.
    refused(
        &node,
        &["admin", "identity-providers", "test", "Corp"],
        "cannot connect",
    );

    let (code, out, err) = cli(
        Some(&node),
        &[
            "admin",
            "identity-providers",
            "delete",
            "Corp",
            "--output",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let list = cli_json(&node, &["admin", "identity-providers", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 0);
}
