//! The token, userinfo, revocation and introspection endpoints: each hands the request's
//! headers and body to the engine and renders its answer.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use trustplane_idp::oidc::client_auth::ClientRequest;
use trustplane_idp::oidc::resource::{self, UserinfoError};
use trustplane_idp::oidc::token;

use super::reply::{bearer_error, json_no_store, no_store, OAuthReply};
use crate::context::RequestContext;
use crate::server::AppState;

fn text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn client_request<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> ClientRequest<'a> {
    ClientRequest {
        authorization: text(headers, header::AUTHORIZATION),
        content_type: text(headers, header::CONTENT_TYPE),
        body,
    }
}

/// `POST /oauth2/token`.
pub async fn token(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = client_request(&headers, &body);
    match token::exchange(&state.oidc, &state.signin, &ctx, req).await {
        Ok(answer) => json_no_store(answer),
        Err(e) => OAuthReply(e).into_response(),
    }
}

/// `GET` or `POST /oauth2/userinfo` with `Authorization: Bearer`.
pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match resource::userinfo(&state.oidc, text(&headers, header::AUTHORIZATION)).await {
        Ok(claims) => json_no_store(claims),
        Err(UserinfoError::Bearer(e)) => bearer_error(&e),
        Err(UserinfoError::OAuth(e)) => OAuthReply(e).into_response(),
    }
}

/// `POST /oauth2/revoke` (RFC 7009): 200 whether or not the token was known.
pub async fn revoke(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match resource::revoke(&state.oidc, &ctx, client_request(&headers, &body)).await {
        Ok(()) => {
            let mut r = StatusCode::OK.into_response();
            no_store(&mut r);
            r
        }
        Err(e) => OAuthReply(e).into_response(),
    }
}

/// `POST /oauth2/introspect` (RFC 7662).
pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match resource::introspect(&state.oidc, client_request(&headers, &body)).await {
        Ok(answer) => json_no_store(answer),
        Err(e) => OAuthReply(e).into_response(),
    }
}
