//! Role assignments granted, listed and taken back through `trustplane_azure::rbac`, against
//! the role assignments the local ARM stand-in keeps in memory (see `server`).
#![allow(clippy::unwrap_used, clippy::panic)]

mod server;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use trustplane_azure::rbac::{assignment_name, Rbac, RoleAssignment};
use trustplane_azure::{AzureError, Credential, Options, ARM_SCOPE};

use server::{Mode, Srv, SUB_A, SUB_RBAC, TENANT, UNKNOWN_PRINCIPAL};

const READER: &str =
    "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7";
const CONTRIBUTOR: &str =
    "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c";
const ALICE: &str = "6c1ba0a4-0a2b-4f7e-9a60-1d2a3b4c5d6e";
const BOB: &str = "0f9e8d7c-6b5a-4493-8271-605f4e3d2c1b";

fn sub() -> String {
    format!("/subscriptions/{SUB_RBAC}")
}

fn options(base: &str, credential: Credential) -> Options {
    let mut o = Options::new(credential);
    o.arm_endpoint = base.to_string();
    o.graph_endpoint = base.to_string();
    o.login_endpoint = base.to_string();
    o.max_retry_wait = Duration::from_millis(50);
    o.timeout = Duration::from_secs(20);
    o
}

fn token() -> Credential {
    Credential::Token {
        arm: server::ARM_TOKEN.to_string(),
        graph: None,
    }
}

fn sp() -> Credential {
    Credential::ClientSecret {
        tenant_id: TENANT.to_string(),
        client_id: "app-1".to_string(),
        client_secret: "s3cret+/=".to_string(),
    }
}

async fn fake(mode: Mode) -> (Arc<Srv>, Rbac) {
    let srv = server::start(mode).await;
    let rbac = Rbac::new(&options(&srv.base, token())).unwrap();
    (srv, rbac)
}

fn arm_code(e: &AzureError) -> (u16, Option<&str>) {
    match e {
        AzureError::Arm { status, code, .. } => (*status, code.as_deref()),
        other => panic!("not an ARM refusal: {other}"),
    }
}

#[tokio::test]
async fn assigned_role_is_listed() {
    let (srv, rbac) = fake(Mode::default()).await;
    let s = sub();
    let ra = rbac.assign(&s, READER, ALICE).await.unwrap();
    let name = assignment_name(&s, READER, ALICE).unwrap();
    assert_eq!(
        ra,
        RoleAssignment {
            id: format!("{s}/providers/Microsoft.Authorization/roleAssignments/{name}"),
            name,
            scope: s.clone(),
            role_definition_id: READER.to_string(),
            principal_id: ALICE.to_string(),
            principal_type: Some("User".to_string()),
        }
    );
    assert_eq!(rbac.list(&s).await.unwrap(), vec![ra]);
    assert_eq!(srv.role_assignments().len(), 1);
}

#[tokio::test]
async fn assigning_again_returns_the_same_assignment() {
    let (srv, rbac) = fake(Mode::default()).await;
    let s = sub();
    let first = rbac.assign(&s, READER, ALICE).await.unwrap();
    let again = rbac.assign(&s, READER, ALICE).await.unwrap();
    assert_eq!(first, again);
    // The same grant written differently: ids without case, the role with its subscription.
    let scoped_role = format!("{s}{READER}");
    let upper = rbac
        .assign(&s.to_uppercase(), &scoped_role, &ALICE.to_uppercase())
        .await
        .unwrap();
    assert_eq!(first, upper);
    // Three PUTs, two of them answered 409 RoleAssignmentExists; one assignment.
    assert_eq!(srv.role_puts.load(Ordering::SeqCst), 3);
    assert_eq!(srv.role_assignments().len(), 1);
    assert_eq!(rbac.list(&s).await.unwrap(), vec![first]);
}

#[tokio::test]
async fn unassigned_role_is_gone_and_unassigning_again_is_ok() {
    let (srv, rbac) = fake(Mode::default()).await;
    let s = sub();
    rbac.assign(&s, READER, ALICE).await.unwrap();
    rbac.assign(&s, CONTRIBUTOR, ALICE).await.unwrap();
    rbac.unassign(&s, READER, ALICE).await.unwrap();
    let left = rbac.list(&s).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].role_definition_id, CONTRIBUTOR);
    rbac.unassign(&s, READER, ALICE).await.unwrap();
    rbac.unassign(&s, READER, BOB).await.unwrap();
    rbac.unassign(&s, CONTRIBUTOR, ALICE).await.unwrap();
    assert!(rbac.list(&s).await.unwrap().is_empty());
    assert!(srv.role_assignments().is_empty());
}

#[tokio::test]
async fn assignment_made_outside_is_listed_returned_and_kept() {
    let (srv, rbac) = fake(Mode::default()).await;
    let s = sub();
    let seeded = srv.seed_role_assignment(&s, READER, BOB);
    let outside = seeded["name"].as_str().unwrap();
    let listed = rbac.list(&s).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, outside);
    assert_eq!(listed[0].id, seeded["id"].as_str().unwrap());
    assert_eq!(listed[0].principal_id, BOB);

    // Granting what is already granted under another name: ARM's 409, and the existing one.
    let ra = rbac.assign(&s, READER, BOB).await.unwrap();
    assert_eq!(ra, listed[0]);
    assert_ne!(ra.name, assignment_name(&s, READER, BOB).unwrap());
    // Taking back Trustplane's grant leaves the outside one alone.
    rbac.unassign(&s, READER, BOB).await.unwrap();
    assert_eq!(rbac.list(&s).await.unwrap(), listed);
    assert_eq!(srv.role_assignments().len(), 1);
}

#[tokio::test]
async fn unknown_principal_is_refused_with_arms_code() {
    let (srv, rbac) = fake(Mode::default()).await;
    let s = sub();
    let e = rbac
        .assign(&s, READER, UNKNOWN_PRINCIPAL)
        .await
        .unwrap_err();
    assert_eq!(arm_code(&e), (400, Some("PrincipalNotFound")));
    let msg = e.to_string();
    assert!(
        msg.contains("PrincipalNotFound: Principal 0badc0de"),
        "{msg}"
    );
    assert!(msg.starts_with("PUT /subscriptions/"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");

    srv.refuse_principal(ALICE);
    let e = rbac.assign(&s, READER, ALICE).await.unwrap_err();
    assert_eq!(arm_code(&e), (400, Some("PrincipalNotFound")));
    assert!(srv.role_assignments().is_empty());
    rbac.assign(&s, READER, BOB).await.unwrap();
}

#[tokio::test]
async fn refused_writes_are_errors() {
    let (srv, rbac) = fake(Mode::default()).await;
    let s = sub();
    rbac.assign(&s, READER, ALICE).await.unwrap();
    srv.deny_role_assignment_writes(true);
    let e = rbac.assign(&s, CONTRIBUTOR, ALICE).await.unwrap_err();
    assert_eq!(arm_code(&e), (403, Some("AuthorizationFailed")));
    let e = rbac.unassign(&s, READER, ALICE).await.unwrap_err();
    assert_eq!(arm_code(&e), (403, Some("AuthorizationFailed")));
    assert!(e.to_string().contains("roleAssignments/delete"), "{e}");
    assert_eq!(srv.role_assignments().len(), 1);
    srv.deny_role_assignment_writes(false);
    rbac.unassign(&s, READER, ALICE).await.unwrap();
    assert!(srv.role_assignments().is_empty());
}

#[tokio::test]
async fn bad_input_is_refused_without_a_request() {
    let srv = server::start(Mode::default()).await;
    // A service principal: even fetching a token would show as a request.
    let rbac = Rbac::new(&options(&srv.base, sp())).unwrap();
    let s = sub();
    let cases: [(&str, &str, &str, &str); 9] = [
        ("", READER, ALICE, "scope"),
        ("/resourceGroups/rg1", READER, ALICE, "scope"),
        ("/subscriptions/prod", READER, ALICE, "scope"),
        (&format!("{s}/"), READER, ALICE, "scope"),
        (&format!("{s}?$filter=x"), READER, ALICE, "scope"),
        (&s, "Owner", ALICE, "role definition id"),
        (
            &s,
            "/providers/Microsoft.Authorization/roleDefinitions/owner",
            ALICE,
            "role definition id",
        ),
        (&s, READER, "alice@contoso.com", "principal id"),
        (
            &s,
            READER,
            "6c1ba0a4-0a2b-4f7e-9a60-1d2a3b4c5d6e\n",
            "principal id",
        ),
    ];
    for (scope, role, principal, field) in cases {
        for e in [
            rbac.assign(scope, role, principal).await.unwrap_err(),
            rbac.unassign(scope, role, principal).await.unwrap_err(),
        ] {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "{msg}");
            match e {
                AzureError::InvalidInput { what, .. } => assert_eq!(what, field, "{msg}"),
                other => panic!("{scope} {role} {principal}: {other}"),
            }
        }
    }
    for scope in [
        "",
        "subscriptions",
        "/providers/Microsoft.Management/managementGroups",
    ] {
        assert!(matches!(
            rbac.list(scope).await,
            Err(AzureError::InvalidInput { what: "scope", .. })
        ));
    }
    assert_eq!(srv.total_hits(), 0);
}

#[tokio::test]
async fn list_follows_next_link_and_keeps_to_the_scope() {
    let (srv, rbac) = fake(Mode::default()).await;
    let s = sub();
    let rg = format!("{s}/resourceGroups/rg1");
    let mg = "/providers/Microsoft.Management/managementGroups/contoso";
    for who in [ALICE, BOB] {
        srv.seed_role_assignment(&s, READER, who);
        srv.seed_role_assignment(&s, CONTRIBUTOR, who);
    }
    rbac.assign(&rg, CONTRIBUTOR, ALICE).await.unwrap();
    rbac.assign(mg, READER, ALICE).await.unwrap();

    // atScope(): at the subscription its own four (two pages), not the resource group's; at
    // the resource group its own and the four inherited from the subscription.
    let at_sub = rbac.list(&s).await.unwrap();
    assert_eq!(at_sub.len(), 4);
    assert!(at_sub.iter().all(|r| r.scope == s));
    let path = format!("{s}/providers/Microsoft.Authorization/roleAssignments");
    assert_eq!(srv.hits(&path), 2);
    let at_rg = rbac.list(&rg).await.unwrap();
    assert_eq!(at_rg.len(), 5);
    assert_eq!(at_rg.iter().filter(|r| r.scope == rg).count(), 1);
    let at_mg = rbac.list(mg).await.unwrap();
    assert_eq!(at_mg.len(), 1);
    assert_eq!(at_mg[0].scope, mg);
}

#[tokio::test]
async fn lists_the_published_example() {
    let (_srv, rbac) = fake(Mode::default()).await;
    let listed = rbac.list(&format!("/subscriptions/{SUB_A}")).await.unwrap();
    assert_eq!(
        listed,
        vec![RoleAssignment {
            id: "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/providers/Microsoft.Authorization/roleAssignments/b0f43c54-e787-4862-89b1-a653fa9cf747".to_string(),
            name: "b0f43c54-e787-4862-89b1-a653fa9cf747".to_string(),
            scope: "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2".to_string(),
            role_definition_id: "/providers/Microsoft.Authorization/roleDefinitions/0b5fe924-9a61-425c-96af-cfe6e287ca2d".to_string(),
            principal_id: "ce2ce14e-85d7-4629-bdbc-454d0519d987".to_string(),
            principal_type: Some("User".to_string()),
        }]
    );
}

#[tokio::test]
async fn service_principal_token_is_fetched_once_and_never_shown() {
    let srv = server::start(Mode::default()).await;
    let rbac = Rbac::new(&options(&srv.base, sp())).unwrap();
    let s = sub();
    rbac.assign(&s, READER, ALICE).await.unwrap();
    rbac.list(&s).await.unwrap();
    rbac.unassign(&s, READER, ALICE).await.unwrap();
    let forms = srv.token_forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0]["scope"], ARM_SCOPE);
    let shown = format!("{rbac:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(!shown.contains(server::ARM_TOKEN), "{shown}");
}

#[tokio::test]
async fn throttled_grant_is_retried() {
    let (srv, rbac) = fake(Mode {
        throttle_role_writes: true,
        ..Default::default()
    })
    .await;
    let ra = rbac.assign(&sub(), READER, ALICE).await.unwrap();
    assert_eq!(srv.role_puts.load(Ordering::SeqCst), 2);
    assert_eq!(srv.role_assignments().len(), 1);
    assert_eq!(ra.principal_id, ALICE);
}

#[test]
fn rbac_can_be_shared_across_tasks() {
    fn shared<T: Send + Sync>(_: &T) {}
    fn sendable<F: std::future::Future + Send>(_: F) {}
    let rbac = Rbac::new(&options("http://127.0.0.1:9", token())).unwrap();
    shared(&rbac);
    sendable(rbac.assign("", "", ""));
    sendable(rbac.unassign("", "", ""));
    sendable(rbac.list(""));
}
