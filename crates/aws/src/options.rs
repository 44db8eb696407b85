//! What to collect and how.

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
        }
    }
}
