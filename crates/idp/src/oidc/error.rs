//! OAuth 2.0 errors (RFC 6749 §5.2) of the token, revocation and introspection endpoints, and
//! Bearer-token failures of userinfo (RFC 6750). The HTTP status follows from the code, so the
//! server's adapter renders an error without deciding anything.

use serde_json::{json, Value};
use trustplane_store::StoreError;

use trustplane_keyring::KeyRingError;

/// An OAuth error code with its description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    /// The RFC 6749 error code.
    pub code: &'static str,
    /// A human-readable explanation (never a secret).
    pub description: String,
    /// The client authenticated with HTTP Basic: answer 401 with a Basic challenge.
    pub basic_challenge: bool,
}

impl OAuthError {
    fn new(code: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            basic_challenge: false,
        }
    }

    /// `invalid_request`: missing, repeated or malformed parameters.
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", d)
    }

    /// `invalid_client`: client authentication failed.
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new("invalid_client", d)
    }

    /// `invalid_grant`: the code, refresh token or credentials are not valid.
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", d)
    }

    /// `unauthorized_client`: this client may not use this grant type.
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new("unauthorized_client", d)
    }

    /// `unsupported_grant_type`.
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::new("unsupported_grant_type", d)
    }

    /// `invalid_scope`.
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new("invalid_scope", d)
    }

    /// `access_denied`: refused by conditional access.
    pub fn access_denied(d: impl Into<String>) -> Self {
        Self::new("access_denied", d)
    }

    /// `server_error`: our fault; details stay in the log.
    pub fn server_error() -> Self {
        Self::new("server_error", "an internal error occurred")
    }

    /// `temporarily_unavailable`.
    pub fn unavailable() -> Self {
        Self::busy("the database is unavailable; retry later")
    }

    /// `temporarily_unavailable`, saying why.
    pub fn busy(d: impl Into<String>) -> Self {
        Self::new("temporarily_unavailable", d)
    }

    /// The HTTP status of the answer (RFC 6749 §5.2: 400 unless the client failed to
    /// authenticate; RFC 6750 for refusals by policy; 5xx for our side).
    pub fn status(&self) -> u16 {
        match self.code {
            "invalid_client" => 401,
            "access_denied" => 403,
            "server_error" => 500,
            "temporarily_unavailable" => 503,
            _ => 400,
        }
    }

    /// The `WWW-Authenticate` challenge a 401 carries.
    pub fn challenge(&self) -> Option<&'static str> {
        (self.status() == 401).then_some(if self.basic_challenge {
            "Basic realm=\"trustplane\""
        } else {
            "Bearer"
        })
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({ "error": self.code, "error_description": self.description })
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

/// A Bearer-token failure at a resource endpoint (userinfo, RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerError {
    /// `invalid_token`, `invalid_request` or `insufficient_scope`.
    pub code: &'static str,
    /// Why.
    pub description: &'static str,
}

impl BearerError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self.code {
            "insufficient_scope" => 403,
            "invalid_request" => 400,
            _ => 401,
        }
    }

    /// The `WWW-Authenticate` challenge.
    pub fn challenge(&self) -> String {
        format!(
            "Bearer error=\"{}\", error_description=\"{}\"",
            self.code, self.description
        )
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({ "error": self.code, "error_description": self.description })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_codes() {
        assert_eq!(OAuthError::invalid_request("x").status(), 400);
        assert_eq!(OAuthError::invalid_grant("x").status(), 400);
        assert_eq!(OAuthError::invalid_client("x").status(), 401);
        assert_eq!(OAuthError::access_denied("x").status(), 403);
        assert_eq!(OAuthError::server_error().status(), 500);
        assert_eq!(OAuthError::busy("x").status(), 503);
    }

    #[test]
    fn only_a_client_failure_challenges_and_basic_only_when_basic_was_used() {
        assert_eq!(OAuthError::invalid_grant("x").challenge(), None);
        assert_eq!(OAuthError::invalid_client("x").challenge(), Some("Bearer"));
        let basic = OAuthError {
            basic_challenge: true,
            ..OAuthError::invalid_client("x")
        };
        assert_eq!(basic.challenge(), Some("Basic realm=\"trustplane\""));
    }
}
