//! Active Directory against a real Samba AD domain controller provisioned by the test.
//!
//! Samba binds the fixed ports 389 and 636, so this file holds one test that starts one domain
//! controller and walks through the whole story.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod peers;

use std::collections::HashSet;

use ldap3::{LdapConnAsync, LdapConnSettings, Mod};
use peers::*;
use trustplane_directory_sync::plan::Member;
use trustplane_directory_sync::{
    plan, read_directory, test_connection, ConnectionSettings, CurrentState, DirectorySync,
    DirectoryType, NewConnection, PlanRefused, ReadError, ReadMode, SafetyPolicy, SyncRequest,
    Transport,
};

const PEOPLE: &str = "OU=People,DC=corp,DC=example,DC=test";
const ADMIN_DN: &str = "CN=Administrator,CN=Users,DC=corp,DC=example,DC=test";
const USER_PW: &str = "Us3r-Passw0rd!x";

/// An LDAPS session as the domain administrator, for changes samba-tool has no verb for.
async fn admin(ad: &SambaAd) -> ldap3::Ldap {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(
        trustplane_directory_sync::settings::parse_ca_certificates(&ad.pki.ca_pem).expect("ca"),
    );
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("tls")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let (conn, mut ldap) = LdapConnAsync::with_settings(
        LdapConnSettings::new().set_config(std::sync::Arc::new(config)),
        "ldaps://127.0.0.1:636",
    )
    .await
    .expect("connect");
    ldap3::drive!(conn);
    ldap.simple_bind(ADMIN_DN, AD_ADMIN_PW)
        .await
        .expect("bind")
        .success()
        .expect("admin bind");
    ldap
}

fn set(v: &[&str]) -> HashSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn settings(ad: &SambaAd) -> ConnectionSettings {
    let mut s = ConnectionSettings::new(
        DirectoryType::ActiveDirectory,
        "ldaps://127.0.0.1",
        ADMIN_DN,
        AD_ADMIN_PW,
        PEOPLE,
    );
    s.ca_certificate = Some(ad.pki.ca_pem.clone());
    s.page_size = 5; // twenty users: several pages
    s
}

fn by_sam<'a>(
    users: &'a [trustplane_directory_sync::SourceUser],
    sam: &str,
) -> &'a trustplane_directory_sync::SourceUser {
    users
        .iter()
        .find(|u| u.sam_account_name.as_deref() == Some(sam))
        .unwrap_or_else(|| panic!("{sam} not read"))
}

#[tokio::test]
async fn active_directory_import_incremental_sync_deletions_and_safety() {
    let Some(ad) = start_samba() else { return };

    // The people: four made with samba-tool, sixteen more over LDAP (disabled, no password).
    ad.tool(&["ou", "add", "OU=People"]);
    ad.tool(&["ou", "add", "OU=Staff,OU=People"]);
    for (name, given, dept) in [
        ("alice", "Alice", "R&D"),
        ("bob", "Bob", "Operations"),
        ("carol", "Carol", "Finance"),
        ("dave", "Dave", "Finance"),
    ] {
        ad.tool(&[
            "user",
            "add",
            name,
            USER_PW,
            "--userou=OU=People",
            "--use-username-as-cn",
            &format!("--given-name={given}"),
            "--surname=Example",
            &format!("--mail-address={name}@corp.example.test"),
            &format!("--department={dept}"),
        ]);
    }
    ad.tool(&["user", "disable", "dave"]);
    let mut ldap = admin(&ad).await;
    for n in 0..16 {
        let sam = format!("filler{n:02}");
        let dn = format!("CN={sam},{PEOPLE}");
        let upn = format!("{sam}@corp.example.test");
        let attrs: Vec<(String, HashSet<String>)> = vec![
            ("objectClass".into(), set(&["user"])),
            ("sAMAccountName".into(), set(&[&sam])),
            ("userPrincipalName".into(), set(&[&upn])),
            ("userAccountControl".into(), set(&["514"])),
        ];
        ldap.add(&dn, attrs)
            .await
            .expect("add")
            .success()
            .expect("filler added");
    }
    let alice_dn = format!("CN=alice,{PEOPLE}");
    let bob_dn = format!("CN=bob,{PEOPLE}");
    ldap.modify(
        &alice_dn,
        vec![Mod::Replace("manager".to_string(), set(&[&bob_dn]))],
    )
    .await
    .expect("modify")
    .success()
    .expect("manager set");
    ad.tool(&["group", "add", "Engineers", "--groupou=OU=People"]);
    ad.tool(&["group", "add", "Operators", "--groupou=OU=People"]);
    ad.tool(&["group", "addmembers", "Operators", "bob"]);
    ad.tool(&["group", "addmembers", "Engineers", "alice,Operators"]);

    let s = settings(&ad);
    let info = test_connection(&s).await.expect("test connection");
    assert_eq!(info.transport, Transport::Ldaps);
    assert!(info.highest_committed_usn.is_some());

    // First import: a full read.
    let read = read_directory(&s, ReadMode::Full).await.expect("full read");
    assert!(read.issues.is_empty(), "{:?}", read.issues);
    assert_eq!(read.users.len(), 20, "only the base DN's users, every page");
    assert_eq!(read.groups.len(), 2);
    let alice = by_sam(&read.users, "alice").clone();
    let bob = by_sam(&read.users, "bob").clone();
    assert_eq!(
        alice.user_principal_name.to_lowercase(),
        "alice@corp.example.test"
    );
    assert_eq!(alice.given_name.as_deref(), Some("Alice"));
    assert_eq!(alice.surname.as_deref(), Some("Example"));
    assert_eq!(alice.mail.as_deref(), Some("alice@corp.example.test"));
    assert_eq!(alice.department.as_deref(), Some("R&D"));
    assert!(alice.enabled);
    assert!(
        !by_sam(&read.users, "dave").enabled,
        "disabled bit of userAccountControl"
    );
    let guid = &alice.anchor;
    assert_eq!(guid.len(), 36, "objectGUID as text: {guid}");
    assert_eq!(guid.matches('-').count(), 4);

    let mut state = CurrentState::default();
    let p = plan(&state, &read, SafetyPolicy::default()).expect("plan");
    assert_eq!(p.create_users.len(), 20);
    assert_eq!(p.create_groups.len(), 2);
    assert_eq!(
        p.managers.get(&alice.anchor),
        Some(&Some(bob.anchor.clone()))
    );
    let engineers = read
        .groups
        .iter()
        .find(|g| g.display_name == "Engineers")
        .expect("Engineers");
    let operators = read
        .groups
        .iter()
        .find(|g| g.display_name == "Operators")
        .expect("Operators");
    let eng_members: HashSet<_> = p
        .add_members
        .iter()
        .filter(|m| m.group == engineers.anchor)
        .map(|m| m.member.clone())
        .collect();
    assert_eq!(
        eng_members,
        HashSet::from([
            Member::User(alice.anchor.clone()),
            Member::Group(operators.anchor.clone())
        ]),
        "nested membership"
    );
    state.apply(&p);
    let mut usn = p.high_water_usn.expect("high-water mark");

    // Nothing changed: an incremental read finds nothing.
    let read = read_directory(&s, ReadMode::Incremental { since_usn: usn })
        .await
        .expect("read");
    assert!(!read.full);
    assert!(read.users.is_empty() && read.groups.is_empty(), "{read:?}");
    let p = plan(&state, &read, SafetyPolicy::default()).expect("plan");
    assert!(p.is_empty());
    usn = p.high_water_usn.expect("mark");

    // A change to alice and bob disabled: the incremental read picks up only them.
    ldap.modify(
        &alice_dn,
        vec![Mod::Replace("department".to_string(), set(&["Research"]))],
    )
    .await
    .expect("modify")
    .success()
    .expect("department changed");
    ad.tool(&["user", "disable", "bob"]);
    let read = read_directory(&s, ReadMode::Incremental { since_usn: usn })
        .await
        .expect("read");
    let read_names: HashSet<_> = read
        .users
        .iter()
        .filter_map(|u| u.sam_account_name.clone())
        .collect();
    assert_eq!(
        read_names,
        HashSet::from(["alice".to_string(), "bob".to_string()])
    );
    let p = plan(&state, &read, SafetyPolicy::default()).expect("plan");
    assert_eq!(p.update_users.len(), 1);
    assert_eq!(p.update_users[0].user.anchor, alice.anchor);
    assert_eq!(p.update_users[0].changed, vec!["department"]);
    assert_eq!(p.disable_users.len(), 1);
    assert_eq!(p.disable_users[0].user.anchor, bob.anchor);
    assert!(p.delete_users.is_empty() && p.create_users.is_empty());
    state.apply(&p);
    usn = p.high_water_usn.expect("mark");

    // A move inside the scope keeps the anchor; a membership removal arrives incrementally.
    ad.tool(&["user", "move", "alice", "OU=Staff,OU=People"]);
    ad.tool(&["group", "removemembers", "Operators", "bob"]);
    let read = read_directory(&s, ReadMode::Incremental { since_usn: usn })
        .await
        .expect("read");
    let p = plan(&state, &read, SafetyPolicy::default()).expect("plan");
    assert_eq!(p.update_users.len(), 1, "{p:?}");
    assert_eq!(p.update_users[0].user.anchor, alice.anchor);
    assert_eq!(p.update_users[0].changed, vec!["dn"]);
    assert_eq!(
        p.remove_members
            .iter()
            .map(|m| (&m.group, &m.member))
            .collect::<Vec<_>>(),
        vec![(&operators.anchor, &Member::User(bob.anchor.clone()))]
    );
    state.apply(&p);
    usn = p.high_water_usn.expect("mark");

    // A deletion is not seen incrementally (no deleted-objects control yet); the full
    // reconciliation removes it.
    ad.tool(&["user", "delete", "carol"]);
    let read = read_directory(&s, ReadMode::Incremental { since_usn: usn })
        .await
        .expect("read");
    assert!(plan(&state, &read, SafetyPolicy::default())
        .expect("plan")
        .delete_users
        .is_empty());
    let read = read_directory(&s, ReadMode::Full).await.expect("read");
    let p = plan(&state, &read, SafetyPolicy::default()).expect("plan");
    assert_eq!(p.delete_users.len(), 1);
    assert_eq!(
        p.delete_users[0].name.to_lowercase(),
        "carol@corp.example.test"
    );
    state.apply(&p);
    assert_eq!(state.users.len(), 19);

    // Three more deletions are 16 % of 19: the run waits for confirmation.
    for n in 0..3 {
        ldap.delete(&format!("CN=filler{n:02},{PEOPLE}"))
            .await
            .expect("delete")
            .success()
            .expect("deleted");
    }
    let read = read_directory(&s, ReadMode::Full).await.expect("read");
    let err = plan(&state, &read, SafetyPolicy::default()).expect_err("needs confirmation");
    assert_eq!(
        err,
        PlanRefused::NeedsConfirmation {
            disable: 0,
            delete: 3,
            total: 19,
            percent: 10
        }
    );
    let p = plan(
        &state,
        &read,
        SafetyPolicy {
            confirmed: true,
            ..SafetyPolicy::default()
        },
    )
    .expect("confirmed");
    assert_eq!(p.delete_users.len(), 3);

    // A base DN with no users in it never deletes everyone.
    let mut empty = settings(&ad);
    empty.base_dn = "OU=Staff,OU=People,DC=corp,DC=example,DC=test".into();
    ad.tool(&["user", "move", "alice", "OU=People"]);
    let read = read_directory(&empty, ReadMode::Full).await.expect("read");
    assert!(read.users.is_empty());
    assert!(matches!(
        plan(
            &state,
            &read,
            SafetyPolicy {
                confirmed: true,
                ..SafetyPolicy::default()
            }
        ),
        Err(PlanRefused::EmptyRead { existing: 19 })
    ));

    // StartTLS works too; a simple bind without TLS is refused by the domain controller.
    let mut starttls = settings(&ad);
    starttls.url = "ldap://127.0.0.1".into();
    assert_eq!(
        test_connection(&starttls)
            .await
            .expect("starttls")
            .transport,
        Transport::StartTls
    );
    let mut plain = settings(&ad);
    plain.url = "ldap://127.0.0.1".into();
    plain.start_tls = false;
    plain.ca_certificate = None;
    assert!(matches!(
        read_directory(&plain, ReadMode::Full).await,
        Err(ReadError::Bind(_))
    ));

    // Wrong password, and a directory that cannot be reached: the run fails.
    let mut wrong = settings(&ad);
    wrong.bind_password = "not-the-password".into();
    assert!(matches!(
        read_directory(&wrong, ReadMode::Full).await,
        Err(ReadError::Bind(_))
    ));
    let mut gone = settings(&ad);
    gone.url = format!("ldaps://127.0.0.1:{}", free_port());
    assert!(matches!(
        read_directory(&gone, ReadMode::Full).await,
        Err(ReadError::Connect(_))
    ));

    // Into a store: the domain's people arrive attributed to the connection; disabled in AD,
    // the next (incremental) run disables them here, audited.
    let dir = tempfile::tempdir().expect("dir");
    let store = trustplane_store::Store::open(
        &format!("sqlite://{}/t.db?mode=rwc", dir.path().display()),
        std::sync::Arc::new(trustplane_model::ManualClock::new(1_790_000_000_000)),
    )
    .await
    .expect("store");
    let sealer =
        trustplane_keyring::Sealer::load_or_create(&dir.path().join("master.key")).expect("key");
    let sync = DirectorySync::new(store.clone(), sealer);
    let actor = trustplane_model::Actor::system();
    let conn = sync
        .create(
            &actor,
            serde_json::from_value::<NewConnection>(serde_json::json!({
                "type": "activeDirectory",
                "displayName": "Corp AD",
                "url": "ldaps://127.0.0.1",
                "bindDn": ADMIN_DN,
                "bindPassword": AD_ADMIN_PW,
                "baseDn": PEOPLE,
                "caCertificate": ad.pki.ca_pem,
                "passThroughAuthentication": true,
            }))
            .expect("shape"),
        )
        .await
        .expect("create");
    let report = sync
        .sync(&actor, &conn.id, SyncRequest::default())
        .await
        .expect("sync");
    assert_eq!(report.result, "succeeded", "{report:?}");
    assert_eq!(report.mode, "full", "the first run is full");
    assert_eq!(report.counts["usersCreated"], 16);
    let stored = store
        .get_user("alice@corp.example.test")
        .await
        .expect("alice");
    assert!(stored.account_enabled);
    assert_eq!(stored.attributes["department"], "Research");
    assert!(
        !store
            .get_user("dave@corp.example.test")
            .await
            .expect("dave")
            .account_enabled
    );
    let engineers = store.get_group("Engineers").await.expect("group");
    assert!(store
        .group_ids_of(&stored.id, false)
        .await
        .expect("groups")
        .contains(&engineers.id));

    ad.tool(&["user", "disable", "alice"]);
    let report = sync
        .sync(&actor, &conn.id, SyncRequest::default())
        .await
        .expect("sync");
    assert_eq!(report.mode, "incremental");
    assert_eq!(report.counts["usersDisabled"], 1, "{report:?}");
    assert!(
        !store
            .get_user(&stored.id)
            .await
            .expect("alice")
            .account_enabled
    );
    let status = store
        .get_directory_connection(&conn.id)
        .await
        .expect("conn")
        .status;
    assert_eq!(status.last_result.as_deref(), Some("succeeded"));
    assert!(status.high_water_usn.is_some());
    let _ = ldap.unbind().await;
}
