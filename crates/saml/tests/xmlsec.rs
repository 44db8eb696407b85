//! Signed responses checked by xmlsec1 (libxml2's canonicaliser and OpenSSL's RSA), an
//! implementation that shares nothing with this crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use trustplane_saml::{build_response, build_status_response, Refusal, StatusParams};

const XMLSEC1: &str = "/usr/bin/xmlsec1";

/// `xmlsec1 --verify` with the IdP certificate; true if the signature(s) verify.
fn xmlsec_verify(dir: &Path, xml: &str) -> (bool, String) {
    let cert = dir.join("idp.pem");
    std::fs::write(&cert, idp_key().certificate().to_pem()).unwrap();
    let file = dir.join("response.xml");
    std::fs::write(&file, xml).unwrap();
    let output = Command::new(XMLSEC1)
        .args(["--verify", "--pubkey-cert-pem"])
        .arg(&cert)
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:protocol:Response",
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
        ])
        .arg(&file)
        .output()
        .expect("xmlsec1 is installed at /usr/bin/xmlsec1");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The response after one attribute value was changed.
fn tampered(xml: &str) -> String {
    let changed = xml.replacen(
        "<saml:AttributeValue>Cloud Admins</saml:AttributeValue>",
        "<saml:AttributeValue>Cloud Owners</saml:AttributeValue>",
        1,
    );
    assert_ne!(changed, xml, "the attribute to tamper with is present");
    changed
}

fn check_signed(sign_assertion: bool, sign_response: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut params = sample_params(fixed_now());
    params.sign_assertion = sign_assertion;
    params.sign_response = sign_response;
    let xml = build_response(&params, idp_key()).unwrap();
    assert_eq!(
        xml.matches("<ds:Signature ").count(),
        usize::from(sign_assertion) + usize::from(sign_response)
    );

    let (ok, log) = xmlsec_verify(dir.path(), &xml);
    assert!(ok, "xmlsec1 refused a good response: {log}");
    let (ok, _) = xmlsec_verify(dir.path(), &tampered(&xml));
    assert!(!ok, "xmlsec1 accepted a tampered response");
}

#[test]
fn response_signed_only_on_the_response() {
    check_signed(false, true);
}

#[test]
fn response_signed_only_on_the_assertion() {
    check_signed(true, false);
}

#[test]
fn response_and_assertion_both_signed() {
    check_signed(true, true);
}

#[test]
fn unsigned_response_has_no_signature_for_xmlsec() {
    let dir = tempfile::tempdir().unwrap();
    let mut params = sample_params(fixed_now());
    params.sign_assertion = false;
    let xml = build_response(&params, idp_key()).unwrap();
    assert!(!xml.contains("Signature"));
    let (ok, _) = xmlsec_verify(dir.path(), &xml);
    assert!(!ok);
}

#[test]
fn escaping_survives_canonicalisation() {
    // Values with every character canonical XML escapes, in text and in attributes.
    let dir = tempfile::tempdir().unwrap();
    let mut params = sample_params(fixed_now());
    params.sign_response = true;
    params.name_id = "a&b<c>d\"e'f\r\n\tg é 😀".into();
    params.destination = "https://sp.example.test/acs?a=1&b=\"<>\"\t\r\n".into();
    params.attributes[0].values = vec!["\r\n  spaced  \t".into(), String::new()];
    let xml = build_response(&params, idp_key()).unwrap();
    let (ok, log) = xmlsec_verify(dir.path(), &xml);
    assert!(ok, "xmlsec1 refused: {log}");
}

#[test]
fn signed_with_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let xml = build_response(&sample_params(fixed_now()), other_key()).unwrap();
    let (ok, _) = xmlsec_verify(dir.path(), &xml);
    assert!(!ok);
}

#[test]
fn refusal_response_is_signed() {
    let dir = tempfile::tempdir().unwrap();
    let params = StatusParams {
        response_id: trustplane_saml::new_id().unwrap(),
        issue_instant: fixed_now(),
        issuer: IDP_ENTITY.into(),
        destination: ACS_URL.into(),
        in_response_to: Some("_r1".into()),
        refusal: Refusal::RequestDenied,
        message: Some("not assigned to this application".into()),
    };
    let xml = build_status_response(&params, idp_key()).unwrap();
    assert!(xml.contains(
        "<samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Responder\"><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:RequestDenied\">"
    ));
    assert!(!xml.contains("Assertion"));
    let (ok, log) = xmlsec_verify(dir.path(), &xml);
    assert!(ok, "xmlsec1 refused: {log}");
    let (ok, _) = xmlsec_verify(dir.path(), &xml.replace("RequestDenied", "AuthnFailed"));
    assert!(!ok);
}

#[test]
fn generated_certificate_reads_in_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("idp.pem");
    std::fs::write(&cert, idp_key().certificate().to_pem()).unwrap();
    let output = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("Version: 3"), "{text}");
    assert!(text.contains("sha256WithRSAEncryption"), "{text}");
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
    assert!(text.contains("CN=idp.trustplane.test") || text.contains("CN = idp.trustplane.test"));
    assert!(text.contains("CA:FALSE"), "{text}");
    assert!(text.contains("Digital Signature"), "{text}");
    // Self-signed: OpenSSL checks the signature with the certificate's own key.
    let verify = Command::new("openssl")
        .args(["verify", "-partial_chain", "-check_ss_sig", "-CAfile"])
        .arg(&cert)
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}
