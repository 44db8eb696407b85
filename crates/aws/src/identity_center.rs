//! Just-in-time privileged access through AWS IAM Identity Center: account assignments (a
//! user or group, a permission set, an AWS account) granted and removed on request, and
//! listed for reconciliation.
//!
//! Identity Center applies assignments asynchronously: `CreateAccountAssignment` and
//! `DeleteAccountAssignment` return a request that is `IN_PROGRESS`, and its status is polled
//! until it `SUCCEEDED` or `FAILED`. Both directions are idempotent, so a grant or a
//! revocation retried after a crash does not fail: an assignment that is already in place
//! is granted, one that is not there is removed.
//!
//! The calls need these permissions in the account that holds the Identity Center instance
//! (besides what AWS requires to provision the permission set in the target account):
//! `sso:CreateAccountAssignment`, `sso:DescribeAccountAssignmentCreationStatus`,
//! `sso:DeleteAccountAssignment`, `sso:DescribeAccountAssignmentDeletionStatus`,
//! `sso:ListAccountAssignments` and `sso:DescribePermissionSet`.
//!
//! ```no_run
//! # async fn run() -> Result<(), trustplane_aws::AwsError> {
//! use trustplane_aws::identity_center::{
//!     AccountAssignment, ConnectOptions, IdentityCenter, PrincipalType,
//! };
//! let center = IdentityCenter::connect(&ConnectOptions {
//!     region: "eu-west-1".into(),
//!     ..Default::default()
//! })
//! .await;
//! let grant = AccountAssignment {
//!     instance_arn: "arn:aws:sso:::instance/ssoins-0123456789abcdef".into(),
//!     permission_set_arn: "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef".into(),
//!     account_id: "111111111111".into(),
//!     principal_type: PrincipalType::User,
//!     principal_id: "906745e4f6-1c2a3b4c-5d6e-7f80-9a0b-1c2d3e4f5a6b".into(),
//! };
//! center.assign(&grant).await?;
//! // ... the access window ends:
//! center.unassign(&grant).await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::time::Duration;

use aws_sdk_ssoadmin::types::{
    AccountAssignmentOperationStatus, PrincipalType as SdkPrincipalType, StatusValues, TargetType,
};
use aws_sdk_ssoadmin::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::common::describe;
use crate::{client, AwsError, CollectOptions};

/// The session name of the assumed role (shows in the CloudTrail of the Identity Center
/// account).
const ROLE_SESSION_NAME: &str = "trustplane-identity-center";

/// How often the status of a request is asked for, by default.
const DEFAULT_POLL_EVERY: Duration = Duration::from_secs(1);

/// How many times the status is asked for before giving up, by default (two minutes at the
/// default interval).
const DEFAULT_MAX_POLLS: u32 = 120;

/// Longest failure reason kept in an error (AWS messages are short; this bounds a runaway
/// body).
const MAX_REASON_CHARS: usize = 500;

/// Where the Identity Center instance is and how to reach it.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Send every call to this URL instead of the AWS endpoints (tests: the moto server).
    pub endpoint_url: Option<String>,
    /// The region the Identity Center instance lives in.
    pub region: String,
    /// A role to assume first (in the account that administers Identity Center); `None`
    /// uses the standard credential chain as it is.
    pub role_arn: Option<String>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            endpoint_url: None,
            region: "us-east-1".to_string(),
            role_arn: None,
        }
    }
}

/// Who an assignment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrincipalType {
    /// An Identity Center user.
    User,
    /// An Identity Center group.
    Group,
}

impl PrincipalType {
    /// The API's name for it (`USER`, `GROUP`).
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::User => "USER",
            PrincipalType::Group => "GROUP",
        }
    }

    fn to_sdk(self) -> SdkPrincipalType {
        match self {
            PrincipalType::User => SdkPrincipalType::User,
            PrincipalType::Group => SdkPrincipalType::Group,
        }
    }

    fn from_sdk(p: &SdkPrincipalType) -> Option<Self> {
        match p {
            SdkPrincipalType::User => Some(PrincipalType::User),
            SdkPrincipalType::Group => Some(PrincipalType::Group),
            _ => None,
        }
    }
}

impl fmt::Display for PrincipalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One account assignment: a principal holds a permission set in an AWS account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountAssignment {
    /// The Identity Center instance (`arn:aws:sso:::instance/ssoins-...`).
    pub instance_arn: String,
    /// The permission set (`arn:aws:sso:::permissionSet/ssoins-.../ps-...`).
    pub permission_set_arn: String,
    /// The AWS account the access is to (12 digits).
    pub account_id: String,
    /// Whether the principal is a user or a group.
    pub principal_type: PrincipalType,
    /// The user's or group's id in the Identity Center identity store.
    pub principal_id: String,
}

/// A client for the account assignments of one Identity Center region.
#[derive(Debug, Clone)]
pub struct IdentityCenter {
    client: Client,
    every: Duration,
    max_polls: u32,
}

/// Where an asynchronous request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    InProgress,
    Succeeded,
    Failed(String),
}

/// How a request ended (a timeout or an API error is an `Err`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    Failed(String),
}

impl IdentityCenter {
    /// A client with the standard credential chain (then `role_arn` assumed, if set), the
    /// collector's retries and HTTP client, polling every second for up to two minutes.
    ///
    /// Nothing is called yet: missing credentials or an unreachable endpoint show in the
    /// first operation's error.
    pub async fn connect(options: &ConnectOptions) -> IdentityCenter {
        let base = client::base_config(&CollectOptions {
            endpoint_url: options.endpoint_url.clone(),
            home_region: options.region.clone(),
            ..Default::default()
        })
        .await;
        let conf = match &options.role_arn {
            Some(role) => client::assumed(&base, role, ROLE_SESSION_NAME).await,
            None => base,
        };
        IdentityCenter {
            client: Client::new(&conf),
            every: DEFAULT_POLL_EVERY,
            max_polls: DEFAULT_MAX_POLLS,
        }
    }

    /// Test hook: poll interval and maximum number of polls of the asynchronous status.
    pub fn with_polling(self, every: Duration, max_polls: u32) -> Self {
        IdentityCenter {
            every,
            max_polls,
            ..self
        }
    }

    /// CreateAccountAssignment, then DescribeAccountAssignmentCreationStatus polled until
    /// SUCCEEDED (Ok) or FAILED (Err with the FailureReason). Already assigned counts as
    /// success (idempotent: a retry after a crash must not fail).
    ///
    /// An assignment already listed is not created again. A request that fails or
    /// conflicts is checked against the listing too: if the assignment is there (made by a
    /// concurrent request) the grant stands.
    pub async fn assign(&self, a: &AccountAssignment) -> Result<(), AwsError> {
        if self.exists(a).await? {
            return Ok(());
        }
        let created = self
            .client
            .create_account_assignment()
            .instance_arn(&a.instance_arn)
            .target_id(&a.account_id)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(&a.permission_set_arn)
            .principal_type(a.principal_type.to_sdk())
            .principal_id(&a.principal_id)
            .send()
            .await;
        let status = match created {
            Ok(out) => out.account_assignment_creation_status().cloned(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()) =>
            {
                let err = api_error("CreateAccountAssignment", &e);
                return if self.exists(a).await? {
                    Ok(())
                } else {
                    Err(err)
                };
            }
            Err(e) => return Err(api_error("CreateAccountAssignment", &e)),
        };
        let (first, request_id) = start("CreateAccountAssignment", status.as_ref())?;
        let outcome = poll(
            "CreateAccountAssignment",
            first,
            self.every,
            self.max_polls,
            || self.creation_status(&a.instance_arn, &request_id),
        )
        .await?;
        match outcome {
            Outcome::Succeeded => Ok(()),
            Outcome::Failed(reason) => {
                if self.exists(a).await? {
                    tracing::info!(%reason, "account assignment request failed, but the assignment is in place");
                    Ok(())
                } else {
                    Err(AwsError::IdentityCenter {
                        operation: "CreateAccountAssignment",
                        reason,
                    })
                }
            }
        }
    }

    /// DeleteAccountAssignment + DescribeAccountAssignmentDeletionStatus polled the same
    /// way; an assignment that does not exist is Ok.
    ///
    /// The deletion is always requested (a revocation does not trust an earlier listing).
    /// When AWS answers that nothing was found, the permission set is looked up in the
    /// instance: an unknown permission set or instance is an error, not a removed grant.
    pub async fn unassign(&self, a: &AccountAssignment) -> Result<(), AwsError> {
        let deleted = self
            .client
            .delete_account_assignment()
            .instance_arn(&a.instance_arn)
            .target_id(&a.account_id)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(&a.permission_set_arn)
            .principal_type(a.principal_type.to_sdk())
            .principal_id(&a.principal_id)
            .send()
            .await;
        let status = match deleted {
            Ok(out) => out.account_assignment_deletion_status().cloned(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                let err = api_error("DeleteAccountAssignment", &e);
                self.permission_set_exists(a).await?;
                return if self.exists(a).await? {
                    Err(err)
                } else {
                    Ok(())
                };
            }
            Err(e) => return Err(api_error("DeleteAccountAssignment", &e)),
        };
        let (first, request_id) = start("DeleteAccountAssignment", status.as_ref())?;
        let outcome = poll(
            "DeleteAccountAssignment",
            first,
            self.every,
            self.max_polls,
            || self.deletion_status(&a.instance_arn, &request_id),
        )
        .await?;
        match outcome {
            Outcome::Succeeded => Ok(()),
            Outcome::Failed(reason) => {
                if self.exists(a).await? {
                    Err(AwsError::IdentityCenter {
                        operation: "DeleteAccountAssignment",
                        reason,
                    })
                } else {
                    tracing::info!(%reason, "account assignment deletion failed, but the assignment is gone");
                    Ok(())
                }
            }
        }
    }

    /// Every assignment of this permission set on this account (ListAccountAssignments, all
    /// pages), for reconciliation.
    ///
    /// An entry without a principal, or with a principal type other than user or group, is
    /// an error: a reconciliation must not miss a grant it cannot read.
    pub async fn assignments(
        &self,
        instance_arn: &str,
        account_id: &str,
        permission_set_arn: &str,
    ) -> Result<Vec<AccountAssignment>, AwsError> {
        const OPERATION: &str = "ListAccountAssignments";
        let mut pages = self
            .client
            .list_account_assignments()
            .instance_arn(instance_arn)
            .account_id(account_id)
            .permission_set_arn(permission_set_arn)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| api_error(OPERATION, &e))?;
            for item in page.account_assignments() {
                let principal_type = match item.principal_type() {
                    Some(p) => {
                        PrincipalType::from_sdk(p).ok_or_else(|| AwsError::IdentityCenter {
                            operation: OPERATION,
                            reason: format!("unknown principal type {}", one_line(p.as_str())),
                        })?
                    }
                    None => {
                        return Err(AwsError::IdentityCenter {
                            operation: OPERATION,
                            reason: "an assignment without a principal type".into(),
                        })
                    }
                };
                let principal_id =
                    item.principal_id()
                        .filter(|id| !id.is_empty())
                        .ok_or_else(|| AwsError::IdentityCenter {
                            operation: OPERATION,
                            reason: "an assignment without a principal id".into(),
                        })?;
                out.push(AccountAssignment {
                    instance_arn: instance_arn.to_string(),
                    permission_set_arn: item
                        .permission_set_arn()
                        .unwrap_or(permission_set_arn)
                        .to_string(),
                    account_id: item.account_id().unwrap_or(account_id).to_string(),
                    principal_type,
                    principal_id: principal_id.to_string(),
                });
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Whether the assignment is listed now.
    async fn exists(&self, a: &AccountAssignment) -> Result<bool, AwsError> {
        let listed = self
            .assignments(&a.instance_arn, &a.account_id, &a.permission_set_arn)
            .await?;
        Ok(listed.iter().any(|l| {
            l.principal_type == a.principal_type
                && l.principal_id == a.principal_id
                && l.account_id == a.account_id
                && l.permission_set_arn == a.permission_set_arn
        }))
    }

    /// DescribePermissionSet: Ok if the permission set is in the instance.
    async fn permission_set_exists(&self, a: &AccountAssignment) -> Result<(), AwsError> {
        self.client
            .describe_permission_set()
            .instance_arn(&a.instance_arn)
            .permission_set_arn(&a.permission_set_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| api_error("DescribePermissionSet", &e))
    }

    async fn creation_status(
        &self,
        instance_arn: &str,
        request_id: &str,
    ) -> Result<Status, AwsError> {
        const OPERATION: &str = "DescribeAccountAssignmentCreationStatus";
        let out = self
            .client
            .describe_account_assignment_creation_status()
            .instance_arn(instance_arn)
            .account_assignment_creation_request_id(request_id)
            .send()
            .await
            .map_err(|e| api_error(OPERATION, &e))?;
        status_of(OPERATION, out.account_assignment_creation_status())
    }

    async fn deletion_status(
        &self,
        instance_arn: &str,
        request_id: &str,
    ) -> Result<Status, AwsError> {
        const OPERATION: &str = "DescribeAccountAssignmentDeletionStatus";
        let out = self
            .client
            .describe_account_assignment_deletion_status()
            .instance_arn(instance_arn)
            .account_assignment_deletion_request_id(request_id)
            .send()
            .await
            .map_err(|e| api_error(OPERATION, &e))?;
        status_of(OPERATION, out.account_assignment_deletion_status())
    }
}

/// The first status of a request and its id (needed only to poll further).
fn start(
    operation: &'static str,
    status: Option<&AccountAssignmentOperationStatus>,
) -> Result<(Status, String), AwsError> {
    let first = status_of(operation, status)?;
    let request_id = status
        .and_then(|s| s.request_id())
        .unwrap_or_default()
        .to_string();
    if first == Status::InProgress && request_id.is_empty() {
        return Err(AwsError::IdentityCenter {
            operation,
            reason: "the request is IN_PROGRESS but has no request id to follow".into(),
        });
    }
    Ok((first, request_id))
}

/// The status in an answer.
fn status_of(
    operation: &'static str,
    status: Option<&AccountAssignmentOperationStatus>,
) -> Result<Status, AwsError> {
    let Some(status) = status else {
        return Err(AwsError::IdentityCenter {
            operation,
            reason: "no request status in the answer".into(),
        });
    };
    match status.status() {
        Some(StatusValues::Succeeded) => Ok(Status::Succeeded),
        Some(StatusValues::InProgress) => Ok(Status::InProgress),
        Some(StatusValues::Failed) => Ok(Status::Failed(one_line(
            status
                .failure_reason()
                .filter(|r| !r.trim().is_empty())
                .unwrap_or("FAILED without a reason"),
        ))),
        Some(other) => Err(AwsError::IdentityCenter {
            operation,
            reason: format!("unexpected request status {}", one_line(other.as_str())),
        }),
        None => Err(AwsError::IdentityCenter {
            operation,
            reason: "no status in the request status".into(),
        }),
    }
}

/// Follows the request `operation` made from its `first` status: asks `describe` every
/// `every`, at most `max_polls` times, until it succeeds or fails.
async fn poll<F, Fut>(
    operation: &'static str,
    first: Status,
    every: Duration,
    max_polls: u32,
    mut describe: F,
) -> Result<Outcome, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Status, AwsError>>,
{
    let mut status = first;
    let mut polls = 0u32;
    loop {
        match status {
            Status::Succeeded => return Ok(Outcome::Succeeded),
            Status::Failed(reason) => return Ok(Outcome::Failed(reason)),
            Status::InProgress if polls >= max_polls => {
                return Err(AwsError::IdentityCenter {
                    operation,
                    reason: format!("still IN_PROGRESS after {polls} polls"),
                })
            }
            Status::InProgress => {
                tokio::time::sleep(every).await;
                polls += 1;
                status = describe().await?;
            }
        }
    }
}

/// An SDK error as an [`AwsError::IdentityCenter`]: the service's error code and message,
/// else the transport failure; one line.
fn api_error<E>(operation: &'static str, e: &SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    AwsError::IdentityCenter {
        operation,
        reason: api_reason(e),
    }
}

/// The service's error code and message, else the transport failure; one line.
pub(crate) fn api_reason<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let reason = match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            match (err.code(), err.message().filter(|m| !m.trim().is_empty())) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                (None, Some(message)) => message.to_string(),
                (None, None) => format!("HTTP {} without an error code", s.raw().status()),
            }
        }
        other => describe(other),
    };
    one_line(&reason)
}

/// Whitespace (newlines included) collapsed to single spaces, at most
/// [`MAX_REASON_CHARS`] characters.
fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() <= MAX_REASON_CHARS {
        return joined;
    }
    let mut cut: String = joined.chars().take(MAX_REASON_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::cell::Cell;

    use super::*;

    /// A describe call that answers `answers` in turn and counts its calls.
    fn scripted(
        answers: Vec<Status>,
        calls: &Cell<u32>,
    ) -> impl FnMut() -> std::future::Ready<Result<Status, AwsError>> + '_ {
        let mut answers = answers.into_iter();
        move || {
            calls.set(calls.get() + 1);
            std::future::ready(Ok(answers.next().unwrap_or(Status::InProgress)))
        }
    }

    #[tokio::test]
    async fn polling_follows_the_request_until_it_succeeds() {
        let calls = Cell::new(0);
        let answers = vec![Status::InProgress, Status::InProgress, Status::Succeeded];
        let out = poll(
            "op",
            Status::InProgress,
            Duration::ZERO,
            5,
            scripted(answers, &calls),
        )
        .await;
        assert_eq!(out.unwrap(), Outcome::Succeeded);
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn a_finished_first_answer_is_not_polled() {
        let calls = Cell::new(0);
        let out = poll(
            "op",
            Status::Succeeded,
            Duration::ZERO,
            5,
            scripted(vec![], &calls),
        )
        .await;
        assert_eq!(out.unwrap(), Outcome::Succeeded);
        let out = poll(
            "op",
            Status::Failed("no".into()),
            Duration::ZERO,
            5,
            scripted(vec![], &calls),
        )
        .await;
        assert_eq!(out.unwrap(), Outcome::Failed("no".into()));
        assert_eq!(calls.get(), 0);
    }

    #[tokio::test]
    async fn a_failed_request_carries_its_reason() {
        let calls = Cell::new(0);
        let answers = vec![
            Status::InProgress,
            Status::Failed("Received a 404 status error: the permission set is gone".into()),
        ];
        let out = poll(
            "op",
            Status::InProgress,
            Duration::ZERO,
            5,
            scripted(answers, &calls),
        )
        .await;
        assert_eq!(
            out.unwrap(),
            Outcome::Failed("Received a 404 status error: the permission set is gone".into())
        );
    }

    #[tokio::test]
    async fn a_request_still_in_progress_after_the_last_poll_is_an_error() {
        let calls = Cell::new(0);
        let out = poll(
            "op",
            Status::InProgress,
            Duration::from_millis(1),
            3,
            scripted(vec![], &calls),
        )
        .await;
        let err = out.unwrap_err();
        assert_eq!(calls.get(), 3);
        assert!(matches!(err, AwsError::IdentityCenter { .. }), "{err:?}");
        assert!(
            err.to_string().ends_with("still IN_PROGRESS after 3 polls"),
            "{err}"
        );

        let calls = Cell::new(0);
        let err = poll(
            "op",
            Status::InProgress,
            Duration::ZERO,
            0,
            scripted(vec![], &calls),
        )
        .await
        .unwrap_err();
        assert_eq!(calls.get(), 0);
        assert!(
            err.to_string().ends_with("still IN_PROGRESS after 0 polls"),
            "{err}"
        );
    }

    #[test]
    fn statuses_are_read_from_the_answer() {
        let status = |s: StatusValues, reason: Option<&str>| {
            AccountAssignmentOperationStatus::builder()
                .status(s)
                .set_failure_reason(reason.map(str::to_string))
                .request_id("r-1")
                .build()
        };
        let failed = status(StatusValues::Failed, Some("Access\ndenied  to the\ttarget"));
        assert_eq!(
            status_of("op", Some(&failed)).unwrap(),
            Status::Failed("Access denied to the target".into())
        );
        let bare = status(StatusValues::Failed, None);
        assert_eq!(
            status_of("op", Some(&bare)).unwrap(),
            Status::Failed("FAILED without a reason".into())
        );
        let running = status(StatusValues::InProgress, None);
        assert_eq!(
            start("op", Some(&running)).unwrap(),
            (Status::InProgress, "r-1".to_string())
        );
        let anonymous = AccountAssignmentOperationStatus::builder()
            .status(StatusValues::InProgress)
            .build();
        assert!(start("op", Some(&anonymous)).is_err());
        assert!(status_of("op", None).is_err());
        let odd = status(StatusValues::from("PAUSED"), None);
        let err = status_of("op", Some(&odd)).unwrap_err();
        assert!(
            err.to_string().contains("unexpected request status PAUSED"),
            "{err}"
        );
    }

    #[test]
    fn reasons_are_one_bounded_line() {
        assert_eq!(one_line(" a\r\n b \t c "), "a b c");
        let long = "x".repeat(MAX_REASON_CHARS + 10);
        let cut = one_line(&long);
        assert_eq!(cut.chars().count(), MAX_REASON_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
