//! The admin API: bad input, authorisation, paging and filters, health and metrics.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::harness::*;

both_backends!(
    bad_input_gets_a_problem_and_changes_nothing,
    authorisation_follows_directory_roles_and_denials_are_audited,
    lists_page_and_filter,
    health_readiness_metrics_and_openapi,
);

async fn head(node: &Node) -> i64 {
    let (status, report) = get(node, "/api/v1/audit/verify").await;
    assert_eq!(status, 200);
    assert_eq!(report["firstProblem"], Value::Null);
    report["headSequence"].as_i64().unwrap()
}

async fn raw(
    node: &Node,
    method: Method,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value, String) {
    let resp = http()
        .request(method, node.url(path))
        .bearer_auth(TOKEN)
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        status,
        serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null),
        ct,
    )
}

async fn bad_input_gets_a_problem_and_changes_nothing(db: Db) {
    let node = db.start().await;
    let (_, ada) = post(
        &node,
        "/api/v1/users",
        json!({"userPrincipalName": "ada@example.com", "displayName": "Ada"}),
    )
    .await;
    let (_, group) = post(&node, "/api/v1/groups", json!({"displayName": "G"})).await;
    let gid = group["id"].as_str().unwrap().to_string();
    let before = head(&node).await;

    let cases: Vec<(Method, String, &str, String, u16)> = vec![
        (Method::POST, "/api/v1/users".into(), "application/json", "{not json".into(), 400),
        (Method::POST, "/api/v1/users".into(), "application/json", r#"{"userPrincipalName":"x@example.com","displayName":"X","isAdmin":true}"#.into(), 400),
        (Method::POST, "/api/v1/users".into(), "application/json", r#"{"userPrincipalName":"no-at-sign","displayName":"X"}"#.into(), 400),
        (Method::POST, "/api/v1/users".into(), "application/json", r#"{"userPrincipalName":"x@example.com","displayName":""}"#.into(), 400),
        (Method::POST, "/api/v1/users".into(), "application/json", r#"{"userPrincipalName":"x@example.com","displayName":"X","passwordProfile":{"password":"short"}}"#.into(), 400),
        (Method::POST, "/api/v1/users".into(), "application/json", r#"{"userPrincipalName":"x@example.com","displayName":"X","passwordProfile":{"password":"password1"}}"#.into(), 400),
        (Method::POST, "/api/v1/users".into(), "application/json", r#"{"userPrincipalName":"ADA@example.com","displayName":"Dup"}"#.into(), 409),
        (Method::POST, "/api/v1/users".into(), "text/plain", r#"{"userPrincipalName":"y@example.com","displayName":"Y"}"#.into(), 415),
        (Method::PATCH, "/api/v1/users/00000000-0000-0000-0000-000000000000".into(), "application/json", r#"{"displayName":"Z"}"#.into(), 404),
        (Method::POST, format!("/api/v1/groups/{gid}/members/$ref"), "application/json", r#"{"@odata.id":"https://x/v1.0/directoryObjects/00000000-0000-0000-0000-000000000000"}"#.into(), 422),
        (Method::POST, "/api/v1/groups/nope/members/$ref".into(), "application/json", format!(r#"{{"@odata.id":"{}"}}"#, ada["id"].as_str().unwrap()), 404),
        (Method::POST, format!("/api/v1/groups/{gid}/members/$ref"), "application/json", format!(r#"{{"@odata.id":"{gid}"}}"#), 409),
        (Method::POST, "/api/v1/groups".into(), "application/json", r#"{"displayName":"g"}"#.into(), 409),
        (Method::POST, "/api/v1/groups".into(), "application/json", r#"{"displayName":"New","members":["00000000-0000-0000-0000-000000000000"]}"#.into(), 422),
        (Method::POST, "/api/v1/roleAssignments".into(), "application/json", format!(r#"{{"principalId":"{}","roleDefinitionId":"No Such Role"}}"#, ada["id"].as_str().unwrap()), 422),
        (Method::POST, "/api/v1/roleAssignments".into(), "application/json", format!(r#"{{"principalId":"{gid}","roleDefinitionId":"Security Reader"}}"#), 400),
        (Method::GET, "/api/v1/users?$filter=passwordHash%20eq%20'x'".into(), "application/json", String::new(), 400),
        (Method::GET, "/api/v1/users?$filter=displayName%20ne%20'x'".into(), "application/json", String::new(), 400),
        (Method::GET, "/api/v1/users?$top=0".into(), "application/json", String::new(), 400),
        (Method::GET, "/api/v1/users?$skiptoken=garbage".into(), "application/json", String::new(), 400),
        (Method::GET, "/api/v1/nothing-here".into(), "application/json", String::new(), 404),
    ];
    for (method, path, ct, body, expected) in cases {
        let (status, problem, content_type) = raw(&node, method.clone(), &path, ct, &body).await;
        assert_eq!(status, expected, "{method} {path} {body}: {problem}");
        assert_eq!(content_type, "application/problem+json", "{method} {path}");
        assert_eq!(problem["status"], expected);
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{problem}"
        );
    }
    // Nothing was written: no new users, no new audit entries.
    assert_eq!(head(&node).await, before);
    let (_, users) = get(&node, "/api/v1/users").await;
    assert_eq!(users["value"].as_array().unwrap().len(), 2);

    // No token, or a wrong one: 401 with a problem body.
    let resp = http().get(node.url("/api/v1/users")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let (status, _) = call(&node, Method::GET, "/api/v1/users", None, "tp_wrong").await;
    assert_eq!(status, 401);
}

async fn token_for(node: &Node, upn: &str, role: Option<&str>) -> String {
    let (status, user) = post(
        node,
        "/api/v1/users",
        json!({"userPrincipalName": upn, "displayName": upn}),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    if let Some(role) = role {
        let (status, a) = post(
            node,
            "/api/v1/roleAssignments",
            json!({"principalId": user["id"], "roleDefinitionId": role}),
        )
        .await;
        assert_eq!(status, 201, "{a}");
    }
    let (status, t) = post(
        node,
        "/api/v1/apiTokens",
        json!({"userId": upn, "description": "test"}),
    )
    .await;
    assert_eq!(status, 201, "{t}");
    t["token"].as_str().unwrap().to_string()
}

async fn authorisation_follows_directory_roles_and_denials_are_audited(db: Db) {
    let node = db.start().await;
    let user_admin = token_for(&node, "ua@example.com", Some("User Administrator")).await;
    let reader = token_for(&node, "reader@example.com", Some("Security Reader")).await;
    let nobody = token_for(&node, "nobody@example.com", None).await;
    let new_user = |upn: &str| json!({"userPrincipalName": upn, "displayName": "n"});

    let (s, created) = call(
        &node,
        Method::POST,
        "/api/v1/users",
        Some(new_user("made-by-ua@example.com")),
        &user_admin,
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = call(
        &node,
        Method::POST,
        "/api/v1/roleAssignments",
        Some(json!({"principalId": created["id"], "roleDefinitionId": "Global Administrator"})),
        &user_admin,
    )
    .await;
    assert_eq!(s, 403, "a User Administrator cannot hand out roles");
    let (s, _) = call(
        &node,
        Method::POST,
        "/api/v1/apiTokens",
        Some(json!({"userId": "admin@trustplane.local", "description": "steal"})),
        &user_admin,
    )
    .await;
    assert_eq!(s, 403, "only a Global Administrator issues tokens");
    let (s, _) = call(&node, Method::GET, "/api/v1/audit", None, &user_admin).await;
    assert_eq!(s, 403);
    let (s, _) = call(
        &node,
        Method::POST,
        "/api/v1/users",
        Some(new_user("by-reader@example.com")),
        &reader,
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = call(&node, Method::GET, "/api/v1/audit", None, &reader).await;
    assert_eq!(s, 200);
    let (s, _) = call(&node, Method::GET, "/api/v1/users", None, &nobody).await;
    assert_eq!(s, 403, "no role, no directory access");

    // A role held through a nested, role-assignable group counts.
    let (_, outer) = post(
        &node,
        "/api/v1/groups",
        json!({"displayName": "helpdesk", "isAssignableToRole": true}),
    )
    .await;
    let (_, inner) = post(
        &node,
        "/api/v1/groups",
        json!({"displayName": "helpdesk-emea"}),
    )
    .await;
    let (_, me) = call(&node, Method::GET, "/api/v1/me", None, &nobody).await;
    post(
        &node,
        &format!(
            "/api/v1/groups/{}/members/$ref",
            inner["id"].as_str().unwrap()
        ),
        json!({"@odata.id": me["user"]["id"]}),
    )
    .await;
    post(
        &node,
        &format!(
            "/api/v1/groups/{}/members/$ref",
            outer["id"].as_str().unwrap()
        ),
        json!({"@odata.id": inner["id"]}),
    )
    .await;
    let (s, _) = post(
        &node,
        "/api/v1/roleAssignments",
        json!({"principalId": outer["id"], "roleDefinitionId": "User Administrator"}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = call(
        &node,
        Method::POST,
        "/api/v1/users",
        Some(new_user("via-group@example.com")),
        &nobody,
    )
    .await;
    assert_eq!(s, 201);

    // Disabling the account stops its token at once.
    let (s, _) = call(
        &node,
        Method::PATCH,
        "/api/v1/users/nobody@example.com",
        Some(json!({"accountEnabled": false})),
        TOKEN,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(&node, Method::GET, "/api/v1/users", None, &nobody).await;
    assert_eq!(s, 401);

    let (_, denials) = get(&node, "/api/v1/audit?activity=authorization.denied").await;
    let denials = denials["value"].as_array().unwrap();
    assert_eq!(denials.len(), 5, "{denials:?}");
    assert_eq!(denials[0]["initiatedBy"]["displayName"], "ua@example.com");
    assert_eq!(denials[0]["result"], "failure");
    assert!(denials[0]["initiatedBy"]["ipAddress"]
        .as_str()
        .unwrap()
        .starts_with("127."));
}

async fn lists_page_and_filter(db: Db) {
    let node = db.start().await;
    for i in 0..7 {
        let (s, _) = post(&node, "/api/v1/users", json!({"userPrincipalName": format!("p{i}@example.com"), "displayName": format!("Person {i}")})).await;
        assert_eq!(s, 201);
    }
    let mut path = "/api/v1/users?$top=3".to_string();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let (s, page) = get(&node, &path).await;
        assert_eq!(s, 200);
        seen.extend(
            page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["userPrincipalName"].as_str().unwrap().to_string()),
        );
        match page["@odata.nextLink"].as_str() {
            Some(next) => path = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8);
    let (_, one) = get(
        &node,
        "/api/v1/users?$filter=userPrincipalName%20eq%20'P3@EXAMPLE.com'",
    )
    .await;
    assert_eq!(one["value"].as_array().unwrap().len(), 1);
    let (_, some) = get(
        &node,
        "/api/v1/users?$filter=startswith(displayName,'person')",
    )
    .await;
    assert_eq!(some["value"].as_array().unwrap().len(), 7);
    let (_, audit_page) = get(&node, "/api/v1/audit?$top=2").await;
    assert!(audit_page["@odata.nextLink"].as_str().is_some());
    let (_, by_target) = get(
        &node,
        &format!(
            "/api/v1/audit?target={}",
            one["value"][0]["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(by_target["value"].as_array().unwrap().len(), 1);
    assert_eq!(by_target["value"][0]["activity"], "user.create");
    assert_eq!(
        by_target["value"][0]["after"]["userPrincipalName"],
        "p3@example.com"
    );
    let (_, future) = get(&node, "/api/v1/audit?from=2999-01-01T00:00:00Z").await;
    assert_eq!(future["value"].as_array().unwrap().len(), 0);
}

async fn health_readiness_metrics_and_openapi(db: Db) {
    let node = db.start().await;
    assert_eq!(
        http()
            .get(node.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http()
            .get(node.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    get(&node, "/api/v1/users").await;
    // A wrong password: a business counter, with its help line.
    let r = http()
        .post(node.url("/api/v1/auth/signIn"))
        .json(&serde_json::json!({"username": "admin@trustplane.local", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let metrics = http()
        .get(node.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"trustplane_http_requests_total{method="GET",route="/api/v1/users",status="200"}"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("trustplane_http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"trustplane_store_seconds_count{op="users.list"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"trustplane_sign_ins_total{result="failure",client="mobileAppsAndDesktopClients"} 1"#
        ),
        "{metrics}"
    );
    for name in [
        "trustplane_sign_ins_total",
        "trustplane_http_requests_total",
        "trustplane_store_seconds",
    ] {
        assert!(
            metrics.contains(&format!("# HELP {name} ")),
            "{name}: {metrics}"
        );
    }
    let doc: Value = http()
        .get(node.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/users",
        "/api/v1/groups/{id}/members/$ref",
        "/api/v1/roleAssignments",
        "/api/v1/audit",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["User"]["properties"]["userPrincipalName"].is_object());
    // Every sign-in outcome reaches the operator's log at info level.
    drop(node);
    let log = std::fs::read_to_string(db.dir.path().join("server.log")).unwrap();
    assert!(
        log.lines().any(|l| l.contains("INFO")
            && l.contains("activity=signIn")
            && l.contains("failure")
            && l.contains("invalid password")),
        "{log}"
    );
}
