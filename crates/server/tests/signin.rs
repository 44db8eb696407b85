//! The sign-in flow over real HTTP, in process, with a clock the tests move: pages with CSRF,
//! password, TOTP (codes computed by Python's `pyotp`), recovery codes, passkeys (driven by
//! the `webauthn-authenticator-rs` soft passkey), sessions, throttling and the sign-in log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::{json, Value};
use trustplane_authn::SessionPolicy;
use trustplane_model::{Actor, ManualClock};
use trustplane_server::{app, AppState, NodeSettings, SignInLimits};
use trustplane_store::{NewUser, Store, UserPatch};

#[path = "support/pyotp.rs"]
mod pyotp_support;
use pyotp_support::pyotp;

const T0: i64 = 1_790_000_000_000;
const PASSWORD: &str = "correct horse battery staple";

struct Server {
    base: String,
    store: Store,
    clock: ManualClock,
    /// The node's bound on password hashing, which tests can fill.
    hashes: Arc<trustplane_authn::HashGate>,
    _dir: tempfile::TempDir,
}

async fn server() -> Server {
    server_at(T0).await
}

/// The real time to the second, for servers whose peers check validity against their own
/// clock (python3-saml, Authlib), which the tests cannot move.
fn real_now_ms() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap() * 1000
}

async fn server_at(t0: i64) -> Server {
    server_with(t0, SignInLimits::default()).await
}

async fn server_with(t0: i64, limits: SignInLimits) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0);
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = Store::open(&url, Arc::new(clock.clone())).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let public_url = format!("http://localhost:{port}");
    let settings = NodeSettings {
        public_url: Some(public_url.clone()),
        master_key: Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".into()),
        master_key_file: dir.path().join("unused.key"),
        // Tests speak for other addresses through X-Forwarded-For, as a proxy would.
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        sessions: SessionPolicy::default(),
        issuer: "Trustplane".into(),
        geoip_database: Some(geolite2()),
        detection_rules: vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/sigma/rules/cloud/aws")],
        limits,
        ingest_limits: Default::default(),
    };
    let state = AppState::new(store.clone(), &settings, &public_url)
        .await
        .unwrap();
    let hashes = state.signin.password_hashes();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Server {
        base: format!("http://127.0.0.1:{port}"),
        store,
        clock,
        hashes,
        _dir: dir,
    }
}

/// The GeoLite2 database the test venv's `maxminddb-geolite2` ships.
fn geolite2() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("TRUSTPLANE_TEST_MMDB") {
        return p.into();
    }
    let python = std::env::var("TRUSTPLANE_TEST_PYTHON")
        .expect("TRUSTPLANE_TEST_PYTHON (scripts/test.sh sets it)");
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import _maxminddb_geolite2, os; print(os.path.dirname(_maxminddb_geolite2.__file__))",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "maxminddb-geolite2 is not installed in the test venv"
    );
    std::path::Path::new(String::from_utf8(out.stdout).unwrap().trim()).join("GeoLite2-City.mmdb")
}

async fn user(s: &Server, upn: &str) -> String {
    let hash = trustplane_authn::hash_password(PASSWORD).unwrap();
    let u = s
        .store
        .create_user(
            &Actor::system(),
            NewUser {
                user_principal_name: upn.into(),
                display_name: "Ada Lovelace".into(),
                account_enabled: true,
                password_hash: Some(hash),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    u.id
}

/// A browser: follows nothing by itself, keeps cookies, and checks their attributes.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    retry_after: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

impl Browser {
    fn new(s: &Server) -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: s.base.clone(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let resp = req
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_string());
        let set_cookies: Vec<String> = resp
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        Page {
            status,
            location,
            retry_after,
            set_cookies,
            body: resp.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req).await
    }

    async fn post_json(&mut self, path: &str, body: &Value) -> Page {
        let req = self.http.post(format!("{}{path}", self.base)).json(body);
        self.send(req).await
    }

    /// The CSRF token of the last form page.
    fn csrf(page: &Page) -> String {
        field(&page.body, "csrf")
    }

    /// Password step through the page; returns the response to the POST.
    async fn password(&mut self, upn: &str, password: &str) -> Page {
        let login = self.get("/login").await;
        let csrf = Self::csrf(&login);
        self.post(
            "/login",
            &[
                ("username", upn),
                ("password", password),
                ("csrf", &csrf),
                ("next", "/"),
            ],
        )
        .await
    }

    async fn sign_in(&mut self, upn: &str) {
        let r = self.password(upn, PASSWORD).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.location.as_deref(), Some("/"));
    }
}

fn field(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {body}"))
        + marker.len();
    let end = body[start..].find('"').unwrap() + start;
    body[start..end].replace("&amp;", "&")
}

/// Enrols an authenticator app through the pages and returns its otpauth URI.
async fn enrol_totp(b: &mut Browser, s: &Server) -> String {
    let security = b.get("/account/security").await;
    assert_eq!(security.status, 200);
    let csrf = Browser::csrf(&security);
    let setup = b.post("/account/totp/begin", &[("csrf", &csrf)]).await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    assert!(setup.body.contains("<svg"), "a QR code is shown");
    let uri = field(&setup.body, "uri");
    assert!(uri.starts_with("otpauth://totp/Trustplane:"), "{uri}");
    let handle = field(&setup.body, "handle");
    let code = pyotp(&uri, s.clock.now_ms());
    let done = b
        .post(
            "/account/totp/confirm",
            &[
                ("csrf", &csrf),
                ("handle", &handle),
                ("uri", &uri),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    uri
}

trait Now {
    fn now_ms(&self) -> i64;
}
impl Now for ManualClock {
    fn now_ms(&self) -> i64 {
        trustplane_model::Clock::now_ms(self)
    }
}

async fn sign_ins(s: &Server) -> Vec<Value> {
    audit_events(s, "signIn").await
}

/// A conditional-access policy for the users `include` selects reaching `app`.
fn policy(name: &str, include: Value, app: &str, controls: &[&str]) -> Value {
    json!({
        "displayName": name,
        "state": "enabled",
        "conditions": {"users": include, "applications": {"includeApplications": [app]}, "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": controls}
    })
}

/// Stores a policy, enabled.
async fn add_policy(s: &Server, p: Value) {
    let name = p["displayName"].as_str().unwrap().to_string();
    s.store
        .create_ca(
            &Actor::system(),
            trustplane_store::CaKind::Policy,
            p,
            &name,
            Some("enabled"),
        )
        .await
        .unwrap();
}

/// The audit entries of one category, oldest first, as JSON.
async fn audit_events(s: &Server, category: &str) -> Vec<Value> {
    let page = s
        .store
        .list_audit(&trustplane_store::AuditQuery {
            category: Some(category.into()),
            top: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    page.items
        .into_iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

#[tokio::test]
async fn password_sign_in_sets_a_fresh_secure_cookie_and_a_planted_token_never_works() {
    let s = server().await;
    user(&s, "ada@example.com").await;
    let mut b = Browser::new(&s);
    b.cookies.insert(
        "tp_session".into(),
        "planted-by-an-attacker-0123456789".into(),
    );
    let r = b.password("ada@example.com", PASSWORD).await;
    assert_eq!(r.status, 303);
    let set = r
        .set_cookies
        .iter()
        .find(|c| c.starts_with("tp_session="))
        .unwrap();
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    let token = b.cookies["tp_session"].clone();
    assert_ne!(token, "planted-by-an-attacker-0123456789");
    assert!(token.len() >= 43, "256-bit token");
    let home = b.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("ada@example.com"));

    let mut attacker = Browser::new(&s);
    attacker.cookies.insert(
        "tp_session".into(),
        "planted-by-an-attacker-0123456789".into(),
    );
    let r = attacker.get("/").await;
    assert_eq!(r.status, 303);
    assert!(r.location.unwrap().starts_with("/login"));
    // The token is stored only as a hash.
    assert!(s.store.find_session(&token).await.unwrap().is_none());
}

#[tokio::test]
async fn a_password_that_must_change_blocks_everything_until_changed_and_the_policy_applies() {
    let s = server().await;
    let hash = trustplane_authn::hash_password("one-time pass 1234").unwrap();
    let u = s
        .store
        .create_user(
            &Actor::system(),
            NewUser {
                user_principal_name: "new.hire@example.com".into(),
                display_name: "New Hire".into(),
                account_enabled: true,
                password_hash: Some(hash),
                password_must_change: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut other = Browser::new(&s);
    let r = other
        .password("new.hire@example.com", "one-time pass 1234")
        .await;
    assert_eq!(r.status, 303);
    let mut b = Browser::new(&s);
    b.password("new.hire@example.com", "one-time pass 1234")
        .await;
    let home = b.get("/").await;
    assert_eq!(home.location.as_deref(), Some("/account/password"));
    assert_eq!(
        b.get("/account/security").await.location.as_deref(),
        Some("/account/password")
    );
    let form = b.get("/account/password").await;
    let csrf = Browser::csrf(&form);
    for (new, why) in [
        ("password1", "common"),
        ("new.hire-2024!", "contains the name"),
        ("short", "too short"),
    ] {
        let r = b
            .post(
                "/account/password",
                &[
                    ("csrf", &csrf),
                    ("current", "one-time pass 1234"),
                    ("new", new),
                    ("confirm", new),
                ],
            )
            .await;
        assert_eq!(r.status, 400, "{why}: {}", r.body);
    }
    let r = b
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current", "wrong current"),
                ("new", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 401);
    let r = b
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current", "one-time pass 1234"),
                ("new", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(b.get("/").await.status, 200);
    assert_eq!(
        other.get("/").await.status,
        303,
        "other sessions end with a password change"
    );
    s.clock.advance_ms(2_100);
    assert_eq!(
        Browser::new(&s)
            .password("new.hire@example.com", "one-time pass 1234")
            .await
            .status,
        401
    );
    s.clock.advance_ms(2_100);
    Browser::new(&s).sign_in("new.hire@example.com").await;
    let changes = s
        .store
        .list_audit(&trustplane_store::AuditQuery {
            target: Some(u.id.clone()),
            activity: Some("user.update".into()),
            top: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(changes.items.len(), 1);
    assert_eq!(
        changes.items[0].result_reason.as_deref(),
        Some("password changed; sessions ended: 1; OIDC grants revoked: 0"),
        "the other session ended with the change, in its entry"
    );
    let body = serde_json::to_string(&changes.items[0]).unwrap();
    assert!(
        !body.contains(PASSWORD) && !body.contains("argon2"),
        "no secret in the audit trail"
    );
}

#[tokio::test]
async fn a_form_without_the_csrf_token_is_refused_and_changes_nothing() {
    let s = server().await;
    user(&s, "ada@example.com").await;
    let mut b = Browser::new(&s);
    let r = b
        .post(
            "/login",
            &[
                ("username", "ada@example.com"),
                ("password", PASSWORD),
                ("csrf", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    let login = b.get("/login").await;
    let r = b
        .post(
            "/login",
            &[
                ("username", "ada@example.com"),
                ("password", PASSWORD),
                ("csrf", "x".repeat(43).as_str()),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "a token that differs from the cookie");
    assert!(!b.cookies.contains_key("tp_session"));
    assert!(sign_ins(&s).await.is_empty(), "no attempt was even made");
    drop(login);
}

#[tokio::test]
async fn totp_sign_in_with_pyotp_codes_and_a_code_works_once() {
    let s = server().await;
    user(&s, "ada@example.com").await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let uri = enrol_totp(&mut b, &s).await;

    // A new browser now needs the second factor.
    s.clock.advance_ms(60_000);
    let mut b2 = Browser::new(&s);
    let r = b2.password("ada@example.com", PASSWORD).await;
    assert_eq!(r.status, 303);
    assert!(r.location.as_deref().unwrap().starts_with("/login/mfa"));
    assert!(
        !b2.cookies.contains_key("tp_session"),
        "no session before the second factor"
    );
    let mfa = b2.get(r.location.as_deref().unwrap()).await;
    let csrf = Browser::csrf(&mfa);
    let wrong = b2
        .post(
            "/login/mfa",
            &[
                ("method", "totp"),
                ("code", "000000"),
                ("csrf", &csrf),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    let code = pyotp(&uri, s.clock.now_ms());
    let ok = b2
        .post(
            "/login/mfa",
            &[
                ("method", "totp"),
                ("code", &code),
                ("csrf", &csrf),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let home = b2.get("/").await;
    assert!(
        home.body.contains("otp") && home.body.contains("mfa"),
        "amr shown: {}",
        home.body
    );

    // The same code in another sign-in, within its window, is refused.
    let mut b3 = Browser::new(&s);
    let r = b3.password("ada@example.com", PASSWORD).await;
    let mfa = b3.get(r.location.as_deref().unwrap()).await;
    let csrf = Browser::csrf(&mfa);
    let reused = b3
        .post(
            "/login/mfa",
            &[
                ("method", "totp"),
                ("code", &code),
                ("csrf", &csrf),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(reused.status, 401);
    assert!(!b3.cookies.contains_key("tp_session"));
    let log = sign_ins(&s).await;
    assert!(log
        .iter()
        .any(|e| e["resultReason"] == "invalid or reused code"));
    assert!(log.iter().any(|e| e["after"]["authenticationMethodsUsed"]
        == json!(["password", "totp"])
        && e["result"] == "success"));
}

#[tokio::test]
async fn recovery_codes_work_once_and_adding_methods_needs_step_up() {
    let s = server().await;
    user(&s, "ada@example.com").await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let uri = enrol_totp(&mut b, &s).await;
    let security = b.get("/account/security").await;
    let csrf = Browser::csrf(&security);
    let codes_page = b.post("/account/recovery-codes", &[("csrf", &csrf)]).await;
    assert_eq!(codes_page.status, 200);
    let codes: Vec<String> = codes_page
        .body
        .split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);

    // Eleven minutes later the session is no longer fresh: changes need a second factor.
    s.clock.advance_ms(11 * 60_000);
    b.get("/").await;
    let r = b.post("/account/recovery-codes", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/account/verify"));
    let code = pyotp(&uri, s.clock.now_ms());
    let v = b
        .post(
            "/account/verify",
            &[("csrf", &csrf), ("method", "totp"), ("code", &code)],
        )
        .await;
    assert_eq!(v.status, 303, "{}", v.body);
    let security = b.get("/account/security").await;
    assert!(security.body.contains("Recovery codes left: 10"));

    assert_eq!(
        use_recovery_code(&s, &codes[3].to_uppercase()).await,
        303,
        "codes are case-insensitive"
    );
    assert_eq!(
        use_recovery_code(&s, &codes[3]).await,
        401,
        "a spent code is refused"
    );
}

async fn use_recovery_code(s: &Server, code: &str) -> u16 {
    let mut c = Browser::new(s);
    let r = c.password("ada@example.com", PASSWORD).await;
    let mfa = c.get(r.location.as_deref().unwrap()).await;
    let csrf = Browser::csrf(&mfa);
    c.post(
        "/login/mfa",
        &[
            ("method", "recoveryCode"),
            ("code", code),
            ("csrf", &csrf),
            ("next", "/"),
        ],
    )
    .await
    .status
}

#[tokio::test]
async fn sessions_expire_on_the_moved_clock_and_can_be_ended() {
    let s = server().await;
    let id = user(&s, "ada@example.com").await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    s.clock.advance_ms(29 * 60_000);
    assert_eq!(b.get("/").await.status, 200, "29 idle minutes");
    s.clock.advance_ms(31 * 60_000);
    assert_eq!(b.get("/").await.status, 303, "31 idle minutes: gone");

    // Absolute limit: active every 20 minutes, the session still ends after 12 hours.
    b.sign_in("ada@example.com").await;
    for _ in 0..35 {
        s.clock.advance_ms(20 * 60_000);
        assert_eq!(b.get("/").await.status, 200);
    }
    s.clock.advance_ms(20 * 60_000 + 1);
    assert_eq!(b.get("/").await.status, 303, "past 12 hours");

    // The user sees and ends a session; an admin ends all; disabling ends them too.
    let mut other = Browser::new(&s);
    other.sign_in("ada@example.com").await;
    s.clock.advance_ms(1_000);
    b.sign_in("ada@example.com").await;
    let list = b.get("/account/sessions").await;
    assert_eq!(list.body.matches("/revoke").count(), 2);
    assert!(list.body.contains("(this one)"));
    // Newest first: b signed in last, so the second is the other browser's session.
    let sessions = s.store.list_sessions(&id).await.unwrap();
    let others = sessions[1].info.id.clone();
    let csrf = Browser::csrf(&list);
    let r = b
        .post(
            &format!("/account/sessions/{others}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        other.get("/").await.status,
        303,
        "the ended session is gone"
    );
    assert_eq!(b.get("/").await.status, 200, "this one lives on");
    b.sign_in("ada@example.com").await;
    s.store
        .revoke_all_sessions(&Actor::system(), &id)
        .await
        .unwrap();
    assert_eq!(b.get("/").await.status, 303);
    b.sign_in("ada@example.com").await;
    s.store
        .update_user(
            &Actor::system(),
            &id,
            UserPatch {
                account_enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        b.get("/").await.status,
        303,
        "disabling ends sessions at once"
    );
    let r = b.password("ada@example.com", PASSWORD).await;
    assert_eq!(r.status, 401, "and a disabled user cannot sign in");
}

#[tokio::test]
async fn failures_slow_down_then_lock_and_success_resets_them() {
    let s = server().await;
    let id = user(&s, "ada@example.com").await;
    let mut b = Browser::new(&s);
    for i in 0..5 {
        s.clock.advance_ms(2_100); // keeps the per-address limit out of the way
        let r = b.password("ada@example.com", "wrong password here").await;
        assert_eq!(r.status, 401, "attempt {i}");
    }
    // Five failures: now a delay applies, and even the right password is refused meanwhile,
    // with the same answer as a wrong one.
    let r = b.password("ada@example.com", PASSWORD).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("user name or password is incorrect"));
    s.clock.advance_ms(2_100);
    b.sign_in("ada@example.com").await;
    assert_eq!(
        s.store.account_failures(&id).await.unwrap().0,
        0,
        "success resets the count"
    );

    // 100 consecutive failures lock the account until an administrator resets it.
    for _ in 0..100 {
        s.store.record_account_failure(&id).await.unwrap();
    }
    s.clock.advance_ms(24 * 3600 * 1000);
    let r = Browser::new(&s).password("ada@example.com", PASSWORD).await;
    assert_eq!(r.status, 401, "locked");
    let log = sign_ins(&s).await;
    assert!(log.last().unwrap()["resultReason"]
        .as_str()
        .unwrap()
        .contains("locked"));
    s.store.reset_account_failures(&id).await.unwrap();
    Browser::new(&s).sign_in("ada@example.com").await;
}

#[tokio::test]
async fn the_source_address_is_rate_limited() {
    let s = server().await;
    user(&s, "ada@example.com").await;
    let mut b = Browser::new(&s);
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(
            b.password("nobody@example.com", "whatever password")
                .await
                .status,
        );
    }
    assert!(statuses[..10].iter().all(|&st| st == 401), "{statuses:?}");
    assert_eq!(statuses[11], 429);
}

#[tokio::test]
async fn unknown_users_wrong_passwords_and_locked_accounts_look_alike() {
    let s = server().await;
    let id = user(&s, "ada@example.com").await;
    user(&s, "locked@example.com").await;
    let locked = s.store.get_user("locked@example.com").await.unwrap();
    for _ in 0..100 {
        s.store.record_account_failure(&locked.id).await.unwrap();
    }
    let http = reqwest::Client::new();
    let mut timings: HashMap<&str, Vec<Duration>> = HashMap::new();
    let mut bodies: HashMap<&str, Value> = HashMap::new();
    for round in 0..7 {
        for (case, upn) in [
            ("unknown", "nobody@example.com"),
            ("wrong", "ada@example.com"),
            ("locked", "locked@example.com"),
        ] {
            s.clock.advance_ms(2_100);
            s.store.reset_account_failures(&id).await.unwrap();
            let started = Instant::now();
            let r = http
                .post(format!("{}/api/v1/auth/signIn", s.base))
                .json(&json!({"username": upn, "password": format!("not the password {round}")}))
                .send()
                .await
                .unwrap();
            timings.entry(case).or_default().push(started.elapsed());
            assert_eq!(r.status(), 401, "{case}");
            let mut body: Value = r.json().await.unwrap();
            body.as_object_mut().unwrap().remove("instance");
            bodies.insert(case, body);
        }
    }
    assert_eq!(bodies["unknown"], bodies["wrong"]);
    assert_eq!(bodies["locked"], bodies["wrong"]);
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64()
    };
    let known = median(timings.get_mut("wrong").unwrap());
    for case in ["unknown", "locked"] {
        let m = median(timings.get_mut(case).unwrap());
        // The argon2id work dominates every path; a real difference would be 0 vs ~50 ms.
        assert!(
            m > known * 0.5 && m < known * 2.0,
            "{case}: {m:.4}s vs wrong password {known:.4}s"
        );
    }
}

/// `next` values that lead off-site in a browser, or after one more decoding hop.
const HOSTILE_NEXT: &[&str] = &[
    "//evil.example/x",
    "https://evil.example/",
    "javascript:alert(1)",
    "/\\evil.example",
    // Browsers drop the tab and go to //evil.example/.
    "/\t/evil.example/",
    "/\n/evil.example/",
    " //evil.example/",
    "/.//evil.example/",
    "/%2F%2Fevil.example/",
    "/%5Cevil.example",
    "/%252F%252Fevil.example",
];

#[tokio::test]
async fn next_only_goes_to_our_own_paths() {
    let s = server().await;
    user(&s, "ada@example.com").await;
    let ours = "/oauth2/authorize?client_id=web&redirect_uri=https%3A%2F%2Frp.example.com%2Fcb";
    let cases = HOSTILE_NEXT
        .iter()
        .map(|n| (*n, "/"))
        .chain([("/account/security", "/account/security"), (ours, ours)]);
    for (next, expected) in cases {
        let mut b = Browser::new(&s);
        let enc = url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>();
        // The sign-in page carries only a checked value, to the form and to the passkey script.
        let login = b.get(&format!("/login?next={enc}")).await;
        assert_eq!(field(&login.body, "next"), expected, "next={next:?}");
        let data_next = format!("data-next=\"{}\"", expected.replace('&', "&amp;"));
        assert!(login.body.contains(&data_next), "next={next:?}");
        let csrf = Browser::csrf(&login);
        let r = b
            .post(
                "/login",
                &[
                    ("username", "ada@example.com"),
                    ("password", PASSWORD),
                    ("csrf", &csrf),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.location.as_deref(), Some(expected), "next={next:?}");
        // The step-up page the same way.
        let verify = b.get(&format!("/account/verify?next={enc}")).await;
        assert_eq!(verify.status, 200, "{}", verify.body);
        assert_eq!(field(&verify.body, "next"), expected, "next={next:?}");
        s.clock.advance_ms(2_100);
    }
}

#[tokio::test]
async fn a_step_up_with_a_hostile_next_goes_home() {
    let s = server().await;
    user(&s, "ada@example.com").await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let uri = enrol_totp(&mut b, &s).await;
    for next in HOSTILE_NEXT {
        s.clock.advance_ms(30_000);
        let page = b.get("/account/verify").await;
        let csrf = Browser::csrf(&page);
        let code = pyotp(&uri, s.clock.now_ms());
        let r = b
            .post(
                "/account/verify",
                &[
                    ("csrf", &csrf),
                    ("method", "totp"),
                    ("code", &code),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.location.as_deref(), Some("/"), "next={next:?}");
    }
}

#[tokio::test]
async fn the_json_api_signs_in_with_two_steps_and_bearer_sessions() {
    let s = server().await;
    user(&s, "ada@example.com").await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let uri = enrol_totp(&mut b, &s).await;
    s.clock.advance_ms(30_000);
    let http = reqwest::Client::new();
    let first: Value = http
        .post(format!("{}/api/v1/auth/signIn", s.base))
        .json(&json!({"username": "ADA@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["status"], "secondFactorRequired");
    assert_eq!(first["methods"], json!(["totp"]));
    let second = http
        .post(format!("{}/api/v1/auth/secondFactor", s.base))
        .json(&json!({"signInId": first["signInId"], "method": "totp", "code": pyotp(&uri, s.clock.now_ms())}))
        .send().await.unwrap();
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    let token = second["sessionToken"].as_str().unwrap();
    assert_eq!(
        second["session"]["clientApp"],
        "mobileAppsAndDesktopClients"
    );
    let me: Value = http
        .get(format!("{}/api/v1/auth/session", s.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["userPrincipalName"], "ada@example.com");
    assert_eq!(me["session"]["amr"], json!(["pwd", "otp", "mfa"]));
    let again = http
        .post(format!("{}/api/v1/auth/secondFactor", s.base))
        .json(&json!({"signInId": first["signInId"], "method": "totp", "code": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        410,
        "a finished sign-in cannot be continued"
    );
}

mod passkeys {
    use super::*;
    use webauthn_authenticator_rs::softpasskey::SoftPasskey;
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};

    fn origin(s: &Server) -> url::Url {
        url::Url::parse(&s.base.replace("127.0.0.1", "localhost")).unwrap()
    }

    async fn register(s: &Server, b: &mut Browser, soft: &mut SoftPasskey) -> Value {
        let security = b.get("/account/security").await;
        let csrf = field(
            &security
                .body
                .replace("data-csrf=\"", "name=\"csrf2\" value=\""),
            "csrf2",
        );
        let begin = b
            .post_json("/account/passkeys/begin", &json!({"csrf": csrf}))
            .await;
        assert_eq!(begin.status, 200, "{}", begin.body);
        let begin: Value = serde_json::from_str(&begin.body).unwrap();
        let options: CreationChallengeResponse =
            serde_json::from_value(begin["publicKey"].clone()).unwrap();
        let credential = soft.do_registration(origin(s), options).unwrap();
        let finish = b
            .post_json("/account/passkeys/finish", &json!({"csrf": csrf, "handle": begin["handle"], "label": "Soft key", "credential": credential}))
            .await;
        assert_eq!(finish.status, 201, "{}", finish.body);
        serde_json::to_value(&credential).unwrap()
    }

    /// One usernameless sign-in. The soft passkey cannot hold resident keys, so the test
    /// names its credential in the options and adds the (unsigned) user handle: the
    /// signature is still the soft authenticator's own.
    async fn sign_in(
        s: &Server,
        soft: &mut SoftPasskey,
        cred_id: &str,
        user_id: &str,
        origin_url: url::Url,
    ) -> (reqwest::StatusCode, Value, Value) {
        let http = reqwest::Client::new();
        let begin: Value = http
            .post(format!("{}/api/v1/auth/passkey/begin", s.base))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut options = begin["publicKey"].clone();
        options["publicKey"]["allowCredentials"] = json!([{ "type": "public-key", "id": cred_id }]);
        let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let assertion = soft.do_authentication(origin_url, options).unwrap();
        let mut assertion = serde_json::to_value(&assertion).unwrap();
        let handle = uuid::Uuid::parse_str(user_id).unwrap();
        assertion["response"]["userHandle"] = Value::String(base64url(handle.as_bytes()));
        let r = http
            .post(format!("{}/api/v1/auth/passkey/finish", s.base))
            .json(&json!({"signInId": begin["signInId"], "credential": assertion}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null), assertion)
    }

    fn base64url(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    #[tokio::test]
    async fn a_passkey_registers_signs_in_alone_and_refuses_wrong_origins_and_replays() {
        let s = server().await;
        let id = user(&s, "ada@example.com").await;
        let mut b = Browser::new(&s);
        b.sign_in("ada@example.com").await;
        let mut soft = SoftPasskey::new(true);
        let registered = register(&s, &mut b, &mut soft).await;
        let cred_id = registered["id"].as_str().unwrap().to_string();

        let (status, body, assertion) = sign_in(&s, &mut soft, &cred_id, &id, origin(&s)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["userPrincipalName"], "ada@example.com");
        assert_eq!(body["session"]["amr"], json!(["hwk", "user", "mfa"]));

        // The same signed assertion again: its challenge is spent and its counter is old.
        let http = reqwest::Client::new();
        let begin: Value = http
            .post(format!("{}/api/v1/auth/passkey/begin", s.base))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let replay = http
            .post(format!("{}/api/v1/auth/passkey/finish", s.base))
            .json(&json!({"signInId": begin["signInId"], "credential": assertion}))
            .send()
            .await
            .unwrap();
        assert_eq!(replay.status(), 401);

        // Another origin under the same relying-party id (a different port here): the
        // authenticator signs for it, as a browser would; we refuse the origin.
        let evil = url::Url::parse("http://localhost:1/").unwrap();
        let (status, _, _) = sign_in(&s, &mut soft, &cred_id, &id, evil).await;
        assert_eq!(status, 401);
        let log = sign_ins(&s).await;
        assert!(log.iter().any(|e| e["resultReason"]
            .as_str()
            .is_some_and(|r| r.starts_with("passkey verification failed"))));
    }
}

#[path = "federation/saml.rs"]
mod saml_sso;

/// Privileged roles in the portal (`tests/pim_pages/`).
#[path = "pim_pages/mod.rs"]
mod pim_pages;

mod conditional_access_support {
    pub use super::conditional_access::{admin_token, api, ADMIN_TOKEN};
}

/// The OpenID Connect provider against Authlib (`tests/oidc/`).
mod oidc;

/// Privileged identity management over the API (`tests/pim/`).
mod pim;

/// The identity-aware proxy in front of a real upstream (`tests/proxy/`).
mod proxy;

/// Hostile input and error shapes (`tests/hardening/`).
mod hardening;

/// Protected principals and the last way in (`tests/protected/`).
mod protected;

/// The admin console (`tests/admin_pages/`).
mod admin_pages;

/// Directory sources over the API (`tests/directory_connections/`).
mod directory_connections;

/// Sign-in through an upstream OpenID Connect provider (`tests/upstream/`).
mod upstream;

/// Temporary access passes (`tests/temporary_access/`).
mod temporary_access;

/// Bounded password hashing, and the limits on guessing codes and current passwords.
mod throttling;

mod conditional_access {
    use super::*;
    use trustplane_model::BuiltinRole;
    use trustplane_store::{CaKind, NewAssignment};

    pub const ADMIN_TOKEN: &str = "tp_conditional_access_test_token_0123456789abcdef";

    pub async fn admin_token(s: &Server) {
        let id = user(s, "root@example.com").await;
        s.store
            .create_role_assignment(
                &Actor::system(),
                NewAssignment {
                    principal_id: id.clone(),
                    role_definition_id: BuiltinRole::GlobalAdministrator.id().into(),
                    directory_scope_id: "/".into(),
                    assignment_type: trustplane_model::AssignmentKind::Active,
                    start: None,
                    end: None,
                },
            )
            .await
            .unwrap();
        let hash = hex_sha256(ADMIN_TOKEN);
        s.store
            .create_api_token(&Actor::system(), &id, &hash, "test", None)
            .await
            .unwrap();
    }

    fn hex_sha256(t: &str) -> String {
        trustplane_authn::hash_session_token(t)
    }

    pub async fn api(
        s: &Server,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{path}", s.base))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn last_sign_in(s: &Server) -> Value {
        sign_ins(s).await.pop().unwrap()
    }

    fn data(path: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data")
            .join(path)
    }

    #[tokio::test]
    async fn the_defaults_are_installed_and_block_a_legacy_password_only_sign_in() {
        let s = server().await;
        user(&s, "ada@example.com").await;
        let policies = s.store.list_ca(CaKind::Policy).await.unwrap();
        let names: Vec<&str> = policies
            .iter()
            .map(|p| p["displayName"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            vec![
                "Security defaults: block legacy authentication",
                "Security defaults: require MFA for administrators"
            ]
        );
        let r = reqwest::Client::new()
            .get(format!("{}/api/v1/auth/basic", s.base))
            .basic_auth("ada@example.com", Some(PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let body: Value = r.json().await.unwrap();
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("block legacy authentication"),
            "{body}"
        );
        let log = last_sign_in(&s).await;
        assert_eq!(log["result"], "failure");
        assert_eq!(log["after"]["clientAppUsed"], "other");
        assert_eq!(log["after"]["conditionalAccessStatus"], "failure");
        assert_eq!(
            log["after"]["appliedConditionalAccessPolicies"][0]["displayName"],
            "Security defaults: block legacy authentication"
        );
        // The same account signs in with a modern client.
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/signIn", s.base))
            .json(&json!({"username": "ada@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    #[tokio::test]
    async fn an_administrator_without_a_second_factor_must_register_one_first() {
        let s = server().await;
        admin_token(&s).await;
        let mut b = Browser::new(&s);
        b.sign_in("root@example.com").await;
        for path in ["/", "/account/sessions", "/account/password"] {
            assert_eq!(
                b.get(path).await.location.as_deref(),
                Some("/account/security"),
                "{path}"
            );
        }
        let uri = enrol_totp(&mut b, &s).await;
        assert!(uri.contains("secret="));
        assert_eq!(
            b.get("/").await.status,
            200,
            "registered: the restriction is gone"
        );
        // A non-browser client cannot be interrupted for registration: it is refused.
        let id = user(&s, "root2@example.com").await;
        s.store
            .create_role_assignment(
                &Actor::system(),
                NewAssignment {
                    principal_id: id,
                    role_definition_id: BuiltinRole::SecurityReader.id().into(),
                    directory_scope_id: "/".into(),
                    assignment_type: trustplane_model::AssignmentKind::Active,
                    start: None,
                    end: None,
                },
            )
            .await
            .unwrap();
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/signIn", s.base))
            .json(&json!({"username": "root2@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }

    #[tokio::test]
    async fn a_country_location_blocks_sign_ins_from_that_country() {
        let s = server().await;
        admin_token(&s).await;
        user(&s, "ada@example.com").await;
        let (st, loc) = api(
            &s,
            reqwest::Method::POST,
            "/api/v1/identity/conditionalAccess/namedLocations",
            Some(json!({
                "@odata.type": "#microsoft.graph.countryNamedLocation",
                "displayName": "United States",
                "countriesAndRegions": ["US"],
                "includeUnknownCountriesAndRegions": false
            })),
        )
        .await;
        assert_eq!(st, 201, "{loc}");
        let (st, policy) = api(
            &s,
            reqwest::Method::POST,
            "/api/v1/identity/conditionalAccess/policies",
            Some(json!({
                "displayName": "Block sign-ins from the US",
                "state": "enabled",
                "conditions": {
                    "users": {"includeUsers": ["All"]},
                    "applications": {"includeApplications": ["All"]},
                    "clientAppTypes": ["all"],
                    "locations": {"includeLocations": [loc["id"]]}
                },
                "grantControls": {"operator": "OR", "builtInControls": ["block"]}
            })),
        )
        .await;
        assert_eq!(st, 201, "{policy}");
        let from = |ip: &'static str| {
            let base = s.base.clone();
            async move {
                reqwest::Client::new()
                    .post(format!("{base}/api/v1/auth/signIn"))
                    .header("x-forwarded-for", ip)
                    .json(&json!({"username": "ada@example.com", "password": PASSWORD}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        assert_eq!(
            from("8.8.8.8").await,
            403,
            "8.8.8.8 is in the US in GeoLite2"
        );
        let log = last_sign_in(&s).await;
        assert_eq!(log["after"]["country"], "US");
        assert!(log["resultReason"]
            .as_str()
            .unwrap()
            .contains("Block sign-ins from the US"));
        assert_eq!(
            from("81.2.69.142").await,
            200,
            "a British address is not blocked"
        );
        // The policy can be switched off through the API, and that applies at once.
        let (st, _) = api(
            &s,
            reqwest::Method::PATCH,
            &format!(
                "/api/v1/identity/conditionalAccess/policies/{}",
                policy["id"].as_str().unwrap()
            ),
            Some(json!({"state": "disabled"})),
        )
        .await;
        assert_eq!(st, 200);
        assert_eq!(from("8.8.8.8").await, 200);
        let (_, audit) = api(
            &s,
            reqwest::Method::GET,
            "/api/v1/audit?category=policy",
            None,
        )
        .await;
        let activities: Vec<&str> = audit["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["activity"].as_str().unwrap())
            .collect();
        assert!(
            activities.contains(&"namedLocation.create")
                && activities.contains(&"conditionalAccessPolicy.update"),
            "{activities:?}"
        );
    }

    #[tokio::test]
    async fn an_application_that_needs_mfa_asks_for_a_step_up_to_totp() {
        let s = server().await;
        user(&s, "ada@example.com").await;
        let policy = json!({
            "displayName": "MFA for the payroll app",
            "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["payroll"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}
        });
        s.store
            .create_ca(
                &Actor::system(),
                CaKind::Policy,
                policy,
                "MFA for the payroll app",
                Some("enabled"),
            )
            .await
            .unwrap();
        let mut b = Browser::new(&s);
        b.sign_in("ada@example.com").await;
        let ask = |b: &mut Browser, app: &'static str| {
            let req = b
                .http
                .post(format!("{}/api/v1/auth/authorize", b.base))
                .json(&json!({"appId": app}));
            async move { (req, app) }
        };
        let (req, _) = ask(&mut b, "payroll").await;
        let r = b.send(req).await;
        assert_eq!(r.status, 401, "{}", r.body);
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["result"], "stepUp");
        assert_eq!(body["requiredControls"], json!([["mfa"]]));
        let (req, _) = ask(&mut b, "wiki").await;
        assert_eq!(
            b.send(req).await.status,
            200,
            "other applications need nothing more"
        );
        // Step up: a fresh password session may register an authenticator app, which proves it.
        enrol_totp(&mut b, &s).await;
        let (req, _) = ask(&mut b, "payroll").await;
        assert_eq!(b.send(req).await.status, 200);
        let log = last_sign_in(&s).await;
        assert_eq!(log["activity"], "appAccess");
        assert_eq!(log["after"]["appId"], "payroll");
        assert_eq!(
            log["after"]["appliedConditionalAccessPolicies"][0]["displayName"],
            "MFA for the payroll app"
        );
    }

    #[tokio::test]
    async fn report_only_policies_are_logged_and_not_enforced() {
        let s = server().await;
        user(&s, "ada@example.com").await;
        let policy = json!({
            "displayName": "Would block everyone",
            "state": "enabledForReportingButNotEnforced",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}
        });
        s.store
            .create_ca(
                &Actor::system(),
                CaKind::Policy,
                policy,
                "Would block everyone",
                Some("enabledForReportingButNotEnforced"),
            )
            .await
            .unwrap();
        Browser::new(&s).sign_in("ada@example.com").await;
        let log = last_sign_in(&s).await;
        assert_eq!(log["result"], "success");
        assert_eq!(
            log["after"]["reportOnlyConditionalAccessPolicies"][0]["displayName"],
            "Would block everyone"
        );
        assert_eq!(
            log["after"]["reportOnlyConditionalAccessPolicies"][0]["result"],
            "block"
        );
    }

    #[tokio::test]
    async fn real_policy_exports_import_and_round_trip_through_the_api() {
        let s = server().await;
        admin_token(&s).await;
        let base = "/api/v1/identity/conditionalAccess";
        let mut sent = Vec::new();
        for (dir, kind) in [
            (
                "conditional-access/j0eyv-baseline/NamedLocations",
                "namedLocations",
            ),
            (
                "conditional-access/j0eyv-baseline/ConditionalAccess",
                "policies",
            ),
            ("conditional-access/alexfilipin", "policies"),
        ] {
            let mut files: Vec<_> = std::fs::read_dir(data(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            files.sort();
            for f in files {
                let body: Value =
                    serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
                // Forced: this is about the JSON's round trip; whether a real tenant's policies
                // lock the administrator out is tested with `policy import`.
                let force = if kind == "policies" {
                    "?force=true"
                } else {
                    ""
                };
                let (st, stored) = api(
                    &s,
                    reqwest::Method::POST,
                    &format!("{base}/{kind}{force}"),
                    Some(body.clone()),
                )
                .await;
                assert_eq!(st, 201, "{}: {stored}", f.display());
                if kind == "policies" {
                    sent.push((body, stored["id"].as_str().unwrap().to_string()));
                }
            }
        }
        let (_, list) = api(&s, reqwest::Method::GET, &format!("{base}/policies"), None).await;
        assert_eq!(list["value"].as_array().unwrap().len(), 2 + 36 + 59);
        let strip = |mut v: Value| {
            for k in ["id", "createdDateTime", "modifiedDateTime"] {
                v.as_object_mut().unwrap().remove(k);
            }
            v
        };
        for (body, id) in &sent {
            let (_, back) = api(
                &s,
                reqwest::Method::GET,
                &format!("{base}/policies/{id}"),
                None,
            )
            .await;
            assert_eq!(
                strip(back),
                strip(body.clone()),
                "policy {id} changed on the way through"
            );
        }
        // A policy that breaks a rule is refused with the field named, and nothing is stored.
        let (st, problem) = api(&s, reqwest::Method::POST, &format!("{base}/policies"), Some(json!({
            "displayName": "bad", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["passwordChange"]}
        }))).await;
        assert_eq!(st, 400, "{problem}");
        assert!(
            problem["field"].as_str().unwrap().contains("grantControls"),
            "{problem}"
        );
        let (_, list) = api(&s, reqwest::Method::GET, &format!("{base}/policies"), None).await;
        assert_eq!(list["value"].as_array().unwrap().len(), 97);
        // What-if with the directory's facts: a legacy client is blocked by the j0eyv baseline.
        let (st, report) = api(
            &s,
            reqwest::Method::POST,
            &format!("{base}/evaluate"),
            Some(json!({"userId": "ada@example.com", "clientApp": "other", "country": "NL"})),
        )
        .await;
        assert_eq!(st, 200, "{report}");
        assert_eq!(report["result"], "block");
    }
}

mod detection {
    use super::conditional_access_support::*;
    use super::*;

    /// A CloudTrail `StopLogging` by a federated session whose name is the person's UPN:
    /// SigmaHQ's "AWS CloudTrail Important Change" matches it.
    pub(super) fn stop_logging_by(session_name: &str) -> Value {
        json!({"Records": [{
            "eventVersion": "1.08",
            "eventTime": "2026-11-28T10:00:00Z",
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "StopLogging",
            "awsRegion": "eu-west-1",
            "sourceIPAddress": "198.51.100.7",
            "userAgent": "aws-cli/2.15",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": format!("AROAEXAMPLE:{session_name}"),
                "arn": format!("arn:aws:sts::111122223333:assumed-role/Admin/{session_name}"),
                "accountId": "111122223333",
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/Admin", "userName": "Admin"}}
            },
            "requestParameters": {"name": "arn:aws:cloudtrail:eu-west-1:111122223333:trail/main"},
            "responseElements": null,
            "eventType": "AwsApiCall",
            "recipientAccountId": "111122223333"
        }]})
    }

    /// gzip of `bytes`, `members` times over: several members are one stream to a reader.
    fn gzip_members(bytes: &[u8], members: usize) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap().repeat(members)
    }

    async fn push(s: &Server, body: Vec<u8>) -> (u16, String, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/detect/ingest", s.base))
            .bearer_auth(ADMIN_TOKEN)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let kind = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, kind, r.json().await.unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn a_gzip_bomb_or_too_many_records_pushed_to_ingest_is_refused_with_413() {
        let s = server().await;
        admin_token(&s).await;
        let audit_before = s.store.verify_audit_chain().await.unwrap().head_sequence;

        // The bomb: 256 KiB of gzip that inflates to 256 MiB of zeros.
        let bomb = gzip_members(&vec![0_u8; 1024 * 1024], 256);
        assert!(bomb.len() < 300 * 1024, "{}", bomb.len());
        let (st, kind, problem) = push(&s, bomb).await;
        assert_eq!(st, 413, "{problem}");
        assert_eq!(kind, "application/problem+json");
        assert_eq!(problem["status"], 413);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("larger than 67108864 bytes once decompressed"),
            "{problem}"
        );

        // More records than one push may hold, in a few KiB of gzip.
        let many = "{\"eventName\":\"x\"}\n".repeat(200_001);
        let (st, _, problem) = push(&s, gzip_members(many.as_bytes(), 1)).await;
        assert_eq!(st, 413, "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("more than 200000 records"),
            "{problem}"
        );

        // Damaged gzip is a bad request, not a size problem.
        let (st, _, _) = push(&s, vec![0x1f, 0x8b, 8, 0, 9, 9, 9]).await;
        assert_eq!(st, 400);

        // The server is still up and reads a normal push, gzipped, in full; the refused ones
        // left nothing behind (no alerts, no audit entries).
        assert_eq!(
            s.store.verify_audit_chain().await.unwrap().head_sequence,
            audit_before
        );
        let (_, alerts) = api(&s, reqwest::Method::GET, "/api/v1/alerts", None).await;
        assert_eq!(alerts["value"].as_array().unwrap().len(), 0);
        let line = format!("{}\n", stop_logging_by("nobody@example.com"));
        let ok = gzip_members(line.as_bytes(), 2);
        let (st, _, report) = push(&s, ok).await;
        assert_eq!(st, 200, "{report}");
        assert_eq!(report["records"], 2, "{report}");
    }

    #[tokio::test]
    async fn a_pushed_cloudtrail_record_raises_an_alert_naming_the_person_and_ends_their_sessions()
    {
        let s = server().await;
        admin_token(&s).await;
        let ada = user(&s, "ada@example.com").await;
        let mut b = Browser::new(&s);
        b.sign_in("ada@example.com").await;
        assert_eq!(b.get("/").await.status, 200);
        let (st, policy) = api(
            &s,
            reqwest::Method::POST,
            "/api/v1/responsePolicies",
            Some(json!({"minLevel": "medium", "action": "endSessions", "automatic": true})),
        )
        .await;
        assert_eq!(st, 201, "{policy}");

        let r = reqwest::Client::new()
            .post(format!(
                "{}/api/v1/detect/ingest?source=cloudtrail-test",
                s.base
            ))
            .bearer_auth(ADMIN_TOKEN)
            .body(stop_logging_by("ada@example.com").to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let report: Value = r.json().await.unwrap();
        assert_eq!(report["records"], 1);
        assert_eq!(report["resolved"], 1);
        // SigmaHQ's broad "AWS STS AssumeRole Misuse" matches every assumed-role call as well,
        // and Trustplane's own rule sees an address Ada never signed in from.
        assert_eq!(report["newAlerts"].as_array().unwrap().len(), 3, "{report}");

        let (_, alerts) = api(
            &s,
            reqwest::Method::GET,
            "/api/v1/alerts?person=ada@example.com",
            None,
        )
        .await;
        let alert = alerts["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["ruleTitle"] == "AWS CloudTrail Important Change")
            .unwrap();
        assert_eq!(alert["ruleTitle"], "AWS CloudTrail Important Change");
        assert_eq!(alert["personId"], ada);
        assert_eq!(alert["personUpn"], "ada@example.com");
        assert!(
            alert["ruleAuthor"].as_str().is_some_and(|a| !a.is_empty()),
            "the rule's author is credited"
        );
        assert_eq!(alert["responses"][0]["action"], "endSessions");
        assert_eq!(
            b.get("/").await.status,
            303,
            "the automatic response ended Ada's session"
        );

        // The same record again folds into the open alert.
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/detect/ingest", s.base))
            .bearer_auth(ADMIN_TOKEN)
            .body(stop_logging_by("ada@example.com").to_string())
            .send()
            .await
            .unwrap();
        let report: Value = r.json().await.unwrap();
        assert_eq!(report["newAlerts"].as_array().unwrap().len(), 0);
        let (_, one) = api(
            &s,
            reqwest::Method::GET,
            &format!("/api/v1/alerts/{}", alert["id"].as_str().unwrap()),
            None,
        )
        .await;
        assert_eq!(one["hits"], 2);

        // The person's timeline shows the AWS activity; the audit trail shows alert and response.
        let (st, timeline) = api(
            &s,
            reqwest::Method::GET,
            "/api/v1/users/ada@example.com/timeline?source=aws",
            None,
        )
        .await;
        assert_eq!(st, 200, "{timeline}");
        assert_eq!(timeline["value"][0]["source"], "aws");
        assert_eq!(timeline["value"][0]["activity"], "StopLogging");
        // The whole timeline, read in pages of one.
        let mut link = "/api/v1/users/ada@example.com/timeline?top=1".to_string();
        let mut activities = Vec::new();
        while activities.len() < 100 {
            let (st, page) = api(&s, reqwest::Method::GET, &link, None).await;
            assert_eq!(st, 200, "{page}");
            activities.extend(page["value"].as_array().unwrap().iter().map(|e| {
                format!(
                    "{}:{}",
                    e["source"].as_str().unwrap(),
                    e["activity"].as_str().unwrap()
                )
            }));
            match page["@odata.nextLink"].as_str() {
                Some(next) => link = next.to_string(),
                None => break,
            }
        }
        // Her account's creation, then her sign-in, then what the pushed record set off (its
        // event time, in the test data, is earlier than the clock's).
        assert_eq!(
            activities[..3],
            [
                "trustplane:user.create",
                "trustplane:signIn",
                "trustplane:alert.create"
            ],
            "{activities:?}"
        );
        assert!(activities.contains(&"trustplane:response.endSessions".to_string()));
        assert_eq!(
            activities
                .iter()
                .filter(|a| *a == "aws:StopLogging")
                .count(),
            2,
            "{activities:?}"
        );
        assert!(activities.contains(&"trustplane:alert.create".to_string()));
        // Exported as OCSF: one event per line, her sign-in an Authentication logon.
        let r = reqwest::Client::new()
            .get(format!(
                "{}/api/v1/users/ada@example.com/timeline?format=ocsf",
                s.base
            ))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/x-ndjson");
        let lines: Vec<Value> = r
            .text()
            .await
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), activities.len());
        assert_eq!(lines[1]["type_uid"], 300201);
        assert_eq!(lines[1]["user"]["name"], "ada@example.com");
        // Bad parameters are refused with the parameter named, and change nothing.
        for bad in [
            "?from=soon",
            "?source=gcp",
            "?format=csv",
            "?cursor=x",
            "?top=5000",
            "?colour=red",
        ] {
            let (st, problem) = api(
                &s,
                reqwest::Method::GET,
                &format!("/api/v1/users/ada@example.com/timeline{bad}"),
                None,
            )
            .await;
            assert_eq!(st, 400, "{bad}: {problem}");
        }
        let (_, audit) = api(
            &s,
            reqwest::Method::GET,
            "/api/v1/audit?category=detection",
            None,
        )
        .await;
        let acts: Vec<&str> = audit["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["activity"].as_str().unwrap())
            .collect();
        assert!(
            acts.contains(&"alert.create") && acts.contains(&"response.endSessions"),
            "{acts:?}"
        );

        // Acknowledge, then respond by hand: disable the person.
        let (st, _) = api(
            &s,
            reqwest::Method::POST,
            &format!(
                "/api/v1/alerts/{}/acknowledge",
                alert["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
        assert_eq!(st, 200);
        let (st, out) = api(
            &s,
            reqwest::Method::POST,
            &format!("/api/v1/alerts/{}/respond", alert["id"].as_str().unwrap()),
            Some(json!({"action": "disableUser"})),
        )
        .await;
        assert_eq!(st, 200, "{out}");
        assert!(!s.store.get_user(&ada).await.unwrap().account_enabled);
        // An unknown action changes nothing.
        let (st, _) = api(
            &s,
            reqwest::Method::POST,
            &format!("/api/v1/alerts/{}/respond", alert["id"].as_str().unwrap()),
            Some(json!({"action": "reboot"})),
        )
        .await;
        assert_eq!(st, 400);
    }

    #[tokio::test]
    async fn removing_a_persons_mfa_in_trustplane_raises_the_built_in_alert_through_the_same_pipeline(
    ) {
        let s = server().await;
        admin_token(&s).await;
        let ada = user(&s, "ada@example.com").await;
        let method = s
            .store
            .add_auth_method(&Actor::system(), &ada, "totp", "phone", "sealed", None)
            .await
            .unwrap();
        let admin = Actor {
            id: "someone-else".into(),
            display_name: Some("root@example.com".into()),
            ip_address: None,
            user_agent: None,
        };
        s.store
            .delete_auth_method(&admin, &ada, &method)
            .await
            .unwrap();
        let (st, report) = api(&s, reqwest::Method::POST, "/api/v1/detect/ownEvents", None).await;
        assert_eq!(st, 200, "{report}");
        let (_, alerts) = api(
            &s,
            reqwest::Method::GET,
            "/api/v1/alerts?person=ada@example.com",
            None,
        )
        .await;
        let titles: Vec<&str> = alerts["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["ruleTitle"].as_str().unwrap())
            .collect();
        assert!(
            titles.iter().any(|t| t.contains("MFA Removed")),
            "{titles:?} {report}"
        );
        // Run again: nothing new is read twice.
        let (_, again) = api(&s, reqwest::Method::POST, "/api/v1/detect/ownEvents", None).await;
        assert_eq!(again["records"], 0, "{again}");
    }

    #[tokio::test]
    async fn a_webhook_response_is_signed_with_hmac_and_records_nobody_resolves_to_stay_anonymous()
    {
        let s = server().await;
        admin_token(&s).await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Vec<u8>)>();
        let hook = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let tx = tx.clone();
                    async move {
                        let sig = headers
                            .get("x-trustplane-signature")
                            .map(|v| v.to_str().unwrap().to_string())
                            .unwrap_or_default();
                        tx.send((sig, body.to_vec())).unwrap();
                        "ok"
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });
        let (st, _) = api(&s, reqwest::Method::POST, "/api/v1/responsePolicies", Some(json!({"minLevel": "low", "action": "webhook", "automatic": true, "webhookUrl": hook_url, "webhookSecret": "s3cret"}))).await;
        assert_eq!(st, 201);
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/detect/ingest", s.base))
            .bearer_auth(ADMIN_TOKEN)
            .body(stop_logging_by("stranger@elsewhere.example").to_string())
            .send()
            .await
            .unwrap();
        let report: Value = r.json().await.unwrap();
        assert_eq!(report["resolved"], 0);
        let (sig, body) = rx.recv().await.unwrap();
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(&body);
        assert_eq!(
            sig,
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        );
        let sent: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            sent["alert"]["ruleTitle"],
            "AWS CloudTrail Important Change"
        );
        assert_eq!(sent["alert"]["personId"], Value::Null);
        // The secret is not shown back.
        let (_, policies) = api(&s, reqwest::Method::GET, "/api/v1/responsePolicies", None).await;
        assert!(!policies.to_string().contains("s3cret"));
    }
}

mod posture {
    use super::conditional_access_support::*;
    use super::*;

    fn fixture_docs(skip: &str) -> Vec<Value> {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../posture/tests/fixtures/aws");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut docs = Vec::new();
        for f in files {
            if f.file_name().unwrap().to_str().unwrap() == skip {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            if f.extension().unwrap() == "ndjson" {
                docs.extend(
                    text.lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| serde_json::from_str::<Value>(l).unwrap()),
                );
            } else {
                match serde_json::from_str::<Value>(&text).unwrap() {
                    Value::Array(a) => docs.extend(a),
                    one => docs.push(one),
                }
            }
        }
        docs
    }

    #[tokio::test]
    async fn scans_keep_findings_with_first_seen_and_resolve_what_no_longer_fails() {
        let s = server().await;
        admin_token(&s).await;
        let (st, first) = api(
            &s,
            reqwest::Method::POST,
            "/api/v1/posture/scans",
            Some(Value::Array(fixture_docs(""))),
        )
        .await;
        assert_eq!(st, 200, "{first}");
        assert!(first["summary"]["new"].as_u64().unwrap() > 100, "{first}");
        assert_eq!(first["summary"]["resolved"], 0);
        let (_, sg) = api(
            &s,
            reqwest::Method::GET,
            "/api/v1/posture/findings?status=FAIL&check=ec2_securitygroup_admin_ports_open_ipv4",
            None,
        )
        .await;
        let open_before = sg["value"].as_array().unwrap().len();
        assert!(
            open_before > 0,
            "the fixtures have an SSH-open security group"
        );
        let first_seen = sg["value"][0]["firstSeen"].clone();

        // The next scan no longer has the network resources: their failures are resolved.
        s.clock.advance_ms(60_000);
        let (st, second) = api(
            &s,
            reqwest::Method::POST,
            "/api/v1/posture/scans",
            Some(Value::Array(fixture_docs("network.json"))),
        )
        .await;
        assert_eq!(st, 200, "{second}");
        assert!(
            second["summary"]["resolved"].as_u64().unwrap() >= open_before as u64,
            "{second}"
        );
        let (_, resolved) = api(&s, reqwest::Method::GET, "/api/v1/posture/findings?status=RESOLVED&check=ec2_securitygroup_admin_ports_open_ipv4", None).await;
        assert_eq!(resolved["value"].as_array().unwrap().len(), open_before);
        assert!(resolved["value"][0]["resolvedAt"].is_string());
        assert_eq!(
            resolved["value"][0]["firstSeen"], first_seen,
            "first seen is kept"
        );
        // A malformed inventory is refused and changes nothing.
        let (st, _) = api(
            &s,
            reqwest::Method::POST,
            "/api/v1/posture/scans",
            Some(json!([{"provider": "aws", "bogus": 1}])),
        )
        .await;
        assert_eq!(st, 400);
    }
}

/// Identity risk at sign-in and the identity protection API (`tests/risk/`).
mod risk;
