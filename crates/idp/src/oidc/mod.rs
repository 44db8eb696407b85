//! The OpenID Connect provider's engine, free of HTTP: the client registry read from an
//! application's `settings.oidc` ([`clients`]), the signing keys ([`keys`]), compact JWS
//! ([`jwt`]), client authentication ([`client_auth`]), the token endpoint's grants
//! ([`token`]), what tokens carry ([`tokens`]), userinfo, revocation and introspection
//! ([`resource`]) and the audit entries of all of it ([`audit`]). The server's endpoints parse
//! HTTP, call these and render the answer.
//!
//! Conditional access decides at every authorization and every refresh, and every code and
//! token issued or refused is an audit entry. ID tokens are signed with ES256 by default or
//! RS256 per client; access tokens are ES256 JWTs (`typ: at+jwt`) whose revocation the
//! provider tracks, so userinfo and introspection answer for them exactly.

pub mod audit;
pub mod authorize;
pub mod client_auth;
pub mod clients;
pub mod credentials;
pub mod error;
pub mod grant;
pub mod jwt;
pub mod keys;
pub mod logout;
mod provider;
pub mod resource;
pub mod token;
pub mod tokens;

pub use error::{BearerError, OAuthError};
pub use provider::Oidc;

/// Path of the authorization endpoint.
pub const AUTHORIZE_PATH: &str = "/oauth2/authorize";
/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/oauth2/token";
/// Path of the userinfo endpoint.
pub const USERINFO_PATH: &str = "/oauth2/userinfo";
/// Path of the JWKS.
pub const JWKS_PATH: &str = "/oauth2/jwks";
/// Path of the revocation endpoint.
pub const REVOKE_PATH: &str = "/oauth2/revoke";
/// Path of the introspection endpoint.
pub const INTROSPECT_PATH: &str = "/oauth2/introspect";
/// Path of the end-session (RP-initiated logout) endpoint.
pub const LOGOUT_PATH: &str = "/oauth2/logout";

/// How long an authorization code may be redeemed.
pub const CODE_TTL_MS: i64 = 60 * 1000;
/// How long an ID token is valid.
pub const ID_TOKEN_TTL_MS: i64 = 10 * 60 * 1000;
