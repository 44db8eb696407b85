//! SAML single sign-on end to end: requests made by an independent SP (OneLogin's
//! python3-saml), our responses checked by it and by `xmlsec1`, conditional access deciding
//! at each response, and the AWS console's attributes from the directory's role assignments.

use super::conditional_access_support::{admin_token, api};
use super::*;
use base64::Engine as _;
use reqwest::Method;
use trustplane_model::AssignmentKind;
use trustplane_store::{NewAssignment, NewGroup};

const SP: &str = "https://sp.example.test/metadata";
const ACS: &str = "https://sp.example.test/acs";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn saml_server() -> Server {
    server_at(real_now_ms()).await
}

/// Runs one command of the OneLogin peer the SAML crate's tests use too.
fn peer(cmd: Value) -> Value {
    use std::io::Write;
    let python = std::env::var("TRUSTPLANE_TEST_PYTHON")
        .unwrap_or_else(|_| "/root/.cache/trustplane-venv/bin/python".into());
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../saml/tests/python/onelogin_peer.py");
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(cmd.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn idp_metadata(s: &Server) -> String {
    let r = reqwest::get(format!("{}/saml/metadata", s.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/samlmetadata+xml");
    r.text().await.unwrap()
}

async fn generic_sp(s: &Server) -> Value {
    let (st, app) = api(
        s,
        Method::POST,
        "/api/v1/applications",
        Some(json!({
            "displayName": "Wiki",
            "appId": SP,
            "settings": {"saml": {
                "assertionConsumerServices": [{"url": ACS, "isDefault": true}],
                "nameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                "attributes": [
                    {"name": "groups", "source": "groupNames"},
                    {"name": "displayName", "source": "displayName"}
                ]
            }}
        })),
    )
    .await;
    assert_eq!(st, 201, "{app}");
    app
}

impl Browser {
    /// Signs in through the form, going on to `next`; returns where it leads.
    async fn sign_in_to(&mut self, upn: &str, next: &str) -> String {
        let login = self.get("/login").await;
        let csrf = Self::csrf(&login);
        let r = self
            .post(
                "/login",
                &[
                    ("username", upn),
                    ("password", PASSWORD),
                    ("csrf", &csrf),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        r.location.unwrap()
    }

    /// Follows redirects within our server until a page answers.
    async fn follow(&mut self, mut path: String) -> (String, Page) {
        for _ in 0..10 {
            let page = self.get(&path).await;
            match (page.status, &page.location) {
                (302 | 303, Some(next)) if next.starts_with('/') => path = next.clone(),
                _ => return (path, page),
            }
        }
        panic!("redirect loop at {path}");
    }
}

/// The path and query of one of our URLs.
fn local(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    rest[rest.find('/').unwrap()..].to_string()
}

fn saml_response(page: &Page) -> String {
    field(&page.body, "SAMLResponse")
}

fn validate(
    metadata: &str,
    acs: &str,
    audience: &str,
    response: &str,
    request_id: Option<&str>,
) -> Value {
    peer(json!({
        "command": "validate",
        "idp_metadata": metadata,
        "sp_entity_id": audience,
        "acs_url": acs,
        "response_b64": response,
        "request_id": request_id,
        "want_assertions_signed": true,
        "want_messages_signed": true,
    }))
}

/// Verifies the response's signatures with the xmlsec1 command-line tool.
fn xmlsec1_verifies(metadata: &str, response_b64: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let cert = metadata
        .split("<ds:X509Certificate>")
        .nth(1)
        .unwrap()
        .split("</ds:X509Certificate>")
        .next()
        .unwrap();
    let pem = format!("-----BEGIN CERTIFICATE-----\n{cert}\n-----END CERTIFICATE-----\n");
    std::fs::write(dir.path().join("idp.pem"), pem).unwrap();
    std::fs::write(
        dir.path().join("response.xml"),
        B64.decode(response_b64).unwrap(),
    )
    .unwrap();
    let out = std::process::Command::new("xmlsec1")
        .args([
            "--verify",
            "--pubkey-cert-pem",
            dir.path().join("idp.pem").to_str().unwrap(),
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:protocol:Response",
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
            dir.path().join("response.xml").to_str().unwrap(),
        ])
        .output()
        .expect("xmlsec1 is installed by scripts/test.sh");
    out.status.success()
}

#[tokio::test]
async fn sp_initiated_sign_on_is_accepted_by_python3_saml_and_xmlsec1_and_answered_once() {
    let s = saml_server().await;
    admin_token(&s).await;
    let ada = user(&s, "ada@example.com").await;
    s.store
        .update_user(
            &Actor::system(),
            &ada,
            UserPatch {
                mail: Some(Some("ada.lovelace@example.com".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let group = s
        .store
        .create_group(
            &Actor::system(),
            NewGroup {
                display_name: "Engineers".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    s.store
        .add_member(&Actor::system(), &group.id, &ada)
        .await
        .unwrap();
    generic_sp(&s).await;
    let metadata = idp_metadata(&s).await;

    let login = peer(json!({
        "command": "login", "idp_metadata": metadata, "sp_entity_id": SP, "acs_url": ACS,
        "relay_state": "https://sp.example.test/after"
    }));
    let request_id = login["request_id"].as_str().unwrap().to_string();
    let sso = local(login["url"].as_str().unwrap());
    assert!(sso.starts_with("/saml/sso?SAMLRequest="), "{sso}");

    // Not signed in yet: the request is checked, then the person signs in and comes back.
    let mut b = Browser::new(&s);
    let (at, page) = b.follow(sso.clone()).await;
    assert!(at.starts_with("/login?next=/saml/resume%3Fr%3D"), "{at}");
    assert_eq!(page.status, 200);
    let next = at.split_once("next=").unwrap().1;
    let next = percent_decode(next);
    let back = b.sign_in_to("ada@example.com", &next).await;
    assert!(back.starts_with("/saml/resume?r="), "{back}");
    let (_, form) = b.follow(back).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains(&format!("action=\"{ACS}\"")));
    assert_eq!(
        field(&form.body, "RelayState"),
        "https://sp.example.test/after"
    );
    let response = saml_response(&form);

    let checked = validate(&metadata, ACS, SP, &response, Some(&request_id));
    assert_eq!(checked["valid"], true, "{checked}");
    // An e-mail NameID is the UPN, never `mail` (issue 13 item 10).
    assert_eq!(checked["name_id"], "ada@example.com");
    assert_eq!(checked["attributes"]["groups"], json!(["Engineers"]));
    assert_eq!(
        checked["attributes"]["displayName"],
        json!(["Ada Lovelace"])
    );
    assert!(xmlsec1_verifies(&metadata, &response));

    // One changed attribute value and neither peer accepts the response.
    let xml = String::from_utf8(B64.decode(&response).unwrap()).unwrap();
    let forged = B64.encode(xml.replace("Engineers", "Administrators"));
    let refused = validate(&metadata, ACS, SP, &forged, Some(&request_id));
    assert_eq!(refused["valid"], false, "{refused}");
    assert!(!xmlsec1_verifies(&metadata, &forged));

    // The same request again, with the session: answered once only.
    let (_, again) = b.follow(sso).await;
    assert_eq!(again.status, 400);
    assert!(again.body.contains("answered already"), "{}", again.body);
    assert!(!again.body.contains("SAMLResponse"));

    let issued = audit_events(&s, "federation").await;
    assert_eq!(issued.len(), 1);
    let event = &issued[0];
    assert_eq!(event["activity"], "saml.response");
    assert_eq!(event["target"]["id"], SP);
    assert_eq!(event["after"]["inResponseTo"], request_id.as_str());
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[tokio::test]
async fn bad_requests_get_an_error_page_and_nothing_is_posted_anywhere() {
    let s = saml_server().await;
    admin_token(&s).await;
    user(&s, "ada@example.com").await;
    generic_sp(&s).await;
    let metadata = idp_metadata(&s).await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;

    // An SP nobody registered.
    let stranger = peer(json!({
        "command": "login", "idp_metadata": metadata,
        "sp_entity_id": "https://stranger.example.test/metadata",
        "acs_url": "https://stranger.example.test/acs"
    }));
    let page = b.get(&local(stranger["url"].as_str().unwrap())).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("not known"), "{}", page.body);

    // A registered SP asking for its response at an address it did not register.
    let hijack = peer(json!({
        "command": "login", "idp_metadata": metadata, "sp_entity_id": SP,
        "acs_url": "https://attacker.example.test/acs"
    }));
    let page = b.get(&local(hijack["url"].as_str().unwrap())).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(!page.body.contains("attacker.example.test/acs\""));

    // Garbage, an oversized query, and a tampered resumption link.
    for bad in [
        "/saml/sso?SAMLRequest=not-base64!!".to_string(),
        format!("/saml/sso?SAMLRequest={}", "A".repeat(60_000)),
        "/saml/sso".to_string(),
        "/saml/resume?r=v1.AAAA".to_string(),
    ] {
        let page = b.get(&bad).await;
        assert!(
            [400, 414, 431].contains(&page.status),
            "{}: {}",
            &bad[..bad.len().min(40)],
            page.status
        );
        assert!(!page.body.contains("SAMLResponse"));
    }
    // Nothing was issued, so nothing is in the federation log.
    assert!(audit_events(&s, "federation").await.is_empty());
}

#[tokio::test]
async fn a_person_conditional_access_blocks_gets_a_refusal_without_an_assertion() {
    let s = saml_server().await;
    admin_token(&s).await;
    user(&s, "ada@example.com").await;
    generic_sp(&s).await;
    add_policy(
        &s,
        policy(
            "Nobody reaches the wiki",
            json!({"includeUsers": ["All"]}),
            SP,
            &["block"],
        ),
    )
    .await;
    let metadata = idp_metadata(&s).await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let login = peer(json!({
        "command": "login", "idp_metadata": metadata, "sp_entity_id": SP, "acs_url": ACS
    }));
    let (_, form) = b.follow(local(login["url"].as_str().unwrap())).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let response = saml_response(&form);
    let xml = String::from_utf8(B64.decode(&response).unwrap()).unwrap();
    assert!(xml.contains("status:RequestDenied"), "{xml}");
    assert!(!xml.contains("Assertion"), "no assertion: {xml}");
    let checked = validate(&metadata, ACS, SP, &response, login["request_id"].as_str());
    assert_eq!(checked["valid"], false);
    let log = sign_ins(&s).await;
    let last = log.last().unwrap();
    assert_eq!(last["activity"], "appAccess");
    assert_eq!(last["result"], "failure");
}

#[tokio::test]
async fn aws_console_roles_follow_active_assignments_of_the_person_and_their_groups() {
    let s = saml_server().await;
    admin_token(&s).await;
    let ada = user(&s, "ada@example.com").await;
    let (st, app) = api(
        &s,
        Method::POST,
        "/api/v1/applications",
        Some(json!({"displayName": "AWS", "settings": {"saml": {"template": "awsConsole", "sessionDuration": 14400}}})),
    )
    .await;
    assert_eq!(st, 201, "{app}");
    assert_eq!(app["appId"], "urn:amazon:webservices");
    assert_eq!(
        app["settings"]["saml"]["assertionConsumerServices"][0]["url"],
        "https://signin.aws.amazon.com/saml"
    );
    let role = |account: &str, name: &str, max: u32| {
        json!({"displayName": format!("{name} in {account}"), "resource": {
            "type": "awsSamlRole", "accountId": account,
            "roleArn": format!("arn:aws:iam::{account}:role/{name}"),
            "samlProviderArn": format!("arn:aws:iam::{account}:saml-provider/Trustplane"),
            "maxSessionDuration": max}})
    };
    let mut ids = Vec::new();
    for (account, name, max) in [
        ("111111111111", "Admin", 3600),
        ("222222222222", "ReadOnly", 43200),
        ("222222222222", "Billing", 43200),
    ] {
        let (st, r) = api(
            &s,
            Method::POST,
            "/api/v1/roleDefinitions",
            Some(role(account, name, max)),
        )
        .await;
        assert_eq!(st, 201, "{r}");
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    // A malformed ARN is refused and nothing is stored.
    let (st, bad) = api(&s, Method::POST, "/api/v1/roleDefinitions", Some(json!({"displayName": "Bad", "resource": {
        "type": "awsSamlRole", "accountId": "111111111111", "roleArn": "arn:aws:iam::999999999999:role/X",
        "samlProviderArn": "arn:aws:iam::111111111111:saml-provider/Trustplane", "maxSessionDuration": 3600}}))).await;
    assert_eq!(st, 400, "{bad}");
    assert!(bad["detail"].as_str().unwrap().contains("roleArn"), "{bad}");

    let group = s
        .store
        .create_group(
            &Actor::system(),
            NewGroup {
                display_name: "Readers".into(),
                is_assignable_to_role: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    s.store
        .add_member(&Actor::system(), &group.id, &ada)
        .await
        .unwrap();
    let assign = |principal: String, role: String, kind: AssignmentKind| NewAssignment {
        principal_id: principal,
        role_definition_id: role,
        directory_scope_id: "/".into(),
        assignment_type: kind,
        start: None,
        end: None,
    };
    for a in [
        assign(ada.clone(), ids[0].clone(), AssignmentKind::Active),
        assign(group.id.clone(), ids[1].clone(), AssignmentKind::Active),
        // Eligible only: not in the assertion until activated.
        assign(ada.clone(), ids[2].clone(), AssignmentKind::Eligible),
    ] {
        s.store
            .create_role_assignment(&Actor::system(), a)
            .await
            .unwrap();
    }

    let metadata = idp_metadata(&s).await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let (_, form) = b.follow("/saml/start/urn:amazon:webservices".into()).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form
        .body
        .contains("action=\"https://signin.aws.amazon.com/saml\""));
    let checked = validate(
        &metadata,
        "https://signin.aws.amazon.com/saml",
        "urn:amazon:webservices",
        &saml_response(&form),
        None,
    );
    assert_eq!(checked["valid"], true, "{checked}");
    assert_eq!(
        checked["attributes"]["https://aws.amazon.com/SAML/Attributes/Role"],
        json!([
            "arn:aws:iam::111111111111:role/Admin,arn:aws:iam::111111111111:saml-provider/Trustplane",
            "arn:aws:iam::222222222222:role/ReadOnly,arn:aws:iam::222222222222:saml-provider/Trustplane"
        ])
    );
    assert_eq!(
        checked["attributes"]["https://aws.amazon.com/SAML/Attributes/RoleSessionName"],
        json!(["ada@example.com"])
    );
    // 4 hours asked for, but the Admin role allows one.
    assert_eq!(
        checked["attributes"]["https://aws.amazon.com/SAML/Attributes/SessionDuration"],
        json!(["3600"])
    );

    // Someone with no AWS role gets no assertion at all.
    user(&s, "bob@example.com").await;
    let mut bob = Browser::new(&s);
    bob.sign_in("bob@example.com").await;
    let (_, page) = bob
        .follow("/saml/start/urn:amazon:webservices".into())
        .await;
    assert_eq!(page.status, 403);
    assert!(!page.body.contains("SAMLResponse"));
}

/// Issue 13 item 6: an elevation of 15 minutes gave a console session of the application's
/// full SessionDuration. SessionDuration is now capped at the time left in the activation
/// that grants the role, and a role with less than AWS's minimum (900 s) left is not offered.
#[tokio::test]
async fn aws_session_duration_never_outlasts_the_activation() {
    let s = saml_server().await;
    admin_token(&s).await;
    let ada = user(&s, "ada@example.com").await;
    let (st, app) = api(
        &s,
        Method::POST,
        "/api/v1/applications",
        Some(json!({"displayName": "AWS", "settings": {"saml": {"template": "awsConsole"}}})),
    )
    .await;
    assert_eq!(st, 201, "{app}");
    let (st, role) = api(&s, Method::POST, "/api/v1/roleDefinitions", Some(json!({"displayName": "Admin (JIT)", "resource": {
        "type": "awsSamlRole", "accountId": "111111111111", "roleArn": "arn:aws:iam::111111111111:role/Admin",
        "samlProviderArn": "arn:aws:iam::111111111111:saml-provider/Trustplane", "maxSessionDuration": 43200}}))).await;
    assert_eq!(st, 201, "{role}");
    let now = s.clock.now_ms();
    // Activated for 25 minutes, as PIM records an activation.
    s.store
        .create_role_assignment(
            &Actor::system(),
            NewAssignment {
                principal_id: ada.clone(),
                role_definition_id: role["id"].as_str().unwrap().into(),
                directory_scope_id: "/".into(),
                assignment_type: AssignmentKind::Active,
                start: Some(now),
                end: Some(now + 25 * 60_000),
            },
        )
        .await
        .unwrap();
    let metadata = idp_metadata(&s).await;
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let (_, form) = b.follow("/saml/start/urn:amazon:webservices".into()).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let checked = validate(
        &metadata,
        "https://signin.aws.amazon.com/saml",
        "urn:amazon:webservices",
        &saml_response(&form),
        None,
    );
    assert_eq!(checked["valid"], true, "{checked}");
    assert_eq!(
        checked["attributes"]["https://aws.amazon.com/SAML/Attributes/SessionDuration"],
        json!(["1500"]),
        "3600 s asked for by default, 25 minutes left in the activation"
    );
    // The session's end is stated too, for clients that ask STS for a longer duration.
    let xml = String::from_utf8(B64.decode(saml_response(&form)).unwrap()).unwrap();
    let end = time::OffsetDateTime::from_unix_timestamp((now + 25 * 60_000) / 1000).unwrap();
    let end = end
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert!(
        xml.contains(&format!(
            "SessionNotOnOrAfter=\"{}\"",
            end.trim_end_matches('Z')
                .split('.')
                .next()
                .unwrap()
                .to_string()
                + "Z"
        )),
        "{xml}"
    );
    // At minute 11, 14 minutes are left: less than AWS's shortest session, so no role.
    s.clock.advance_ms(11 * 60_000);
    let (_, page) = b.follow("/saml/start/urn:amazon:webservices".into()).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(!page.body.contains("SAMLResponse"));
}

/// Issue 13 item 10: the Identity Center template took its NameID from `mail`, which anyone
/// who edits users can set to another person's address. The NameID is now the UPN, `mail` is
/// accepted only when configured and held by one person, and other sources are refused.
#[tokio::test]
async fn a_name_id_cannot_name_someone_else() {
    let s = saml_server().await;
    admin_token(&s).await;
    let intern = user(&s, "intern@example.com").await;
    user(&s, "boss@example.com").await;
    let (st, _) = api(
        &s,
        Method::PATCH,
        "/api/v1/users/boss@example.com",
        Some(json!({"mail": "boss@example.com"})),
    )
    .await;
    assert_eq!(st, 200);
    // The intern is given the boss's address as mail.
    let (st, _) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/users/{intern}"),
        Some(json!({"mail": "boss@example.com"})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, app) = api(
        &s,
        Method::POST,
        "/api/v1/applications",
        Some(
            json!({"displayName": "Identity Center", "appId": SP, "settings": {"saml": {
            "template": "awsIdentityCenter",
            "attributes": [{"name": "displayName", "source": "displayName"}],
            "assertionConsumerServices": [{"url": ACS, "isDefault": true}]}}}),
        ),
    )
    .await;
    assert_eq!(st, 201, "{app}");
    let metadata = idp_metadata(&s).await;
    let mut b = Browser::new(&s);
    b.sign_in("intern@example.com").await;
    let id = app["id"].as_str().unwrap().to_string();
    let (_, form) = b.follow(format!("/saml/start/{id}")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let checked = validate(&metadata, ACS, SP, &saml_response(&form), None);
    assert_eq!(checked["valid"], true, "{checked}");
    assert_eq!(checked["name_id"], "intern@example.com", "{checked}");

    // Configured to name people by mail, a shared address gets no assertion at all.
    let (st, r) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/applications/{id}"),
        Some(json!({"settings": {"saml": {
        "template": "awsIdentityCenter", "nameIdSource": "mail",
        "attributes": [{"name": "displayName", "source": "displayName"}],
        "assertionConsumerServices": [{"url": ACS, "isDefault": true}]}}})),
    )
    .await;
    assert_eq!(st, 200, "{r}");
    let (_, page) = b.follow(format!("/saml/start/{id}")).await;
    let response = saml_response(&page);
    let checked = validate(&metadata, ACS, SP, &response, None);
    assert_eq!(checked["valid"], false, "{checked}");
    let xml = String::from_utf8(B64.decode(&response).unwrap()).unwrap();
    assert!(xml.contains("RequestDenied"), "{xml}");
    assert!(!xml.contains("boss@example.com"), "{xml}");

    // A source anyone can write is refused when saved.
    let (st, r) = api(
        &s,
        Method::PATCH,
        &format!("/api/v1/applications/{id}"),
        Some(json!({"settings": {"saml": {
        "template": "awsIdentityCenter", "nameIdSource": "attributes.employeeId",
        "assertionConsumerServices": [{"url": ACS, "isDefault": true}]}}})),
    )
    .await;
    assert_eq!(st, 400, "{r}");
}

#[tokio::test]
async fn a_rotated_key_signs_new_responses_while_the_old_certificate_stays_published() {
    let s = saml_server().await;
    admin_token(&s).await;
    user(&s, "ada@example.com").await;
    generic_sp(&s).await;
    let before = idp_metadata(&s).await;
    assert_eq!(before.matches("<ds:X509Certificate>").count(), 1);
    let (st, rotated) = api(
        &s,
        Method::POST,
        "/api/v1/saml/signingKeys/rotate",
        Some(json!({"overlapHours": 24})),
    )
    .await;
    assert_eq!(st, 200, "{rotated}");
    let after = idp_metadata(&s).await;
    assert_eq!(after.matches("<ds:X509Certificate>").count(), 2);

    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    let (_, form) = b
        .follow(format!("/saml/start/{}", url_encode_component(SP)))
        .await;
    let response = saml_response(&form);
    // An SP that still only knows the old certificate refuses; one that read the new
    // metadata accepts.
    assert_eq!(validate(&before, ACS, SP, &response, None)["valid"], false);
    assert_eq!(validate(&after, ACS, SP, &response, None)["valid"], true);

    // After the overlap the old certificate is gone from the metadata.
    s.clock.advance_ms(25 * 3600 * 1000);
    let later = reqwest::get(format!("{}/saml/metadata", s.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The ring caches for a minute; the store no longer lists the old key.
    let keys = s.store.signing_keys("saml").await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(later.contains(&keys[0].public_key));
}

fn url_encode_component(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn an_sp_that_needs_mfa_sends_the_person_to_step_up_and_back_to_the_response() {
    let s = saml_server().await;
    admin_token(&s).await;
    user(&s, "ada@example.com").await;
    generic_sp(&s).await;
    add_policy(
        &s,
        policy(
            "MFA for the wiki",
            json!({"includeUsers": ["All"]}),
            SP,
            &["mfa"],
        ),
    )
    .await;
    // This browser signs in with the password only, before any second factor exists.
    let mut b = Browser::new(&s);
    b.sign_in("ada@example.com").await;
    // She registers an authenticator app in another browser; this session stays single-factor.
    let mut other = Browser::new(&s);
    other.sign_in("ada@example.com").await;
    let uri = enrol_totp(&mut other, &s).await;
    let metadata = idp_metadata(&s).await;
    let login = peer(json!({
        "command": "login", "idp_metadata": metadata, "sp_entity_id": SP, "acs_url": ACS
    }));
    let sso = local(login["url"].as_str().unwrap());
    let step = b.get(&sso).await;
    assert_eq!(step.status, 303);
    let resume = step.location.unwrap();
    let verify = b.get(&resume).await;
    assert_eq!(verify.status, 303, "{}", verify.body);
    let verify_at = verify.location.unwrap();
    assert!(
        verify_at.starts_with("/account/verify?next="),
        "{verify_at}"
    );
    // No response was posted before the step-up.
    assert!(!verify.body.contains("SAMLResponse"));
    let page = b.get(&verify_at).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let next = percent_decode(verify_at.split_once("next=").unwrap().1);
    // A new TOTP step, so the code is not the one used at enrolment.
    s.clock.advance_ms(30_000);
    let code = pyotp(&uri, s.clock.now_ms());
    let csrf = Browser::csrf(&page);
    let done = b
        .post(
            "/account/verify",
            &[
                ("csrf", &csrf),
                ("method", "totp"),
                ("code", &code),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let (_, form) = b.follow(done.location.unwrap()).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let checked = validate(
        &metadata,
        ACS,
        SP,
        &saml_response(&form),
        login["request_id"].as_str(),
    );
    assert_eq!(checked["valid"], true, "{checked}");
}
