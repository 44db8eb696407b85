//! The OpenID Connect provider's engine parts that know nothing of HTTP: the client registry
//! read from an application's `settings.oidc` ([`clients`]), the signing keys ([`keys`]),
//! compact JWS encoding and checking ([`jwt`]) and the token endpoint's small checks
//! ([`grant`]). The endpoints stay in the server.

pub mod clients;
pub mod grant;
pub mod jwt;
pub mod keys;
