//! The PIM engine without an HTTP server: a store on SQLite in a temporary folder, a clock the
//! tests move, and a fake cloud behind the [`CloudGrants`] port that records what it is asked.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use serde_json::json;
use trustplane_authn::{Relying, SessionPolicy};
use trustplane_cloudops::{BoxFuture, Connections, ScanTarget};
use trustplane_idp::ca::ConditionalAccess;
use trustplane_idp::signin::SignIn;
use trustplane_idp::{ClientApp, RequestContext, SignInLimits};
use trustplane_keyring::Sealer;
use trustplane_model::{
    Actor, AssignmentKind, ManualClock, PimSettings, RequestState, RoleDefinition, RoleResource,
    User,
};
use trustplane_pim::{
    Channel, CloudGrants, GrantCall, Holder, NewRequest, Pim, PimError, SessionMfa,
    SessionRevocation, AWS_IDC_USER_ATTRIBUTE,
};
use trustplane_store::{NewAssignment, NewCloudAccount, NewUser, Store};

const T0: i64 = 1_790_000_000_000;
/// 32 zero bytes, base64url: a master key for tests.
const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const INSTANCE: &str = "arn:aws:sso:::instance/ssoins-1";
const PERMISSION_SET: &str = "arn:aws:sso:::permissionSet/ssoins-1/ps-1";

/// An Identity Center in memory: who holds what, every call made, and whether it refuses.
#[derive(Default)]
struct FakeCloud {
    held: Mutex<Vec<GrantCall>>,
    calls: Mutex<Vec<String>>,
    refuse: bool,
}

impl CloudGrants for FakeCloud {
    fn grant<'a>(
        &'a self,
        _connection: &'a ScanTarget,
        call: &'a GrantCall,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push("grant".into());
            if self.refuse {
                return Err("AccessDenied: not allowed".into());
            }
            let mut held = self.held.lock().unwrap();
            if !held.contains(call) {
                held.push(call.clone());
            }
            Ok(())
        })
    }

    fn revoke<'a>(
        &'a self,
        _connection: &'a ScanTarget,
        call: &'a GrantCall,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push("revoke".into());
            self.held.lock().unwrap().retain(|c| c != call);
            Ok(())
        })
    }

    fn holders<'a>(
        &'a self,
        _connection: &'a ScanTarget,
        _call: &'a GrantCall,
    ) -> BoxFuture<'a, Result<Vec<Holder>, String>> {
        Box::pin(async move { Ok(Vec::new()) })
    }

    fn revoke_sessions<'a>(
        &'a self,
        _connection: &'a ScanTarget,
        _revocation: &'a SessionRevocation,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move { Ok(()) })
    }

    fn lift_revocation<'a>(
        &'a self,
        _connection: &'a ScanTarget,
        _revocation: &'a SessionRevocation,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move { Ok(()) })
    }
}

struct Node {
    store: Store,
    clock: ManualClock,
    pim: Pim,
    cloud: Arc<FakeCloud>,
    ada: User,
    bob: User,
    role: RoleDefinition,
    _dir: tempfile::TempDir,
}

async fn user(store: &Store, upn: &str) -> User {
    let mut attributes = serde_json::Map::new();
    attributes.insert(
        AWS_IDC_USER_ATTRIBUTE.into(),
        json!(format!("idc-{}", upn.split('@').next().unwrap())),
    );
    store
        .create_user(
            &Actor::system(),
            NewUser {
                user_principal_name: upn.into(),
                display_name: upn.into(),
                account_enabled: true,
                attributes,
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

/// A node whose one cloud role (an Identity Center permission set) ada is eligible for, bob
/// approves, and activations of which need a justification and an approval.
async fn node(cloud: FakeCloud) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let clock = ManualClock::new(T0);
    let store = Store::open(&url, Arc::new(clock.clone())).await.unwrap();
    let sealer = Sealer::from_base64(KEY).unwrap();
    let system = Actor::system();
    let ada = user(&store, "ada@example.com").await;
    let bob = user(&store, "bob@example.com").await;
    let connection = store
        .create_cloud_account(
            &system,
            NewCloudAccount {
                provider: "aws".into(),
                account: "111122223333".into(),
                display_name: "management".into(),
                settings: json!({}),
                sealed_secret: None,
                enabled: true,
            },
        )
        .await
        .unwrap();
    let role = store
        .create_role_definition(
            &system,
            RoleDefinition {
                id: String::new(),
                display_name: "Prod admin".into(),
                description: String::new(),
                is_built_in: false,
                is_enabled: true,
                template_id: String::new(),
                role_permissions: Vec::new(),
                resource: Some(RoleResource::AwsIdentityCenter {
                    connection_id: connection.id.clone(),
                    instance_arn: INSTANCE.into(),
                    permission_set_arn: PERMISSION_SET.into(),
                    account_id: "444455556666".into(),
                }),
            },
        )
        .await
        .unwrap();
    store
        .create_role_assignment(
            &system,
            NewAssignment {
                principal_id: ada.id.clone(),
                role_definition_id: role.id.clone(),
                directory_scope_id: "/".into(),
                assignment_type: AssignmentKind::Eligible,
                start: None,
                end: None,
            },
        )
        .await
        .unwrap();
    store
        .put_pim_settings(
            &system,
            &role.id,
            "/",
            &PimSettings {
                require_mfa: false,
                require_approval: true,
                approvers: vec![bob.id.clone()],
                ..PimSettings::default()
            },
        )
        .await
        .unwrap();
    let ca = Arc::new(ConditionalAccess::new(store.clone(), None).unwrap());
    let signin = SignIn::new(
        store.clone(),
        sealer.clone(),
        Relying::new("localhost", "http://localhost", "Trustplane").unwrap(),
        "Trustplane".into(),
        SessionPolicy::default(),
        ca.clone(),
        SignInLimits::default(),
    );
    let cloud = Arc::new(cloud);
    let grants: Arc<dyn CloudGrants> = cloud.clone();
    let pim = Pim::new(
        store.clone(),
        Connections::new(store.clone(), sealer),
        Some(grants),
        signin,
        ca,
    );
    Node {
        store,
        clock,
        pim,
        cloud,
        ada,
        bob,
        role,
        _dir: dir,
    }
}

fn context() -> RequestContext {
    RequestContext {
        ip: Some("192.0.2.10".parse().unwrap()),
        user_agent: Some("test".into()),
        device_platform: "linux",
    }
}

fn ask(role: &RoleDefinition, justification: Option<&str>) -> NewRequest {
    NewRequest {
        role_definition_id: role.id.clone(),
        directory_scope_id: None,
        duration_seconds: Some(3600),
        start_date_time: None,
        justification: justification.map(str::to_string),
        ticket_number: None,
        mfa_code: None,
        recovery_code: None,
    }
}

impl Node {
    async fn request(
        &self,
        justification: Option<&str>,
    ) -> Result<trustplane_model::ActivationRequest, PimError> {
        let ctx = context();
        self.pim
            .request(
                &self.ada,
                &Actor::system(),
                ask(&self.role, justification),
                SessionMfa::Absent,
                Channel {
                    client: ClientApp::MobileAppsAndDesktopClients,
                    request: &ctx,
                },
            )
            .await
    }

    async fn holds_role(&self) -> bool {
        self.store
            .direct_active_assignment(&self.ada.id, &self.role.id, "/")
            .await
            .unwrap()
            .is_some()
    }
}

#[tokio::test]
async fn a_request_is_approved_activated_in_the_cloud_and_taken_back_at_expiry() {
    let n = node(FakeCloud::default()).await;

    let pending = n.request(Some("deploy the fix")).await.unwrap();
    assert_eq!(pending.state, RequestState::PendingApproval);
    assert!(n.cloud.calls.lock().unwrap().is_empty());
    assert!(!n.holds_role().await);

    // Nobody approves their own request.
    let own = n
        .pim
        .decide(&n.ada, &Actor::system(), &pending.id, true, None)
        .await
        .unwrap_err();
    assert!(matches!(own, PimError::Forbidden(_)), "{own:?}");

    let active = n
        .pim
        .decide(
            &n.bob,
            &Actor::system(),
            &pending.id,
            true,
            Some("ok".into()),
        )
        .await
        .unwrap();
    assert_eq!(active.state, RequestState::Active);
    assert_eq!(active.decided_by.as_deref(), Some(n.bob.id.as_str()));
    assert!(n.holds_role().await);
    assert_eq!(
        *n.cloud.held.lock().unwrap(),
        vec![GrantCall::AwsIdentityCenter {
            instance_arn: INSTANCE.into(),
            permission_set_arn: PERMISSION_SET.into(),
            account_id: "444455556666".into(),
            principal_id: "idc-ada".into(),
        }]
    );

    // Before its end, a round of the job changes nothing.
    n.clock.advance_ms(30 * 60 * 1000);
    let early = n.pim.run_due().await.unwrap();
    assert_eq!((early.expired, early.removed), (0, 0), "{early:?}");
    assert!(n.holds_role().await);

    // At its end the job expires it and takes back both grants.
    n.clock.advance_ms(30 * 60 * 1000);
    let due = n.pim.run_due().await.unwrap();
    assert_eq!(
        (due.expired, due.removed, due.failing),
        (1, 2, 0),
        "{due:?}"
    );
    let expired = n.store.get_pim_request(&pending.id).await.unwrap();
    assert_eq!(expired.state, RequestState::Expired);
    assert!(!n.holds_role().await);
    assert!(n.cloud.held.lock().unwrap().is_empty());
    assert!(n.store.pim_grants().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_request_against_the_roles_settings_is_refused_before_anything_is_asked() {
    let n = node(FakeCloud::default()).await;
    match n.request(None).await {
        Err(PimError::Invalid { field, .. }) => assert_eq!(field, "justification"),
        other => panic!("{other:?}"),
    }
    // Only approvers decide.
    let pending = n.request(Some("why")).await.unwrap();
    let carol = user(&n.store, "carol@example.com").await;
    let refused = n
        .pim
        .decide(&carol, &Actor::system(), &pending.id, true, None)
        .await
        .unwrap_err();
    assert!(matches!(refused, PimError::Forbidden(_)), "{refused:?}");
    assert_eq!(
        n.store.get_pim_request(&pending.id).await.unwrap().state,
        RequestState::PendingApproval
    );
    assert!(n.cloud.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_grant_the_cloud_refuses_fails_the_request_and_leaves_nothing_granted() {
    let n = node(FakeCloud {
        refuse: true,
        ..Default::default()
    })
    .await;
    let pending = n.request(Some("deploy")).await.unwrap();
    let failed = n
        .pim
        .decide(&n.bob, &Actor::system(), &pending.id, true, None)
        .await
        .unwrap();
    assert_eq!(failed.state, RequestState::Failed);
    assert!(
        failed.reason.as_deref().unwrap().contains("AccessDenied"),
        "{failed:?}"
    );
    assert!(!n.holds_role().await);
    assert!(n.store.pim_grants().await.unwrap().is_empty());
    assert!(n.cloud.held.lock().unwrap().is_empty());
}
