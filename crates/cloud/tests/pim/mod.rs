//! Just-in-time cloud roles end to end, on a clock the tests move: an IAM Identity Center
//! permission set in moto and an Azure RBAC role in the Resource Manager fake are granted at
//! activation (with a second factor from pyotp, a justification and an approval) and taken
//! back at expiry; overlapping activations keep the grant until the later end; a grant made
//! outside Trustplane is reported; a refusal by the cloud ends the request `failed` with
//! nothing left granted; a node restarted after an activation ended removes the grant at
//! once; an AWS SAML role's sessions are denied on the IAM role in moto when its activation
//! ends early, until none of them can be alive.

use super::*;
use trustplane_aws::identity_center::{ConnectOptions, IdentityCenter};
use trustplane_model::{Clock as _, RequestState};
use trustplane_store::RequestChange;

#[path = "../../../azure/tests/server/mod.rs"]
mod azure_fake;

#[path = "../../../server/tests/support/pyotp.rs"]
mod pyotp_support;
use pyotp_support::pyotp;

const AZURE_PRINCIPAL: &str = "6f2b8c1e-3a4d-4e5f-8a9b-0c1d2e3f4a5b";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

/// Moto's Identity Center instance with a fresh permission set.
pub(super) async fn permission_set(moto: &Moto, name: &str) -> (String, String) {
    let python = std::env::var("TRUSTPLANE_TEST_PYTHON").unwrap();
    let script = r#"
import json, sys, boto3
sso = boto3.client("sso-admin", endpoint_url=sys.argv[1], region_name="us-east-1")
inst = sso.list_instances()["Instances"][0]["InstanceArn"]
ps = sso.create_permission_set(InstanceArn=inst, Name=sys.argv[2], SessionDuration="PT1H")
print(json.dumps([inst, ps["PermissionSet"]["PermissionSetArn"]]))
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script, &moto.url, name])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    (v[0].clone(), v[1].clone())
}

async fn center(moto: &Moto) -> IdentityCenter {
    IdentityCenter::connect(&ConnectOptions {
        endpoint_url: Some(moto.url.clone()),
        region: "us-east-1".into(),
        role_arn: None,
    })
    .await
}

/// Identity Store user ids holding the permission set on the account, per moto.
pub(super) async fn idc_holders(moto: &Moto, instance: &str, ps: &str) -> Vec<String> {
    let mut v: Vec<String> = center(moto)
        .await
        .assignments(instance, ACCOUNT, ps)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.principal_id)
        .collect();
    v.sort();
    v
}

fn azure_holders(srv: &azure_fake::Srv) -> Vec<String> {
    srv.role_assignments()
        .iter()
        .map(|a| a["properties"]["principalId"].as_str().unwrap().to_string())
        .collect()
}

/// A person with an API token, an authenticator app, and cloud identities.
async fn elevated_person(n: &Node, upn: &str, attributes: Value) -> (String, String, String) {
    let id = person(n, upn).await;
    n.store
        .update_user(
            &Actor::system(),
            &id,
            trustplane_store::UserPatch {
                attributes: Some(attributes.as_object().unwrap().clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (token, uri) = authenticator(n, &id, upn).await;
    (id, token, uri)
}

/// An API token and an authenticator app for someone: (token, otpauth URI).
pub(super) async fn authenticator(n: &Node, id: &str, upn: &str) -> (String, String) {
    let token = format!("tp_pim_{}_0123456789abcdef", upn.replace(['@', '.'], "_"));
    n.store
        .create_api_token(
            &Actor::system(),
            id,
            &trustplane_authn::hash_session_token(&token),
            "t",
            None,
        )
        .await
        .unwrap();
    let user = n.store.get_user(id).await.unwrap();
    let (handle, uri, _) = n.state.signin.totp_begin(&user).await.unwrap();
    let code = pyotp(&uri, n.clock.now_ms());
    n.state
        .signin
        .totp_confirm(&Actor::system(), &user, &handle, &code, "app")
        .await
        .unwrap();
    (token, uri)
}

pub(super) async fn role(n: &Node, name: &str, resource: Value) -> String {
    let (st, r) = api(
        n,
        Method::POST,
        "/api/v1/roleDefinitions",
        Some(json!({"displayName": name, "resource": resource})),
    )
    .await;
    assert_eq!(st, 201, "{r}");
    r["id"].as_str().unwrap().to_string()
}

/// The fake's subscription connected, and a just-in-time Reader role at its scope.
async fn azure_reader_role(n: &Node, srv: &azure_fake::Srv) -> String {
    let (st, az) = api(
        n,
        Method::POST,
        "/api/v1/posture/accounts",
        Some(json!({
        "provider": "azure", "subscriptionId": azure_fake::SUB_RBAC, "tenantId": azure_fake::TENANT,
        "clientId": "11111111-2222-3333-4444-555555555555", "clientSecret": "s3cret",
        "armEndpoint": srv.base, "loginEndpoint": srv.base, "graphEndpoint": srv.base,
        "enabled": false})),
    )
    .await;
    assert_eq!(st, 201, "{az}");
    let scope = format!("/subscriptions/{}", azure_fake::SUB_RBAC);
    role(n, "Azure Reader (JIT)", json!({"type": "azureRbac", "connectionId": az["id"], "scope": scope,
        "roleDefinitionId": format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{READER}")})).await
}

pub(super) async fn eligible(n: &Node, principal: &str, role: &str) {
    let (st, a) = api(
        n,
        Method::POST,
        "/api/v1/roleAssignments",
        Some(json!({
        "principalId": principal, "roleDefinitionId": role, "assignmentType": "eligible"})),
    )
    .await;
    assert_eq!(st, 201, "{a}");
}

async fn run(n: &Node) -> Value {
    serde_json::to_value(n.state.pim.run_due().await.unwrap()).unwrap()
}

pub(super) async fn activate(n: &Node, token: &str, uri: &str, role: &str, secs: i64) -> Value {
    n.clock.advance_ms(30_000);
    let (st, r) = api_as(
        n,
        token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(json!({
        "roleDefinitionId": role, "durationSeconds": secs, "justification": "change CHG-7",
        "mfaCode": pyotp(uri, n.clock.now_ms())})),
    )
    .await;
    assert_eq!(st, 201, "{r}");
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_roles_are_granted_on_approval_and_removed_on_expiry_in_aws_and_azure() {
    let Some(moto) = Moto::start() else { return };
    let n = node().await;
    let srv = azure_fake::start(azure_fake::Mode::default()).await;
    let (instance, ps) = permission_set(&moto, "AdministratorAccess").await;
    let (st, aws) = api(
        &n,
        Method::POST,
        "/api/v1/posture/accounts",
        Some(json!({
        "provider": "aws", "accountId": ACCOUNT, "regions": ["us-east-1"],
        "endpointUrl": moto.url, "enabled": false})),
    )
    .await;
    assert_eq!(st, 201, "{aws}");
    let idc_role = role(&n, "AWS Admin (JIT)", json!({"type": "awsIdentityCenter",
        "connectionId": aws["id"], "instanceArn": instance, "permissionSetArn": ps, "accountId": ACCOUNT})).await;
    let az_role = azure_reader_role(&n, &srv).await;

    let (ada, ada_token, ada_otp) = elevated_person(
        &n,
        "ada@example.com",
        json!({"awsIdentityCenterUserId": "idc-user-ada", "azureObjectId": AZURE_PRINCIPAL}),
    )
    .await;
    let (bob, bob_token, _) = elevated_person(&n, "bob@example.com", json!({})).await;
    for r in [&idc_role, &az_role] {
        eligible(&n, &ada, r).await;
        let (st, b) = api(
            &n,
            Method::PUT,
            &format!("/api/v1/pim/settings/{r}"),
            Some(json!({
            "maxActivationSeconds": 7200, "requireApproval": true, "approvers": [bob]})),
        )
        .await;
        assert_eq!(st, 200, "{b}");
    }

    // Requested, approved, granted in both clouds.
    let mut ids = Vec::new();
    for r in [&idc_role, &az_role] {
        let req = activate(&n, &ada_token, &ada_otp, r, 3600).await;
        assert_eq!(req["state"], "pendingApproval");
        if *r == idc_role {
            assert!(
                idc_holders(&moto, &instance, &ps).await.is_empty(),
                "nothing before approval"
            );
        } else {
            assert!(azure_holders(&srv).is_empty(), "nothing before approval");
        }
        let id = req["id"].as_str().unwrap().to_string();
        let (st, a) = api_as(
            &n,
            &bob_token,
            Method::POST,
            &format!("/api/v1/pim/requests/{id}/approve"),
            None,
        )
        .await;
        assert_eq!(st, 200, "{a}");
        assert_eq!(a["state"], "active", "{a}");
        ids.push(id);
    }
    assert_eq!(
        idc_holders(&moto, &instance, &ps).await,
        vec!["idc-user-ada"]
    );
    assert_eq!(azure_holders(&srv), vec![AZURE_PRINCIPAL]);

    // A second, overlapping AWS activation 30 minutes later, approved at once.
    n.clock.advance_ms(1_800_000);
    let again = activate(&n, &ada_token, &ada_otp, &idc_role, 3600).await;
    let (_, a) = api_as(
        &n,
        &bob_token,
        Method::POST,
        &format!(
            "/api/v1/pim/requests/{}/approve",
            again["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(a["state"], "active", "{a}");

    // A grant made outside Trustplane is found by reconciliation.
    center(&moto)
        .await
        .assign(&trustplane_aws::identity_center::AccountAssignment {
            instance_arn: instance.clone(),
            permission_set_arn: ps.clone(),
            account_id: ACCOUNT.into(),
            principal_type: trustplane_aws::identity_center::PrincipalType::User,
            principal_id: "idc-user-mallory".into(),
        })
        .await
        .unwrap();
    let (st, rec) = api(&n, Method::POST, "/api/v1/pim/reconcile", None).await;
    assert_eq!(st, 200, "{rec}");
    let outside: Vec<&str> = rec["outsideGrants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["principal"].as_str().unwrap())
        .collect();
    assert_eq!(outside, vec!["idc-user-mallory"], "{rec}");
    let (_, alerts) = api(&n, Method::GET, "/api/v1/pim/alerts", None).await;
    assert_eq!(
        alerts["value"][0]["alertId"], "rolesAssignedOutsidePim",
        "{alerts}"
    );

    // At one hour the first activations end: Azure's grant goes, AWS's stays for the second.
    n.clock.advance_ms(1_800_000);
    let report = run(&n).await;
    assert_eq!(report["expired"], 2, "{report}");
    assert!(
        azure_holders(&srv).is_empty(),
        "Azure grant removed at expiry"
    );
    assert_eq!(
        idc_holders(&moto, &instance, &ps).await,
        vec!["idc-user-ada", "idc-user-mallory"]
    );

    // The node stops; the second activation ends while it is down; a new node removes the
    // grant as soon as it runs.
    let dir = n.dir.path().to_path_buf();
    n.clock.advance_ms(1_800_000 + 60_000);
    let (_, restarted) = state(&dir, &n.clock).await;
    let report = serde_json::to_value(restarted.pim.run_due().await.unwrap()).unwrap();
    assert_eq!(report["expired"], 1, "{report}");
    assert_eq!(
        idc_holders(&moto, &instance, &ps).await,
        vec!["idc-user-mallory"],
        "only the outside grant is left"
    );
    assert!(n.store.pim_grants().await.unwrap().is_empty());

    // Configured to, reconciliation removes what was granted outside Trustplane.
    let (st, c) = api(
        &n,
        Method::PUT,
        "/api/v1/pim/configuration",
        Some(json!({"removeOutsideGrants": true})),
    )
    .await;
    assert_eq!(st, 200, "{c}");
    let (_, rec) = api(&n, Method::POST, "/api/v1/pim/reconcile", None).await;
    assert!(rec["outsideGrants"][0]["removedAt"].is_number(), "{rec}");
    assert!(idc_holders(&moto, &instance, &ps).await.is_empty());
    let (_, rec) = api(&n, Method::POST, "/api/v1/pim/reconcile", None).await;
    assert_eq!(rec["outsideGrants"], json!([]), "{rec}");
    let (_, alerts) = api(&n, Method::GET, "/api/v1/pim/alerts", None).await;
    assert!(
        !alerts.to_string().contains("rolesAssignedOutsidePim"),
        "resolved once gone: {alerts}"
    );
    let acts = audit_activities(&n).await;
    for a in [
        "pim.request.approve",
        "pim.activation.start",
        "pim.grant.cloudGrant",
        "pim.activation.expire",
        "pim.grant.cloudRevoke",
        "pim.reconcile.outsideGrant",
    ] {
        assert!(acts.iter().any(|x| x == a), "{a} not audited");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_refusal_fails_the_request_and_leaves_nothing_granted() {
    let n = node().await;
    let srv = azure_fake::start(azure_fake::Mode::default()).await;
    let az_role = azure_reader_role(&n, &srv).await;
    let (ada, token, otp) = elevated_person(
        &n,
        "ada@example.com",
        json!({"azureObjectId": azure_fake::UNKNOWN_PRINCIPAL}),
    )
    .await;
    let (eve, eve_token, eve_otp) = elevated_person(&n, "eve@example.com", json!({})).await;
    eligible(&n, &ada, &az_role).await;
    eligible(&n, &eve, &az_role).await;

    let r = activate(&n, &token, &otp, &az_role, 3600).await;
    assert_eq!(r["state"], "failed", "{r}");
    assert!(
        r["reason"].as_str().unwrap().contains("PrincipalNotFound"),
        "{r}"
    );
    assert!(azure_holders(&srv).is_empty());
    assert!(
        n.store.pim_grants().await.unwrap().is_empty(),
        "nothing half-granted"
    );
    let (_, audit) = api(&n, Method::GET, "/api/v1/audit?$top=500", None).await;
    let refused = audit["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["activity"] == "pim.grant.cloudGrant")
        .cloned()
        .unwrap_or_else(|| panic!("no cloud grant audited"));
    assert_eq!(refused["result"], "failure", "{refused}");
    assert!(refused["resultReason"]
        .as_str()
        .unwrap()
        .contains("PrincipalNotFound"));
    assert!(n
        .store
        .direct_active_assignment(&ada, &az_role, "/")
        .await
        .unwrap()
        .is_none());

    // Someone the cloud cannot name is refused before anything is asked of anyone.
    n.clock.advance_ms(30_000);
    let (st, p) = api_as(
        &n,
        &eve_token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(json!({
        "roleDefinitionId": az_role, "durationSeconds": 600, "justification": "x",
        "mfaCode": pyotp(&eve_otp, n.clock.now_ms())})),
    )
    .await;
    assert_eq!(st, 400, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("azureObjectId"),
        "{p}"
    );
}

/// Follows the node's redirects with a session until a page answers; (status, body).
async fn follow(n: &Node, session: &str, mut path: String) -> (u16, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..5 {
        let r = client
            .get(format!("{}{path}", n.base))
            .bearer_auth(session)
            .send()
            .await
            .unwrap();
        match r.headers().get("location") {
            Some(next) if r.status().is_redirection() => path = next.to_str().unwrap().to_string(),
            _ => return (r.status().as_u16(), r.text().await.unwrap()),
        }
    }
    panic!("too many redirects at {path}");
}

/// STS AssumeRoleWithSAML through boto3 against moto: the assumed-role ARN.
fn assume_with_saml(moto: &Moto, role: &str, provider: &str, assertion: &str) -> String {
    let python = std::env::var("TRUSTPLANE_TEST_PYTHON").unwrap();
    let script = r#"
import sys, boto3
sts = boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1")
out = sts.assume_role_with_saml(RoleArn=sys.argv[2], PrincipalArn=sys.argv[3], SAMLAssertion=sys.argv[4])
print(out["AssumedRoleUser"]["Arn"])
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script, &moto.url, role, provider, assertion])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A console sign-in session of Ada's (password and a second factor).
async fn console_session(n: &Node, password: &str, otp: &str) -> String {
    n.clock.advance_ms(30_000);
    let http = reqwest::Client::new();
    let first: Value = http
        .post(format!("{}/api/v1/auth/signIn", n.base))
        .json(&json!({"username": "ada@example.com", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second: Value = http
        .post(format!("{}/api/v1/auth/secondFactor", n.base))
        .json(&json!({"signInId": first["signInId"], "method": "totp",
                      "code": pyotp(otp, n.clock.now_ms())}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    second["sessionToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{second}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saml_role_is_in_the_aws_assertion_only_while_activated() {
    let Some(moto) = Moto::start() else { return };
    let n = node().await;
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/BreakGlass");
    let provider = format!("arn:aws:iam::{ACCOUNT}:saml-provider/Trustplane");
    let saml_role = role(
        &n,
        "AWS BreakGlass",
        json!({"type": "awsSamlRole", "accountId": ACCOUNT,
        "roleArn": role_arn, "samlProviderArn": provider, "maxSessionDuration": 3600}),
    )
    .await;
    let (st, app) = api(
        &n,
        Method::POST,
        "/api/v1/applications",
        Some(json!({
        "displayName": "AWS", "settings": {"saml": {"template": "awsConsole"}}})),
    )
    .await;
    assert_eq!(st, 201, "{app}");
    let (ada, token, otp) = elevated_person(&n, "ada@example.com", json!({})).await;
    let password = "a long and unusual passphrase";
    n.store
        .update_user(
            &Actor::system(),
            &ada,
            trustplane_store::UserPatch {
                password_hash: Some(trustplane_authn::hash_password(password).unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    eligible(&n, &ada, &saml_role).await;

    let session = console_session(&n, password, &otp).await;
    let start = format!("/saml/start/urn:amazon:webservices?role={role_arn}");

    // Eligible only: no assertion carries the role.
    let (status, page) = follow(&n, &session, start.clone()).await;
    assert_eq!(status, 403, "{page}");
    assert!(!page.contains("SAMLResponse"));

    let r = activate(&n, &token, &otp, &saml_role, 1800).await;
    assert_eq!(r["state"], "active", "{r}");
    let (status, page) = follow(&n, &session, start.clone()).await;
    assert_eq!(status, 200, "{page}");
    let marker = "name=\"SAMLResponse\" value=\"";
    let from = page.find(marker).unwrap() + marker.len();
    let assertion = &page[from..from + page[from..].find('"').unwrap()];
    let arn = assume_with_saml(&moto, &role_arn, &provider, assertion);
    assert_eq!(
        arn,
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/BreakGlass/ada@example.com")
    );

    // Half an hour later the activation has ended: a new sign-in no longer carries the role.
    n.clock.advance_ms(1_800_000);
    run(&n).await;
    let session = console_session(&n, password, &otp).await;
    let (status, page) = follow(&n, &session, start).await;
    assert_eq!(status, 403, "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_dies_while_granting_leaves_a_known_grant_that_the_next_node_completes_and_ends(
) {
    let n = node().await;
    // Resource Manager answers slowly, so the node can die while the grant is in flight.
    let srv = azure_fake::start(azure_fake::Mode {
        delay_ms: 1_500,
        ..azure_fake::Mode::default()
    })
    .await;
    let az_role = azure_reader_role(&n, &srv).await;
    let (ada, ada_token, _) = elevated_person(
        &n,
        "ada@example.com",
        json!({"azureObjectId": AZURE_PRINCIPAL}),
    )
    .await;
    let (bob, _, _) = elevated_person(&n, "bob@example.com", json!({})).await;
    eligible(&n, &ada, &az_role).await;
    api(
        &n,
        Method::PUT,
        &format!("/api/v1/pim/settings/{az_role}"),
        Some(json!({
        "requireMfa": false, "requireApproval": true, "approvers": [bob]})),
    )
    .await;
    let (st, r) = api_as(&n, &ada_token, Method::POST, "/api/v1/pim/requests", Some(json!({
        "roleDefinitionId": az_role, "durationSeconds": 3600, "justification": "restore from backup"}))).await;
    assert_eq!(st, 201, "{r}");
    let r_id = r["id"].as_str().unwrap().to_string();
    // Bob's approval is recorded; the node starts granting and dies with the call in flight.
    n.store
        .transition_pim_request(
            &Actor::system(),
            &r_id,
            &[RequestState::PendingApproval],
            RequestChange {
                decided_by: Some(bob.clone()),
                ..RequestChange::to(RequestState::Approved, None)
            },
            "pim.request.approve",
        )
        .await
        .unwrap();
    let pim = n.state.pim.clone();
    let id = r_id.clone();
    let granting = tokio::spawn(async move { pim.activate(&Actor::system(), &id).await });
    while !n
        .store
        .pim_grants()
        .await
        .unwrap()
        .iter()
        .any(|g| g.kind == "cloud")
    {
        tokio::task::yield_now().await;
    }
    granting.abort();
    let known = n.store.pim_grants().await.unwrap();
    let cloud = known.iter().find(|g| g.kind == "cloud").unwrap();
    assert_eq!(
        cloud.state, "granting",
        "the grant is on record before the cloud answers"
    );
    assert_eq!(
        n.store.get_pim_request(&r_id).await.unwrap().state,
        RequestState::Approved
    );

    // The next node's first round completes the activation (granting again is harmless)...
    let (_, restarted) = state(n.dir.path(), &n.clock).await;
    let report = serde_json::to_value(restarted.pim.run_due().await.unwrap()).unwrap();
    assert_eq!(report["activated"], 1, "{report}");
    assert_eq!(azure_holders(&srv), vec![AZURE_PRINCIPAL]);
    assert!(n
        .store
        .pim_grants()
        .await
        .unwrap()
        .iter()
        .all(|g| g.state == "held"));
    // ...and ends it on time.
    n.clock.advance_ms(3_600_000);
    let report = serde_json::to_value(restarted.pim.run_due().await.unwrap()).unwrap();
    assert_eq!(report["expired"], 1, "{report}");
    assert!(azure_holders(&srv).is_empty());
    assert!(n.store.pim_grants().await.unwrap().is_empty());
}

/// The statements of the role's `TrustplaneRevokedSessions` policy in moto (none when the
/// policy is not there).
async fn revocations(moto: &Moto, role: &str) -> Vec<Value> {
    trustplane_aws::role_sessions::RoleSessions::connect(&ConnectOptions {
        endpoint_url: Some(moto.url.clone()),
        region: "us-east-1".into(),
        role_arn: None,
    })
    .await
    .statements(role)
    .await
    .unwrap()
}

/// The ISO 8601 time a revocation made at `ms` denies sessions before: the next second, plus
/// the 300 s an assertion issued just before may still be exchanged.
fn denied_before(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000 + 1 + 300)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn pim_audit(audit: &Value, activity: &str) -> Vec<Value> {
    audit["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["activity"] == activity)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_sessions_of_an_elevation_ended_early_are_denied_until_they_cannot_be_alive() {
    let Some(moto) = Moto::start() else { return };
    let n = node().await;
    let conf = trustplane_aws::sdk_config(&trustplane_aws::CollectOptions {
        endpoint_url: Some(moto.url.clone()),
        ..Default::default()
    })
    .await;
    let provider = format!("arn:aws:iam::{ACCOUNT}:saml-provider/Trustplane");
    aws_sdk_iam::Client::new(&conf)
        .create_role()
        .role_name("Admin")
        .assume_role_policy_document(trustplane_aws::federation::trust_policy(&provider))
        .max_session_duration(3600)
        .send()
        .await
        .unwrap();
    let (st, aws) = api(
        &n,
        Method::POST,
        "/api/v1/posture/accounts",
        Some(json!({
        "provider": "aws", "accountId": ACCOUNT, "regions": ["us-east-1"],
        "endpointUrl": moto.url, "enabled": false})),
    )
    .await;
    assert_eq!(st, 201, "{aws}");
    let admin = role(
        &n,
        "AWS Admin (SAML)",
        json!({"type": "awsSamlRole", "accountId": ACCOUNT,
        "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/Admin"), "samlProviderArn": provider,
        "maxSessionDuration": 3600}),
    )
    .await;
    // A role in an account nobody connected: its sessions cannot be reached.
    let elsewhere = role(
        &n,
        "Other account (SAML)",
        json!({"type": "awsSamlRole",
        "accountId": "210987654321", "roleArn": "arn:aws:iam::210987654321:role/Admin",
        "samlProviderArn": "arn:aws:iam::210987654321:saml-provider/Trustplane",
        "maxSessionDuration": 3600}),
    )
    .await;
    let (ada, ada_token, ada_otp) = elevated_person(&n, "ada@example.com", json!({})).await;
    let (cy, cy_token, cy_otp) = elevated_person(&n, "cy@example.com", json!({})).await;
    for (p, r) in [(&ada, &admin), (&cy, &admin), (&ada, &elsewhere)] {
        eligible(&n, p, r).await;
    }

    // Natural expiry: the capped sessions end with the activation, nothing is put on the role.
    let r = activate(&n, &ada_token, &ada_otp, &admin, 900).await;
    assert_eq!(r["state"], "active", "{r}");
    n.clock.advance_ms(901_000);
    let report = run(&n).await;
    assert_eq!(report["expired"], 1, "{report}");
    assert!(revocations(&moto, "Admin").await.is_empty());
    assert!(n.store.pim_grants().await.unwrap().is_empty());

    // Ada deactivates after ten minutes of an hour: her sessions issued until then are denied.
    let r = activate(&n, &ada_token, &ada_otp, &admin, 3600).await;
    let ada_req = r["id"].as_str().unwrap().to_string();
    n.clock.advance_ms(600_000);
    let ada_end = n.clock.now_ms();
    let (st, d) = api_as(
        &n,
        &ada_token,
        Method::POST,
        &format!("/api/v1/pim/requests/{ada_req}/deactivate"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["state"], "revoked", "{d}");
    let statements = revocations(&moto, "Admin").await;
    assert_eq!(statements.len(), 1, "{statements:?}");
    let s = &statements[0];
    assert_eq!(s["Effect"], "Deny");
    assert_eq!(s["Action"], "*");
    assert_eq!(
        s["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
        denied_before(ada_end)
    );
    assert_eq!(
        s["Condition"]["StringLike"]["aws:userid"],
        json!(["*:ada@example.com"])
    );

    // An administrator revokes Cy's activation twenty minutes later: a second statement.
    let r = activate(&n, &cy_token, &cy_otp, &admin, 3600).await;
    let cy_req = r["id"].as_str().unwrap().to_string();
    n.clock.advance_ms(1_200_000);
    let cy_end = n.clock.now_ms();
    let (st, d) = api(
        &n,
        Method::POST,
        &format!("/api/v1/pim/requests/{cy_req}/revoke"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{d}");
    let statements = revocations(&moto, "Admin").await;
    assert_eq!(statements.len(), 2, "{statements:?}");
    let cy_statement = statements
        .iter()
        .find(|s| s["Condition"]["StringLike"]["aws:userid"] == json!(["*:cy@example.com"]))
        .unwrap_or_else(|| panic!("no statement for Cy: {statements:?}"));
    assert_eq!(
        cy_statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
        denied_before(cy_end)
    );

    // A role whose account is not connected: the deactivation stands, the failure is audited.
    let r = activate(&n, &ada_token, &ada_otp, &elsewhere, 3600).await;
    let other_req = r["id"].as_str().unwrap().to_string();
    n.clock.advance_ms(60_000);
    let (st, d) = api_as(
        &n,
        &ada_token,
        Method::POST,
        &format!("/api/v1/pim/requests/{other_req}/deactivate"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["state"], "revoked", "{d}");
    let (_, audit) = api(&n, Method::GET, "/api/v1/audit?$top=500", None).await;
    let puts = pim_audit(&audit, "pim.grant.sessionRevoke");
    assert_eq!(puts.len(), 3, "{puts:?}");
    let failed: Vec<&Value> = puts.iter().filter(|e| e["result"] == "failure").collect();
    assert_eq!(failed.len(), 1, "{puts:?}");
    assert_eq!(failed[0]["category"], "pim");
    assert!(
        failed[0]["resultReason"]
            .as_str()
            .unwrap()
            .contains("210987654321 is not connected"),
        "{:?}",
        failed[0]
    );

    // Ada's statement goes once no session issued before her end can be alive (end + the
    // role's maximum session); the policy goes with Cy's.
    n.clock
        .advance_ms(ada_end + 301_000 + 3_600_000 - n.clock.now_ms());
    run(&n).await;
    let statements = revocations(&moto, "Admin").await;
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert_eq!(
        statements[0]["Condition"]["StringLike"]["aws:userid"],
        json!(["*:cy@example.com"])
    );
    n.clock
        .advance_ms(cy_end + 301_000 + 3_600_000 - n.clock.now_ms());
    run(&n).await;
    assert!(
        revocations(&moto, "Admin").await.is_empty(),
        "policy deleted"
    );
    assert!(n.store.pim_grants().await.unwrap().is_empty());
    let (_, audit) = api(&n, Method::GET, "/api/v1/audit?$top=500", None).await;
    let lifts = pim_audit(&audit, "pim.grant.sessionRevokeLift");
    assert_eq!(lifts.len(), 2, "{lifts:?}");
    assert!(lifts.iter().all(|e| e["result"] == "success"));
}
