//! A person's timeline at scale: seeds one person with N cloud records (default 1,000,000,
//! one a minute) and N/100 audit entries (sign-ins), beside 100,000 records of other people,
//! into a fresh SQLite database, then times the timeline reads the API makes (p50 and p99).
//!
//! `cargo run --release -p trustplane-monitor --example timeline_scale -- [RECORDS]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Connection;
use trustplane_model::ManualClock;
use trustplane_monitor::timeline::{person_timeline, Source, TimelineQuery};
use trustplane_store::{Store, TimeRange};

const T0: i64 = 1_790_000_000_000;
const MINUTE: i64 = 60_000;

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
        "{name:<52} p50 {:>8.3} ms  p99 {:>8.3} ms  ({runs} runs, {found} entries)",
        percentile(&took, 0.5),
        percentile(&took, 0.99)
    );
}

#[tokio::main]
async fn main() {
    let records: i64 = std::env::args()
        .nth(1)
        .map_or(1_000_000, |n| n.parse().expect("a number of records"));
    let audits = records / 100;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/timeline.db?mode=rwc", dir.path().display());
    let store = Store::open(&url, Arc::new(ManualClock::new(T0)))
        .await
        .unwrap();

    let seeding = Instant::now();
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let summary = r#"{"time":null,"provider":"aws","source":"s3.amazonaws.com","action":"GetObject","actor":{},"sourceIp":"198.51.100.7","outcome":"success","account":"111122223333"}"#;
    sqlx::raw_sql(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {records}) \
         INSERT INTO person_events (id, person_id, at, provider, summary) \
         SELECT 'e' || i, 'u1', {T0} + i * {MINUTE}, 'aws', '{summary}' FROM n"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::raw_sql(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
         INSERT INTO person_events (id, person_id, at, provider, summary) \
         SELECT 'o' || i, 'u' || (2 + i % 1000), {T0} + i * {MINUTE}, 'aws', '{summary}' FROM n"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    // Sign-ins every 100 minutes, as audit entries (the chain's hashes are not checked here).
    sqlx::raw_sql(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {audits}) \
         INSERT INTO audit_log (seq, at, category, activity, actor_id, target_id, subject_id, body, prev_hash, hash) \
         SELECT 1000 + i, {T0} + i * 100 * {MINUTE}, 'signIn', 'signIn', 'u1', 'trustplane', NULL, \
           '{{\"sequence\":' || (1000 + i) || ',\"activityDateTime\":\"' || \
           strftime('%Y-%m-%dT%H:%M:%SZ', ({T0} / 1000) + i * 6000, 'unixepoch') || \
           '\",\"category\":\"signIn\",\"activity\":\"signIn\",\"initiatedBy\":{{\"id\":\"u1\",\"displayName\":null,\"ipAddress\":\"198.51.100.7\",\"userAgent\":null}},\"target\":null,\"result\":\"success\",\"resultReason\":null,\"before\":null,\"after\":null}}', \
           'x', 'x' FROM n"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::raw_sql("ANALYZE").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    println!(
        "seeded {records} cloud records and {audits} sign-ins of one person (and 100,000 of others) in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let rfc = |ms: i64| {
        trustplane_model::from_ms(ms)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let span = records * MINUTE;
    time("first page of 100 (both halves)", 200, |_| {
        let store = store.clone();
        async move {
            let q = TimelineQuery {
                top: 100,
                ..Default::default()
            };
            person_timeline(&store, "u1", &q).await.unwrap().value.len()
        }
    })
    .await;
    time("a page of 100 from a random time (from=...)", 200, |i| {
        let store = store.clone();
        let from = T0 + (i as i64 * 7919 * MINUTE) % span;
        async move {
            let q =
                TimelineQuery::parse(Some(&rfc(from)), None, None, None, Some(100), None).unwrap();
            person_timeline(&store, "u1", &q).await.unwrap().value.len()
        }
    })
    .await;
    time("sign-ins only (category=signIn), page of 100", 200, |i| {
        let store = store.clone();
        let from = T0 + (i as i64 * 7919 * MINUTE) % span;
        async move {
            let q = TimelineQuery {
                range: TimeRange {
                    from: Some(from),
                    to: None,
                },
                categories: vec!["signIn".into()],
                top: 100,
                ..Default::default()
            };
            person_timeline(&store, "u1", &q).await.unwrap().value.len()
        }
    })
    .await;
    time(
        "one day (source=aws, 1,440 entries, pages of 1000)",
        50,
        |i| {
            let store = store.clone();
            let from = T0 + (i as i64 * 7919 * MINUTE) % (span - 24 * 60 * MINUTE);
            async move {
                let mut q = TimelineQuery {
                    range: TimeRange {
                        from: Some(from),
                        to: Some(from + 24 * 60 * MINUTE),
                    },
                    sources: vec![Source::Aws],
                    top: 1000,
                    ..Default::default()
                };
                let mut n = 0;
                loop {
                    let page = person_timeline(&store, "u1", &q).await.unwrap();
                    n += page.value.len();
                    match page.next {
                        Some(c) => q.cursor = Some(c),
                        None => break n,
                    }
                }
            }
        },
    )
    .await;
    // The whole timeline, as an export reads it.
    let all = Instant::now();
    let mut q = TimelineQuery {
        top: 1000,
        ..Default::default()
    };
    let mut total = 0;
    loop {
        let page = person_timeline(&store, "u1", &q).await.unwrap();
        total += page.value.len();
        match page.next {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    println!(
        "the whole timeline in pages of 1000: {total} entries in {:.1} s ({:.0} entries/s)",
        all.elapsed().as_secs_f64(),
        total as f64 / all.elapsed().as_secs_f64()
    );
}
