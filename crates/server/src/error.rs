//! One error type for every handler, rendered as an RFC 9457 problem document.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use trustplane_idp::signin::SignInError;
use trustplane_keyring::KeyRingError;
use trustplane_store::StoreError;

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    title: &'static str,
    detail: String,
    /// The field at fault, when one is.
    field: Option<String>,
    /// Seconds for `Retry-After` (429 and 503).
    retry_after_secs: Option<u64>,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// An error with a status, a short title and a detail message.
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            title,
            detail: detail.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    /// Says when to try again (`Retry-After`, in seconds).
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// 400: the request is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", detail)
    }

    /// 401: no valid credentials.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "a valid bearer token is required",
        )
    }

    /// 403: authenticated but not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", detail)
    }

    /// 404: no such route or object.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", detail)
    }

    /// Names the field at fault.
    pub fn set_field(&mut self, field: &str) {
        self.field = Some(field.to_string());
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What went wrong, in one sentence (for pages that show it next to a form).
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::NotFound { .. } => Self::not_found(e.to_string()),
            StoreError::MissingReference { field, .. } => ApiError {
                field: Some((*field).to_string()),
                ..Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Unknown reference",
                    e.to_string(),
                )
            },
            StoreError::Conflict(_) => Self::new(StatusCode::CONFLICT, "Conflict", e.to_string()),
            StoreError::Invalid { field, .. } => ApiError {
                field: Some((*field).to_string()),
                ..Self::bad_request(e.to_string())
            },
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service unavailable",
                    "the database is unavailable; retry later",
                )
            }
            _ => {
                // Details stay in the log; the client learns only that it was our fault.
                tracing::error!(error = %e, "store failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "an internal error occurred",
                )
            }
        }
    }
}

impl From<trustplane_monitor::timeline::TimelineError> for ApiError {
    fn from(e: trustplane_monitor::timeline::TimelineError) -> Self {
        use trustplane_monitor::timeline::TimelineError;
        match e {
            TimelineError::Invalid { field, message } => ApiError {
                field: Some(field.to_string()),
                ..Self::bad_request(format!("{field}: {message}"))
            },
            TimelineError::Store(e) => e.into(),
        }
    }
}

impl From<trustplane_idp::admin::AccessError> for ApiError {
    fn from(e: trustplane_idp::admin::AccessError) -> Self {
        match e {
            trustplane_idp::admin::AccessError::Denied(reason) => ApiError::forbidden(reason),
            trustplane_idp::admin::AccessError::Store(e) => e.into(),
        }
    }
}

impl From<trustplane_idp::directory::DirectoryError> for ApiError {
    fn from(e: trustplane_idp::directory::DirectoryError) -> Self {
        use trustplane_idp::directory::DirectoryError;
        match e {
            DirectoryError::Access(e) => e.into(),
            DirectoryError::Store(e) => e.into(),
            DirectoryError::SignIn(e) => e.into(),
            DirectoryError::Password(m) => ApiError::bad_request(m),
            e @ DirectoryError::SourceOwned { .. } => {
                let field = match &e {
                    DirectoryError::SourceOwned { fields, .. } => fields.first().cloned(),
                    _ => None,
                };
                let mut api = ApiError::new(
                    StatusCode::CONFLICT,
                    "Source-owned attribute",
                    e.to_string(),
                );
                if let Some(f) = field {
                    api.set_field(&f);
                }
                api
            }
        }
    }
}

impl From<trustplane_idp::oidc::credentials::CredentialError> for ApiError {
    fn from(e: trustplane_idp::oidc::credentials::CredentialError) -> Self {
        use trustplane_idp::oidc::credentials::CredentialError;
        match e {
            CredentialError::Access(e) => e.into(),
            CredentialError::Store(e) => e.into(),
            CredentialError::Keys(e) => e.into(),
            CredentialError::Invalid { field, message } => {
                let mut api = ApiError::bad_request(message);
                api.set_field(field);
                api
            }
        }
    }
}

impl From<trustplane_discovery::service::ServiceError> for ApiError {
    fn from(e: trustplane_discovery::service::ServiceError) -> Self {
        use trustplane_discovery::review::ReviewError;
        use trustplane_discovery::service::ServiceError;
        match e {
            ServiceError::Invalid(e) => {
                let field = match &e {
                    ReviewError::Invalid { field, .. } => Some(field.to_string()),
                    _ => None,
                };
                let mut api = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid input",
                    e.to_string(),
                );
                if let Some(f) = field {
                    api.set_field(&f);
                }
                api
            }
            ServiceError::BadRequest(m) => ApiError::bad_request(m),
            e @ ServiceError::NotFound(_) => ApiError::not_found(e.to_string()),
            ServiceError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "Conflict", m),
            ServiceError::Store(e) => e.into(),
        }
    }
}

impl From<trustplane_idp::api_tokens::TokenError> for ApiError {
    fn from(e: trustplane_idp::api_tokens::TokenError) -> Self {
        use trustplane_idp::api_tokens::TokenError;
        match e {
            TokenError::Access(e) => e.into(),
            TokenError::Store(e) => e.into(),
            e @ TokenError::Description => ApiError::bad_request(e.to_string()),
        }
    }
}

impl From<KeyRingError> for ApiError {
    fn from(e: KeyRingError) -> Self {
        match e {
            KeyRingError::Store(e) => e.into(),
            // Details stay in the log: they may say which key failed and why.
            KeyRingError::Key(detail) => {
                tracing::error!(%detail, "signing key unusable");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Signing key unavailable",
                    "the server cannot sign right now",
                )
            }
        }
    }
}

impl From<trustplane_idp::saml_app::SamlError> for ApiError {
    fn from(e: trustplane_idp::saml_app::SamlError) -> Self {
        use trustplane_idp::saml_app::SamlError;
        match e {
            SamlError::Store(e) => e.into(),
            SamlError::Keys(e) => e.into(),
            SamlError::Build(message) => ApiError::bad_request(message),
        }
    }
}

impl From<trustplane_idp::ca_admin::PolicyChangeError> for ApiError {
    fn from(e: trustplane_idp::ca_admin::PolicyChangeError) -> Self {
        use trustplane_idp::ca_admin::PolicyChangeError;
        match e {
            PolicyChangeError::Invalid { detail, field } => {
                let mut err = ApiError::bad_request(detail);
                if let Some(f) = field {
                    err.set_field(&f);
                }
                err
            }
            PolicyChangeError::WouldLockOut(message) => {
                ApiError::new(StatusCode::CONFLICT, "Conflict", message)
            }
            PolicyChangeError::Store(e) => e.into(),
        }
    }
}

impl From<trustplane_idp::app_settings::SettingsError> for ApiError {
    fn from(e: trustplane_idp::app_settings::SettingsError) -> Self {
        let mut err = ApiError::bad_request(e.message);
        if let Some(field) = e.field {
            err.set_field(&field);
        }
        err
    }
}

impl From<SignInError> for ApiError {
    fn from(e: SignInError) -> Self {
        let retry = e.retry_after_secs();
        let error = match e {
            SignInError::InvalidCredentials | SignInError::InvalidCode => {
                ApiError::new(StatusCode::UNAUTHORIZED, "Sign-in failed", e.to_string())
            }
            SignInError::RateLimited { .. } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                e.to_string(),
            ),
            SignInError::Locked => {
                ApiError::new(StatusCode::FORBIDDEN, "Account locked", e.to_string())
            }
            SignInError::Busy { .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Server busy",
                e.to_string(),
            ),
            SignInError::Expired => {
                ApiError::new(StatusCode::GONE, "Sign-in expired", e.to_string())
            }
            SignInError::DirectoryUnavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Directory unavailable",
                e.to_string(),
            ),
            SignInError::Blocked(_) => ApiError::forbidden(e.to_string()),
            SignInError::BadRequest(m) => ApiError::bad_request(m),
            SignInError::Store(s) => s.into(),
        };
        match retry {
            Some(secs) => error.with_retry_after(secs),
            None => error,
        }
    }
}

impl From<crate::pim::PimError> for ApiError {
    fn from(e: crate::pim::PimError) -> Self {
        use crate::pim::PimError;
        match e {
            PimError::Invalid { field, detail } => {
                let mut error = ApiError::bad_request(detail);
                error.set_field(field);
                error
            }
            PimError::Forbidden(detail) => ApiError::forbidden(detail),
            PimError::MfaRequired(detail) => {
                ApiError::new(StatusCode::UNAUTHORIZED, "MFA required", detail)
            }
            PimError::Conflict(detail) => ApiError::new(StatusCode::CONFLICT, "Conflict", detail),
            PimError::UnknownReference { field, detail } => {
                let mut error = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Unknown reference",
                    detail,
                );
                error.set_field(field);
                error
            }
            PimError::SignIn(e) => e.into(),
            PimError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: "about:blank",
            title: self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
            field: self.field.as_deref(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match self.retry_after_secs {
            Some(secs) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            None if self.status == StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            None => {}
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
