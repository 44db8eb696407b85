//! Signed `samlp:Response` messages for the Web Browser SSO profile (SAML 2.0 profiles §4.1).
//!
//! The XML is written directly in exclusive canonical form (no whitespace between elements,
//! attributes in canonical order, each namespace declared where it is first used), so the
//! bytes sent are the bytes digested and no canonicaliser runs on the signing path.

use time::OffsetDateTime;

use crate::dsig::Splittable;
use crate::error::{Result, SamlError};
use crate::keys::SigningKey;
use crate::xml::{
    check_chars, format_instant, push_attr_value, push_text, NS_ASSERTION, NS_PROTOCOL,
};

/// Everything a successful response says. Times are absolute; the caller's clock picks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseParams {
    /// `Response/@ID`, from [`new_id`].
    pub response_id: String,
    /// `Assertion/@ID`, from [`new_id`].
    pub assertion_id: String,
    /// `IssueInstant` of both the response and the assertion.
    pub issue_instant: OffsetDateTime,
    /// The IdP's entity ID.
    pub issuer: String,
    /// The ACS URL the response is posted to (`Destination` and the bearer `Recipient`).
    pub destination: String,
    /// The AuthnRequest's ID when SP-initiated; `None` for IdP-initiated.
    pub in_response_to: Option<String>,
    /// The SP's entity ID.
    pub audience: String,
    /// The subject's `NameID` value.
    pub name_id: String,
    /// The `NameID` format, e.g. `urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress`.
    pub name_id_format: String,
    /// `AuthnStatement/@SessionIndex`.
    pub session_index: String,
    /// `AuthnStatement/@SessionNotOnOrAfter`.
    pub session_not_on_or_after: Option<OffsetDateTime>,
    /// When the person authenticated.
    pub authn_instant: OffsetDateTime,
    /// e.g. `urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport`.
    pub authn_context_class_ref: String,
    /// `Conditions/@NotBefore`.
    pub not_before: OffsetDateTime,
    /// `Conditions/@NotOnOrAfter`, also the bearer confirmation's `NotOnOrAfter`.
    pub not_on_or_after: OffsetDateTime,
    /// The attribute statement; left out when empty.
    pub attributes: Vec<Attribute>,
    /// Sign the assertion.
    pub sign_assertion: bool,
    /// Sign the response (after the assertion, so the assertion's signature is covered).
    pub sign_response: bool,
}

/// One `saml:Attribute`, possibly multi-valued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// `Name`, e.g. `https://aws.amazon.com/SAML/Attributes/Role`.
    pub name: String,
    /// `NameFormat`, e.g. `urn:oasis:names:tc:SAML:2.0:attrname-format:uri`.
    pub name_format: Option<String>,
    /// `FriendlyName`.
    pub friendly_name: Option<String>,
    /// One `AttributeValue` each (plain text, no `xsi:type`).
    pub values: Vec<String>,
}

/// Why a request is refused, written as the second-level status under `Responder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `RequestDenied`: the IdP will not answer (no access to the application, policy).
    RequestDenied,
    /// `AuthnFailed`: the person could not be authenticated (e.g. `IsPassive` without a
    /// session).
    AuthnFailed,
    /// `NoPassive`: `IsPassive` was asked and the person would have to interact.
    NoPassive,
}

impl Refusal {
    fn uri(self) -> &'static str {
        match self {
            Refusal::RequestDenied => "urn:oasis:names:tc:SAML:2.0:status:RequestDenied",
            Refusal::AuthnFailed => "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed",
            Refusal::NoPassive => "urn:oasis:names:tc:SAML:2.0:status:NoPassive",
        }
    }
}

/// A response that carries a refusal and no assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusParams {
    /// `Response/@ID`, from [`new_id`].
    pub response_id: String,
    /// `IssueInstant`.
    pub issue_instant: OffsetDateTime,
    /// The IdP's entity ID.
    pub issuer: String,
    /// The ACS URL.
    pub destination: String,
    /// The AuthnRequest's ID, if there was one.
    pub in_response_to: Option<String>,
    /// The second-level status code.
    pub refusal: Refusal,
    /// A `StatusMessage` for the SP's logs; never put secrets or internal reasons here.
    pub message: Option<String>,
}

const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const STATUS_RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";
const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// A fresh message ID: `_` and 160 random bits in hex (an `xs:ID` must not start with a digit).
pub fn new_id() -> Result<String> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 20];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| SamlError::Random)?;
    let mut id = String::with_capacity(41);
    id.push('_');
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    Ok(id)
}

/// Builds the `samlp:Response` XML with one assertion, signed as `params` asks. Base64 it for
/// the HTTP-POST binding ([`crate::binding::post_form`]).
pub fn build_response(params: &ResponseParams, key: &SigningKey) -> Result<String> {
    check_params(params)?;
    let issue_instant = format_instant("IssueInstant", params.issue_instant)?;

    let assertion = assertion(params, &issue_instant)?;
    let assertion = if params.sign_assertion {
        assertion.sign(&params.assertion_id, key)?
    } else {
        assertion.join(None)
    };

    let mut head = String::with_capacity(512);
    response_start(
        &mut head,
        &params.response_id,
        &issue_instant,
        &params.destination,
        params.in_response_to.as_deref(),
        &params.issuer,
    );
    let mut tail = String::with_capacity(assertion.len() + 200);
    tail.push_str("<samlp:Status><samlp:StatusCode Value=\"");
    tail.push_str(STATUS_SUCCESS);
    tail.push_str("\"></samlp:StatusCode></samlp:Status>");
    tail.push_str(&assertion);
    tail.push_str("</samlp:Response>");

    let response = Splittable { head, tail };
    if params.sign_response {
        response.sign(&params.response_id, key)
    } else {
        Ok(response.join(None))
    }
}

/// Builds a signed `samlp:Response` with top-level status `Responder`, the refusal as the
/// second-level status, and no assertion.
pub fn build_status_response(params: &StatusParams, key: &SigningKey) -> Result<String> {
    for (field, value) in [
        ("response_id", params.response_id.as_str()),
        ("issuer", &params.issuer),
        ("destination", &params.destination),
        (
            "in_response_to",
            params.in_response_to.as_deref().unwrap_or(""),
        ),
        ("message", params.message.as_deref().unwrap_or("")),
    ] {
        check_chars(field, value)?;
    }
    check_id("response_id", &params.response_id)?;
    let issue_instant = format_instant("IssueInstant", params.issue_instant)?;
    let mut head = String::with_capacity(512);
    response_start(
        &mut head,
        &params.response_id,
        &issue_instant,
        &params.destination,
        params.in_response_to.as_deref(),
        &params.issuer,
    );
    let mut tail = String::with_capacity(400);
    tail.push_str("<samlp:Status><samlp:StatusCode Value=\"");
    tail.push_str(STATUS_RESPONDER);
    tail.push_str("\"><samlp:StatusCode Value=\"");
    tail.push_str(params.refusal.uri());
    tail.push_str("\"></samlp:StatusCode></samlp:StatusCode>");
    if let Some(message) = &params.message {
        tail.push_str("<samlp:StatusMessage>");
        push_text(&mut tail, message);
        tail.push_str("</samlp:StatusMessage>");
    }
    tail.push_str("</samlp:Status></samlp:Response>");
    Splittable { head, tail }.sign(&params.response_id, key)
}

/// `<samlp:Response ...><saml:Issuer>..</saml:Issuer>`: attributes in canonical (code point)
/// order, `samlp` declared on the response and `saml` on the issuer, where each is first used.
fn response_start(
    out: &mut String,
    id: &str,
    issue_instant: &str,
    destination: &str,
    in_response_to: Option<&str>,
    issuer: &str,
) {
    out.push_str("<samlp:Response xmlns:samlp=\"");
    out.push_str(NS_PROTOCOL);
    out.push_str("\" Destination=\"");
    push_attr_value(out, destination);
    out.push_str("\" ID=\"");
    push_attr_value(out, id);
    if let Some(in_response_to) = in_response_to {
        out.push_str("\" InResponseTo=\"");
        push_attr_value(out, in_response_to);
    }
    out.push_str("\" IssueInstant=\"");
    out.push_str(issue_instant);
    out.push_str("\" Version=\"2.0\">");
    issuer_element(out, issuer);
}

fn issuer_element(out: &mut String, issuer: &str) {
    out.push_str("<saml:Issuer xmlns:saml=\"");
    out.push_str(NS_ASSERTION);
    out.push_str("\">");
    push_text(out, issuer);
    out.push_str("</saml:Issuer>");
}

/// The assertion in canonical form, split after its `Issuer` for the signature.
fn assertion(params: &ResponseParams, issue_instant: &str) -> Result<Splittable> {
    let mut head = String::with_capacity(400);
    head.push_str("<saml:Assertion xmlns:saml=\"");
    head.push_str(NS_ASSERTION);
    head.push_str("\" ID=\"");
    push_attr_value(&mut head, &params.assertion_id);
    head.push_str("\" IssueInstant=\"");
    head.push_str(issue_instant);
    head.push_str("\" Version=\"2.0\"><saml:Issuer>");
    push_text(&mut head, &params.issuer);
    head.push_str("</saml:Issuer>");

    let not_on_or_after = format_instant("NotOnOrAfter", params.not_on_or_after)?;
    let mut t = String::with_capacity(1500);
    // Subject with its bearer confirmation.
    t.push_str("<saml:Subject><saml:NameID Format=\"");
    push_attr_value(&mut t, &params.name_id_format);
    t.push_str("\">");
    push_text(&mut t, &params.name_id);
    t.push_str("</saml:NameID><saml:SubjectConfirmation Method=\"");
    t.push_str(CM_BEARER);
    t.push_str("\"><saml:SubjectConfirmationData");
    if let Some(in_response_to) = &params.in_response_to {
        t.push_str(" InResponseTo=\"");
        push_attr_value(&mut t, in_response_to);
        t.push('"');
    }
    t.push_str(" NotOnOrAfter=\"");
    t.push_str(&not_on_or_after);
    t.push_str("\" Recipient=\"");
    push_attr_value(&mut t, &params.destination);
    t.push_str("\"></saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject>");

    // Conditions.
    t.push_str("<saml:Conditions NotBefore=\"");
    t.push_str(&format_instant("NotBefore", params.not_before)?);
    t.push_str("\" NotOnOrAfter=\"");
    t.push_str(&not_on_or_after);
    t.push_str("\"><saml:AudienceRestriction><saml:Audience>");
    push_text(&mut t, &params.audience);
    t.push_str("</saml:Audience></saml:AudienceRestriction></saml:Conditions>");

    // AuthnStatement.
    t.push_str("<saml:AuthnStatement AuthnInstant=\"");
    t.push_str(&format_instant("AuthnInstant", params.authn_instant)?);
    t.push_str("\" SessionIndex=\"");
    push_attr_value(&mut t, &params.session_index);
    if let Some(until) = params.session_not_on_or_after {
        t.push_str("\" SessionNotOnOrAfter=\"");
        t.push_str(&format_instant("SessionNotOnOrAfter", until)?);
    }
    t.push_str("\"><saml:AuthnContext><saml:AuthnContextClassRef>");
    push_text(&mut t, &params.authn_context_class_ref);
    t.push_str("</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>");

    // AttributeStatement: the schema wants at least one Attribute in it.
    if !params.attributes.is_empty() {
        t.push_str("<saml:AttributeStatement>");
        for attribute in &params.attributes {
            // Canonical order: FriendlyName, Name, NameFormat.
            t.push_str("<saml:Attribute");
            if let Some(friendly) = &attribute.friendly_name {
                t.push_str(" FriendlyName=\"");
                push_attr_value(&mut t, friendly);
                t.push('"');
            }
            t.push_str(" Name=\"");
            push_attr_value(&mut t, &attribute.name);
            t.push('"');
            if let Some(format) = &attribute.name_format {
                t.push_str(" NameFormat=\"");
                push_attr_value(&mut t, format);
                t.push('"');
            }
            t.push('>');
            for value in &attribute.values {
                t.push_str("<saml:AttributeValue>");
                push_text(&mut t, value);
                t.push_str("</saml:AttributeValue>");
            }
            t.push_str("</saml:Attribute>");
        }
        t.push_str("</saml:AttributeStatement>");
    }
    t.push_str("</saml:Assertion>");
    Ok(Splittable { head, tail: t })
}

/// Refuses values XML cannot carry, and IDs a Reference cannot point at.
fn check_params(p: &ResponseParams) -> Result<()> {
    let fields = [
        ("response_id", p.response_id.as_str()),
        ("assertion_id", &p.assertion_id),
        ("issuer", &p.issuer),
        ("destination", &p.destination),
        ("in_response_to", p.in_response_to.as_deref().unwrap_or("")),
        ("audience", &p.audience),
        ("name_id", &p.name_id),
        ("name_id_format", &p.name_id_format),
        ("session_index", &p.session_index),
        ("authn_context_class_ref", &p.authn_context_class_ref),
    ];
    for (field, value) in fields {
        check_chars(field, value)?;
    }
    for attribute in &p.attributes {
        check_chars("attribute name", &attribute.name)?;
        check_chars(
            "attribute name format",
            attribute.name_format.as_deref().unwrap_or(""),
        )?;
        check_chars(
            "attribute friendly name",
            attribute.friendly_name.as_deref().unwrap_or(""),
        )?;
        for value in &attribute.values {
            check_chars("attribute value", value)?;
        }
    }
    check_id("response_id", &p.response_id)?;
    check_id("assertion_id", &p.assertion_id)?;
    if p.response_id == p.assertion_id {
        return Err(SamlError::Invalid("response and assertion IDs must differ"));
    }
    Ok(())
}

/// An `xs:ID` (an NCName) limited to the ASCII forms [`new_id`] produces and SPs generate:
/// a letter or `_`, then letters, digits, `_`, `-` and `.`.
fn check_id(field: &'static str, id: &str) -> Result<()> {
    let mut chars = id.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        Ok(())
    } else {
        Err(SamlError::InvalidValue {
            what: field,
            value: crate::error::excerpt(id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_ncnames_with_160_bits() {
        let a = new_id().ok();
        let b = new_id().ok();
        assert_ne!(a, b);
        let a = a.unwrap_or_default();
        assert_eq!(a.len(), 41);
        assert!(check_id("id", &a).is_ok());
    }

    #[test]
    fn refuses_ids_a_reference_cannot_name() {
        for bad in ["", "1abc", "a b", "a\"b", "#a", "a:b"] {
            assert!(check_id("id", bad).is_err(), "{bad:?}");
        }
        assert!(check_id("id", "ONELOGIN_abc-1.2").is_ok());
    }
}
