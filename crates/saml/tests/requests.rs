//! AuthnRequest parsing: what is read, and every way hostile or broken input is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write as _;
use std::time::Instant;

use common::b64;
use trustplane_saml::request::{MAX_ENCODED_LEN, MAX_XML_LEN};
use trustplane_saml::{encode_redirect, parse_post, parse_redirect, SamlError};

const GOOD: &str = r#"<?xml version="1.0"?>
<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"
    ID="_a1b2" Version="2.0" IssueInstant="2026-11-28T19:00:00Z"
    Destination="https://idp.trustplane.test/saml/sso"
    AssertionConsumerServiceURL="https://sp.example.test/acs"
    ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    ForceAuthn="true" IsPassive="0">
  <saml:Issuer> https://sp.example.test/metadata </saml:Issuer>
  <samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/>
</samlp:AuthnRequest>"#;

/// URL-encodes a query value as SPs do.
fn enc(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn redirect_query(xml: &str) -> String {
    format!("SAMLRequest={}", enc(&encode_redirect(xml).unwrap()))
}

fn redirect_err(xml: &str) -> SamlError {
    parse_redirect(&redirect_query(xml)).expect_err("refused")
}

#[test]
fn reads_every_field_from_both_bindings() {
    let query = format!(
        "{}&RelayState={}",
        redirect_query(GOOD),
        enc("/after?a=1&b=2")
    );
    let redirect = parse_redirect(&query).unwrap();
    let post = parse_post(&b64(GOOD.as_bytes()), Some("/after?a=1&b=2")).unwrap();
    assert_eq!(redirect.request, post.request);
    assert_eq!(redirect.relay_state.as_deref(), Some("/after?a=1&b=2"));
    assert_eq!(post.relay_state.as_deref(), Some("/after?a=1&b=2"));
    assert!(redirect.signature.is_none() && post.signature.is_none());

    let r = redirect.request;
    assert_eq!(r.id, "_a1b2");
    assert_eq!(r.issuer, "https://sp.example.test/metadata");
    assert_eq!(
        r.issue_instant,
        time::macros::datetime!(2026-11-28 19:00:00 UTC)
    );
    assert_eq!(
        r.destination.as_deref(),
        Some("https://idp.trustplane.test/saml/sso")
    );
    assert_eq!(r.acs_url.as_deref(), Some("https://sp.example.test/acs"));
    assert_eq!(r.acs_index, None);
    assert_eq!(
        r.protocol_binding.as_deref(),
        Some(trustplane_saml::BINDING_POST)
    );
    assert_eq!(
        r.name_id_format.as_deref(),
        Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    );
    assert!(r.force_authn);
    assert!(!r.is_passive);
}

#[test]
fn minimal_request_with_an_index() {
    let xml = r#"<p:AuthnRequest xmlns:p="urn:oasis:names:tc:SAML:2.0:protocol" ID="x" Version="2.0" IssueInstant="2026-11-28T19:00:00.123+01:00" AssertionConsumerServiceIndex="3"><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">sp</Issuer></p:AuthnRequest>"#;
    let r = parse_post(&b64(xml.as_bytes()), None).unwrap().request;
    assert_eq!(r.acs_index, Some(3));
    assert_eq!(r.acs_url, None);
    assert_eq!(
        r.issue_instant,
        time::macros::datetime!(2026-11-28 18:00:00.123 UTC)
    );
    assert!(!r.force_authn && !r.is_passive);
}

#[test]
fn text_split_by_a_comment_is_read_whole() {
    // Canonicalisation drops comments, so a signature covers "https://sp.example.test/metadata";
    // reading only the first text node would give "https://sp" (the comment-splitting attack).
    let xml = GOOD.replace(
        " https://sp.example.test/metadata ",
        "https://sp<!-- -->.example.test/metadata",
    );
    let r = parse_post(&b64(xml.as_bytes()), None).unwrap().request;
    assert_eq!(r.issuer, "https://sp.example.test/metadata");
}

#[test]
fn base64_with_line_breaks_and_no_padding_is_read() {
    let encoded = b64(GOOD.as_bytes());
    let wrapped: Vec<String> = encoded
        .trim_end_matches('=')
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    assert!(parse_post(&wrapped.join("\r\n"), None).is_ok());
}

#[test]
fn refuses_wrong_version_root_and_namespace() {
    assert_eq!(
        redirect_err(&GOOD.replace(r#"Version="2.0""#, r#"Version="1.1""#)),
        SamlError::UnsupportedVersion("1.1".into())
    );
    assert!(matches!(
        redirect_err(&GOOD.replace("AuthnRequest", "LogoutRequest")),
        SamlError::WrongRoot { .. }
    ));
    // The right local name in the wrong namespace.
    assert!(matches!(
        redirect_err(&GOOD.replace(
            r#"xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol""#,
            r#"xmlns:samlp="urn:oasis:names:tc:SAML:1.0:protocol""#
        )),
        SamlError::WrongRoot { .. }
    ));
    let response = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="a" Version="2.0" IssueInstant="2026-11-28T19:00:00Z"/>"#;
    assert!(matches!(
        redirect_err(response),
        SamlError::WrongRoot { .. }
    ));
}

#[test]
fn refuses_missing_and_invalid_fields() {
    let cases: Vec<(String, SamlError)> = vec![
        (
            GOOD.replace(r#"ID="_a1b2""#, ""),
            SamlError::MissingAttribute {
                element: "AuthnRequest",
                attribute: "ID",
            },
        ),
        (
            GOOD.replace(r#"Version="2.0""#, ""),
            SamlError::MissingAttribute {
                element: "AuthnRequest",
                attribute: "Version",
            },
        ),
        (
            GOOD.replace("2026-11-28T19:00:00Z", "28/11/2026"),
            SamlError::InvalidValue {
                what: "IssueInstant",
                value: "28/11/2026".into(),
            },
        ),
        (
            GOOD.replace(" https://sp.example.test/metadata ", "  "),
            SamlError::MissingElement("AuthnRequest Issuer"),
        ),
        (
            GOOD.replace(r#"ForceAuthn="true""#, r#"ForceAuthn="yes""#),
            SamlError::InvalidValue {
                what: "ForceAuthn",
                value: "yes".into(),
            },
        ),
        (
            GOOD.replace(
                "ProtocolBinding=",
                r#"AssertionConsumerServiceIndex="70000" ProtocolBinding="#,
            ),
            SamlError::InvalidValue {
                what: "AssertionConsumerServiceIndex",
                value: "70000".into(),
            },
        ),
    ];
    for (xml, expected) in cases {
        assert_eq!(redirect_err(&xml), expected);
    }
    assert!(matches!(
        redirect_err(&GOOD.replace(
            "ProtocolBinding=",
            r#"AssertionConsumerServiceIndex="1" ProtocolBinding="#
        )),
        SamlError::Invalid(_)
    ));
}

#[test]
fn refuses_dtds_and_entities() {
    let xxe = format!(
        "<!DOCTYPE samlp:AuthnRequest [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
        GOOD.replace("<?xml version=\"1.0\"?>", "")
            .replace(" https://sp.example.test/metadata ", "&xxe;")
    );
    assert!(matches!(redirect_err(&xxe), SamlError::Xml(_)));
    let laughs = format!(
        "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>{}",
        GOOD.replace("<?xml version=\"1.0\"?>", "")
            .replace(" https://sp.example.test/metadata ", "&c;")
    );
    assert!(matches!(redirect_err(&laughs), SamlError::Xml(_)));
    let post = parse_post(&b64(xxe.as_bytes()), None);
    assert!(matches!(post, Err(SamlError::Xml(_))));
    // An undeclared entity without a DTD.
    assert!(matches!(
        redirect_err(&GOOD.replace(" https://sp.example.test/metadata ", "&ent;")),
        SamlError::Xml(_)
    ));
}

#[test]
fn refuses_shapes_that_make_parsing_quadratic() {
    let attributes: String = (0..60).map(|i| format!(" a{i}=\"\"")).collect();
    let xml = GOOD.replace(
        "<samlp:NameIDPolicy",
        &format!("<x{attributes}/><samlp:NameIDPolicy"),
    );
    assert_eq!(
        redirect_err(&xml),
        SamlError::TooMany {
            what: "attributes on one element",
            limit: 48
        }
    );
    let declarations: String = (0..200)
        .map(|i| format!("<x xmlns:n{i}=\"urn:n\"/>"))
        .collect();
    let xml = GOOD.replace(
        "<samlp:NameIDPolicy",
        &format!("{declarations}<samlp:NameIDPolicy"),
    );
    assert_eq!(
        redirect_err(&xml),
        SamlError::TooMany {
            what: "namespace declarations",
            limit: 128
        }
    );
}

#[test]
fn refuses_deep_nesting() {
    let deep = GOOD.replace(
        "<samlp:NameIDPolicy",
        &format!(
            "{}{}<samlp:NameIDPolicy",
            "<x>".repeat(40),
            "</x>".repeat(40)
        ),
    );
    assert_eq!(redirect_err(&deep), SamlError::TooDeep { limit: 32 });
}

#[test]
fn refuses_oversized_input() {
    let huge = "A".repeat(MAX_ENCODED_LEN + 1);
    assert!(matches!(
        parse_redirect(&format!("SAMLRequest={huge}")),
        Err(SamlError::TooLarge {
            what: "query string",
            ..
        })
    ));
    assert!(matches!(
        parse_post(&huge, None),
        Err(SamlError::TooLarge {
            what: "SAMLRequest",
            ..
        })
    ));
    // Under the encoded limit, over the decoded one.
    let padded = GOOD.replace(
        "<samlp:NameIDPolicy",
        &format!("<!--{}--><samlp:NameIDPolicy", " ".repeat(MAX_XML_LEN)),
    );
    assert!(matches!(
        parse_post(&b64(padded.as_bytes()), None),
        Err(SamlError::TooLarge {
            what: "decoded SAMLRequest",
            ..
        })
    ));
}

#[test]
fn deflate_bomb_is_cut_short() {
    // 100 MiB of zeros deflates to about 100 KiB; 10 MiB to about 10 KiB, under the limit.
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..10 {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    let query = format!("SAMLRequest={}", enc(&b64(&bomb)));
    assert!(query.len() < MAX_ENCODED_LEN);
    let started = Instant::now();
    assert_eq!(
        parse_redirect(&query).unwrap_err(),
        SamlError::TooLarge {
            what: "inflated SAMLRequest",
            limit: MAX_XML_LEN
        }
    );
    // Stopping at 64 KiB takes far less than inflating 10 MiB would.
    assert!(started.elapsed().as_millis() < 2000);
}

#[test]
fn refuses_bad_encodings() {
    assert_eq!(
        parse_redirect("SAMLRequest=%%%").unwrap_err(),
        SamlError::Query("bad percent-encoding in SAMLRequest".into())
    );
    assert_eq!(
        parse_redirect("SAMLRequest=not*base64").unwrap_err(),
        SamlError::Base64("SAMLRequest")
    );
    // Valid base64 of bytes that are not DEFLATE data.
    assert_eq!(
        parse_redirect(&format!("SAMLRequest={}", enc(&b64(&[0xff; 32])))).unwrap_err(),
        SamlError::Inflate
    );
    assert_eq!(
        parse_post("****", None).unwrap_err(),
        SamlError::Base64("SAMLRequest")
    );
    assert_eq!(
        parse_post(&b64(&[0x3c, 0xff, 0xfe, 0x3e]), None).unwrap_err(),
        SamlError::NotUtf8("SAMLRequest")
    );
    assert!(matches!(
        parse_post(&b64(b"<unclosed"), None),
        Err(SamlError::Xml(_))
    ));
    assert!(matches!(parse_post("", None), Err(SamlError::Xml(_))));
}

#[test]
fn refuses_malformed_queries() {
    let good = redirect_query(GOOD);
    assert_eq!(
        parse_redirect("RelayState=x").unwrap_err(),
        SamlError::Query("no SAMLRequest parameter".into())
    );
    assert_eq!(
        parse_redirect(&format!("{good}&{good}")).unwrap_err(),
        SamlError::Query("SAMLRequest appears more than once".into())
    );
    assert_eq!(
        parse_redirect(&format!("{good}&RelayState=a&RelayState=b")).unwrap_err(),
        SamlError::Query("RelayState appears more than once".into())
    );
    assert!(matches!(
        parse_redirect(&format!("SAMLResponse=x&{good}")),
        Err(SamlError::Query(_))
    ));
    assert!(matches!(
        parse_redirect(&format!("{good}&SigAlg=x")),
        Err(SamlError::Query(_))
    ));
    assert!(matches!(
        parse_redirect(&format!("{good}&Signature=AAAA")),
        Err(SamlError::Query(_))
    ));
    assert_eq!(
        parse_redirect(&format!("{good}&SigAlg=x&Signature=***")).unwrap_err(),
        SamlError::Base64("Signature")
    );
    // A leading '?' and unknown parameters are fine.
    assert!(parse_redirect(&format!("?foo=bar&{good}&utm=1")).is_ok());
}

#[test]
fn redirect_signature_octets_and_algorithms() {
    let good = redirect_query(GOOD);
    // Parameters in another order: the octets follow the binding's fixed order and keep the
    // original encoding.
    let query = format!(
        "Signature=AAAA&SigAlg={}&RelayState=a%20b+c&{good}",
        enc(trustplane_saml::ALG_RSA_SHA1)
    );
    let parsed = parse_redirect(&query).unwrap();
    assert_eq!(parsed.relay_state.as_deref(), Some("a b c"));
    let signature = parsed.signature.unwrap();
    let expected = format!(
        "{good}&RelayState=a%20b+c&SigAlg={}",
        enc(trustplane_saml::ALG_RSA_SHA1)
    );
    assert_eq!(signature.signed_octets(), expected.as_bytes());
    assert_eq!(signature.algorithm, trustplane_saml::ALG_RSA_SHA1);
    let err = signature
        .verify(&[common::idp_key().certificate().clone()])
        .unwrap_err();
    assert_eq!(
        err,
        SamlError::UnsupportedAlgorithm(trustplane_saml::ALG_RSA_SHA1.into())
    );
    assert!(err.to_string().contains("only rsa-sha256 is accepted"));
}

/// An AuthnRequest with an XML signature written around `signed_info` by hand.
fn post_with_signature(signed_info: &str, extra: &str) -> String {
    let xml = format!(
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_req" Version="2.0" IssueInstant="2026-11-28T19:00:00Z"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">sp</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>{signed_info}</ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>{extra}</samlp:AuthnRequest>"#
    );
    b64(xml.as_bytes())
}

fn signed_info(c14n: &str, method: &str, uri: &str, transforms: &[&str], digest: &str) -> String {
    let transforms: String = transforms
        .iter()
        .map(|t| format!(r#"<ds:Transform Algorithm="{t}"/>"#))
        .collect();
    format!(
        r#"<ds:CanonicalizationMethod Algorithm="{c14n}"/><ds:SignatureMethod Algorithm="{method}"/><ds:Reference URI="{uri}"><ds:Transforms>{transforms}</ds:Transforms><ds:DigestMethod Algorithm="{digest}"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>"#
    )
}

#[test]
fn post_signatures_of_other_shapes_are_refused() {
    const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
    const ENV: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
    const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
    const RSA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
    let certs = [common::idp_key().certificate().clone()];
    let verify = |signed_info: String, extra: &str| {
        let parsed = parse_post(&post_with_signature(&signed_info, extra), None).unwrap();
        parsed.signature.expect("signature found").verify(&certs)
    };
    let shape = |e: Result<(), SamlError>| matches!(e, Err(SamlError::SignatureShape(_)));

    // The well-formed shape gets as far as the digest (the value is a dummy).
    assert_eq!(
        verify(signed_info(EXC, RSA256, "#_req", &[ENV, EXC], SHA256), ""),
        Err(SamlError::DigestMismatch)
    );
    assert_eq!(
        verify(
            signed_info(
                EXC,
                trustplane_saml::ALG_RSA_SHA1,
                "#_req",
                &[ENV, EXC],
                SHA256
            ),
            ""
        ),
        Err(SamlError::UnsupportedAlgorithm(
            trustplane_saml::ALG_RSA_SHA1.into()
        ))
    );
    // A reference to another element (signature wrapping), or to the whole document.
    assert!(shape(verify(
        signed_info(EXC, RSA256, "#_other", &[ENV, EXC], SHA256),
        ""
    )));
    assert!(shape(verify(
        signed_info(EXC, RSA256, "", &[ENV, EXC], SHA256),
        ""
    )));
    // Inclusive C14N, missing or extra transforms, SHA-1 digests.
    let c14n10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
    assert!(shape(verify(
        signed_info(c14n10, RSA256, "#_req", &[ENV, EXC], SHA256),
        ""
    )));
    assert!(shape(verify(
        signed_info(EXC, RSA256, "#_req", &[ENV], SHA256),
        ""
    )));
    assert!(shape(verify(
        signed_info(EXC, RSA256, "#_req", &[ENV, EXC, EXC], SHA256),
        ""
    )));
    assert!(shape(verify(
        signed_info(EXC, RSA256, "#_req", &[EXC, ENV], SHA256),
        ""
    )));
    assert!(shape(verify(
        signed_info(
            EXC,
            RSA256,
            "#_req",
            &[ENV, EXC],
            "http://www.w3.org/2000/09/xmldsig#sha1"
        ),
        ""
    )));
    // Two references.
    let one = signed_info(EXC, RSA256, "#_req", &[ENV, EXC], SHA256);
    let reference = &one[one.find("<ds:Reference").unwrap()..];
    assert!(shape(verify(format!("{one}{reference}"), "")));
    // Two signatures on one request are refused at parse time.
    let again = r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>"#;
    assert!(matches!(
        parse_post(
            &post_with_signature(
                &signed_info(EXC, RSA256, "#_req", &[ENV, EXC], SHA256),
                again
            ),
            None
        ),
        Err(SamlError::SignatureShape(_))
    ));
}
