//! Renders the engine's OAuth answers: `{"error", "error_description"}` bodies with the status
//! and challenge the engine names, and `Cache-Control: no-store` on everything token-bearing.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use trustplane_idp::oidc::{BearerError, OAuthError};

/// An engine error as an HTTP answer.
#[derive(Debug)]
pub struct OAuthReply(pub OAuthError);

impl From<OAuthError> for OAuthReply {
    fn from(e: OAuthError) -> Self {
        OAuthReply(e)
    }
}

impl From<trustplane_store::StoreError> for OAuthReply {
    fn from(e: trustplane_store::StoreError) -> Self {
        OAuthReply(e.into())
    }
}

/// Headers every token endpoint answer carries (RFC 6749 §5.1).
pub fn no_store(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A JSON body that must not be cached.
pub fn json_no_store(body: serde_json::Value) -> Response {
    let mut r = axum::Json(body).into_response();
    no_store(&mut r);
    r
}

impl IntoResponse for OAuthReply {
    fn into_response(self) -> Response {
        let e = self.0;
        let mut r = (status(e.status()), axum::Json(e.body())).into_response();
        no_store(&mut r);
        if let Some(challenge) = e.challenge() {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if e.status() == 503 {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        r
    }
}

/// A Bearer-token failure at userinfo, with its RFC 6750 challenge.
pub fn bearer_error(e: &BearerError) -> Response {
    let mut r = (status(e.status()), axum::Json(e.body())).into_response();
    no_store(&mut r);
    if let Ok(v) = HeaderValue::from_str(&e.challenge()) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}
