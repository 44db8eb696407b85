//! A Trustplane node for the client-credentials benchmark (`bench/oidc-client-credentials.sh`):
//! a fresh SQLite store with the default policies, one confidential client `bench-client`
//! allowed the client_credentials grant, and the whole HTTP application on one Tokio worker.
//!
//! `oidc_bench_server PORT SECRET DATA_DIR` prints `ready` once it listens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::json;
use trustplane_authn::SessionPolicy;
use trustplane_model::{Actor, SystemClock};
use trustplane_server::{app, AppState, NodeSettings};
use trustplane_store::{NewApplication, NewClientSecret, Store};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, port, secret, dir] = args.as_slice() else {
        eprintln!("usage: oidc_bench_server PORT SECRET DATA_DIR");
        std::process::exit(2);
    };
    let port: u16 = port.parse().expect("port");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(port, secret.clone(), dir.into()));
}

async fn run(port: u16, secret: String, dir: std::path::PathBuf) {
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.display());
    let store = Store::open(&url, Arc::new(SystemClock)).await.unwrap();
    // The issuer; WebAuthn (built with every node) needs a host name rather than an address.
    let public_url = format!("http://localhost:{port}");
    let settings = NodeSettings {
        public_url: Some(public_url.clone()),
        master_key: Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".into()),
        master_key_file: dir.join("unused"),
        trusted_proxies: vec![],
        sessions: SessionPolicy::default(),
        issuer: "Trustplane".into(),
        geoip_database: None,
        detection_rules: vec![],
        limits: Default::default(),
        ingest_limits: Default::default(),
    };
    let state = AppState::new(store.clone(), &settings, &public_url)
        .await
        .unwrap();
    let mut app_settings = serde_json::Map::new();
    app_settings.insert(
        "oidc".into(),
        json!({"grantTypes": ["client_credentials"], "scopes": ["api.read"]}),
    );
    trustplane_server::oidc::clients::validate_settings(&app_settings).unwrap();
    let client = store
        .create_application(
            &Actor::system(),
            NewApplication {
                display_name: "bench-client".into(),
                app_id: Some("bench-client".into()),
                description: None,
                settings: app_settings,
            },
        )
        .await
        .unwrap();
    let now = trustplane_model::Clock::now_ms(&SystemClock);
    store
        .add_client_secret(
            &Actor::system(),
            NewClientSecret {
                key_id: trustplane_model::new_id(),
                application_id: client.id,
                secret_hash: trustplane_authn::hash_session_token(&secret),
                hint: secret.chars().take(3).collect(),
                display_name: Some("bench".into()),
                start_at: now,
                end_at: None,
            },
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    println!("ready");
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .unwrap();
}
