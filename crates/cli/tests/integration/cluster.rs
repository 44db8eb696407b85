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
