//! The OIDC client registry without HTTP: a store on SQLite in a temporary folder and a clock
//! the test moves. Which ids name a client, and which secrets authenticate one.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{json, Map};
use trustplane_idp::oidc::clients::{self, AuthMethod};
use trustplane_model::{Actor, ManualClock};
use trustplane_store::{NewApplication, NewClientSecret, Store};

const T0: i64 = 1_790_000_000_000;

async fn store(dir: &tempfile::TempDir, clock: &ManualClock) -> Store {
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    Store::open(&url, Arc::new(clock.clone())).await.unwrap()
}

#[tokio::test]
async fn only_a_current_secret_of_the_client_authenticates_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let store = store(&dir, &clock).await;
    let mut settings = Map::new();
    settings.insert(
        "oidc".into(),
        json!({"redirectUris": ["https://app.example.com/cb"]}),
    );
    let app = store
        .create_application(
            &Actor::system(),
            NewApplication {
                display_name: "Wiki".into(),
                description: None,
                app_id: Some("wiki".into()),
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
                end_at: Some(T0 + 3_600_000),
            },
        )
        .await
        .unwrap();

    // The appId names the client; the object id and unknown ids do not.
    let client = clients::find(&store, "wiki").await.unwrap().unwrap();
    assert!(client.auth_method.uses_secret());
    assert_ne!(client.auth_method, AuthMethod::None);
    assert!(clients::find(&store, &app.id).await.unwrap().is_none());
    assert!(clients::find(&store, "nobody").await.unwrap().is_none());
    assert!(clients::find(&store, "").await.unwrap().is_none());

    let secrets = store.client_secrets(&client.app.id).await.unwrap();
    assert!(clients::matches_one_of(&secrets, T0, &secret));
    let wrong = format!("{secret}x");
    assert!(!clients::matches_one_of(&secrets, T0, &wrong));
    assert!(!clients::matches_one_of(&secrets, T0, ""));

    // An expired secret no longer works.
    clock.advance_ms(3_600_000);
    assert!(!clients::matches_one_of(
        &secrets,
        store.clock().now_ms(),
        &secret
    ));
}
