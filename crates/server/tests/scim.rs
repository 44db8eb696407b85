//! Inbound provisioning over real HTTP: provisioning connections through the admin API, and
//! the SCIM 2.0 service at `/scim/v2` driven with the requests Microsoft Entra's provisioning
//! service sends (create user, add to group, update attributes, disable, delete), plus the
//! `scim2-tester` compliance checker (PyPI) run against the running server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use trustplane_authn::SessionPolicy;
use trustplane_model::{Actor, BuiltinRole, Event, ManualClock, Outcome};
use trustplane_server::{app, AppState, NodeSettings, SignInLimits};
use trustplane_store::{AuditQuery, NewAssignment, NewSession, NewUser, Store};

const T0: i64 = 1_790_000_000_000;
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct Server {
    base: String,
    store: Store,
    http: reqwest::Client,
    /// A Global Administrator's API token.
    admin: String,
    /// A User Administrator's API token.
    user_admin: String,
    _dir: tempfile::TempDir,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

async fn admin_token(store: &Store, upn: &str, role: BuiltinRole) -> String {
    let user = store
        .create_user(
            &Actor::system(),
            NewUser {
                user_principal_name: upn.into(),
                display_name: upn.into(),
                account_enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store
        .create_role_assignment(
            &Actor::system(),
            NewAssignment {
                principal_id: user.id.clone(),
                role_definition_id: role.id().into(),
                directory_scope_id: "/".into(),
                assignment_type: trustplane_model::AssignmentKind::Active,
                start: None,
                end: None,
            },
        )
        .await
        .unwrap();
    let token = format!("tp_{}", upn.replace(['@', '.'], "_"));
    store
        .create_api_token(&Actor::system(), &user.id, &hash(&token), "test", None)
        .await
        .unwrap();
    token
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = Store::open(&url, Arc::new(clock.clone())).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let public_url = format!("http://localhost:{port}");
    let settings = NodeSettings {
        public_url: Some(public_url.clone()),
        master_key: Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".into()),
        master_key_file: dir.path().join("unused.key"),
        trusted_proxies: vec![],
        sessions: SessionPolicy::default(),
        issuer: "Trustplane".into(),
        geoip_database: None,
        detection_rules: vec![],
        limits: SignInLimits::default(),
        ingest_limits: Default::default(),
    };
    let state = AppState::new(store.clone(), &settings, &public_url)
        .await
        .unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let admin = admin_token(&store, "root@example.com", BuiltinRole::GlobalAdministrator).await;
    let user_admin = admin_token(
        &store,
        "helpdesk@example.com",
        BuiltinRole::UserAdministrator,
    )
    .await;
    Server {
        base: format!("http://127.0.0.1:{port}"),
        store,
        http: reqwest::Client::new(),
        admin,
        user_admin,
        _dir: dir,
    }
}

impl Server {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, headers, value)
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let (s, _, v) = self.call(reqwest::Method::GET, path, token, None).await;
        (s, v)
    }

    async fn send(&self, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let (s, _, v) = self.call(m, path, token, Some(body)).await;
        (s, v)
    }

    /// Creates a scimInbound connection and returns (id, token).
    async fn connection(&self, name: &str) -> (String, String) {
        let (s, v) = self
            .send(
                "POST",
                "/api/v1/provisioning/connections",
                &self.admin,
                json!({"type": "scimInbound", "displayName": name}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        (
            v["id"].as_str().unwrap().to_string(),
            v["token"].as_str().unwrap().to_string(),
        )
    }
}

fn entra_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Grace Hopper", "familyName": "Hopper", "givenName": "Grace"},
        "roles": [],
        ENTERPRISE: {"employeeNumber": "701984", "department": "R&D"}
    })
}

#[tokio::test]
async fn connections_are_for_global_administrators_and_tokens_show_once() {
    let s = server().await;
    let body = json!({"type": "scimInbound", "displayName": "Entra"});
    // A User Administrator may manage users, but not provisioning connections.
    let (status, v) = s
        .send(
            "POST",
            "/api/v1/provisioning/connections",
            &s.user_admin,
            body.clone(),
        )
        .await;
    assert_eq!(status, 403, "{v}");
    let (status, _) = s
        .get("/api/v1/provisioning/connections", &s.user_admin)
        .await;
    assert_eq!(status, 403);
    assert!(s
        .store
        .list_provisioning_connections()
        .await
        .unwrap()
        .is_empty());

    let (status, created) = s
        .send(
            "POST",
            "/api/v1/provisioning/connections",
            &s.admin,
            body.clone(),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["type"], "scimInbound");
    let token = created["token"].as_str().unwrap();
    assert!(token.starts_with("tpscim_") && token.len() > 40);
    let id = created["id"].as_str().unwrap();

    // Never shown again; names work where ids do.
    let (status, shown) = s
        .get("/api/v1/provisioning/connections/entra", &s.admin)
        .await;
    assert_eq!(status, 200);
    assert_eq!(shown["id"], id);
    assert!(shown.get("token").is_none());
    let (_, list) = s.get("/api/v1/provisioning/connections", &s.admin).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(token));

    // Same name again, unknown types, outbound ones without their settings, stray settings:
    // refused with the field named, nothing made.
    for (bad, want) in [
        (body.clone(), 409),
        (
            json!({"type": "awsIdentityStore", "displayName": "AWS"}),
            400,
        ),
        (json!({"type": "awsScim", "displayName": "AWS"}), 400),
        (
            json!({"type": "awsScim", "displayName": "AWS", "url": "http://scim.example.com/v2", "token": "t"}),
            400,
        ),
        (json!({"type": "ldap", "displayName": "x"}), 400),
        (
            json!({"type": "scimInbound", "displayName": "y", "url": "http://x"}),
            400,
        ),
        (json!({"type": "scimInbound", "displayName": " "}), 400),
    ] {
        let (status, v) = s
            .send(
                "POST",
                "/api/v1/provisioning/connections",
                &s.admin,
                bad.clone(),
            )
            .await;
        assert_eq!(status, want, "{bad} -> {v}");
        let detail = v["detail"].as_str().unwrap_or_default();
        if bad["type"] == "awsIdentityStore" {
            assert!(detail.contains("identityStoreId"), "{v}");
        }
        if bad["type"] == "awsScim" {
            assert!(detail.contains("url"), "{v}");
        }
    }
    assert_eq!(
        s.store.list_provisioning_connections().await.unwrap().len(),
        1
    );

    let (status, st) = s
        .get(
            &format!("/api/v1/provisioning/connections/{id}/status"),
            &s.admin,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(st["changes"], 0);
    assert_eq!(st["failures"], 0);
    let (status, v) = s
        .send(
            "POST",
            &format!("/api/v1/provisioning/connections/{id}/run"),
            &s.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, 409);
    assert!(v["detail"].as_str().unwrap().contains("nothing to run"));

    // Deleting it ends its token at once.
    let (status, _) = s.get("/scim/v2/Users", token).await;
    assert_eq!(status, 200);
    let (status, _, _) = s
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/provisioning/connections/{id}"),
            &s.admin,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = s.get("/scim/v2/Users", token).await;
    assert_eq!(status, 401);

    let events = s
        .store
        .list_audit(&AuditQuery {
            category: Some("provisioning".into()),
            top: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let activities: Vec<&str> = events.items.iter().map(|e| e.activity.as_str()).collect();
    assert!(activities.contains(&"provisioningConnection.create"));
    assert!(activities.contains(&"provisioningConnection.delete"));
}

#[tokio::test]
async fn scim_tokens_reach_only_scim_and_api_tokens_never_do() {
    let s = server().await;
    let (_, token) = s.connection("Entra").await;
    // The connection's token is refused by the admin API...
    for path in [
        "/api/v1/users",
        "/api/v1/provisioning/connections",
        "/api/v1/groups",
    ] {
        let (status, _) = s.get(path, &token).await;
        assert_eq!(status, 401, "{path}");
    }
    let (status, _) = s
        .send(
            "POST",
            "/api/v1/users",
            &token,
            json!({"userPrincipalName": "x@example.com"}),
        )
        .await;
    assert_eq!(status, 401);
    // ...and the Global Administrator's API token (and no token, or a made-up one) by SCIM.
    for t in [s.admin.as_str(), "", "tpscim_made-up"] {
        let (status, headers, v) = s
            .call(reqwest::Method::GET, "/scim/v2/Users", t, None)
            .await;
        assert_eq!(status, 401, "{t}");
        assert_eq!(
            v["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(v["status"], "401");
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/scim+json"));
    }
    let (status, _) = s
        .send(
            "POST",
            "/scim/v2/Users",
            &s.admin,
            entra_user("a@example.com", "1"),
        )
        .await;
    assert_eq!(status, 401);
    assert!(s.store.get_user("a@example.com").await.is_err());
    let (status, spc) = s.get("/scim/v2/ServiceProviderConfig", &token).await;
    assert_eq!(status, 200);
    assert_eq!(spc["patch"]["supported"], true);
}

#[tokio::test]
async fn entra_sequence_create_group_update_disable_delete() {
    let s = server().await;
    let (conn, token) = s.connection("Entra").await;
    let upn = "grace.hopper@example.com";

    // Entra first looks the user up by userName, then creates them.
    let (status, v) = s
        .get(
            &format!("/scim/v2/Users?filter=userName%20eq%20%22{upn}%22"),
            &token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["totalResults"], 0);
    let (status, headers, user) = s
        .call(
            reqwest::Method::POST,
            "/scim/v2/Users",
            &token,
            Some(entra_user(upn, "ext-grace")),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/scim+json"));
    let id = user["id"].as_str().unwrap().to_string();
    assert_eq!(
        headers["location"],
        format!("{}", user["meta"]["location"].as_str().unwrap())
    );
    assert_eq!(headers["etag"], user["meta"]["version"].as_str().unwrap());
    assert_eq!(user["externalId"], "ext-grace");
    assert_eq!(user[ENTERPRISE]["department"], "R&D");
    let stored = s.store.get_user(upn).await.unwrap();
    assert_eq!(stored.id, id);
    assert!(stored.attributes.get("externalId").is_none());
    assert_eq!(stored.attributes["department"], "R&D");

    // The same userName again, or one a local account holds: 409 uniqueness.
    let (status, v) = s
        .send(
            "POST",
            "/scim/v2/Users",
            &token,
            entra_user(upn, "ext-other"),
        )
        .await;
    assert_eq!(
        (status, v["scimType"].as_str()),
        (409, Some("uniqueness")),
        "{v}"
    );
    let (status, v) = s
        .send(
            "POST",
            "/scim/v2/Users",
            &token,
            entra_user("root@example.com", "ext-root"),
        )
        .await;
    assert_eq!(
        (status, v["scimType"].as_str()),
        (409, Some("uniqueness")),
        "{v}"
    );
    // The same externalId for another userName is taken too.
    let (status, _) = s
        .send(
            "POST",
            "/scim/v2/Users",
            &token,
            entra_user("x@example.com", "ext-grace"),
        )
        .await;
    assert_eq!(status, 409);

    // Look-ups Entra makes: by externalId (exact), by userName (any case).
    let (_, v) = s
        .get(
            "/scim/v2/Users?filter=externalId%20eq%20%22ext-grace%22",
            &token,
        )
        .await;
    assert_eq!(v["totalResults"], 1);
    let (_, v) = s
        .get("/scim/v2/Users?filter=userName%20eq%20%22GRACE.HOPPER@example.com%22&attributes=userName", &token)
        .await;
    assert_eq!(v["totalResults"], 1);
    assert!(v["Resources"][0].get("emails").is_none());
    // A filter that is not an equality runs over the connection's own users only.
    let (_, v) = s
        .get("/scim/v2/Users?filter=userName%20sw%20%22root%22", &token)
        .await;
    assert_eq!(v["totalResults"], 0);

    // Group, then add the user as Entra does (capitalised op, list of members).
    let (status, group) = s
        .send(
            "POST",
            "/scim/v2/Groups",
            &token,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "externalId": "g-1", "displayName": "Engineering", "members": []}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_string();
    let (status, v) = s
        .send(
            "PATCH",
            &format!("/scim/v2/Groups/{gid}"),
            &token,
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "Add", "path": "members", "value": [{"value": id}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["members"][0]["value"], id);
    assert!(v["members"][0]["$ref"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/scim/v2/Users/{id}")));
    let members = s.store.list_members(&gid, false).await.unwrap().0;
    assert_eq!(members.len(), 1);
    // Members must be the connection's own.
    let root = s.store.get_user("root@example.com").await.unwrap();
    let (status, v) = s
        .send(
            "PATCH",
            &format!("/scim/v2/Groups/{gid}"),
            &token,
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "Add", "path": "members", "value": [{"value": root.id}]}]}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(s.store.list_members(&gid, false).await.unwrap().0.len(), 1);

    // Update attributes: Entra's path-ful replace with a value filter and string booleans.
    let (status, v) = s
        .send(
            "PATCH",
            &format!("/scim/v2/Users/{id}"),
            &token,
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "Replace", "path": "displayName", "value": "Rear Admiral Hopper"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "grace@example.com"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Navy"}]}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let stored = s.store.get_user(&id).await.unwrap();
    assert_eq!(stored.display_name, "Rear Admiral Hopper");
    assert_eq!(stored.mail.as_deref(), Some("grace@example.com"));
    assert_eq!(stored.attributes["department"], "Navy");

    // Errors: bad filter, unknown path, stale version; each changes nothing.
    let (status, v) = s.get("/scim/v2/Users?filter=userName%20eq", &token).await;
    assert_eq!(
        (status, v["scimType"].as_str()),
        (400, Some("invalidFilter"))
    );
    let (status, v) = s
        .send(
            "PATCH",
            &format!("/scim/v2/Users/{id}"),
            &token,
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "replace", "path": "noSuchAttribute.x", "value": "x"}]}),
        )
        .await;
    assert_eq!(
        (status, v["scimType"].as_str()),
        (400, Some("invalidPath")),
        "{v}"
    );
    let (status, _, current) = s
        .call(
            reqwest::Method::GET,
            &format!("/scim/v2/Users/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(current["displayName"], "Rear Admiral Hopper");
    let stale = s
        .http
        .patch(format!("{}/scim/v2/Users/{id}", s.base))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .header("if-match", "W/\"1\"")
        .body(
            json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "replace", "path": "displayName", "value": "Changed"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 412);
    let fresh = s
        .http
        .patch(format!("{}/scim/v2/Users/{id}", s.base))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .header("if-match", current["meta"]["version"].as_str().unwrap())
        .body(
            json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "replace", "path": "title", "value": "ignored"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status().as_u16(), 200);
    assert_eq!(
        s.store.get_user(&id).await.unwrap().display_name,
        "Rear Admiral Hopper"
    );
    // An oversized body is refused whole.
    let (status, v) = s
        .send(
            "POST",
            "/scim/v2/Users",
            &token,
            json!({"userName": "big@example.com", "displayName": "x".repeat(2 * 1024 * 1024)}),
        )
        .await;
    assert_eq!(status, 413, "{v}");
    assert!(s.store.get_user("big@example.com").await.is_err());

    // Another connection sees none of it.
    let (_, other) = s.connection("HR").await;
    let (status, _) = s.get(&format!("/scim/v2/Users/{id}"), &other).await;
    assert_eq!(status, 404);
    let (status, _) = s
        .send("PATCH", &format!("/scim/v2/Users/{id}"), &other,
              json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]}))
        .await;
    assert_eq!(status, 404);
    assert!(s.store.get_user(&id).await.unwrap().account_enabled);

    // Entra removes members with a value list.
    let (status, v) = s
        .send(
            "PATCH",
            &format!("/scim/v2/Groups/{gid}"),
            &token,
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "Remove", "path": "members", "value": [{"value": id}]}]}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(s
        .store
        .list_members(&gid, false)
        .await
        .unwrap()
        .0
        .is_empty());
    let (status, _) = s
        .send(
            "PATCH",
            &format!("/scim/v2/Groups/{gid}"),
            &token,
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "Add", "path": "members", "value": [{"value": id}]}]}),
        )
        .await;
    assert_eq!(status, 200);

    // A provisioned person who has since been given a directory role is the administrators'.
    let (_, made) = s
        .send(
            "POST",
            "/scim/v2/Users",
            &token,
            entra_user("ops@example.com", "ext-ops"),
        )
        .await;
    let ops = made["id"].as_str().unwrap().to_string();
    s.store
        .create_role_assignment(
            &Actor::system(),
            NewAssignment {
                principal_id: ops.clone(),
                role_definition_id: BuiltinRole::SecurityReader.id().into(),
                directory_scope_id: "/".into(),
                assignment_type: trustplane_model::AssignmentKind::Active,
                start: None,
                end: None,
            },
        )
        .await
        .unwrap();
    for (method, body) in [
        (
            "PATCH",
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]}),
        ),
        ("PUT", entra_user("ops@example.com", "ext-ops")),
    ] {
        let (status, v) = s
            .send(method, &format!("/scim/v2/Users/{ops}"), &token, body)
            .await;
        assert_eq!(status, 403, "{method} {v}");
    }
    let (status, _, _) = s
        .call(
            reqwest::Method::DELETE,
            &format!("/scim/v2/Users/{ops}"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, 403);
    assert!(s.store.get_user(&ops).await.unwrap().account_enabled);

    // Disable (Entra: path-less replace, boolean as a string) ends the person's session.
    let session = s
        .store
        .create_session(
            NewSession {
                id: "sess-grace".into(),
                user_id: id.clone(),
                token_hash: hash("session-token"),
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
                result: Outcome::Success,
                result_reason: None,
                before: None,
                after: None,
            },
        )
        .await
        .unwrap();
    assert!(s
        .store
        .find_session(&hash("session-token"))
        .await
        .unwrap()
        .is_some());
    let _ = session;
    let (status, v) = s
        .send(
            "PATCH",
            &format!("/scim/v2/Users/{id}"),
            &token,
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "Replace", "value": {"active": "False"}}]}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["active"], false);
    assert!(!s.store.get_user(&id).await.unwrap().account_enabled);
    assert!(s
        .store
        .find_session(&hash("session-token"))
        .await
        .unwrap()
        .is_none());
    assert!(s.store.list_sessions(&id).await.unwrap().is_empty());

    // Delete.
    let (status, _, _) = s
        .call(
            reqwest::Method::DELETE,
            &format!("/scim/v2/Users/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, v) = s.get(&format!("/scim/v2/Users/{id}"), &token).await;
    assert_eq!(status, 404);
    assert_eq!(v["status"], "404");
    assert!(s.store.get_user(&id).await.is_err());
    assert!(s
        .store
        .list_members(&gid, false)
        .await
        .unwrap()
        .0
        .is_empty());

    // Every change is in the audit trail as provisioning, by the connection.
    let events = s
        .store
        .list_audit(&AuditQuery {
            category: Some("provisioning".into()),
            actor: Some(conn.clone()),
            top: 200,
            ..Default::default()
        })
        .await
        .unwrap();
    let activities: Vec<&str> = events.items.iter().map(|e| e.activity.as_str()).collect();
    for want in [
        "user.create",
        "group.create",
        "group.addMember",
        "user.update",
        "user.delete",
    ] {
        assert!(activities.contains(&want), "{want} in {activities:?}");
    }
    let (_, st) = s
        .get(
            &format!("/api/v1/provisioning/connections/{conn}/status"),
            &s.admin,
        )
        .await;
    assert!(st["changes"].as_i64().unwrap() >= 5, "{st}");
    assert!(st["failures"].as_i64().unwrap() >= 3, "{st}");
}

/// The `scim2-tester` compliance checker (PyPI) against the running server: every check it
/// runs must pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim2_tester_reports_no_failing_check() {
    let s = server().await;
    let (_, token) = s.connection("Compliance").await;
    let python = std::env::var("TRUSTPLANE_TEST_PYTHON")
        .expect("TRUSTPLANE_TEST_PYTHON (scripts/test.sh sets it)");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scim/tester.py");
    let base = format!("{}/scim/v2", s.base);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .arg(&base)
            .arg(&token)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scim2-tester failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("checks passed"), "{stdout}");
}
