//! Issue 13: input that once crashed or confused the server, replayed over HTTP.

use super::conditional_access_support::{admin_token, api};
use super::*;
use base64::Engine as _;
use std::io::Write as _;

fn deep_authn_request(levels: usize) -> String {
    format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_x\" Version=\"2.0\" IssueInstant=\"2026-01-01T00:00:00Z\">{}{}</samlp:AuthnRequest>",
        "<a>".repeat(levels),
        "</a>".repeat(levels)
    )
}

/// Item 1: an AuthnRequest nested 4,000 deep, by GET (deflated, 146 characters in the
/// report) or by POST, overflowed a worker's stack and aborted the process. Now it is a
/// 400 page, and the node goes on answering.
#[tokio::test]
async fn a_deeply_nested_saml_request_is_refused_and_the_node_stays_up() {
    let s = server().await;
    let xml = deep_authn_request(4000);
    let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflater.write_all(xml.as_bytes()).unwrap();
    let deflated = base64::engine::general_purpose::STANDARD.encode(deflater.finish().unwrap());
    let encoded: String = url::form_urlencoded::byte_serialize(deflated.as_bytes()).collect();
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{}/saml/sso?SAMLRequest={encoded}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let posted = base64::engine::general_purpose::STANDARD.encode(xml.as_bytes());
    let r = client
        .post(format!("{}/saml/sso", s.base))
        .form(&[("SAMLRequest", posted.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Item 13: a 405 had an empty body, a body over the limit was text/plain or a 400. Every
/// error is problem+json with its own status, or a page for a browser.
#[tokio::test]
async fn errors_below_the_handlers_are_problem_documents() {
    let s = server().await;
    admin_token(&s).await;
    let client = reqwest::Client::new();
    let r = client
        .put(format!("{}/api/v1/users", s.base))
        .bearer_auth(conditional_access_support::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.headers().contains_key("allow"));
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["status"], 405);

    let big =
        json!({"displayName": "x".repeat(2 * 1024 * 1024), "userPrincipalName": "big@example.com"});
    let r = client
        .post(format!("{}/api/v1/users", s.base))
        .bearer_auth(conditional_access_support::ADMIN_TOKEN)
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["status"], 413);
    let (st, _) = api(
        &s,
        reqwest::Method::GET,
        "/api/v1/users/big@example.com",
        None,
    )
    .await;
    assert_eq!(st, 404, "nothing was created");

    // A browser gets a page for the same fault.
    let r = client
        .delete(format!("{}/login", s.base))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // An unknown path: a page for a browser, a problem document for anything else.
    let r = client
        .get(format!("{}/no/such/page", s.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let r = client
        .get(format!("{}/api/v1/no-such-thing", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

/// Item 13: custom attributes were unbounded in count and size.
#[tokio::test]
async fn user_attributes_are_bounded() {
    let s = server().await;
    admin_token(&s).await;
    let many: serde_json::Map<String, Value> =
        (0..65).map(|i| (format!("a{i}"), json!("v"))).collect();
    let (st, problem) = api(
        &s,
        reqwest::Method::POST,
        "/api/v1/users",
        Some(json!({
        "userPrincipalName": "many@example.com", "displayName": "Many", "attributes": many})),
    )
    .await;
    assert_eq!(st, 400, "{problem}");
    assert_eq!(problem["field"], "attributes");
    let (st, _) = api(&s, reqwest::Method::POST, "/api/v1/users", Some(json!({
        "userPrincipalName": "ok@example.com", "displayName": "Ok", "attributes": {"department": "R&D"}}))).await;
    assert_eq!(st, 201);
    let (st, problem) = api(
        &s,
        reqwest::Method::PATCH,
        "/api/v1/users/ok@example.com",
        Some(json!({
        "attributes": {"blob": "x".repeat(5000)}})),
    )
    .await;
    assert_eq!(st, 400, "{problem}");
    let (st, user) = api(
        &s,
        reqwest::Method::GET,
        "/api/v1/users/ok@example.com",
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert!(user["attributes"].get("blob").is_none(), "{user}");
}

/// Item 13: calls with an invalid bearer token left no trace in the audit trail. Each is now
/// audited, a few per minute per address, so a flood cannot flood the trail.
#[tokio::test]
async fn calls_with_invalid_tokens_are_audited_with_a_bound() {
    let s = server().await;
    admin_token(&s).await;
    let client = reqwest::Client::new();
    for _ in 0..20 {
        let r = client
            .get(format!("{}/api/v1/users", s.base))
            .bearer_auth("tp_not_a_token_of_ours")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    let denied: Vec<Value> = audit_events(&s, "authorization")
        .await
        .into_iter()
        .filter(|e| e["activity"] == "authorization.invalidToken")
        .collect();
    assert_eq!(
        denied.len(),
        5,
        "a burst of 5, then none until the minute refills"
    );
    assert!(denied[0]["resultReason"]
        .as_str()
        .unwrap()
        .contains("GET /api/v1/users"));
    // A minute later the address is audited again.
    s.clock.advance_ms(60_000);
    let r = client
        .get(format!("{}/api/v1/users", s.base))
        .header("authorization", "Basic YWRtaW46YWRtaW4=")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let after = audit_events(&s, "authorization")
        .await
        .into_iter()
        .filter(|e| e["activity"] == "authorization.invalidToken")
        .count();
    assert_eq!(after, 6);
}
