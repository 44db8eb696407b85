//! End-to-end password sign-ins against the raw argon2id verification they contain, in one
//! run: sign-ins per second per core, and what the rest of the path (HTTP, JSON, the store,
//! the sign-in log, the session) costs on top of the hash.
//!
//! `cargo bench -p trustplane-server --bench signin`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use trustplane_authn::SessionPolicy;
use trustplane_model::{Actor, SystemClock};
use trustplane_server::{app, AppState, NodeSettings};
use trustplane_store::{NewUser, Store};

const PASSWORD: &str = "correct horse battery staple";
const N: usize = 40;
const ROUNDS: usize = 3;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let store = Store::open(&url, Arc::new(SystemClock)).await.unwrap();
    let hash = trustplane_authn::hash_password(PASSWORD).unwrap();
    for i in 0..N {
        store
            .create_user(
                &Actor::system(),
                NewUser {
                    user_principal_name: format!("user{i}@example.com"),
                    display_name: format!("User {i}"),
                    account_enabled: true,
                    password_hash: Some(hash.clone()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let settings = NodeSettings {
        public_url: Some("http://localhost".into()),
        master_key: Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".into()),
        master_key_file: dir.path().join("unused"),
        // Requests carry distinct forwarded addresses, so the per-address limit stays out of
        // the way while the code path stays the real one.
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        sessions: SessionPolicy::default(),
        issuer: "Trustplane".into(),
        geoip_database: None,
        detection_rules: vec![],
        limits: Default::default(),
        ingest_limits: Default::default(),
    };
    let state = AppState::new(store.clone(), &settings, "http://localhost")
        .await
        .unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let http = reqwest::Client::new();

    let mut raw = Vec::new();
    let mut full = Vec::new();
    for round in 0..ROUNDS {
        for _ in 0..N {
            let h = hash.clone();
            let started = Instant::now();
            let ok = tokio::task::spawn_blocking(move || {
                trustplane_authn::verify_password(PASSWORD, &h)
                    .unwrap()
                    .valid
            })
            .await
            .unwrap();
            raw.push(started.elapsed());
            assert!(ok);
        }
        for i in 0..N {
            let started = Instant::now();
            let r = http
                .post(format!("{base}/api/v1/auth/signIn"))
                .header(
                    "x-forwarded-for",
                    format!("10.{round}.{}.{}", i / 250, i % 250 + 1),
                )
                .json(&json!({"username": format!("user{i}@example.com"), "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap();
            full.push(started.elapsed());
        }
    }
    let raw = median(raw);
    let full = median(full);
    let overhead = (full.as_secs_f64() - raw.as_secs_f64()) / raw.as_secs_f64() * 100.0;
    println!(
        "argon2id verify (m=19456 KiB, t=2, p=1): median {:.2} ms -> {:.1} per second per core",
        raw.as_secs_f64() * 1e3,
        1.0 / raw.as_secs_f64()
    );
    println!("password sign-in over HTTP (JSON API, SQLite): median {:.2} ms -> {:.1} per second per core", full.as_secs_f64() * 1e3, 1.0 / full.as_secs_f64());
    println!(
        "rest of the path: {overhead:.1} % of the hash ({} samples each)",
        N * ROUNDS
    );
}
