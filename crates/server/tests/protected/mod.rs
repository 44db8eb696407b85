//! Protected principals and the last way in, over the API: a User Administrator cannot reach
//! Global Administrator through a role-assignable group, a PIM approver group or another
//! administrator's credentials; only a Global Administrator mints tokens for others; and the
//! last enabled Global Administrator who can sign in cannot be disabled or lose their passkey.
//! Every refusal is a 403 or 409 problem, audited, that changes nothing.

use super::conditional_access_support::{admin_token, api};
use super::*;
use reqwest::Method;
use trustplane_model::{AssignmentKind, BuiltinRole, Permission, RolePermission};
use trustplane_store::NewAssignment;

/// A call with someone's token: status, content type and JSON body (Null when empty).
async fn call(
    s: &Server,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, String, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", s.base))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, r.json().await.unwrap_or(Value::Null))
}

/// A refusal: the status, a problem document, and a reason naming what it needs.
async fn refused(
    s: &Server,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
    needs: &str,
) {
    let (st, kind, problem) = call(s, token, method.clone(), path, body).await;
    assert_eq!(st, status, "{method} {path}: {problem}");
    assert_eq!(kind, "application/problem+json", "{method} {path}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(needs), "{method} {path}: {detail}");
}

async fn token_for(s: &Server, id: &str, token: &str) {
    s.store
        .create_api_token(
            &Actor::system(),
            id,
            &trustplane_authn::hash_session_token(token),
            "test",
            None,
        )
        .await
        .unwrap();
}

async fn assign(s: &Server, principal: &str, role: &str, kind: AssignmentKind) -> String {
    s.store
        .create_role_assignment(
            &Actor::system(),
            NewAssignment {
                principal_id: principal.into(),
                role_definition_id: role.into(),
                directory_scope_id: "/".into(),
                assignment_type: kind,
                start: None,
                end: None,
            },
        )
        .await
        .unwrap()
        .id
}

/// A person with a password, an API token and an active role: (id, token).
async fn holder(s: &Server, upn: &str, role: Option<&str>) -> (String, String) {
    let id = user(s, upn).await;
    let token = format!("tp_protected_{}", upn.replace(['@', '.'], "_"));
    token_for(s, &id, &token).await;
    if let Some(role) = role {
        assign(s, &id, role, AssignmentKind::Active).await;
    }
    (id, token)
}

async fn denials(s: &Server, target: &str) -> Vec<Value> {
    audit_events(s, "authorization")
        .await
        .into_iter()
        .filter(|e| e["activity"] == "authorization.denied" && e["target"]["id"] == target)
        .collect()
}

async fn member_ids(s: &Server, group: &str) -> Vec<String> {
    let (st, list) = api(
        s,
        Method::GET,
        &format!("/api/v1/groups/{group}/members"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{list}");
    list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

async fn root_id(s: &Server) -> String {
    s.store.get_user("root@example.com").await.unwrap().id
}

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const PRIV_ROLE_ADMIN: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
const USER_ADMIN: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
const NEEDS_ROLE_WRITE: &str = "trustplane.directory/roleAssignments/write";

#[tokio::test]
async fn a_user_administrator_cannot_join_groups_that_hold_roles_or_approve_elevations() {
    let s = server().await;
    admin_token(&s).await;
    let (ua, ua_token) = holder(&s, "ua@example.com", Some(USER_ADMIN)).await;
    let (_, pra_token) = holder(&s, "pra@example.com", Some(PRIV_ROLE_ADMIN)).await;

    // A role-assignable group holding Global Administrator.
    let (st, tier0) = api(
        &s,
        Method::POST,
        "/api/v1/groups",
        Some(json!({"displayName": "Tier 0", "isAssignableToRole": true})),
    )
    .await;
    assert_eq!(st, 201, "{tier0}");
    let tier0 = tier0["id"].as_str().unwrap().to_string();
    assign(&s, &tier0, GLOBAL_ADMIN, AssignmentKind::Active).await;

    // The escalation: joining it. Refused, audited, nothing changes, and still no token for
    // someone else.
    let add = format!("/api/v1/groups/{tier0}/members/$ref");
    refused(
        &s,
        &ua_token,
        Method::POST,
        &add,
        Some(json!({"@odata.id": ua})),
        403,
        NEEDS_ROLE_WRITE,
    )
    .await;
    assert!(member_ids(&s, &tier0).await.is_empty());
    let denied = denials(&s, &tier0).await;
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0]["initiatedBy"]["id"], ua.as_str());
    assert_eq!(denied[0]["result"], "failure");
    let (st, _, _) = call(&s, &ua_token, Method::GET, "/api/v1/roleAssignments", None).await;
    assert_eq!(st, 200);
    let (_, _, me) = call(&s, &ua_token, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["roles"], json!(["User Administrator"]));

    // Nor through a group nested inside it, nor by creating, emptying or deleting such groups.
    let (st, _, inner) = call(
        &s,
        &ua_token,
        Method::POST,
        "/api/v1/groups",
        Some(json!({"displayName": "Helpers"})),
    )
    .await;
    assert_eq!(st, 201, "{inner}");
    let inner = inner["id"].as_str().unwrap().to_string();
    let (st, _) = api(&s, Method::POST, &add, Some(json!({"@odata.id": inner}))).await;
    assert_eq!(st, 204);
    refused(
        &s,
        &ua_token,
        Method::POST,
        &format!("/api/v1/groups/{inner}/members/$ref"),
        Some(json!({"@odata.id": ua})),
        403,
        "Tier 0",
    )
    .await;
    assert!(member_ids(&s, &inner).await.is_empty());
    refused(
        &s,
        &ua_token,
        Method::POST,
        "/api/v1/groups",
        Some(json!({"displayName": "Mine", "isAssignableToRole": true, "members": [ua]})),
        403,
        NEEDS_ROLE_WRITE,
    )
    .await;
    let (_, groups) = api(&s, Method::GET, "/api/v1/groups", None).await;
    assert_eq!(groups["value"].as_array().unwrap().len(), 2, "{groups}");
    refused(
        &s,
        &ua_token,
        Method::DELETE,
        &format!("/api/v1/groups/{tier0}/members/{inner}/$ref"),
        None,
        403,
        NEEDS_ROLE_WRITE,
    )
    .await;
    refused(
        &s,
        &ua_token,
        Method::DELETE,
        &format!("/api/v1/groups/{tier0}"),
        None,
        403,
        NEEDS_ROLE_WRITE,
    )
    .await;
    assert_eq!(member_ids(&s, &tier0).await, vec![inner.clone()]);

    // An ordinary group stays the User Administrator's to manage.
    let (st, _, plain) = call(
        &s,
        &ua_token,
        Method::POST,
        "/api/v1/groups",
        Some(json!({"displayName": "Book club", "members": [ua]})),
    )
    .await;
    assert_eq!(st, 201, "{plain}");
    let plain = plain["id"].as_str().unwrap().to_string();
    let (st, _, body) = call(
        &s,
        &ua_token,
        Method::DELETE,
        &format!("/api/v1/groups/{plain}/members/{ua}/$ref"),
        None,
    )
    .await;
    assert_eq!(st, 204, "{body}");
    let (st, _, body) = call(
        &s,
        &ua_token,
        Method::POST,
        &format!("/api/v1/groups/{plain}/members/$ref"),
        Some(json!({"@odata.id": ua})),
    )
    .await;
    assert_eq!(st, 204, "{body}");

    // A group named as approvers of an elevation is protected the same way.
    let (st, _) = api(
        &s,
        Method::PUT,
        &format!("/api/v1/pim/settings/{GLOBAL_ADMIN}"),
        Some(json!({"requireApproval": true, "approvers": [plain]})),
    )
    .await;
    assert_eq!(st, 200);
    refused(
        &s,
        &ua_token,
        Method::DELETE,
        &format!("/api/v1/groups/{plain}/members/{ua}/$ref"),
        None,
        403,
        "approve",
    )
    .await;
    let (bob, _) = holder(&s, "bob@example.com", None).await;
    refused(
        &s,
        &ua_token,
        Method::POST,
        &format!("/api/v1/groups/{plain}/members/$ref"),
        Some(json!({"@odata.id": bob})),
        403,
        "approve",
    )
    .await;
    assert_eq!(member_ids(&s, &plain).await, vec![ua.clone()]);

    // A Privileged Role Administrator may change role-assignable membership.
    let (st, _, body) = call(
        &s,
        &pra_token,
        Method::POST,
        &add,
        Some(json!({"@odata.id": bob})),
    )
    .await;
    assert_eq!(st, 204, "{body}");
    let (st, _, body) = call(
        &s,
        &pra_token,
        Method::DELETE,
        &format!("/api/v1/groups/{tier0}/members/{bob}/$ref"),
        None,
    )
    .await;
    assert_eq!(st, 204, "{body}");
    let (st, _, body) = call(
        &s,
        &pra_token,
        Method::POST,
        "/api/v1/groups",
        Some(json!({"displayName": "Tier 1", "isAssignableToRole": true, "members": [bob]})),
    )
    .await;
    assert_eq!(st, 201, "{body}");
}

#[tokio::test]
async fn only_a_global_administrator_mints_tokens_for_someone_else() {
    let s = server().await;
    admin_token(&s).await;
    let root = root_id(&s).await;
    // A custom role that may mint tokens, but is not Global Administrator.
    let mut minter = BuiltinRole::SecurityReader.definition();
    minter.id = String::new();
    minter.display_name = "Token Minter".into();
    minter.is_built_in = false;
    minter.role_permissions = vec![RolePermission {
        allowed_resource_actions: vec![
            Permission::ApiTokensWrite.action().into(),
            Permission::DirectoryRead.action().into(),
        ],
    }];
    let minter = s
        .store
        .create_role_definition(&Actor::system(), minter)
        .await
        .unwrap();
    let (m, m_token) = holder(&s, "minter@example.com", Some(&minter.id)).await;

    let before = audit_events(&s, "authentication").await.len();
    refused(
        &s,
        &m_token,
        Method::POST,
        "/api/v1/apiTokens",
        Some(json!({"userId": "root@example.com", "description": "take over"})),
        403,
        "Global Administrator",
    )
    .await;
    assert_eq!(
        audit_events(&s, "authentication").await.len(),
        before,
        "no token was made"
    );
    assert_eq!(denials(&s, &root).await.len(), 0);
    let denied: Vec<_> = audit_events(&s, "authorization")
        .await
        .into_iter()
        .filter(|e| e["initiatedBy"]["id"] == m.as_str())
        .collect();
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert!(denied[0]["resultReason"]
        .as_str()
        .unwrap()
        .contains("another user"));

    // Their own token is theirs to mint.
    let (st, _, own) = call(
        &s,
        &m_token,
        Method::POST,
        "/api/v1/apiTokens",
        Some(json!({"userId": m, "description": "mine"})),
    )
    .await;
    assert_eq!(st, 201, "{own}");

    // A Global Administrator may, and it stands out in the trail.
    let (st, other) = api(
        &s,
        Method::POST,
        "/api/v1/apiTokens",
        Some(json!({"userId": "minter@example.com", "description": "automation"})),
    )
    .await;
    assert_eq!(st, 201, "{other}");
    let events = audit_events(&s, "authentication").await;
    let last = events.last().unwrap();
    assert_eq!(last["activity"], "apiToken.createForAnotherUser");
    assert_eq!(last["initiatedBy"]["id"], root.as_str());
    assert_eq!(last["target"]["id"], m.as_str());
    assert!(
        last["resultReason"]
            .as_str()
            .unwrap()
            .contains("another user"),
        "{last}"
    );
}

#[tokio::test]
async fn a_user_administrator_cannot_take_over_an_administrator_but_manages_ordinary_users() {
    let s = server().await;
    admin_token(&s).await;
    let root = root_id(&s).await;
    let (_, ua_token) = holder(&s, "ua@example.com", Some(USER_ADMIN)).await;
    // Ada is only eligible for Global Administrator; Bob holds no role.
    let (ada, _) = holder(&s, "ada@example.com", None).await;
    assign(&s, &ada, GLOBAL_ADMIN, AssignmentKind::Eligible).await;
    let (bob, _) = holder(&s, "bob@example.com", None).await;
    let mut methods = Vec::new();
    for id in [&root, &ada, &bob] {
        methods.push(
            s.store
                .add_auth_method(&Actor::system(), id, "totp", "phone", "sealed", None)
                .await
                .unwrap(),
        );
    }
    let password = json!({"passwordProfile": {"password": "a brand new long passphrase 42", "forceChangePasswordNextSignIn": false}});
    let changes = [
        password.clone(),
        json!({"mail": "attacker@evil.example"}),
        json!({"userPrincipalName": "hijacked@example.com"}),
        json!({"accountEnabled": false}),
        json!({"attributes": {"azureObjectId": "00000000-0000-0000-0000-000000000001"}}),
    ];
    for (target, method) in [(&root, &methods[0]), (&ada, &methods[1])] {
        let before = s.store.get_user(target).await.unwrap();
        let hash = s.store.user_password(target).await.unwrap();
        for change in &changes {
            refused(
                &s,
                &ua_token,
                Method::PATCH,
                &format!("/api/v1/users/{target}"),
                Some(change.clone()),
                403,
                "Global Administrator",
            )
            .await;
        }
        for path in [
            format!("/api/v1/users/{target}/authenticationMethods/{method}"),
            format!("/api/v1/users/{target}"),
        ] {
            refused(
                &s,
                &ua_token,
                Method::DELETE,
                &path,
                None,
                403,
                "Global Administrator",
            )
            .await;
        }
        for action in ["revokeSignInSessions", "resetSignInFailures"] {
            refused(
                &s,
                &ua_token,
                Method::POST,
                &format!("/api/v1/users/{target}/{action}"),
                None,
                403,
                "Global Administrator",
            )
            .await;
        }
        assert_eq!(s.store.get_user(target).await.unwrap(), before);
        assert_eq!(s.store.user_password(target).await.unwrap(), hash);
        assert_eq!(
            s.store.list_auth_methods(target, None).await.unwrap().len(),
            1
        );
        assert_eq!(denials(&s, target).await.len(), changes.len() + 4);
        // A name people see is not a way in.
        let (st, _, body) = call(
            &s,
            &ua_token,
            Method::PATCH,
            &format!("/api/v1/users/{target}"),
            Some(json!({"displayName": "Renamed"})),
        )
        .await;
        assert_eq!(st, 200, "{body}");
    }

    // An ordinary user is the User Administrator's to manage.
    for change in &changes {
        let (st, _, body) = call(
            &s,
            &ua_token,
            Method::PATCH,
            &format!("/api/v1/users/{bob}"),
            Some(change.clone()),
        )
        .await;
        assert_eq!(st, 200, "{change}: {body}");
    }
    let (st, _, body) = call(
        &s,
        &ua_token,
        Method::DELETE,
        &format!("/api/v1/users/{bob}/authenticationMethods/{}", methods[2]),
        None,
    )
    .await;
    assert_eq!(st, 204, "{body}");
    for action in ["revokeSignInSessions", "resetSignInFailures"] {
        let (st, _, body) = call(
            &s,
            &ua_token,
            Method::POST,
            &format!("/api/v1/users/{bob}/{action}"),
            None,
        )
        .await;
        assert!(st == 200 || st == 204, "{action}: {st} {body}");
    }
    let (st, _, body) = call(
        &s,
        &ua_token,
        Method::DELETE,
        &format!("/api/v1/users/{bob}"),
        None,
    )
    .await;
    assert_eq!(st, 204, "{body}");

    // Someone named as an approver of elevations holds no role but is protected as privileged.
    let (carol, _) = holder(&s, "carol@example.com", None).await;
    let (st, body) = api(
        &s,
        Method::PUT,
        &format!("/api/v1/pim/settings/{GLOBAL_ADMIN}"),
        Some(json!({"requireApproval": true, "approvers": [carol]})),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    refused(
        &s,
        &ua_token,
        Method::PATCH,
        &format!("/api/v1/users/{carol}"),
        Some(password.clone()),
        403,
        "privileged role",
    )
    .await;

    // A Global Administrator may reset an eligible administrator's password.
    let (st, body) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/users/{ada}"),
        Some(password),
    )
    .await;
    assert_eq!(st, 200, "{body}");
}

#[tokio::test]
async fn the_last_global_administrator_who_can_sign_in_cannot_be_disabled_or_lose_the_way_in() {
    let s = server().await;
    admin_token(&s).await;
    let root = root_id(&s).await;
    let (_, ua_token) = holder(&s, "ua@example.com", Some(USER_ADMIN)).await;
    let disable = json!({"accountEnabled": false});
    let enable = json!({"accountEnabled": true});

    // By themselves: 409, and still enabled.
    let (st, body) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/users/{root}"),
        Some(disable.clone()),
    )
    .await;
    assert_eq!(st, 409, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Global Administrator"),
        "{body}"
    );
    assert!(s.store.get_user(&root).await.unwrap().account_enabled);
    // By a User Administrator: refused by tier before anything else.
    refused(
        &s,
        &ua_token,
        Method::PATCH,
        &format!("/api/v1/users/{root}"),
        Some(disable.clone()),
        403,
        "Global Administrator",
    )
    .await;
    // Nor by an automatic response that disables people, which the store refuses itself.
    let err = s
        .store
        .update_user(
            &Actor::system(),
            &root,
            UserPatch {
                account_enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, trustplane_store::StoreError::Conflict(_)),
        "{err}"
    );
    assert!(s.store.get_user(&root).await.unwrap().account_enabled);

    // With a second enabled Global Administrator who can sign in, either may be disabled,
    // but not both.
    let (second, second_token) = holder(&s, "second@example.com", Some(GLOBAL_ADMIN)).await;
    let (st, body) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/users/{second}"),
        Some(disable.clone()),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/users/{second}"),
        Some(enable.clone()),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let (st, _, body) = call(
        &s,
        &second_token,
        Method::PATCH,
        &format!("/api/v1/users/{root}"),
        Some(disable.clone()),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let (st, _, body) = call(
        &s,
        &second_token,
        Method::PATCH,
        &format!("/api/v1/users/{second}"),
        Some(disable.clone()),
    )
    .await;
    assert_eq!(st, 409, "{body}");
    let (st, _, body) = call(
        &s,
        &second_token,
        Method::PATCH,
        &format!("/api/v1/users/{root}"),
        Some(enable),
    )
    .await;
    assert_eq!(st, 200, "{body}");

    // A Global Administrator whose only way in is a passkey keeps it while they are the last
    // one who can sign in; a TOTP is no way in by itself, so it may go.
    let pk = s
        .store
        .create_user(
            &Actor::system(),
            NewUser {
                user_principal_name: "passkey@example.com".into(),
                display_name: "Passkey only".into(),
                account_enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    let pk_token = "tp_protected_passkey_only";
    token_for(&s, &pk, pk_token).await;
    assign(&s, &pk, GLOBAL_ADMIN, AssignmentKind::Active).await;
    let passkey = s
        .store
        .add_auth_method(
            &Actor::system(),
            &pk,
            "passkey",
            "key",
            "sealed",
            Some("credential-1"),
        )
        .await
        .unwrap();
    let totp = s
        .store
        .add_auth_method(&Actor::system(), &pk, "totp", "phone", "sealed", None)
        .await
        .unwrap();
    for other in [&root, &second] {
        let (st, _, body) = call(
            &s,
            pk_token,
            Method::PATCH,
            &format!("/api/v1/users/{other}"),
            Some(disable.clone()),
        )
        .await;
        assert_eq!(st, 200, "{body}");
    }
    let methods = format!("/api/v1/users/{pk}/authenticationMethods");
    let (st, _, body) = call(
        &s,
        pk_token,
        Method::DELETE,
        &format!("{methods}/{passkey}"),
        None,
    )
    .await;
    assert_eq!(st, 409, "{body}");
    assert_eq!(body["status"], 409);
    assert_eq!(
        s.store
            .list_auth_methods(&pk, Some("passkey"))
            .await
            .unwrap()
            .len(),
        1
    );
    let (st, _, body) = call(
        &s,
        pk_token,
        Method::DELETE,
        &format!("{methods}/{totp}"),
        None,
    )
    .await;
    assert_eq!(st, 204, "{body}");
    // Once another can sign in again, the passkey may go.
    let (st, _, body) = call(
        &s,
        pk_token,
        Method::PATCH,
        &format!("/api/v1/users/{root}"),
        Some(json!({"accountEnabled": true})),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let (st, _, body) = call(
        &s,
        pk_token,
        Method::DELETE,
        &format!("{methods}/{passkey}"),
        None,
    )
    .await;
    assert_eq!(st, 204, "{body}");
}

#[tokio::test]
async fn break_glass_recovery_restores_a_global_administrator_who_can_sign_in() {
    let s = server().await;
    admin_token(&s).await;
    let root = root_id(&s).await;
    // Everyone locked out, as a compromised or careless database writer could leave it.
    let locked = s
        .store
        .create_user(
            &Actor::system(),
            NewUser {
                user_principal_name: "locked@example.com".into(),
                display_name: "Locked".into(),
                account_enabled: false,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    let (upn, password) = trustplane_server::recover_admin(&s.store, "LOCKED@example.com")
        .await
        .unwrap();
    assert_eq!(upn, "locked@example.com");
    let user = s.store.get_user(&locked).await.unwrap();
    assert!(user.account_enabled);
    let (hash, must_change) = s.store.user_password(&locked).await.unwrap();
    assert!(must_change);
    assert!(
        trustplane_authn::verify_password(&password, &hash.unwrap())
            .unwrap()
            .valid
    );
    let roles = s.store.effective_roles(&locked).await.unwrap();
    assert_eq!(roles[0].id, GLOBAL_ADMIN);
    // A new user can be made the recovered administrator too, and both are audited.
    let (upn, _) = trustplane_server::recover_admin(&s.store, "glass@example.com")
        .await
        .unwrap();
    let glass = s.store.get_user(&upn).await.unwrap().id;
    assert_eq!(
        s.store.effective_roles(&glass).await.unwrap()[0].id,
        GLOBAL_ADMIN
    );
    let recoveries: Vec<_> = audit_events(&s, "directory")
        .await
        .into_iter()
        .filter(|e| e["activity"] == "breakGlass.recover")
        .collect();
    assert_eq!(recoveries.len(), 2);
    assert_eq!(recoveries[0]["target"]["id"], locked.as_str());
    assert!(recoveries[0]["resultReason"]
        .as_str()
        .unwrap()
        .contains("break-glass"));
    assert_ne!(root, locked);
    assert!(s
        .store
        .verify_audit_chain()
        .await
        .unwrap()
        .first_problem
        .is_none());
}

#[tokio::test]
async fn an_alert_response_by_hand_needs_the_same_tier_as_the_users_api() {
    let s = server().await;
    admin_token(&s).await;
    let root = root_id(&s).await;
    let (_, sa_token) = holder(
        &s,
        "sa@example.com",
        Some(BuiltinRole::SecurityAdministrator.id()),
    )
    .await;
    let (bob, _) = holder(&s, "bob@example.com", None).await;
    // A Security Administrator can push logs, and so can raise an alert about anyone.
    let mut alerts = Vec::new();
    for person in ["root@example.com", "bob@example.com"] {
        let r = reqwest::Client::new()
            .post(format!(
                "{}/api/v1/detect/ingest?source=cloudtrail-test",
                s.base
            ))
            .bearer_auth(&sa_token)
            .body(super::detection::stop_logging_by(person).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let (_, _, list) = call(
            &s,
            &sa_token,
            Method::GET,
            &format!("/api/v1/alerts?person={person}"),
            None,
        )
        .await;
        alerts.push(list["value"][0]["id"].as_str().unwrap().to_string());
    }
    for action in ["disableUser", "endSessions"] {
        refused(
            &s,
            &sa_token,
            Method::POST,
            &format!("/api/v1/alerts/{}/respond", alerts[0]),
            Some(json!({"action": action})),
            403,
            "Global Administrator",
        )
        .await;
    }
    assert!(s.store.get_user(&root).await.unwrap().account_enabled);
    assert_eq!(denials(&s, &root).await.len(), 2);
    // An ordinary person's alert is the Security Administrator's to act on.
    let (st, _, out) = call(
        &s,
        &sa_token,
        Method::POST,
        &format!("/api/v1/alerts/{}/respond", alerts[1]),
        Some(json!({"action": "disableUser"})),
    )
    .await;
    assert_eq!(st, 200, "{out}");
    assert!(!s.store.get_user(&bob).await.unwrap().account_enabled);
}

#[tokio::test]
async fn tokens_are_listed_and_revoked_by_their_owner_or_a_global_administrator() {
    let s = server().await;
    admin_token(&s).await;
    let (ada, ada_token) = holder(&s, "ada@example.com", None).await;
    let (_, bob_token) = holder(&s, "bob@example.com", None).await;

    // Ada sees her own token, never the token itself.
    let (st, _, mine) = call(&s, &ada_token, Method::GET, "/api/v1/apiTokens", None).await;
    assert_eq!(st, 200, "{mine}");
    let mine = mine["value"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["userId"], ada.as_str());
    assert!(!mine[0].to_string().contains(&ada_token));
    let ada_token_id = mine[0]["id"].as_str().unwrap().to_string();

    // Nobody's but her own, below Global Administrator.
    for path in [
        "/api/v1/apiTokens?userId=all",
        "/api/v1/apiTokens?userId=bob@example.com",
    ] {
        refused(
            &s,
            &ada_token,
            Method::GET,
            path,
            None,
            403,
            "Global Administrator",
        )
        .await;
    }
    let (_, _, bobs) = call(&s, &bob_token, Method::GET, "/api/v1/apiTokens", None).await;
    let bob_token_id = bobs["value"][0]["id"].as_str().unwrap().to_string();
    refused(
        &s,
        &ada_token,
        Method::DELETE,
        &format!("/api/v1/apiTokens/{bob_token_id}"),
        None,
        403,
        "Global Administrator",
    )
    .await;
    let (st, _, _) = call(&s, &bob_token, Method::GET, "/api/v1/me", None).await;
    assert_eq!(st, 200, "Bob's token survived Ada's attempt");

    // A malformed id is a clear 400 for the administrator, an unknown one a 404.
    let (st, bad) = api(&s, Method::DELETE, "/api/v1/apiTokens/not-an-id", None).await;
    assert_eq!(st, 400, "{bad}");
    let (st, _) = api(
        &s,
        Method::DELETE,
        "/api/v1/apiTokens/0123456789abcdef",
        None,
    )
    .await;
    assert_eq!(st, 404);

    // The administrator sees everyone's and revokes Bob's; Ada revokes her own.
    let (st, all) = api(&s, Method::GET, "/api/v1/apiTokens?userId=all", None).await;
    assert_eq!(st, 200);
    assert!(all["value"].as_array().unwrap().len() >= 3, "{all}");
    let (st, _) = api(
        &s,
        Method::DELETE,
        &format!("/api/v1/apiTokens/{bob_token_id}"),
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, _, _) = call(&s, &bob_token, Method::GET, "/api/v1/me", None).await;
    assert_eq!(st, 401, "a revoked token stops working at once");
    let (st, _, _) = call(
        &s,
        &ada_token,
        Method::DELETE,
        &format!("/api/v1/apiTokens/{ada_token_id}"),
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, _, _) = call(&s, &ada_token, Method::GET, "/api/v1/me", None).await;
    assert_eq!(st, 401);
    let revoked: Vec<_> = audit_events(&s, "authentication")
        .await
        .into_iter()
        .filter(|e| e["activity"] == "apiToken.revoke")
        .collect();
    assert_eq!(revoked.len(), 2);
}

#[tokio::test]
async fn custom_roles_are_edited_by_role_administrators_and_built_in_roles_are_fixed() {
    let s = server().await;
    admin_token(&s).await;
    let (_, reader_token) = holder(&s, "reader@example.com", Some("Security Reader")).await;
    let (st, role) = api(
        &s,
        Method::POST,
        "/api/v1/roleDefinitions",
        Some(json!({"displayName": "Auditor (AWS)"})),
    )
    .await;
    assert_eq!(st, 201, "{role}");
    let id = role["id"].as_str().unwrap().to_string();
    refused(
        &s,
        &reader_token,
        Method::PATCH,
        &format!("/api/v1/roleDefinitions/{id}"),
        Some(json!({"displayName": "Mine now"})),
        403,
        NEEDS_ROLE_WRITE,
    )
    .await;
    // By name as by id; only the fields given change.
    let (st, changed) = api(
        &s,
        Method::PATCH,
        "/api/v1/roleDefinitions/auditor%20(aws)",
        Some(json!({"description": "reads CloudTrail"})),
    )
    .await;
    assert_eq!(st, 200, "{changed}");
    assert_eq!(changed["displayName"], "Auditor (AWS)");
    assert_eq!(changed["description"], "reads CloudTrail");
    assert_eq!(changed["rolePermissions"], role["rolePermissions"]);
    let (st, taken) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/roleDefinitions/{id}"),
        Some(json!({"displayName": "security reader"})),
    )
    .await;
    assert_eq!(st, 409, "{taken}");
    let (st, fixed) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/roleDefinitions/{GLOBAL_ADMIN}"),
        Some(json!({"description": "anything"})),
    )
    .await;
    assert_eq!(st, 400, "{fixed}");
    let (st, unknown) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/roleDefinitions/{id}"),
        Some(json!({"rolePermissions": [{"allowedResourceActions": ["trustplane.directory/users/write"]}]})),
    )
    .await;
    assert_eq!(st, 400, "permissions are not editable: {unknown}");
}
