//! Directory connections over the API: created by a Global Administrator only (a User
//! Administrator is refused and nothing is stored), bad settings refused with the field named,
//! the bind password never returned, a run against an unreachable directory recorded as failed
//! with nothing changed, and the source-owned attributes of an imported user refused with a
//! problem naming the source. The engine's tests run against real slapd and Samba AD.

use super::conditional_access_support::{admin_token, api};
use super::*;
use reqwest::Method;
use trustplane_store::{DirectorySyncChanges, SourcedGroup, SourcedUser};

const USER_ADMIN: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";

async fn call_as(
    s: &Server,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", s.base))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn connection(port: u16) -> Value {
    json!({
        "type": "ldap",
        "displayName": "Corp LDAP",
        "url": format!("ldap://127.0.0.1:{port}"),
        "startTls": false,
        "bindDn": "cn=reader,dc=corp,dc=test",
        "bindPassword": "reader-secret-9",
        "baseDn": "dc=corp,dc=test",
        "passThroughAuthentication": true
    })
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn only_a_global_administrator_manages_directory_connections() {
    let s = server().await;
    admin_token(&s).await;
    let ua = user(&s, "ua@example.com").await;
    s.store
        .create_role_assignment(
            &Actor::system(),
            trustplane_store::NewAssignment {
                principal_id: ua.clone(),
                role_definition_id: USER_ADMIN.into(),
                directory_scope_id: "/".into(),
                assignment_type: trustplane_model::AssignmentKind::Active,
                start: None,
                end: None,
            },
        )
        .await
        .unwrap();
    let ua_token = "tp_directory_connections_user_admin_0123456789";
    s.store
        .create_api_token(
            &Actor::system(),
            &ua,
            &trustplane_authn::hash_session_token(ua_token),
            "test",
            None,
        )
        .await
        .unwrap();

    let port = closed_port();
    let (st, problem) = call_as(
        &s,
        ua_token,
        Method::POST,
        "/api/v1/directoryConnections",
        Some(connection(port)),
    )
    .await;
    assert_eq!(st, 403, "{problem}");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("trustplane.directory/sources/write"));
    let (st, list) = api(&s, Method::GET, "/api/v1/directoryConnections", None).await;
    assert_eq!(st, 200);
    assert_eq!(list["value"], json!([]), "nothing stored");

    // Bad settings: refused with the field named, nothing stored.
    for (field, value) in [
        ("url", json!("ldap://ldap.corp.test")),
        ("baseDn", json!("not a dn")),
        (
            "caCertificate",
            json!("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        ),
    ] {
        let mut body = connection(port);
        body[field] = value;
        if field == "caCertificate" {
            body["startTls"] = json!(true);
        }
        let (st, problem) = api(&s, Method::POST, "/api/v1/directoryConnections", Some(body)).await;
        assert_eq!(st, 400, "{field}: {problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    let (st, list) = api(&s, Method::GET, "/api/v1/directoryConnections", None).await;
    assert_eq!((st, list["value"].as_array().unwrap().len()), (200, 0));

    let (st, conn) = api(
        &s,
        Method::POST,
        "/api/v1/directoryConnections",
        Some(connection(port)),
    )
    .await;
    assert_eq!(st, 201, "{conn}");
    assert!(
        !conn.to_string().contains("reader-secret-9"),
        "the password is never returned"
    );
    assert_eq!(conn["type"], "ldap");
    let id = conn["id"].as_str().unwrap().to_string();

    // Names work where ids do; the User Administrator may read but not sync or delete.
    let (st, one) = api(
        &s,
        Method::GET,
        "/api/v1/directoryConnections/Corp%20LDAP",
        None,
    )
    .await;
    assert_eq!((st, one["id"].as_str()), (200, Some(id.as_str())));
    for (method, path) in [
        (
            Method::POST,
            format!("/api/v1/directoryConnections/{id}/sync"),
        ),
        (Method::DELETE, format!("/api/v1/directoryConnections/{id}")),
    ] {
        let (st, problem) = call_as(&s, ua_token, method.clone(), &path, None).await;
        assert_eq!(st, 403, "{method} {path}: {problem}");
    }

    // Nobody listens: the run fails, nothing changes, the status says so.
    let users_before = s
        .store
        .list_users(&trustplane_store::ListQuery::default())
        .await
        .unwrap()
        .items
        .len();
    let (st, report) = api(
        &s,
        Method::POST,
        &format!("/api/v1/directoryConnections/{id}/sync"),
        Some(json!({"full": true})),
    )
    .await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(report["result"], "failed", "{report}");
    let (st, status) = api(
        &s,
        Method::GET,
        &format!("/api/v1/directoryConnections/{id}/status"),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(status["lastResult"], "failed");
    assert!(
        status["lastError"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{status}"
    );
    let users_after = s
        .store
        .list_users(&trustplane_store::ListQuery::default())
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(users_before, users_after);
    let (st, problem) = api(
        &s,
        Method::POST,
        &format!("/api/v1/directoryConnections/{id}/test"),
        None,
    )
    .await;
    assert_eq!(st, 502, "{problem}");
    let (st, _) = api(
        &s,
        Method::POST,
        &format!("/api/v1/directoryConnections/{id}/sync"),
        Some(json!({"bogus": 1})),
    )
    .await;
    assert_eq!(st, 400);

    // An imported user: the source's attributes are refused with the source named; others are not.
    s.store
        .apply_directory_sync(
            &Actor::system(),
            &id,
            DirectorySyncChanges {
                upsert_users: vec![SourcedUser {
                    anchor: "5b0c0e1e-0000-4000-8000-000000000001".into(),
                    dn: "uid=ada,dc=corp,dc=test".into(),
                    record: json!({}),
                    user_principal_name: "ada@corp.test".into(),
                    display_name: "Ada".into(),
                    given_name: None,
                    surname: None,
                    mail: Some("ada@corp.test".into()),
                    account_enabled: true,
                    attributes: serde_json::Map::from_iter([(
                        "department".to_string(),
                        json!("R&D"),
                    )]),
                    manager_anchor: None,
                }],
                upsert_groups: vec![SourcedGroup {
                    anchor: "5b0c0e1e-0000-4000-8000-0000000000aa".into(),
                    dn: "cn=engineers,dc=corp,dc=test".into(),
                    record: json!({}),
                    display_name: "Engineers".into(),
                    description: None,
                }],
                full: true,
                counts: json!({}),
                ..DirectorySyncChanges::default()
            },
        )
        .await
        .unwrap();
    let ada = s.store.get_user("ada@corp.test").await.unwrap();
    let (st, problem) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/users/{}", ada.id),
        Some(json!({"displayName": "Countess"})),
    )
    .await;
    assert_eq!(st, 409, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("Corp LDAP"),
        "{problem}"
    );
    assert_eq!(problem["field"], "displayName");
    let (st, problem) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/users/{}", ada.id),
        Some(json!({"attributes": {"department": "Sales"}})),
    )
    .await;
    assert_eq!(st, 409, "{problem}");
    assert_eq!(
        s.store.get_user(&ada.id).await.unwrap().display_name,
        "Ada",
        "nothing changed"
    );
    let (st, body) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/users/{}", ada.id),
        Some(json!({"attributes": {"costCenter": "42"}})),
    )
    .await;
    assert_eq!(
        st, 200,
        "an attribute the source does not own stays editable: {body}"
    );

    // An imported group: its name and its members are the directory's too.
    let engineers = s.store.get_group("Engineers").await.unwrap();
    let (st, problem) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/groups/{}", engineers.id),
        Some(json!({"displayName": "Admins"})),
    )
    .await;
    assert_eq!(st, 409, "{problem}");
    assert_eq!(problem["field"], "displayName");
    let (st, problem) = api(
        &s,
        Method::POST,
        &format!("/api/v1/groups/{}/members/$ref", engineers.id),
        Some(json!({"@odata.id": ada.id})),
    )
    .await;
    assert_eq!(st, 409, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("Corp LDAP"),
        "{problem}"
    );
    assert!(s
        .store
        .list_members(&engineers.id, false)
        .await
        .unwrap()
        .0
        .is_empty());

    // Pass-through authentication with the directory down fails closed, at the page and the
    // API, even when a local password hash exists for the person: it is never a fallback.
    let local = trustplane_authn::hash_password(PASSWORD).unwrap();
    s.store
        .update_user(
            &Actor::system(),
            &ada.id,
            UserPatch {
                password_hash: Some(local),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut b = Browser::new(&s);
    let page = b.password("ada@corp.test", PASSWORD).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.body.contains("cannot be reached"), "{}", page.body);
    assert!(!b.cookies.contains_key("tp_session"), "no session");
    let r = b
        .post_json(
            "/api/v1/auth/signIn",
            &json!({"username": "ada@corp.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("Directory unavailable"), "{}", r.body);
    assert!(
        s.store.list_sessions(&ada.id).await.unwrap().is_empty(),
        "no session"
    );

    // Deleting the connection keeps what it imported, as local objects.
    let (st, _) = api(
        &s,
        Method::DELETE,
        &format!("/api/v1/directoryConnections/{id}"),
        None,
    )
    .await;
    assert_eq!(st, 204);
    assert!(s.store.object_source(&ada.id).await.unwrap().is_none());
    let (st, body) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/groups/{}", engineers.id),
        Some(json!({"displayName": "Engineering"})),
    )
    .await;
    assert_eq!(st, 200, "a local group again: {body}");
    let (st, _) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/users/{}", ada.id),
        Some(json!({"displayName": "Countess"})),
    )
    .await;
    assert_eq!(st, 200);
    let entries = audit_events(&s, "directorySync").await;
    assert!(entries
        .iter()
        .any(|e| e["activity"] == "directoryConnection.create"));
    assert!(entries
        .iter()
        .any(|e| e["activity"] == "directorySync.run" && e["result"] == "failure"));
}
