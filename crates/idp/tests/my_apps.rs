//! My Apps without HTTP: every SAML application is a tile, and the AWS console one tile per
//! AWS role the person holds now in the accounts the application covers.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{json, Map, Value};
use trustplane_idp::saml_app::my_apps::my_apps;
use trustplane_model::{
    Actor, AssignmentKind, ManualClock, RoleDefinition, RolePermission, RoleResource, User,
};
use trustplane_store::{NewApplication, NewAssignment, NewUser, Store};

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = Store::open(&url, Arc::new(ManualClock::new(1_790_000_000_000)))
        .await
        .unwrap();
    (dir, store)
}

async fn user(store: &Store, name: &str) -> User {
    let new = NewUser {
        user_principal_name: format!("{name}@example.com"),
        display_name: name.into(),
        mail: None,
        given_name: None,
        surname: None,
        account_enabled: true,
        attributes: Map::new(),
        password_hash: None,
        password_must_change: false,
    };
    store.create_user(&Actor::system(), new).await.unwrap()
}

async fn app(store: &Store, name: &str, saml: Value) {
    let mut settings = Map::new();
    settings.insert("saml".into(), saml);
    let new = NewApplication {
        display_name: name.into(),
        description: None,
        app_id: Some(format!("urn:{name}")),
        settings,
    };
    store
        .create_application(&Actor::system(), new)
        .await
        .unwrap();
}

async fn aws_role(store: &Store, account: &str, name: &str) -> RoleDefinition {
    let role = RoleDefinition {
        id: String::new(),
        display_name: name.into(),
        description: String::new(),
        is_built_in: false,
        is_enabled: true,
        template_id: String::new(),
        role_permissions: vec![RolePermission {
            allowed_resource_actions: vec![],
        }],
        resource: Some(RoleResource::AwsSamlRole {
            account_id: account.into(),
            role_arn: format!("arn:aws:iam::{account}:role/{name}"),
            saml_provider_arn: format!("arn:aws:iam::{account}:saml-provider/Trustplane"),
            max_session_duration: 3600,
        }),
    };
    store
        .create_role_definition(&Actor::system(), role)
        .await
        .unwrap()
}

async fn assign(store: &Store, user: &User, role: &RoleDefinition) {
    let new = NewAssignment {
        principal_id: user.id.clone(),
        role_definition_id: role.id.clone(),
        directory_scope_id: "/".into(),
        assignment_type: AssignmentKind::Active,
        start: None,
        end: None,
    };
    store
        .create_role_assignment(&Actor::system(), new)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_aws_console_has_one_tile_per_role_held_in_its_accounts() {
    let (_dir, store) = store().await;
    app(&store, "Wiki", json!({"assertionConsumerServices": [{"url": "https://wiki.example.com/acs", "isDefault": true}]})).await;
    app(
        &store,
        "AWS prod",
        json!({"template": "awsConsole", "awsAccounts": ["111111111111"]}),
    )
    .await;
    let admin = aws_role(&store, "111111111111", "Admin").await;
    let reader = aws_role(&store, "111111111111", "Reader").await;
    let elsewhere = aws_role(&store, "222222222222", "Admin-dev").await;
    let ada = user(&store, "ada").await;
    for r in [&admin, &reader, &elsewhere] {
        assign(&store, &ada, r).await;
    }
    let bob = user(&store, "bob").await;

    let tiles = my_apps(&store, &ada).await.unwrap();
    let shown: Vec<(&str, Option<&str>)> = tiles
        .iter()
        .map(|t| (t.name.as_str(), t.detail.as_deref()))
        .collect();
    assert_eq!(
        shown,
        [
            ("AWS prod", Some("Admin (111111111111)")),
            ("AWS prod", Some("Reader (111111111111)")),
            ("Wiki", None),
        ],
        "the role in an account the application does not cover has no tile"
    );
    assert!(tiles[0]
        .url
        .ends_with("?role=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole/Admin"));
    assert!(tiles[2].url.starts_with("/saml/start/"));

    // Without an AWS role, only the application everyone may open.
    let tiles = my_apps(&store, &bob).await.unwrap();
    assert_eq!(tiles.len(), 1);
    assert_eq!(tiles[0].name, "Wiki");
}

#[tokio::test]
async fn a_linked_application_is_a_tile_that_opens_its_own_url() {
    let (_dir, store) = store().await;
    let mut settings = Map::new();
    settings.insert("linked".into(), json!({"url": "https://www.dropbox.com/"}));
    let new = NewApplication {
        display_name: "Dropbox".into(),
        description: None,
        app_id: None,
        settings,
    };
    store
        .create_application(&Actor::system(), new)
        .await
        .unwrap();
    let ada = user(&store, "ada").await;
    let tiles = my_apps(&store, &ada).await.unwrap();
    assert_eq!(tiles.len(), 1);
    assert_eq!(tiles[0].url, "https://www.dropbox.com/");
    // What an administrator may store as one is checked.
    for bad in [
        json!({"url": "javascript:alert(1)"}),
        json!({"url": "http://intranet/"}),
        json!({"url": "https://"}),
        json!({}),
    ] {
        let mut settings = Map::new();
        settings.insert("linked".into(), bad.clone());
        assert!(
            trustplane_idp::app_settings::for_new_application(None, settings).is_err(),
            "{bad}"
        );
    }
}
