//! Outbound provisioning over IAM Identity Center's SCIM transport, against the `scim2-server`
//! package (PyPI) as the peer, behind a fault layer (`scim_peer.py`): users, groups and
//! memberships of the chosen groups go out; throttling (429) is retried; an object the peer
//! refuses is listed with its reason while the others are done, and the next run completes
//! it without duplicates (also when a run was cut between the peer's answer and the record);
//! a disable past the threshold waits for confirmation, then deactivates; drift is found
//! and repaired; a wrong token stops the run and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use trustplane_keyring::Sealer;
use trustplane_model::{Actor, ManualClock};
use trustplane_provisioning::connections::{self, CreateConnection};
use trustplane_provisioning::outbound::{Mode, Outbound, Retry, AWS_IDC_USER_ATTRIBUTE};
use trustplane_store::{NewGroup, NewUser, Store, UserPatch};

#[path = "support/scim_peer.rs"]
mod scim_peer;
use scim_peer::{peer, Peer, TOKEN};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

struct Dir {
    store: Store,
    outbound: Outbound,
    _tmp: tempfile::TempDir,
}

async fn directory() -> Dir {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", tmp.path().display());
    let store = Store::open(&url, Arc::new(ManualClock::new(1_790_000_000_000)))
        .await
        .unwrap();
    let outbound = Outbound::new(store.clone(), Sealer::from_base64(KEY).unwrap(), None)
        .with_retry(Retry {
            attempts: 6,
            first: Duration::from_millis(5),
            max: Duration::from_millis(20),
        });
    Dir {
        store,
        outbound,
        _tmp: tmp,
    }
}

async fn user(store: &Store, upn: &str, groups: &[&str]) -> String {
    let (given, family) = upn.split_once('@').unwrap();
    let u = store
        .create_user(
            &Actor::system(),
            NewUser {
                user_principal_name: upn.into(),
                display_name: format!("{given} {family}"),
                given_name: Some(given.into()),
                surname: Some("Example".into()),
                mail: Some(upn.into()),
                account_enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for g in groups {
        let g = store.get_group(g).await.unwrap();
        store
            .add_member(&Actor::system(), &g.id, &u.id)
            .await
            .unwrap();
    }
    u.id
}

async fn group(store: &Store, name: &str) -> String {
    store
        .create_group(
            &Actor::system(),
            NewGroup {
                display_name: name.into(),
                description: None,
                is_assignable_to_role: false,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
}

async fn connect(d: &Dir, p: &Peer, name: &str, token: &str, scope: Value) -> String {
    let body: CreateConnection = serde_json::from_value(json!({
        "type": "awsScim", "displayName": name, "url": format!("{}/v2", p.base),
        "token": token, "scopeGroups": scope}))
    .unwrap();
    let made = connections::create(
        &d.store,
        &d.outbound,
        &Actor::system(),
        body,
        "http://localhost",
    )
    .await
    .unwrap();
    assert!(
        !made.to_string().contains(token),
        "the token is never returned: {made}"
    );
    assert_eq!(made["settings"]["hasToken"], true);
    made["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chosen_groups_go_out_over_scim_and_stay_in_step() {
    let p = peer();
    let d = directory().await;
    group(&d.store, "Engineering").await;
    group(&d.store, "Operations").await;
    group(&d.store, "Finance").await;
    let ada = user(&d.store, "ada@example.com", &["Engineering"]).await;
    user(&d.store, "bob@example.com", &["Engineering"]).await;
    let cy = user(&d.store, "cy@example.com", &["Operations"]).await;
    user(&d.store, "dee@example.com", &["Finance"]).await;
    let id = connect(
        &d,
        &p,
        "AWS SCIM",
        TOKEN,
        json!(["engineering", "Operations"]),
    )
    .await;

    // Throttled at first, and one user refused: the others are done, the refusal listed with
    // the peer's reason.
    p.faults(json!({"throttle": 3, "reject": "bob@example.com"}))
        .await;
    let report = d.outbound.run(&id, Mode::Changes).await.unwrap();
    assert_eq!(report["status"], "failed", "{report}");
    assert_eq!(report["failed"], 1, "{report}");
    let failure = &report["failures"][0];
    assert_eq!(failure["name"], "bob@example.com", "{report}");
    assert!(
        failure["reason"].as_str().unwrap().contains("refuses"),
        "{report}"
    );
    assert_eq!(p.users().await.len(), 2);
    let status = connections::status(&d.store, &id).await.unwrap();
    assert_eq!(status["lastStatus"], "failed");
    assert_eq!(status["failures"], 1);
    assert_eq!(status["lastRun"]["failures"][0]["name"], "bob@example.com");

    // The next run completes it, without duplicates.
    p.faults(json!({})).await;
    let report = d.outbound.run(&id, Mode::Changes).await.unwrap();
    assert_eq!(report["status"], "succeeded", "{report}");
    let names: Vec<String> = p
        .users()
        .await
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        !names.contains(&"dee@example.com".to_string()),
        "out of scope"
    );
    assert_eq!(
        p.member_names("Engineering").await,
        ["ada@example.com", "bob@example.com"]
    );
    assert_eq!(p.member_names("Operations").await, ["cy@example.com"]);
    let in_peer = p.user("ada@example.com").await;
    assert_eq!(in_peer["externalId"], ada.as_str());
    assert_eq!(in_peer["emails"].as_array().unwrap().len(), 1);
    assert_eq!(in_peer["name"]["familyName"], "Example");
    // The target's id is recorded on the directory user.
    let stored = d.store.get_user(&ada).await.unwrap();
    assert_eq!(stored.attributes[AWS_IDC_USER_ATTRIBUTE], in_peer["id"]);

    // Nothing changed: nothing is sent.
    let report = d.outbound.run(&id, Mode::Changes).await.unwrap();
    assert_eq!(report["planned"], 0, "{report}");

    // A run cut after the peer created a user but before the record: the user is matched by
    // externalId, not created twice.
    d.store.forget_pushed(&id, "user", &ada).await.unwrap();
    d.outbound.run(&id, Mode::Changes).await.unwrap();
    p.user("ada@example.com").await;
    assert_eq!(p.users().await.len(), 3);

    // Disabling one of three is more than 10 %: held, nothing sent, until confirmed.
    d.store
        .update_user(
            &Actor::system(),
            &cy,
            UserPatch {
                account_enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let report = d.outbound.run(&id, Mode::Changes).await.unwrap();
    assert_eq!(report["status"], "held", "{report}");
    assert_eq!(p.user("cy@example.com").await["active"], true);
    let status = connections::status(&d.store, &id).await.unwrap();
    assert_eq!(status["held"]["deactivateOrDelete"], 1, "{status}");
    let report = connections::confirm(&d.store, &d.outbound, &Actor::system(), &id)
        .await
        .unwrap();
    assert_eq!(report["status"], "succeeded", "{report}");
    assert_eq!(p.user("cy@example.com").await["active"], false);
    assert!(p.member_names("Operations").await.is_empty());
    assert!(connections::status(&d.store, &id).await.unwrap()["held"].is_null());
    // Nothing held any more: a confirmation is refused.
    let again = connections::confirm(&d.store, &d.outbound, &Actor::system(), &id).await;
    assert!(
        matches!(again, Err(trustplane_store::StoreError::Conflict(_))),
        "{again:?}"
    );

    // Drift: someone deleted bob at the target and renamed ada; a reconciliation finds both
    // and repairs them.
    let bob = p.user("bob@example.com").await;
    let r = p
        .http
        .delete(format!(
            "{}/v2/Users/{}",
            p.base,
            bob["id"].as_str().unwrap()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let mut ada_changed = p.user("ada@example.com").await;
    ada_changed["displayName"] = json!("Someone Else");
    let r = p
        .http
        .put(format!(
            "{}/v2/Users/{}",
            p.base,
            ada_changed["id"].as_str().unwrap()
        ))
        .bearer_auth(TOKEN)
        .json(&ada_changed)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let report = d.outbound.run(&id, Mode::Reconcile).await.unwrap();
    assert!(report["drift"].as_i64().unwrap() >= 2, "{report}");
    assert_eq!(report["status"], "succeeded", "{report}");
    assert_eq!(
        p.user("ada@example.com").await["displayName"],
        "ada example.com"
    );
    p.user("bob@example.com").await;
    assert_eq!(
        p.member_names("Engineering").await,
        ["ada@example.com", "bob@example.com"]
    );
    assert_eq!(
        connections::status(&d.store, &id).await.unwrap()["drift"]
            .as_i64()
            .unwrap(),
        report["drift"].as_i64().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_stops_the_run_and_bad_settings_are_refused_by_name() {
    let p = peer();
    let d = directory().await;
    user(&d.store, "ada@example.com", &[]).await;
    let id = connect(&d, &p, "Wrong token", "not-the-token", json!([])).await;
    let report = d.outbound.run(&id, Mode::Changes).await.unwrap();
    assert_eq!(report["status"], "failed", "{report}");
    assert!(
        report["stopped"].as_str().unwrap().contains("401"),
        "{report}"
    );
    assert!(p.users().await.is_empty());

    for (body, field) in [
        (
            json!({"type": "awsScim", "displayName": "a", "url": "http://scim.example.com/v2", "token": "t"}),
            "url",
        ),
        (
            json!({"type": "awsScim", "displayName": "b", "url": "https://scim.example.com/v2"}),
            "token",
        ),
        (
            json!({"type": "awsScim", "displayName": "c", "url": "https://scim.example.com/v2", "token": "a b"}),
            "token",
        ),
        (
            json!({"type": "awsIdentityStore", "displayName": "d", "identityStoreId": "d-12", "region": "eu-west-1"}),
            "identityStoreId",
        ),
        (
            json!({"type": "awsIdentityStore", "displayName": "e", "identityStoreId": "d-1234567890", "region": "moon"}),
            "region",
        ),
        (
            json!({"type": "awsIdentityStore", "displayName": "f", "identityStoreId": "d-1234567890", "region": "eu-west-1", "endpoint": "http://example.com"}),
            "endpoint",
        ),
        (
            json!({"type": "awsIdentityStore", "displayName": "g", "identityStoreId": "d-1234567890", "region": "eu-west-1", "scopeGroups": ["nobody"]}),
            "scopeGroups",
        ),
        (
            json!({"type": "awsIdentityStore", "displayName": "h", "identityStoreId": "d-1234567890", "region": "eu-west-1", "deleteThresholdPercent": 0}),
            "deleteThresholdPercent",
        ),
        (
            json!({"type": "awsIdentityStore", "displayName": "i", "identityStoreId": "d-1234567890", "region": "eu-west-1", "token": "x"}),
            "settings",
        ),
    ] {
        let parsed: CreateConnection = serde_json::from_value(body.clone()).unwrap();
        let err = connections::create(
            &d.store,
            &d.outbound,
            &Actor::system(),
            parsed,
            "http://localhost",
        )
        .await
        .unwrap_err();
        match err {
            trustplane_store::StoreError::Invalid { field: f, .. } => {
                assert_eq!(f, field, "{body}")
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    assert_eq!(
        d.store.list_provisioning_connections().await.unwrap().len(),
        1
    );
}
