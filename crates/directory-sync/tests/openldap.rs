//! Generic LDAP against a real OpenLDAP `slapd` started by the test.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod peers;

use std::collections::HashSet;

use ldap3::Mod;
use peers::*;
use trustplane_directory_sync::plan::Member;
use trustplane_directory_sync::{
    plan, read_directory, test_connection, ConnectionSettings, CurrentState, DirectoryType,
    PlanRefused, ReadError, ReadMode, SafetyPolicy, Transport,
};

fn settings(slapd: &Slapd, transport: Transport) -> ConnectionSettings {
    let url = match transport {
        Transport::Ldaps => format!("ldaps://127.0.0.1:{}", slapd.ldaps_port),
        _ => format!("ldap://127.0.0.1:{}", slapd.ldap_port),
    };
    let mut s = ConnectionSettings::new(
        DirectoryType::Ldap,
        url,
        SLAPD_ROOT_DN,
        SLAPD_ROOT_PW,
        SLAPD_SUFFIX,
    );
    s.start_tls = transport == Transport::StartTls;
    if transport != Transport::Plain {
        s.ca_certificate = Some(slapd.pki.ca_pem.clone());
    }
    s.page_size = 2; // seven users: four pages
    s
}

#[tokio::test]
async fn reads_inet_org_people_and_nested_groups_over_plain_starttls_and_ldaps() {
    let Some(slapd) = start_slapd() else { return };
    populate_slapd(&slapd).await;
    for transport in [Transport::Plain, Transport::StartTls, Transport::Ldaps] {
        let s = settings(&slapd, transport);
        let info = test_connection(&s).await.expect("test connection");
        assert_eq!(info.transport, transport);
        let read = read_directory(&s, ReadMode::Full).await.expect("read");
        assert!(read.full);
        assert_eq!(read.users.len(), 7, "{transport:?}: every page was read");
        assert_eq!(read.groups.len(), 2);
        assert!(read.issues.is_empty(), "{:?}", read.issues);
        let u1 = read
            .users
            .iter()
            .find(|u| u.sam_account_name.as_deref() == Some("user1"))
            .expect("user1");
        assert_eq!(u1.user_principal_name, "user1@example.test");
        assert_eq!(u1.department.as_deref(), Some("R&D"));
        assert_eq!(u1.anchor.len(), 36, "entryUUID anchor: {}", u1.anchor);

        let p = plan(&CurrentState::default(), &read, SafetyPolicy::default()).expect("plan");
        assert_eq!(p.create_users.len(), 7);
        assert_eq!(p.create_groups.len(), 2);
        let user0 = read
            .users
            .iter()
            .find(|u| u.sam_account_name.as_deref() == Some("user0"))
            .expect("user0");
        assert_eq!(
            p.managers.get(&u1.anchor),
            Some(&Some(user0.anchor.clone())),
            "manager resolved to its anchor"
        );
        let devs = read
            .groups
            .iter()
            .find(|g| g.display_name == "devs")
            .expect("devs");
        let staff = read
            .groups
            .iter()
            .find(|g| g.display_name == "staff")
            .expect("staff");
        let staff_members: HashSet<_> = p
            .add_members
            .iter()
            .filter(|m| m.group == staff.anchor)
            .map(|m| m.member.clone())
            .collect();
        assert_eq!(
            staff_members,
            HashSet::from([
                Member::Group(devs.anchor.clone()),
                Member::User(user0.anchor.clone())
            ]),
            "nested group kept as a group member"
        );
    }
}

#[tokio::test]
async fn deletions_and_changes_arrive_and_large_removals_wait_for_confirmation() {
    let Some(slapd) = start_slapd() else { return };
    populate_slapd(&slapd).await;
    let s = settings(&slapd, Transport::Plain);
    let mut state = CurrentState::default();
    let first = read_directory(&s, ReadMode::Full).await.expect("read");
    state.apply(&plan(&state, &first, SafetyPolicy::default()).expect("plan"));
    assert_eq!(state.users.len(), 7);

    // Nothing changed: nothing to do.
    let again = read_directory(&s, ReadMode::Full).await.expect("read");
    assert!(plan(&state, &again, SafetyPolicy::default())
        .expect("plan")
        .is_empty());

    let mut ldap = slapd_admin(&slapd).await;
    ldap.delete(&user_dn(6))
        .await
        .expect("delete")
        .success()
        .expect("deleted");
    ldap.modify(
        &user_dn(2),
        vec![Mod::Replace(
            "mail".to_string(),
            set(&["dev2@example.test"]),
        )],
    )
    .await
    .expect("modify")
    .success()
    .expect("modified");
    ldap.modify(
        &format!("cn=devs,ou=groups,{SLAPD_SUFFIX}"),
        vec![Mod::Delete("member".to_string(), set(&[&user_dn(1)]))],
    )
    .await
    .expect("modify group")
    .success()
    .expect("member removed");

    let read = read_directory(&s, ReadMode::Full).await.expect("read");
    // One of seven (14 %) is over the default 10 %: the run waits and nothing is planned.
    let err = plan(&state, &read, SafetyPolicy::default()).expect_err("needs confirmation");
    assert_eq!(
        err,
        PlanRefused::NeedsConfirmation {
            disable: 0,
            delete: 1,
            total: 7,
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
    assert_eq!(p.delete_users.len(), 1);
    assert_eq!(p.delete_users[0].name, "user6@example.test");
    assert_eq!(p.update_users.len(), 1);
    assert_eq!(
        p.update_users[0].user.user_principal_name,
        "dev2@example.test"
    );
    assert_eq!(p.update_users[0].changed, vec!["userPrincipalName", "mail"]);
    assert_eq!(p.remove_members.len(), 1, "{:?}", p.remove_members);
    state.apply(&p);
    assert_eq!(state.users.len(), 6);
}

#[tokio::test]
async fn a_failed_or_partial_read_is_an_error_and_plans_nothing() {
    let Some(slapd) = start_slapd() else { return };
    populate_slapd(&slapd).await;

    // The limited reader may get 4 entries in all: the server stops the paged search part way.
    let mut s = settings(&slapd, Transport::Plain);
    s.bind_dn = SLAPD_LIMITED_DN.into();
    s.bind_password = SLAPD_LIMITED_PW.into();
    match read_directory(&s, ReadMode::Full).await {
        Err(ReadError::Search { reason, .. }) => {
            assert!(reason.contains("result code 4"), "{reason}")
        }
        other => panic!("a search stopped part way must fail the read: {other:?}"),
    }

    // Our own bound on entries.
    let mut s = settings(&slapd, Transport::Plain);
    s.max_entries = 5;
    assert!(matches!(
        read_directory(&s, ReadMode::Full).await,
        Err(ReadError::TooManyEntries(5))
    ));

    // Wrong password.
    let mut s = settings(&slapd, Transport::Plain);
    s.bind_password = "wrong".into();
    assert!(matches!(
        read_directory(&s, ReadMode::Full).await,
        Err(ReadError::Bind(_))
    ));

    // A certificate from a CA the connection does not trust: refused at the handshake.
    let other = TempDir::new("trustplane-other-ca");
    let other_ca = make_pki(&other.0, "other");
    for transport in [Transport::Ldaps, Transport::StartTls] {
        let mut s = settings(&slapd, transport);
        s.ca_certificate = Some(other_ca.ca_pem.clone());
        match read_directory(&s, ReadMode::Full).await {
            Err(ReadError::Connect(_)) => {}
            other => panic!("{transport:?} with an untrusted certificate must fail: {other:?}"),
        }
    }

    // Nobody listening.
    let mut s = settings(&slapd, Transport::Plain);
    s.url = format!("ldap://127.0.0.1:{}", free_port());
    assert!(matches!(
        read_directory(&s, ReadMode::Full).await,
        Err(ReadError::Connect(_))
    ));
}
