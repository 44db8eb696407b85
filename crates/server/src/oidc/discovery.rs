//! Discovery (OpenID Connect Discovery 1.0) and the JWKS.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::clients::USER_SCOPES;
use super::reply::OAuthReply;
use super::tokens::{ACR_MFA, ACR_SINGLE};
use super::{
    AUTHORIZE_PATH, INTROSPECT_PATH, JWKS_PATH, LOGOUT_PATH, REVOKE_PATH, TOKEN_PATH, USERINFO_PATH,
};
use crate::server::AppState;

const AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];

/// `GET /.well-known/openid-configuration`.
pub async fn configuration(State(state): State<AppState>) -> Response {
    let o = &state.oidc;
    let body = json!({
        "issuer": o.issuer(),
        "authorization_endpoint": o.url(AUTHORIZE_PATH),
        "token_endpoint": o.url(TOKEN_PATH),
        "userinfo_endpoint": o.url(USERINFO_PATH),
        "jwks_uri": o.url(JWKS_PATH),
        "revocation_endpoint": o.url(REVOKE_PATH),
        "introspection_endpoint": o.url(INTROSPECT_PATH),
        "end_session_endpoint": o.url(LOGOUT_PATH),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", "password"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256"],
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": USER_SCOPES,
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr", "azp", "sid",
            "at_hash", "name", "given_name", "family_name", "preferred_username", "email", "groups"
        ],
        "acr_values_supported": [ACR_MFA, ACR_SINGLE],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    });
    let mut r = axum::Json(body).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

/// `GET /oauth2/jwks`: every published key of both rings (signing now, or retired within its
/// overlap).
pub async fn jwks(State(state): State<AppState>) -> Response {
    match state.oidc.jwks().await {
        Ok(set) => {
            let mut r = axum::Json(set).into_response();
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            );
            r
        }
        Err(e) => OAuthReply(e.into()).into_response(),
    }
}
