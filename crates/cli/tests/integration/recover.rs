//! `trustplane admin recover`: with every administrator locked out and no server running, the
//! command on the database alone brings back a Global Administrator who can sign in, and the
//! audit trail records it and stays intact.

use crate::both_backends;
use crate::harness::*;

both_backends!(break_glass_recovery_brings_back_an_administrator_without_a_server);

async fn break_glass_recovery_brings_back_an_administrator_without_a_server(db: Db) {
    let node = db.start().await;
    // The server itself refuses to lock the last administrator out.
    let (status, problem) = call(
        &node,
        reqwest::Method::PATCH,
        "/api/v1/users/admin@trustplane.local",
        Some(serde_json::json!({"accountEnabled": false})),
        TOKEN,
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    drop(node);
    // Someone with the database did it anyway.
    db.execute("UPDATE users SET account_enabled = 0").await;

    let mut args = vec!["admin", "recover", "admin@trustplane.local"];
    let db_args = db.db_args();
    args.extend(db_args.iter().map(String::as_str));
    let (code, out, err) = cli(None, &args);
    assert_eq!(code, 0, "{out}{err}");
    let password = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("one-time password:"))
        .and_then(|l| l.split_whitespace().next())
        .expect("password line")
        .to_string();
    assert!(password.len() >= 20, "{out}");

    let node = db.start().await;
    let sign_in = |password: String| {
        let url = node.url("/api/v1/auth/signIn");
        async move {
            let r = http()
                .post(url)
                .json(&serde_json::json!({"username": "admin@trustplane.local", "password": password}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    // The password is right: what stops a desktop client now is the default policy sending
    // an administrator without a second factor to register one, not the credentials.
    let (status, body) = sign_in(password.clone()).await;
    assert!(
        status == 200 || (status == 403 && body.contains("register a method")),
        "{status} {body}"
    );
    let (status, body) = sign_in(format!("{password}x")).await;
    assert_eq!(status, 401, "{body}");
    let (status, me) = get(&node, "/api/v1/me").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["roles"][0], "Global Administrator");
    let (status, log) = get(&node, "/api/v1/audit?activity=breakGlass.recover").await;
    assert_eq!(status, 200, "{log}");
    let recovered = log["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["activity"] == "breakGlass.recover");
    assert!(recovered, "{log}");
    drop(node);

    // Without a database to work on, it says so and creates nothing.
    let empty = db.dir.path().join("nowhere");
    let (code, _, err) = cli(
        None,
        &[
            "admin",
            "recover",
            "x@example.com",
            "--data-dir",
            empty.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("no database"), "{err}");
    assert!(!empty.exists());

    let (code, report) = audit_verify(&db);
    assert_eq!(code, 0, "{report}");
}
