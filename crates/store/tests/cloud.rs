//! Connected clouds in the store, on both backends: scan results where a check could not be
//! evaluated, the log-source cursor that only moves from where the mover read it, migrations
//! applied by version set (a lower number landing later still runs), and the records of
//! privileged access (requests that move only from the state they were read in, grants,
//! reviews, outside grants, the outbox).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use serde_json::json;
use sqlx::Connection;
use trustplane_model::{Actor, ManualClock};
use trustplane_store::{NewLogSource, ScanFinding, Store, StoreError};

const T0: i64 = 1_790_000_000_000;

struct Db {
    url: String,
    _dir: Option<tempfile::TempDir>,
}

async fn fresh_db(backend: &str) -> Option<Db> {
    if backend == "sqlite" {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        return Some(Db {
            url,
            _dir: Some(dir),
        });
    }
    let Ok(admin) = std::env::var("TRUSTPLANE_TEST_POSTGRES_URL") else {
        if std::env::var("TRUSTPLANE_SKIP_POSTGRES").as_deref() == Ok("1") {
            return None;
        }
        panic!("TRUSTPLANE_TEST_POSTGRES_URL is not set (set TRUSTPLANE_SKIP_POSTGRES=1 to skip)");
    };
    let name = format!("tp_{}", trustplane_model::new_id().replace('-', ""));
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

async fn open(db: &Db, clock: &ManualClock) -> Result<Store, StoreError> {
    Store::open(&db.url, Arc::new(clock.clone())).await
}

async fn raw(db: &Db, sql: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
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
    a_check_that_could_not_be_evaluated_resolves_nothing,
    the_log_cursor_moves_only_from_where_it_was_read,
    migrations_apply_by_version_set,
    pim_records_move_only_from_the_state_they_were_read_in,
);

fn finding(check: &str, resource: &str, status: &str) -> ScanFinding {
    ScanFinding {
        provider: "aws".into(),
        account: "111122223333".into(),
        check_id: check.into(),
        resource_id: resource.into(),
        status: status.into(),
        severity: "high".into(),
        body: json!({ "check_id": check, "resource": { "id": resource } }),
    }
}

async fn state_of(store: &Store, resource: &str) -> (String, bool) {
    let all = store
        .list_findings(None, Some("111122223333"), None, 100)
        .await
        .unwrap();
    let f = all
        .iter()
        .find(|f| f["resource"]["id"] == resource)
        .unwrap_or_else(|| panic!("no {resource} in {all:?}"));
    (
        f["state"].as_str().unwrap().to_string(),
        f["resolvedAt"].is_string(),
    )
}

async fn a_check_that_could_not_be_evaluated_resolves_nothing(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await.unwrap();
    let actor = Actor::system();
    let accounts = ["111122223333".to_string()];
    let s = store
        .record_scan(
            &actor,
            &accounts,
            vec![
                finding("sg_open", "sg-1", "FAIL"),
                finding("sg_open", "sg-2", "FAIL"),
                finding("key_rotated", "key-1", "FAIL"),
            ],
        )
        .await
        .unwrap();
    assert_eq!((s.new, s.resolved, s.open_failures), (3, 0, 3));

    // EC2 could not be read: the check is ERROR for the account, its resources absent. The
    // key check's resource turned ERROR itself. Nothing is resolved.
    clock.advance_ms(1000);
    let s = store
        .record_scan(
            &actor,
            &accounts,
            vec![
                finding("sg_open", "111122223333/us-east-1", "ERROR"),
                finding("key_rotated", "key-1", "ERROR"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(s.resolved, 0, "{s:?}");
    assert_eq!(state_of(&store, "sg-1").await, ("FAIL".into(), false));
    assert_eq!(state_of(&store, "key-1").await, ("ERROR".into(), false));

    // Readable again: sg-1 passes (resolved), sg-2 is gone (resolved), the key still fails.
    clock.advance_ms(1000);
    let s = store
        .record_scan(
            &actor,
            &accounts,
            vec![
                finding("sg_open", "sg-1", "PASS"),
                finding("key_rotated", "key-1", "FAIL"),
            ],
        )
        .await
        .unwrap();
    assert_eq!((s.resolved, s.open_failures), (2, 1), "{s:?}");
    assert_eq!(state_of(&store, "sg-1").await, ("PASS".into(), true));
    assert_eq!(state_of(&store, "sg-2").await, ("RESOLVED".into(), true));
    assert_eq!(state_of(&store, "key-1").await, ("FAIL".into(), false));
}

async fn the_log_cursor_moves_only_from_where_it_was_read(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await.unwrap();
    let actor = Actor::system();
    let new = NewLogSource {
        display_name: "trail".into(),
        bucket: "trail-logs".into(),
        prefix: "AWSLogs/".into(),
        region: "us-east-1".into(),
        role_arn: None,
        endpoint_url: None,
        poll_interval_secs: 60,
        enabled: true,
    };
    let err = store
        .create_log_source(
            &actor,
            NewLogSource {
                poll_interval_secs: 1,
                ..new.clone()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Invalid {
            field: "pollIntervalSecs",
            ..
        }
    ));
    let s = store.create_log_source(&actor, new).await.unwrap();
    assert_eq!(store.due_log_sources().await.unwrap().len(), 1);

    assert!(store
        .advance_log_source(&s.id, None, "a", 3, None)
        .await
        .unwrap());
    // A second poller that read the cursor before the first moved it changes nothing.
    assert!(!store
        .advance_log_source(&s.id, None, "a", 3, None)
        .await
        .unwrap());
    assert!(store
        .advance_log_source(&s.id, Some("a"), "b", 2, None)
        .await
        .unwrap());

    // An object that keeps failing counts its attempts, then is given up on.
    for n in 1..=2 {
        let attempts = store
            .note_log_object_failure(&s.id, Some("b"), "c", "AccessDenied")
            .await
            .unwrap();
        assert_eq!(attempts, n);
    }
    let after = store.get_log_source(&s.id).await.unwrap();
    assert_eq!(after.failing_key.as_deref(), Some("c"));
    assert!(store
        .advance_log_source(&s.id, Some("b"), "c", 0, Some("AccessDenied"))
        .await
        .unwrap());
    let after = store.get_log_source(&s.id).await.unwrap();
    assert_eq!(after.last_key.as_deref(), Some("c"));
    assert_eq!(
        (after.objects_read, after.objects_failed, after.records_read),
        (2, 1, 5)
    );
    assert_eq!((after.failing_key, after.failing_attempts), (None, 0));
    assert!(after.last_error.unwrap().contains("c: AccessDenied"));

    store
        .finish_log_source_poll(&actor, &s.id, None, json!({"objects": 0}))
        .await
        .unwrap();
    assert!(
        store.due_log_sources().await.unwrap().is_empty(),
        "polled just now"
    );
    clock.advance_ms(60_000);
    assert_eq!(store.due_log_sources().await.unwrap().len(), 1);
}

async fn migrations_apply_by_version_set(db: Db) {
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await.unwrap();
    store.close().await;
    // As if migration 5 had landed after 8 was applied: it is applied on the next start.
    raw(
        &db,
        "DROP TABLE findings; DELETE FROM trustplane_schema WHERE version = 5",
    )
    .await;
    let store = open(&db, &clock).await.unwrap();
    assert!(store
        .list_findings(None, None, None, 10)
        .await
        .unwrap()
        .is_empty());
    store.close().await;
    // A version this program does not know: refused.
    raw(
        &db,
        "INSERT INTO trustplane_schema (version, description, applied_at) VALUES (99, 'future', 0)",
    )
    .await;
    let err = open(&db, &clock).await.unwrap_err();
    assert!(err.to_string().contains("schema version 99"), "{err}");
}

async fn pim_records_move_only_from_the_state_they_were_read_in(db: Db) {
    use trustplane_model::{ActivationRequest, AssignmentKind, RequestState};
    use trustplane_store::{
        Drift, NewAssignment, NewGroup, NewUser, PimGrant, RequestChange, Review, ReviewItem,
    };
    let clock = ManualClock::new(T0);
    let store = open(&db, &clock).await.unwrap();
    let sys = Actor::system();
    let ada = store
        .create_user(
            &sys,
            NewUser {
                user_principal_name: "ada@example.com".into(),
                display_name: "Ada".into(),
                account_enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let group = store
        .create_group(
            &sys,
            NewGroup {
                display_name: "Oncall".into(),
                is_assignable_to_role: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store.add_member(&sys, &group.id, &ada.id).await.unwrap();
    let role = trustplane_model::BuiltinRole::UserAdministrator.id();
    let eligible = store
        .create_role_assignment(
            &sys,
            NewAssignment {
                principal_id: group.id.clone(),
                role_definition_id: role.into(),
                directory_scope_id: "/".into(),
                assignment_type: AssignmentKind::Eligible,
                start: None,
                end: Some(T0 + 86_400_000),
            },
        )
        .await
        .unwrap();
    // Eligible through the group, until the assignment's end.
    assert_eq!(store.eligible_assignments(&ada.id).await.unwrap().len(), 1);

    let request = ActivationRequest {
        id: "r1".into(),
        principal_id: ada.id.clone(),
        role_definition_id: role.into(),
        directory_scope_id: "/".into(),
        eligibility_id: eligible.id.clone(),
        state: RequestState::PendingApproval,
        reason: None,
        justification: Some("why".into()),
        ticket_number: None,
        duration_seconds: 3600,
        requested_date_time: trustplane_model::from_ms(T0),
        start_date_time: None,
        activated_date_time: None,
        end_date_time: None,
        decided_by: None,
        mfa: true,
    };
    store.insert_pim_request(&sys, &request).await.unwrap();
    let approve = || RequestChange {
        decided_by: Some("bob".into()),
        ..RequestChange::to(RequestState::Approved, Some("ok".into()))
    };
    let r = store
        .transition_pim_request(
            &sys,
            "r1",
            &[RequestState::PendingApproval],
            approve(),
            "pim.request.approve",
        )
        .await
        .unwrap();
    assert_eq!(
        (r.state, r.decided_by.as_deref(), r.reason.as_deref()),
        (RequestState::Approved, Some("bob"), Some("ok"))
    );
    // A second decision finds it no longer pending.
    let again = store
        .transition_pim_request(
            &sys,
            "r1",
            &[RequestState::PendingApproval],
            approve(),
            "pim.request.approve",
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let end = T0 + 3_600_000;
    let r = store
        .transition_pim_request(
            &sys,
            "r1",
            &[RequestState::Approved],
            RequestChange {
                activated_at: Some(T0),
                end_at: Some(end),
                ..RequestChange::to(RequestState::Active, None)
            },
            "pim.activation.start",
        )
        .await
        .unwrap();
    assert_eq!(
        r.reason.as_deref(),
        Some("ok"),
        "a change without a reason keeps the earlier one"
    );
    assert_eq!(
        store
            .list_pim_requests(Some(&ada.id), &[RequestState::Active])
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store
        .list_pim_requests(None, &[RequestState::Expired])
        .await
        .unwrap()
        .is_empty());

    // The activated role: one assignment, extended in place, then released.
    store
        .hold_activated_role(&sys, &ada.id, role, "/", end)
        .await
        .unwrap();
    store
        .hold_activated_role(&sys, &ada.id, role, "/", end + 1000)
        .await
        .unwrap();
    let held = store
        .direct_active_assignment(&ada.id, role, "/")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        held.end_date_time.map(trustplane_model::to_ms),
        Some(end + 1000)
    );
    assert_eq!(store.effective_roles(&ada.id).await.unwrap().len(), 1);
    store
        .release_activated_role(&sys, &ada.id, role, "/")
        .await
        .unwrap();
    assert!(store.effective_roles(&ada.id).await.unwrap().is_empty());

    let mut grant = PimGrant {
        key: "azure|s|r|p".into(),
        kind: "cloud".into(),
        user_id: ada.id.clone(),
        role_id: role.into(),
        scope: "/".into(),
        target: json!({"connectionId": "c"}),
        state: "granting".into(),
        until: end,
        last_error: None,
    };
    store.put_pim_grant(&grant).await.unwrap();
    grant.state = "held".into();
    grant.last_error = Some("x".into());
    store.put_pim_grant(&grant).await.unwrap();
    assert_eq!(store.pim_grants().await.unwrap(), vec![grant.clone()]);
    store.delete_pim_grant(&grant.key).await.unwrap();
    assert!(store.pim_grants().await.unwrap().is_empty());

    // A review's removal takes the eligible assignment away with the review's completion.
    let review = Review {
        id: "rv".into(),
        role_definition_id: role.into(),
        directory_scope_id: "/".into(),
        reviewers: vec!["carol".into()],
        default_decision: "remove".into(),
        created_by: "root".into(),
        created_at: T0,
        due_at: T0 + 1000,
        status: "inProgress".into(),
        completed_at: None,
        items: vec![ReviewItem {
            assignment_id: eligible.id.clone(),
            principal_id: group.id.clone(),
            decision: None,
            reviewer_id: None,
            comment: None,
            outcome: None,
        }],
    };
    store.create_pim_review(&sys, &review).await.unwrap();
    assert!(store.pim_review_ids(Some(T0)).await.unwrap().is_empty());
    assert_eq!(
        store.pim_review_ids(Some(T0 + 1000)).await.unwrap(),
        vec!["rv".to_string()]
    );
    store
        .complete_pim_review(
            &sys,
            "rv",
            &[(eligible.id.clone(), "defaultRemoved".into())],
        )
        .await
        .unwrap();
    assert!(matches!(
        store.complete_pim_review(&sys, "rv", &[]).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .decide_pim_review_item(&sys, "rv", &eligible.id, "keep", None)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store
        .eligible_assignments(&ada.id)
        .await
        .unwrap()
        .is_empty());

    // Outside grants stay open while seen and resolve when gone.
    let drift = Drift {
        key: "k".into(),
        role_definition_id: role.into(),
        principal: "p".into(),
        detail: json!({}),
        first_seen: T0,
        last_seen: T0,
        removed_at: None,
    };
    store
        .record_drift(&sys, std::slice::from_ref(&drift))
        .await
        .unwrap();
    clock.advance_ms(1000);
    store.record_drift(&sys, &[drift]).await.unwrap();
    let open_now = store.open_drift().await.unwrap();
    assert_eq!(
        (
            open_now.len(),
            open_now[0].first_seen,
            open_now[0].last_seen
        ),
        (1, T0, T0 + 1000)
    );
    store.record_drift(&sys, &[]).await.unwrap();
    assert!(store.open_drift().await.unwrap().is_empty());

    // The outbox: unsent until marked sent.
    store
        .enqueue_notifications(vec![trustplane_store::NewMessage {
            channel: "webhook".into(),
            recipient: "http://h".into(),
            subject: "s".into(),
            body: "{}".into(),
        }])
        .await
        .unwrap();
    let pending = store.outbox(Some("webhook"), 10).await.unwrap();
    store
        .mark_notification(&pending[0].id, Err("HTTP 500".into()))
        .await
        .unwrap();
    assert_eq!(
        store.outbox(Some("webhook"), 10).await.unwrap()[0].attempts,
        1
    );
    store
        .mark_notification(&pending[0].id, Ok(()))
        .await
        .unwrap();
    assert!(store.outbox(Some("webhook"), 10).await.unwrap().is_empty());
    assert_eq!(store.outbox(None, 10).await.unwrap()[0].attempts, 2);
}
