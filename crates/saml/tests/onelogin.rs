//! Interoperability with OneLogin's python3-saml 1.16 acting as the SP: it is configured from
//! our IdP metadata, validates our responses (schema, signatures, audience, times,
//! InResponseTo), and produces the AuthnRequests and SP metadata we parse.
//!
//! Set `TRUSTPLANE_TEST_PYTHON` to the interpreter with python3-saml (default: the project's
//! venv), or `TRUSTPLANE_SKIP_PYTHON=1` to skip with a notice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use trustplane_saml::{
    build_response, build_status_response, parse_post, parse_redirect, Certificate, Refusal,
    SamlError, SpMetadata, StatusParams,
};

fn validate(python: &std::path::PathBuf, xml: &str, request_id: &str, extra: Value) -> Value {
    let mut command = json!({
        "command": "validate",
        "idp_metadata": idp_metadata(),
        "sp_entity_id": SP_ENTITY,
        "acs_url": ACS_URL,
        "response_b64": b64(xml.as_bytes()),
        "request_id": request_id,
    });
    if let (Some(command), Some(extra)) = (command.as_object_mut(), extra.as_object()) {
        command.extend(extra.clone());
    }
    onelogin(python, command)
}

fn assert_refused(answer: &Value, reason: &str) {
    assert_eq!(answer["valid"], false, "{answer}");
    let error = answer["error"].as_str().unwrap_or_default();
    assert!(error.contains(reason), "expected {reason:?}, got {error:?}");
}

#[test]
fn onelogin_accepts_good_responses_and_refuses_bad_ones() {
    let Some(python) = python() else { return };
    // python3-saml checks times against the system clock, so these use it too.
    let now = OffsetDateTime::now_utc();
    let request_id = "ONELOGIN_request_1";

    for (sign_assertion, sign_response) in [(true, false), (false, true), (true, true)] {
        let mut params = sample_params(now);
        params.sign_assertion = sign_assertion;
        params.sign_response = sign_response;
        let xml = build_response(&params, idp_key()).unwrap();
        let extra = json!({
            "want_assertions_signed": sign_assertion,
            "want_messages_signed": sign_response,
        });
        let answer = validate(&python, &xml, request_id, extra);
        assert_eq!(
            answer["valid"], true,
            "{sign_assertion} {sign_response}: {answer}"
        );
        assert_eq!(answer["name_id"], "ada@example.com");
        assert_eq!(answer["session_index"], "_session1");
        assert_eq!(
            answer["attributes"]["groups"],
            json!(["Cloud Admins", "R&D <core>", "staff"])
        );
        assert_eq!(answer["attributes"]["department"], json!(["R&D"]));
        assert_eq!(answer["attributes"].as_object().map(|a| a.len()), Some(6));
    }

    let good = sample_params(now);

    // One attribute value changed after signing.
    let xml = build_response(&good, idp_key()).unwrap();
    let altered = xml.replacen(">Cloud Admins<", ">Cloud Owners<", 1);
    assert_ne!(altered, xml);
    let answer = validate(
        &python,
        &altered,
        request_id,
        json!({"want_assertions_signed": true}),
    );
    assert_refused(&answer, "Signature validation failed");

    // Signed for another SP.
    let mut params = good.clone();
    params.audience = "https://other-sp.example.test".into();
    let xml = build_response(&params, idp_key()).unwrap();
    let answer = validate(&python, &xml, request_id, json!({}));
    assert_refused(&answer, "is not a valid audience for this Response");

    // Expired: issued ten minutes ago with a five-minute window.
    let params = sample_params(now - Duration::minutes(10));
    let xml = build_response(&params, idp_key()).unwrap();
    let answer = validate(&python, &xml, request_id, json!({}));
    assert_refused(&answer, "Could not validate timestamp: expired");

    // Answering another request.
    let xml = build_response(&good, idp_key()).unwrap();
    let answer = validate(&python, &xml, "ONELOGIN_other_request", json!({}));
    assert_refused(&answer, "InResponseTo");

    // Signed by a key the metadata does not publish.
    let xml = build_response(&good, other_key()).unwrap();
    let answer = validate(
        &python,
        &xml,
        request_id,
        json!({"want_assertions_signed": true}),
    );
    assert_refused(&answer, "Signature validation failed");

    // Unsigned while the SP wants signed assertions.
    let mut params = good.clone();
    params.sign_assertion = false;
    let xml = build_response(&params, idp_key()).unwrap();
    let answer = validate(
        &python,
        &xml,
        request_id,
        json!({"want_assertions_signed": true}),
    );
    assert_refused(&answer, "The Assertion of the Response is not signed");
}

#[test]
fn onelogin_reads_a_refusal() {
    let Some(python) = python() else { return };
    let params = StatusParams {
        response_id: trustplane_saml::new_id().unwrap(),
        issue_instant: OffsetDateTime::now_utc(),
        issuer: IDP_ENTITY.into(),
        destination: ACS_URL.into(),
        in_response_to: Some("ONELOGIN_request_1".into()),
        refusal: Refusal::RequestDenied,
        message: Some("not assigned".into()),
    };
    let xml = build_status_response(&params, idp_key()).unwrap();
    let answer = validate(&python, &xml, "ONELOGIN_request_1", json!({}));
    // python3-saml reports the StatusMessage when there is one, else the second-level code.
    assert_refused(&answer, "was Responder -> not assigned");

    let params = StatusParams {
        refusal: Refusal::AuthnFailed,
        message: None,
        ..params
    };
    let xml = build_status_response(&params, idp_key()).unwrap();
    let answer = validate(&python, &xml, "ONELOGIN_request_1", json!({}));
    assert_refused(
        &answer,
        "was Responder -> urn:oasis:names:tc:SAML:2.0:status:AuthnFailed",
    );
}

#[test]
fn onelogin_signed_redirect_request_parses_and_verifies() {
    let Some(python) = python() else { return };
    let sp = other_key();
    let answer = onelogin(
        &python,
        json!({
            "command": "login",
            "idp_metadata": idp_metadata(),
            "sp_entity_id": SP_ENTITY,
            "acs_url": ACS_URL,
            "sp_cert": sp.certificate_base64(),
            "sp_key": key_pem(sp),
            "relay_state": "https://sp.example.test/after?x=1&y=2 z",
        }),
    );
    let url = answer["url"].as_str().unwrap();
    let (endpoint, query) = url.split_once('?').unwrap();
    assert_eq!(endpoint, SSO_URL);

    let parsed = parse_redirect(query).unwrap();
    let request = &parsed.request;
    assert_eq!(request.id, answer["request_id"].as_str().unwrap());
    assert_eq!(request.issuer, SP_ENTITY);
    assert_eq!(request.destination.as_deref(), Some(SSO_URL));
    assert_eq!(request.acs_url.as_deref(), Some(ACS_URL));
    assert_eq!(
        request.protocol_binding.as_deref(),
        Some(trustplane_saml::BINDING_POST)
    );
    assert_eq!(request.name_id_format.as_deref(), Some(EMAIL_FORMAT));
    assert!(!request.force_authn && !request.is_passive);
    assert_eq!(
        parsed.relay_state.as_deref(),
        Some("https://sp.example.test/after?x=1&y=2 z")
    );

    let signature = parsed.signature.as_ref().expect("python3-saml signed it");
    assert_eq!(signature.algorithm, trustplane_saml::ALG_RSA_SHA256);
    let sp_cert = Certificate::from_der(sp.certificate_der()).unwrap();
    signature.verify(std::slice::from_ref(&sp_cert)).unwrap();
    // Another certificate.
    assert_eq!(
        signature.verify(&[idp_key().certificate().clone()]),
        Err(SamlError::BadSignature(1))
    );
    // A rollover list containing the right one.
    signature
        .verify(&[idp_key().certificate().clone(), sp_cert.clone()])
        .unwrap();

    // A modified query: another RelayState, same signature.
    let modified = query.replacen("RelayState=", "RelayState=evil", 1);
    let parsed = parse_redirect(&modified).unwrap();
    assert_eq!(
        parsed
            .signature
            .unwrap()
            .verify(std::slice::from_ref(&sp_cert)),
        Err(SamlError::BadSignature(1))
    );
    // The RelayState removed.
    let without_relay: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with("RelayState="))
        .collect();
    let parsed = parse_redirect(&without_relay.join("&")).unwrap();
    assert!(parsed
        .signature
        .unwrap()
        .verify(std::slice::from_ref(&sp_cert))
        .is_err());
}

#[test]
fn onelogin_signed_post_request_verifies() {
    let Some(python) = python() else { return };
    let sp = other_key();
    let answer = onelogin(
        &python,
        json!({
            "command": "post_request",
            "idp_metadata": idp_metadata(),
            "sp_entity_id": SP_ENTITY,
            "acs_url": ACS_URL,
            "sp_cert": sp.certificate_base64(),
            "sp_key": key_pem(sp),
        }),
    );
    let xml = answer["xml"].as_str().unwrap();
    let sp_cert = Certificate::from_der(sp.certificate_der()).unwrap();

    let parsed = parse_post(&b64(xml.as_bytes()), Some("relay")).unwrap();
    assert_eq!(parsed.request.id, answer["request_id"].as_str().unwrap());
    assert_eq!(parsed.request.issuer, SP_ENTITY);
    assert_eq!(parsed.relay_state.as_deref(), Some("relay"));
    let signature = parsed.signature.expect("the request is signed");
    signature.verify(std::slice::from_ref(&sp_cert)).unwrap();
    assert_eq!(
        signature.verify(&[idp_key().certificate().clone()]),
        Err(SamlError::BadSignature(1))
    );

    // The ACS URL changed after signing: the digest no longer matches.
    let altered = xml.replacen(ACS_URL, "https://evil.example.test/acs", 1);
    assert_ne!(altered, xml);
    let parsed = parse_post(&b64(altered.as_bytes()), None).unwrap();
    assert_eq!(
        parsed
            .signature
            .unwrap()
            .verify(std::slice::from_ref(&sp_cert)),
        Err(SamlError::DigestMismatch)
    );

    // Another issuer, written into the signed text.
    let altered = xml.replacen(&format!(">{SP_ENTITY}<"), ">https://evil.example.test<", 1);
    assert_ne!(altered, xml);
    let parsed = parse_post(&b64(altered.as_bytes()), None).unwrap();
    assert_eq!(
        parsed
            .signature
            .unwrap()
            .verify(std::slice::from_ref(&sp_cert)),
        Err(SamlError::DigestMismatch)
    );
}

#[test]
fn onelogin_sp_metadata_parses() {
    let Some(python) = python() else { return };
    let sp = other_key();
    let answer = onelogin(
        &python,
        json!({
            "command": "sp_metadata",
            "idp_metadata": idp_metadata(),
            "sp_entity_id": SP_ENTITY,
            "acs_url": ACS_URL,
            "sp_cert": sp.certificate_base64(),
            "sp_key": key_pem(sp),
        }),
    );
    assert_eq!(answer["errors"], json!([]));
    let metadata = SpMetadata::parse(answer["xml"].as_str().unwrap()).unwrap();
    assert_eq!(metadata.entity_id, SP_ENTITY);
    assert!(metadata.authn_requests_signed);
    assert!(!metadata.want_assertions_signed);
    assert_eq!(metadata.name_id_formats, vec![EMAIL_FORMAT.to_owned()]);
    let acs = metadata.default_acs().unwrap();
    assert_eq!(acs.location, ACS_URL);
    assert_eq!(acs.binding, trustplane_saml::BINDING_POST);
    assert_eq!(
        metadata.signing_certificates,
        vec![Certificate::from_der(sp.certificate_der()).unwrap()]
    );
}
