//! The store's behaviour, run against both backends. PostgreSQL tests need
//! `TRUSTPLANE_TEST_POSTGRES_URL` (the test script starts a server and sets it); without it
//! they fail, unless `TRUSTPLANE_SKIP_POSTGRES=1` says to skip them on purpose.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use sqlx::Connection;
use trustplane_model::{Actor, AssignmentKind, BuiltinRole, ManualClock};
use trustplane_store::{
    AuditKey, Backend, Clause, ListQuery, NewApplication, NewAssignment, NewGroup, NewKey, NewUser,
    Op, Store, StoreError, Topic,
};

const T0: i64 = 1_790_000_000_000;

struct Db {
    url: String,
    _dir: Option<tempfile::TempDir>,
}

async fn fresh_db(backend: &str) -> Option<Db> {
    match backend {
        "sqlite" => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
            Some(Db {
                url,
                _dir: Some(dir),
            })
        }
        _ => {
            let Ok(admin) = std::env::var("TRUSTPLANE_TEST_POSTGRES_URL") else {
                if std::env::var("TRUSTPLANE_SKIP_POSTGRES").as_deref() == Ok("1") {
                    return None;
                }
                panic!("TRUSTPLANE_TEST_POSTGRES_URL is not set (set TRUSTPLANE_SKIP_POSTGRES=1 to skip)");
            };
            let name = format!("tp_{}", uuid_hex());
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            let base = admin.rsplit_once('/').unwrap().0;
            Some(Db {
                url: format!("{base}/{name}"),
                _dir: None,
            })
        }
    }
}

fn uuid_hex() -> String {
    trustplane_model::new_id().replace('-', "")
}

async fn open(db: &Db, clock: &ManualClock) -> Store {
    Store::open(&db.url, Arc::new(clock.clone())).await.unwrap()
}

fn admin() -> Actor {
    Actor::system()
}

fn new_user(upn: &str) -> NewUser {
    NewUser {
        user_principal_name: upn.into(),
        display_name: upn.split('@').next().unwrap().into(),
        account_enabled: true,
        ..Default::default()
    }
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $name() { if let Some(db) = super::fresh_db("sqlite").await { super::$name(db).await } } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $name() { if let Some(db) = super::fresh_db("postgres").await { super::$name(db).await } } )*
        }
    };
}

both_backends!(
    reopening_migrates_once_and_keeps_data,
    upn_is_unique_without_regard_to_case_and_failures_change_nothing,
    nested_groups_resolve_and_cycles_are_refused,
    roles_count_through_groups_and_only_within_their_schedule,
    audit_chain_names_the_altered_entry,
    audit_chain_names_a_removed_entry,
    audit_chain_notices_a_truncated_tail_through_the_head,
    keyed_audit_chain_catches_a_rewrite_recomputed_without_the_key,
    an_old_unkeyed_chain_still_verifies_and_is_sealed_when_keying_begins,
    anchors_catch_a_truncated_chain_and_a_stripped_keying_marker,
    lease_is_held_by_one_node_until_it_expires,
    the_last_global_administrator_cannot_be_removed,
    listing_filters_and_pages,
    bootstrap_happens_once,
    one_signing_key_per_purpose_and_retired_keys_stay_published_for_the_overlap,
    a_one_time_value_is_accepted_once_until_it_expires,
    oidc_a_replayed_code_or_a_reused_refresh_token_revokes_the_grant,
    oidc_grants_end_with_the_sign_ins_they_came_from,
    changes_move_at_commit_here_and_reach_other_nodes_on_postgres,
    a_group_of_entries_chains_like_single_appends_and_a_tamper_is_found,
    a_provisioned_group_cannot_be_nested_where_membership_grants_roles,
);

async fn reopening_migrates_once_and_keeps_data(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    let u = store
        .create_user(&admin(), new_user("ada@example.com"))
        .await
        .unwrap();
    store.close().await;
    let again = open(&db, &clock).await;
    assert_eq!(again.get_user("ADA@example.com").await.unwrap().id, u.id);
    assert_eq!(again.list_role_definitions().await.unwrap().len(), 7);
}

async fn upn_is_unique_without_regard_to_case_and_failures_change_nothing(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    store
        .create_user(&admin(), new_user("Ada@Example.com"))
        .await
        .unwrap();
    let head = store.verify_audit_chain().await.unwrap().head_sequence;
    let dup = store
        .create_user(&admin(), new_user("ada@example.COM"))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let bad = store.create_user(&admin(), new_user("not-an-upn")).await;
    assert!(
        matches!(
            bad,
            Err(StoreError::Invalid {
                field: "userPrincipalName",
                ..
            })
        ),
        "{bad:?}"
    );
    // Neither failure left a user or an audit entry behind.
    assert_eq!(
        store
            .list_users(&ListQuery {
                top: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        store.verify_audit_chain().await.unwrap().head_sequence,
        head
    );
}

async fn nested_groups_resolve_and_cycles_are_refused(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    let a = admin();
    let ada = store
        .create_user(&a, new_user("ada@example.com"))
        .await
        .unwrap();
    let inner = store
        .create_group(
            &a,
            NewGroup {
                display_name: "inner".into(),
                members: vec![ada.id.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let outer = store
        .create_group(
            &a,
            NewGroup {
                display_name: "outer".into(),
                members: vec![inner.id.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut groups = store.group_ids_of(&ada.id, true).await.unwrap();
    groups.sort();
    let mut expected = vec![inner.id.clone(), outer.id.clone()];
    expected.sort();
    assert_eq!(groups, expected);
    assert_eq!(
        store.group_ids_of(&ada.id, false).await.unwrap(),
        vec![inner.id.clone()]
    );
    let (users, _) = store.list_members(&outer.id, true).await.unwrap();
    assert_eq!(users.len(), 1);
    let (users, nested) = store.list_members(&outer.id, false).await.unwrap();
    assert!(users.is_empty());
    assert_eq!(nested[0].id, inner.id);
    // outer is inside nothing, inner is inside outer: putting outer into inner is a cycle.
    assert!(matches!(
        store.add_member(&a, &inner.id, &outer.id).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.add_member(&a, &inner.id, &inner.id).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .add_member(&a, &inner.id, "00000000-0000-0000-0000-000000000000")
            .await,
        Err(StoreError::MissingReference { .. })
    ));
}

async fn roles_count_through_groups_and_only_within_their_schedule(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    let a = admin();
    let ada = store
        .create_user(&a, new_user("ada@example.com"))
        .await
        .unwrap();
    let plain = store
        .create_group(
            &a,
            NewGroup {
                display_name: "plain".into(),
                members: vec![ada.id.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let admins = store
        .create_group(
            &a,
            NewGroup {
                display_name: "admins".into(),
                is_assignable_to_role: true,
                members: vec![ada.id.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let refused = store
        .create_role_assignment(
            &a,
            assignment(&plain.id, BuiltinRole::UserAdministrator, None, None),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Invalid {
                field: "principalId",
                ..
            })
        ),
        "{refused:?}"
    );
    store
        .create_role_assignment(
            &a,
            assignment(&admins.id, BuiltinRole::UserAdministrator, None, None),
        )
        .await
        .unwrap();
    store
        .create_role_assignment(
            &a,
            assignment(
                &ada.id,
                BuiltinRole::SecurityReader,
                Some(T0 + 1000),
                Some(T0 + 2000),
            ),
        )
        .await
        .unwrap();
    let names = |roles: Vec<trustplane_model::RoleDefinition>| {
        let mut n: Vec<String> = roles.into_iter().map(|r| r.display_name).collect();
        n.sort();
        n
    };
    assert_eq!(
        names(store.effective_roles(&ada.id).await.unwrap()),
        vec!["User Administrator"]
    );
    clock.set_ms(T0 + 1500);
    assert_eq!(
        names(store.effective_roles(&ada.id).await.unwrap()),
        vec!["Security Reader", "User Administrator"]
    );
    clock.set_ms(T0 + 2000);
    assert_eq!(
        names(store.effective_roles(&ada.id).await.unwrap()),
        vec!["User Administrator"]
    );
    let missing = store
        .create_role_assignment(
            &a,
            assignment(
                "00000000-0000-0000-0000-000000000001",
                BuiltinRole::SecurityReader,
                None,
                None,
            ),
        )
        .await;
    assert!(
        matches!(
            missing,
            Err(StoreError::MissingReference {
                field: "principalId",
                ..
            })
        ),
        "{missing:?}"
    );
}

fn assignment(
    principal: &str,
    role: BuiltinRole,
    start: Option<i64>,
    end: Option<i64>,
) -> NewAssignment {
    NewAssignment {
        principal_id: principal.into(),
        role_definition_id: role.id().into(),
        directory_scope_id: "/".into(),
        assignment_type: AssignmentKind::Active,
        start,
        end,
    }
}

async fn seed_chain(store: &Store) {
    for i in 0..5 {
        store
            .create_user(&admin(), new_user(&format!("user{i}@example.com")))
            .await
            .unwrap();
    }
    let report = store.verify_audit_chain().await.unwrap();
    assert_eq!(report.first_problem, None);
    assert_eq!(report.entries_checked, 5);
}

async fn raw(db: &Db, sql: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
}

async fn audit_chain_names_the_altered_entry(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    seed_chain(&store).await;
    raw(
        &db,
        "UPDATE audit_log SET body = REPLACE(body, 'user2', 'mallory') WHERE seq = 3",
    )
    .await;
    let report = store.verify_audit_chain().await.unwrap();
    assert_eq!(report.first_problem.unwrap().sequence, 3);
}

async fn audit_chain_names_a_removed_entry(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    seed_chain(&store).await;
    raw(&db, "DELETE FROM audit_log WHERE seq = 2").await;
    let problem = store
        .verify_audit_chain()
        .await
        .unwrap()
        .first_problem
        .unwrap();
    assert_eq!(problem.sequence, 2);
    assert!(problem.reason.contains("missing"), "{}", problem.reason);
}

async fn audit_chain_notices_a_truncated_tail_through_the_head(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    seed_chain(&store).await;
    raw(&db, "DELETE FROM audit_log WHERE seq = 5").await;
    assert_eq!(
        store
            .verify_audit_chain()
            .await
            .unwrap()
            .first_problem
            .unwrap()
            .sequence,
        5
    );
}

/// What someone who can write the database but has no key would do: change entry `seq`
/// and recompute its link and every one after it, and the head, with `link` (plain SHA-256, or an HMAC
/// under a key they guessed), then drop the in-database checkpoints that would disagree.
async fn rewrite_chain(db: &Db, seq: i64, from: &str, to: &str, link: fn(&str, &str) -> String) {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let rows = sqlx::query("SELECT seq, body, hash FROM audit_log ORDER BY seq")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let mut prev = "0".repeat(64);
    for row in rows {
        let s: i64 = row.try_get("seq").unwrap();
        let mut body: String = row.try_get("body").unwrap();
        if s < seq {
            // Entries before the edit stay as they are.
            prev = row.try_get("hash").unwrap();
            continue;
        }
        if s == seq {
            body = body.replace(from, to);
        }
        let hash = link(&prev, &body);
        sqlx::query("UPDATE audit_log SET body = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
            .bind(body)
            .bind(prev.clone())
            .bind(hash.clone())
            .bind(s)
            .execute(&mut conn)
            .await
            .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(prev)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql("DELETE FROM audit_checkpoints")
        .execute(&mut conn)
        .await
        .unwrap();
}

fn sha256_link(prev: &str, body: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(format!("{prev}\n{body}")))
}

fn wrong_key_link(prev: &str, body: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&[9_u8; 32]).unwrap();
    mac.update(format!("{prev}\n{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn test_key() -> AuditKey {
    AuditKey::derive(&[7_u8; 32])
}

async fn keyed_audit_chain_catches_a_rewrite_recomputed_without_the_key(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    store.enable_audit_key(test_key()).await.unwrap();
    // An untouched keyed chain verifies.
    seed_chain(&store).await;
    assert_eq!(
        store.verify_audit_chain().await.unwrap().keyed_from,
        Some(1)
    );

    for link in [sha256_link as fn(&str, &str) -> String, wrong_key_link] {
        rewrite_chain(&db, 3, "user2", "mallory", link).await;
        let problem = store
            .verify_audit_chain()
            .await
            .unwrap()
            .first_problem
            .unwrap();
        assert_eq!(problem.sequence, 3, "{}", problem.reason);
        assert!(problem.reason.contains("hash"), "{}", problem.reason);
    }

    // Without the key a keyed chain is neither verified nor extended.
    let keyless = open(&db, &clock).await;
    let err = keyless.verify_audit_chain().await.unwrap_err();
    assert!(err.to_string().contains("master key"), "{err}");
    let err = keyless
        .create_user(&admin(), new_user("eve@example.com"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("master key"), "{err}");
    assert!(
        store.get_user("eve@example.com").await.is_err(),
        "nothing was written"
    );
    // A store holding the key refuses another one.
    assert!(store
        .enable_audit_key(AuditKey::derive(&[8_u8; 32]))
        .await
        .is_err());
}

async fn an_old_unkeyed_chain_still_verifies_and_is_sealed_when_keying_begins(db: Db) {
    let clock = ManualClock::new(T0);
    let old = open(&db, &clock).await;
    // Written as an older version would: no key, plain SHA-256 links.
    seed_chain(&old).await;
    assert_eq!(old.verify_audit_chain().await.unwrap().keyed_from, None);
    old.close().await;

    let store = open(&db, &clock).await;
    store.enable_audit_key(test_key()).await.unwrap();
    for upn in ["ada@example.com", "bob@example.com"] {
        store.create_user(&admin(), new_user(upn)).await.unwrap();
    }
    let report = store.verify_audit_chain().await.unwrap();
    assert_eq!(report.first_problem, None);
    assert_eq!((report.entries_checked, report.keyed_from), (7, Some(6)));
    // Enabling again (a restart) moves nothing.
    let again = open(&db, &clock).await;
    again.enable_audit_key(test_key()).await.unwrap();
    assert_eq!(
        again.verify_audit_chain().await.unwrap().keyed_from,
        Some(6)
    );

    // Rewriting an old entry and recomputing the plain links through the end is caught at
    // the latest where keying began (the marker seals the hash of the entry before it).
    rewrite_chain(&db, 2, "user1", "mallory", sha256_link).await;
    let problem = store
        .verify_audit_chain()
        .await
        .unwrap()
        .first_problem
        .unwrap();
    assert!(problem.sequence <= 6, "{problem:?}");
}

async fn anchors_catch_a_truncated_chain_and_a_stripped_keying_marker(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    store.enable_audit_key(test_key()).await.unwrap();
    seed_chain(&store).await;
    let first = store.write_audit_checkpoint("n1").await.unwrap().unwrap();
    assert_eq!((first.sequence, first.keyed_from), (5, Some(1)));
    assert_eq!(
        store.write_audit_checkpoint("n1").await.unwrap(),
        None,
        "already taken"
    );
    for upn in ["ada@example.com", "bob@example.com"] {
        store.create_user(&admin(), new_user(upn)).await.unwrap();
    }
    let second = store.write_audit_checkpoint("n1").await.unwrap().unwrap();
    let anchors = [first, second];
    let report = store.verify_audit_chain_anchored(&anchors).await.unwrap();
    assert_eq!(report.first_problem, None);
    assert_eq!(report.anchors_checked, 2);

    // The last two entries are cut off and the head and checkpoints made to agree: the
    // database alone cannot tell, the anchors can.
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let hash5: String = sqlx::query("SELECT hash FROM audit_log WHERE seq = 5")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .try_get("hash")
        .unwrap();
    sqlx::query("UPDATE audit_head SET seq = 5, hash = $1 WHERE id = 1")
        .bind(hash5)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql(
        "DELETE FROM audit_log WHERE seq > 5; DELETE FROM audit_checkpoints WHERE seq > 5",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        store.verify_audit_chain().await.unwrap().first_problem,
        None
    );
    let problem = store
        .verify_audit_chain_anchored(&anchors)
        .await
        .unwrap()
        .first_problem
        .unwrap();
    assert_eq!(problem.sequence, 6, "{}", problem.reason);
    assert!(
        problem.reason.contains("ends at entry 5"),
        "{}",
        problem.reason
    );

    // The keying marker removed and the whole chain recomputed unkeyed, passed off as a
    // chain from before keying: the anchors still know it was keyed.
    sqlx::raw_sql("UPDATE audit_head SET keyed_from = NULL, keyed_mac = NULL WHERE id = 1")
        .execute(&mut conn)
        .await
        .unwrap();
    rewrite_chain(&db, 1, "user0", "mallory", sha256_link).await;
    assert_eq!(
        store.verify_audit_chain().await.unwrap().first_problem,
        None
    );
    let problem = store
        .verify_audit_chain_anchored(&anchors[..1])
        .await
        .unwrap()
        .first_problem
        .unwrap();
    assert_eq!(problem.sequence, 1, "{}", problem.reason);
    assert!(
        problem.reason.contains("keyed from entry 1"),
        "{}",
        problem.reason
    );
}

async fn lease_is_held_by_one_node_until_it_expires(db: Db) {
    let clock = ManualClock::new(T0);
    let node_a = open(&db, &clock).await;
    let node_b = open(&db, &clock).await;
    assert!(node_a.try_acquire_lease("job", "a", 10_000).await.unwrap());
    assert!(!node_b.try_acquire_lease("job", "b", 10_000).await.unwrap());
    clock.advance_ms(5_000);
    assert!(
        node_a.try_acquire_lease("job", "a", 10_000).await.unwrap(),
        "renewal"
    );
    clock.advance_ms(9_000);
    assert!(
        !node_b.try_acquire_lease("job", "b", 10_000).await.unwrap(),
        "renewed lease still held"
    );
    clock.advance_ms(2_000);
    assert!(
        node_b.try_acquire_lease("job", "b", 10_000).await.unwrap(),
        "expired lease taken over"
    );
    assert!(!node_a.try_acquire_lease("job", "a", 10_000).await.unwrap());
    node_b.release_lease("job", "b").await.unwrap();
    assert!(node_a.try_acquire_lease("job", "a", 10_000).await.unwrap());
}

async fn the_last_global_administrator_cannot_be_removed(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    let a = admin();
    let root = store
        .bootstrap(new_user("root@example.com"), "hash")
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        store.delete_user(&a, &root.id).await,
        Err(StoreError::Conflict(_))
    ));
    let other = store
        .create_user(&a, new_user("other@example.com"))
        .await
        .unwrap();
    store
        .create_role_assignment(
            &a,
            assignment(&other.id, BuiltinRole::GlobalAdministrator, None, None),
        )
        .await
        .unwrap();
    store.delete_user(&a, &root.id).await.unwrap();
    let last = store
        .list_role_assignments(&ListQuery {
            top: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(last.len(), 1);
    assert!(matches!(
        store.delete_role_assignment(&a, &last[0].id).await,
        Err(StoreError::Conflict(_))
    ));
}

async fn listing_filters_and_pages(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    for i in 0..7 {
        clock.advance_ms(1);
        store
            .create_user(&admin(), new_user(&format!("user{i}@example.com")))
            .await
            .unwrap();
    }
    store
        .create_user(
            &admin(),
            new_user("bob_100%@example.com".replace("%", "").as_str()),
        )
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut q = ListQuery {
        top: 3,
        ..Default::default()
    };
    loop {
        let page = store.list_users(&q).await.unwrap();
        seen.extend(page.items.into_iter().map(|u| u.user_principal_name));
        match page.next {
            Some(t) => q.skip_token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8);
    assert_eq!(seen[0], "user0@example.com");
    let eq = ListQuery {
        top: 10,
        filter: vec![Clause {
            field: "userPrincipalName".into(),
            op: Op::Eq,
            value: "USER3@example.com".into(),
        }],
        ..Default::default()
    };
    assert_eq!(store.list_users(&eq).await.unwrap().items.len(), 1);
    let starts = ListQuery {
        top: 10,
        filter: vec![Clause {
            field: "displayName".into(),
            op: Op::StartsWith,
            value: "USER".into(),
        }],
        ..Default::default()
    };
    assert_eq!(store.list_users(&starts).await.unwrap().items.len(), 7);
    // LIKE wildcards in the value are literal.
    let wild = ListQuery {
        top: 10,
        filter: vec![Clause {
            field: "displayName".into(),
            op: Op::StartsWith,
            value: "bob_".into(),
        }],
        ..Default::default()
    };
    assert_eq!(store.list_users(&wild).await.unwrap().items.len(), 1);
    let wild2 = ListQuery {
        top: 10,
        filter: vec![Clause {
            field: "displayName".into(),
            op: Op::StartsWith,
            value: "%".into(),
        }],
        ..Default::default()
    };
    assert_eq!(store.list_users(&wild2).await.unwrap().items.len(), 0);
    // Sign-in names by prefix (an index range on SQLite), whatever the case, wildcards literal.
    let upn = |op: Op, value: &str| ListQuery {
        top: 10,
        filter: vec![Clause {
            field: "userPrincipalName".into(),
            op,
            value: value.into(),
        }],
        ..Default::default()
    };
    assert_eq!(
        store
            .list_users(&upn(Op::StartsWith, "USER"))
            .await
            .unwrap()
            .items
            .len(),
        7
    );
    let bob = store
        .list_users(&upn(Op::StartsWith, "Bob_1"))
        .await
        .unwrap();
    assert_eq!(bob.items.len(), 1);
    for none in ["bob%", "user_@", "userz", "%"] {
        let q = upn(Op::StartsWith, none);
        assert!(
            store.list_users(&q).await.unwrap().items.is_empty(),
            "{none}"
        );
    }
    assert_eq!(
        store
            .list_users(&upn(Op::StartsWith, "user6@example.com"))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let bad = ListQuery {
        top: 10,
        filter: vec![Clause {
            field: "passwordHash".into(),
            op: Op::Eq,
            value: "x".into(),
        }],
        ..Default::default()
    };
    assert!(matches!(
        store.list_users(&bad).await,
        Err(StoreError::Invalid { .. })
    ));
}

async fn bootstrap_happens_once(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    let first = store
        .bootstrap(new_user("root@example.com"), "h1")
        .await
        .unwrap();
    assert!(first.is_some());
    let again = store
        .bootstrap(new_user("root2@example.com"), "h2")
        .await
        .unwrap();
    assert!(again.is_none());
    let owner = store.find_token_owner("h1").await.unwrap().unwrap();
    assert_eq!(owner.user.user_principal_name, "root@example.com");
    assert!(store.find_token_owner("h2").await.unwrap().is_none());
    let roles = store.effective_roles(&owner.user.id).await.unwrap();
    assert_eq!(roles[0].id, BuiltinRole::GlobalAdministrator.id());
}

fn key(id: &str) -> NewKey {
    NewKey {
        id: id.into(),
        purpose: "saml".into(),
        algorithm: "RS256".into(),
        private_key: format!("sealed-{id}"),
        public_key: format!("cert-{id}"),
    }
}

async fn one_signing_key_per_purpose_and_retired_keys_stay_published_for_the_overlap(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    assert!(store.add_first_signing_key(key("k1")).await.unwrap());
    // A second node starting at the same time finds the first key and stores nothing.
    assert!(!store.add_first_signing_key(key("k2")).await.unwrap());
    let keys = store.signing_keys("saml").await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].id, "k1");
    assert!(store.signing_keys("oidc").await.unwrap().is_empty());

    clock.advance_ms(1000);
    store
        .rotate_signing_key(&admin(), key("k3"), 60_000)
        .await
        .unwrap();
    let keys = store.signing_keys("saml").await.unwrap();
    let ids: Vec<_> = keys.iter().map(|k| (k.id.as_str(), k.retired_at)).collect();
    assert_eq!(ids, vec![("k3", None), ("k1", Some(T0 + 1000))]);
    clock.advance_ms(60_000);
    let keys = store.signing_keys("saml").await.unwrap();
    assert_eq!(
        keys.len(),
        1,
        "the old key is no longer published after the overlap"
    );
    assert_eq!(keys[0].id, "k3");
    let audit = store.verify_audit_chain().await.unwrap();
    assert!(audit.first_problem.is_none());
}

async fn a_one_time_value_is_accepted_once_until_it_expires(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    assert!(store.use_once("saml:sp:id-1", T0 + 300_000).await.unwrap());
    assert!(!store.use_once("saml:sp:id-1", T0 + 300_000).await.unwrap());
    assert!(store.use_once("saml:sp:id-2", T0 + 300_000).await.unwrap());
    clock.advance_ms(300_000);
    assert!(store.use_once("saml:sp:id-1", T0 + 600_000).await.unwrap());
}

fn oidc_event(activity: &str) -> trustplane_model::Event {
    trustplane_model::Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "federation".into(),
        activity: activity.into(),
        initiated_by: admin(),
        target: None,
        result: trustplane_model::Outcome::Success,
        result_reason: None,
        before: None,
        after: None,
    }
}

async fn oidc_a_replayed_code_or_a_reused_refresh_token_revokes_the_grant(db: Db) {
    use trustplane_store::{AuthCode, Authentication, CodeUse, Grant, NewRefreshToken};
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    let user = store
        .create_user(&admin(), new_user("ada@example.com"))
        .await
        .unwrap();
    let app = store
        .create_application(
            &admin(),
            trustplane_store::NewApplication {
                display_name: "web".into(),
                app_id: Some("web".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let authentication = Authentication {
        user_id: user.id.clone(),
        session_id: Some("s1".into()),
        auth_time: T0,
        amr: vec!["pwd".into()],
        mfa_at: None,
        client_app: "browser".into(),
    };
    let code = AuthCode {
        code_hash: "c1".into(),
        grant_id: "g1".into(),
        application_id: app.id.clone(),
        redirect_uri: "https://rp.example/cb".into(),
        scope: "openid".into(),
        nonce: Some("n".into()),
        code_challenge: Some("x".repeat(43)),
        authentication: authentication.clone(),
        expires_at: T0 + 60_000,
    };
    store
        .create_session(
            trustplane_store::NewSession {
                id: "s1".into(),
                user_id: user.id.clone(),
                token_hash: "t1".into(),
                amr: vec!["pwd".into()],
                mfa: false,
                ip_address: None,
                user_agent: None,
                client_app: "browser".into(),
                restriction: None,
            },
            trustplane_model::Event {
                category: "signIn".into(),
                ..oidc_event("signIn")
            },
        )
        .await
        .unwrap();
    store
        .issue_code(&code, oidc_event("oidc.code.issue"))
        .await
        .unwrap();
    // Another client's presentation leaves the code as it was.
    assert_eq!(
        store
            .use_code("c1", "another-app", |_| oidc_event("oidc.code.replay"))
            .await
            .unwrap(),
        CodeUse::OtherClient
    );
    let first = store
        .use_code("c1", &app.id, |_| oidc_event("oidc.code.replay"))
        .await
        .unwrap();
    assert_eq!(first, CodeUse::First(code.clone()));
    assert_eq!(
        store
            .use_code("nope", &app.id, |_| oidc_event("x"))
            .await
            .unwrap(),
        CodeUse::Unknown
    );
    let grant = Grant {
        id: "g1".into(),
        application_id: app.id.clone(),
        scope: "openid".into(),
        nonce: None,
        authentication,
        created_at: T0,
        expires_at: T0 + 3_600_000,
        revoked_at: None,
    };
    let r1 = NewRefreshToken {
        token_hash: "r1".into(),
        expires_at: T0 + 600_000,
    };
    assert!(store
        .start_grant(&grant, Some(&r1), oidc_event("oidc.token.issue"))
        .await
        .unwrap());
    let r2 = NewRefreshToken {
        token_hash: "r2".into(),
        expires_at: T0 + 600_000,
    };
    assert!(store
        .rotate_refresh_token("r1", "g1", &r2, oidc_event("oidc.token.issue"))
        .await
        .unwrap());
    // A rotated token cannot be rotated again, even by a request racing the first.
    let r3 = NewRefreshToken {
        token_hash: "r3".into(),
        expires_at: T0 + 600_000,
    };
    assert!(!store
        .rotate_refresh_token("r1", "g1", &r3, oidc_event("oidc.token.issue"))
        .await
        .unwrap());
    let (old, _) = store.refresh_token("r1").await.unwrap().unwrap();
    assert!(old.rotated_at.is_some());
    let (new, g) = store.refresh_token("r2").await.unwrap().unwrap();
    assert_eq!((new.rotated_at, g.revoked_at), (None, None));
    assert!(store.refresh_token("r3").await.unwrap().is_none());

    // The code presented again: the grant goes, and with it the newest refresh token.
    clock.advance_ms(1_000);
    let again = store
        .use_code("c1", &app.id, |_| oidc_event("oidc.code.replay"))
        .await
        .unwrap();
    assert_eq!(again, CodeUse::Replayed(code));
    assert_eq!(
        store.grant("g1").await.unwrap().unwrap().revoked_at,
        Some(T0 + 1_000)
    );
    assert!(!store
        .rotate_refresh_token("r2", "g1", &r3, oidc_event("oidc.token.issue"))
        .await
        .unwrap());
    let activities: Vec<String> = store
        .list_audit(&trustplane_store::AuditQuery {
            category: Some("federation".into()),
            top: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.activity)
        .collect();
    assert_eq!(
        activities,
        [
            "oidc.code.issue",
            "oidc.token.issue",
            "oidc.token.issue",
            "oidc.code.replay"
        ]
    );

    // Revoked access tokens are remembered until they expire.
    store
        .revoke_access_token("jti-1", T0 + 5_000, oidc_event("oidc.token.revoke"))
        .await
        .unwrap();
    assert!(store.access_token_revoked("jti-1").await.unwrap());
    assert!(!store.access_token_revoked("jti-2").await.unwrap());
    assert!(store
        .verify_audit_chain()
        .await
        .unwrap()
        .first_problem
        .is_none());
}

async fn oidc_grants_end_with_the_sign_ins_they_came_from(db: Db) {
    use trustplane_store::{AuthCode, Authentication, Grant, PasswordSignIns, UserPatch};
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    let user = store
        .create_user(&admin(), new_user("ada@example.com"))
        .await
        .unwrap();
    let app = store
        .create_application(
            &admin(),
            trustplane_store::NewApplication {
                display_name: "web".into(),
                app_id: Some("web".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for s in ["s1", "s2"] {
        store
            .create_session(
                trustplane_store::NewSession {
                    id: s.into(),
                    user_id: user.id.clone(),
                    token_hash: format!("token-of-{s}"),
                    amr: vec!["pwd".into()],
                    mfa: false,
                    ip_address: None,
                    user_agent: None,
                    client_app: "browser".into(),
                    restriction: None,
                },
                trustplane_model::Event {
                    category: "signIn".into(),
                    ..oidc_event("signIn")
                },
            )
            .await
            .unwrap();
    }
    let authentication = |session: Option<&str>| Authentication {
        user_id: user.id.clone(),
        session_id: session.map(str::to_string),
        auth_time: T0,
        amr: vec!["pwd".into()],
        mfa_at: None,
        client_app: "browser".into(),
    };
    let grant = |id: &str, session: Option<&str>| Grant {
        id: id.into(),
        application_id: app.id.clone(),
        scope: "openid".into(),
        nonce: None,
        authentication: authentication(session),
        created_at: T0,
        expires_at: T0 + 3_600_000,
        revoked_at: None,
    };
    let start = |g: Grant| {
        let store = store.clone();
        async move {
            store
                .start_grant(&g, None, oidc_event("oidc.token.issue"))
                .await
                .unwrap()
        }
    };
    let revoked = |id: &'static str| {
        let store = store.clone();
        async move { store.grant(id).await.unwrap().unwrap().revoked_at.is_some() }
    };
    for (id, session) in [("g1", Some("s1")), ("g2", Some("s2")), ("g3", None)] {
        assert!(start(grant(id, session)).await);
    }

    // Signing out ends that session's grants only; its codes can no longer start one.
    store.sign_out("token-of-s1").await.unwrap();
    assert!(revoked("g1").await);
    assert!(!revoked("g2").await && !revoked("g3").await);
    assert!(
        !start(grant("g4", Some("s1"))).await,
        "the session has ended"
    );
    assert!(store.grant("g4").await.unwrap().is_none());

    // A rehash of the same password ends nothing.
    store
        .update_user(
            &admin(),
            &user.id,
            UserPatch {
                password_hash: Some("$argon2id$rehashed".into()),
                password_sign_ins: PasswordSignIns::Rehash,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!revoked("g2").await && !revoked("g3").await);

    // A new password changed in s2 keeps s2 but ends every grant and every unspent code.
    let code = AuthCode {
        code_hash: "c1".into(),
        grant_id: "g5".into(),
        application_id: app.id.clone(),
        redirect_uri: "https://rp.example/cb".into(),
        scope: "openid".into(),
        nonce: None,
        code_challenge: None,
        authentication: authentication(Some("s2")),
        expires_at: T0 + 60_000,
    };
    store
        .issue_code(&code, oidc_event("oidc.code.issue"))
        .await
        .unwrap();
    store
        .update_user(
            &admin(),
            &user.id,
            UserPatch {
                password_hash: Some("$argon2id$new".into()),
                password_sign_ins: PasswordSignIns::KeepSession("s2".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(revoked("g2").await && revoked("g3").await);
    assert_eq!(
        store
            .use_code("c1", &app.id, |_| oidc_event("x"))
            .await
            .unwrap(),
        trustplane_store::CodeUse::Unknown
    );
    let sessions = store.list_sessions(&user.id).await.unwrap();
    assert_eq!(
        sessions
            .iter()
            .map(|s| s.info.id.as_str())
            .collect::<Vec<_>>(),
        ["s2"]
    );

    // Revoking every session takes the grants started since; a disabled user starts none.
    assert!(start(grant("g6", Some("s2"))).await);
    assert_eq!(
        store.revoke_all_sessions(&admin(), &user.id).await.unwrap(),
        1
    );
    assert!(revoked("g6").await);
    assert!(start(grant("g7", None)).await);
    store
        .update_user(
            &admin(),
            &user.id,
            UserPatch {
                account_enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(revoked("g7").await);
    assert!(!start(grant("g8", None)).await, "the user is disabled");
    assert!(store
        .verify_audit_chain()
        .await
        .unwrap()
        .first_problem
        .is_none());
}

async fn changes_move_at_commit_here_and_reach_other_nodes_on_postgres(db: Db) {
    let clock = ManualClock::new(T0);
    let node_a = open(&db, &clock).await;
    let node_b = open(&db, &clock).await;
    let postgres = node_a.backend() == Backend::Postgres;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while postgres && !(node_a.changes().listening() && node_b.changes().listening()) {
        assert!(
            std::time::Instant::now() < deadline,
            "node b never listened"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let app = |name: &str| NewApplication {
        display_name: name.into(),
        description: None,
        app_id: Some("wiki".into()),
        settings: Default::default(),
    };
    let a0 = node_a.changes().generation(Topic::Applications);
    let b0 = node_b.changes().generation(Topic::Applications);
    let p0 = node_a.changes().generation(Topic::Policies);
    node_a
        .create_application(&admin(), app("Wiki"))
        .await
        .unwrap();
    // Here: at once, and only for the topic written.
    assert!(node_a.changes().generation(Topic::Applications) > a0);
    assert_eq!(node_a.changes().generation(Topic::Policies), p0);
    if postgres {
        // There: once the notification arrives.
        let sent = std::time::Instant::now();
        while node_b.changes().generation(Topic::Applications) == b0 {
            assert!(
                std::time::Instant::now() < deadline,
                "node b never heard of the change"
            );
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        eprintln!("change reached the other node after {:?}", sent.elapsed());
    } else {
        // Another process on the same SQLite file is not told; caches bound how long that lasts.
        assert_eq!(node_b.changes().generation(Topic::Applications), b0);
    }
    // A write that fails changes nothing, so it moves nothing.
    let a1 = node_a.changes().generation(Topic::Applications);
    assert!(node_a
        .create_application(&admin(), app("Again"))
        .await
        .is_err());
    assert_eq!(node_a.changes().generation(Topic::Applications), a1);
}

async fn a_group_of_entries_chains_like_single_appends_and_a_tamper_is_found(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    let before = store
        .record_events(vec![oidc_event("single")])
        .await
        .unwrap()[0];
    // More than one multi-row statement's worth, between single appends.
    let group: Vec<_> = (0..250).map(|_| oidc_event("grouped")).collect();
    let seqs = store.record_events(group).await.unwrap();
    assert_eq!(seqs.len(), 250);
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!(seqs[0], before + 1);
    let after = store
        .record_events(vec![oidc_event("single")])
        .await
        .unwrap()[0];
    assert_eq!(after, seqs[249] + 1);
    let report = store.verify_audit_chain().await.unwrap();
    assert!(report.first_problem.is_none(), "{:?}", report.first_problem);
    // An entry in the middle of the group, altered, is named.
    let target = seqs[150];
    raw(
        &db,
        &format!(
            "UPDATE audit_log SET body = REPLACE(body, 'grouped', 'changed') WHERE seq = {target}"
        ),
    )
    .await;
    let problem = store
        .verify_audit_chain()
        .await
        .unwrap()
        .first_problem
        .unwrap();
    assert_eq!(problem.sequence, target);
}

async fn a_provisioned_group_cannot_be_nested_where_membership_grants_roles(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await;
    let a = admin();
    let hr = store
        .create_provisioning_connection(&a, "scimInbound", "HR", serde_json::json!({}), None)
        .await
        .unwrap();
    let outside = store
        .create_provisioned_group(&a, &hr.id, Some("g-1".into()), "Sales", &[])
        .await
        .unwrap()
        .group;
    let group = |name: &str, role_assignable: bool| NewGroup {
        display_name: name.into(),
        is_assignable_to_role: role_assignable,
        ..Default::default()
    };
    let tier0 = store.create_group(&a, group("Tier 0", true)).await.unwrap();
    let inner = store
        .create_group(&a, group("Tier 0 EMEA", false))
        .await
        .unwrap();
    store.add_member(&a, &tier0.id, &inner.id).await.unwrap();
    let wrapper = store
        .create_group(&a, group("Wrapper", false))
        .await
        .unwrap();
    store
        .add_member(&a, &wrapper.id, &outside.id)
        .await
        .unwrap();

    // Straight in, under a nested group, or wrapped in a local group: all refused.
    for (into, member) in [
        (&tier0.id, &outside.id),
        (&inner.id, &outside.id),
        (&tier0.id, &wrapper.id),
    ] {
        let refused = store.add_member(&a, into, member).await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(ref m)) if m.contains("outside Trustplane")),
            "{refused:?}"
        );
    }
    let (_, groups) = store.list_members(&tier0.id, true).await.unwrap();
    assert!(!groups
        .iter()
        .any(|g| g.id == outside.id || g.id == wrapper.id));

    // Where membership grants nothing, the group may be nested.
    let plain = store
        .create_group(&a, group("Newsletter", false))
        .await
        .unwrap();
    store.add_member(&a, &plain.id, &outside.id).await.unwrap();
}
