//! Sign-in through an upstream OpenID Connect provider over HTTP: `/api/v1/identityProviders`,
//! home-realm discovery at `/login`, the callback, and every bad ID token refused with nothing
//! created (no user, no link, no session).
//!
//! The provider here is a hand-made one on loopback (discovery, JWKS, token endpoint), because
//! the bad tokens (another key, wrong issuer or audience, expired, no or an old nonce) are
//! what no real provider sends; the real one (oidc-provider) signs people in in
//! crates/idp/tests/pass_through.rs.

use std::sync::{Arc, Mutex};

use super::conditional_access_support::{admin_token, api};
use super::*;
use reqwest::Method;
use ring::signature::EcdsaKeyPair;
use sha2::Digest;
use trustplane_idp::oidc::jwt::{b64, encode};
use trustplane_idp::oidc::keys::Es256;
use trustplane_keyring::KeyKind;

const SECRET: &str = "fake-provider-client-secret";

/// A bad ID token for a sign-in's nonce.
type TokenFor<'a> = Box<dyn Fn(&str) -> String + 'a>;

#[derive(Default)]
struct OpState {
    jwks: Value,
    /// The ID token the token endpoint answers with next.
    next_token: Option<String>,
    /// The PKCE challenge of the sign-in under way: the verifier must match it.
    challenge: Option<String>,
}

struct FakeOp {
    issuer: String,
    state: Arc<Mutex<OpState>>,
}

fn keypair() -> (EcdsaKeyPair, Value) {
    let (der, public) = Es256.generate().unwrap();
    let pair = Es256.parse(&der, &public).unwrap();
    let mut jwk: Value = serde_json::from_str(&public).unwrap();
    jwk["kid"] = json!("op-key-1");
    jwk["alg"] = json!("ES256");
    (pair, jwk)
}

async fn fake_op(jwk: &Value) -> FakeOp {
    use axum::routing::{get, post};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let state = Arc::new(Mutex::new(OpState {
        jwks: json!({ "keys": [jwk] }),
        ..Default::default()
    }));
    let discovery = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "code_challenge_methods_supported": ["S256"],
    });
    let (s1, s2) = (state.clone(), state.clone());
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { axum::Json(discovery) }),
        )
        .route(
            "/jwks",
            get(move || async move { axum::Json(s1.lock().unwrap().jwks.clone()) }),
        )
        .route(
            "/token",
            post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                    let form: std::collections::HashMap<String, String> =
                        url::form_urlencoded::parse(&body).into_owned().collect();
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let expected = format!(
                        "Basic {}",
                        base64::Engine::encode(
                            &base64::engine::general_purpose::STANDARD,
                            format!("trustplane:{SECRET}")
                        )
                    );
                    let mut st = s2.lock().unwrap();
                    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                    let pkce_ok = st.challenge.as_deref()
                        == Some(b64(&sha2::Sha256::digest(verifier.as_bytes())).as_str());
                    if auth != expected || !pkce_ok {
                        return (
                            axum::http::StatusCode::BAD_REQUEST,
                            axum::Json(json!({"error": "invalid_grant"})),
                        );
                    }
                    match st.next_token.take() {
                        Some(t) => (
                            axum::http::StatusCode::OK,
                            axum::Json(json!({"id_token": t, "token_type": "Bearer"})),
                        ),
                        None => (
                            axum::http::StatusCode::BAD_REQUEST,
                            axum::Json(json!({"error": "invalid_grant"})),
                        ),
                    }
                },
            ),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FakeOp { issuer, state }
}

/// Starts a sign-in at `/login` with a federated name and no password; returns the state,
/// nonce and the browser.
async fn start(s: &Server, op: &FakeOp, upn: &str) -> (Browser, String, String) {
    let mut b = Browser::new(s);
    let r = b.password(upn, "").await;
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.location.unwrap();
    assert!(
        location.starts_with(&format!("{}/authorize?", op.issuer)),
        "{location}"
    );
    assert!(
        b.cookies.contains_key("tp_federated"),
        "the sign-in is bound to this browser"
    );
    let url = url::Url::parse(&location).unwrap();
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["login_hint"], upn);
    op.state.lock().unwrap().challenge = Some(q["code_challenge"].clone());
    (b, q["state"].clone(), q["nonce"].clone())
}

fn claims(op: &FakeOp, nonce: &str, upn: &str, sub: &str, now_ms: i64) -> Value {
    json!({
        "iss": op.issuer, "aud": "trustplane", "sub": sub, "nonce": nonce,
        "exp": now_ms / 1000 + 600, "iat": now_ms / 1000,
        "oid": format!("oid-{sub}"), "tid": "tenant-9", "preferred_username": upn,
        "email": upn, "name": "New Person", "amr": ["pwd", "mfa"],
    })
}

fn sign(claims: &Value, key: &EcdsaKeyPair, kid: &str) -> String {
    encode("ES256", kid, "JWT", claims, key).unwrap()
}

async fn callback(b: &mut Browser, state: &str) -> Page {
    b.get(&format!(
        "/login/federated/callback?state={}&code=the-code",
        trustplane_idp::url_encode(state)
    ))
    .await
}

#[tokio::test]
async fn upstream_sign_in_refuses_every_bad_token_and_creates_nothing() {
    let s = server_at(real_now_ms()).await;
    admin_token(&s).await;
    let (key, jwk) = keypair();
    let op = fake_op(&jwk).await;
    let provider = json!({
        "type": "oidc", "displayName": "Fed", "issuer": op.issuer, "clientId": "trustplane",
        "clientSecret": SECRET, "domains": ["fed.example.test"], "linkBy": "none",
        "jitProvisioning": true, "trustMfa": false,
    });

    // Bad settings are refused with the field named; nothing is stored.
    for (field, value) in [
        ("issuer", json!("http://op.example.test")),
        ("domains", json!(["not a domain"])),
        ("type", json!("saml")),
    ] {
        let mut body = provider.clone();
        body[field] = value;
        let (st, problem) = api(&s, Method::POST, "/api/v1/identityProviders", Some(body)).await;
        assert_eq!(
            (st, problem["field"].as_str()),
            (400, Some(field)),
            "{problem}"
        );
    }
    let (st, created) = api(
        &s,
        Method::POST,
        "/api/v1/identityProviders",
        Some(provider.clone()),
    )
    .await;
    assert_eq!(st, 201, "{created}");
    assert!(created["redirectUri"]
        .as_str()
        .unwrap()
        .ends_with("/login/federated/callback"));
    let (_, listed) = api(&s, Method::GET, "/api/v1/identityProviders", None).await;
    assert!(
        !listed.to_string().contains(SECRET),
        "the secret is never returned"
    );
    assert!(!created.to_string().contains(SECRET));
    let mut again = provider.clone();
    again["displayName"] = json!("Fed 2");
    let (st, _) = api(&s, Method::POST, "/api/v1/identityProviders", Some(again)).await;
    assert_eq!(st, 409, "a domain belongs to one provider");
    let (st, info) = api(&s, Method::POST, "/api/v1/identityProviders/Fed/test", None).await;
    assert_eq!((st, info["signingKeys"].as_i64()), (200, Some(1)), "{info}");

    let upn = "newbie@fed.example.test";
    let now = s.clock.now_ms();
    let (other_key, _) = keypair();
    let mut cases: Vec<(&str, TokenFor)> = vec![
        (
            "signed by another key",
            Box::new(|n| sign(&claims(&op, n, upn, "s1", now), &other_key, "op-key-1")),
        ),
        (
            "signed by an unknown key",
            Box::new(|n| sign(&claims(&op, n, upn, "s1", now), &other_key, "op-key-x")),
        ),
        (
            "wrong issuer",
            Box::new(|n| {
                let mut c = claims(&op, n, upn, "s1", now);
                c["iss"] = json!("https://evil.example.test");
                sign(&c, &key, "op-key-1")
            }),
        ),
        (
            "wrong audience",
            Box::new(|n| {
                let mut c = claims(&op, n, upn, "s1", now);
                c["aud"] = json!("another-client");
                sign(&c, &key, "op-key-1")
            }),
        ),
        (
            "expired",
            Box::new(|n| {
                let mut c = claims(&op, n, upn, "s1", now);
                c["exp"] = json!(now / 1000 - 3600);
                sign(&c, &key, "op-key-1")
            }),
        ),
        (
            "no nonce",
            Box::new(|n| {
                let mut c = claims(&op, n, upn, "s1", now);
                c.as_object_mut().unwrap().remove("nonce");
                sign(&c, &key, "op-key-1")
            }),
        ),
        (
            "another sign-in's nonce",
            Box::new(|_| {
                sign(
                    &claims(&op, "an-old-nonce", upn, "s1", now),
                    &key,
                    "op-key-1",
                )
            }),
        ),
    ];
    for (case, token) in cases.drain(..) {
        let (mut b, state, nonce) = start(&s, &op, upn).await;
        op.state.lock().unwrap().next_token = Some(token(&nonce));
        let r = callback(&mut b, &state).await;
        assert_eq!(r.status, 401, "{case}: {}", r.body);
        assert!(!b.cookies.contains_key("tp_session"), "{case}: no session");
        assert!(
            s.store.get_user(upn).await.is_err(),
            "{case}: no user created"
        );
    }

    // A good token: the person is created just in time, with no roles, and signed in.
    let (mut b, state, nonce) = start(&s, &op, upn).await;
    let good = sign(&claims(&op, &nonce, upn, "s1", now), &key, "op-key-1");
    op.state.lock().unwrap().next_token = Some(good.clone());
    let r = callback(&mut b, &state).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(b.cookies.contains_key("tp_session"));
    let newbie = s.store.get_user(upn).await.unwrap();
    assert!(s
        .store
        .effective_roles(&newbie.id)
        .await
        .unwrap()
        .is_empty());
    let sessions = s.store.list_sessions(&newbie.id).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].info.amr, vec!["fed".to_string()]);
    assert!(
        sessions[0].mfa_at.is_none(),
        "the provider's MFA is not trusted here"
    );

    // The same state again, and the same token replayed in a new sign-in: refused.
    let r = callback(&mut b, &state).await;
    assert_eq!(r.location.as_deref(), Some("/login?error=expired"));
    let (mut b2, state2, _) = start(&s, &op, upn).await;
    op.state.lock().unwrap().next_token = Some(good);
    let r = callback(&mut b2, &state2).await;
    assert_eq!(r.status, 401, "a replayed nonce: {}", r.body);
    assert_eq!(s.store.list_sessions(&newbie.id).await.unwrap().len(), 1);

    // Another browser cannot finish a sign-in it did not start.
    let (_started_here, state3, nonce3) = start(&s, &op, upn).await;
    op.state.lock().unwrap().next_token = Some(sign(
        &claims(&op, &nonce3, upn, "s1", now),
        &key,
        "op-key-1",
    ));
    let mut stranger = Browser::new(&s);
    let r = callback(&mut stranger, &state3).await;
    assert_eq!(r.location.as_deref(), Some("/login?error=expired"));
    assert!(!stranger.cookies.contains_key("tp_session"));

    // Each refusal above counted against the address (as failed passwords do): a minute on,
    // it may try again.
    let r = callback(&mut Browser::new(&s), "any-state").await;
    assert_eq!(r.status, 429, "the address is limited after ten refusals");
    s.clock.advance_ms(60_000);

    // The provider may not assert the name of a user it is not linked to (linkBy none).
    let local = user(&s, "ada@fed.example.test").await;
    let (mut b, state, nonce) = start(&s, &op, "ada@fed.example.test").await;
    op.state.lock().unwrap().next_token = Some(sign(
        &claims(&op, &nonce, "ada@fed.example.test", "s-ada", now),
        &key,
        "op-key-1",
    ));
    let r = callback(&mut b, &state).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(s.store.list_sessions(&local).await.unwrap().is_empty());
    let reasons: Vec<String> = sign_ins(&s)
        .await
        .iter()
        .filter_map(|e| e["resultReason"].as_str().map(str::to_string))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("belongs to a user this identity is not linked to")),
        "{reasons:?}"
    );

    // Refused at the provider: the sign-in ends, nothing is created.
    let (mut b, state, _) = start(&s, &op, "nobody@fed.example.test").await;
    let r = b
        .get(&format!(
            "/login/federated/callback?state={}&error=access_denied",
            trustplane_idp::url_encode(&state)
        ))
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(s.store.get_user("nobody@fed.example.test").await.is_err());

    // Deleting the provider ends home-realm discovery and its links; the user stays.
    let (st, _) = api(&s, Method::DELETE, "/api/v1/identityProviders/Fed", None).await;
    assert_eq!(st, 204);
    let mut b = Browser::new(&s);
    let r = b.password(upn, "").await;
    assert_eq!(r.status, 401, "back to passwords: {}", r.body);
    assert!(s.store.get_user(upn).await.is_ok());
}
