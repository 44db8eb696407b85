//! SCIM errors (RFC 7644 §3.12): a typed error that knows its HTTP status and `scimType`, and
//! renders the JSON error body. No HTTP crate: the server adapter turns the number into a status.

use serde_json::{json, Value};

/// The schema URI of a SCIM error message.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// What went wrong, one variant per `scimType` of RFC 7644 Table 9 plus the plain statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimError {
    /// The filter syntax was invalid or the filter is not supported (400 `invalidFilter`).
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    /// The request would return or touch more than the service allows (400 `tooMany`).
    #[error("too many: {0}")]
    TooMany(String),
    /// A value is already used by another resource (409 `uniqueness`).
    #[error("not unique: {0}")]
    Uniqueness(String),
    /// The request tried to change an attribute that cannot be changed (400 `mutability`).
    #[error("mutability: {0}")]
    Mutability(String),
    /// The request body could not be read or lacks a required part (400 `invalidSyntax`).
    #[error("invalid syntax: {0}")]
    InvalidSyntax(String),
    /// The PATCH path is malformed or names an unknown attribute (400 `invalidPath`).
    #[error("invalid path: {0}")]
    InvalidPath(String),
    /// The PATCH path's filter matched nothing (400 `noTarget`).
    #[error("no target: {0}")]
    NoTarget(String),
    /// A value has the wrong type or is missing where required (400 `invalidValue`).
    #[error("invalid value: {0}")]
    InvalidValue(String),
    /// The given version does not match (412 `invalidVers`).
    #[error("version mismatch: {0}")]
    InvalidVers(String),
    /// The resource does not exist (404, no `scimType`).
    #[error("not found: {0}")]
    NotFound(String),
    /// No valid bearer token (401, no `scimType`).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The connection may not touch this resource, e.g. a protected user (403, no `scimType`).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The body is larger than the service reads (413, no `scimType`).
    #[error("too large: {0}")]
    TooLarge(String),
    /// The service failed; the detail must not say why to the client (500, no `scimType`).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ScimError {
    /// The HTTP status number the error is sent with.
    pub fn status(&self) -> u16 {
        match self {
            ScimError::Uniqueness(_) => 409,
            ScimError::InvalidVers(_) => 412,
            ScimError::NotFound(_) => 404,
            ScimError::Unauthorized(_) => 401,
            ScimError::Forbidden(_) => 403,
            ScimError::TooLarge(_) => 413,
            ScimError::Internal(_) => 500,
            _ => 400,
        }
    }

    /// The `scimType` keyword, if the status has one.
    pub fn scim_type(&self) -> Option<&'static str> {
        Some(match self {
            ScimError::InvalidFilter(_) => "invalidFilter",
            ScimError::TooMany(_) => "tooMany",
            ScimError::Uniqueness(_) => "uniqueness",
            ScimError::Mutability(_) => "mutability",
            ScimError::InvalidSyntax(_) => "invalidSyntax",
            ScimError::InvalidPath(_) => "invalidPath",
            ScimError::NoTarget(_) => "noTarget",
            ScimError::InvalidValue(_) => "invalidValue",
            ScimError::InvalidVers(_) => "invalidVers",
            ScimError::NotFound(_)
            | ScimError::Unauthorized(_)
            | ScimError::Forbidden(_)
            | ScimError::TooLarge(_)
            | ScimError::Internal(_) => return None,
        })
    }

    /// The human-readable detail.
    pub fn detail(&self) -> &str {
        match self {
            ScimError::InvalidFilter(d)
            | ScimError::TooMany(d)
            | ScimError::Uniqueness(d)
            | ScimError::Mutability(d)
            | ScimError::InvalidSyntax(d)
            | ScimError::InvalidPath(d)
            | ScimError::NoTarget(d)
            | ScimError::InvalidValue(d)
            | ScimError::InvalidVers(d)
            | ScimError::NotFound(d)
            | ScimError::Unauthorized(d)
            | ScimError::Forbidden(d)
            | ScimError::TooLarge(d)
            | ScimError::Internal(d) => d,
        }
    }

    /// The RFC 7644 §3.12 JSON body; `status` is a string there, as the RFC's examples show.
    pub fn to_body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status().to_string(),
            "detail": self.detail(),
        });
        if let (Some(kind), Some(map)) = (self.scim_type(), body.as_object_mut()) {
            map.insert("scimType".into(), Value::String(kind.into()));
        }
        body
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, ScimError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_schema_status_string_and_type() {
        let e = ScimError::InvalidFilter("unexpected end".into());
        assert_eq!(e.status(), 400);
        assert_eq!(
            e.to_body(),
            json!({"schemas": [ERROR_SCHEMA], "status": "400", "scimType": "invalidFilter",
                   "detail": "unexpected end"})
        );
    }

    #[test]
    fn not_found_has_no_scim_type() {
        let body = ScimError::NotFound("User 1".into()).to_body();
        assert_eq!(body["status"], "404");
        assert!(body.get("scimType").is_none());
        assert_eq!(ScimError::Uniqueness("x".into()).status(), 409);
        for (e, status) in [
            (ScimError::Unauthorized("x".into()), 401),
            (ScimError::Forbidden("x".into()), 403),
            (ScimError::TooLarge("x".into()), 413),
            (ScimError::Internal("x".into()), 500),
            (ScimError::InvalidVers("x".into()), 412),
        ] {
            assert_eq!(e.status(), status);
            assert_eq!(e.to_body()["status"], status.to_string());
        }
    }
}
