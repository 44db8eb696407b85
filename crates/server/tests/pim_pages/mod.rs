//! "My roles" and "Approvals" in the portal: activation through a CSRF-checked form, the time
//! left on the moved clock, ending early, step-up for roles that require MFA, and approval by
//! another user.

use super::*;
use trustplane_model::{AssignmentKind, PimSettings, RequestState};
use trustplane_store::NewAssignment;

/// A role of the organisation's own, which the default conditional-access policy (MFA for
/// administrators) does not cover: its settings alone decide.
async fn own_role(s: &Server, name: &str) -> String {
    let role = trustplane_model::RoleDefinition {
        id: String::new(),
        display_name: name.into(),
        description: String::new(),
        is_built_in: false,
        is_enabled: true,
        template_id: String::new(),
        role_permissions: Vec::new(),
        resource: None,
    };
    s.store
        .create_role_definition(&Actor::system(), role)
        .await
        .unwrap()
        .display_name
}

/// Makes `user_id` eligible for `role` at `/`, with `settings` for the role.
async fn eligible(s: &Server, user_id: &str, role: &str, settings: Option<PimSettings>) -> String {
    let role = s.store.get_role_definition(role).await.unwrap();
    if let Some(settings) = settings {
        s.store
            .put_pim_settings(&Actor::system(), &role.id, "/", &settings)
            .await
            .unwrap();
    }
    s.store
        .create_role_assignment(
            &Actor::system(),
            NewAssignment {
                principal_id: user_id.into(),
                role_definition_id: role.id.clone(),
                directory_scope_id: "/".into(),
                assignment_type: AssignmentKind::Eligible,
                start: None,
                end: None,
            },
        )
        .await
        .unwrap();
    role.id
}

fn no_mfa() -> PimSettings {
    PimSettings {
        require_mfa: false,
        require_justification: true,
        ..PimSettings::default()
    }
}

async fn requests(s: &Server) -> Vec<trustplane_model::ActivationRequest> {
    s.store.list_pim_requests(None, &[]).await.unwrap()
}

#[tokio::test]
async fn a_role_is_activated_from_the_page_and_shown_with_its_time_left() {
    let s = server().await;
    let ada = user(&s, "ada@example.com").await;
    let own = own_role(&s, "On-call responder").await;
    let role = eligible(&s, &ada, &own, Some(no_mfa())).await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;

    let page = b.get("/account/roles").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("On-call responder"), "{}", page.body);
    assert!(page.body.contains("No role is active."));
    assert!(page.body.contains("href=\"/account/roles\""), "in the nav");
    let csrf = Browser::csrf(&page);

    // Without the CSRF token, or with a wrong one: refused, nothing asked of the engine.
    let wrong = "x".repeat(43);
    for token in [None, Some(""), Some(wrong.as_str())] {
        let mut body = vec![
            ("role", role.as_str()),
            ("scope", "/"),
            ("minutes", "30"),
            ("justification", "incident 7"),
        ];
        if let Some(t) = token {
            body.push(("csrf", t));
        }
        let r = b.post("/account/roles/activate", &body).await;
        assert_eq!(r.status, 403, "{}", r.body);
    }
    assert!(requests(&s).await.is_empty());

    // The engine's refusal is shown on the page with its status.
    let r = b
        .post(
            "/account/roles/activate",
            &[
                ("csrf", &csrf),
                ("role", &role),
                ("scope", "/"),
                ("minutes", "30"),
                ("justification", " "),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("class=\"error\""), "{}", r.body);
    assert!(r.body.contains("requires a justification"), "{}", r.body);
    let r = b
        .post(
            "/account/roles/activate",
            &[("csrf", &csrf), ("role", &role), ("minutes", "soon")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(requests(&s).await.is_empty());

    let r = b
        .post(
            "/account/roles/activate",
            &[
                ("csrf", &csrf),
                ("role", &role),
                ("scope", "/"),
                ("minutes", "30"),
                ("justification", "incident 7"),
                ("ticket", "INC-7"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/account/roles"));
    let all = requests(&s).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].state, RequestState::Active);
    assert!(!all[0].mfa);

    let page = b.get("/account/roles").await;
    assert!(
        page.body
            .contains("class=\"remaining\" data-seconds=\"1800\">30 min"),
        "{}",
        page.body
    );
    s.clock.advance_ms(61_000);
    let page = b.get("/account/roles").await;
    assert!(
        page.body.contains("data-seconds=\"1739\">28 min"),
        "{}",
        page.body
    );

    let id = all[0].id.clone();
    let r = b
        .post(
            &format!("/account/roles/{id}/deactivate"),
            &[("csrf", "wrong-wrong-wrong-wrong-wrong-wrong-wrong")],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = b
        .post(
            &format!("/account/roles/{id}/deactivate"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let ended = s.store.get_pim_request(&id).await.unwrap();
    assert_eq!(ended.state, RequestState::Revoked);
    let page = b.get("/account/roles").await;
    assert!(page.body.contains("No role is active."), "{}", page.body);

    // Ending it again is refused by the engine and said so on the page.
    let r = b
        .post(
            &format!("/account/roles/{id}/deactivate"),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(r.status >= 400, "{}", r.body);
    assert!(r.body.contains("class=\"error\""), "{}", r.body);
}

/// Where a redirect to the step-up page will come back to.
fn step_up_next(location: Option<&str>) -> String {
    let location = location.expect("a redirect");
    assert!(location.starts_with("/account/verify?"), "{location}");
    let url = url::Url::parse(&format!("http://localhost{location}")).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .expect("a next parameter")
}

#[tokio::test]
async fn a_role_requiring_mfa_sends_a_password_only_session_to_step_up() {
    let s = server().await;
    let ada = user(&s, "ada@example.com").await;
    // The defaults require MFA.
    let role = eligible(&s, &ada, "Security Reader", None).await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let page = b.get("/account/roles").await;
    let csrf = Browser::csrf(&page);
    let r = b
        .post(
            "/account/roles/activate",
            &[
                ("csrf", &csrf),
                ("role", &role),
                ("minutes", "60"),
                ("justification", "audit"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    // The way back carries what she typed, so the form is filled in again after the step-up.
    let back = format!("/account/roles?role={role}&minutes=60&justification=audit");
    assert_eq!(step_up_next(r.location.as_deref()), back);
    assert!(requests(&s).await.is_empty());
    let refilled = b.get(&back).await;
    assert!(
        refilled.body.contains("value=\"audit\""),
        "{}",
        refilled.body
    );
    assert!(refilled.body.contains("value=\"60\""), "{}", refilled.body);

    // With an authenticator app, stepping up comes back to the page and the activation
    // carries the session's second factor.
    let uri = enrol_totp(&mut b, &s).await;
    s.clock.advance_ms(11 * 60 * 1000);
    let activate = [
        ("csrf", csrf.as_str()),
        ("role", role.as_str()),
        ("minutes", "60"),
        ("justification", "audit"),
    ];
    let r = b.post("/account/roles/activate", &activate).await;
    assert_eq!(
        step_up_next(r.location.as_deref()),
        back,
        "the second factor is no longer recent"
    );
    let verify = b.get(r.location.as_deref().unwrap()).await;
    assert_eq!(verify.status, 200);
    let code = pyotp(&uri, s.clock.now_ms());
    let r = b
        .post(
            "/account/verify",
            &[
                ("csrf", &Browser::csrf(&verify)),
                ("method", "totp"),
                ("code", &code),
                ("next", &back),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some(back.as_str()), "{}", r.body);
    let r = b.post("/account/roles/activate", &activate).await;
    assert_eq!(r.location.as_deref(), Some("/account/roles"), "{}", r.body);
    let all = requests(&s).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].state, RequestState::Active);
    assert!(all[0].mfa, "the session's second factor counted");
}

#[tokio::test]
async fn an_approver_approves_from_the_approvals_page() {
    let s = server().await;
    let ada = user(&s, "ada@example.com").await;
    let bob = user(&s, "bob@example.com").await;
    let settings = PimSettings {
        require_approval: true,
        approvers: vec![bob.clone()],
        ..no_mfa()
    };
    let own = own_role(&s, "On-call responder").await;
    let role = eligible(&s, &ada, &own, Some(settings)).await;
    let mut ada_b = Browser::new(&s);
    ada_b.sign_in("ada@example.com").await;
    let page = ada_b.get("/account/roles").await;
    let csrf = Browser::csrf(&page);
    let r = ada_b
        .post(
            "/account/roles/activate",
            &[
                ("csrf", &csrf),
                ("role", &role),
                ("minutes", "60"),
                ("justification", "release"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = ada_b.get("/account/roles").await;
    assert!(page.body.contains("waiting for approval"), "{}", page.body);
    let id = requests(&s).await[0].id.clone();

    // The requester sees nothing to approve; the approver sees the request.
    let page = ada_b.get("/account/approvals").await;
    assert!(page.body.contains("Nothing is waiting"), "{}", page.body);
    let mut bob_b = Browser::new(&s);
    bob_b.sign_in("bob@example.com").await;
    let page = bob_b.get("/account/approvals").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("ada@example.com"), "{}", page.body);
    assert!(page.body.contains("release"), "{}", page.body);
    let csrf = Browser::csrf(&page);
    let r = bob_b
        .post(
            &format!("/account/approvals/{id}/approve"),
            &[("comment", "ok")],
        )
        .await;
    assert_eq!(r.status, 403, "no CSRF token");
    assert_eq!(
        s.store.get_pim_request(&id).await.unwrap().state,
        RequestState::PendingApproval
    );
    let r = bob_b
        .post(
            &format!("/account/approvals/{id}/approve"),
            &[("csrf", &csrf), ("comment", "ok")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let approved = s.store.get_pim_request(&id).await.unwrap();
    assert_eq!(approved.state, RequestState::Active);
    assert_eq!(approved.decided_by.as_deref(), Some(bob.as_str()));
    let page = ada_b.get("/account/roles").await;
    assert!(page.body.contains("data-seconds=\"3600\""), "{}", page.body);
}
