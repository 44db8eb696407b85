//! The admin console's pages act with the signed-in person's roles through the same engine
//! checks as the API: a User Administrator disables an ordinary user but not a Global
//! Administrator, a Security Reader reads everything and changes nothing, a person without
//! a role is refused, and every form needs its CSRF token.

use super::*;
use trustplane_model::{AssignmentKind, BuiltinRole};
use trustplane_store::NewAssignment;

async fn holding(s: &Server, upn: &str, role: BuiltinRole) -> String {
    let id = user(s, upn).await;
    s.store
        .create_role_assignment(
            &Actor::system(),
            NewAssignment {
                principal_id: id.clone(),
                role_definition_id: role.id().into(),
                directory_scope_id: "/".into(),
                assignment_type: AssignmentKind::Active,
                start: None,
                end: None,
            },
        )
        .await
        .unwrap();
    id
}

/// Signs in through the pages, registering an authenticator app when conditional access
/// (MFA for administrators) asks for one.
async fn console_session(s: &Server, upn: &str) -> Browser {
    let mut b = Browser::new(s);
    b.sign_in(upn).await;
    let home = b.get("/").await;
    if home.location.as_deref() == Some("/account/security") {
        enrol_totp(&mut b, s).await;
    }
    b
}

async fn enabled(s: &Server, id: &str) -> bool {
    s.store.get_user(id).await.unwrap().account_enabled
}

#[tokio::test]
async fn a_user_administrator_disables_ordinary_users_only() {
    let s = server().await;
    let ada = holding(&s, "ada@example.com", BuiltinRole::UserAdministrator).await;
    let gina = holding(&s, "gina@example.com", BuiltinRole::GlobalAdministrator).await;
    let bob = user(&s, "bob@example.com").await;
    let mut b = console_session(&s, "ada@example.com").await;

    let overview = b.get("/admin").await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    assert!(overview.body.contains("User Administrator"));
    let found = b.get("/admin/users?search=bo").await;
    assert_eq!(found.status, 200);
    assert!(found.body.contains("bob@example.com") && !found.body.contains("gina@"));

    let page = b.get(&format!("/admin/users/{bob}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = Browser::csrf(&page);
    // Without the token nothing happens.
    let forged = b
        .post(&format!("/admin/users/{bob}/disable"), &[("csrf", "x")])
        .await;
    assert_eq!(forged.status, 403);
    assert!(enabled(&s, &bob).await);
    let done = b
        .post(&format!("/admin/users/{bob}/disable"), &[("csrf", &csrf)])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(!enabled(&s, &bob).await);
    let again = b.get(&format!("/admin/users/{bob}")).await;
    assert!(again.body.contains("/enable\""), "{}", again.body);

    // A Global Administrator is out of a User Administrator's reach: refused in place.
    let refused = b
        .post(&format!("/admin/users/{gina}/disable"), &[("csrf", &csrf)])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);
    assert!(enabled(&s, &gina).await);

    // Reading the audit trail is not among a User Administrator's permissions, nor are the
    // timelines and incidents built from it.
    let audit = b.get("/admin/audit").await;
    assert_eq!(audit.status, 403, "{}", audit.body);
    for path in [
        format!("/admin/users/{bob}/timeline"),
        "/admin/incidents".to_string(),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
    }
    let _ = ada;
}

#[tokio::test]
async fn a_security_reader_reads_everything_and_changes_nothing() {
    let s = server().await;
    holding(&s, "rita@example.com", BuiltinRole::SecurityReader).await;
    let bob = user(&s, "bob@example.com").await;
    let mut b = console_session(&s, "rita@example.com").await;

    let page = b.get(&format!("/admin/users/{bob}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = Browser::csrf(&page);
    for action in ["disable", "revoke"] {
        let r = b
            .post(&format!("/admin/users/{bob}/{action}"), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status, 403, "{action}: {}", r.body);
        assert!(r.body.contains("users/write"), "{}", r.body);
    }
    assert!(enabled(&s, &bob).await);

    let audit = b.get("/admin/audit?activity=authorization.denied").await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    assert_eq!(
        audit.body.matches("authorization.denied").count() - 1,
        2,
        "both refusals are in the trail (and the filter echoes once): {}",
        audit.body
    );
    // Bob's timeline shows his account's creation; the
    // incidents page lists none yet.
    let timeline = b.get(&format!("/admin/users/{bob}/timeline")).await;
    assert_eq!(timeline.status, 200, "{}", timeline.body);
    assert!(
        timeline.body.contains("Timeline of bob@example.com"),
        "{}",
        timeline.body
    );
    assert!(timeline.body.contains("user.create"), "{}", timeline.body);
    let incidents = b.get("/admin/incidents").await;
    assert_eq!(incidents.status, 200, "{}", incidents.body);
    assert!(
        incidents.body.contains("No incident."),
        "{}",
        incidents.body
    );
    let missing = b.get("/admin/users/nobody@example.com/timeline").await;
    assert_eq!(missing.status, 404);
    let csrf = Browser::csrf(&audit);
    let verified = b.post("/admin/audit/verify", &[("csrf", &csrf)]).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert!(
        verified.body.contains("The chain is intact"),
        "{}",
        verified.body
    );
}

#[tokio::test]
async fn a_person_without_a_role_is_refused_and_unknown_users_are_404() {
    let s = server().await;
    user(&s, "bob@example.com").await;
    let mut b = console_session(&s, "bob@example.com").await;
    let r = b.get("/admin/users").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body.contains("directory/read") || r.body.contains("none of the caller"),
        "{}",
        r.body
    );

    holding(&s, "gina@example.com", BuiltinRole::GlobalAdministrator).await;
    let mut g = console_session(&s, "gina@example.com").await;
    let missing = g.get("/admin/users/nobody@example.com").await;
    assert_eq!(missing.status, 404, "{}", missing.body);
}
