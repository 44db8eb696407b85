//! The SAML targets: the HTTP-Redirect and HTTP-POST bindings of an AuthnRequest and SP
//! metadata, through the functions the server's `/saml/sso` and the metadata import call.
//! When a parser accepts an input, the signature check that follows must return too.

use std::sync::OnceLock;

use trustplane_saml::{Certificate, SpMetadata};

/// A fixed RSA certificate to run signature checks against (the signatures never verify; the
/// point is the work before that).
fn certificate() -> &'static [Certificate] {
    static CERT: OnceLock<Vec<Certificate>> = OnceLock::new();
    CERT.get_or_init(|| {
        Certificate::from_pem(include_str!("../../saml/tests/data/aws-sp-cert.pem"))
            .map(|c| vec![c])
            .unwrap_or_default()
    })
}

/// Builds the certificate ahead of the first input.
pub fn warm_up() {
    let _ = certificate();
}

/// The input as a raw query string, and as request XML sent through the HTTP-Redirect encoding
/// with a signature, so the inflater, the XML parser and the octet builder are all reached.
pub fn parse_redirect(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = trustplane_saml::parse_redirect(text) {
        if let Some(signature) = parsed.signature {
            let _ = signature.verify(certificate());
        }
    }
    if let Ok(encoded) = trustplane_saml::encode_redirect(text) {
        let query = format!(
            "SAMLRequest={}&RelayState=r&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature=AAAA",
            url_encode(&encoded)
        );
        if let Ok(parsed) = trustplane_saml::parse_redirect(&query) {
            if let Some(signature) = parsed.signature {
                let _ = signature.verify(certificate());
            }
        }
    }
}

/// The input as request XML (base64-encoded as the form field would be), and as the raw field.
pub fn parse_post(data: &[u8]) {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    for field in [Some(encoded.as_str()), std::str::from_utf8(data).ok()]
        .into_iter()
        .flatten()
    {
        if let Ok(parsed) = trustplane_saml::parse_post(field, Some("relay")) {
            if let Some(signature) = parsed.signature {
                let _ = signature.verify(certificate());
            }
        }
    }
}

/// The input as SP metadata.
pub fn sp_metadata(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(metadata) = SpMetadata::parse(text) {
        let _ = metadata.default_acs();
    }
}

fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
