//! The token endpoint's engine without HTTP: client credentials issued, refused, revoked and
//! introspected through `trustplane_idp::oidc`, on SQLite in a temporary folder, with every
//! answer in the audit trail.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use base64::Engine;
use serde_json::{json, Map};
use trustplane_authn::{Relying, SessionPolicy};
use trustplane_idp::ca::ConditionalAccess;
use trustplane_idp::oidc::client_auth::ClientRequest;
use trustplane_idp::oidc::tokens::{check_access_token, Inactive};
use trustplane_idp::oidc::{resource, token, Oidc};
use trustplane_idp::signin::SignIn;
use trustplane_idp::{RequestContext, SignInLimits};
use trustplane_keyring::Sealer;
use trustplane_model::{Actor, ManualClock};
use trustplane_store::{AuditQuery, NewApplication, NewClientSecret, Store};

const T0: i64 = 1_790_000_000_000;
const ISSUER: &str = "https://id.example.com";
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

struct Provider {
    _dir: tempfile::TempDir,
    url: String,
    clock: ManualClock,
    store: Store,
    oidc: Oidc,
    signin: Arc<SignIn>,
    secret: String,
}

async fn provider() -> Provider {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = Store::open(&url, Arc::new(clock.clone())).await.unwrap();
    let sealer = Sealer::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let ca = Arc::new(ConditionalAccess::new(store.clone(), None).unwrap());
    let relying = Relying::new("id.example.com", ISSUER, "Trustplane").unwrap();
    let signin = SignIn::new(
        store.clone(),
        sealer.clone(),
        relying,
        "Trustplane".into(),
        SessionPolicy::default(),
        ca,
        SignInLimits::default(),
    );
    let mut settings = Map::new();
    settings.insert(
        "oidc".into(),
        json!({"grantTypes": ["client_credentials"], "scopes": ["reports.read"]}),
    );
    let app = store
        .create_application(
            &Actor::system(),
            NewApplication {
                display_name: "Reporting job".into(),
                description: None,
                app_id: Some("reporter".into()),
                settings,
            },
        )
        .await
        .unwrap();
    let (secret, secret_hash) = trustplane_authn::new_session_token();
    store
        .add_client_secret(
            &Actor::system(),
            NewClientSecret {
                key_id: "k1".into(),
                application_id: app.id.clone(),
                secret_hash,
                hint: secret.chars().take(3).collect(),
                display_name: None,
                start_at: T0,
                end_at: None,
            },
        )
        .await
        .unwrap();
    Provider {
        oidc: Oidc::new(store.clone(), sealer, ISSUER),
        _dir: dir,
        url,
        clock,
        store,
        signin,
        secret,
    }
}

fn basic(id: &str, secret: &str) -> String {
    let raw = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn ctx() -> RequestContext {
    RequestContext {
        ip: Some("192.0.2.7".parse().unwrap()),
        user_agent: Some("job/1.0".into()),
        device_platform: "linux",
    }
}

async fn activities(store: &Store) -> Vec<String> {
    let page = store
        .list_audit(&AuditQuery {
            category: Some("federation".into()),
            top: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    page.items.into_iter().map(|e| e.activity).collect()
}

#[tokio::test]
async fn client_credentials_issue_a_token_that_revocation_ends() {
    let p = provider().await;
    let auth = basic("reporter", &p.secret);
    let body = b"grant_type=client_credentials&scope=reports.read";
    let answer = token::exchange(
        &p.oidc,
        &p.signin,
        &ctx(),
        ClientRequest {
            authorization: Some(&auth),
            content_type: FORM,
            body,
        },
    )
    .await
    .unwrap();
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["scope"], "reports.read");
    assert!(answer.get("refresh_token").is_none());
    let access = answer["access_token"].as_str().unwrap().to_string();
    let claims = check_access_token(&p.oidc, &access).await.unwrap().unwrap();
    assert_eq!(claims["client_id"], "reporter");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(activities(&p.store).await, ["oidc.token.issue"]);

    let introspected = resource::introspect(
        &p.oidc,
        ClientRequest {
            authorization: Some(&auth),
            content_type: FORM,
            body: format!("token={access}").as_bytes(),
        },
    )
    .await
    .unwrap();
    assert_eq!(introspected["active"], true);

    resource::revoke(
        &p.oidc,
        &ctx(),
        ClientRequest {
            authorization: Some(&auth),
            content_type: FORM,
            body: format!("token={access}").as_bytes(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        check_access_token(&p.oidc, &access).await.unwrap(),
        Err(Inactive::Revoked)
    );
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_a_basic_challenge_and_recorded() {
    let p = provider().await;
    let auth = basic("reporter", "not-the-secret");
    let err = token::exchange(
        &p.oidc,
        &p.signin,
        &ctx(),
        ClientRequest {
            authorization: Some(&auth),
            content_type: FORM,
            body: b"grant_type=client_credentials",
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, "invalid_client");
    assert_eq!(err.status(), 401);
    assert_eq!(err.challenge(), Some("Basic realm=\"trustplane\""));
    assert_eq!(activities(&p.store).await, ["oidc.token.refuse"]);
}

#[tokio::test]
async fn a_body_that_is_not_a_form_or_repeats_a_parameter_is_refused() {
    let p = provider().await;
    let auth = basic("reporter", &p.secret);
    for (content_type, body) in [
        (Some("application/json"), &b"{}"[..]),
        (FORM, &b"grant_type=client_credentials&scope=a&scope=b"[..]),
        (FORM, &b"grant_type=implicit"[..]),
    ] {
        let err = token::exchange(
            &p.oidc,
            &p.signin,
            &ctx(),
            ClientRequest {
                authorization: Some(&auth),
                content_type,
                body,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.status(), 400, "{err}");
    }
    // A scope the client was not given is refused too.
    let err = token::exchange(
        &p.oidc,
        &p.signin,
        &ctx(),
        ClientRequest {
            authorization: Some(&auth),
            content_type: FORM,
            body: b"grant_type=client_credentials&scope=admin",
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, "invalid_scope");
}

async fn client_credentials(p: &Provider, secret: &str) -> Result<serde_json::Value, String> {
    let auth = basic("reporter", secret);
    token::exchange(
        &p.oidc,
        &p.signin,
        &ctx(),
        ClientRequest {
            authorization: Some(&auth),
            content_type: FORM,
            body: b"grant_type=client_credentials",
        },
    )
    .await
    .map_err(|e| e.code.to_string())
}

#[tokio::test]
async fn a_removed_secret_stops_working_at_once_and_another_process_is_seen_within_a_second() {
    let p = provider().await;
    let app = p.store.find_application("reporter").await.unwrap();
    // Read once, so the client and its secrets are cached.
    client_credentials(&p, &p.secret).await.unwrap();

    // A change made through this node's store is seen by the next request.
    p.store
        .remove_client_secret(&Actor::system(), &app.id, "k1")
        .await
        .unwrap();
    assert_eq!(
        client_credentials(&p, &p.secret).await.unwrap_err(),
        "invalid_client"
    );

    // Another process on the same SQLite file is not heard; the cache's age bounds it.
    let other = Store::open(&p.url, Arc::new(p.clock.clone()))
        .await
        .unwrap();
    let (fresh, fresh_hash) = trustplane_authn::new_session_token();
    other
        .add_client_secret(
            &Actor::system(),
            NewClientSecret {
                key_id: "k2".into(),
                application_id: app.id.clone(),
                secret_hash: fresh_hash,
                hint: fresh.chars().take(3).collect(),
                display_name: None,
                start_at: T0,
                end_at: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        client_credentials(&p, &fresh).await.unwrap_err(),
        "invalid_client"
    );
    p.clock.advance_ms(trustplane_idp::ca::CACHE_FRESH_MS);
    client_credentials(&p, &fresh).await.unwrap();
}
