//! The shape of built responses, and the values builders refuse.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use trustplane_saml::{
    build_response, build_status_response, post_form, Refusal, SamlError, StatusParams,
};

#[test]
fn sp_initiated_response_carries_every_part() {
    let params = sample_params(fixed_now());
    let xml = build_response(&params, idp_key()).unwrap();
    for part in [
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" Destination=\"https://sp.example.test/acs\"",
        " InResponseTo=\"ONELOGIN_request_1\" IssueInstant=\"2026-11-28T19:00:00Z\" Version=\"2.0\">",
        "<samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\">",
        "<saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">ada@example.com</saml:NameID>",
        "<saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\"><saml:SubjectConfirmationData InResponseTo=\"ONELOGIN_request_1\" NotOnOrAfter=\"2026-11-28T19:05:00Z\" Recipient=\"https://sp.example.test/acs\">",
        "<saml:Conditions NotBefore=\"2026-11-28T18:59:00Z\" NotOnOrAfter=\"2026-11-28T19:05:00Z\"><saml:AudienceRestriction><saml:Audience>https://sp.example.test/metadata</saml:Audience>",
        "<saml:AuthnStatement AuthnInstant=\"2026-11-28T18:59:55Z\" SessionIndex=\"_session1\" SessionNotOnOrAfter=\"2026-11-29T03:00:00Z\">",
        "<saml:AttributeValue>Cloud Admins</saml:AttributeValue><saml:AttributeValue>R&amp;D &lt;core&gt;</saml:AttributeValue><saml:AttributeValue>staff</saml:AttributeValue>",
        "FriendlyName=\"Role &quot;session&quot; name&#x9;&amp;&#xD;&#xA;more\"",
        "<ds:Reference URI=\"#",
        "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></ds:Transform><ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"></ds:Transform>",
        "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\">",
        "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\">",
    ] {
        assert!(xml.contains(part), "missing {part}\nin {xml}");
    }
    assert!(xml.contains(&format!(
        "<ds:X509Certificate>{}</ds:X509Certificate>",
        idp_key().certificate_base64()
    )));
    // The assertion's signature sits right after its Issuer, as the schema orders it.
    assert!(xml.contains(&format!(
        "<saml:Issuer>{IDP_ENTITY}</saml:Issuer><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"
    )));
    assert!(xml.contains(&format!("<ds:Reference URI=\"#{}\">", params.assertion_id)));
}

#[test]
fn idp_initiated_response_has_no_in_response_to() {
    let mut params = sample_params(fixed_now());
    params.in_response_to = None;
    params.session_not_on_or_after = None;
    params.attributes.clear();
    let xml = build_response(&params, idp_key()).unwrap();
    assert!(!xml.contains("InResponseTo"));
    assert!(!xml.contains("SessionNotOnOrAfter"));
    // The schema wants at least one attribute in a statement, so none means no statement.
    assert!(!xml.contains("AttributeStatement"));
}

#[test]
fn refuses_values_xml_cannot_carry() {
    let mut params = sample_params(fixed_now());
    params.attributes[1].values.push("bell\u{7}".into());
    assert_eq!(
        build_response(&params, idp_key()).unwrap_err(),
        SamlError::UnrepresentableChar("attribute value")
    );
    let mut params = sample_params(fixed_now());
    params.name_id = "nul\0".into();
    assert_eq!(
        build_response(&params, idp_key()).unwrap_err(),
        SamlError::UnrepresentableChar("name_id")
    );
    let mut params = sample_params(fixed_now());
    params.assertion_id = "1-starts-with-a-digit".into();
    assert!(matches!(
        build_response(&params, idp_key()),
        Err(SamlError::InvalidValue {
            what: "assertion_id",
            ..
        })
    ));
    let mut params = sample_params(fixed_now());
    params.assertion_id = params.response_id.clone();
    assert!(matches!(
        build_response(&params, idp_key()),
        Err(SamlError::Invalid(_))
    ));
    let mut params = sample_params(fixed_now());
    params.not_on_or_after = time::Date::from_calendar_date(-1, time::Month::January, 1)
        .unwrap()
        .midnight()
        .assume_utc();
    assert_eq!(
        build_response(&params, idp_key()).unwrap_err(),
        SamlError::TimeOutOfRange("NotOnOrAfter")
    );
}

#[test]
fn refusals_carry_no_assertion() {
    let params = StatusParams {
        response_id: "_refusal".into(),
        issue_instant: fixed_now(),
        issuer: IDP_ENTITY.into(),
        destination: ACS_URL.into(),
        in_response_to: None,
        refusal: Refusal::AuthnFailed,
        message: Some("a < b & c".into()),
    };
    let xml = build_status_response(&params, idp_key()).unwrap();
    assert!(xml.contains("<samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Responder\"><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:AuthnFailed\"></samlp:StatusCode></samlp:StatusCode><samlp:StatusMessage>a &lt; b &amp; c</samlp:StatusMessage>"));
    assert!(!xml.contains("Assertion"));
    assert!(!xml.contains("InResponseTo"));
    assert!(xml.contains("<ds:Reference URI=\"#_refusal\">"));
    let bad = StatusParams {
        message: Some("\u{1}".into()),
        ..params
    };
    assert_eq!(
        build_status_response(&bad, idp_key()).unwrap_err(),
        SamlError::UnrepresentableChar("message")
    );
}

#[test]
fn post_form_carries_the_response() {
    let xml = build_response(&sample_params(fixed_now()), idp_key()).unwrap();
    let encoded = b64(xml.as_bytes());
    let html = post_form(ACS_URL, &encoded, Some("state&1"), "r4nd0m");
    assert!(html.contains(&format!(
        "<form id=\"saml-post\" method=\"post\" action=\"{ACS_URL}\">"
    )));
    assert!(html.contains(&format!("name=\"SAMLResponse\" value=\"{encoded}\"")));
    assert!(html.contains("name=\"RelayState\" value=\"state&amp;1\""));
    assert!(html.contains("<script nonce=\"r4nd0m\">"));
}
