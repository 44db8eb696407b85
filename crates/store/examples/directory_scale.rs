//! The directory at scale: seeds N users (default 1,000,000) straight into a fresh database
//! and times the list queries the API and the console make, printing p50 and p99.
//!
//! `cargo run --release -p trustplane-store --example directory_scale -- [USERS] [DATABASE_URL]`
//! (an SQLite file in a temporary folder when no URL is given).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Connection;
use trustplane_model::ManualClock;
use trustplane_store::{Clause, ListQuery, Op, Store};

const T0: i64 = 1_790_000_000_000;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

async fn time<F, Fut>(name: &str, runs: usize, mut f: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut took = Vec::with_capacity(runs);
    let mut found = 0;
    for i in 0..runs {
        let start = Instant::now();
        found += f(i).await;
        took.push(start.elapsed());
    }
    took.sort();
    println!(
        "{name:<44} p50 {:>8.3} ms  p99 {:>8.3} ms  ({runs} runs, {found} rows)",
        percentile(&took, 0.5),
        percentile(&took, 0.99)
    );
}

fn filter(field: &str, op: Op, value: String) -> ListQuery {
    ListQuery {
        filter: vec![Clause {
            field: field.into(),
            op,
            value,
        }],
        top: 100,
        skip_token: None,
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let users: i64 = args
        .get(1)
        .map_or(1_000_000, |n| n.parse().expect("a number of users"));
    let dir = tempfile::tempdir().unwrap();
    let url = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| format!("sqlite://{}/scale.db?mode=rwc", dir.path().display()));
    let store = Store::open(&url, Arc::new(ManualClock::new(T0)))
        .await
        .unwrap();

    let seeding = Instant::now();
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {users}) \
         INSERT INTO users (id, upn, upn_key, display_name, mail, given_name, surname, \
           account_enabled, attributes, password_hash, password_must_change, created_at, updated_at) \
         SELECT 'u' || i, 'person' || i || '@example.com', 'person' || i || '@example.com', \
           'Person ' || i, NULL, NULL, NULL, 1, '{{}}', NULL, 0, {T0} + i, {T0} + i FROM n"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::raw_sql("ANALYZE").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    println!(
        "seeded {users} users in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let pick = |i: usize| (i as i64 * 7919) % users + 1;
    time("userPrincipalName eq", 200, |i| {
        let q = filter(
            "userPrincipalName",
            Op::Eq,
            format!("person{}@example.com", pick(i)),
        );
        let store = store.clone();
        async move { store.list_users(&q).await.unwrap().items.len() }
    })
    .await;
    time(
        "startswith(userPrincipalName) (11 to 1,111 rows)",
        200,
        |i| {
            let q = filter(
                "userPrincipalName",
                Op::StartsWith,
                format!("person{}", pick(i) / 1000 + 1),
            );
            let store = store.clone();
            async move { store.list_users(&q).await.unwrap().items.len() }
        },
    )
    .await;
    time("startswith(displayName) (scan; a page of 100)", 20, |i| {
        let q = filter(
            "displayName",
            Op::StartsWith,
            format!("person {}", pick(i) / 1000 + 1),
        );
        let store = store.clone();
        async move { store.list_users(&q).await.unwrap().items.len() }
    })
    .await;
    // Paging through everything, 999 at a time.
    let mut q = ListQuery {
        top: 999,
        ..ListQuery::default()
    };
    let mut pages = Vec::new();
    let all = Instant::now();
    let mut total = 0;
    loop {
        let start = Instant::now();
        let page = store.list_users(&q).await.unwrap();
        pages.push(start.elapsed());
        total += page.items.len();
        match page.next {
            Some(t) => q.skip_token = Some(t),
            None => break,
        }
    }
    pages.sort();
    println!(
        "{:<44} p50 {:>8.3} ms  p99 {:>8.3} ms  ({} pages, {total} users in {:.1} s)",
        "paging through every user, 999 a page",
        percentile(&pages, 0.5),
        percentile(&pages, 0.99),
        pages.len(),
        all.elapsed().as_secs_f64()
    );
}
