//! Temporary access passes: an administrator hands one to a person with no way in; it signs
//! them in for a while (once, by default) and counts as MFA; it is not a second factor for
//! password sign-ins, and it is protected by tier like the password.

use super::conditional_access_support::{admin_token, api};
use super::*;
use reqwest::Method;
use trustplane_model::AssignmentKind;
use trustplane_store::NewAssignment;

const USER_ADMIN: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";

async fn sign_in(s: &Server, upn: &str, password: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/signIn", s.base))
        .json(&json!({"username": upn, "password": password}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn new_pass(s: &Server, user: &str, body: Value) -> (u16, Value) {
    api(
        s,
        Method::POST,
        &format!("/api/v1/users/{user}/authentication/temporaryAccessPassMethods"),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn a_pass_signs_a_person_in_once_with_mfa_and_then_is_spent() {
    let s = server().await;
    admin_token(&s).await;
    let ada = user(&s, "ada@example.com").await;
    let (st, made) = new_pass(&s, "ada@example.com", json!({})).await;
    assert_eq!(st, 201, "{made}");
    assert_eq!(made["isUsableOnce"], true);
    assert_eq!(made["lifetimeInMinutes"], 60);
    let pass = made["temporaryAccessPass"].as_str().unwrap().to_string();

    let (st, signed) = sign_in(&s, "ada@example.com", &pass).await;
    assert_eq!(st, 200, "{signed}");
    assert_eq!(signed["status"], "signedIn", "{signed}");
    let token = signed["sessionToken"].as_str().unwrap();
    let me: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/auth/session", s.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["session"]["amr"], json!(["tap"]), "{me}");

    // Spent: the same pass is now a wrong password, and counts as one.
    let (st, _) = sign_in(&s, "ada@example.com", &pass).await;
    assert_eq!(st, 401);
    let (failures, _) = s.store.account_failures(&ada).await.unwrap();
    assert_eq!(failures, 1);
    // The password still works, and the pass is no second factor to ask for.
    let (st, signed) = sign_in(&s, "ada@example.com", PASSWORD).await;
    assert_eq!(st, 200, "{signed}");
    assert_eq!(signed["status"], "signedIn", "{signed}");

    let log = s
        .store
        .list_audit(&trustplane_store::AuditQuery {
            activity: Some("authMethod.temporaryAccessPass.create".into()),
            target: Some(ada.clone()),
            top: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(log.items.len(), 1, "the pass's creation is audited");
    let (_, signins) = api(&s, Method::GET, "/api/v1/auditLogs/signIns", None).await;
    assert!(
        signins["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["after"]["authenticationMethodsUsed"] == json!(["temporaryAccessPass"])),
        "{signins}"
    );
}

#[tokio::test]
async fn a_reusable_pass_works_until_its_lifetime_ends_and_a_new_one_replaces_it() {
    let s = server().await;
    admin_token(&s).await;
    user(&s, "ada@example.com").await;
    let (st, made) = new_pass(
        &s,
        "ada@example.com",
        json!({"lifetimeInMinutes": 10, "isUsableOnce": false}),
    )
    .await;
    assert_eq!(st, 201, "{made}");
    let first = made["temporaryAccessPass"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let (st, _) = sign_in(&s, "ada@example.com", &first).await;
        assert_eq!(st, 200);
    }
    s.clock.advance_ms(10 * 60 * 1000);
    let (st, _) = sign_in(&s, "ada@example.com", &first).await;
    assert_eq!(st, 401, "an expired pass");

    let (_, made) = new_pass(&s, "ada@example.com", json!({"isUsableOnce": false})).await;
    let second = made["temporaryAccessPass"].as_str().unwrap().to_string();
    let (_, made) = new_pass(&s, "ada@example.com", json!({})).await;
    let third = made["temporaryAccessPass"].as_str().unwrap().to_string();
    let (st, _) = sign_in(&s, "ada@example.com", &second).await;
    assert_eq!(st, 401, "a replaced pass");
    let (st, _) = sign_in(&s, "ada@example.com", &third).await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn passes_are_bounded_and_protected_like_passwords() {
    let s = server().await;
    admin_token(&s).await;
    user(&s, "ada@example.com").await;
    for body in [
        json!({"lifetimeInMinutes": 5}),
        json!({"lifetimeInMinutes": 43201}),
        json!({"lifetimeInMinute": 60}),
        json!({"startDateTime": "2001-01-01T00:00:00Z"}),
    ] {
        let (st, problem) = new_pass(&s, "ada@example.com", body.clone()).await;
        assert_eq!(st, 400, "{body}: {problem}");
    }
    // A User Administrator may give one to a plain user, not to a Global Administrator.
    let ua = user(&s, "ua@example.com").await;
    s.store
        .create_role_assignment(
            &Actor::system(),
            NewAssignment {
                principal_id: ua.clone(),
                role_definition_id: USER_ADMIN.into(),
                directory_scope_id: "/".into(),
                assignment_type: AssignmentKind::Active,
                start: None,
                end: None,
            },
        )
        .await
        .unwrap();
    s.store
        .create_api_token(
            &Actor::system(),
            &ua,
            &trustplane_authn::hash_session_token("tp_tap_user_admin"),
            "test",
            None,
        )
        .await
        .unwrap();
    let call = |target: &'static str| {
        reqwest::Client::new()
            .post(format!(
                "{}/api/v1/users/{target}/authentication/temporaryAccessPassMethods",
                s.base
            ))
            .bearer_auth("tp_tap_user_admin")
            .json(&json!({}))
            .send()
    };
    assert_eq!(call("ada@example.com").await.unwrap().status(), 201);
    let refused = call("root@example.com").await.unwrap();
    assert_eq!(refused.status(), 403);
    let root = s.store.get_user("root@example.com").await.unwrap();
    let methods = s.store.list_auth_methods(&root.id, None).await.unwrap();
    assert!(methods.is_empty(), "nothing was given to the administrator");
}
