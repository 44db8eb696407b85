//! Shared by the integration tests: one IdP key per test binary, sample responses, and the
//! python3-saml peer.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use base64::Engine as _;
use time::{Duration, OffsetDateTime};
use trustplane_saml::{Attribute, IdpMetadata, ResponseParams, SigningKey};

pub const IDP_ENTITY: &str = "https://idp.trustplane.test/saml";
pub const SSO_URL: &str = "https://idp.trustplane.test/saml/sso";
pub const SP_ENTITY: &str = "https://sp.example.test/metadata";
pub const ACS_URL: &str = "https://sp.example.test/acs";
pub const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// A fixed instant, for tests that need no peer's clock.
pub fn fixed_now() -> OffsetDateTime {
    time::macros::datetime!(2026-11-28 19:00:00 UTC)
}

pub fn idp_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let now = OffsetDateTime::now_utc();
        SigningKey::generate(
            "idp.trustplane.test",
            now - Duration::days(1),
            now + Duration::days(365),
        )
        .expect("key generation")
    })
}

/// A second key pair, for SPs and for "wrong certificate" checks.
pub fn other_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let now = OffsetDateTime::now_utc();
        SigningKey::generate(
            "sp.example.test",
            now - Duration::days(1),
            now + Duration::days(365),
        )
        .expect("key generation")
    })
}

pub fn idp_metadata() -> String {
    IdpMetadata {
        entity_id: IDP_ENTITY.into(),
        sso_url: SSO_URL.into(),
        signing_certificates: vec![idp_key().certificate_der().to_vec()],
        name_id_formats: vec![EMAIL_FORMAT.into()],
    }
    .to_xml()
}

/// A response with six attributes (one multi-valued), valid for five minutes from `now`.
pub fn sample_params(now: OffsetDateTime) -> ResponseParams {
    let attribute = |name: &str, values: &[&str]| Attribute {
        name: name.into(),
        name_format: Some("urn:oasis:names:tc:SAML:2.0:attrname-format:basic".into()),
        friendly_name: None,
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    };
    ResponseParams {
        response_id: trustplane_saml::new_id().unwrap(),
        assertion_id: trustplane_saml::new_id().unwrap(),
        issue_instant: now,
        issuer: IDP_ENTITY.into(),
        destination: ACS_URL.into(),
        in_response_to: Some("ONELOGIN_request_1".into()),
        audience: SP_ENTITY.into(),
        name_id: "ada@example.com".into(),
        name_id_format: EMAIL_FORMAT.into(),
        session_index: "_session1".into(),
        session_not_on_or_after: Some(now + Duration::hours(8)),
        authn_instant: now - Duration::seconds(5),
        authn_context_class_ref:
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport".into(),
        not_before: now - Duration::minutes(1),
        not_on_or_after: now + Duration::minutes(5),
        attributes: vec![
            attribute("email", &["ada@example.com"]),
            attribute("displayName", &["Ada Lovelace"]),
            attribute("groups", &["Cloud Admins", "R&D <core>", "staff"]),
            attribute("department", &["R&D"]),
            attribute("employeeId", &["1815"]),
            Attribute {
                name: "https://aws.amazon.com/SAML/Attributes/RoleSessionName".into(),
                name_format: Some("urn:oasis:names:tc:SAML:2.0:attrname-format:uri".into()),
                friendly_name: Some("Role \"session\" name\t&\r\nmore".into()),
                values: vec!["ada@example.com".into()],
            },
        ],
        sign_assertion: true,
        sign_response: false,
    }
}

pub fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// PKCS#8 PEM of a key, for tools.
pub fn key_pem(key: &SigningKey) -> String {
    let b64 = b64(key.pkcs8_der());
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

/// The python3-saml interpreter, or `None` (with a notice) when `TRUSTPLANE_SKIP_PYTHON=1`.
pub fn python() -> Option<PathBuf> {
    if std::env::var("TRUSTPLANE_SKIP_PYTHON").as_deref() == Ok("1") {
        eprintln!("TRUSTPLANE_SKIP_PYTHON=1: skipping the python3-saml interoperability test");
        return None;
    }
    Some(
        std::env::var_os("TRUSTPLANE_TEST_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/root/.cache/trustplane-venv/bin/python")),
    )
}

/// Runs one command of `tests/python/onelogin_peer.py` and returns its JSON answer.
pub fn onelogin(python: &PathBuf, command: serde_json::Value) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/onelogin_peer.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(command.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "python3-saml peer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}
