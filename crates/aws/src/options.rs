//! What to collect and how.

use std::fmt;
use std::sync::Arc;

/// What a collection reports as it goes, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// This many more collections (a service in a region) are planned: an account was entered.
    Planned(usize),
    /// One collection finished (whether it succeeded or became an error document).
    Finished,
}

/// A function told of [`Progress`]; called from the collection's tasks, so it must be quick.
#[derive(Clone)]
pub struct ProgressHook(pub Arc<dyn Fn(Progress) + Send + Sync>);

impl fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressHook")
    }
}

/// Options for [`crate::collect`].
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Send every call to this URL instead of the AWS endpoints (tests: the moto server).
    pub endpoint_url: Option<String>,
    /// Regions to scan; empty means every enabled region (EC2 DescribeRegions).
    pub regions: Vec<String>,
    /// Region for global calls (IAM, STS, DescribeRegions) and for the credential chain.
    pub home_region: String,
    /// Roles to assume, one per account to scan. Empty: scan the caller's own account.
    pub assume_roles: Vec<String>,
    /// Session name for the assumed roles (shows in the target accounts' CloudTrail).
    pub role_session_name: String,
    /// How many service/region collections run at once.
    pub concurrency: usize,
    /// How many per-resource calls (bucket settings, user policies, key rotation) one
    /// collection runs at once.
    pub per_service_concurrency: usize,
    /// Attempts per call, throttling and transient errors included (standard retry with
    /// exponential backoff and jitter).
    pub max_attempts: u32,
    /// Told of the collections planned and finished.
    pub progress: Option<ProgressHook>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            endpoint_url: None,
            regions: Vec::new(),
            home_region: "us-east-1".to_string(),
            assume_roles: Vec::new(),
            role_session_name: "trustplane-scan".to_string(),
            concurrency: 8,
            per_service_concurrency: 4,
            max_attempts: 6,
            progress: None,
        }
    }
}
