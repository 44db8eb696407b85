//! Trustplane's provisioning engines, free of HTTP: the inbound SCIM 2.0 service (RFC 7643,
//! RFC 7644) and outbound provisioning into AWS IAM Identity Center ([`outbound`]).
//! The server's `/scim/v2` routes will parse requests into these types, call the store, and
//! send back what this crate renders; the rules (filters, PATCH, paging, errors) live here.
#![deny(missing_docs)]

pub mod canonical;
pub mod connections;
pub mod discovery;
pub mod entra;
pub mod error;
pub mod filter;
pub mod list;
pub mod outbound;
pub mod patch;
mod request;
pub mod resources;
pub mod schema;
pub mod service;

pub use error::{Result, ScimError};
pub use schema::ResourceKind;

/// Bounds on what a client may send, checked before any recursion or allocation they drive.
pub mod limits {
    /// Longest filter expression, in bytes.
    pub const MAX_FILTER_LEN: usize = 4 * 1024;
    /// Deepest nesting of parentheses, `not` and value filters in a filter.
    pub const MAX_FILTER_DEPTH: usize = 32;
    /// Most operations in one PATCH request; more are refused whole.
    pub const MAX_PATCH_OPERATIONS: usize = 1_000;
    /// Longest PATCH path, in bytes.
    pub const MAX_PATH_LEN: usize = 1024;
    /// Longest string attribute value, in bytes. Below the directory's 4 KiB per attribute,
    /// so a value kept in a user's attributes always fits there.
    pub const MAX_STRING_LEN: usize = 1024;
    /// Most values of one multi-valued attribute (group members included).
    pub const MAX_MULTI_VALUES: usize = 10_000;
    /// Largest `count` a list request gets; larger asks are capped to it.
    pub const MAX_PAGE_SIZE: usize = 200;
}
