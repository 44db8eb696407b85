//! Who may administer whom, decided without HTTP: a User Administrator manages ordinary
//! users and groups, not the people or groups behind privileged roles, and every refusal is
//! in the audit trail before it is answered.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use serde_json::Map;
use trustplane_idp::admin::{AccessError, Admin};
use trustplane_model::{Actor, AssignmentKind, BuiltinRole, Group, ManualClock, Permission, User};
use trustplane_store::{AuditQuery, NewAssignment, NewGroup, NewUser, Store};

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = Store::open(&url, Arc::new(ManualClock::new(1_790_000_000_000)))
        .await
        .unwrap();
    (dir, store)
}

async fn user(store: &Store, name: &str) -> User {
    store
        .create_user(
            &Actor::system(),
            NewUser {
                user_principal_name: format!("{name}@example.com"),
                display_name: name.into(),
                mail: None,
                given_name: None,
                surname: None,
                account_enabled: true,
                attributes: Map::new(),
                password_hash: None,
                password_must_change: false,
            },
        )
        .await
        .unwrap()
}

async fn assign(store: &Store, principal: &str, role: BuiltinRole) {
    store
        .create_role_assignment(
            &Actor::system(),
            NewAssignment {
                principal_id: principal.into(),
                role_definition_id: role.id().into(),
                directory_scope_id: "/".into(),
                assignment_type: AssignmentKind::Active,
                start: None,
                end: None,
            },
        )
        .await
        .unwrap();
}

async fn admin(store: &Store, u: &User) -> Admin {
    Admin {
        user: u.clone(),
        roles: store.effective_roles(&u.id).await.unwrap(),
        actor: Actor {
            id: u.id.clone(),
            display_name: Some(u.user_principal_name.clone()),
            ip_address: None,
            user_agent: None,
        },
        request: "PATCH /api/v1/users/x".into(),
    }
}

async fn group(store: &Store, name: &str, role_assignable: bool) -> Group {
    store
        .create_group(
            &Actor::system(),
            NewGroup {
                display_name: name.into(),
                description: None,
                is_assignable_to_role: role_assignable,
                members: vec![],
            },
        )
        .await
        .unwrap()
}

async fn denials(store: &Store, actor: &str) -> Vec<String> {
    let q = AuditQuery {
        actor: Some(actor.into()),
        activity: Some("authorization.denied".into()),
        top: 100,
        ..Default::default()
    };
    let page = store.list_audit(&q).await.unwrap();
    page.items
        .into_iter()
        .filter_map(|e| e.result_reason)
        .collect()
}

#[tokio::test]
async fn a_user_administrator_manages_ordinary_people_only() {
    let (_dir, store) = store().await;
    let helpdesk = user(&store, "helpdesk").await;
    assign(&store, &helpdesk.id, BuiltinRole::UserAdministrator).await;
    let global = user(&store, "global").await;
    assign(&store, &global.id, BuiltinRole::GlobalAdministrator).await;
    let plain = user(&store, "plain").await;
    let me = admin(&store, &helpdesk).await;

    assert!(me.allows(Permission::UsersWrite));
    me.require(&store, Permission::UsersWrite).await.unwrap();
    me.require_tier_over(&store, &plain, "password")
        .await
        .unwrap();
    me.require_tier_over(&store, &helpdesk, "password")
        .await
        .unwrap();
    assert!(denials(&store, &helpdesk.id).await.is_empty());

    // Resetting a Global Administrator's password would make the helpdesk one.
    match me.require_tier_over(&store, &global, "password").await {
        Err(AccessError::Denied(why)) => assert!(why.contains("global@example.com"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(matches!(
        me.require(&store, Permission::RoleAssignmentsWrite).await,
        Err(AccessError::Denied(_))
    ));
    assert!(matches!(
        me.require_global(&store, "mints a token").await,
        Err(AccessError::Denied(_))
    ));
    let refused = denials(&store, &helpdesk.id).await;
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused
        .iter()
        .all(|r| r.starts_with("PATCH /api/v1/users/x")));

    // The Global Administrator passes each of them.
    let top = admin(&store, &global).await;
    top.require_tier_over(&store, &helpdesk, "password")
        .await
        .unwrap();
    top.require_global(&store, "mints a token").await.unwrap();
}

#[tokio::test]
async fn groups_that_grant_roles_need_role_assignment_rights() {
    let (_dir, store) = store().await;
    let helpdesk = user(&store, "helpdesk").await;
    assign(&store, &helpdesk.id, BuiltinRole::UserAdministrator).await;
    let pra = user(&store, "pra").await;
    assign(&store, &pra.id, BuiltinRole::PrivilegedRoleAdministrator).await;
    let ordinary = group(&store, "Wiki editors", false).await;
    let admins = group(&store, "Tier zero", true).await;
    assign(&store, &admins.id, BuiltinRole::GlobalAdministrator).await;

    let me = admin(&store, &helpdesk).await;
    me.require_any_group_write(&store).await.unwrap();
    me.require_membership_change(&store, &ordinary)
        .await
        .unwrap();
    // The way from User Administrator to Global Administrator through a group is closed.
    assert!(matches!(
        me.require_membership_change(&store, &admins).await,
        Err(AccessError::Denied(_))
    ));
    assert_eq!(denials(&store, &helpdesk.id).await.len(), 1);

    // A Privileged Role Administrator manages it without `groups/write`.
    let them = admin(&store, &pra).await;
    them.require_membership_change(&store, &admins)
        .await
        .unwrap();
    them.require_any_group_write(&store).await.unwrap();
    assert!(matches!(
        them.require_membership_change(&store, &ordinary).await,
        Err(AccessError::Denied(_))
    ));
}

#[tokio::test]
async fn api_tokens_of_others_are_the_top_tier_s_alone() {
    use trustplane_idp::api_tokens::{self, CreateToken, TokenError};
    let (_dir, store) = store().await;
    let global = user(&store, "global").await;
    assign(&store, &global.id, BuiltinRole::GlobalAdministrator).await;
    let reader = user(&store, "reader").await;
    assign(&store, &reader.id, BuiltinRole::SecurityReader).await;
    let top = admin(&store, &global).await;
    let them = admin(&store, &reader).await;
    let body = |user: &User, description: &str| CreateToken {
        user_id: user.user_principal_name.clone(),
        description: description.into(),
        expires_in_days: Some(1),
    };

    assert!(matches!(
        api_tokens::create(&store, &top, body(&reader, " ")).await,
        Err(TokenError::Description)
    ));
    let (token, owner) = api_tokens::create(&store, &top, body(&reader, "ci"))
        .await
        .unwrap();
    assert!(token.starts_with(api_tokens::API_TOKEN_PREFIX));
    assert_eq!(owner.id, reader.id);
    let found = store
        .find_token_owner(&trustplane_authn::hash_session_token(&token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user.id, reader.id, "stored as its hash, found by it");

    // Without `apiTokens/write` nobody mints, even for themselves.
    assert!(matches!(
        api_tokens::create(&store, &them, body(&reader, "mine")).await,
        Err(TokenError::Access(AccessError::Denied(_)))
    ));
    // One's own tokens are listed; everyone's only for the top tier.
    let mine = api_tokens::list(&store, &them, None).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert!(api_tokens::list(&store, &them, Some("all")).await.is_err());
    assert_eq!(
        api_tokens::list(&store, &top, Some("all"))
            .await
            .unwrap()
            .len(),
        1
    );
    // Someone else's token cannot be revoked below the top tier; one's own can.
    let (other, _) = api_tokens::create(&store, &top, body(&global, "own"))
        .await
        .unwrap();
    let others = api_tokens::list(&store, &top, None).await.unwrap();
    assert!(matches!(
        api_tokens::revoke(&store, &them, &others[0].id).await,
        Err(TokenError::Access(AccessError::Denied(_)))
    ));
    api_tokens::revoke(&store, &them, &mine[0].id)
        .await
        .unwrap();
    assert!(!other.is_empty());
}
