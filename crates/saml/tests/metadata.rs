//! SP metadata reading (an AWS-shaped document and hostile ones), ACS choice, IdP metadata.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::json;
use time::OffsetDateTime;
use trustplane_saml::{
    AcsEndpoint, AuthnRequest, Certificate, IdpMetadata, SamlError, SpMetadata, BINDING_POST,
    BINDING_REDIRECT,
};

const AWS: &str = include_str!("data/aws-sp-metadata.xml");
const AWS_CERT: &str = include_str!("data/aws-sp-cert.pem");

#[test]
fn aws_style_metadata() {
    let metadata = SpMetadata::parse(AWS).unwrap();
    assert_eq!(metadata.entity_id, "urn:amazon:webservices");
    assert_eq!(
        metadata.acs,
        vec![AcsEndpoint {
            binding: BINDING_POST.into(),
            location: "https://signin.aws.amazon.com/saml".into(),
            index: 1,
            is_default: Some(true),
        }]
    );
    assert_eq!(
        metadata.default_acs().map(|a| a.location.as_str()),
        Some("https://signin.aws.amazon.com/saml")
    );
    assert_eq!(
        metadata.name_id_formats,
        vec![
            "urn:oasis:names:tc:SAML:2.0:nameid-format:transient".to_owned(),
            "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".to_owned(),
        ]
    );
    // The encryption key is not taken (and its placeholder text is not read).
    assert_eq!(
        metadata.signing_certificates,
        vec![Certificate::from_pem(AWS_CERT).unwrap()]
    );
    assert!(metadata.want_assertions_signed);
    assert!(!metadata.authn_requests_signed);
}

fn sp(body: &str) -> String {
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example.test"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol urn:oasis:names:tc:SAML:2.0:protocol">{body}</md:SPSSODescriptor></md:EntityDescriptor>"#
    )
}

fn acs(binding: &str, location: &str, index: u16, is_default: Option<bool>) -> String {
    let default = is_default.map_or(String::new(), |d| format!(" isDefault=\"{d}\""));
    format!(
        r#"<md:AssertionConsumerService Binding="{binding}" Location="{location}" index="{index}"{default}/>"#
    )
}

#[test]
fn default_acs_follows_the_metadata_rule() {
    let artifact = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact";
    // isDefault="true" wins wherever it is; non-POST endpoints are never chosen.
    let doc = sp(&[
        acs(artifact, "https://sp/art", 0, Some(true)),
        acs(BINDING_POST, "https://sp/a", 1, None),
        acs(BINDING_POST, "https://sp/b", 2, Some(true)),
    ]
    .concat());
    let m = SpMetadata::parse(&doc).unwrap();
    assert_eq!(m.default_acs().unwrap().location, "https://sp/b");
    // Else the first without isDefault.
    let doc = sp(&[
        acs(BINDING_POST, "https://sp/a", 1, Some(false)),
        acs(BINDING_POST, "https://sp/b", 2, None),
    ]
    .concat());
    assert_eq!(
        SpMetadata::parse(&doc)
            .unwrap()
            .default_acs()
            .unwrap()
            .location,
        "https://sp/b"
    );
    // Else the first.
    let doc = sp(&[
        acs(BINDING_POST, "https://sp/a", 1, Some(false)),
        acs(BINDING_POST, "https://sp/b", 2, Some(false)),
    ]
    .concat());
    assert_eq!(
        SpMetadata::parse(&doc)
            .unwrap()
            .default_acs()
            .unwrap()
            .location,
        "https://sp/a"
    );
    // No POST endpoint at all.
    let doc = sp(&acs(artifact, "https://sp/art", 0, None));
    assert_eq!(SpMetadata::parse(&doc).unwrap().default_acs(), None);
}

fn request(acs_url: Option<&str>, acs_index: Option<u16>, binding: Option<&str>) -> AuthnRequest {
    AuthnRequest {
        id: "_r".into(),
        issuer: "https://sp.example.test".into(),
        issue_instant: OffsetDateTime::UNIX_EPOCH,
        destination: None,
        acs_url: acs_url.map(str::to_owned),
        acs_index,
        protocol_binding: binding.map(str::to_owned),
        name_id_format: None,
        force_authn: false,
        is_passive: false,
    }
}

#[test]
fn acs_for_a_request_must_be_registered() {
    let doc = sp(&[
        acs(BINDING_POST, "https://sp/a", 1, None),
        acs(BINDING_POST, "https://sp/b", 2, Some(true)),
        acs(BINDING_REDIRECT, "https://sp/r", 3, None),
    ]
    .concat());
    let m = SpMetadata::parse(&doc).unwrap();
    let location = |r: &AuthnRequest| m.acs_for(r).map(|a| a.location.clone());
    assert_eq!(
        location(&request(None, None, None)).unwrap(),
        "https://sp/b"
    );
    assert_eq!(
        location(&request(None, Some(1), None)).unwrap(),
        "https://sp/a"
    );
    assert_eq!(
        location(&request(Some("https://sp/a"), None, Some(BINDING_POST))).unwrap(),
        "https://sp/a"
    );
    // Not registered, or registered for another binding, or a prefix of a registered URL.
    assert!(location(&request(Some("https://evil/acs"), None, None)).is_err());
    assert!(location(&request(Some("https://sp/r"), None, None)).is_err());
    assert!(location(&request(Some("https://sp/"), None, None)).is_err());
    assert!(location(&request(None, Some(3), None)).is_err());
    assert!(location(&request(None, Some(9), None)).is_err());
    // A response binding this IdP does not send.
    assert!(matches!(
        m.acs_for(&request(None, None, Some(BINDING_REDIRECT))),
        Err(SamlError::InvalidValue { .. })
    ));
}

#[test]
fn entities_descriptor_with_one_sp() {
    let inner = sp(&acs(BINDING_POST, "https://sp/a", 0, None));
    let doc = format!(
        r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">{inner}</md:EntitiesDescriptor>"#
    );
    assert_eq!(
        SpMetadata::parse(&doc).unwrap().entity_id,
        "https://sp.example.test"
    );
    let doc = format!(
        r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">{inner}{inner}</md:EntitiesDescriptor>"#
    );
    assert!(matches!(
        SpMetadata::parse(&doc),
        Err(SamlError::Invalid(_))
    ));
}

/// Whether an error is the one a case expects.
type ErrorCheck = fn(&SamlError) -> bool;

#[test]
fn refuses_broken_metadata() {
    let one_acs = acs(BINDING_POST, "https://sp/a", 0, None);
    let cases: Vec<(String, ErrorCheck)> = vec![
        ("not xml".into(), |e| matches!(e, SamlError::Xml(_))),
        (r#"<EntityDescriptor entityID="x"/>"#.into(), |e| {
            matches!(e, SamlError::WrongRoot { .. })
        }),
        (
            sp(&one_acs).replace(r#" entityID="https://sp.example.test""#, ""),
            |e| {
                matches!(
                    e,
                    SamlError::MissingAttribute {
                        attribute: "entityID",
                        ..
                    }
                )
            },
        ),
        (
            sp(&one_acs).replace("urn:oasis:names:tc:SAML:2.0:protocol", "urn:x"),
            |e| matches!(e, SamlError::MissingElement(_)),
        ),
        (sp(""), |e| {
            matches!(e, SamlError::MissingElement("AssertionConsumerService"))
        }),
        (sp(&one_acs.replace(r#"index="0""#, r#"index="-1""#)), |e| {
            matches!(e, SamlError::InvalidValue { .. })
        }),
        (sp(&one_acs.replace(r#" index="0""#, "")), |e| {
            matches!(
                e,
                SamlError::MissingAttribute {
                    attribute: "index",
                    ..
                }
            )
        }),
        (
            sp(&acs(BINDING_POST, "https://sp/a", 0, Some(true)).replace("true", "yes")),
            |e| matches!(e, SamlError::InvalidValue { .. }),
        ),
        (
            sp(&format!(
                r#"<md:KeyDescriptor><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>!!!</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>{one_acs}"#
            )),
            |e| matches!(e, SamlError::Base64("certificate")),
        ),
        (
            sp(&format!(
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>{one_acs}"#
            )),
            |e| matches!(e, SamlError::Certificate(_)),
        ),
        (
            format!(
                "<!DOCTYPE md:EntityDescriptor [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
                sp(&one_acs).replace("https://sp/a", "&x;")
            ),
            |e| matches!(e, SamlError::Xml(_)),
        ),
        (
            format!("{}{}", "<a>".repeat(100), "</a>".repeat(100)),
            |e| matches!(e, SamlError::TooDeep { .. }),
        ),
        // 100,000 attributes on one element took the XML parser 40 s before the pre-scan.
        (
            format!(
                "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"{}/>",
                (0..100_000)
                    .map(|i| format!(" a{i}=''"))
                    .collect::<String>()
            ),
            |e| matches!(e, SamlError::TooMany { .. }),
        ),
        (format!("<a>{}</a>", " ".repeat(1024 * 1024)), |e| {
            matches!(e, SamlError::TooLarge { .. })
        }),
    ];
    for (doc, expected) in cases {
        let started = std::time::Instant::now();
        let result = SpMetadata::parse(&doc);
        assert!(
            started.elapsed().as_secs() < 2,
            "slow: {:?}",
            started.elapsed()
        );
        match result {
            Err(e) => assert!(
                expected(&e),
                "unexpected error {e:?} for {}",
                &doc[..doc.len().min(200)]
            ),
            Ok(m) => panic!("accepted {m:?}"),
        }
    }
}

#[test]
fn idp_metadata_publishes_both_bindings_and_every_certificate() {
    let second = other_key().certificate_der().to_vec();
    let metadata = IdpMetadata {
        entity_id: IDP_ENTITY.into(),
        sso_url: "https://idp.trustplane.test/saml/sso?tenant=a&b".into(),
        signing_certificates: vec![idp_key().certificate_der().to_vec(), second],
        name_id_formats: vec![EMAIL_FORMAT.into()],
    };
    let xml = metadata.to_xml();
    assert_eq!(
        xml.matches(r#"<md:KeyDescriptor use="signing">"#).count(),
        2,
        "one KeyDescriptor use=signing per certificate"
    );
    assert!(xml.contains(&format!(
        r#"<md:SingleSignOnService Binding="{BINDING_REDIRECT}" Location="https://idp.trustplane.test/saml/sso?tenant=a&amp;b"/>"#
    )));
    assert!(xml.contains(&format!(
        r#"<md:SingleSignOnService Binding="{BINDING_POST}" Location="https://idp.trustplane.test/saml/sso?tenant=a&amp;b"/>"#
    )));
    assert!(xml.contains(&idp_key().certificate_base64()));
    assert!(xml.contains(&other_key().certificate_base64()));

    // OneLogin's metadata parser sees both certificates (a rollover) and both bindings.
    let Some(python) = python() else { return };
    let answer = onelogin(
        &python,
        json!({"command": "parse_idp_metadata", "idp_metadata": xml}),
    );
    let idp = &answer["idp"];
    assert_eq!(idp["entityId"], IDP_ENTITY);
    assert_eq!(
        idp["x509certMulti"]["signing"],
        json!([
            idp_key().certificate_base64(),
            other_key().certificate_base64()
        ])
    );
    assert_eq!(
        idp["singleSignOnService"]["url"],
        "https://idp.trustplane.test/saml/sso?tenant=a&b"
    );
}
