//! Pass-through authentication against a real Samba AD domain controller: a person imported
//! from AD signs in with their AD password (never stored here) and a TOTP code (computed by
//! Python's `pyotp`); disabled or locked in AD, they are refused at once, before any sync; a
//! directory that is down fails the sign-in closed. The same person then signs in through an
//! upstream OpenID Connect provider (the npm `oidc-provider`, tests/peers) linked to them by
//! their AD `objectGUID`, without any password here.
//!
//! Samba binds fixed ports: one domain controller for this whole file, and the run under
//! `flock /tmp/samba.lock` (scripts/test.sh does so). With `TRUSTPLANE_BENCH_PASS_THROUGH=N`
//! the test also measures N pass-through sign-ins (docs/benchmarks.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../directory-sync/tests/peers/mod.rs"]
mod peers;
#[path = "../../server/tests/support/pyotp.rs"]
mod pyotp_support;

use std::sync::Arc;
use std::time::Instant;

use peers::*;
use pyotp_support::pyotp;
use serde_json::json;
use trustplane_authn::{Relying, SessionPolicy};
use trustplane_directory_sync::{DirectorySync, NewConnection, SyncRequest};
use trustplane_idp::ca::ConditionalAccess;
use trustplane_idp::signin::{FirstStep, SecondFactor, SignIn, SignInError};
use trustplane_idp::upstream::{NewProvider, Upstream};
use trustplane_idp::{ClientApp, RequestContext, SignInLimits};
use trustplane_keyring::Sealer;
use trustplane_model::{Actor, Clock, ManualClock};
use trustplane_store::{AuditQuery, NewUser, Store};

const PEOPLE: &str = "OU=People,DC=corp,DC=example,DC=test";
const ADMIN_DN: &str = "CN=Administrator,CN=Users,DC=corp,DC=example,DC=test";
const AD_PW: &str = "Ad-Only-Passw0rd!7";

fn ctx(n: u8) -> RequestContext {
    RequestContext {
        ip: Some(format!("192.0.2.{n}").parse().unwrap()),
        user_agent: Some("test".into()),
        device_platform: "linux",
    }
}

fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(d.as_millis()).unwrap()
}

async fn sign_in_reasons(store: &Store) -> Vec<String> {
    store
        .list_audit(&AuditQuery {
            category: Some("signIn".into()),
            top: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|e| e.result_reason)
        .collect()
}

/// Whether the last refusal logged says `reason`.
async fn logged(store: &Store, reason: &str) -> bool {
    sign_in_reasons(store).await.iter().any(|r| r == reason)
}

async fn refused(signin: &SignIn, upn: &str, password: &str, n: u8) -> SignInError {
    match signin
        .password(&ctx(n), ClientApp::Browser, upn, password)
        .await
    {
        Ok(_) => panic!("{upn} signed in with {password:?}"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn active_directory_people_sign_in_with_their_directory_password() {
    let Some(ad) = start_samba() else { return };
    ad.tool(&["ou", "add", "OU=People"]);
    for name in ["alice", "bob", "erin", "dora"] {
        ad.tool(&[
            "user",
            "add",
            name,
            AD_PW,
            "--userou=OU=People",
            "--use-username-as-cn",
            &format!("--mail-address={name}@corp.example.test"),
        ]);
    }
    // Three wrong passwords lock an account (AD's own lockout, not Trustplane's).
    ad.tool(&[
        "domain",
        "passwordsettings",
        "set",
        "--account-lockout-threshold=3",
    ]);

    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(now_ms());
    let store = Store::open(
        &format!("sqlite://{}/t.db?mode=rwc", dir.path().display()),
        Arc::new(clock.clone()),
    )
    .await
    .unwrap();
    let sealer = Sealer::load_or_create(&dir.path().join("master.key")).unwrap();
    let ca = Arc::new(ConditionalAccess::new(store.clone(), None).unwrap());
    let signin = SignIn::new(
        store.clone(),
        sealer.clone(),
        Relying::new("id.example.com", "https://id.example.com", "Trustplane").unwrap(),
        "Trustplane".into(),
        SessionPolicy::default(),
        ca,
        SignInLimits::default(),
    );
    let sync = DirectorySync::new(store.clone(), sealer);
    let actor = Actor::system();
    let conn = sync
        .create(
            &actor,
            serde_json::from_value::<NewConnection>(json!({
                "type": "activeDirectory",
                "displayName": "Corp AD",
                "url": "ldaps://127.0.0.1",
                "bindDn": ADMIN_DN,
                "bindPassword": AD_ADMIN_PW,
                "baseDn": PEOPLE,
                "caCertificate": ad.pki.ca_pem,
                "passThroughAuthentication": true,
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let report = sync
        .sync(&actor, &conn.id, SyncRequest::default())
        .await
        .unwrap();
    assert_eq!(report.result, "succeeded", "{report:?}");
    let alice = store.get_user("alice@corp.example.test").await.unwrap();
    assert_eq!(
        store.user_password(&alice.id).await.unwrap().0,
        None,
        "no password is stored for an imported person"
    );
    assert!(signin.uses_pass_through(&alice.id).await.unwrap());

    // The AD password signs in; nothing of it is kept.
    let first = signin
        .password(
            &ctx(1),
            ClientApp::Browser,
            "alice@corp.example.test",
            AD_PW,
        )
        .await
        .unwrap();
    let FirstStep::Done(issued) = first else {
        panic!("no second factor registered yet: one step");
    };
    assert_eq!(issued.session.info.amr, vec!["pwd".to_string()]);
    assert_eq!(store.user_password(&alice.id).await.unwrap().0, None);

    // A wrong password and an empty one are refused; the empty one never reaches a bind (an
    // unauthenticated bind would succeed).
    assert!(matches!(
        refused(&signin, "alice@corp.example.test", "Wrong-Passw0rd!", 2).await,
        SignInError::InvalidCredentials
    ));
    assert!(logged(&store, "invalid password (directory)").await);
    assert!(matches!(
        refused(&signin, "alice@corp.example.test", "", 2).await,
        SignInError::InvalidCredentials
    ));
    assert!(logged(&store, "empty password (never sent to the directory)").await);

    // A TOTP code as the second factor, as for a local person.
    let (handle, uri, _) = signin.totp_begin(&alice).await.unwrap();
    let code = pyotp(&uri, clock.now_ms());
    signin
        .totp_confirm(&actor, &alice, &handle, &code, "app")
        .await
        .unwrap();
    clock.advance_ms(30_000);
    let step = signin
        .password(
            &ctx(3),
            ClientApp::Browser,
            "alice@corp.example.test",
            AD_PW,
        )
        .await
        .unwrap();
    let FirstStep::SecondFactor { handle, methods } = step else {
        panic!("the second factor is asked for");
    };
    assert_eq!(methods, vec!["totp".to_string()]);
    let code = pyotp(&uri, clock.now_ms());
    let issued = signin
        .second_factor(&ctx(3), &handle, SecondFactor::Totp(code))
        .await
        .unwrap();
    assert!(issued.session.mfa_at.is_some());
    assert!(issued.session.info.amr.contains(&"otp".to_string()));

    // Changing the password here is refused: it belongs to the directory.
    assert!(matches!(
        signin
            .change_password(
                &ctx(3),
                &actor,
                &issued.session,
                &alice,
                AD_PW,
                "Another-Passw0rd!9"
            )
            .await,
        Err(SignInError::BadRequest(_))
    ));

    // Only people imported by the connection go through it: a local person of the same
    // domain cannot use an AD password.
    store
        .create_user(
            &actor,
            NewUser {
                user_principal_name: "carol@corp.example.test".into(),
                display_name: "Carol".into(),
                account_enabled: true,
                password_hash: None,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    ad.tool(&["user", "add", "carol", AD_PW, "--userou=OU=People"]);
    assert!(matches!(
        refused(&signin, "carol@corp.example.test", AD_PW, 4).await,
        SignInError::InvalidCredentials
    ));

    // Disabled in AD: refused at once, before the next sync.
    ad.tool(&["user", "disable", "bob"]);
    assert!(matches!(
        refused(&signin, "bob@corp.example.test", AD_PW, 5).await,
        SignInError::InvalidCredentials
    ));
    assert!(logged(&store, "account disabled in the directory").await);
    assert!(
        store
            .get_user("bob@corp.example.test")
            .await
            .unwrap()
            .account_enabled,
        "no sync ran: Trustplane still thinks bob is enabled"
    );
    // Not even a temporary access pass typed in the password field gets past the directory.
    let bob = store.get_user("bob@corp.example.test").await.unwrap();
    let (pass, _) = signin
        .create_temporary_access_pass(&actor, &bob, None, 60, false)
        .await
        .unwrap();
    assert!(matches!(
        refused(&signin, "bob@corp.example.test", &pass, 5).await,
        SignInError::InvalidCredentials
    ));

    // Locked out in AD by wrong binds made elsewhere: the right password is refused here.
    let erin_dn = format!("CN=erin,{PEOPLE}");
    for _ in 0..3 {
        let s = ldaps(&ad).await;
        let (conn, mut ldap) = s;
        ldap3::drive!(conn);
        let r = ldap.simple_bind(&erin_dn, "Wrong-Passw0rd!").await.unwrap();
        assert_eq!(r.rc, 49);
    }
    assert!(matches!(
        refused(&signin, "erin@corp.example.test", AD_PW, 6).await,
        SignInError::InvalidCredentials
    ));
    assert!(logged(&store, "account locked in the directory").await);

    // The password never appears in the sign-in log or the audit trail.
    let everything = store
        .list_audit(&AuditQuery {
            top: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    let text = serde_json::to_string(&everything.items).unwrap();
    assert!(!text.contains(AD_PW), "the AD password was logged");

    // The same person signs in through an upstream OpenID Connect provider (oidc-provider,
    // Entra-shaped claims), linked by their AD objectGUID: no password here at all.
    upstream_sign_in(&store, &signin, &clock, &alice).await;

    if let Some(n) = std::env::var("TRUSTPLANE_BENCH_PASS_THROUGH")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let dora = store.get_user("dora@corp.example.test").await.unwrap();
        let anchor = store.object_source(&dora.id).await.unwrap().unwrap().anchor;
        bench(&signin, &sync, &conn.id, &anchor, n).await;
    }

    // The directory goes down: the sign-in fails closed with its own answer, no session.
    let sessions_before = store.list_sessions(&alice.id).await.unwrap().len();
    drop(ad);
    let e = refused(&signin, "alice@corp.example.test", AD_PW, 7).await;
    assert!(matches!(e, SignInError::DirectoryUnavailable), "{e:?}");
    assert!(e.to_string().contains("cannot be reached"));
    assert!(
        logged(
            &store,
            "directory unavailable (pass-through authentication)"
        )
        .await
    );
    assert_eq!(
        store.list_sessions(&alice.id).await.unwrap().len(),
        sessions_before
    );
}

async fn ldaps(ad: &SambaAd) -> (ldap3::LdapConnAsync, ldap3::Ldap) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(
        trustplane_directory_sync::settings::parse_ca_certificates(&ad.pki.ca_pem).unwrap(),
    );
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    ldap3::LdapConnAsync::with_settings(
        ldap3::LdapConnSettings::new().set_config(Arc::new(config)),
        "ldaps://127.0.0.1:636",
    )
    .await
    .unwrap()
}

/// Pass-through sign-ins of a person without a second factor (dora): `n` with 8 at a time and
/// with one at a time, and the directory check alone, for what Trustplane adds to the bind.
async fn bench(
    signin: &Arc<SignIn>,
    sync: &DirectorySync,
    connection: &str,
    anchor: &str,
    n: usize,
) {
    for concurrency in [8u8, 1] {
        let signin = signin.clone();
        measure("sign-ins", n, concurrency, move |worker| {
            let signin = signin.clone();
            async move {
                let r = signin
                    .password(
                        &ctx(100 + worker),
                        ClientApp::Browser,
                        "dora@corp.example.test",
                        AD_PW,
                    )
                    .await;
                matches!(r, Ok(FirstStep::Done(_)))
            }
        })
        .await;
    }
    let (sync, connection, anchor) = (
        Arc::new(sync.clone()),
        Arc::<str>::from(connection),
        Arc::<str>::from(anchor),
    );
    measure("directory checks alone", n, 8, move |_| {
        let (sync, connection, anchor) = (sync.clone(), connection.clone(), anchor.clone());
        async move {
            let verdict = sync.check_password(&connection, &anchor, AD_PW).await;
            matches!(
                verdict,
                Ok(Some(trustplane_directory_sync::Verdict::Accepted))
            )
        }
    })
    .await;
}

async fn measure<F, Fut>(what: &str, n: usize, concurrency: u8, one: F)
where
    F: Fn(u8) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for worker in 0..concurrency {
        let (one, next) = (one.clone(), next.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                let t = Instant::now();
                assert!(one(worker).await, "a bench call failed");
                latencies.push(t.elapsed());
            }
            latencies
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    let p = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    println!(
        "pass-through bench: {} {what}, {concurrency} at a time, in {secs:.2} s = {:.1}/s; p50 {:?}, p99 {:?}",
        all.len(),
        all.len() as f64 / secs,
        p(0.5),
        p(0.99)
    );
}

const UPSTREAM_SECRET: &str = "upstream-client-secret-0123456789";
const ORIGIN: &str = "https://id.example.com";

/// oidc-provider on `port` (tests/peers/oidc-upstream.mjs), signing with key `kid`.
fn start_oidc_provider(port: u16, accounts: &serde_json::Value, kid: &str) -> Option<Peer> {
    let node = require("node (Debian package nodejs)", &["/usr/bin/node"])?;
    let peers = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers");
    if !peers.join("node_modules/oidc-provider").is_dir() {
        assert!(
            !in_ci(),
            "tests/peers/node_modules is missing: scripts/test.sh runs npm ci there"
        );
        eprintln!("skipping the upstream provider: run npm ci in tests/peers");
        return None;
    }
    let child = std::process::Command::new(node)
        .current_dir(&peers)
        .arg("oidc-upstream.mjs")
        .arg(port.to_string())
        .arg(UPSTREAM_SECRET)
        .arg(format!(
            "{ORIGIN}{}",
            trustplane_idp::upstream::CALLBACK_PATH
        ))
        .arg(accounts.to_string())
        .arg(kid)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start oidc-provider");
    let mut peer = Peer { child };
    wait_for_port(
        port,
        &mut peer.child,
        "oidc-provider",
        std::time::Duration::from_secs(30),
    );
    Some(peer)
}

/// Follows the provider's redirects as a browser would (its cookies kept) until it sends the
/// browser back to Trustplane; returns the callback's `state` and `code`.
async fn through_provider(authorization_url: &str) -> (String, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut cookies: std::collections::BTreeMap<String, String> = Default::default();
    let mut url = authorization_url.to_string();
    for _ in 0..10 {
        let header = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let r = http
            .get(&url)
            .header(reqwest::header::COOKIE, header)
            .send()
            .await
            .unwrap();
        for c in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let pair = c.to_str().unwrap().split(';').next().unwrap();
            if let Some((k, v)) = pair.split_once('=') {
                cookies.insert(k.to_string(), v.to_string());
            }
        }
        let location = r
            .headers()
            .get(reqwest::header::LOCATION)
            .unwrap_or_else(|| panic!("no redirect from {url}: {}", r.status()))
            .to_str()
            .unwrap()
            .to_string();
        let next = url::Url::parse(&url).unwrap().join(&location).unwrap();
        if next.as_str().starts_with(ORIGIN) {
            let q: std::collections::HashMap<_, _> = next.query_pairs().into_owned().collect();
            assert!(!q.contains_key("error"), "the provider refused: {q:?}");
            return (q["state"].clone(), q["code"].clone());
        }
        url = next.into();
    }
    panic!("the provider never sent the browser back");
}

async fn upstream_sign_in(
    store: &Store,
    signin: &Arc<SignIn>,
    clock: &ManualClock,
    alice: &trustplane_model::User,
) {
    let anchor = store
        .object_source(&alice.id)
        .await
        .unwrap()
        .expect("alice came from AD")
        .anchor;
    let accounts = json!({
        "alice@corp.example.test": {
            "sub": "pairwise-alice", "oid": "00000000-0000-0000-0000-0000000000a1",
            "tid": "tenant-1", "preferred_username": "alice@corp.example.test",
            "email": "alice@corp.example.test", "name": "Alice Example", "groups": ["g-eng"],
            "onprem_guid": anchor, "amr": ["pwd", "mfa"]
        }
    });
    let port = free_port();
    let Some(op) = start_oidc_provider(port, &accounts, "key-1") else {
        return;
    };
    let sealer = Sealer::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let upstream = Upstream::new(store.clone(), sealer, ORIGIN);
    let provider = upstream
        .create(
            &Actor::system(),
            serde_json::from_value::<NewProvider>(json!({
                "type": "oidc",
                "displayName": "Corp Entra",
                "issuer": format!("http://127.0.0.1:{port}"),
                "clientId": "trustplane",
                "clientSecret": UPSTREAM_SECRET,
                "domains": ["corp.example.test"],
                "linkBy": "directoryAnchor",
                "claimMapping": {"anchor": "onprem_guid"},
                "trustMfa": true,
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let info = upstream.test("Corp Entra").await.unwrap();
    assert_eq!(info["signingKeys"], 1, "{info}");

    // Home-realm discovery: the domain picks the provider.
    let realm = upstream
        .home_realm("alice@corp.example.test")
        .await
        .unwrap()
        .expect("corp.example.test is federated");
    assert_eq!(realm.id, provider.id);
    assert!(upstream
        .home_realm("someone@elsewhere.test")
        .await
        .unwrap()
        .is_none());

    let (finished, started, state, code) =
        upstream_round(&upstream, signin, &provider.id, "/apps").await;
    assert_eq!(finished.next, "/apps");
    let FirstStep::Done(issued) = finished.step else {
        panic!("the provider's MFA is trusted: no local second factor");
    };
    assert_eq!(issued.user.id, alice.id, "linked by objectGUID");
    assert!(issued.session.mfa_at.is_some());
    assert_eq!(
        issued.session.info.amr,
        vec!["fed".to_string(), "mfa".to_string()]
    );
    assert_eq!(store.user_password(&alice.id).await.unwrap().0, None);

    // The state is single use.
    assert!(matches!(
        upstream
            .finish(signin, &ctx(20), &state, &code, Some(&started.binding))
            .await,
        Err(trustplane_idp::upstream::UpstreamError::Expired)
    ));

    // The provider rotates its key: the new key is fetched when a token names it.
    drop(op);
    let Some(_op) = start_oidc_provider(port, &accounts, "key-2") else {
        return;
    };
    clock.advance_ms(31_000);
    let (finished, ..) = upstream_round(&upstream, signin, &provider.id, "/").await;
    assert!(matches!(finished.step, FirstStep::Done(_)));
}

/// Alice's sign-in through the provider, from the start to Trustplane's answer; also returns
/// what the browser held (the started sign-in, the callback's state and code).
async fn upstream_round(
    upstream: &Upstream,
    signin: &SignIn,
    provider: &str,
    next: &str,
) -> (
    trustplane_idp::upstream::Finished,
    trustplane_idp::upstream::Started,
    String,
    String,
) {
    let started = upstream
        .start(provider, Some("alice@corp.example.test"), next)
        .await
        .unwrap();
    let (state, code) = through_provider(&started.authorization_url).await;
    let finished = upstream
        .finish(signin, &ctx(20), &state, &code, Some(&started.binding))
        .await
        .unwrap();
    (finished, started, state, code)
}
