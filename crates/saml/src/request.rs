//! `samlp:AuthnRequest` received over the HTTP-Redirect and HTTP-POST bindings (SAML 2.0
//! bindings §3.4 and §3.5), treated as hostile input: sizes are capped before and while
//! decoding, DTDs are refused, depth is capped, and every failure is a typed error.

use std::io::Read as _;

use base64::Engine as _;
use time::OffsetDateTime;

use crate::dsig::{self, XmlSignature};
use crate::error::{excerpt, Result, SamlError};
use crate::keys::{decode_base64_lenient, verify_with_any, Certificate};
use crate::xml::{
    self, child, expanded_name, parse_bool, parse_instant, text_of, ALG_RSA_SHA256, NS_ASSERTION,
    NS_PROTOCOL,
};

/// Largest encoded message accepted: the raw query string, or the base64 `SAMLRequest` form
/// field.
pub const MAX_ENCODED_LEN: usize = 100 * 1024;
/// Largest request XML accepted, after base64 and (for HTTP-Redirect) inflating; checked while
/// inflating.
pub const MAX_XML_LEN: usize = 64 * 1024;
/// Deepest element nesting accepted (a signed request is 6 deep).
pub const MAX_DEPTH: usize = 32;
/// Most XML nodes accepted in one request.
const MAX_NODES: u32 = 4096;

/// What an SP asks for in a `samlp:AuthnRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    /// `ID`: the response's `InResponseTo`.
    pub id: String,
    /// The SP's entity ID (`saml:Issuer`), to look its metadata up with.
    pub issuer: String,
    /// `IssueInstant`, in UTC.
    pub issue_instant: OffsetDateTime,
    /// `Destination`: where the SP sent it; the server should check it is its SSO URL.
    pub destination: Option<String>,
    /// `AssertionConsumerServiceURL`; it must match the SP's metadata before use.
    pub acs_url: Option<String>,
    /// `AssertionConsumerServiceIndex`, an index into the SP's metadata endpoints.
    pub acs_index: Option<u16>,
    /// `ProtocolBinding` wanted for the response.
    pub protocol_binding: Option<String>,
    /// `NameIDPolicy/@Format`.
    pub name_id_format: Option<String>,
    /// `ForceAuthn`: the person must authenticate afresh.
    pub force_authn: bool,
    /// `IsPassive`: the IdP must not interact with the person.
    pub is_passive: bool,
}

/// An AuthnRequest received over HTTP-Redirect.
#[derive(Debug, Clone)]
pub struct RedirectRequest {
    /// The request.
    pub request: AuthnRequest,
    /// `RelayState`, decoded; to be returned unchanged with the response.
    pub relay_state: Option<String>,
    /// The query-string signature, if the SP signed the request.
    pub signature: Option<RedirectSignature>,
}

/// The signature of an HTTP-Redirect message (bindings §3.4.4.1): over the octets
/// `SAMLRequest=...&RelayState=...&SigAlg=...` exactly as they were URL-encoded in the query.
#[derive(Debug, Clone)]
pub struct RedirectSignature {
    /// `SigAlg`, decoded.
    pub algorithm: String,
    signed_octets: Vec<u8>,
    signature: Vec<u8>,
}

impl RedirectSignature {
    /// The exact octets the SP signed.
    pub fn signed_octets(&self) -> &[u8] {
        &self.signed_octets
    }

    /// Verifies with any of `certs` (the SP's signing certificates). Only RSA-SHA256 is
    /// accepted; RSA-SHA1 is refused with [`SamlError::UnsupportedAlgorithm`].
    pub fn verify(&self, certs: &[Certificate]) -> Result<()> {
        if self.algorithm != ALG_RSA_SHA256 {
            return Err(SamlError::UnsupportedAlgorithm(excerpt(&self.algorithm)));
        }
        verify_with_any(certs, &self.signed_octets, &self.signature)
    }
}

/// An AuthnRequest received over HTTP-POST.
#[derive(Debug, Clone)]
pub struct PostRequest {
    /// The request.
    pub request: AuthnRequest,
    /// `RelayState`, as given.
    pub relay_state: Option<String>,
    /// The enveloped XML signature on the request, if any; call
    /// [`XmlSignature::verify`] with the SP's certificates.
    pub signature: Option<XmlSignature>,
}

/// Parses the raw query string of an HTTP-Redirect request (without the leading `?`, though one
/// is tolerated). Unknown parameters are ignored; a repeated SAML parameter is refused.
pub fn parse_redirect(raw_query: &str) -> Result<RedirectRequest> {
    if raw_query.len() > MAX_ENCODED_LEN {
        return Err(SamlError::TooLarge {
            what: "query string",
            limit: MAX_ENCODED_LEN,
        });
    }
    let query = raw_query.strip_prefix('?').unwrap_or(raw_query);
    let mut saml_request = None;
    let mut relay_state = None;
    let mut sig_alg = None;
    let mut signature = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            "SAMLRequest" => &mut saml_request,
            "RelayState" => &mut relay_state,
            "SigAlg" => &mut sig_alg,
            "Signature" => &mut signature,
            "SAMLResponse" => {
                return Err(SamlError::Query(
                    "SAMLResponse is not accepted at the SSO endpoint".into(),
                ))
            }
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(SamlError::Query(format!("{name} appears more than once")));
        }
    }
    let encoded_request =
        saml_request.ok_or_else(|| SamlError::Query("no SAMLRequest parameter".into()))?;

    // Base64 never contains a space, so a literal '+' can only be base64's own.
    let request_b64 = percent_decode(encoded_request, false, "SAMLRequest")?;
    let deflated = decode_base64_lenient(&request_b64).ok_or(SamlError::Base64("SAMLRequest"))?;
    let xml_bytes = inflate_limited(&deflated)?;
    let xml_text =
        std::str::from_utf8(&xml_bytes).map_err(|_| SamlError::NotUtf8("SAMLRequest"))?;
    let doc = xml::parse_document(xml_text, MAX_NODES, MAX_DEPTH)?;
    let request = read_authn_request(doc.root_element())?;

    let relay_state = relay_state
        .map(|v| percent_decode(v, true, "RelayState"))
        .transpose()?;

    let signature = match (sig_alg, signature) {
        (None, None) => None,
        (Some(alg), Some(sig)) => {
            let mut signed = format!("SAMLRequest={encoded_request}");
            if let Some(relay) = query_value(query, "RelayState") {
                signed.push_str("&RelayState=");
                signed.push_str(relay);
            }
            signed.push_str("&SigAlg=");
            signed.push_str(alg);
            let signature_b64 = percent_decode(sig, false, "Signature")?;
            Some(RedirectSignature {
                algorithm: percent_decode(alg, true, "SigAlg")?,
                signed_octets: signed.into_bytes(),
                signature: decode_base64_lenient(&signature_b64)
                    .ok_or(SamlError::Base64("Signature"))?,
            })
        }
        (Some(_), None) => return Err(SamlError::Query("SigAlg without Signature".into())),
        (None, Some(_)) => return Err(SamlError::Query("Signature without SigAlg".into())),
    };

    Ok(RedirectRequest {
        request,
        relay_state,
        signature,
    })
}

/// Parses the `SAMLRequest` form field of an HTTP-POST request (base64, no DEFLATE) and keeps
/// `RelayState` as given.
pub fn parse_post(saml_request_b64: &str, relay_state: Option<&str>) -> Result<PostRequest> {
    if saml_request_b64.len() > MAX_ENCODED_LEN {
        return Err(SamlError::TooLarge {
            what: "SAMLRequest",
            limit: MAX_ENCODED_LEN,
        });
    }
    let xml_bytes =
        decode_base64_lenient(saml_request_b64).ok_or(SamlError::Base64("SAMLRequest"))?;
    if xml_bytes.len() > MAX_XML_LEN {
        return Err(SamlError::TooLarge {
            what: "decoded SAMLRequest",
            limit: MAX_XML_LEN,
        });
    }
    let xml_text =
        std::str::from_utf8(&xml_bytes).map_err(|_| SamlError::NotUtf8("SAMLRequest"))?;
    let doc = xml::parse_document(xml_text, MAX_NODES, MAX_DEPTH)?;
    let root = doc.root_element();
    let request = read_authn_request(root)?;
    let signature = dsig::find_signature(root)?.map(|sig| XmlSignature::read(root, sig));
    Ok(PostRequest {
        request,
        relay_state: relay_state.map(str::to_owned),
        signature,
    })
}

fn read_authn_request(root: roxmltree::Node<'_, '_>) -> Result<AuthnRequest> {
    if !xml::is(root, NS_PROTOCOL, "AuthnRequest") {
        return Err(SamlError::WrongRoot {
            expected: "{urn:oasis:names:tc:SAML:2.0:protocol}AuthnRequest",
            found: expanded_name(root),
        });
    }
    let required = |attribute: &'static str| {
        root.attribute(attribute)
            .ok_or(SamlError::MissingAttribute {
                element: "AuthnRequest",
                attribute,
            })
    };
    let version = required("Version")?;
    if version != "2.0" {
        return Err(SamlError::UnsupportedVersion(excerpt(version)));
    }
    let id = required("ID")?;
    if id.is_empty() {
        return Err(SamlError::InvalidValue {
            what: "AuthnRequest ID",
            value: String::new(),
        });
    }
    let issue_instant = parse_instant("IssueInstant", required("IssueInstant")?)?;
    // Optional in SAML core, required by the Web Browser SSO profile (§4.1.4.1): the IdP
    // needs it to find the SP.
    let issuer = child(root, NS_ASSERTION, "Issuer")
        .map(text_of)
        .filter(|issuer| !issuer.is_empty())
        .ok_or(SamlError::MissingElement("AuthnRequest Issuer"))?;
    let acs_index = root
        .attribute("AssertionConsumerServiceIndex")
        .map(|v| {
            v.trim()
                .parse::<u16>()
                .map_err(|_| SamlError::InvalidValue {
                    what: "AssertionConsumerServiceIndex",
                    value: excerpt(v),
                })
        })
        .transpose()?;
    let acs_url = root
        .attribute("AssertionConsumerServiceURL")
        .map(str::to_owned);
    let protocol_binding = root.attribute("ProtocolBinding").map(str::to_owned);
    if acs_index.is_some() && (acs_url.is_some() || protocol_binding.is_some()) {
        return Err(SamlError::Invalid(
            "AssertionConsumerServiceIndex excludes AssertionConsumerServiceURL and ProtocolBinding",
        ));
    }
    let flag = |name: &'static str| {
        root.attribute(name)
            .map(|v| parse_bool(name, v))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    Ok(AuthnRequest {
        id: id.to_owned(),
        issuer,
        issue_instant,
        destination: root.attribute("Destination").map(str::to_owned),
        acs_url,
        acs_index,
        protocol_binding,
        name_id_format: child(root, NS_PROTOCOL, "NameIDPolicy")
            .and_then(|policy| policy.attribute("Format"))
            .map(str::to_owned),
        force_authn: flag("ForceAuthn")?,
        is_passive: flag("IsPassive")?,
    })
}

/// The raw (still encoded) value of the first `name` parameter.
fn query_value<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`), refusing malformed escapes
/// and non-UTF-8 results.
fn percent_decode(value: &str, plus_is_space: bool, what: &'static str) -> Result<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| SamlError::Query(format!("bad percent-encoding in {what}")))?;
                out.push(hex);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| SamlError::NotUtf8(what))
}

/// Inflates raw DEFLATE data, stopping as soon as the output passes [`MAX_XML_LEN`].
fn inflate_limited(deflated: &[u8]) -> Result<Vec<u8>> {
    let mut inflated = Vec::new();
    let limit = MAX_XML_LEN as u64 + 1;
    flate2::read::DeflateDecoder::new(deflated)
        .take(limit)
        .read_to_end(&mut inflated)
        .map_err(|_| SamlError::Inflate)?;
    if inflated.len() > MAX_XML_LEN {
        return Err(SamlError::TooLarge {
            what: "inflated SAMLRequest",
            limit: MAX_XML_LEN,
        });
    }
    Ok(inflated)
}

/// Encodes a request for the HTTP-Redirect binding (raw DEFLATE, base64), as an SP would; for
/// tests and tools.
pub fn encode_redirect(xml: &str) -> Result<String> {
    use std::io::Write as _;
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(xml.as_bytes())
        .and_then(|()| encoder.finish())
        .map(|deflated| base64::engine::general_purpose::STANDARD.encode(deflated))
        .map_err(|_| SamlError::Inflate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("a%2Bb+c", true, "x").ok().as_deref(),
            Some("a+b c")
        );
        assert_eq!(
            percent_decode("a%2bb+c", false, "x").ok().as_deref(),
            Some("a+b+c")
        );
        assert!(percent_decode("%zz", true, "x").is_err());
        assert!(percent_decode("%4", true, "x").is_err());
        assert!(percent_decode("%ff", true, "x").is_err());
    }

    #[test]
    fn query_values_stay_encoded() {
        assert_eq!(
            query_value("a=1&RelayState=x%20y&b", "RelayState"),
            Some("x%20y")
        );
        assert_eq!(query_value("a=1&b", "b"), Some(""));
        assert_eq!(query_value("a=1", "RelayState"), None);
    }
}
