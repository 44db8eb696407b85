//! Outbound provisioning into IAM Identity Center end to end, over both transports: moto's
//! Identity Store (with moto's Identity Center for the permission set), and the `scim2-server`
//! package standing in for Identity Center's SCIM endpoint. A person created through inbound
//! SCIM appears in the target with their group, their target id lands on the directory user
//! by itself, and they are made eligible for and activate a permission set without any
//! hand-typed id. Disabled through SCIM, they lose their sessions and grants in Trustplane;
//! in the target they are deleted (the Identity Store keeps no `active` flag) or set
//! inactive and taken out of their groups (SCIM).

use super::pim::{activate, authenticator, eligible, idc_holders, permission_set, role};
use super::*;

#[path = "../../../provisioning/tests/support/scim_peer.rs"]
mod scim_peer;
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Transport {
    IdentityStore,
    Scim,
}

/// The target as seen from outside: user name to (id, active), and the user ids in the group.
async fn target_view(
    transport: Transport,
    moto: &Moto,
    store_id: &str,
    peer: &scim_peer::Peer,
    group: &str,
) -> (
    std::collections::BTreeMap<String, (String, bool)>,
    Vec<String>,
) {
    match transport {
        Transport::IdentityStore => {
            let seen = identity_store(moto, store_id, group);
            let users = seen["users"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), (v.as_str().unwrap().to_string(), true)))
                .collect();
            let members = seen["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_string())
                .collect();
            (users, members)
        }
        Transport::Scim => {
            let users = peer
                .users()
                .await
                .iter()
                .map(|u| {
                    (
                        u["userName"].as_str().unwrap().to_string(),
                        (u["id"].as_str().unwrap().to_string(), u["active"] == true),
                    )
                })
                .collect();
            let groups = peer.get("/Groups?count=100").await;
            let members = groups["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|g| g["displayName"] == group)
                .flat_map(|g| g["members"].as_array().cloned().unwrap_or_default())
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect();
            (users, members)
        }
    }
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
async fn a_person_provisioned_by_scim_reaches_the_identity_store_and_activates_a_permission_set() {
    end_to_end(Transport::IdentityStore).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_provisioned_by_scim_reaches_the_scim_endpoint_and_activates_a_permission_set() {
    end_to_end(Transport::Scim).await;
}

async fn end_to_end(transport: Transport) {
    let Some(moto) = Moto::start() else { return };
    let peer = scim_peer::peer();
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
    let (st, g) = scim(
        &n,
        &scim_token,
        Method::POST,
        "/Groups",
        json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Cloud Engineers", "members": [{"value": grace_id}]}),
    )
    .await;
    assert_eq!(st, 201, "{g}");
    // Someone outside the scope stays out of the Identity Store.
    person(&n, "outsider@example.com").await;

    // Outbound: the group's members go to the Identity Store. Bad settings are refused by name.
    let base = match transport {
        Transport::IdentityStore => {
            json!({"type": "awsIdentityStore", "displayName": "Identity Center",
            "identityStoreId": store_id, "region": "us-east-1", "endpoint": moto.url,
            "scopeGroups": ["Cloud Engineers"], "deleteThresholdPercent": 100})
        }
        Transport::Scim => json!({"type": "awsScim", "displayName": "Identity Center",
            "url": format!("{}/v2", peer.base), "token": scim_peer::TOKEN,
            "scopeGroups": ["Cloud Engineers"], "deleteThresholdPercent": 100}),
    };
    for (field, value) in [
        ("deleteThresholdPercent", json!(101)),
        ("scopeGroups", json!(["No Such Group"])),
    ] {
        let mut bad = base.clone();
        bad[field] = value;
        let (st, p) = api(
            &n,
            Method::POST,
            "/api/v1/provisioning/connections",
            Some(bad),
        )
        .await;
        assert_eq!(st, 400, "{p}");
        assert_eq!(p["field"], field, "{p}");
    }
    let (st, out) = api(
        &n,
        Method::POST,
        "/api/v1/provisioning/connections",
        Some(base),
    )
    .await;
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
    let (users, members) = target_view(transport, &moto, &store_id, &peer, "Cloud Engineers").await;
    let idc_user = users
        .get("grace@example.com")
        .unwrap_or_else(|| panic!("grace in the target: {users:?}"))
        .0
        .clone();
    assert!(!users.contains_key("outsider@example.com"), "{users:?}");
    assert_eq!(members, vec![idc_user.clone()]);
    // Her Identity Store id is on her directory user, typed by nobody.
    let stored = n.store.get_user(&grace_id).await.unwrap();
    assert_eq!(
        stored.attributes["awsIdentityCenterUserId"],
        json!(idc_user)
    );
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
        Some(
            json!({"provider": "aws", "accountId": ACCOUNT, "regions": ["us-east-1"],
            "endpointUrl": moto.url, "enabled": false}),
        ),
    )
    .await;
    assert_eq!(st, 201, "{aws}");
    let idc_role = role(&n, "AWS Power User (JIT)", json!({"type": "awsIdentityCenter",
        "connectionId": aws["id"], "instanceArn": instance, "permissionSetArn": ps, "accountId": ACCOUNT})).await;
    eligible(&n, &grace_id, &idc_role).await;
    let (token, otp) = authenticator(&n, &grace_id, "grace@example.com").await;
    let req = activate(&n, &token, &otp, &idc_role, 3600).await;
    assert_eq!(req["state"], "active", "{req}");
    assert_eq!(
        idc_holders(&moto, &instance, &ps).await,
        vec![idc_user.clone()]
    );

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
    let (st, v) = scim(
        &n,
        &scim_token,
        Method::PATCH,
        &format!("/Users/{grace_id}"),
        json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]}),
    )
    .await;
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
    let (users, members) = target_view(transport, &moto, &store_id, &peer, "Cloud Engineers").await;
    assert!(members.is_empty(), "{members:?}");
    let recorded = n.store.get_user(&grace_id).await.unwrap().attributes;
    match transport {
        // No `active` in the Identity Store: deleted, and the recorded id with her.
        Transport::IdentityStore => {
            assert!(!users.contains_key("grace@example.com"), "{users:?}");
            assert!(recorded.get("awsIdentityCenterUserId").is_none());
        }
        Transport::Scim => {
            assert_eq!(
                users.get("grace@example.com"),
                Some(&(idc_user.clone(), false))
            );
            assert_eq!(recorded["awsIdentityCenterUserId"], json!(idc_user));
        }
    }
    let activities = audit_activities(&n).await;
    assert!(
        activities.iter().any(|a| a == "provisioningConnection.run"),
        "{activities:?}"
    );
}
