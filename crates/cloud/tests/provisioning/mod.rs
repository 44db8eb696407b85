//! Outbound provisioning into IAM Identity Center end to end, against moto's Identity Store
//! and Identity Center: a person created through inbound SCIM appears in the Identity Store
//! with their group, their Identity Store id lands on the directory user by itself, and they
//! are made eligible for and activate a permission set without any hand-typed id. Disabled
//! through SCIM, they lose their sessions and grants in Trustplane and (the Identity Store
//! keeps no `active` flag) are deleted from the Identity Store.

use super::pim::{activate, authenticator, eligible, idc_holders, permission_set, role};
use super::*;
use trustplane_model::Event;
use trustplane_store::NewSession;

/// The Identity Store of moto's Identity Center instance.
fn identity_store_id(moto: &Moto) -> String {
    let python = std::env::var("TRUSTPLANE_TEST_PYTHON").unwrap();
    let script = r#"
import sys, boto3
sso = boto3.client("sso-admin", endpoint_url=sys.argv[1], region_name="us-east-1")
print(sso.list_instances()["Instances"][0]["IdentityStoreId"])
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script, &moto.url])
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

/// The Identity Store's users (user name and id) and one group's member ids, read with boto3
/// (an independent client).
fn identity_store(moto: &Moto, store: &str, group: &str) -> Value {
    let python = std::env::var("TRUSTPLANE_TEST_PYTHON").unwrap();
    let script = r#"
import json, sys, boto3
ids = boto3.client("identitystore", endpoint_url=sys.argv[1], region_name="us-east-1")
users = {u["UserName"]: u["UserId"] for u in ids.list_users(IdentityStoreId=sys.argv[2])["Users"]}
groups = {g["DisplayName"]: g["GroupId"] for g in ids.list_groups(IdentityStoreId=sys.argv[2])["Groups"]}
members = []
if sys.argv[3] in groups:
    members = [m["MemberId"]["UserId"] for m in ids.list_group_memberships(
        IdentityStoreId=sys.argv[2], GroupId=groups[sys.argv[3]])["GroupMemberships"]]
print(json.dumps({"users": users, "groups": groups, "members": members}))
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script, &moto.url, store, group])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn scim(n: &Node, token: &str, method: Method, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, format!("{}/scim/v2{path}", n.base))
        .bearer_auth(token)
        .header("Content-Type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_provisioned_by_scim_reaches_identity_center_and_activates_a_permission_set() {
    let Some(moto) = Moto::start() else { return };
    let n = node().await;
    let store_id = identity_store_id(&moto);

    // Inbound: Entra creates a person and a group through SCIM.
    let (st, inbound) = api(
        &n,
        Method::POST,
        "/api/v1/provisioning/connections",
        Some(json!({"type": "scimInbound", "displayName": "Entra"})),
    )
    .await;
    assert_eq!(st, 201, "{inbound}");
    let scim_token = inbound["token"].as_str().unwrap().to_string();
    let (st, grace) = scim(&n, &scim_token, Method::POST, "/Users", json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "grace@example.com", "externalId": "entra-grace",
        "name": {"givenName": "Grace", "familyName": "Hopper"}, "displayName": "Grace Hopper",
        "emails": [{"value": "grace@example.com", "type": "work", "primary": true}], "active": true})).await;
    assert_eq!(st, 201, "{grace}");
    let grace_id = grace["id"].as_str().unwrap().to_string();
    let (st, g) = scim(&n, &scim_token, Method::POST, "/Groups", json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Cloud Engineers", "members": [{"value": grace_id}]})).await;
    assert_eq!(st, 201, "{g}");
    // Someone outside the scope stays out of the Identity Store.
    person(&n, "outsider@example.com").await;

    // Outbound: the group's members go to the Identity Store. Bad settings are refused by name.
    let base = json!({"type": "awsIdentityStore", "displayName": "Identity Center",
        "identityStoreId": store_id, "region": "us-east-1", "endpoint": moto.url,
        "scopeGroups": ["Cloud Engineers"], "deleteThresholdPercent": 100});
    for (field, value) in [("region", json!("nowhere")), ("scopeGroups", json!(["No Such Group"]))] {
        let mut bad = base.clone();
        bad[field] = value;
        let (st, p) = api(&n, Method::POST, "/api/v1/provisioning/connections", Some(bad)).await;
        assert_eq!(st, 400, "{p}");
        assert_eq!(p["field"], field, "{p}");
    }
    let (st, out) = api(&n, Method::POST, "/api/v1/provisioning/connections", Some(base)).await;
    assert_eq!(st, 201, "{out}");
    let out_id = out["id"].as_str().unwrap().to_string();
    let (st, report) = api(
        &n,
        Method::POST,
        &format!("/api/v1/provisioning/connections/{out_id}/run"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(report["status"], "succeeded", "{report}");
    let seen = identity_store(&moto, &store_id, "Cloud Engineers");
    let idc_user = seen["users"]["grace@example.com"]
        .as_str()
        .unwrap_or_else(|| panic!("grace in the Identity Store: {seen}"))
        .to_string();
    assert!(seen["users"].get("outsider@example.com").is_none(), "{seen}");
    assert_eq!(seen["members"], json!([idc_user]), "{seen}");
    // Her Identity Store id is on her directory user, typed by nobody.
    let stored = n.store.get_user(&grace_id).await.unwrap();
    assert_eq!(stored.attributes["awsIdentityCenterUserId"], json!(idc_user));
    let (_, status) = api(
        &n,
        Method::GET,
        &format!("/api/v1/provisioning/connections/{out_id}/status"),
        None,
    )
    .await;
    assert_eq!(status["changes"], 3, "{status}");
    assert_eq!(status["lastStatus"], "succeeded");
    assert_eq!(status["drift"], 0, "{status}");

    // PIM: eligible for a permission set, activated, granted to her Identity Store user.
    let (instance, ps) = permission_set(&moto, "PowerUserAccess").await;
    let (st, aws) = api(
        &n,
        Method::POST,
        "/api/v1/posture/accounts",
        Some(json!({"provider": "aws", "accountId": ACCOUNT, "regions": ["us-east-1"],
            "endpointUrl": moto.url, "enabled": false})),
    )
    .await;
    assert_eq!(st, 201, "{aws}");
    let idc_role = role(&n, "AWS Power User (JIT)", json!({"type": "awsIdentityCenter",
        "connectionId": aws["id"], "instanceArn": instance, "permissionSetArn": ps, "accountId": ACCOUNT})).await;
    eligible(&n, &grace_id, &idc_role).await;
    let (token, otp) = authenticator(&n, &grace_id, "grace@example.com").await;
    let req = activate(&n, &token, &otp, &idc_role, 3600).await;
    assert_eq!(req["state"], "active", "{req}");
    assert_eq!(idc_holders(&moto, &instance, &ps).await, vec![idc_user.clone()]);

    // Disabled through SCIM: her sessions end, her grant is taken back, and the next run
    // deletes her from the Identity Store.
    n.store
        .create_session(
            NewSession {
                id: "grace-session".into(),
                user_id: grace_id.clone(),
                token_hash: trustplane_authn::hash_session_token("grace-browser"),
                amr: vec!["pwd".into()],
                mfa: false,
                ip_address: None,
                user_agent: None,
                client_app: "browser".into(),
                restriction: None,
            },
            Event {
                sequence: 0,
                activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
                category: "signIn".into(),
                activity: "signIn".into(),
                initiated_by: Actor::system(),
                target: None,
                result: trustplane_model::Outcome::Success,
                result_reason: None,
                before: None,
                after: None,
            },
        )
        .await
        .unwrap();
    let (st, v) = scim(&n, &scim_token, Method::PATCH, &format!("/Users/{grace_id}"), json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]})).await;
    assert_eq!(st, 200, "{v}");
    assert!(n.store.list_sessions(&grace_id).await.unwrap().is_empty());
    assert!(idc_holders(&moto, &instance, &ps).await.is_empty());
    let (st, _) = api_as(&n, &token, Method::GET, "/api/v1/me", None).await;
    assert_eq!(st, 401);
    let (st, report) = api(
        &n,
        Method::POST,
        &format!("/api/v1/provisioning/connections/{out_id}/run"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(report["status"], "succeeded", "{report}");
    let seen = identity_store(&moto, &store_id, "Cloud Engineers");
    assert!(seen["users"].get("grace@example.com").is_none(), "{seen}");
    assert_eq!(seen["members"], json!([]), "{seen}");
    assert!(n
        .store
        .get_user(&grace_id)
        .await
        .unwrap()
        .attributes
        .get("awsIdentityCenterUserId")
        .is_none());
    let activities = audit_activities(&n).await;
    assert!(activities.iter().any(|a| a == "provisioningConnection.run"), "{activities:?}");
}
