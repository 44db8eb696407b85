//! Read-only AWS collector for the posture inventory.
//!
//! [`collect`] asks the AWS APIs (through the AWS SDK for Rust, with the standard credential
//! chain) for everything the CIS AWS checks of `trustplane-posture` read, and returns one
//! [`ResourceDoc`] per resource in the API's own field names. A call that fails for one
//! service and region becomes a `collection_error` document for the resource types it would
//! have produced, so the assessment reports ERROR there instead of a silent PASS; only a
//! failure before anything can be collected (no credentials, endpoint down) is an
//! [`AwsError`].
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let options = trustplane_aws::CollectOptions {
//!     regions: vec!["eu-west-1".into()],
//!     ..Default::default()
//! };
//! let inventory = trustplane_aws::collect_inventory(&options).await?;
//! inventory.save_dir(std::path::Path::new("scan"))?;
//! # Ok(()) }
//! ```

mod client;
mod cloudtrail;
mod common;
mod config;
mod databases;
mod ec2;
pub mod emulator;
mod error;
pub mod federation;
mod iam;
pub mod identity_center;
pub mod identity_store;
mod kms;
mod logs;
mod monitoring;
mod options;
pub mod role_sessions;
mod s3;
mod security;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::StreamExt;
use serde_json::json;
use trustplane_posture::{Inventory, ResourceDoc};

pub use error::AwsError;
pub use logs::{
    LogBucket, LogBucketOptions, LogObject, ObjectReadError, S3Prefix, DEFAULT_MAX_OBJECT_BYTES,
};
pub use options::{CollectOptions, Progress, ProgressHook};

use common::{describe, Scope, Task};

/// Every resource type this collector writes (an account whose role cannot be assumed gets
/// an error document for all of them).
pub const RESOURCE_TYPES: &[&str] = &[
    "aws.ec2.regions",
    "aws.iam.credential_report_row",
    "aws.iam.password_policy",
    "aws.iam.account_summary",
    "aws.iam.virtual_mfa_devices",
    "aws.iam.user",
    "aws.iam.role",
    "aws.iam.policy",
    "aws.iam.server_certificate",
    "aws.iam.saml_provider",
    "aws.s3.bucket",
    "aws.s3.account_public_access_block",
    "aws.ec2.security_group",
    "aws.ec2.network_acl",
    "aws.ec2.vpc",
    "aws.ec2.flow_log",
    "aws.ec2.instance",
    "aws.ec2.ebs_encryption_by_default",
    "aws.rds.db_instance",
    "aws.efs.file_system",
    "aws.cloudtrail.trail",
    "aws.config.recorders",
    "aws.kms.key",
    "aws.logs.metric_filter",
    "aws.cloudwatch.alarm",
    "aws.sns.subscription",
    "aws.accessanalyzer.analyzers",
    "aws.securityhub.hub",
];

/// Collects the inventory of every account in `options` (the caller's own, or one per role
/// to assume).
///
/// Errors only when nothing trustworthy can be returned: the credential chain has no valid
/// credentials, the endpoint does not answer, or the regions cannot be listed. Anything that
/// fails later is a `collection_error` document in the result.
pub async fn collect(options: &CollectOptions) -> Result<Vec<ResourceDoc>, AwsError> {
    if options.concurrency == 0 || options.per_service_concurrency == 0 {
        return Err(AwsError::Options("concurrency must be at least 1".into()));
    }
    if let Some(bad) = options
        .assume_roles
        .iter()
        .find(|r| account_of_role(r).is_none())
    {
        return Err(AwsError::Options(format!("not an IAM role ARN: {bad}")));
    }
    let base = client::base_config(options).await;
    let mut docs = Vec::new();
    if options.assume_roles.is_empty() {
        let account = caller_account(&base, options).await?;
        docs.extend(collect_account(&base, &account, options).await?);
        return Ok(docs);
    }
    for role in &options.assume_roles {
        let conf = client::assumed(&base, role, &options.role_session_name).await;
        let account = account_of_role(role).unwrap_or_default();
        // One account that cannot be entered is an ERROR for that account, not for the scan.
        let result = match caller_account(&conf, options).await {
            Ok(_) => collect_account(&conf, &account, options).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(d) => docs.extend(d),
            Err(e) => {
                let scope = Scope::global(&account, 1);
                docs.push(scope.error("sts", RESOURCE_TYPES, &e.to_string(), None));
            }
        }
    }
    Ok(docs)
}

/// The SDK configuration [`collect`] uses (HTTP client, retries, endpoint override, home
/// region, standard credential chain), for callers that need other AWS clients alike.
pub async fn sdk_config(options: &CollectOptions) -> SdkConfig {
    client::base_config(options).await
}

/// [`collect`], as an [`Inventory`] ready for `assess` or `save_dir`.
pub async fn collect_inventory(options: &CollectOptions) -> Result<Inventory, AwsError> {
    Ok(Inventory::from_docs(collect(options).await?))
}

/// `arn:aws:iam::123456789012:role/name` -> `123456789012`.
fn account_of_role(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    (parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[5].starts_with("role/")
        && parts[4].len() == 12
        && parts[4].bytes().all(|c| c.is_ascii_digit()))
    .then(|| parts[4].to_string())
}

/// STS GetCallerIdentity: proves the credentials work and names the account.
async fn caller_account(conf: &SdkConfig, options: &CollectOptions) -> Result<String, AwsError> {
    let out = aws_sdk_sts::Client::new(conf)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| classify(e, "STS GetCallerIdentity", options))?;
    out.account()
        .map(str::to_string)
        .ok_or_else(|| AwsError::Bootstrap {
            operation: "STS GetCallerIdentity",
            message: "no account in the answer".into(),
        })
}

/// Sorts a failed first call into missing credentials, an unreachable endpoint, or an API
/// error.
fn classify<E, R>(e: SdkError<E, R>, operation: &'static str, options: &CollectOptions) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = e
        .as_service_error()
        .and_then(|s| s.code())
        .map(str::to_string);
    let text = describe(&e);
    let credential_codes = [
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "AccessDenied",
    ];
    if code
        .as_deref()
        .is_some_and(|c| credential_codes.contains(&c))
        || text.contains("no credentials")
        || text.contains("credentials provider")
        || text.contains("resolve identity")
    {
        return AwsError::Credentials(text);
    }
    match e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => AwsError::Unreachable {
            endpoint: options
                .endpoint_url
                .clone()
                .unwrap_or_else(|| "AWS default endpoints".into()),
            message: text,
        },
        _ => AwsError::Bootstrap {
            operation,
            message: text,
        },
    }
}

/// Every collection of one account, run with bounded parallelism.
async fn collect_account(
    conf: &SdkConfig,
    account: &str,
    options: &CollectOptions,
) -> Result<Vec<ResourceDoc>, AwsError> {
    let scope = Scope::global(account, options.per_service_concurrency);
    let regions = if options.regions.is_empty() {
        ec2::enabled_regions(conf)
            .await
            .map_err(|message| AwsError::Bootstrap {
                operation: "EC2 DescribeRegions",
                message,
            })?
    } else {
        // The scanned regions are "all regions" for the per-region checks: a region the
        // caller left out is not reported as missing.
        options
            .regions
            .iter()
            .map(|r| json!({"RegionName": r, "OptInStatus": "opt-in-not-required"}))
            .collect()
    };
    let names: Vec<String> = regions
        .iter()
        .filter_map(|r| {
            r.get("RegionName")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .collect();
    if names.is_empty() {
        return Err(AwsError::Options("no regions to scan".into()));
    }
    let mut docs = vec![scope.doc(
        "aws.ec2.regions",
        &format!("arn:aws:ec2::{account}:regions"),
        "regions",
        json!({ "Regions": regions }),
    )];
    let mut tasks: Vec<Task> = Vec::new();
    tasks.extend(iam::tasks(conf, &scope));
    tasks.extend(s3::tasks(conf, &scope));
    for region in &names {
        let rc = client::for_region(conf, region);
        let rs = scope.in_region(region);
        tasks.extend(ec2::tasks(&rc, &rs));
        tasks.extend(databases::tasks(&rc, &rs));
        tasks.extend(cloudtrail::tasks(&rc, &rs));
        tasks.extend(config::tasks(&rc, &rs));
        tasks.extend(kms::tasks(&rc, &rs));
        tasks.extend(monitoring::tasks(&rc, &rs));
        tasks.extend(security::tasks(&rc, &rs));
    }
    let hook = options.progress.clone();
    if let Some(h) = &hook {
        (h.0)(options::Progress::Planned(tasks.len()));
    }
    let tasks: Vec<Task> = tasks
        .into_iter()
        .map(|task| -> Task {
            let hook = hook.clone();
            Box::pin(async move {
                let docs = task.await;
                if let Some(h) = &hook {
                    (h.0)(options::Progress::Finished);
                }
                docs
            })
        })
        .collect();
    let results: Vec<Vec<ResourceDoc>> = futures::stream::iter(tasks)
        .buffer_unordered(options.concurrency)
        .collect()
        .await;
    docs.extend(results.into_iter().flatten());
    // A stable order makes saved inventories diffable.
    docs.sort_by(|a, b| {
        (&a.resource_type, &a.region, &a.id).cmp(&(&b.resource_type, &b.region, &b.id))
    });
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert_eq!(
            account_of_role("arn:aws:iam::123456789012:role/Audit").as_deref(),
            Some("123456789012")
        );
        assert_eq!(account_of_role("arn:aws:iam::12:role/x"), None);
        assert_eq!(account_of_role("arn:aws:iam::123456789012:user/x"), None);
    }

    #[test]
    fn credential_report_csv() {
        let rows = iam::parse_report(
            "user,arn,password_enabled\n<root_account>,arn:aws:iam::1:root,not_supported\nalice,arn:aws:iam::1:user/alice,true\n",
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1]["user"], "alice");
        assert_eq!(rows[1]["password_enabled"], "true");
    }

    #[test]
    fn endpoint_authority() {
        assert_eq!(
            client::authority("http://127.0.0.1:5000/"),
            "127.0.0.1:5000"
        );
        assert_eq!(client::authority("http://localhost:81"), "localhost:81");
    }
}
