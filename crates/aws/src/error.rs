//! The errors that stop a collection as a whole, and the failures of the write operations
//! (IAM Identity Center account assignments).
//!
//! A failed call for one service and region does not stop a collection: it becomes a
//! `collection_error` document in the inventory. These are the failures before anything can
//! be collected, where returning a partial inventory would present missing data as complete.

use thiserror::Error;

/// Why a collection could not start (or could not cover any account).
#[derive(Debug, Error)]
pub enum AwsError {
    /// The standard credential chain found no credentials (or they were rejected).
    #[error("AWS credentials missing or invalid: {0}")]
    Credentials(String),
    /// The endpoint did not answer (connection refused, DNS, timeout).
    #[error("AWS endpoint unreachable ({endpoint}): {message}")]
    Unreachable {
        /// The endpoint URL override, or "AWS default endpoints".
        endpoint: String,
        /// The transport error.
        message: String,
    },
    /// The first call of the scan (STS GetCallerIdentity or EC2 DescribeRegions) failed.
    #[error("AWS {operation} failed: {message}")]
    Bootstrap {
        /// The failing operation.
        operation: &'static str,
        /// The API error.
        message: String,
    },
    /// The options cannot work (no regions, zero concurrency, a malformed role ARN).
    #[error("invalid collection options: {0}")]
    Options(String),
    /// An IAM Identity Center call was refused, its request FAILED, or it was still in
    /// progress when polling gave up.
    #[error("AWS IAM Identity Center {operation} failed: {reason}")]
    IdentityCenter {
        /// The API operation (`CreateAccountAssignment`, `ListAccountAssignments`, ...).
        operation: &'static str,
        /// One line: the request's FailureReason, the service's error code and message, or
        /// the transport failure.
        reason: String,
    },
    /// An IAM call that changes a role (the policy revoking its sessions) was refused or
    /// did not reach IAM.
    #[error("AWS IAM {operation} failed: {reason}")]
    Iam {
        /// The API operation (`PutRolePolicy`, `GetRolePolicy`, `DeleteRolePolicy`).
        operation: &'static str,
        /// One line: the service's error code and message, or the transport failure.
        reason: String,
    },
}
