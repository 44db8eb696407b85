//! What used to need curl, through the CLI: signing in (checked before it is saved), role
//! definitions, PIM role settings, applications with their protocol settings and secrets,
//! SAML metadata import, API tokens and signing keys; names wherever ids are taken.

use crate::both_backends;
use crate::harness::*;

both_backends!(an_administrator_runs_the_daily_tasks_from_the_cli_by_name);

async fn an_administrator_runs_the_daily_tasks_from_the_cli_by_name(db: Db) {
    let node = db.start().await;
    let dir = tempfile::tempdir().unwrap();

    // `admin login` saves nothing that does not work.
    let profile = dir.path().join("cli.toml");
    let login = |token: &str| {
        std::process::Command::new(BIN)
            .args(["admin", "--url", &node.base, "--token", token, "login"])
            .env("TRUSTPLANE_PROFILE", &profile)
            .output()
            .unwrap()
    };
    let bad = login("tp_not-a-token-anyone-issued-xxxxxxxxxxxxxxxxx");
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("not saved"), "{err}");
    assert!(!profile.exists(), "a refused token was saved");
    let good = login(TOKEN);
    assert_eq!(good.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&good.stdout).contains("signed in as admin@"));
    assert!(profile.exists());

    // Role definitions: created, changed and read by name.
    let resource = dir.path().join("role.json");
    std::fs::write(
        &resource,
        r#"{"type": "awsSamlRole", "accountId": "111111111111",
            "roleArn": "arn:aws:iam::111111111111:role/ReadOnly",
            "samlProviderArn": "arn:aws:iam::111111111111:saml-provider/Trustplane",
            "maxSessionDuration": 3600}"#,
    )
    .unwrap();
    let role = cli_json(
        &node,
        &[
            "admin",
            "roles",
            "create",
            "--display-name",
            "AWS ReadOnly",
            "--resource-file",
            resource.to_str().unwrap(),
        ],
    );
    assert_eq!(role["resource"]["accountId"], "111111111111");
    let changed = cli_json(
        &node,
        &[
            "admin",
            "roles",
            "update",
            "aws readonly",
            "--description",
            "reads everything in the sandbox",
        ],
    );
    assert_eq!(changed["id"], role["id"]);
    assert_eq!(changed["description"], "reads everything in the sandbox");
    let (code, _, err) = cli(
        Some(&node),
        &[
            "admin",
            "roles",
            "update",
            "Global Administrator",
            "--description",
            "x",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("built-in"), "{err}");

    // PIM settings of that role, by name; approvers by UPN and group name.
    cli_json(
        &node,
        &[
            "admin",
            "groups",
            "create",
            "--display-name",
            "Cloud Approvers",
        ],
    );
    let settings = cli_json(
        &node,
        &[
            "pim",
            "set-settings",
            "AWS ReadOnly",
            "--max-duration",
            "2h",
            "--require-approval",
            "true",
            "--approver",
            "admin@trustplane.local",
            "--approver",
            "cloud approvers",
        ],
    );
    assert_eq!(settings["maxActivationSeconds"], 7200);
    assert_eq!(settings["requireApproval"], true);
    let approvers = settings["approvers"].as_array().unwrap();
    assert_eq!(approvers.len(), 2);
    assert!(
        approvers.iter().all(|a| !a.as_str().unwrap().contains(' ')),
        "approvers are kept by id: {settings}"
    );

    // Groups by name where ids were needed; names in the assignments table.
    cli_json(
        &node,
        &[
            "admin",
            "groups",
            "create",
            "--display-name",
            "Readers",
            "--role-assignable",
        ],
    );
    cli_json(
        &node,
        &[
            "admin",
            "users",
            "create",
            "--upn",
            "ada@example.com",
            "--display-name",
            "Ada",
        ],
    );
    let (code, _, err) = cli(
        Some(&node),
        &[
            "admin",
            "groups",
            "add-member",
            "readers",
            "ada@example.com",
        ],
    );
    assert_eq!(code, 0, "{err}");
    cli_json(
        &node,
        &[
            "admin",
            "assignments",
            "create",
            "--principal",
            "Readers",
            "--role",
            "Security Reader",
        ],
    );
    let (code, table, _) = cli(
        Some(&node),
        &["admin", "assignments", "list", "--principal", "readers"],
    );
    assert_eq!(code, 0);
    assert!(
        table.contains("Readers") && table.contains("Security Reader"),
        "{table}"
    );

    // An OIDC client with a secret shown once, then a SAML SP from its metadata.
    let client = cli_json(
        &node,
        &[
            "admin",
            "applications",
            "create",
            "--display-name",
            "Wiki",
            "--redirect-uri",
            "https://wiki.example.com/callback",
        ],
    );
    assert_eq!(
        client["settings"]["oidc"]["redirectUris"][0],
        "https://wiki.example.com/callback"
    );
    let secret = cli_json(&node, &["admin", "applications", "add-secret", "Wiki"]);
    let key_id = secret["keyId"].as_str().unwrap().to_string();
    assert!(secret["secretText"].as_str().unwrap().len() >= 32);
    let (code, _, err) = cli(
        Some(&node),
        &["admin", "applications", "remove-secret", "Wiki", &key_id],
    );
    assert_eq!(code, 0, "{err}");
    let metadata = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../saml/tests/data/aws-sp-metadata.xml"
    );
    let sp = cli_json(
        &node,
        &[
            "admin",
            "applications",
            "import-metadata",
            metadata,
            "--display-name",
            "AWS (metadata)",
        ],
    );
    assert_eq!(sp["appId"], "urn:amazon:webservices");
    let sp = cli_json(
        &node,
        &[
            "admin",
            "applications",
            "update",
            sp["id"].as_str().unwrap(),
            "--template",
            "aws-console",
            "--session-duration",
            "3600",
        ],
    );
    assert_eq!(sp["settings"]["saml"]["template"], "awsConsole");
    assert_eq!(sp["settings"]["saml"]["sessionDuration"], 3600);

    // A name two applications share names neither.
    for _ in 0..2 {
        cli_json(
            &node,
            &["admin", "apps", "create", "--display-name", "Twin"],
        );
    }
    let (code, _, err) = cli(Some(&node), &["admin", "apps", "delete", "twin"]);
    assert_eq!(code, 1);
    assert!(err.contains("several applications"), "{err}");
    assert_eq!(
        cli_json(&node, &["admin", "apps", "list"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["displayName"] == "Twin")
            .count(),
        2
    );

    // Tokens: one's own, listed without the secret, revoked by id.
    let made = cli_json(
        &node,
        &["admin", "tokens", "create", "--description", "laptop"],
    );
    let token = made["token"].as_str().unwrap().to_string();
    let listed = cli_json(&node, &["admin", "tokens", "list"]);
    assert!(!listed.to_string().contains(&token));
    let laptop = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["description"] == "laptop")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = call(&node, reqwest::Method::GET, "/api/v1/me", None, &token).await;
    assert_eq!(status, 200);
    let (code, _, err) = cli(Some(&node), &["admin", "tokens", "revoke", &laptop]);
    assert_eq!(code, 0, "{err}");
    let (status, _) = call(&node, reqwest::Method::GET, "/api/v1/me", None, &token).await;
    assert_eq!(status, 401);

    // Signing keys rotate, the old ones staying published.
    let before = http()
        .get(node.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let rotated = cli_json(&node, &["admin", "keys", "rotate", "oidc"]);
    let after = http()
        .get(node.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let kids = |v: &serde_json::Value| {
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(kids(&after).contains(&rotated["keyId"].as_str().unwrap().to_string()));
    assert!(kids(&before).iter().all(|k| kids(&after).contains(k)));
    let saml = cli_json(
        &node,
        &["admin", "keys", "rotate", "saml", "--overlap-hours", "24"],
    );
    assert_eq!(saml["overlapHours"], 24);
}
