//! Errors: [`AzureError`] stops a collection; [`CallError`] is one failed call, recorded as a
//! `collection_error` document instead.

use std::fmt;

/// Why a collection could not run at all. Anything narrower (one list, one resource) becomes a
/// `collection_error` document so that the assessment reports ERROR for what it lacks.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    /// The OAuth2 token endpoint refused the service principal.
    #[error("token endpoint {url} refused the credentials (HTTP {status}): {message}")]
    Token {
        /// The token URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// `error_description` (or the body) of the response.
        message: String,
    },
    /// Resource Manager or the token endpoint could not be reached at all.
    #[error("cannot reach {url}: {message}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// The transport error with its causes.
        message: String,
    },
    /// 401 or 403 on the subscription list: the token is expired, has the wrong audience, or
    /// the principal has no role on any subscription.
    #[error(
        "{url}: HTTP {status}, not authorised (expired token or missing Reader role?): {message}"
    )]
    Unauthorized {
        /// The URL called.
        url: String,
        /// 401 or 403.
        status: u16,
        /// The ARM error message.
        message: String,
    },
    /// The subscription list (or a named subscription) could not be read.
    #[error("cannot list subscriptions: {0}")]
    Subscriptions(String),
    /// The options are unusable (bad endpoint URL, empty credential, ...).
    #[error("invalid options: {0}")]
    Options(String),
    /// An argument of a call was rejected before any request was sent.
    #[error("invalid {what}: {message}")]
    InvalidInput {
        /// Which argument (`scope`, `role definition id`, `principal id`).
        what: &'static str,
        /// Why, quoting the value.
        message: String,
    },
    /// Resource Manager refused a request (after retries for 429/503).
    #[error("{call}: HTTP {status}: {message}")]
    Arm {
        /// Method and path of the request, without host or query.
        call: String,
        /// HTTP status.
        status: u16,
        /// ARM's `error.code`, when the body had one (`PrincipalNotFound`, ...).
        code: Option<String>,
        /// ARM's `error.code: error.message` (or the start of the body).
        message: String,
    },
    /// Resource Manager answered success with a body not in the documented shape.
    #[error("{call}: malformed response: {message}")]
    Malformed {
        /// Method and path of the request, without host or query.
        call: String,
        /// What was wrong with it.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// One failed call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CallError {
    /// A non-success HTTP status (after retries for 429/503).
    Status {
        status: u16,
        /// ARM's or Graph's `error.code`, if any.
        code: Option<String>,
        message: String,
    },
    /// Connection refused, timeout, TLS, ...
    Transport(String),
    /// The body is not JSON, or not the shape expected.
    Body(String),
}

impl CallError {
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, CallError::Status { status: 404, .. })
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Status {
                status, message, ..
            } => write!(f, "HTTP {status}: {message}"),
            CallError::Transport(m) => write!(f, "transport error: {m}"),
            CallError::Body(m) => write!(f, "malformed response: {m}"),
        }
    }
}

/// An error with its chain of causes on one line (reqwest's own message names only the URL).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
