//! Several nodes on one PostgreSQL, and PostgreSQL going away and coming back.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

/// Polls `check` until it holds or `limit` passes; for effects of real background work.
async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_writes_and_one_runs_the_checkpoint_job() {
    let Some(db) = Db::new(Backend::Postgres).await else {
        return;
    };
    let env = [("TRUSTPLANE_BOOTSTRAP_ADMIN_TOKEN", TOKEN)];
    let a = Node::start(
        &db,
        &["--node-id", "node-a", "--checkpoint-interval-secs", "1"],
        &env,
    )
    .await;
    let b = Node::start(
        &db,
        &["--node-id", "node-b", "--checkpoint-interval-secs", "1"],
        &env,
    )
    .await;
    // Only one of them bootstrapped.
    assert!(a.banner.is_empty() || b.banner.is_empty());
    let (s, _) = post(
        &a,
        "/api/v1/users",
        json!({"userPrincipalName": "on-a@example.com", "displayName": "A"}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = get(&b, "/api/v1/users/on-a@example.com").await;
    assert_eq!(s, 200, "a write on node a is visible on node b at once");
    let (s, _) = post(
        &b,
        "/api/v1/users",
        json!({"userPrincipalName": "on-b@example.com", "displayName": "B"}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = get(&a, "/api/v1/users/on-b@example.com").await;
    assert_eq!(s, 200);
    let (s, _) = post(
        &b,
        "/api/v1/users",
        json!({"userPrincipalName": "ON-A@example.com", "displayName": "dup"}),
    )
    .await;
    assert_eq!(s, 409, "uniqueness holds across nodes");

    // Both nodes try to run the checkpoint job every second; the lease lets one do it.
    let url = db.pg_url.clone().unwrap();
    let nodes = || async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let rows: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT node FROM audit_checkpoints")
            .fetch_all(&pool)
            .await
            .unwrap();
        let count: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_checkpoints")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        (rows.into_iter().map(|r| r.0).collect::<Vec<_>>(), count.0)
    };
    assert!(
        eventually(Duration::from_secs(20), || async { nodes().await.1 >= 2 }).await,
        "no checkpoints written"
    );
    for i in 0..3 {
        post(
            &a,
            "/api/v1/users",
            json!({"userPrincipalName": format!("more{i}@example.com"), "displayName": "m"}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let (holders, _) = nodes().await;
    assert_eq!(holders.len(), 1, "checkpoints written by {holders:?}");
    let (code, report) = audit_verify(&db);
    assert_eq!(code, 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_answers_503_then_recovers_without_a_restart() {
    if std::env::var("TRUSTPLANE_TEST_POSTGRES_URL").is_err()
        && std::env::var("TRUSTPLANE_SKIP_POSTGRES").as_deref() == Ok("1")
    {
        return;
    }
    // A private server, since this test stops it.
    let script = repo_root().join("scripts/postgres.sh");
    let pg_dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        pg_dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let pg = pg_dir.path().join("pg");
    let out = Command::new("bash")
        .arg(&script)
        .arg("start")
        .arg(&pg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = String::from_utf8(out.stdout).unwrap().trim().to_string();
    struct Stop(std::path::PathBuf, std::path::PathBuf);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = Command::new("bash")
                .arg(&self.0)
                .arg("stop")
                .arg(&self.1)
                .output();
        }
    }
    let _stop = Stop(script.clone(), pg.clone());
    let url = create_database(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let db = Db {
        dir,
        pg_url: Some(url),
    };
    let node = db.start().await;
    let (s, _) = post(
        &node,
        "/api/v1/users",
        json!({"userPrincipalName": "before@example.com", "displayName": "b"}),
    )
    .await;
    assert_eq!(s, 201);

    let out = Command::new("bash")
        .arg(&script)
        .arg("stop")
        .arg(&pg)
        .output()
        .unwrap();
    assert!(out.status.success());
    let ready = http().get(node.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let (s, problem) = post(
        &node,
        "/api/v1/users",
        json!({"userPrincipalName": "during@example.com", "displayName": "d"}),
    )
    .await;
    assert_eq!(s, 503, "{problem}");
    let (s, _) = get(&node, "/api/v1/users").await;
    assert_eq!(s, 503);

    let out = Command::new("bash")
        .arg(&script)
        .arg("restart")
        .arg(&pg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recovered = eventually(Duration::from_secs(30), || async {
        http()
            .get(node.url("/readyz"))
            .send()
            .await
            .map(|r| r.status().as_u16() == 200)
            .unwrap_or(false)
    })
    .await;
    assert!(recovered, "the node did not recover");
    let (s, _) = post(
        &node,
        "/api/v1/users",
        json!({"userPrincipalName": "after@example.com", "displayName": "a"}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = get(&node, "/api/v1/users/during@example.com").await;
    assert_eq!(s, 404, "the refused write left nothing behind");
}

/// Polls `check` every 10 ms until it holds; the time it took, or `None` after `limit`.
async fn time_until<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

async fn sign_in(node: &Node, upn: &str) -> (u16, serde_json::Value) {
    let resp = http()
        .post(node.url("/api/v1/auth/signIn"))
        .json(&json!({"username": upn, "password": "a long and unusual passphrase"}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_node_takes_effect_on_the_others_within_a_bound() {
    let Some(db) = Db::new(Backend::Postgres).await else {
        return;
    };
    let env = [("TRUSTPLANE_BOOTSTRAP_ADMIN_TOKEN", TOKEN)];
    let a = Node::start(&db, &["--node-id", "node-a"], &env).await;
    let b = Node::start(&db, &["--node-id", "node-b"], &env).await;
    let c = Node::start(&db, &["--node-id", "node-c"], &env).await;
    let bound = Duration::from_secs(3);
    let mut ids = Vec::new();
    for upn in ["dora@example.com", "pia@example.com", "sam@example.com"] {
        let (s, u) = post(
            &a,
            "/api/v1/users",
            json!({"userPrincipalName": upn, "displayName": upn,
                   "passwordProfile": {"password": "a long and unusual passphrase"}}),
        )
        .await;
        assert_eq!(s, 201, "{u}");
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    let mut took = Vec::new();

    // A user disabled on node a can no longer sign in on nodes b and c.
    for n in [&b, &c] {
        assert_eq!(sign_in(n, "dora@example.com").await.0, 200);
    }
    let (s, _) = call(
        &a,
        reqwest::Method::PATCH,
        &format!("/api/v1/users/{}", ids[0]),
        Some(json!({"accountEnabled": false})),
        TOKEN,
    )
    .await;
    assert_eq!(s, 200);
    for n in [&b, &c] {
        let t = time_until(bound, || async {
            sign_in(n, "dora@example.com").await.0 != 200
        })
        .await
        .expect("the disabled user still signs in on another node");
        took.push(("user disabled", t));
    }

    // A conditional-access policy written on node a blocks on nodes b and c.
    let policy = json!({
        "displayName": "Block Pia", "state": "enabled",
        "conditions": {"users": {"includeUsers": [ids[1]]},
                       "applications": {"includeApplications": ["All"]},
                       "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}
    });
    for n in [&b, &c] {
        assert_eq!(sign_in(n, "pia@example.com").await.0, 200);
    }
    let (s, p) = post(&a, "/api/v1/identity/conditionalAccess/policies", policy).await;
    assert_eq!(s, 201, "{p}");
    for n in [&b, &c] {
        let t = time_until(bound, || async {
            sign_in(n, "pia@example.com").await.0 == 403
        })
        .await
        .expect("the new policy does not block on another node");
        took.push(("policy changed", t));
    }

    // A session revoked on node a is refused on node b.
    let (s, signed) = sign_in(&b, "sam@example.com").await;
    assert_eq!(s, 200, "{signed}");
    let token = signed["sessionToken"].as_str().unwrap().to_string();
    let session_ok = |n: &Node| {
        let req = http()
            .get(n.url("/api/v1/auth/session"))
            .bearer_auth(token.clone());
        async move { req.send().await.unwrap().status().as_u16() == 200 }
    };
    assert!(session_ok(&c).await);
    let (s, _) = call(
        &a,
        reqwest::Method::POST,
        &format!("/api/v1/users/{}/revokeSignInSessions", ids[2]),
        None,
        TOKEN,
    )
    .await;
    assert_eq!(s, 200);
    for n in [&b, &c] {
        let t = time_until(bound, || async { !session_ok(n).await })
            .await
            .expect("the revoked session still works on another node");
        took.push(("session revoked", t));
    }

    // A signing key rotated on node a is published by nodes b and c.
    let (s, rotated) = post(
        &a,
        "/api/v1/oidc/keys/rotate",
        json!({"algorithm": "ES256"}),
    )
    .await;
    assert_eq!(s, 200, "{rotated}");
    let kid = rotated["keyId"].as_str().unwrap().to_string();
    for n in [&b, &c] {
        let t = time_until(bound, || async {
            let jwks: serde_json::Value = http()
                .get(n.url("/oauth2/jwks"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            jwks["keys"]
                .as_array()
                .is_some_and(|keys| keys.iter().any(|k| k["kid"] == kid.as_str()))
        })
        .await
        .expect("the new key is not published by another node");
        took.push(("signing key rotated", t));
    }
    // The figures for docs/scaling.md.
    for (what, t) in &took {
        eprintln!("propagation: {what}: {} ms", t.as_millis());
    }
}
