//! Enveloped XML signatures: writing them on elements this crate generates, and checking the one
//! shape that SPs put on HTTP-POST AuthnRequests.
//!
//! Only one shape is produced and accepted: one `Reference` to the signed element by `#ID`,
//! the transforms enveloped-signature then exclusive C14N, SHA-256, RSA-SHA256. Anything else
//! is refused rather than interpreted, which closes the doors signature-wrapping attacks use.

use base64::Engine as _;
use ring::digest;

use crate::c14n;
use crate::error::{Result, SamlError};
use crate::keys::{decode_base64_lenient, verify_with_any, Certificate, SigningKey};
use crate::xml::{
    children, is, push_attr_value, text_of, ALG_ENVELOPED, ALG_EXC_C14N, ALG_RSA_SHA256,
    ALG_SHA256, NS_DSIG,
};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// An element written in exclusive canonical form, split where its enveloped signature goes
/// (right after its `Issuer`, as the SAML schema orders it).
pub(crate) struct Splittable {
    pub(crate) head: String,
    pub(crate) tail: String,
}

impl Splittable {
    /// The element without a signature, or with `signature` inserted.
    pub(crate) fn join(&self, signature: Option<&str>) -> String {
        let mut out = String::with_capacity(
            self.head.len() + self.tail.len() + signature.map_or(0, str::len),
        );
        out.push_str(&self.head);
        out.push_str(signature.unwrap_or(""));
        out.push_str(&self.tail);
        out
    }

    /// Signs the element (whose `ID` is `id`) and returns it with its signature inside.
    ///
    /// The element is already canonical, and the enveloped-signature transform takes the
    /// signature out again, so the digest is over `head + tail` exactly.
    pub(crate) fn sign(&self, id: &str, key: &SigningKey) -> Result<String> {
        let digest = digest::digest(&digest::SHA256, self.join(None).as_bytes());
        let signature = signature_element(id, digest.as_ref(), key)?;
        Ok(self.join(Some(&signature)))
    }
}

/// Writes `<ds:Signature>` for a reference to `#id` with the given SHA-256 digest.
fn signature_element(id: &str, digest: &[u8], key: &SigningKey) -> Result<String> {
    let mut signed_info_body = String::with_capacity(700);
    signed_info_body.push_str("<ds:CanonicalizationMethod Algorithm=\"");
    signed_info_body.push_str(ALG_EXC_C14N);
    signed_info_body.push_str("\"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm=\"");
    signed_info_body.push_str(ALG_RSA_SHA256);
    signed_info_body.push_str("\"></ds:SignatureMethod><ds:Reference URI=\"#");
    push_attr_value(&mut signed_info_body, id);
    signed_info_body.push_str("\"><ds:Transforms><ds:Transform Algorithm=\"");
    signed_info_body.push_str(ALG_ENVELOPED);
    signed_info_body.push_str("\"></ds:Transform><ds:Transform Algorithm=\"");
    signed_info_body.push_str(ALG_EXC_C14N);
    signed_info_body.push_str("\"></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm=\"");
    signed_info_body.push_str(ALG_SHA256);
    signed_info_body.push_str("\"></ds:DigestMethod><ds:DigestValue>");
    signed_info_body.push_str(&B64.encode(digest));
    signed_info_body.push_str("</ds:DigestValue></ds:Reference></ds:SignedInfo>");

    // Canonicalised on its own, SignedInfo is the apex and declares the `ds` prefix it uses;
    // inside the document it inherits the declaration from `ds:Signature`.
    let canonical_signed_info = format!("<ds:SignedInfo xmlns:ds=\"{NS_DSIG}\">{signed_info_body}");
    let signature_value = key.sign(canonical_signed_info.as_bytes())?;

    Ok(format!(
        "<ds:Signature xmlns:ds=\"{NS_DSIG}\"><ds:SignedInfo>{signed_info_body}\
         <ds:SignatureValue>{}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}\
         </ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>",
        B64.encode(signature_value),
        key.certificate_base64()
    ))
}

/// An enveloped XML signature found on a received message, checked as far as it can be
/// without knowing the signer's certificate.
#[derive(Debug, Clone)]
pub struct XmlSignature {
    state: std::result::Result<Checked, SamlError>,
}

#[derive(Debug, Clone)]
struct Checked {
    canonical_signed_info: Vec<u8>,
    signature_value: Vec<u8>,
    digest_matches: bool,
}

impl XmlSignature {
    /// Reads the `ds:Signature` child of `element` (whose `ID` it must reference) and computes
    /// the digest of the element's canonical form.
    pub(crate) fn read(
        element: roxmltree::Node<'_, '_>,
        signature: roxmltree::Node<'_, '_>,
    ) -> Self {
        XmlSignature {
            state: check_shape(element, signature),
        }
    }

    /// Verifies the signature with any of `certs` (the SP's signing certificates from its
    /// metadata). Fails if the signature has an unsupported shape or algorithm, if the signed
    /// element was altered, or if no certificate verifies the signature value.
    pub fn verify(&self, certs: &[Certificate]) -> Result<()> {
        let checked = self.state.as_ref().map_err(Clone::clone)?;
        if !checked.digest_matches {
            return Err(SamlError::DigestMismatch);
        }
        verify_with_any(
            certs,
            &checked.canonical_signed_info,
            &checked.signature_value,
        )
    }
}

fn check_shape(
    element: roxmltree::Node<'_, '_>,
    signature: roxmltree::Node<'_, '_>,
) -> Result<Checked> {
    const SHAPE: fn(&'static str) -> SamlError = SamlError::SignatureShape;
    let id = element
        .attribute("ID")
        .filter(|id| !id.is_empty())
        .ok_or(SHAPE("the signed element has no ID"))?;
    let signed_info = single_child(signature, "SignedInfo")?;
    let signature_value_node = single_child(signature, "SignatureValue")?;

    let c14n_method = single_child(signed_info, "CanonicalizationMethod")?;
    if c14n_method.attribute("Algorithm") != Some(ALG_EXC_C14N) {
        return Err(SHAPE(
            "SignedInfo must be canonicalised with exclusive C14N",
        ));
    }
    match single_child(signed_info, "SignatureMethod")?.attribute("Algorithm") {
        Some(ALG_RSA_SHA256) => {}
        Some(other) => {
            return Err(SamlError::UnsupportedAlgorithm(crate::error::excerpt(
                other,
            )))
        }
        None => return Err(SHAPE("SignatureMethod has no Algorithm")),
    }
    let reference = single_child(signed_info, "Reference")?;
    if reference.attribute("URI") != Some(&format!("#{id}")) {
        return Err(SHAPE("the Reference must point at the signed element's ID"));
    }
    let transforms: Vec<_> =
        children(single_child(reference, "Transforms")?, NS_DSIG, "Transform").collect();
    let [enveloped, exclusive] = transforms.as_slice() else {
        return Err(SHAPE(
            "expected exactly the enveloped-signature and exclusive C14N transforms",
        ));
    };
    if enveloped.attribute("Algorithm") != Some(ALG_ENVELOPED)
        || exclusive.attribute("Algorithm") != Some(ALG_EXC_C14N)
    {
        return Err(SHAPE(
            "expected exactly the enveloped-signature and exclusive C14N transforms",
        ));
    }
    if single_child(reference, "DigestMethod")?.attribute("Algorithm") != Some(ALG_SHA256) {
        return Err(SHAPE("the digest must be SHA-256"));
    }
    let digest_value = decode_base64_lenient(&text_of(single_child(reference, "DigestValue")?))
        .ok_or(SamlError::Base64("DigestValue"))?;
    let signature_value = decode_base64_lenient(&text_of(signature_value_node))
        .ok_or(SamlError::Base64("SignatureValue"))?;

    let element_prefixes = inclusive_prefixes(*exclusive);
    let canonical_element = c14n::canonicalize(element, Some(signature.id()), &element_prefixes);
    let digest = digest::digest(&digest::SHA256, canonical_element.as_bytes());
    let signed_info_prefixes = inclusive_prefixes(c14n_method);
    let canonical_signed_info = c14n::canonicalize(signed_info, None, &signed_info_prefixes);

    Ok(Checked {
        canonical_signed_info: canonical_signed_info.into_bytes(),
        signature_value,
        digest_matches: digest.as_ref() == digest_value.as_slice(),
    })
}

/// The one `ds:` child called `local`; a repeated one is refused.
fn single_child<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    local: &'static str,
) -> Result<roxmltree::Node<'a, 'input>> {
    let mut found = children(node, NS_DSIG, local);
    let first = found.next().ok_or(SamlError::SignatureShape(match local {
        "SignedInfo" => "Signature has no SignedInfo",
        "SignatureValue" => "Signature has no SignatureValue",
        "CanonicalizationMethod" => "SignedInfo has no CanonicalizationMethod",
        "SignatureMethod" => "SignedInfo has no SignatureMethod",
        "Reference" => "SignedInfo has no Reference",
        "Transforms" => "Reference has no Transforms",
        "DigestMethod" => "Reference has no DigestMethod",
        _ => "Reference has no DigestValue",
    }))?;
    if found.next().is_some() {
        return Err(SamlError::SignatureShape("a signature element is repeated"));
    }
    Ok(first)
}

/// The `PrefixList` of an `ec:InclusiveNamespaces` child of a C14N method or transform.
fn inclusive_prefixes<'a>(method: roxmltree::Node<'a, '_>) -> Vec<&'a str> {
    method
        .children()
        .find(|c| is(*c, ALG_EXC_C14N, "InclusiveNamespaces"))
        .and_then(|c| c.attribute("PrefixList"))
        .map(|list| list.split_ascii_whitespace().collect())
        .unwrap_or_default()
}

/// The `ds:Signature` children of a message element: none, or exactly one.
pub(crate) fn find_signature<'a, 'input>(
    element: roxmltree::Node<'a, 'input>,
) -> Result<Option<roxmltree::Node<'a, 'input>>> {
    let mut signatures = children(element, NS_DSIG, "Signature");
    let first = signatures.next();
    if signatures.next().is_some() {
        return Err(SamlError::SignatureShape("more than one Signature"));
    }
    Ok(first)
}
