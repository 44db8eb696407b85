//! SAML 2.0 metadata: reading an SP's `EntityDescriptor`, writing the IdP's.

use crate::error::{excerpt, Result, SamlError};
use crate::keys::Certificate;
use crate::request::AuthnRequest;
use crate::xml::{
    self, child, children, expanded_name, parse_bool, push_attr_value, push_text, text_of,
    BINDING_POST, BINDING_REDIRECT, NS_DSIG, NS_METADATA, NS_PROTOCOL,
};

/// Largest metadata document accepted.
pub const MAX_METADATA_LEN: usize = 1024 * 1024;
/// Deepest element nesting accepted in metadata.
pub const MAX_METADATA_DEPTH: usize = 48;
const MAX_METADATA_NODES: u32 = 100_000;

/// One `md:AssertionConsumerService` of an SP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcsEndpoint {
    /// `Binding`, e.g. [`BINDING_POST`].
    pub binding: String,
    /// `Location`: where responses are posted.
    pub location: String,
    /// `index`.
    pub index: u16,
    /// `isDefault`: `None` when the attribute is absent, which the default-endpoint rule of
    /// metadata §2.2.3 treats differently from `false`.
    pub is_default: Option<bool>,
}

/// What the IdP needs from an SP's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpMetadata {
    /// `entityID`: the audience of assertions and the issuer of requests.
    pub entity_id: String,
    /// The assertion consumer services, in document order.
    pub acs: Vec<AcsEndpoint>,
    /// `NameIDFormat`s the SP supports, in order of preference.
    pub name_id_formats: Vec<String>,
    /// Certificates of `KeyDescriptor`s for signing (`use="signing"` or no `use`).
    pub signing_certificates: Vec<Certificate>,
    /// `AuthnRequestsSigned`.
    pub authn_requests_signed: bool,
    /// `WantAssertionsSigned`.
    pub want_assertions_signed: bool,
}

impl SpMetadata {
    /// Parses an `md:EntityDescriptor` with an `md:SPSSODescriptor` for SAML 2.0 (or an
    /// `md:EntitiesDescriptor` holding exactly one such entity).
    pub fn parse(xml: &str) -> Result<SpMetadata> {
        if xml.len() > MAX_METADATA_LEN {
            return Err(SamlError::TooLarge {
                what: "metadata",
                limit: MAX_METADATA_LEN,
            });
        }
        let doc = xml::parse_document(xml, MAX_METADATA_NODES, MAX_METADATA_DEPTH)?;
        let root = doc.root_element();
        let entity = if xml::is(root, NS_METADATA, "EntityDescriptor") {
            root
        } else if xml::is(root, NS_METADATA, "EntitiesDescriptor") {
            let mut entities = children(root, NS_METADATA, "EntityDescriptor")
                .filter(|e| sp_descriptor(*e).is_some());
            match (entities.next(), entities.next()) {
                (Some(entity), None) => entity,
                (None, _) => return Err(SamlError::MissingElement("SPSSODescriptor")),
                (Some(_), Some(_)) => {
                    return Err(SamlError::Invalid(
                        "metadata describes more than one SP; give one EntityDescriptor",
                    ))
                }
            }
        } else {
            return Err(SamlError::WrongRoot {
                expected: "{urn:oasis:names:tc:SAML:2.0:metadata}EntityDescriptor",
                found: expanded_name(root),
            });
        };
        let entity_id = entity
            .attribute("entityID")
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or(SamlError::MissingAttribute {
                element: "EntityDescriptor",
                attribute: "entityID",
            })?
            .to_owned();
        let sp = sp_descriptor(entity).ok_or(SamlError::MissingElement(
            "SPSSODescriptor supporting SAML 2.0",
        ))?;

        let mut acs = Vec::new();
        for endpoint in children(sp, NS_METADATA, "AssertionConsumerService") {
            let attribute = |attribute: &'static str| {
                endpoint
                    .attribute(attribute)
                    .map(str::trim)
                    .ok_or(SamlError::MissingAttribute {
                        element: "AssertionConsumerService",
                        attribute,
                    })
            };
            let index = attribute("index")?;
            acs.push(AcsEndpoint {
                binding: attribute("Binding")?.to_owned(),
                location: attribute("Location")?.to_owned(),
                index: index.parse().map_err(|_| SamlError::InvalidValue {
                    what: "AssertionConsumerService index",
                    value: excerpt(index),
                })?,
                is_default: endpoint
                    .attribute("isDefault")
                    .map(|v| parse_bool("isDefault", v))
                    .transpose()?,
            });
        }
        if acs.is_empty() {
            return Err(SamlError::MissingElement("AssertionConsumerService"));
        }

        let mut signing_certificates = Vec::new();
        for descriptor in children(sp, NS_METADATA, "KeyDescriptor") {
            if descriptor.attribute("use").is_some_and(|u| u != "signing") {
                continue;
            }
            let certs = child(descriptor, NS_DSIG, "KeyInfo")
                .into_iter()
                .flat_map(|info| children(info, NS_DSIG, "X509Data"))
                .flat_map(|data| children(data, NS_DSIG, "X509Certificate"));
            for cert in certs {
                signing_certificates.push(Certificate::from_base64(&text_of(cert))?);
            }
        }

        let flag = |name: &'static str| {
            sp.attribute(name)
                .map(|v| parse_bool(name, v))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        Ok(SpMetadata {
            entity_id,
            acs,
            name_id_formats: children(sp, NS_METADATA, "NameIDFormat")
                .map(text_of)
                .filter(|f| !f.is_empty())
                .collect(),
            signing_certificates,
            authn_requests_signed: flag("AuthnRequestsSigned")?,
            want_assertions_signed: flag("WantAssertionsSigned")?,
        })
    }

    /// The default HTTP-POST assertion consumer service (the only binding this IdP answers
    /// with), by the rule of metadata §2.2.3: the first with `isDefault="true"`, else the
    /// first without `isDefault`, else the first.
    pub fn default_acs(&self) -> Option<&AcsEndpoint> {
        let post = || self.acs.iter().filter(|a| a.binding == BINDING_POST);
        post()
            .find(|a| a.is_default == Some(true))
            .or_else(|| post().find(|a| a.is_default.is_none()))
            .or_else(|| post().next())
    }

    /// The endpoint to send the response for `request` to: the one it names by index, the
    /// registered HTTP-POST endpoint whose location equals its URL exactly, or the default.
    /// A URL or index not in the metadata is refused, so a forged request cannot send an
    /// assertion elsewhere.
    pub fn acs_for(&self, request: &AuthnRequest) -> Result<&AcsEndpoint> {
        if let Some(binding) = &request.protocol_binding {
            if binding != BINDING_POST {
                return Err(SamlError::InvalidValue {
                    what: "ProtocolBinding (only HTTP-POST responses are sent)",
                    value: excerpt(binding),
                });
            }
        }
        let found = if let Some(index) = request.acs_index {
            self.acs
                .iter()
                .find(|a| a.index == index && a.binding == BINDING_POST)
        } else if let Some(url) = &request.acs_url {
            self.acs
                .iter()
                .find(|a| &a.location == url && a.binding == BINDING_POST)
        } else {
            self.default_acs()
        };
        found.ok_or(SamlError::Invalid(
            "the requested assertion consumer service is not an HTTP-POST endpoint in the SP's metadata",
        ))
    }
}

/// The SPSSODescriptor that supports SAML 2.0.
fn sp_descriptor<'a, 'input>(
    entity: roxmltree::Node<'a, 'input>,
) -> Option<roxmltree::Node<'a, 'input>> {
    children(entity, NS_METADATA, "SPSSODescriptor").find(|sp| {
        sp.attribute("protocolSupportEnumeration")
            .is_some_and(|list| list.split_ascii_whitespace().any(|p| p == NS_PROTOCOL))
    })
}

/// The IdP's metadata, written for SPs to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    /// The IdP's entity ID (the `Issuer` of its responses).
    pub entity_id: String,
    /// The single sign-on URL, published for both HTTP-Redirect and HTTP-POST.
    pub sso_url: String,
    /// DER certificates of the signing keys: the current one first, and during a rollover
    /// the next or previous one too.
    pub signing_certificates: Vec<Vec<u8>>,
    /// `NameIDFormat`s the IdP can issue.
    pub name_id_formats: Vec<String>,
}

impl IdpMetadata {
    /// Writes the `md:EntityDescriptor` document.
    pub fn to_xml(&self) -> String {
        use base64::Engine as _;
        let mut out = String::with_capacity(2048 + 2000 * self.signing_certificates.len());
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str("<md:EntityDescriptor xmlns:md=\"");
        out.push_str(NS_METADATA);
        out.push_str("\" xmlns:ds=\"");
        out.push_str(NS_DSIG);
        out.push_str("\" entityID=\"");
        push_attr_value(&mut out, &self.entity_id);
        out.push_str("\">\n  <md:IDPSSODescriptor protocolSupportEnumeration=\"");
        out.push_str(NS_PROTOCOL);
        out.push_str("\">\n");
        for cert in &self.signing_certificates {
            out.push_str("    <md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>");
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(cert));
            out.push_str("</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n");
        }
        for format in &self.name_id_formats {
            out.push_str("    <md:NameIDFormat>");
            push_text(&mut out, format);
            out.push_str("</md:NameIDFormat>\n");
        }
        for binding in [BINDING_REDIRECT, BINDING_POST] {
            out.push_str("    <md:SingleSignOnService Binding=\"");
            out.push_str(binding);
            out.push_str("\" Location=\"");
            push_attr_value(&mut out, &self.sso_url);
            out.push_str("\"/>\n");
        }
        out.push_str("  </md:IDPSSODescriptor>\n</md:EntityDescriptor>\n");
        out
    }
}
