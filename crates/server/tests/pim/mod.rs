//! Privileged identity management over the API with a clock the tests move: a directory role
//! is held only between activation and expiry, approval rules hold (never one's own, only
//! named approvers), every refusal leaves nothing behind, overlapping activations keep the
//! role until the later one ends, reviews apply their default at the deadline, and every
//! step is audited and notified.

use super::conditional_access_support::{admin_token, api};
use super::*;
use reqwest::Method;
use trustplane_model::{AssignmentKind, BuiltinRole};
use trustplane_store::NewAssignment;

const USER_ADMIN: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";

/// A person with an API token of their own and an authenticator app; (id, token, otpauth).
async fn person(s: &Server, upn: &str) -> (String, String, String) {
    let id = user(s, upn).await;
    let token = format!("tp_pim_{}", upn.replace(['@', '.'], "_"));
    s.store
        .create_api_token(
            &Actor::system(),
            &id,
            &trustplane_authn::hash_session_token(&token),
            "test",
            None,
        )
        .await
        .unwrap();
    let mut b = Browser::new(s);
    b.sign_in(upn).await;
    let uri = enrol_totp(&mut b, s).await;
    (id, token, uri)
}

async fn call(
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
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn eligible(s: &Server, principal: &str, role: &str) -> String {
    s.store
        .create_role_assignment(
            &Actor::system(),
            NewAssignment {
                principal_id: principal.into(),
                role_definition_id: role.into(),
                directory_scope_id: "/".into(),
                assignment_type: AssignmentKind::Eligible,
                start: None,
                end: None,
            },
        )
        .await
        .unwrap()
        .id
}

/// A server with an administrator's token, and Ada eligible for `role`: (server, her id, her
/// token, her otpauth URI).
async fn ada_eligible_for(role: &str) -> (Server, String, String, String) {
    let s = server().await;
    admin_token(&s).await;
    let (ada, token, otp) = person(&s, "ada@example.com").await;
    eligible(&s, &ada, role).await;
    (s, ada, token, otp)
}

/// A fresh TOTP code (each code works once, so the clock moves to the next step first).
fn code(s: &Server, otpauth: &str) -> String {
    s.clock.advance_ms(30_000);
    pyotp(otpauth, s.clock.now_ms())
}

/// Whether the person can create users now (what the User Administrator role allows).
async fn can_create_users(s: &Server, token: &str, n: u32) -> bool {
    let (st, body) = call(
        s,
        token,
        Method::POST,
        "/api/v1/users",
        Some(json!({"userPrincipalName": format!("new{n}@example.com"), "displayName": "New"})),
    )
    .await;
    assert!(st == 201 || st == 403, "{st} {body}");
    st == 201
}

async fn run(s: &Server) -> Value {
    let (st, report) = api(s, Method::POST, "/api/v1/pim/run", None).await;
    assert_eq!(st, 200, "{report}");
    report
}

async fn requests(s: &Server) -> usize {
    let (st, list) = api(s, Method::GET, "/api/v1/pim/requests?userId=*", None).await;
    assert_eq!(st, 200, "{list}");
    list["value"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_directory_role_is_held_from_activation_until_it_expires_and_every_step_is_audited() {
    let (s, _, token, otp) = ada_eligible_for(USER_ADMIN).await;

    // Eligible is not active.
    assert!(!can_create_users(&s, &token, 1).await);
    let (st, list) = call(&s, &token, Method::GET, "/api/v1/pim/eligible", None).await;
    assert_eq!(st, 200);
    assert_eq!(list["value"][0]["roleDefinition"]["id"], USER_ADMIN);
    assert_eq!(list["value"][0]["settings"]["requireMfa"], true);

    let body = json!({"roleDefinitionId": "User Administrator", "durationSeconds": 3600,
                      "justification": "onboarding the new team", "mfaCode": code(&s, &otp)});
    let (st, r) = call(&s, &token, Method::POST, "/api/v1/pim/requests", Some(body)).await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["state"], "active");
    assert_eq!(r["mfa"], true);
    assert!(can_create_users(&s, &token, 2).await);
    let (_, active) = call(&s, &token, Method::GET, "/api/v1/pim/active", None).await;
    assert_eq!(active["value"][0]["remainingSeconds"], 3600);

    // One second before the end it still holds; at the end the job takes it away.
    s.clock.advance_ms(3_599_000);
    run(&s).await;
    assert!(can_create_users(&s, &token, 3).await);
    s.clock.advance_ms(1_000);
    let report = run(&s).await;
    assert_eq!(report["expired"], 1, "{report}");
    assert!(!can_create_users(&s, &token, 4).await);
    let (_, ended) = call(
        &s,
        &token,
        Method::GET,
        &format!("/api/v1/pim/requests/{}", r["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(ended["state"], "expired");
    let (_, grants) = api(&s, Method::GET, "/api/v1/pim/grants", None).await;
    assert_eq!(grants["value"], json!([]), "nothing stays granted");

    let activities: Vec<String> = audit_events(&s, "pim")
        .await
        .iter()
        .map(|e| e["activity"].as_str().unwrap().to_string())
        .collect();
    for a in [
        "pim.request.create",
        "pim.assignment.hold",
        "pim.activation.start",
        "pim.activation.expire",
        "pim.assignment.release",
    ] {
        assert!(
            activities.iter().any(|x| x == a),
            "{a} missing from {activities:?}"
        );
    }
}

#[tokio::test]
async fn refused_requests_leave_nothing_behind() {
    let (s, _, token, otp) = ada_eligible_for(USER_ADMIN).await;
    let (st, _) = api(
        &s,
        Method::PUT,
        &format!("/api/v1/pim/settings/{USER_ADMIN}"),
        Some(json!({"maxActivationSeconds": 7200, "requireTicket": true})),
    )
    .await;
    assert_eq!(st, 200);
    let ok = |code: String| {
        json!({"roleDefinitionId": USER_ADMIN, "durationSeconds": 3600,
        "justification": "incident 42", "ticketNumber": "INC-42", "mfaCode": code})
    };
    let without = |field: &str, code: String| {
        let mut b = ok(code);
        b.as_object_mut().unwrap().remove(field);
        b
    };
    let cases = [
        (
            "no second factor",
            without("mfaCode", String::new()),
            401,
            None,
        ),
        (
            "a wrong code",
            json!({"roleDefinitionId": USER_ADMIN, "durationSeconds": 3600,
            "justification": "x", "ticketNumber": "T", "mfaCode": "000000"}),
            401,
            None,
        ),
        (
            "beyond the maximum",
            {
                let mut b = ok(code(&s, &otp));
                b["durationSeconds"] = json!(7201);
                b
            },
            400,
            Some("durationSeconds"),
        ),
        (
            "no justification",
            without("justification", code(&s, &otp)),
            400,
            Some("justification"),
        ),
        (
            "no ticket",
            without("ticketNumber", code(&s, &otp)),
            400,
            Some("ticketNumber"),
        ),
        (
            "a role she is not eligible for",
            {
                let mut b = ok(code(&s, &otp));
                b["roleDefinitionId"] = json!(BuiltinRole::GlobalAdministrator.id());
                b
            },
            403,
            None,
        ),
        (
            "an unknown role",
            {
                let mut b = ok(code(&s, &otp));
                b["roleDefinitionId"] = json!("No Such Role");
                b
            },
            400,
            Some("roleDefinitionId"),
        ),
    ];
    for (what, body, status, field) in cases {
        let (st, problem) =
            call(&s, &token, Method::POST, "/api/v1/pim/requests", Some(body)).await;
        assert_eq!(st, status, "{what}: {problem}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{what}: {problem}"
        );
        if let Some(f) = field {
            assert_eq!(problem["field"], f, "{what}");
        }
    }
    assert_eq!(requests(&s).await, 0, "no refused request is recorded");
    assert!(!can_create_users(&s, &token, 1).await);
    // A code used once cannot be replayed for a second activation.
    let c = code(&s, &otp);
    let (st, r) = call(
        &s,
        &token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(ok(c.clone())),
    )
    .await;
    assert_eq!(st, 201, "{r}");
    let (st, _) = call(
        &s,
        &token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(ok(c)),
    )
    .await;
    assert_eq!(st, 401);
}

#[tokio::test]
async fn approval_starts_the_clock_and_only_a_named_approver_other_than_the_requester_gives_it() {
    let s = server().await;
    admin_token(&s).await;
    let (ada, ada_token, ada_otp) = person(&s, "ada@example.com").await;
    let (bob, bob_token, _) = person(&s, "bob@example.com").await;
    let (_, eve_token, _) = person(&s, "eve@example.com").await;
    eligible(&s, &ada, USER_ADMIN).await;
    eligible(&s, &bob, USER_ADMIN).await;
    // Approvers: a group Bob and Ada are in.
    let (_, group) = api(
        &s,
        Method::POST,
        "/api/v1/groups",
        Some(json!({"displayName": "Approvers", "isAssignableToRole": false})),
    )
    .await;
    let gid = group["id"].as_str().unwrap().to_string();
    for m in [&ada, &bob] {
        let (st, b) = api(
            &s,
            Method::POST,
            &format!("/api/v1/groups/{gid}/members/$ref"),
            Some(json!({"@odata.id": format!("{}/api/v1/users/{m}", s.base)})),
        )
        .await;
        assert!(st == 204 || st == 201, "{st} {b}");
    }
    let (st, b) = api(&s, Method::PUT, &format!("/api/v1/pim/settings/{USER_ADMIN}"),
        Some(json!({"requireApproval": true, "approvers": [gid], "notificationRecipients": ["soc@example.com"]}))).await;
    assert_eq!(st, 200, "{b}");

    let (st, r) = call(
        &s,
        &ada_token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(json!({
        "roleDefinitionId": USER_ADMIN, "durationSeconds": 1800, "justification": "reset passwords",
        "mfaCode": code(&s, &ada_otp)})),
    )
    .await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["state"], "pendingApproval");
    let id = r["id"].as_str().unwrap().to_string();
    assert!(
        !can_create_users(&s, &ada_token, 1).await,
        "nothing before approval"
    );

    // Her own approval, and a stranger's, are refused and change nothing.
    for (token, who) in [(&ada_token, "requester"), (&eve_token, "non-approver")] {
        let (st, p) = call(
            &s,
            token,
            Method::POST,
            &format!("/api/v1/pim/requests/{id}/approve"),
            None,
        )
        .await;
        assert_eq!(st, 403, "{who}: {p}");
    }
    let (_, still) = call(
        &s,
        &ada_token,
        Method::GET,
        &format!("/api/v1/pim/requests/{id}"),
        None,
    )
    .await;
    assert_eq!(still["state"], "pendingApproval");
    let (_, pending) = call(&s, &bob_token, Method::GET, "/api/v1/pim/approvals", None).await;
    assert_eq!(pending["value"][0]["id"], id.as_str());

    // Bob approves ten minutes later: the 30 minutes start then.
    s.clock.advance_ms(600_000);
    let approved_at = s.clock.now_ms();
    let (st, r) = call(
        &s,
        &bob_token,
        Method::POST,
        &format!("/api/v1/pim/requests/{id}/approve"),
        Some(json!({"comment": "ok for today"})),
    )
    .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["state"], "active");
    assert_eq!(r["decidedBy"], bob.as_str());
    let end = time::OffsetDateTime::parse(
        r["endDateTime"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(trustplane_model::to_ms(end), approved_at + 1_800_000);
    assert!(can_create_users(&s, &ada_token, 2).await);
    // A second decision on the same request is a conflict.
    let (st, _) = call(
        &s,
        &bob_token,
        Method::POST,
        &format!("/api/v1/pim/requests/{id}/deny"),
        None,
    )
    .await;
    assert_eq!(st, 409);

    // She deactivates early; the role goes at once.
    let (st, r) = call(
        &s,
        &ada_token,
        Method::POST,
        &format!("/api/v1/pim/requests/{id}/deactivate"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["state"], "revoked");
    assert!(!can_create_users(&s, &ada_token, 3).await);

    // A denied request never grants anything.
    let (_, r2) = call(
        &s,
        &bob_token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(json!({
        "roleDefinitionId": USER_ADMIN, "durationSeconds": 600, "justification": "x",
        "mfaCode": "not-needed-yet"})),
    )
    .await;
    assert_eq!(r2["status"], 401, "Bob has no valid code: {r2}");
    let (_, r3) = call(
        &s,
        &ada_token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(json!({
        "roleDefinitionId": USER_ADMIN, "durationSeconds": 600, "justification": "again",
        "mfaCode": code(&s, &ada_otp)})),
    )
    .await;
    let id3 = r3["id"].as_str().unwrap();
    let (st, d) = call(
        &s,
        &bob_token,
        Method::POST,
        &format!("/api/v1/pim/requests/{id3}/deny"),
        Some(json!({"comment": "not today"})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(d["state"], "denied");
    assert_eq!(d["reason"], "not today");
    run(&s).await;
    assert!(!can_create_users(&s, &ada_token, 4).await);

    // Mail went to the recipients and to the approvers (who have no mail here: none).
    let (_, outbox) = api(&s, Method::GET, "/api/v1/pim/outbox", None).await;
    let subjects: Vec<&str> = outbox["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["recipient"] == "soc@example.com")
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert!(
        subjects.iter().any(|s| s.contains("waiting for approval")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| s.contains("approved")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| s.contains("denied")),
        "{subjects:?}"
    );
}

#[tokio::test]
async fn overlapping_activations_keep_the_role_until_the_later_one_ends() {
    let (s, _, token, otp) = ada_eligible_for(USER_ADMIN).await;
    let ask = |secs: i64, c: String| {
        json!({"roleDefinitionId": USER_ADMIN, "durationSeconds": secs,
        "justification": "overlap", "mfaCode": c})
    };
    let (_, first) = call(
        &s,
        &token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(ask(3600, code(&s, &otp))),
    )
    .await;
    assert_eq!(first["state"], "active", "{first}");
    s.clock.advance_ms(1_800_000);
    let (_, second) = call(
        &s,
        &token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(ask(3600, code(&s, &otp))),
    )
    .await;
    assert_eq!(second["state"], "active", "{second}");
    // The first ends; the second still needs the role.
    s.clock.advance_ms(1_800_000);
    let report = run(&s).await;
    assert_eq!(report["expired"], 1, "{report}");
    assert!(can_create_users(&s, &token, 1).await);
    let (_, grants) = api(&s, Method::GET, "/api/v1/pim/grants", None).await;
    assert_eq!(grants["value"].as_array().unwrap().len(), 1, "{grants}");
    // And when the second ends, the role goes.
    s.clock.advance_ms(1_800_000);
    run(&s).await;
    assert!(!can_create_users(&s, &token, 2).await);
}

#[tokio::test]
async fn settings_bound_assignments_and_reviews_remove_what_nobody_kept_by_the_deadline() {
    let s = server().await;
    admin_token(&s).await;
    let (ada, _, _) = person(&s, "ada@example.com").await;
    let (bob, _, _) = person(&s, "bob@example.com").await;
    let (_, carol_token, _) = person(&s, "carol@example.com").await;
    let (st, _) = api(&s, Method::PUT, &format!("/api/v1/pim/settings/{USER_ADMIN}"),
        Some(json!({"allowPermanentEligible": false, "maxEligibleSeconds": 86400, "requireMfa": false}))).await;
    assert_eq!(st, 200);
    // A permanent eligible assignment is refused, and a bad setting too.
    let (st, p) = api(
        &s,
        Method::POST,
        "/api/v1/roleAssignments",
        Some(json!({
        "principalId": ada, "roleDefinitionId": USER_ADMIN, "assignmentType": "eligible"})),
    )
    .await;
    assert_eq!(st, 400, "{p}");
    assert_eq!(p["field"], "endDateTime");
    let (st, p) = api(
        &s,
        Method::PUT,
        &format!("/api/v1/pim/settings/{USER_ADMIN}"),
        Some(json!({"requireApproval": true})),
    )
    .await;
    assert_eq!(st, 400, "{p}");
    assert_eq!(p["field"], "approvers");
    let end = time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(s.clock.now_ms() + 80_000_000) * 1_000_000,
    )
    .unwrap();
    let end = end
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let mut ids = Vec::new();
    for p in [&ada, &bob] {
        let (st, a) = api(
            &s,
            Method::POST,
            "/api/v1/roleAssignments",
            Some(json!({
            "principalId": p, "roleDefinitionId": USER_ADMIN, "assignmentType": "eligible",
            "endDateTime": end})),
        )
        .await;
        assert_eq!(st, 201, "{a}");
        ids.push(a["id"].as_str().unwrap().to_string());
    }
    let alerts = api(&s, Method::GET, "/api/v1/pim/alerts", None).await.1;
    assert!(
        alerts["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["alertId"] == "rolesNotRequiringMfa"),
        "{alerts}"
    );

    let carol = s.store.get_user("carol@example.com").await.unwrap().id;
    let (st, review) = api(&s, Method::POST, "/api/v1/pim/reviews", Some(json!({
        "roleDefinitionId": USER_ADMIN, "reviewers": [carol], "durationDays": 7, "defaultDecision": "remove"}))).await;
    assert_eq!(st, 201, "{review}");
    let rid = review["id"].as_str().unwrap();
    assert_eq!(review["items"].as_array().unwrap().len(), 2);
    // Carol keeps Ada; nobody decides on Bob.
    let (st, r) = call(
        &s,
        &carol_token,
        Method::POST,
        &format!("/api/v1/pim/reviews/{rid}/decisions"),
        Some(json!({"assignmentId": ids[0], "decision": "keep", "comment": "still on call"})),
    )
    .await;
    assert_eq!(st, 200, "{r}");
    let (st, _) = call(
        &s,
        &carol_token,
        Method::POST,
        &format!("/api/v1/pim/reviews/{rid}/decisions"),
        Some(json!({"assignmentId": ids[1], "decision": "maybe"})),
    )
    .await;
    assert_eq!(st, 400);
    s.clock.advance_ms(6 * 86_400_000);
    assert_eq!(run(&s).await["reviewsCompleted"], 0);
    s.clock.advance_ms(86_400_000);
    assert_eq!(run(&s).await["reviewsCompleted"], 1);
    let (_, done) = api(&s, Method::GET, &format!("/api/v1/pim/reviews/{rid}"), None).await;
    assert_eq!(done["status"], "completed");
    let outcome = |id: &str| {
        done["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["assignmentId"] == id)
            .unwrap()["outcome"]
            .clone()
    };
    assert_eq!(outcome(&ids[0]), "kept");
    assert_eq!(outcome(&ids[1]), "defaultRemoved");
    assert_eq!(
        api(
            &s,
            Method::GET,
            &format!("/api/v1/roleAssignments/{}", ids[1]),
            None
        )
        .await
        .0,
        404
    );
    // Ada's eligibility ran out on its own schedule meanwhile: no activation possible.
    assert!(s.store.eligible_assignments(&ada).await.unwrap().is_empty());
}

#[tokio::test]
async fn notifications_reach_a_webhook_and_an_alert_response_ends_elevations() {
    let (s, _, token, otp) = ada_eligible_for(USER_ADMIN).await;
    // A webhook receiver on loopback.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Value)>();
    let hook = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, axum::Json(v): axum::Json<Value>| {
                let tx = tx.clone();
                async move {
                    let event = headers
                        .get("x-trustplane-event")
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    tx.send((event, v)).unwrap();
                    axum::http::StatusCode::NO_CONTENT
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });
    let (st, c) = api(
        &s,
        Method::PUT,
        "/api/v1/pim/configuration",
        Some(json!({"webhookUrl": hook_url})),
    )
    .await;
    assert_eq!(st, 200, "{c}");
    let (st, _) = api(
        &s,
        Method::PUT,
        "/api/v1/pim/configuration",
        Some(json!({"webhookUrl": "file:///etc/passwd"})),
    )
    .await;
    assert_eq!(st, 400);
    api(
        &s,
        Method::PUT,
        "/api/v1/pim/configuration",
        Some(json!({"webhookUrl": hook_url})),
    )
    .await;

    let (_, r) = call(
        &s,
        &token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(json!({
        "roleDefinitionId": USER_ADMIN, "durationSeconds": 3600, "justification": "on call",
        "mfaCode": code(&s, &otp)})),
    )
    .await;
    assert_eq!(r["state"], "active");
    assert!(run(&s).await["delivered"].as_u64().unwrap() >= 1);
    let (event, body) = rx.recv().await.unwrap();
    assert!(event.starts_with("pim.request."), "{event}");
    assert_eq!(body["requester"], "ada@example.com");
    assert_eq!(run(&s).await["delivered"], 0, "delivered once");

    // A response policy that ends elevations.
    let (st, p) = api(
        &s,
        Method::POST,
        "/api/v1/responsePolicies",
        Some(json!({"minLevel": "low", "action": "endElevations", "automatic": false})),
    )
    .await;
    assert_eq!(st, 201, "{p}");
    let (_, alert) = api(&s, Method::POST, "/api/v1/detect/ingest?source=test",
        Some(json!({"Records": [{"eventVersion": "1.08", "eventTime": "2026-11-28T10:00:00Z",
            "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "awsRegion": "eu-west-1",
            "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15",
            "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:ada@example.com",
                "arn": "arn:aws:sts::111122223333:assumed-role/Admin/ada@example.com", "accountId": "111122223333"},
            "requestParameters": {"name": "main"}, "eventType": "AwsApiCall", "recipientAccountId": "111122223333"}]}))).await;
    let alert_id = alert["newAlerts"][0]
        .as_str()
        .unwrap_or_else(|| panic!("{alert}"))
        .to_string();
    let (st, out) = api(
        &s,
        Method::POST,
        &format!("/api/v1/alerts/{alert_id}/respond"),
        Some(json!({"action": "endElevations"})),
    )
    .await;
    assert_eq!(st, 200, "{out}");
    assert!(out.to_string().contains("ended 1 elevations"), "{out}");
    run(&s).await;
    assert!(!can_create_users(&s, &token, 1).await);
}

#[tokio::test]
async fn pim_alerts_name_standing_holders_stale_eligibility_and_frequent_activation() {
    let s = server().await;
    admin_token(&s).await;
    let alert = |v: &Value, id: &str| {
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["alertId"] == id)
            .cloned()
    };
    // Three standing holders of User Administrator (the bootstrap admin holds Global
    // Administrator, which does not count here).
    for upn in ["a@example.com", "b@example.com", "c@example.com"] {
        let id = user(&s, upn).await;
        s.store
            .create_role_assignment(
                &Actor::system(),
                NewAssignment {
                    principal_id: id,
                    role_definition_id: USER_ADMIN.into(),
                    directory_scope_id: "/".into(),
                    assignment_type: AssignmentKind::Active,
                    start: None,
                    end: None,
                },
            )
            .await
            .unwrap();
    }
    let (ada, token, otp) = person(&s, "ada@example.com").await;
    eligible(&s, &ada, BuiltinRole::SecurityReader.id()).await;
    let (_, alerts) = api(&s, Method::GET, "/api/v1/pim/alerts", None).await;
    let crowded = alert(&alerts, "tooManyPermanentHolders").unwrap_or_else(|| panic!("{alerts}"));
    assert_eq!(crowded["items"][0]["roleDefinitionId"], USER_ADMIN);
    assert_eq!(
        crowded["items"][0]["permanentHolders"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(
        alert(&alerts, "staleEligibleAssignments").is_none(),
        "new assignments are not stale"
    );

    // A month without activation makes Ada's eligibility stale.
    s.clock.advance_ms(31 * 86_400_000);
    let (_, alerts) = api(&s, Method::GET, "/api/v1/pim/alerts", None).await;
    let stale = alert(&alerts, "staleEligibleAssignments").unwrap_or_else(|| panic!("{alerts}"));
    assert_eq!(stale["items"][0]["principalId"], ada.as_str());

    // Six activations in a day are too frequent; the stale alert goes with the first.
    for _ in 0..6 {
        let (st, r) = call(
            &s,
            &token,
            Method::POST,
            "/api/v1/pim/requests",
            Some(json!({
            "roleDefinitionId": BuiltinRole::SecurityReader.id(), "durationSeconds": 600,
            "justification": "look", "mfaCode": code(&s, &otp)})),
        )
        .await;
        assert_eq!(st, 201, "{r}");
        let id = r["id"].as_str().unwrap();
        call(
            &s,
            &token,
            Method::POST,
            &format!("/api/v1/pim/requests/{id}/deactivate"),
            None,
        )
        .await;
    }
    let (_, alerts) = api(&s, Method::GET, "/api/v1/pim/alerts", None).await;
    let frequent = alert(&alerts, "frequentActivation").unwrap_or_else(|| panic!("{alerts}"));
    assert_eq!(frequent["items"][0]["activationsInLastDay"], 6);
    assert!(
        alert(&alerts, "staleEligibleAssignments").is_none(),
        "{alerts}"
    );
}

#[tokio::test]
async fn an_activation_is_extended_only_where_the_role_allows_and_within_its_maximum() {
    let (s, _, token, otp) = ada_eligible_for(USER_ADMIN).await;
    let (_, r) = call(
        &s,
        &token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(json!({
        "roleDefinitionId": USER_ADMIN, "durationSeconds": 3600, "justification": "migration",
        "mfaCode": code(&s, &otp)})),
    )
    .await;
    let id = r["id"].as_str().unwrap().to_string();
    let extend = |secs: i64| json!({"durationSeconds": secs});
    let path = format!("/api/v1/pim/requests/{id}/extend");
    let (st, p) = call(&s, &token, Method::POST, &path, Some(extend(600))).await;
    assert_eq!(st, 403, "not allowed by default: {p}");
    let (st, _) = api(
        &s,
        Method::PUT,
        &format!("/api/v1/pim/settings/{USER_ADMIN}"),
        Some(json!({"maxActivationSeconds": 7200, "allowExtension": true})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, p) = call(&s, &token, Method::POST, &path, Some(extend(7200))).await;
    assert_eq!(
        (st, p["field"].as_str()),
        (400, Some("durationSeconds")),
        "{p}"
    );
    let (st, p) = call(&s, &token, Method::POST, &path, None).await;
    assert_eq!(st, 400, "{p}");
    let (st, x) = call(&s, &token, Method::POST, &path, Some(extend(600))).await;
    assert_eq!(st, 200, "{x}");
    assert_eq!(x["state"], "active");
    // Past the first end, before the extended one: still held; then gone.
    s.clock.advance_ms(3_600_000 + 1_000);
    run(&s).await;
    assert!(can_create_users(&s, &token, 1).await);
    s.clock.advance_ms(600_000);
    assert_eq!(run(&s).await["expired"], 1);
    assert!(!can_create_users(&s, &token, 2).await);
}

#[tokio::test]
async fn conditional_access_judges_activation_beside_the_role_settings() {
    let (s, _, token, otp) = ada_eligible_for(USER_ADMIN).await;
    // The role's settings ask for no second factor, but the default policy requires MFA of
    // administrators, and the role being activated counts.
    let (st, _) = api(
        &s,
        Method::PUT,
        &format!("/api/v1/pim/settings/{USER_ADMIN}"),
        Some(json!({"requireMfa": false, "requireJustification": false})),
    )
    .await;
    assert_eq!(st, 200);
    let ask = |code: Option<String>| {
        let mut b = json!({"roleDefinitionId": USER_ADMIN, "durationSeconds": 600});
        if let Some(c) = code {
            b["mfaCode"] = json!(c);
        }
        b
    };
    let (st, p) = call(
        &s,
        &token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(ask(None)),
    )
    .await;
    assert_eq!(st, 401, "{p}");
    assert_eq!(requests(&s).await, 0);
    let (st, r) = call(
        &s,
        &token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(ask(Some(code(&s, &otp)))),
    )
    .await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["mfa"], true);

    // A policy for activation itself (the PIM application) that blocks from outside a
    // trusted network refuses, whatever the code.
    let (st, p) = api(
        &s,
        Method::POST,
        "/api/v1/identity/conditionalAccess/policies",
        Some(json!({
        "displayName": "PIM only from the office", "state": "enabled",
        "conditions": {
            "users": {"includeUsers": ["All"]},
            "applications": {"includeApplications": ["trustplane-pim"]},
            "clientAppTypes": ["all"],
            "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}
        },
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}})),
    )
    .await;
    assert_eq!(st, 201, "{p}");
    let before = requests(&s).await;
    let (st, p) = call(
        &s,
        &token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(ask(Some(code(&s, &otp)))),
    )
    .await;
    assert_eq!(st, 403, "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("PIM only from the office"),
        "{p}"
    );
    assert_eq!(
        requests(&s).await,
        before,
        "a blocked activation records nothing"
    );
}

#[tokio::test]
async fn guessed_mfa_codes_are_throttled_then_lock_the_account_and_the_right_code_is_refused_too() {
    let (s, ada, token, otp) = ada_eligible_for(USER_ADMIN).await;
    let ask = |code: &str| {
        json!({"roleDefinitionId": USER_ADMIN, "durationSeconds": 3600,
               "justification": "guessing", "mfaCode": code})
    };
    // The status, Retry-After and body of one activation request.
    let activate = |code: String| {
        let req = reqwest::Client::new()
            .post(format!("{}/api/v1/pim/requests", s.base))
            .bearer_auth(&token)
            .json(&ask(&code));
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            (status, retry, r.json::<Value>().await.unwrap())
        }
    };
    let before = requests(&s).await;
    // The code the authenticator shows now (the clock stands still from here).
    let right = code(&s, &otp);
    for i in 0..5 {
        let (st, _, p) = activate(super::throttling::wrong_code(&s, &otp)).await;
        assert_eq!(st, 401, "wrong code {i}: {p}");
    }
    // Five failures: while the delay lasts even the right code is refused, saying when to retry.
    let (st, retry, p) = activate(right).await;
    assert_eq!(st, 429, "{p}");
    assert_eq!(p["title"], "Too many attempts");
    assert_eq!(retry.as_deref(), Some("2"), "{p}");
    assert_eq!(requests(&s).await, before, "nothing was requested");
    assert!(!can_create_users(&s, &token, 1).await);

    // A hundred consecutive failures lock the account: then no wait helps.
    for _ in 0..95 {
        s.store.record_account_failure(&ada).await.unwrap();
    }
    s.clock.advance_ms(3_600_000);
    let (st, retry, p) = activate(code(&s, &otp)).await;
    assert_eq!(st, 403, "{p}");
    assert_eq!(p["title"], "Account locked");
    assert!(retry.is_none());
    assert_eq!(requests(&s).await, before);

    // An administrator unlocks it; then the right code activates the role.
    let (st, _) = api(
        &s,
        Method::POST,
        &format!("/api/v1/users/{ada}/resetSignInFailures"),
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, _, p) = activate(code(&s, &otp)).await;
    assert_eq!(st, 201, "{p}");
    assert_eq!(p["state"], "active");
}

#[tokio::test]
async fn disabling_or_deleting_a_person_ends_their_elevations_and_takes_the_grants_back_at_once() {
    let (s, ada, token, otp) = ada_eligible_for(USER_ADMIN).await;
    let body = json!({"roleDefinitionId": "User Administrator", "durationSeconds": 3600,
                      "justification": "onboarding the new team", "mfaCode": code(&s, &otp)});
    let (st, r) = call(&s, &token, Method::POST, "/api/v1/pim/requests", Some(body)).await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["state"], "active");
    let (_, grants) = api(&s, Method::GET, "/api/v1/pim/grants", None).await;
    assert!(!grants["value"].as_array().unwrap().is_empty());

    // Disabled: the activation is revoked and its grant gone without waiting for the job.
    let (st, _) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/users/{ada}"),
        Some(json!({"accountEnabled": false})),
    )
    .await;
    assert_eq!(st, 200);
    let (_, ended) = api(
        &s,
        Method::GET,
        &format!("/api/v1/pim/requests/{}", r["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(ended["state"], "revoked", "{ended}");
    let (_, grants) = api(&s, Method::GET, "/api/v1/pim/grants", None).await;
    assert_eq!(grants["value"], json!([]), "nothing stays granted");
    let roles = s.store.effective_roles(&ada).await.unwrap();
    assert!(roles.is_empty(), "{roles:?}");

    // Enabled again, nothing comes back by itself; a pending request of a deleted person is
    // cancelled with them.
    let (st, _) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/users/{ada}"),
        Some(json!({"accountEnabled": true})),
    )
    .await;
    assert_eq!(st, 200);
    assert!(s.store.effective_roles(&ada).await.unwrap().is_empty());
    let later = json!({"roleDefinitionId": "User Administrator", "durationSeconds": 3600,
                       "justification": "tomorrow's change", "mfaCode": code(&s, &otp),
                       "startDateTime": "2030-01-01T00:00:00Z"});
    let (st, pending) = call(
        &s,
        &token,
        Method::POST,
        "/api/v1/pim/requests",
        Some(later),
    )
    .await;
    assert_eq!(st, 201, "{pending}");
    let (st, _) = api(&s, Method::DELETE, &format!("/api/v1/users/{ada}"), None).await;
    assert_eq!(st, 204);
    let (_, gone) = api(
        &s,
        Method::GET,
        &format!("/api/v1/pim/requests/{}", pending["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(gone["state"], "cancelled", "{gone}");
}
