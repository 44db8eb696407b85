//! The OpenID Connect provider's endpoints: discovery, JWKS, the authorization endpoint (code
//! flow with PKCE), the token endpoint, userinfo, revocation (RFC 7009), introspection (RFC
//! 7662) and RP-initiated logout. The decisions are the engine's (`trustplane_idp::oidc`); these
//! modules read HTTP, call it and render what it answers.

pub(crate) mod authorize;
pub(crate) mod discovery;
pub(crate) mod endpoints;
pub(crate) mod logout;
pub(crate) mod reply;
pub(crate) mod secrets;

// The engine's modules under the paths the endpoints and tests use.
pub use trustplane_idp::oidc::{
    audit, client_auth, clients, jwt, keys, tokens, Oidc, AUTHORIZE_PATH, CODE_TTL_MS,
    ID_TOKEN_TTL_MS, INTROSPECT_PATH, JWKS_PATH, LOGOUT_PATH, REVOKE_PATH, TOKEN_PATH,
    USERINFO_PATH,
};

use axum::routing::{get, post};
use axum::Router;

use crate::server::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route(JWKS_PATH, get(discovery::jwks))
        .route(
            AUTHORIZE_PATH,
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(TOKEN_PATH, post(endpoints::token))
        .route(
            USERINFO_PATH,
            get(endpoints::userinfo).post(endpoints::userinfo),
        )
        .route(REVOKE_PATH, post(endpoints::revoke))
        .route(INTROSPECT_PATH, post(endpoints::introspect))
        .route(
            LOGOUT_PATH,
            get(logout::logout_get).post(logout::logout_post),
        )
        .route(
            "/api/v1/applications/{id}/addPassword",
            post(secrets::add_password),
        )
        .route(
            "/api/v1/applications/{id}/removePassword",
            post(secrets::remove_password),
        )
        .route("/api/v1/oidc/keys/rotate", post(secrets::rotate_keys))
}
