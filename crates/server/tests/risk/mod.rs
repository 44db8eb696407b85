//! Identity risk end to end: detections computed at `POST /login` feed conditional access
//! (`signInRiskLevels`, `userRiskLevels`); a detection alone never blocks, an enforced policy
//! does, a report-only one only reports; the identity protection API lists, confirms and
//! dismisses, authorised like other admin routes.

use super::conditional_access_support::{admin_token, api};
use super::*;
use reqwest::Method;
use trustplane_model::{AssignmentKind, BuiltinRole};
use trustplane_store::{CaKind, NewAssignment};

const LONDON: &str = "81.2.69.142";
const LONDON_OTHER: &str = "212.58.244.1";
const US: &str = "8.8.8.8";
const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";

/// The password step through the page, from `ip` (the tests' proxy speaks for it).
async fn login_from(s: &Server, upn: &str, ip: &str) -> Page {
    let mut b = Browser::new(s);
    let login = b.get("/login").await;
    let csrf = Browser::csrf(&login);
    let req = b
        .http
        .post(format!("{}/login", b.base))
        .header("x-forwarded-for", ip)
        .header("user-agent", FIREFOX)
        .form(&[
            ("username", upn),
            ("password", PASSWORD),
            ("csrf", csrf.as_str()),
            ("next", "/"),
        ]);
    b.send(req).await
}

async fn risk_policy(s: &Server, name: &str, state: &str, condition: Value) {
    let mut conditions = json!({
        "users": {"includeUsers": ["All"]},
        "applications": {"includeApplications": ["All"]},
        "clientAppTypes": ["all"],
    });
    for (k, v) in condition.as_object().unwrap() {
        conditions[k] = v.clone();
    }
    s.store
        .create_ca(
            &Actor::system(),
            CaKind::Policy,
            json!({
                "displayName": name,
                "state": state,
                "conditions": conditions,
                "grantControls": {"operator": "OR", "builtInControls": ["block"]}
            }),
            name,
            Some(state),
        )
        .await
        .unwrap();
}

/// A familiar week of sign-ins from London, the last one now.
async fn familiar_week(s: &Server, upn: &str) {
    for _ in 0..4 {
        let r = login_from(s, upn, LONDON).await;
        assert_eq!(r.status, 303, "{}", r.body);
        s.clock.advance_ms(DAY);
    }
    let r = login_from(s, upn, LONDON).await;
    assert_eq!(r.status, 303, "{}", r.body);
}

async fn last_sign_in_of(s: &Server) -> Value {
    sign_ins(s)
        .await
        .into_iter()
        .rfind(|e| e["activity"] == "signIn")
        .unwrap()
}

#[tokio::test]
async fn a_high_sign_in_risk_policy_blocks_impossible_travel_and_not_the_normal_sign_in() {
    let s = server().await;
    user(&s, "ada@example.com").await;
    risk_policy(
        &s,
        "Block high sign-in risk",
        "enabled",
        json!({"signInRiskLevels": ["high"]}),
    )
    .await;
    familiar_week(&s, "ada@example.com").await;
    let log = last_sign_in_of(&s).await;
    assert_eq!(log["result"], "success");
    assert_eq!(log["after"]["riskLevelDuringSignIn"], "none", "{log}");

    // Thirty minutes later, from the United States: blocked by the policy.
    s.clock.advance_ms(30 * MINUTE);
    let r = login_from(&s, "ada@example.com", US).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Block high sign-in risk"), "{}", r.body);
    let log = last_sign_in_of(&s).await;
    assert_eq!(log["result"], "failure");
    assert_eq!(log["after"]["riskLevelDuringSignIn"], "high", "{log}");
    assert!(log["after"]["riskEventTypes_v2"]
        .as_array()
        .unwrap()
        .contains(&json!("unlikelyTravel")));
    assert_eq!(
        log["after"]["appliedConditionalAccessPolicies"][0]["displayName"],
        "Block high sign-in risk"
    );

    // Control: five minutes later from another London network is a normal sign-in (the
    // blocked attempt was no sign-in to travel from).
    s.clock.advance_ms(5 * MINUTE);
    let r = login_from(&s, "ada@example.com", LONDON_OTHER).await;
    assert_eq!(r.status, 303, "{}", r.body);
}

#[tokio::test]
async fn a_detection_alone_or_a_report_only_policy_does_not_block() {
    let s = server().await;
    user(&s, "ada@example.com").await;
    familiar_week(&s, "ada@example.com").await;
    s.clock.advance_ms(30 * MINUTE);
    // No policy: the detection is recorded, the sign-in goes through.
    let r = login_from(&s, "ada@example.com", US).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let log = last_sign_in_of(&s).await;
    assert_eq!(log["after"]["riskLevelDuringSignIn"], "high", "{log}");

    // Report-only: it reports what it would have done.
    risk_policy(
        &s,
        "Would block high sign-in risk",
        "enabledForReportingButNotEnforced",
        json!({"signInRiskLevels": ["high"]}),
    )
    .await;
    s.clock.advance_ms(30 * MINUTE);
    let r = login_from(&s, "ada@example.com", LONDON).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let log = last_sign_in_of(&s).await;
    assert_eq!(log["result"], "success");
    assert_eq!(log["after"]["riskLevelDuringSignIn"], "high", "{log}");
    let report = &log["after"]["reportOnlyConditionalAccessPolicies"][0];
    assert_eq!(
        report["displayName"], "Would block high sign-in risk",
        "{log}"
    );
    assert_eq!(report["result"], "block");
}

#[tokio::test]
async fn a_spray_over_50_accounts_raises_the_next_sign_in_from_that_network() {
    let s = server().await;
    user(&s, "ada@example.com").await;
    risk_policy(
        &s,
        "Block medium and high sign-in risk",
        "enabled",
        json!({"signInRiskLevels": ["medium", "high"]}),
    )
    .await;
    // Fifty accounts tried from a /24, a few addresses of it, spread out so the per-address
    // limiter does not stop them first.
    let http = reqwest::Client::new();
    for i in 0..50 {
        let r = http
            .post(format!("{}/api/v1/auth/signIn", s.base))
            .header("x-forwarded-for", format!("198.51.100.{}", i % 10 + 1))
            .json(&json!({"username": format!("user{i}@example.com"), "password": "Winter2026!"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        s.clock.advance_ms(1000);
    }
    // Ada's right password from that network: blocked by the risk policy.
    let r = login_from(&s, "ada@example.com", "198.51.100.200").await;
    assert_eq!(r.status, 403, "{}", r.body);
    let log = last_sign_in_of(&s).await;
    assert!(log["after"]["riskEventTypes_v2"]
        .as_array()
        .unwrap()
        .contains(&json!("passwordSpray")));
    // From another network she is fine.
    let r = login_from(&s, "ada@example.com", LONDON).await;
    assert_eq!(r.status, 303, "{}", r.body);
}

/// An admin API token for a new user holding `role` (or no role).
async fn token_for(s: &Server, upn: &str, role: Option<BuiltinRole>) -> String {
    let id = user(s, upn).await;
    if let Some(role) = role {
        s.store
            .create_role_assignment(
                &Actor::system(),
                NewAssignment {
                    principal_id: id.clone(),
                    role_definition_id: role.id().into(),
                    directory_scope_id: "/".into(),
                    assignment_type: AssignmentKind::Active,
                    start: None,
                    end: None,
                },
            )
            .await
            .unwrap();
    }
    let token = format!("tp_risk_test_token_{}_0123456789abcdef", upn.len());
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
    token
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

#[tokio::test]
async fn risky_users_are_listed_confirmed_and_dismissed_through_the_api() {
    let s = server().await;
    admin_token(&s).await;
    let ada = user(&s, "ada@example.com").await;
    familiar_week(&s, "ada@example.com").await;
    s.clock.advance_ms(30 * MINUTE);
    let signed_in = login_from(&s, "ada@example.com", US).await;
    assert_eq!(signed_in.status, 303);

    let (st, detections) = api(
        &s,
        Method::GET,
        "/api/v1/identityProtection/riskDetections?user=ada@example.com",
        None,
    )
    .await;
    assert_eq!(st, 200, "{detections}");
    let travel = detections["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["riskEventType"] == "unlikelyTravel")
        .unwrap_or_else(|| panic!("{detections}"));
    assert_eq!(travel["riskLevel"], "high");
    assert_eq!(travel["riskState"], "atRisk");
    assert_eq!(travel["ipAddress"], US);
    assert_eq!(travel["userId"], ada.as_str());
    let (st, risky) = api(
        &s,
        Method::GET,
        "/api/v1/identityProtection/riskyUsers",
        None,
    )
    .await;
    assert_eq!(st, 200, "{risky}");
    assert_eq!(risky["value"][0]["userPrincipalName"], "ada@example.com");
    assert_eq!(risky["value"][0]["riskLevel"], "high");
    assert_eq!(risky["value"][0]["riskState"], "atRisk");

    // Bad input changes nothing: an empty list, an unknown user, an unknown field.
    let confirm = "/api/v1/identityProtection/riskyUsers/confirmCompromised";
    let (st, _) = api(&s, Method::POST, confirm, Some(json!({"userIds": []}))).await;
    assert_eq!(st, 400);
    let (st, problem) = api(
        &s,
        Method::POST,
        confirm,
        Some(json!({"userIds": ["ada@example.com", "nobody@example.com"]})),
    )
    .await;
    assert_eq!(st, 404, "{problem}");
    let (st, _) = api(
        &s,
        Method::POST,
        confirm,
        Some(json!({"userId": ["ada@example.com"]})),
    )
    .await;
    assert_eq!(st, 400);
    let (_, sessions) = api(
        &s,
        Method::GET,
        &format!("/api/v1/users/{ada}/sessions"),
        None,
    )
    .await;
    assert!(
        !sessions["value"].as_array().unwrap().is_empty(),
        "{sessions}"
    );

    // Confirmed compromised, by name: high, and every session ended.
    let (st, out) = api(
        &s,
        Method::POST,
        confirm,
        Some(json!({"userIds": ["ada@example.com"]})),
    )
    .await;
    assert_eq!(st, 200, "{out}");
    assert_eq!(out["value"][0]["riskState"], "confirmedCompromised");
    assert_eq!(out["value"][0]["riskLevel"], "high");
    let (_, sessions) = api(
        &s,
        Method::GET,
        &format!("/api/v1/users/{ada}/sessions"),
        None,
    )
    .await;
    assert_eq!(sessions["value"], json!([]), "{sessions}");

    // A user-risk policy now blocks her; dismissed, it does not.
    risk_policy(
        &s,
        "Block high user risk",
        "enabled",
        json!({"userRiskLevels": ["high"]}),
    )
    .await;
    s.clock.advance_ms(DAY);
    let r = login_from(&s, "ada@example.com", LONDON).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Block high user risk"), "{}", r.body);
    let (st, out) = api(
        &s,
        Method::POST,
        "/api/v1/identityProtection/riskyUsers/dismiss",
        Some(json!({"userIds": [ada]})),
    )
    .await;
    assert_eq!(st, 200, "{out}");
    assert_eq!(out["value"][0]["riskState"], "dismissed");
    assert_eq!(out["value"][0]["riskLevel"], "none");
    let r = login_from(&s, "ada@example.com", LONDON).await;
    assert_eq!(r.status, 303, "{}", r.body);

    // Every change is audited.
    let (_, audit) = api(
        &s,
        Method::GET,
        "/api/v1/audit?category=identityProtection",
        None,
    )
    .await;
    let activities: Vec<&str> = audit["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["activity"].as_str().unwrap())
        .collect();
    assert_eq!(
        activities
            .iter()
            .filter(|a| **a == "riskyUser.confirmCompromised")
            .count(),
        1,
        "{activities:?}"
    );
    assert!(activities.contains(&"riskyUser.dismiss"), "{activities:?}");
}

#[tokio::test]
async fn only_security_roles_read_and_change_user_risk() {
    let s = server().await;
    user(&s, "ada@example.com").await;
    let reader = token_for(&s, "reader@example.com", Some(BuiltinRole::SecurityReader)).await;
    let security = token_for(
        &s,
        "secadmin@example.com",
        Some(BuiltinRole::SecurityAdministrator),
    )
    .await;
    let nobody = token_for(&s, "plain.user@example.com", None).await;
    let list = "/api/v1/identityProtection/riskyUsers";
    let confirm = "/api/v1/identityProtection/riskyUsers/confirmCompromised";
    let body = json!({"userIds": ["ada@example.com"]});

    let (st, _) = call(&s, &nobody, Method::GET, list, None).await;
    assert_eq!(st, 403);
    let (st, _) = call(
        &s,
        &nobody,
        Method::GET,
        "/api/v1/identityProtection/riskDetections",
        None,
    )
    .await;
    assert_eq!(st, 403);
    let (st, _) = call(&s, &nobody, Method::POST, confirm, Some(body.clone())).await;
    assert_eq!(st, 403);
    // A Security Reader reads, and cannot change anything.
    let (st, _) = call(&s, &reader, Method::GET, list, None).await;
    assert_eq!(st, 200);
    let (st, _) = call(&s, &reader, Method::POST, confirm, Some(body.clone())).await;
    assert_eq!(st, 403);
    let (st, _) = call(
        &s,
        &reader,
        Method::POST,
        "/api/v1/identityProtection/riskyUsers/dismiss",
        Some(body.clone()),
    )
    .await;
    assert_eq!(st, 403);
    let (_, risky) = call(&s, &reader, Method::GET, list, None).await;
    assert_eq!(
        risky["value"],
        json!([]),
        "refused requests changed nothing"
    );
    // A Security Administrator can, for people of their tier or below.
    let (st, out) = call(&s, &security, Method::POST, confirm, Some(body)).await;
    assert_eq!(st, 200, "{out}");
    // Not for a Global Administrator: with a user-risk policy, that would lock them out.
    token_for(
        &s,
        "the.global.admin@example.com",
        Some(BuiltinRole::GlobalAdministrator),
    )
    .await;
    let both = json!({"userIds": ["ada@example.com", "the.global.admin@example.com"]});
    for path in [confirm, "/api/v1/identityProtection/riskyUsers/dismiss"] {
        let (st, out) = call(&s, &security, Method::POST, path, Some(both.clone())).await;
        assert_eq!(st, 403, "{path}: {out}");
        assert!(
            out["detail"]
                .as_str()
                .unwrap()
                .contains("the.global.admin@example.com"),
            "{out}"
        );
    }
    // Nobody clears their own risk, and a confirmation takes the person's API tokens too.
    let (st, out) = call(
        &s,
        &security,
        Method::POST,
        "/api/v1/identityProtection/riskyUsers/dismiss",
        Some(json!({"userIds": ["secadmin@example.com"]})),
    )
    .await;
    assert_eq!(st, 403, "{out}");
    let (st, _) = call(&s, &nobody, Method::GET, "/api/v1/me", None).await;
    assert_eq!(st, 200, "the plain user's token works");
    let (st, out) = call(
        &s,
        &security,
        Method::POST,
        confirm,
        Some(json!({"userIds": ["plain.user@example.com"]})),
    )
    .await;
    assert_eq!(st, 200, "{out}");
    let (st, _) = call(&s, &nobody, Method::GET, "/api/v1/me", None).await;
    assert_eq!(st, 401, "a compromised person's API token no longer works");
    let (_, risky) = call(&s, &reader, Method::GET, list, None).await;
    assert!(
        !risky.to_string().contains("the.global.admin@example.com"),
        "the refused confirmation changed nothing: {risky}"
    );
    // And bad paging is a 400.
    let (st, _) = call(
        &s,
        &security,
        Method::GET,
        "/api/v1/identityProtection/riskDetections?$top=0",
        None,
    )
    .await;
    assert_eq!(st, 400);
}

/// Changes the signed-in browser's password through the account page.
async fn change_password(b: &mut Browser, new: &str) -> Page {
    let form = b.get("/account/password").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = Browser::csrf(&form);
    b.post(
        "/account/password",
        &[
            ("current", PASSWORD),
            ("new", new),
            ("confirm", new),
            ("csrf", &csrf),
        ],
    )
    .await
}

#[tokio::test]
async fn a_password_change_after_mfa_remediates_user_risk_and_one_without_does_not() {
    let s = server().await;
    admin_token(&s).await;
    user(&s, "ada@example.com").await;
    user(&s, "bob@example.com").await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let uri = enrol_totp(&mut b, &s).await;
    let confirm = "/api/v1/identityProtection/riskyUsers/confirmCompromised";
    let (st, _) = api(
        &s,
        Method::POST,
        confirm,
        Some(json!({"userIds": ["ada@example.com", "bob@example.com"]})),
    )
    .await;
    assert_eq!(st, 200);

    // Bob signs in with his password only and changes it: his risk stays.
    s.clock.advance_ms(MINUTE);
    let mut bob = Browser::new(&s);
    bob.sign_in("bob@example.com").await;
    s.clock.advance_ms(11 * MINUTE);
    let r = change_password(&mut bob, "quartz mountains over violet fields").await;
    assert_eq!(r.status, 303, "{}", r.body);

    // Ada proves her second factor, then changes her password: remediated.
    s.clock.advance_ms(MINUTE);
    let mut ada = Browser::new(&s);
    let r = ada.password("ada@example.com", PASSWORD).await;
    let mfa = ada.get(r.location.as_deref().unwrap()).await;
    let csrf = Browser::csrf(&mfa);
    let code = pyotp(&uri, s.clock.now_ms());
    let ok = ada
        .post(
            "/login/mfa",
            &[
                ("method", "totp"),
                ("code", &code),
                ("csrf", &csrf),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let r = change_password(&mut ada, "seven amber lanterns by the harbour").await;
    assert_eq!(r.status, 303, "{}", r.body);

    let (_, risky) = api(
        &s,
        Method::GET,
        "/api/v1/identityProtection/riskyUsers",
        None,
    )
    .await;
    let of = |upn: &str| {
        risky["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["userPrincipalName"] == upn)
            .cloned()
            .unwrap_or_else(|| panic!("{risky}"))
    };
    assert_eq!(of("ada@example.com")["riskState"], "remediated", "{risky}");
    assert_eq!(of("ada@example.com")["riskLevel"], "none");
    assert_eq!(
        of("ada@example.com")["riskDetail"],
        "userPerformedSecuredPasswordChange"
    );
    assert_eq!(of("bob@example.com")["riskState"], "confirmedCompromised");
    assert_eq!(of("bob@example.com")["riskLevel"], "high");
}

#[tokio::test]
async fn a_cloudtrail_alert_resolved_to_a_person_raises_their_user_risk_at_sign_in() {
    let s = server().await;
    admin_token(&s).await;
    user(&s, "ada@example.com").await;
    user(&s, "bob@example.com").await;
    let r = login_from(&s, "ada@example.com", LONDON).await;
    assert_eq!(r.status, 303, "{}", r.body);

    // Her AWS role session (named after her) stops CloudTrail logging: SigmaHQ's rule matches
    // and the pipeline resolves the record to her.
    let line = format!("{}\n", super::detection::stop_logging_by("ada@example.com"));
    let pushed = reqwest::Client::new()
        .post(format!("{}/api/v1/detect/ingest", s.base))
        .bearer_auth(super::conditional_access_support::ADMIN_TOKEN)
        .body(line)
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 200);
    let (_, alerts) = api(&s, Method::GET, "/api/v1/alerts", None).await;
    let alert = &alerts["value"][0];
    assert_eq!(alert["personUpn"], "ada@example.com", "{alerts}");
    let level = alert["level"].as_str().unwrap().to_string();

    let (_, risky) = api(
        &s,
        Method::GET,
        "/api/v1/identityProtection/riskyUsers",
        None,
    )
    .await;
    assert_eq!(
        risky["value"][0]["userPrincipalName"], "ada@example.com",
        "{risky}"
    );
    assert_eq!(risky["value"][0]["riskState"], "atRisk");
    assert!(risky["value"][0]["riskDetail"]
        .as_str()
        .unwrap()
        .starts_with("alert: "));
    let user_level = risky["value"][0]["riskLevel"].as_str().unwrap().to_string();
    assert_ne!(
        user_level, "none",
        "an alert of level {level} raises user risk"
    );

    // A user-risk policy at that level now blocks her, and not Bob.
    risk_policy(
        &s,
        "Block risky users",
        "enabled",
        json!({"userRiskLevels": [user_level]}),
    )
    .await;
    s.clock.advance_ms(DAY);
    let r = login_from(&s, "ada@example.com", LONDON).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Block risky users"), "{}", r.body);
    let log = last_sign_in_of(&s).await;
    assert_eq!(
        log["after"]["riskLevelAggregated"],
        user_level.as_str(),
        "{log}"
    );
    let r = login_from(&s, "bob@example.com", LONDON).await;
    assert_eq!(r.status, 303, "{}", r.body);

    // The record's source address is now tied to an alert: a sign-in from it is high risk.
    let r = login_from(&s, "bob@example.com", "198.51.100.7").await;
    assert_eq!(r.status, 303, "no policy on sign-in risk: {}", r.body);
    let log = last_sign_in_of(&s).await;
    assert_eq!(log["after"]["riskLevelDuringSignIn"], "high", "{log}");
    assert!(log["after"]["riskEventTypes_v2"]
        .as_array()
        .unwrap()
        .contains(&json!("maliciousIPAddress")));
}

#[tokio::test]
async fn user_risk_raised_after_sign_in_is_evaluated_when_an_application_is_opened() {
    let s = server().await;
    let ada = user(&s, "ada@example.com").await;
    risk_policy(
        &s,
        "Keep risky users out of payroll",
        "enabled",
        json!({"userRiskLevels": ["high"], "applications": {"includeApplications": ["payroll"]}}),
    )
    .await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let open = |b: &Browser| {
        b.http
            .post(format!("{}/api/v1/auth/authorize", b.base))
            .json(&json!({"appId": "payroll"}))
    };
    let req = open(&b);
    assert_eq!(b.send(req).await.status, 200, "no risk yet");
    // The detection pipeline raises a high alert about her while she is signed in.
    s.store
        .record_hit(
            trustplane_store::NewHit {
                rule_id: Some("r1".into()),
                rule_title: "AWS role session stopped CloudTrail logging".into(),
                rule_author: None,
                level: "high".into(),
                person_id: Some(ada.clone()),
                person_upn: Some("ada@example.com".into()),
                record: json!({"eventName": "StopLogging"}),
                event_time: None,
                addresses: Vec::new(),
            },
            60 * MINUTE,
        )
        .await
        .unwrap();
    let req = open(&b);
    let r = b.send(req).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body.contains("Keep risky users out of payroll"),
        "{}",
        r.body
    );
    let req = b
        .http
        .post(format!("{}/api/v1/auth/authorize", b.base))
        .json(&json!({"appId": "wiki"}));
    assert_eq!(b.send(req).await.status, 200, "other applications are open");
}

/// Incidents over the API: a person's alerts arrive grouped; security roles read them, only
/// those who may act on alerts change them; bad input is refused and changes nothing.
#[tokio::test]
async fn incidents_group_a_persons_alerts_and_only_alert_writers_change_them() {
    let s = server().await;
    admin_token(&s).await;
    user(&s, "ada@example.com").await;
    let reader = token_for(&s, "reader@example.com", Some(BuiltinRole::SecurityReader)).await;
    let user_admin = token_for(
        &s,
        "users@example.com",
        Some(BuiltinRole::UserAdministrator),
    )
    .await;
    let pushed = reqwest::Client::new()
        .post(format!("{}/api/v1/detect/ingest", s.base))
        .bearer_auth(super::conditional_access_support::ADMIN_TOKEN)
        .body(super::detection::stop_logging_by("ada@example.com").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 200);
    let report: Value = pushed.json().await.unwrap();
    let alerts = report["newAlerts"].as_array().unwrap().len();
    assert!(alerts >= 2, "{report}");

    let (st, list) = call(
        &s,
        &reader,
        Method::GET,
        "/api/v1/incidents?person=ada@example.com",
        None,
    )
    .await;
    assert_eq!(st, 200, "{list}");
    let incidents = list["value"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{list}");
    assert_eq!(incidents[0]["alertCount"], alerts);
    let id = incidents[0]["id"].as_str().unwrap().to_string();
    let (st, one) = call(
        &s,
        &reader,
        Method::GET,
        &format!("/api/v1/incidents/{id}"),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(one["alerts"].as_array().unwrap().len(), alerts);
    assert_eq!(one["persons"][0]["userPrincipalName"], "ada@example.com");

    // Readers and user administrators cannot change it; the refusal changes nothing.
    for token in [&reader, &user_admin] {
        let (st, _) = call(
            &s,
            token,
            Method::PATCH,
            &format!("/api/v1/incidents/{id}"),
            Some(json!({"status": "resolved"})),
        )
        .await;
        assert_eq!(st, 403);
        let (st, _) = call(
            &s,
            token,
            Method::POST,
            &format!("/api/v1/incidents/{id}/comments"),
            Some(json!({"comment": "x"})),
        )
        .await;
        assert_eq!(st, 403);
    }
    let admin = super::conditional_access_support::ADMIN_TOKEN;
    for (body, status) in [
        (json!({"status": "closed"}), 400),
        (json!({"assignedTo": "nobody@example.com"}), 404),
        (json!({"colour": "red"}), 400),
    ] {
        let (st, problem) = call(
            &s,
            admin,
            Method::PATCH,
            &format!("/api/v1/incidents/{id}"),
            Some(body.clone()),
        )
        .await;
        assert_eq!(st, status, "{body}: {problem}");
    }
    let (st, _) = call(
        &s,
        admin,
        Method::PATCH,
        "/api/v1/incidents/no-such-incident",
        Some(json!({"status": "resolved"})),
    )
    .await;
    assert_eq!(st, 404);
    let (_, unchanged) = call(
        &s,
        &reader,
        Method::GET,
        &format!("/api/v1/incidents/{id}"),
        None,
    )
    .await;
    assert_eq!(unchanged["status"], "active");
    assert_eq!(unchanged["assignedTo"], Value::Null);

    // An administrator takes it (by UPN), comments and resolves it: its alerts are resolved.
    let (st, taken) = call(
        &s,
        admin,
        Method::PATCH,
        &format!("/api/v1/incidents/{id}"),
        Some(json!({"assignedTo": "reader@example.com", "status": "inProgress"})),
    )
    .await;
    assert_eq!(st, 200, "{taken}");
    assert_eq!(taken["assignedTo"], "reader@example.com");
    let (st, commented) = call(
        &s,
        admin,
        Method::POST,
        &format!("/api/v1/incidents/{id}/comments"),
        Some(json!({"comment": "session ended, keys rotated"})),
    )
    .await;
    assert_eq!(st, 200, "{commented}");
    assert_eq!(
        commented["comments"][0]["comment"],
        "session ended, keys rotated"
    );
    let (st, resolved) = call(
        &s,
        admin,
        Method::PATCH,
        &format!("/api/v1/incidents/{id}"),
        Some(json!({"status": "resolved"})),
    )
    .await;
    assert_eq!(st, 200);
    assert!(
        resolved["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["status"] == "resolved"),
        "{resolved}"
    );
}
