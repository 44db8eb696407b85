//! Runs against a real slapd into a real store (SQLite): what arrives, what is attributed to
//! the connection, and what a failed or refused run leaves (nothing).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod peers;

use std::sync::Arc;

use ldap3::Mod;
use peers::*;
use serde_json::json;
use trustplane_directory_sync::{
    DirectorySync, NewConnection, ServiceError, SyncRequest, SOURCE_OWNED_USER_FIELDS,
};
use trustplane_keyring::Sealer;
use trustplane_model::{Actor, ManualClock};
use trustplane_store::{AuditQuery, ListQuery, NewUser, Store};

struct Node {
    store: Store,
    sync: DirectorySync,
    _dir: tempfile::TempDir,
}

async fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = Store::open(&url, Arc::new(ManualClock::new(1_790_000_000_000)))
        .await
        .unwrap();
    let sealer = Sealer::load_or_create(&dir.path().join("master.key")).unwrap();
    Node {
        sync: DirectorySync::new(store.clone(), sealer),
        store,
        _dir: dir,
    }
}

fn new_connection(slapd: &Slapd) -> NewConnection {
    serde_json::from_value(json!({
        "type": "ldap",
        "displayName": "Example LDAP",
        "url": format!("ldaps://127.0.0.1:{}", slapd.ldaps_port),
        "bindDn": SLAPD_ROOT_DN,
        "bindPassword": SLAPD_ROOT_PW,
        "baseDn": SLAPD_SUFFIX,
        "caCertificate": slapd.pki.ca_pem,
        "passThroughAuthentication": true,
    }))
    .expect("the API's shape")
}

async fn user_count(store: &Store) -> usize {
    store
        .list_users(&ListQuery::default())
        .await
        .unwrap()
        .items
        .len()
}

async fn directory_sync_entries(store: &Store) -> Vec<trustplane_model::Event> {
    store
        .list_audit(&AuditQuery {
            category: Some("directorySync".into()),
            top: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn a_sync_imports_attributes_sources_and_nesting_and_a_bad_run_changes_nothing() {
    let Some(slapd) = start_slapd() else { return };
    populate_slapd(&slapd).await;
    let n = node().await;
    let actor = Actor::system();

    // Bad settings are refused with the field named, and nothing is stored.
    let mut bad = new_connection(&slapd);
    bad.url = "ldap://ldap.example.test".into();
    bad.start_tls = false;
    match n.sync.create(&actor, bad).await {
        Err(ServiceError::Settings(e)) => assert_eq!(e.field, "url"),
        other => panic!("plain LDAP off loopback must be refused: {other:?}"),
    }
    assert!(n
        .store
        .list_directory_connections()
        .await
        .unwrap()
        .is_empty());

    // A local user already holds user3's address: a conflict, never merged.
    let local = n
        .store
        .create_user(
            &actor,
            NewUser {
                user_principal_name: "user3@example.test".into(),
                display_name: "Local Three".into(),
                account_enabled: true,
                ..NewUser::default()
            },
        )
        .await
        .unwrap();

    let conn = n.sync.create(&actor, new_connection(&slapd)).await.unwrap();
    assert!(
        !conn.settings.to_string().contains(SLAPD_ROOT_PW),
        "no password in settings"
    );
    assert_eq!(
        n.sync
            .test(&conn.display_name)
            .await
            .unwrap()
            .naming_contexts,
        vec![SLAPD_SUFFIX]
    );

    let report = n
        .sync
        .sync(&actor, &conn.id, SyncRequest::default())
        .await
        .unwrap();
    assert_eq!(report.result, "succeeded", "{report:?}");
    assert_eq!(report.counts["usersCreated"], 6);
    assert_eq!(report.conflicts.len(), 1);
    assert_eq!(report.conflicts[0].value, "user3@example.test");
    let kept = n.store.get_user(&local.id).await.unwrap();
    assert_eq!(
        kept.display_name, "Local Three",
        "the local user is untouched"
    );
    assert!(n.store.object_source(&local.id).await.unwrap().is_none());

    let u1 = n.store.get_user("user1@example.test").await.unwrap();
    let u0 = n.store.get_user("user0@example.test").await.unwrap();
    assert_eq!(u1.display_name, "User 1");
    assert_eq!(u1.attributes["department"], "R&D");
    assert_eq!(u1.attributes["sAMAccountName"], "user1");
    assert_eq!(
        u1.attributes["manager"],
        json!(u0.id),
        "manager resolved to an object id"
    );
    let source = n
        .store
        .object_source(&u1.id)
        .await
        .unwrap()
        .expect("attributed");
    assert_eq!(source.connection_id, conn.id);
    assert_eq!(source.connection_name, "Example LDAP");
    assert!(SOURCE_OWNED_USER_FIELDS.contains(&"userPrincipalName"));

    let staff = n.store.get_group("staff").await.unwrap().id;
    let devs = n.store.get_group("devs").await.unwrap().id;
    let transitive = n.store.group_ids_of(&u1.id, true).await.unwrap();
    assert!(
        transitive.contains(&devs) && transitive.contains(&staff),
        "nested: {transitive:?}"
    );

    let status = n
        .store
        .get_directory_connection(&conn.id)
        .await
        .unwrap()
        .status;
    assert_eq!(status.last_result.as_deref(), Some("succeeded"));
    assert!(status.last_full_sync_date_time.is_some());

    // The same directory again: nothing to do.
    let report = n
        .sync
        .sync(&actor, &conn.id, SyncRequest::default())
        .await
        .unwrap();
    assert_eq!(report.counts["usersUpdated"], 0);
    assert_eq!(report.counts["membershipsAdded"], 0);

    // One deletion of six imported users is over 10 %: the run waits and changes nothing.
    let mut ldap = slapd_admin(&slapd).await;
    ldap.delete(&user_dn(6)).await.unwrap().success().unwrap();
    ldap.modify(
        &user_dn(2),
        vec![Mod::Replace("cn".to_string(), set(&["Two Renamed"]))],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let audit_before = directory_sync_entries(&n.store).await.len();
    let report = n
        .sync
        .sync(&actor, &conn.id, SyncRequest::default())
        .await
        .unwrap();
    assert_eq!(report.result, "needsConfirmation");
    assert!(n.store.get_user("user6@example.test").await.is_ok());
    assert_eq!(
        n.store
            .get_user("user2@example.test")
            .await
            .unwrap()
            .display_name,
        "User 2"
    );
    let status = n
        .store
        .get_directory_connection(&conn.id)
        .await
        .unwrap()
        .status;
    assert_eq!(status.last_result.as_deref(), Some("needsConfirmation"));

    // Confirmed: applied, audited under directorySync.
    let report = n
        .sync
        .sync(
            &actor,
            &conn.id,
            SyncRequest {
                full: false,
                confirm: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(report.result, "succeeded");
    assert!(n.store.get_user("user6@example.test").await.is_err());
    assert_eq!(
        n.store
            .get_user("user2@example.test")
            .await
            .unwrap()
            .display_name,
        "Two Renamed"
    );
    let audit = directory_sync_entries(&n.store).await;
    assert!(audit.len() > audit_before);
    assert!(audit.iter().any(|e| e.activity == "user.delete"));

    // The directory unreachable: the run fails and nothing changes.
    let users_before = user_count(&n.store).await;
    drop(ldap);
    drop(slapd);
    let report = n
        .sync
        .sync(
            &actor,
            &conn.id,
            SyncRequest {
                full: true,
                confirm: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(report.result, "failed");
    assert!(
        report
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("cannot connect"),
        "{report:?}"
    );
    assert_eq!(user_count(&n.store).await, users_before);
    let status = n
        .store
        .get_directory_connection(&conn.id)
        .await
        .unwrap()
        .status;
    assert_eq!(status.last_result.as_deref(), Some("failed"));
}
