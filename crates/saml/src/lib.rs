//! The SAML 2.0 identity-provider core of Trustplane: Web Browser SSO over the HTTP-Redirect
//! and HTTP-POST bindings.
//!
//! Pure functions over strings and bytes: no HTTP, no database, no system clock (every time is
//! an argument). The server wires them into its endpoints.
//!
//! | module | job |
//! |---|---|
//! | [`keys`] | the IdP's RSA-2048 signing key and self-signed certificate; SP certificates |
//! | [`request`] | `AuthnRequest` from HTTP-Redirect (with its query signature) and HTTP-POST (with its XML signature), size- and depth-capped |
//! | [`metadata`] | reading SP metadata, choosing the ACS; writing IdP metadata |
//! | [`response`] | signed responses (assertion, response or both signed) and refusals |
//! | [`binding`] | the auto-submitting HTTP-POST form |
//!
//! Signatures are RSA-SHA256 with SHA-256 digests and exclusive C14N, only. The XML this crate
//! writes is already canonical, so signing runs no canonicaliser; the canonicaliser that checks
//! SPs' POST signatures works on `roxmltree`'s parse of the message, which refuses DTDs.
//!
//! ```
//! use time::{Duration, OffsetDateTime};
//! use trustplane_saml::{build_response, new_id, parse_post, Attribute, ResponseParams, SigningKey};
//!
//! # fn main() -> Result<(), trustplane_saml::SamlError> {
//! let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).map_err(|_| trustplane_saml::SamlError::Random)?;
//! let key = SigningKey::generate("idp.example", now, now + Duration::days(365))?;
//! let params = ResponseParams {
//!     response_id: new_id()?,
//!     assertion_id: new_id()?,
//!     issue_instant: now,
//!     issuer: "https://idp.example/saml".into(),
//!     destination: "https://sp.example/acs".into(),
//!     in_response_to: Some("_req1".into()),
//!     audience: "https://sp.example".into(),
//!     name_id: "ada@example.com".into(),
//!     name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into(),
//!     session_index: new_id()?,
//!     session_not_on_or_after: None,
//!     authn_instant: now,
//!     authn_context_class_ref: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport".into(),
//!     not_before: now - Duration::minutes(1),
//!     not_on_or_after: now + Duration::minutes(5),
//!     attributes: vec![Attribute {
//!         name: "groups".into(),
//!         name_format: None,
//!         friendly_name: None,
//!         values: vec!["admins".into(), "staff".into()],
//!     }],
//!     sign_assertion: true,
//!     sign_response: false,
//! };
//! let xml = build_response(&params, &key)?;
//! assert!(xml.starts_with("<samlp:Response"));
//! // Requests that are not AuthnRequests are refused.
//! assert!(parse_post("PHg+PC94Pg==", None).is_err());
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod binding;
mod c14n;
mod der;
mod dsig;
mod error;
pub mod keys;
pub mod metadata;
pub mod request;
pub mod response;
mod xml;

pub use binding::post_form;
pub use dsig::XmlSignature;
pub use error::{Result, SamlError};
pub use keys::{Certificate, SigningKey};
pub use metadata::{AcsEndpoint, IdpMetadata, SpMetadata};
pub use request::{
    encode_redirect, parse_post, parse_redirect, AuthnRequest, PostRequest, RedirectRequest,
    RedirectSignature,
};
pub use response::{
    build_response, build_status_response, new_id, Attribute, Refusal, ResponseParams, StatusParams,
};
pub use xml::{
    ALG_EXC_C14N, ALG_RSA_SHA1, ALG_RSA_SHA256, ALG_SHA256, BINDING_POST, BINDING_REDIRECT,
    NS_ASSERTION, NS_DSIG, NS_METADATA, NS_PROTOCOL,
};
