//! The one error type of the crate.
//!
//! Every parser failure names what was wrong so that the server can log it and answer the
//! browser with a plain refusal; messages quote at most a short, truncated piece of the input.

/// A SAML message, metadata document, key or certificate was refused, or a response could not
/// be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SamlError {
    /// An input is larger than this crate accepts (checked before any work is done, and while
    /// inflating, so a deflate bomb is cut short).
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// Which input (`SAMLRequest`, inflated request, metadata...).
        what: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
    /// The XML has more of something than this crate accepts (attributes on one element,
    /// namespace declarations): shapes that would make parsing cost grow quadratically.
    #[error("XML has too many {what} (limit {limit})")]
    TooMany {
        /// What there are too many of.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The XML nests elements deeper than this crate accepts.
    #[error("XML nests elements deeper than the limit of {limit}")]
    TooDeep {
        /// The limit on element depth.
        limit: usize,
    },
    /// The HTTP-Redirect query string is malformed.
    #[error("malformed query string: {0}")]
    Query(String),
    /// A base64 value could not be decoded.
    #[error("{0} is not valid base64")]
    Base64(&'static str),
    /// The HTTP-Redirect `SAMLRequest` is not valid raw DEFLATE data.
    #[error("SAMLRequest is not valid raw DEFLATE data")]
    Inflate,
    /// The decoded message is not UTF-8.
    #[error("{0} is not UTF-8")]
    NotUtf8(&'static str),
    /// The XML is not well formed, or uses a DTD (refused: no entity expansion, no external
    /// entities).
    #[error("XML refused: {0}")]
    Xml(String),
    /// The document element is not the one expected (name and namespace are both checked).
    #[error("expected root element {expected}, found {found}")]
    WrongRoot {
        /// `{namespace}LocalName` expected.
        expected: &'static str,
        /// `{namespace}LocalName` found.
        found: String,
    },
    /// The message is not SAML 2.0.
    #[error("unsupported SAML version {0:?}: only 2.0 is accepted")]
    UnsupportedVersion(String),
    /// A required attribute is absent.
    #[error("{element} has no {attribute} attribute")]
    MissingAttribute {
        /// The element.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
    },
    /// A required element is absent.
    #[error("{0} is missing")]
    MissingElement(&'static str),
    /// A value is present but not acceptable (not a boolean, not a number, not a time...).
    #[error("{what} has an invalid value {value:?}")]
    InvalidValue {
        /// What the value is.
        what: &'static str,
        /// The value, truncated.
        value: String,
    },
    /// The message contradicts a rule of SAML core or metadata (e.g. both an ACS URL and an
    /// ACS index).
    #[error("invalid message: {0}")]
    Invalid(&'static str),
    /// The signature algorithm is not RSA-SHA256 (rsa-sha1 is refused on purpose).
    #[error("signature algorithm {0:?} is refused: only rsa-sha256 is accepted")]
    UnsupportedAlgorithm(String),
    /// An XML signature does not have the shape this crate verifies (one reference to the
    /// signed element, enveloped-signature and exclusive c14n transforms, SHA-256).
    #[error("XML signature refused: {0}")]
    SignatureShape(&'static str),
    /// The digest of the signed element does not match the signature's `DigestValue`.
    #[error("digest of the signed element does not match: the message was altered")]
    DigestMismatch,
    /// No given certificate verifies the signature.
    #[error("signature does not verify with any of the {0} certificate(s) given")]
    BadSignature(usize),
    /// A certificate could not be read, or its key is not RSA.
    #[error("certificate refused: {0}")]
    Certificate(&'static str),
    /// A private key could not be read or used.
    #[error("signing key refused: {0}")]
    Key(&'static str),
    /// A value given to a builder cannot appear in XML 1.0 (a control character).
    #[error("{0} contains a character that XML 1.0 cannot carry")]
    UnrepresentableChar(&'static str),
    /// A time cannot be written as an `xs:dateTime` in UTC with a four-digit year.
    #[error("{0} is out of the range of years 0000 to 9999")]
    TimeOutOfRange(&'static str),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

/// The crate's result type.
pub type Result<T, E = SamlError> = std::result::Result<T, E>;

/// Shortens input quoted in an error, so that a hostile message cannot flood the logs.
pub(crate) fn excerpt(value: &str) -> String {
    const MAX: usize = 64;
    match value.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &value[..end]),
        None => value.to_owned(),
    }
}
