//! OAuth 2.0 errors (RFC 6749 §5.2): `{"error", "error_description"}` bodies for the token,
//! revocation and introspection endpoints, and the Bearer challenge for userinfo (RFC 6750).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use trustplane_store::StoreError;

use trustplane_keyring::KeyRingError;

/// An OAuth error code with its description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The RFC 6749 error code.
    pub code: &'static str,
    /// A human-readable explanation (never a secret).
    pub description: String,
    /// The client authenticated with HTTP Basic: answer 401 with a Basic challenge.
    pub basic_challenge: bool,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            code,
            description: description.into(),
            basic_challenge: false,
        }
    }

    /// `invalid_request`: missing, repeated or malformed parameters.
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", d)
    }

    /// `invalid_client`: client authentication failed.
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", d)
    }

    /// `invalid_grant`: the code, refresh token or credentials are not valid.
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", d)
    }

    /// `unauthorized_client`: this client may not use this grant type.
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", d)
    }

    /// `unsupported_grant_type`.
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", d)
    }

    /// `invalid_scope`.
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", d)
    }

    /// `access_denied`: refused by conditional access.
    pub fn access_denied(d: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "access_denied", d)
    }

    /// `server_error`: our fault; details stay in the log.
    pub fn server_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "an internal error occurred",
        )
    }

    /// `temporarily_unavailable`.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the database is unavailable; retry later",
        )
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                Self::unavailable()
            }
            _ => {
                tracing::error!(error = %e, "store failure");
                Self::server_error()
            }
        }
    }
}

impl From<KeyRingError> for OAuthError {
    fn from(e: KeyRingError) -> Self {
        match e {
            KeyRingError::Store(s) => s.into(),
            KeyRingError::Key(detail) => {
                tracing::error!(%detail, "signing key unusable");
                Self::server_error()
            }
        }
    }
}

/// Headers every token endpoint answer carries (RFC 6749 §5.1).
pub fn no_store(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.code, "error_description": self.description });
        let mut r = (self.status, axum::Json(body)).into_response();
        no_store(&mut r);
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.basic_challenge {
                "Basic realm=\"trustplane\""
            } else {
                "Bearer"
            };
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        r
    }
}

/// A Bearer-token failure at a resource endpoint (userinfo): 401 with the RFC 6750 challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerError {
    /// `invalid_token`, `invalid_request` or `insufficient_scope`.
    pub code: &'static str,
    /// Why.
    pub description: &'static str,
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let status = match self.code {
            "insufficient_scope" => StatusCode::FORBIDDEN,
            "invalid_request" => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNAUTHORIZED,
        };
        let body = json!({ "error": self.code, "error_description": self.description });
        let mut r = (status, axum::Json(body)).into_response();
        no_store(&mut r);
        let challenge = format!(
            "Bearer error=\"{}\", error_description=\"{}\"",
            self.code, self.description
        );
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        r
    }
}
