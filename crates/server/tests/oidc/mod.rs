//! The OpenID Connect provider over real HTTP, against an independent relying party: Authlib
//! (Python, `authlib_peer.py`) runs discovery, the code flow with PKCE on a session the test
//! signed in, validates ES256 and RS256 ID tokens against the JWKS, refreshes, and uses client
//! credentials (with a secret and with `private_key_jwt`). The negative cases are driven from
//! here with a clock the tests move: each must fail as the standards say, with nothing issued.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use sha2::{Digest, Sha256};
use trustplane_store::{CaKind, NewGroup};

use super::conditional_access_support::{admin_token, api};
use super::*;

const WEB: &str = "https://rp.example.com/callback";

async fn oidc_server() -> Server {
    let s = server_at(real_now_ms()).await;
    admin_token(&s).await;
    s
}

/// Moves the server's clock up to the real time, for peers that read their own clock.
fn sync_clock(s: &Server) {
    let now = real_now_ms();
    if now > s.clock.now_ms() {
        s.clock.set_ms(now);
    }
}

fn issuer(s: &Server) -> String {
    s.base.replace("127.0.0.1", "localhost")
}

/// A person with a mail address, in one group; returns (user id, group id).
async fn person(s: &Server, upn: &str) -> (String, String) {
    let hash = trustplane_authn::hash_password(PASSWORD).unwrap();
    let u = s
        .store
        .create_user(
            &Actor::system(),
            NewUser {
                user_principal_name: upn.into(),
                display_name: "Ada Lovelace".into(),
                mail: Some(upn.replace("@", ".mail@")),
                given_name: Some("Ada".into()),
                surname: Some("Lovelace".into()),
                account_enabled: true,
                password_hash: Some(hash),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let g = s
        .store
        .create_group(
            &Actor::system(),
            NewGroup {
                display_name: format!("Readers of {upn}"),
                members: vec![u.id.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    (u.id, g.id)
}

/// Registers an OIDC client through the admin API; returns its object id.
async fn register(s: &Server, client_id: &str, oidc: Value) -> String {
    let (status, body) = api(
        s,
        Method::POST,
        "/api/v1/applications",
        Some(json!({"displayName": client_id, "appId": client_id, "settings": {"oidc": oidc}})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// A client secret through `addPassword`.
async fn add_secret(s: &Server, object_id: &str) -> String {
    let (status, body) = api(
        s,
        Method::POST,
        &format!("/api/v1/applications/{object_id}/addPassword"),
        Some(json!({"passwordCredential": {"displayName": "test"}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["secretText"].as_str().unwrap().to_string()
}

/// A confidential web client with a secret; returns the secret.
async fn web_client(s: &Server, client_id: &str, extra: Value) -> String {
    let mut oidc =
        json!({"redirectUris": [WEB], "postLogoutRedirectUris": ["https://rp.example.com/bye"]});
    for (k, v) in extra.as_object().unwrap() {
        oidc[k] = v.clone();
    }
    let id = register(s, client_id, oidc).await;
    add_secret(s, &id).await
}

/// Runs the Authlib peer (off the async threads: it calls this server).
async fn peer(command: &str, args: Value) -> Value {
    let python = std::env::var("TRUSTPLANE_TEST_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/trustplane-venv/bin/python",
            std::env::var("HOME").unwrap_or_else(|_| "/root".into())
        )
    });
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/authlib_peer.py");
    let command = command.to_string();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .arg(command)
            .arg(args.to_string())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "authlib peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "peer output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A PKCE pair (verifier, S256 challenge).
fn pkce() -> (String, String) {
    let verifier = format!("{}-{}", trustplane_authn::new_session_token().0, "v");
    let challenge = b64(&Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn authorize_path(client_id: &str, challenge: Option<&str>, extra: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", WEB),
        ("scope", "openid profile email groups"),
        ("state", "st-123"),
        ("nonce", "n-456"),
    ];
    if let Some(c) = challenge {
        pairs.push(("code_challenge", c));
        pairs.push(("code_challenge_method", "S256"));
    }
    // Extra parameters replace defaults of the same name.
    pairs.retain(|(k, _)| !extra.iter().any(|(x, _)| x == k));
    pairs.extend_from_slice(extra);
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    format!("/oauth2/authorize?{}", q.finish())
}

fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Runs the browser part; returns the code (asserting the redirect carries it).
async fn code_for(b: &mut Browser, client_id: &str, challenge: &str) -> String {
    let r = b
        .get(&authorize_path(client_id, Some(challenge), &[]))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.location.unwrap();
    assert!(location.starts_with(WEB), "{location}");
    let q = query_of(&location);
    assert_eq!(q["state"], "st-123");
    assert!(!q.contains_key("error"), "{location}");
    q["code"].clone()
}

/// POSTs a form to an OAuth endpoint with HTTP Basic client authentication.
async fn post_form(
    s: &Server,
    path: &str,
    client: (&str, &str),
    form: &[(&str, &str)],
) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", s.base))
        .basic_auth(client.0, Some(client.1))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn exchange(s: &Server, client: (&str, &str), code: &str, verifier: &str) -> (u16, Value) {
    post_form(
        s,
        "/oauth2/token",
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", WEB),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn refresh(s: &Server, client: (&str, &str), token: &str) -> (u16, Value) {
    post_form(
        s,
        "/oauth2/token",
        client,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

async fn introspect(s: &Server, client: (&str, &str), token: &str) -> Value {
    let (status, body) = post_form(s, "/oauth2/introspect", client, &[("token", token)]).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn userinfo_status(s: &Server, access_token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/oauth2/userinfo", s.base))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The provider's audit entries, oldest first.
async fn federation_events(s: &Server) -> Vec<Value> {
    audit_events(s, "federation").await
}

fn activities(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["activity"].as_str().unwrap().to_string())
        .collect()
}

/// Tokens from a whole code flow driven here: (access, refresh, id).
async fn tokens_for(s: &Server, b: &mut Browser, client: (&str, &str)) -> Value {
    let (verifier, challenge) = pkce();
    let code = code_for(b, client.0, &challenge).await;
    let (status, body) = exchange(s, client, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn authlib_runs_the_code_flow_with_pkce_validates_es256_and_rs256_id_tokens_refreshes_and_uses_client_credentials(
) {
    let s = oidc_server().await;
    let (ada, group) = person(&s, "ada@example.com").await;
    let es_secret = web_client(&s, "web-es256", json!({})).await;
    let rs_id = register(
        &s,
        "web-rs256",
        json!({"redirectUris": ["https://rs.example.org/cb"], "idTokenSignedResponseAlg": "RS256", "subjectType": "pairwise"}),
    )
    .await;
    let rs_secret = add_secret(&s, &rs_id).await;
    let other_id = register(
        &s,
        "web-elsewhere",
        json!({"redirectUris": ["https://other.example.net/cb"], "subjectType": "pairwise"}),
    )
    .await;
    let other_secret = add_secret(&s, &other_id).await;
    let svc_id = register(
        &s,
        "batch-job",
        json!({"grantTypes": ["client_credentials"], "scopes": ["reports.read"]}),
    )
    .await;
    let svc_secret = add_secret(&s, &svc_id).await;

    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let cookie = b.cookies["tp_session"].clone();
    let now = s.clock.now_ms() / 1000;
    let flow = |client_id: &str, secret: &str, redirect: &str| {
        json!({
            "issuer": issuer(&s), "client_id": client_id, "client_secret": secret,
            "redirect_uri": redirect, "cookie": cookie, "scope": "openid profile email groups",
            "now": now,
        })
    };

    // ES256 (the default), public subject.
    let es = peer("code-flow", flow("web-es256", &es_secret, WEB)).await;
    assert_eq!(es["header"]["alg"], "ES256", "{es}");
    let c = &es["claims"];
    assert_eq!(
        c["sub"],
        ada.as_str(),
        "public sub is the user's immutable id"
    );
    assert_eq!(c["aud"], "web-es256");
    assert_eq!(c["email"], "ada.mail@example.com");
    assert_eq!(c["preferred_username"], "ada@example.com");
    assert_eq!(c["name"], "Ada Lovelace");
    assert_eq!(c["groups"], json!([group]));
    assert_eq!(c["amr"], json!(["pwd"]));
    assert_eq!(c["acr"], "urn:trustplane:acr:single-factor");
    assert_eq!(c["nonce"], es["nonce"]);
    assert!(c["auth_time"].as_i64().unwrap() <= now);
    assert!(c["sid"].is_string());
    assert!(query_of(es["location"].as_str().unwrap())["iss"] == issuer(&s));
    assert_eq!(es["userinfo_status"], 200);
    assert_eq!(es["userinfo"]["sub"], ada.as_str());
    assert_eq!(es["userinfo"]["email"], "ada.mail@example.com");
    assert_eq!(es["refreshed_claims"]["sub"], ada.as_str());
    assert_eq!(es["refreshed_claims"]["auth_time"], c["auth_time"]);
    assert_ne!(
        es["refreshed"]["refresh_token"],
        es["token"]["refresh_token"]
    );

    // RS256 for a client that asks for it; pairwise subjects differ per sector.
    let rs = peer(
        "code-flow",
        flow("web-rs256", &rs_secret, "https://rs.example.org/cb"),
    )
    .await;
    assert_eq!(rs["header"]["alg"], "RS256", "{rs}");
    let rs_sub = rs["claims"]["sub"].as_str().unwrap().to_string();
    assert_ne!(rs_sub, ada);
    assert_eq!(rs["userinfo"]["sub"], rs_sub.as_str());
    let other = peer(
        "code-flow",
        flow(
            "web-elsewhere",
            &other_secret,
            "https://other.example.net/cb",
        ),
    )
    .await;
    let other_sub = other["claims"]["sub"].as_str().unwrap();
    assert_ne!(
        other_sub, rs_sub,
        "two sectors see two subjects for one person"
    );
    assert_ne!(other_sub, ada);

    // Client credentials.
    let cc = peer(
        "client-credentials",
        json!({"issuer": issuer(&s), "client_id": "batch-job", "client_secret": svc_secret, "scope": "reports.read", "now": now}),
    )
    .await;
    assert_eq!(cc["claims"]["sub"], "batch-job", "{cc}");
    assert_eq!(cc["claims"]["client_id"], "batch-job");
    assert_eq!(cc["claims"]["scope"], "reports.read");
    assert_eq!(cc["header"]["typ"], "at+jwt");
    assert!(cc["token"]["refresh_token"].is_null());

    // The trail: codes and tokens, with roles and the policy decision, and no secrets.
    let events = federation_events(&s).await;
    let acts = activities(&events);
    for a in ["oidc.code.issue", "oidc.token.issue"] {
        assert!(acts.iter().any(|x| x == a), "{acts:?}");
    }
    let code_issue = events
        .iter()
        .find(|e| e["activity"] == "oidc.code.issue")
        .unwrap();
    assert_eq!(code_issue["initiatedBy"]["id"], ada.as_str());
    assert_eq!(code_issue["target"]["displayName"], "web-es256");
    assert!(code_issue["after"]["roles"].is_array());
    assert_eq!(code_issue["after"]["conditionalAccess"]["outcome"], "allow");
    let grant_types: Vec<&str> = events
        .iter()
        .filter(|e| e["activity"] == "oidc.token.issue")
        .map(|e| e["after"]["grantType"].as_str().unwrap())
        .collect();
    assert_eq!(
        grant_types,
        vec![
            "authorization_code",
            "refresh_token",
            "authorization_code",
            "refresh_token",
            "authorization_code",
            "refresh_token",
            "client_credentials"
        ]
    );
    let trail = serde_json::to_string(&events).unwrap();
    for secret in [
        es["token"]["access_token"].as_str().unwrap(),
        es["token"]["refresh_token"].as_str().unwrap(),
        es_secret.as_str(),
    ] {
        assert!(
            !trail.contains(secret),
            "a token or secret reached the audit trail"
        );
    }
    // Secrets are kept as hashes only.
    let stored = s.store.client_secrets(&svc_id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].secret_hash, svc_secret);
    assert_eq!(stored[0].hint, svc_secret[..3]);
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_and_other_mistakes_go_back_as_errors() {
    let s = oidc_server().await;
    person(&s, "ada@example.com").await;
    web_client(&s, "web", json!({})).await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let (_, challenge) = pkce();

    // Never a redirect to what the client did not register, nor for an unknown client.
    for path in [
        authorize_path("web", Some(&challenge), &[]).replace(
            &url::form_urlencoded::byte_serialize(WEB.as_bytes()).collect::<String>(),
            "https%3A%2F%2Fevil.example%2Fcallback",
        ),
        authorize_path("web", Some(&challenge), &[]).replace("callback", "callback%2Fmore"),
        authorize_path("nobody", Some(&challenge), &[]),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status, 400, "{path}");
        assert!(r.location.is_none());
        assert!(r.body.contains("cannot be completed"), "{}", r.body);
    }
    // Registered redirect URI: errors go back there, with the state, and no code.
    let repeated = format!(
        "{}&response_type=token",
        authorize_path("web", Some(&challenge), &[])
    );
    for (path, error) in [
        (authorize_path("web", None, &[]), "invalid_request"),
        (
            authorize_path(
                "web",
                None,
                &[
                    ("code_challenge", challenge.as_str()),
                    ("code_challenge_method", "plain"),
                ],
            ),
            "invalid_request",
        ),
        (repeated, "invalid_request"),
        (
            authorize_path("web", Some(&challenge), &[("request", "eyJ")]),
            "request_not_supported",
        ),
        (
            authorize_path("web", Some(&challenge), &[("response_type", "token")]),
            "unsupported_response_type",
        ),
        (
            authorize_path(
                "web",
                Some(&challenge),
                &[("scope", "openid payroll.admin")],
            ),
            "invalid_scope",
        ),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let q = query_of(r.location.as_deref().unwrap());
        assert_eq!(q["error"], error, "{path}");
        assert_eq!(q["state"], "st-123");
        assert_eq!(q["iss"], issuer(&s));
        assert!(!q.contains_key("code"));
    }
    let acts = activities(&federation_events(&s).await);
    assert!(!acts.iter().any(|a| a == "oidc.code.issue"), "{acts:?}");
    assert_eq!(acts.iter().filter(|a| *a == "oidc.code.refuse").count(), 9);
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_the_tokens_of_its_first_use() {
    let s = oidc_server().await;
    person(&s, "ada@example.com").await;
    let secret = web_client(&s, "web", json!({})).await;
    let client = ("web", secret.as_str());
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let (verifier, challenge) = pkce();
    let code = code_for(&mut b, "web", &challenge).await;
    let (status, first) = exchange(&s, client, &code, &verifier).await;
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(introspect(&s, client, access).await["active"], true);

    let (status, again) = exchange(&s, client, &code, &verifier).await;
    assert_eq!(status, 400);
    assert_eq!(again["error"], "invalid_grant");
    assert!(again.get("access_token").is_none());
    // RFC 6749 §4.1.2: what the first use issued is revoked.
    assert_eq!(
        introspect(&s, client, access).await,
        json!({"active": false})
    );
    assert_eq!(userinfo_status(&s, access).await, 401);
    let (status, body) = refresh(&s, client, first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let acts = activities(&federation_events(&s).await);
    assert!(acts.iter().any(|a| a == "oidc.code.replay"), "{acts:?}");
}

#[tokio::test]
async fn a_wrong_pkce_verifier_or_an_expired_code_gets_nothing() {
    let s = oidc_server().await;
    person(&s, "ada@example.com").await;
    let secret = web_client(&s, "web", json!({})).await;
    let client = ("web", secret.as_str());
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;

    let (verifier, challenge) = pkce();
    let code = code_for(&mut b, "web", &challenge).await;
    let (other_verifier, _) = pkce();
    let (status, body) = exchange(&s, client, &code, &other_verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(body["error_description"].as_str().unwrap().contains("PKCE"));
    // The code was spent by that attempt: the right verifier is too late now.
    let (status, _) = exchange(&s, client, &code, &verifier).await;
    assert_eq!(status, 400);

    // No verifier at all.
    let (_, challenge) = pkce();
    let code = code_for(&mut b, "web", &challenge).await;
    let (status, body) = post_form(
        &s,
        "/oauth2/token",
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Expired: a code lives 60 seconds.
    let (verifier, challenge) = pkce();
    let code = code_for(&mut b, "web", &challenge).await;
    s.clock.advance_ms(61_000);
    let (status, body) = exchange(&s, client, &code, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("expired"));

    // A redirect URI other than the authorization request's.
    let (verifier, challenge) = pkce();
    let code = code_for(&mut b, "web", &challenge).await;
    let (status, _) = post_form(
        &s,
        "/oauth2/token",
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://rp.example.com/other"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 400);

    let events = federation_events(&s).await;
    assert!(
        !activities(&events).iter().any(|a| a == "oidc.token.issue"),
        "nothing was issued"
    );
    assert_eq!(
        activities(&events)
            .iter()
            .filter(|a| *a == "oidc.token.refuse")
            .count(),
        4
    );
    assert_eq!(
        activities(&events)
            .iter()
            .filter(|a| *a == "oidc.code.replay")
            .count(),
        1,
        "the spent code presented again"
    );
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_whole_family() {
    let s = oidc_server().await;
    person(&s, "ada@example.com").await;
    let secret = web_client(&s, "web", json!({})).await;
    let client = ("web", secret.as_str());
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let first = tokens_for(&s, &mut b, client).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let (status, second) = refresh(&s, client, r1).await;
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2, "rotated");
    let a2 = second["access_token"].as_str().unwrap();
    assert_eq!(introspect(&s, client, a2).await["active"], true);

    // The rotated token comes back: a copy exists somewhere. Everything of the grant goes.
    let (status, body) = refresh(&s, client, r1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = refresh(&s, client, r2).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the newest refresh token stops working too"
    );
    assert_eq!(introspect(&s, client, a2).await["active"], false);
    assert_eq!(introspect(&s, client, r2).await["active"], false);
    let acts = activities(&federation_events(&s).await);
    assert!(acts.iter().any(|a| a == "oidc.refresh.reuse"), "{acts:?}");
}

#[tokio::test]
async fn conditional_access_blocks_one_user_and_sends_another_to_step_up_and_back() {
    let s = oidc_server().await;
    person(&s, "ada@example.com").await;
    let (mallory, _) = person(&s, "mallory@example.com").await;
    web_client(&s, "web", json!({})).await;
    web_client(&s, "payroll", json!({})).await;
    add_policy(
        &s,
        policy(
            "Block Mallory from web",
            json!({"includeUsers": [mallory]}),
            "web",
            &["block"],
        ),
    )
    .await;
    add_policy(
        &s,
        policy(
            "MFA for payroll",
            json!({"includeUsers": ["All"]}),
            "payroll",
            &["mfa"],
        ),
    )
    .await;

    // Blocked: access_denied to the client, no code.
    let mut m = Browser::new(&s);
    m.sign_in("mallory@example.com").await;
    let (_, challenge) = pkce();
    let r = m.get(&authorize_path("web", Some(&challenge), &[])).await;
    let q = query_of(r.location.as_deref().unwrap());
    assert_eq!(q["error"], "access_denied");
    assert!(
        q["error_description"].contains("Block Mallory from web"),
        "{q:?}"
    );
    assert!(!q.contains_key("code"));
    let events = federation_events(&s).await;
    let refusal = events.last().unwrap();
    assert_eq!(refusal["activity"], "oidc.code.refuse");
    assert_eq!(refusal["after"]["conditionalAccess"]["outcome"], "block");
    assert_eq!(refusal["initiatedBy"]["id"], mallory.as_str());
    // Step-up: Ada signed in with a password only; payroll needs MFA.
    let mut ada = Browser::new(&s);
    ada.sign_in("ada@example.com").await;
    // The block names Mallory only: Ada reaches the same client.
    code_for(&mut ada, "web", &challenge).await;
    let r = ada
        .get(&authorize_path("payroll", Some(&challenge), &[]))
        .await;
    let q = query_of(r.location.as_deref().unwrap());
    assert_eq!(
        q["error"], "access_denied",
        "no second factor registered yet: {q:?}"
    );
    // She registers an authenticator app in another browser; this session stays single-factor.
    let mut other = Browser::new(&s);
    other.sign_in("ada@example.com").await;
    let uri = enrol_totp(&mut other, &s).await;
    let path = authorize_path("payroll", Some(&challenge), &[]);
    let none = ada
        .get(&authorize_path(
            "payroll",
            Some(&challenge),
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(
        query_of(none.location.as_deref().unwrap())["error"],
        "interaction_required"
    );
    let r = ada.get(&path).await;
    assert_eq!(r.status, 303);
    let step_up = r.location.unwrap();
    assert!(
        step_up.starts_with("/account/verify?next=/oauth2/authorize%3F"),
        "{step_up}"
    );
    let form = ada.get(&step_up).await;
    assert_eq!(form.status, 200);
    let next = field(&form.body, "next");
    assert!(next.starts_with("/oauth2/authorize?"), "{next}");
    s.clock.advance_ms(30_000);
    let code = pyotp(&uri, s.clock.now_ms());
    let csrf = Browser::csrf(&form);
    let done = ada
        .post(
            "/account/verify",
            &[
                ("csrf", &csrf),
                ("method", "totp"),
                ("code", &code),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some(next.as_str()));
    let back = ada.get(&next).await;
    let q = query_of(back.location.as_deref().unwrap());
    assert!(q.contains_key("code"), "{q:?}");
    // A `next` that leaves this server is not followed.
    let form = ada
        .get("/account/verify?next=https%3A%2F%2Fevil.example%2F")
        .await;
    assert_eq!(field(&form.body, "next"), "/");
}

#[tokio::test]
async fn a_disabled_or_newly_blocked_user_gets_no_refresh() {
    let s = oidc_server().await;
    let (ada, _) = person(&s, "ada@example.com").await;
    let secret = web_client(&s, "web", json!({})).await;
    let client = ("web", secret.as_str());
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let tokens = tokens_for(&s, &mut b, client).await;
    let r1 = tokens["refresh_token"].as_str().unwrap();

    s.store
        .update_user(
            &Actor::system(),
            &ada,
            UserPatch {
                account_enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (status, body) = refresh(&s, client, r1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(body.get("access_token").is_none());
    assert_eq!(
        introspect(&s, client, tokens["access_token"].as_str().unwrap()).await["active"],
        false,
        "a disabled user's access tokens stop working"
    );
    // Enabled again, the old grant stays revoked (disabling ended it); a new sign-in gets
    // tokens, and then a new policy blocks the client.
    s.store
        .update_user(
            &Actor::system(),
            &ada,
            UserPatch {
                account_enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (status, body) = refresh(&s, client, r1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    s.clock.advance_ms(2_100);
    b.sign_in("ada@example.com").await;
    let tokens = tokens_for(&s, &mut b, client).await;
    let r2 = tokens["refresh_token"].as_str().unwrap().to_string();
    add_policy(
        &s,
        policy(
            "Block web",
            json!({"includeUsers": ["All"]}),
            "web",
            &["block"],
        ),
    )
    .await;
    let (status, body) = refresh(&s, client, &r2).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("Block web"),
        "{body}"
    );
    let events = federation_events(&s).await;
    let last = events.last().unwrap();
    assert_eq!(last["activity"], "oidc.token.refuse");
    assert_eq!(last["after"]["conditionalAccess"]["outcome"], "block");
}

#[tokio::test]
async fn the_password_grant_is_refused_unless_enabled_and_is_then_blocked_as_legacy_authentication()
{
    let s = oidc_server().await;
    person(&s, "ada@example.com").await;
    let secret = web_client(&s, "legacy", json!({})).await;
    let client = ("legacy", secret.as_str());
    let form = [
        ("grant_type", "password"),
        ("username", "ada@example.com"),
        ("password", PASSWORD),
        ("scope", "openid"),
    ];
    let (status, body) = post_form(&s, "/oauth2/token", client, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );

    let app = s.store.get_application("legacy").await.unwrap();
    let mut settings = app.settings.clone();
    settings["oidc"]["legacyPasswordGrant"] = json!(true);
    let (status, _) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/applications/{}", app.id),
        Some(json!({"settings": settings})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post_form(&s, "/oauth2/token", client, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("block legacy authentication"),
        "{body}"
    );
    let log = sign_ins(&s).await;
    let last = log.last().unwrap();
    assert_eq!(last["after"]["clientAppUsed"], "other");
    assert_eq!(last["result"], "failure");

    // Only with that policy switched off does the legacy grant issue tokens.
    let policies = s.store.list_ca(CaKind::Policy).await.unwrap();
    let legacy = policies
        .iter()
        .find(|p| p["displayName"] == "Security defaults: block legacy authentication")
        .unwrap();
    let (status, _) = api(
        &s,
        Method::PATCH,
        &format!(
            "/api/v1/identity/conditionalAccess/policies/{}",
            legacy["id"].as_str().unwrap()
        ),
        Some(json!({"state": "disabled"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post_form(&s, "/oauth2/token", client, &form).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string());
    let acts = activities(&federation_events(&s).await);
    assert_eq!(acts.iter().filter(|a| *a == "oidc.token.refuse").count(), 2);
    assert_eq!(acts.iter().filter(|a| *a == "oidc.token.issue").count(), 1);
}

/// A P-256 key made with ring: (PKCS#8 PEM for the peer, public JWK, the key pair).
fn client_key(kid: &str) -> (String, Value, ring::signature::EcdsaKeyPair) {
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = ring::rand::SystemRandom::new();
    let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref();
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": b64(&point[1..33]), "y": b64(&point[33..65])});
    let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    (pem, jwk, pair)
}

#[tokio::test]
async fn forged_id_tokens_and_client_assertions_are_refused() {
    let s = oidc_server().await;
    person(&s, "ada@example.com").await;
    let secret = web_client(&s, "web", json!({})).await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let tokens = tokens_for(&s, &mut b, ("web", &secret)).await;
    let id_token = tokens["id_token"].as_str().unwrap();

    // The peer verifies ours and refuses the same claims signed with another key.
    let forged = peer("forge", json!({"issuer": issuer(&s), "id_token": id_token})).await;
    assert_eq!(forged["original_ok"], true);
    assert_eq!(forged["forged_refused"], true, "{forged}");
    // So do we, when it comes back as a logout hint.
    let hint = url::form_urlencoded::byte_serialize(forged["forged"].as_str().unwrap().as_bytes())
        .collect::<String>();
    let r = b.get(&format!("/oauth2/logout?id_token_hint={hint}")).await;
    assert_eq!(r.status, 400);
    assert_eq!(b.get("/").await.status, 200, "still signed in");

    // private_key_jwt: the registered key works, another key does not, a replay does not.
    let (pem, jwk, pair) = client_key("k1");
    register(
        &s,
        "signed-job",
        json!({"tokenEndpointAuthMethod": "private_key_jwt", "jwks": {"keys": [jwk]},
               "grantTypes": ["client_credentials"], "scopes": ["jobs.run"]}),
    )
    .await;
    sync_clock(&s);
    let now = s.clock.now_ms() / 1000;
    let args = json!({"issuer": issuer(&s), "client_id": "signed-job", "private_key_pem": pem,
                      "kid": "k1", "alg": "ES256", "scope": "jobs.run", "now": now});
    let ok = peer("client-credentials", args.clone()).await;
    assert_eq!(ok["claims"]["sub"], "signed-job", "{ok}");
    let (wrong_pem, _, _) = client_key("k1");
    let mut wrong = args.clone();
    wrong["private_key_pem"] = json!(wrong_pem);
    let refused = peer("client-credentials", wrong).await;
    assert_eq!(refused["error"], "invalid_client", "{refused}");

    let token_url = format!("{}/oauth2/token", issuer(&s));
    let claims = json!({"iss": "signed-job", "sub": "signed-job", "aud": token_url,
                        "exp": now + 60, "iat": now, "jti": "only-once"});
    let assertion =
        trustplane_server::oidc::jwt::encode("ES256", "k1", "JWT", &claims, &pair).unwrap();
    let send = || {
        reqwest::Client::new()
            .post(format!("{}/oauth2/token", s.base))
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
            ])
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 200);
    let again = send().await.unwrap();
    assert_eq!(again.status(), 401);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    // An assertion for another audience.
    let mut elsewhere = claims.clone();
    elsewhere["aud"] = json!("https://other.example/token");
    elsewhere["jti"] = json!("second");
    let assertion =
        trustplane_server::oidc::jwt::encode("ES256", "k1", "JWT", &elsewhere, &pair).unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/oauth2/token", s.base))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn introspection_and_revocation_follow_rfc_7662_and_7009() {
    let s = oidc_server().await;
    person(&s, "ada@example.com").await;
    let secret = web_client(&s, "web", json!({})).await;
    let client = ("web", secret.as_str());
    let other_secret = web_client(&s, "other-app", json!({})).await;
    let rs_id = register(
        &s,
        "resource-server",
        json!({"grantTypes": ["client_credentials"], "introspectAllTokens": true}),
    )
    .await;
    let rs_secret = add_secret(&s, &rs_id).await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let tokens = tokens_for(&s, &mut b, client).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    let mine = introspect(&s, client, access).await;
    assert_eq!(mine["active"], true);
    assert_eq!(mine["client_id"], "web");
    assert_eq!(mine["username"], "ada@example.com");
    assert_eq!(mine["scope"], "openid profile email groups");
    assert_eq!(
        introspect(&s, ("other-app", &other_secret), access).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect(&s, ("resource-server", &rs_secret), access).await["active"],
        true
    );
    let rt = introspect(&s, client, refresh_token).await;
    assert_eq!(rt["active"], true);
    assert_eq!(rt["token_type"], "refresh_token");
    // Unauthenticated callers learn nothing.
    let r = reqwest::Client::new()
        .post(format!("{}/oauth2/introspect", s.base))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (status, body) = post_form(
        &s,
        "/oauth2/introspect",
        ("web", "wrong"),
        &[("token", access)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    // Revoking the access token: inactive, and userinfo refuses it.
    assert_eq!(userinfo_status(&s, access).await, 200);
    let (status, _) = post_form(&s, "/oauth2/revoke", client, &[("token", access)]).await;
    assert_eq!(status, 200);
    assert_eq!(
        introspect(&s, client, access).await,
        json!({"active": false})
    );
    assert_eq!(userinfo_status(&s, access).await, 401);
    // Another client cannot revoke what is not its own; unknown tokens answer 200 too.
    let second = refresh(&s, client, refresh_token).await.1;
    let a2 = second["access_token"].as_str().unwrap();
    let r2 = second["refresh_token"].as_str().unwrap();
    let (status, _) = post_form(
        &s,
        "/oauth2/revoke",
        ("other-app", &other_secret),
        &[("token", r2)],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(introspect(&s, client, r2).await["active"], true);
    let (status, _) = post_form(&s, "/oauth2/revoke", client, &[("token", "no-such-token")]).await;
    assert_eq!(status, 200);
    // Revoking the refresh token ends its grant: its access tokens too.
    let (status, _) = post_form(
        &s,
        "/oauth2/revoke",
        client,
        &[("token", r2), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(introspect(&s, client, r2).await["active"], false);
    assert_eq!(introspect(&s, client, a2).await["active"], false);
    let (status, body) = refresh(&s, client, r2).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let acts = activities(&federation_events(&s).await);
    assert_eq!(acts.iter().filter(|a| *a == "oidc.token.revoke").count(), 2);
}

#[tokio::test]
async fn client_settings_are_checked_and_secrets_are_shown_once() {
    let s = oidc_server().await;
    let (status, body) = api(
        &s,
        Method::POST,
        "/api/v1/applications",
        Some(json!({"displayName": "bad", "appId": "bad", "settings": {"oidc": {"redirectUris": ["http://rp.example.com/cb"]}}})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "settings.oidc.redirectUris[0]");
    assert!(
        s.store.get_application("bad").await.is_err(),
        "nothing stored"
    );

    let id = register(&s, "web", json!({"redirectUris": [WEB]})).await;
    let (status, body) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/applications/{id}"),
        Some(json!({"settings": {"oidc": {"redirectUris": [WEB], "clientType": "public", "requirePkce": false}}})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "settings.oidc.requirePkce");
    let app = s.store.get_application("web").await.unwrap();
    assert_eq!(
        app.settings["oidc"],
        json!({"redirectUris": [WEB]}),
        "unchanged"
    );

    let (status, made) = api(
        &s,
        Method::POST,
        &format!("/api/v1/applications/{id}/addPassword"),
        Some(json!({"passwordCredential": {"displayName": "ci"}})),
    )
    .await;
    assert_eq!(status, 200);
    let secret = made["secretText"].as_str().unwrap();
    assert!(secret.len() >= 43);
    assert_eq!(made["hint"], secret[..3]);
    let (_, shown) = api(&s, Method::GET, &format!("/api/v1/applications/{id}"), None).await;
    assert!(!shown.to_string().contains(secret), "shown once only");
    let all = trustplane_store::AuditQuery {
        top: 1000,
        ..Default::default()
    };
    let trail = serde_json::to_string(&s.store.list_audit(&all).await.unwrap().items).unwrap();
    assert!(!trail.contains(secret));

    // The secret works until removed.
    let (status, _) = post_form(&s, "/oauth2/introspect", ("web", secret), &[("token", "x")]).await;
    assert_eq!(status, 200);
    let (status, _) = api(
        &s,
        Method::POST,
        &format!("/api/v1/applications/{id}/removePassword"),
        Some(json!({"keyId": made["keyId"]})),
    )
    .await;
    assert_eq!(status, 204);
    let r = reqwest::Client::new()
        .post(format!("{}/oauth2/introspect", s.base))
        .basic_auth("web", Some(secret))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    // Every new admin handler is in the OpenAPI document.
    let (_, doc) = api(&s, Method::GET, "/api/v1/openapi.json", None).await;
    for path in [
        "/api/v1/applications/{id}/addPassword",
        "/api/v1/applications/{id}/removePassword",
        "/api/v1/oidc/keys/rotate",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
}

#[tokio::test]
async fn discovery_publishes_the_endpoints_and_the_jwks_keeps_a_rotated_key() {
    let s = oidc_server().await;
    let conf: Value = reqwest::get(format!("{}/.well-known/openid-configuration", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(conf["issuer"], issuer(&s));
    assert_eq!(
        conf["token_endpoint"],
        format!("{}/oauth2/token", issuer(&s))
    );
    assert_eq!(conf["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(conf["response_types_supported"], json!(["code"]));
    for k in [
        "authorization_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "introspection_endpoint",
        "end_session_endpoint",
    ] {
        assert!(conf[k].as_str().unwrap().starts_with(&issuer(&s)), "{k}");
    }
    let jwks = || async {
        reqwest::get(format!("{}/oauth2/jwks", s.base))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let before = jwks().await;
    let keys = before["keys"].as_array().unwrap();
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(algs, vec!["ES256", "RS256"]);
    for k in keys {
        assert_eq!(k["use"], "sig");
        assert!(k["kid"].is_string());
        assert!(k.get("d").is_none(), "no private part");
    }
    let old_kid = keys[0]["kid"].clone();

    person(&s, "ada@example.com").await;
    let secret = web_client(&s, "web", json!({})).await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let (status, rotated) = api(
        &s,
        Method::POST,
        "/api/v1/oidc/keys/rotate",
        Some(json!({"algorithm": "ES256", "overlapSeconds": 3600})),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let after = jwks().await;
    let kids: Vec<&Value> = after["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["kid"])
        .collect();
    assert_eq!(kids.len(), 3);
    assert!(
        kids.contains(&&old_kid),
        "the old key stays published for the overlap"
    );
    let tokens = tokens_for(&s, &mut b, ("web", &secret)).await;
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(
                tokens["id_token"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap(),
            )
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        header["kid"], rotated["keyId"],
        "new tokens use the new key"
    );
    let (status, _) = api(
        &s,
        Method::POST,
        "/api/v1/oidc/keys/rotate",
        Some(json!({"algorithm": "HS256"})),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn prompt_max_age_and_rp_initiated_logout() {
    let s = oidc_server().await;
    person(&s, "ada@example.com").await;
    let secret = web_client(&s, "web", json!({})).await;
    let (_, challenge) = pkce();

    // No session: prompt=none answers login_required; otherwise the sign-in page, then back.
    let mut b = Browser::new(&s);
    let r = b
        .get(&authorize_path(
            "web",
            Some(&challenge),
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(
        query_of(r.location.as_deref().unwrap())["error"],
        "login_required"
    );
    let r = b.get(&authorize_path("web", Some(&challenge), &[])).await;
    let login = r.location.unwrap();
    assert!(
        login.starts_with("/login?next=/oauth2/authorize%3F"),
        "{login}"
    );
    let page = b.get(&login).await;
    let next = field(&page.body, "next");
    let csrf = Browser::csrf(&page);
    let r = b
        .post(
            "/login",
            &[
                ("username", "ada@example.com"),
                ("password", PASSWORD),
                ("csrf", &csrf),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some(next.as_str()));
    let r = b.get(&next).await;
    assert!(query_of(r.location.as_deref().unwrap()).contains_key("code"));
    // Reached from one of our own pages (a form post's redirects, which browsers hold to that
    // page's form-action policy), the hop to the client is a page that continues by itself.
    let req = b
        .http
        .get(format!(
            "{}{}",
            b.base,
            authorize_path("web", Some(&challenge), &[])
        ))
        .header("sec-fetch-site", "same-origin");
    let r = b.send(req).await;
    assert_eq!(r.status, 200);
    assert!(r.location.is_none());
    assert!(
        r.body.contains("url=https://rp.example.com/callback?code="),
        "{}",
        r.body
    );

    // max_age: a session older than that signs in again; so does prompt=login.
    s.clock.advance_ms(120_000);
    let r = b
        .get(&authorize_path(
            "web",
            Some(&challenge),
            &[("max_age", "300")],
        ))
        .await;
    assert!(query_of(r.location.as_deref().unwrap()).contains_key("code"));
    let r = b
        .get(&authorize_path(
            "web",
            Some(&challenge),
            &[("max_age", "60")],
        ))
        .await;
    assert!(
        r.location.as_deref().unwrap().starts_with("/login?next="),
        "{:?}",
        r.location
    );
    let r = b
        .get(&authorize_path(
            "web",
            Some(&challenge),
            &[("prompt", "login")],
        ))
        .await;
    let login = r.location.unwrap();
    assert!(login.starts_with("/login?next="));
    let page = b.get(&login).await;
    let next = field(&page.body, "next");
    assert!(!next.contains("prompt=login"), "{next}");
    let csrf = Browser::csrf(&page);
    b.post(
        "/login",
        &[
            ("username", "ada@example.com"),
            ("password", PASSWORD),
            ("csrf", &csrf),
            ("next", &next),
        ],
    )
    .await;
    let r = b.get(&next).await;
    assert!(
        query_of(r.location.as_deref().unwrap()).contains_key("code"),
        "{:?}",
        r.location
    );

    // Logout: an unregistered destination is refused and changes nothing.
    let tokens = tokens_for(&s, &mut b, ("web", &secret)).await;
    let hint = tokens["id_token"].as_str().unwrap();
    let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let r = b
        .get(&format!(
            "/oauth2/logout?id_token_hint={}&post_logout_redirect_uri={}",
            enc(hint),
            enc("https://evil.example/")
        ))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(b.get("/").await.status, 200);
    // Without a hint for this session, the person is asked first.
    let r = b
        .get(&format!(
            "/oauth2/logout?client_id=web&post_logout_redirect_uri={}",
            enc("https://rp.example.com/bye")
        ))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Sign out?"));
    assert_eq!(b.get("/").await.status, 200);
    // With it: signed out at once, back to the registered URI with the state.
    let r = b
        .get(&format!(
            "/oauth2/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye-1",
            enc(hint),
            enc("https://rp.example.com/bye")
        ))
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location.as_deref(),
        Some("https://rp.example.com/bye?state=bye-1")
    );
    assert_eq!(b.get("/").await.status, 303, "the session has ended");
    let acts = activities(&federation_events(&s).await);
    assert!(acts.iter().any(|a| a == "oidc.logout"));
}

#[tokio::test]
async fn a_policy_on_a_clients_service_identity_blocks_its_client_credentials() {
    let s = oidc_server().await;
    let job = register(
        &s,
        "batch-job",
        json!({"grantTypes": ["client_credentials"]}),
    )
    .await;
    let job_secret = add_secret(&s, &job).await;
    let other = register(
        &s,
        "other-job",
        json!({"grantTypes": ["client_credentials"]}),
    )
    .await;
    let other_secret = add_secret(&s, &other).await;
    let cc = |id: &'static str, secret: String| {
        let s = &s;
        async move {
            post_form(
                s,
                "/oauth2/token",
                (id, &secret),
                &[("grant_type", "client_credentials")],
            )
            .await
        }
    };
    assert_eq!(cc("batch-job", job_secret.clone()).await.0, 200);
    add_policy(
        &s,
        json!({
            "displayName": "Block the batch job",
            "state": "enabled",
            "conditions": {
                "users": {"includeUsers": ["None"]},
                "clientApplications": {"includeServicePrincipals": [job]},
                "applications": {"includeApplications": ["All"]}
            },
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}
        }),
    )
    .await;
    let (status, body) = cc("batch-job", job_secret).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("Block the batch job"));
    assert!(body.get("access_token").is_none());
    let events = federation_events(&s).await;
    let last = events.last().unwrap();
    assert_eq!(last["activity"], "oidc.token.refuse");
    assert_eq!(last["initiatedBy"]["id"], job.as_str());
    assert_eq!(last["after"]["conditionalAccess"]["outcome"], "block");
    // The policy names one service identity; others, and user sign-ins, are not affected.
    assert_eq!(cc("other-job", other_secret).await.0, 200);
}

/// How a test ends sign-ins of a person (item 5 of the hardening issue).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ending {
    /// `POST /api/v1/users/{id}/revokeSignInSessions`.
    RevokeSignInSessions,
    /// An administrator's `PATCH /api/v1/users/{id}` with a `passwordProfile`.
    AdminPasswordReset,
    /// The person at `/account/password`: that session lives on, nothing else does.
    OwnPasswordChange,
    /// `PATCH /api/v1/users/{id}` with `accountEnabled: false`.
    Disable,
    /// A detection response to an alert about the person (`endSessions`).
    CompromiseResponse,
    /// The person signs out of the browser the tokens came from.
    SignOut,
}

/// Tokens kept by a relying party, as Authlib uses them once the sign-in behind them ended.
async fn old_tokens(s: &Server, client: (&str, &str), tokens: &Value) -> Value {
    sync_clock(s);
    peer(
        "old-tokens",
        json!({
            "issuer": issuer(s), "client_id": client.0, "client_secret": client.1,
            "access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"],
        }),
    )
    .await
}

#[tokio::test]
async fn ending_sign_ins_ends_refresh_tokens_access_tokens_pending_codes_and_web_sessions() {
    let s = oidc_server().await;
    let secret = web_client(&s, "web", json!({})).await;
    let client = ("web", secret.as_str());
    for (i, how) in [
        Ending::RevokeSignInSessions,
        Ending::AdminPasswordReset,
        Ending::OwnPasswordChange,
        Ending::Disable,
        Ending::CompromiseResponse,
        Ending::SignOut,
    ]
    .into_iter()
    .enumerate()
    {
        let upn = format!("person{i}@example.com");
        let (id, _) = person(&s, &upn).await;
        // The per-address sign-in budget refills at one attempt every two seconds.
        s.clock.advance_ms(4_200);
        let mut b = Browser::new(&s);
        b.sign_in(&upn).await;
        let mut other = Browser::new(&s);
        other.sign_in(&upn).await;
        // The relying party has refreshed once; it holds a refresh token it never presented.
        let first = tokens_for(&s, &mut b, client).await;
        let (status, tokens) = refresh(&s, client, first["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(
            userinfo_status(&s, tokens["access_token"].as_str().unwrap()).await,
            200
        );
        // A code issued before the end and redeemed after it.
        let (verifier, challenge) = pkce();
        let pending = code_for(&mut b, "web", &challenge).await;

        match how {
            Ending::RevokeSignInSessions => {
                let (status, body) = api(
                    &s,
                    Method::POST,
                    &format!("/api/v1/users/{id}/revokeSignInSessions"),
                    None,
                )
                .await;
                assert_eq!(status, 200, "{body}");
            }
            Ending::AdminPasswordReset => {
                let (status, body) = api(
                    &s,
                    Method::PATCH,
                    &format!("/api/v1/users/{id}"),
                    Some(json!({"passwordProfile": {"password": "a brand new passphrase 77"}})),
                )
                .await;
                assert_eq!(status, 200, "{body}");
            }
            Ending::OwnPasswordChange => {
                let form = b.get("/account/password").await;
                let csrf = Browser::csrf(&form);
                let r = b
                    .post(
                        "/account/password",
                        &[
                            ("csrf", &csrf),
                            ("current", PASSWORD),
                            ("new", "a brand new passphrase 77"),
                            ("confirm", "a brand new passphrase 77"),
                        ],
                    )
                    .await;
                assert_eq!(r.status, 303, "{}", r.body);
            }
            Ending::Disable => {
                let (status, body) = api(
                    &s,
                    Method::PATCH,
                    &format!("/api/v1/users/{id}"),
                    Some(json!({"accountEnabled": false})),
                )
                .await;
                assert_eq!(status, 200, "{body}");
            }
            Ending::CompromiseResponse => {
                let alert = alert_about(&s, &id).await;
                let (status, body) = api(
                    &s,
                    Method::POST,
                    &format!("/api/v1/alerts/{alert}/respond"),
                    Some(json!({"action": "endSessions"})),
                )
                .await;
                assert_eq!(status, 200, "{body}");
            }
            Ending::SignOut => {
                let home = b.get("/").await;
                let csrf = Browser::csrf(&home);
                let r = b.post("/logout", &[("csrf", &csrf)]).await;
                assert_eq!(r.status, 303, "{}", r.body);
            }
        }

        // The relying party's tokens are dead: userinfo answers 401, the refresh invalid_grant.
        let after = old_tokens(&s, client, &tokens).await;
        assert_eq!(after["userinfo_status"], 401, "{how:?}: {after}");
        assert!(
            after["userinfo_challenge"]
                .as_str()
                .is_some_and(|c| c.contains("invalid_token")),
            "{how:?}: {after}"
        );
        assert_eq!(
            after["refresh"]["error"], "invalid_grant",
            "{how:?}: {after}"
        );
        assert_eq!(
            introspect(&s, client, tokens["access_token"].as_str().unwrap()).await["active"],
            false,
            "{how:?}"
        );
        assert_eq!(
            introspect(&s, client, tokens["refresh_token"].as_str().unwrap()).await["active"],
            false,
            "{how:?}"
        );
        let (status, body) = exchange(&s, client, &pending, &verifier).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{how:?}: a code issued before the end: {body}"
        );

        // And the web sessions.
        let (this_one, the_other) = match how {
            Ending::OwnPasswordChange => (200, 303),
            Ending::SignOut => (303, 200),
            _ => (303, 303),
        };
        assert_eq!(b.get("/").await.status, this_one, "{how:?}: this browser");
        assert_eq!(
            other.get("/").await.status,
            the_other,
            "{how:?}: the other browser"
        );
    }
}

/// An open alert about a person, as a detection rule would raise it.
async fn alert_about(s: &Server, person: &str) -> String {
    let (alert, _) = s
        .store
        .record_hit(
            trustplane_store::NewHit {
                rule_id: Some("test-credential-theft".into()),
                rule_title: "Credential theft".into(),
                rule_author: None,
                level: "high".into(),
                person_id: Some(person.into()),
                person_upn: None,
                record: json!({}),
                event_time: None,
                addresses: Vec::new(),
            },
            3_600_000,
        )
        .await
        .unwrap();
    alert.id
}

#[tokio::test]
async fn a_code_presented_by_another_client_is_refused_and_left_for_its_own_client() {
    let s = oidc_server().await;
    person(&s, "ada@example.com").await;
    let secret = web_client(&s, "web", json!({})).await;
    let thief_secret = web_client(&s, "thief", json!({})).await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let (verifier, challenge) = pkce();
    let code = code_for(&mut b, "web", &challenge).await;

    // Everything right but the client: refused, and twice, so no replay is seen either.
    for _ in 0..2 {
        let (status, body) = exchange(&s, ("thief", &thief_secret), &code, &verifier).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
        assert!(body.get("access_token").is_none());
    }
    let (status, body) = exchange(&s, ("web", &secret), &code, &verifier).await;
    assert_eq!(
        status, 200,
        "the code still works for its own client: {body}"
    );
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&s, access).await, 200);
    let acts = activities(&federation_events(&s).await);
    assert!(!acts.iter().any(|a| a == "oidc.code.replay"), "{acts:?}");
}

#[tokio::test]
async fn a_client_cannot_skip_prompt_login_or_max_age_with_its_own_tp_after() {
    let s = oidc_server().await;
    person(&s, "ada@example.com").await;
    web_client(&s, "web", json!({})).await;
    let (_, challenge) = pkce();
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    s.clock.advance_ms(120_000);
    let to_login = |r: &Page| {
        r.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/login?next="))
    };

    // A marker the client wrote: plain times, or something that looks sealed.
    let session_start = (s.clock.now_ms() - 120_000).to_string();
    for forced in [&[("prompt", "login")][..], &[("max_age", "0")][..]] {
        for marker in ["0", session_start.as_str(), "v1.AAAA", ""] {
            let mut extra = forced.to_vec();
            extra.push(("tp_after", marker));
            let r = b
                .get(&authorize_path("web", Some(&challenge), &extra))
                .await;
            assert!(to_login(&r), "{extra:?}: {:?}", r.location);
        }
    }

    // A marker this server sealed for one request does not carry over to another one.
    let strict = [("prompt", "login"), ("max_age", "0")];
    let r = b
        .get(&authorize_path("web", Some(&challenge), &strict))
        .await;
    let next = query_of(&format!("https://x{}", r.location.unwrap()))["next"].clone();
    let sealed = query_of(&format!("https://x{next}"))["tp_after"].clone();
    assert!(sealed.starts_with("v1."), "{sealed}");
    s.clock.advance_ms(2_100);
    b.sign_in("ada@example.com").await;
    s.clock.advance_ms(1_000);
    for extra in [
        &[("prompt", "login"), ("max_age", "0"), ("state", "another")][..],
        &[("max_age", "0"), ("state", "another")][..],
        &[("max_age", "0"), ("nonce", "another")][..],
    ] {
        let mut extra = extra.to_vec();
        extra.push(("tp_after", &sealed));
        let r = b
            .get(&authorize_path("web", Some(&challenge), &extra))
            .await;
        assert!(to_login(&r), "moved marker {extra:?}: {:?}", r.location);
    }
    // On the request it was sealed for, after the sign-in it asked for, it lets the code
    // through although max_age=0 and a second has passed.
    let r = b.get(&next).await;
    assert!(
        query_of(r.location.as_deref().unwrap()).contains_key("code"),
        "{:?}",
        r.location
    );
    // Past its hour, it no longer does.
    s.clock.advance_ms(3_600_000);
    b.sign_in("ada@example.com").await;
    s.clock.advance_ms(1_000);
    assert!(to_login(&b.get(&next).await), "an expired marker");
}
