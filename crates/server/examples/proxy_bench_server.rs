//! The identity-aware proxy benchmark's process (`bench/proxy.sh`): a Trustplane node (fresh
//! SQLite store), a minimal upstream page, and the proxy in front of it with one proxied
//! application and one person signed in through the real OIDC round trip, all on one Tokio
//! worker so that direct and proxied requests are measured on the same single core.
//!
//! `proxy_bench_server DATA_DIR` prints `ready UPSTREAM_URL PROXY_URL COOKIE` once all listen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{json, Value};
use trustplane_authn::SessionPolicy;
use trustplane_model::{Actor, SystemClock};
use trustplane_proxy::{AppCredentials, Proxy, ProxyConfig};
use trustplane_server::{app, AppState, NodeSettings};
use trustplane_store::{NewApplication, NewClientSecret, NewUser, Store};

const PASSWORD: &str = "correct horse battery staple";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir] = args.as_slice() else {
        eprintln!("usage: proxy_bench_server DATA_DIR");
        std::process::exit(2);
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(dir.into()));
}

async fn listen() -> (tokio::net::TcpListener, u16) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

async fn run(dir: std::path::PathBuf) {
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.display());
    let clock = Arc::new(SystemClock);
    let store = Store::open(&url, clock.clone()).await.unwrap();
    let (tp_listener, tp_port) = listen().await;
    let public_url = format!("http://localhost:{tp_port}");
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
    tokio::spawn(async move {
        axum::serve(
            tp_listener,
            app(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });

    // The upstream: one small page.
    let (up_listener, up_port) = listen().await;
    let upstream = axum::Router::new().fallback(|| async {
        axum::response::Html("<!doctype html><title>wiki</title><h1>Wiki home</h1>")
    });
    tokio::spawn(async move { axum::serve(up_listener, upstream).await.unwrap() });

    // The proxied application, a person and the proxy.
    let (proxy_probe, proxy_port) = listen().await;
    drop(proxy_probe);
    let external = format!("http://127.0.0.1:{proxy_port}");
    let mut app_settings = serde_json::Map::new();
    app_settings.insert(
        "oidc".into(),
        json!({"redirectUris": [format!("{external}/.trustplane/callback")]}),
    );
    app_settings.insert(
        "proxy".into(),
        json!({"upstream": format!("http://127.0.0.1:{up_port}"), "externalUrl": external}),
    );
    trustplane_idp::app_settings::complete("wiki", &mut app_settings).unwrap();
    let wiki = store
        .create_application(
            &Actor::system(),
            NewApplication {
                display_name: "Wiki".into(),
                app_id: Some("wiki".into()),
                description: None,
                settings: app_settings,
            },
        )
        .await
        .unwrap();
    let secret = "bench-proxy-secret-0123456789abcdef0123456789";
    store
        .add_client_secret(
            &Actor::system(),
            NewClientSecret {
                key_id: trustplane_model::new_id(),
                application_id: wiki.id,
                secret_hash: trustplane_authn::hash_session_token(secret),
                hint: "ben".into(),
                display_name: Some("bench".into()),
                start_at: trustplane_model::Clock::now_ms(&SystemClock),
                end_at: None,
            },
        )
        .await
        .unwrap();
    store
        .create_user(
            &Actor::system(),
            NewUser {
                user_principal_name: "ada@example.com".into(),
                display_name: "Ada".into(),
                account_enabled: true,
                password_hash: Some(trustplane_authn::hash_password(PASSWORD).unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let config = ProxyConfig {
        trustplane_url: public_url.clone(),
        listen: format!("127.0.0.1:{proxy_port}").parse().unwrap(),
        apps: vec![AppCredentials {
            client_id: "wiki".into(),
            client_secret: secret.into(),
        }],
        recheck_seconds: 5,
        upstream_timeout_seconds: 30,
        trusted_proxies: vec![],
        signing_key_file: None,
    };
    let running = Proxy::bind(config, clock).await.unwrap();
    assert!(running.proxy.load_apps().await);
    tokio::spawn(running.run());

    // Sign in: the proxy's redirect, a Trustplane session, the code, the proxy's cookie.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let location =
        |r: &reqwest::Response| -> String { r.headers()["location"].to_str().unwrap().to_string() };
    let r = http.get(format!("{external}/")).send().await.unwrap();
    let authorize = location(&r);
    let signed: Value = http
        .post(format!("{public_url}/api/v1/auth/signIn"))
        .json(&json!({"username": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signed["sessionToken"].as_str().expect("signed in");
    let r = http
        .get(&authorize)
        .header("cookie", format!("tp_session={token}"))
        .send()
        .await
        .unwrap();
    let callback = location(&r);
    assert!(callback.contains("code="), "{callback}");
    let r = http.get(&callback).send().await.unwrap();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = http
        .get(format!("{external}/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Wiki home"), "{page}");
    println!("ready http://127.0.0.1:{up_port}/ {external}/ {cookie}");
    std::future::pending::<()>().await;
}
