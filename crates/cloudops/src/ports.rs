//! The ports a node's cloud work goes through, and what crosses them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use trustplane_posture::ResourceDoc;

/// A boxed future, so the traits can be used as `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What to collect for one connected account.
#[derive(Clone)]
pub enum ScanTarget {
    /// An AWS account: through a role to assume, or with the node's own credentials.
    Aws {
        /// The 12-digit account id; the collected inventory must be of this account.
        account_id: String,
        /// The role to assume in it.
        role_arn: Option<String>,
        /// Regions to scan; empty means every enabled region.
        regions: Vec<String>,
        /// Another endpoint (an emulator, a VPC endpoint).
        endpoint_url: Option<String>,
    },
    /// An Azure subscription, through a service principal with a client secret.
    Azure {
        /// The subscription id.
        subscription_id: String,
        /// The directory (tenant) id.
        tenant_id: String,
        /// The application (client) id.
        client_id: String,
        /// The client secret, opened from its sealed form for this scan only.
        client_secret: String,
        /// Resource Manager endpoint, if not the public one.
        arm_endpoint: Option<String>,
        /// Microsoft Graph endpoint, if not the public one.
        graph_endpoint: Option<String>,
        /// Token endpoint, if not the public one.
        login_endpoint: Option<String>,
    },
}

// The client secret never reaches logs.
impl fmt::Debug for ScanTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanTarget::Aws {
                account_id,
                role_arn,
                regions,
                endpoint_url,
            } => f
                .debug_struct("Aws")
                .field("account_id", account_id)
                .field("role_arn", role_arn)
                .field("regions", regions)
                .field("endpoint_url", endpoint_url)
                .finish(),
            ScanTarget::Azure {
                subscription_id,
                tenant_id,
                client_id,
                ..
            } => f
                .debug_struct("Azure")
                .field("subscription_id", subscription_id)
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish_non_exhaustive(),
        }
    }
}

/// Collects the inventory of one connected account.
pub trait CloudCollector: Send + Sync {
    /// Every resource document of `target`; `Err` (with a one-line reason) when nothing
    /// trustworthy could be collected (credentials refused, endpoint down). Failures of single
    /// services are `collection_error` documents in the `Ok` answer.
    fn collect<'a>(
        &'a self,
        target: &'a ScanTarget,
    ) -> BoxFuture<'a, Result<Vec<ResourceDoc>, String>>;
}

/// Where log objects are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLocation {
    /// The bucket.
    pub bucket: String,
    /// The key prefix.
    pub prefix: String,
    /// The bucket's region.
    pub region: String,
    /// A role to assume for reading.
    pub role_arn: Option<String>,
    /// Another endpoint.
    pub endpoint_url: Option<String>,
}

/// Why one log object was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFailure {
    /// What went wrong.
    pub reason: String,
    /// A size limit refused it: reading it again would be refused again, so it is skipped at
    /// once instead of being tried again.
    pub refused: bool,
}

/// Each object's key with its content or why it could not be read.
pub type ObjectReads = Vec<(String, Result<Vec<u8>, ObjectFailure>)>;

/// Lists and reads log objects under a bucket prefix.
pub trait LogObjects: Send + Sync {
    /// At most `limit` keys after `start_after`, in key order.
    fn list<'a>(
        &'a self,
        location: &'a LogLocation,
        start_after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, String>>;

    /// The content of each of `keys` as stored (gzipped or not, within the reader's size
    /// limit), in the order of `keys`; an object that cannot be read is an `Err` for that
    /// object alone. The node inflates and parses each as it streams
    /// (`trustplane_monitor::Detection::ingest`), so the inflated content is never held.
    fn read<'a>(
        &'a self,
        location: &'a LogLocation,
        keys: Vec<String>,
    ) -> BoxFuture<'a, ObjectReads>;
}

/// The cloud implementations a node runs with.
#[derive(Clone, Default)]
pub struct CloudConnectors {
    /// Collects inventories for scheduled scans.
    pub collector: Option<Arc<dyn CloudCollector>>,
    /// Reads CloudTrail objects for log sources.
    pub log_objects: Option<Arc<dyn LogObjects>>,
    /// Reaches IAM Identity Center Identity Stores for outbound provisioning.
    pub identity_store: Option<Arc<dyn trustplane_provisioning::outbound::IdentityStoreConnector>>,
}

impl fmt::Debug for CloudConnectors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudConnectors")
            .field("collector", &self.collector.is_some())
            .field("log_objects", &self.log_objects.is_some())
            .field("identity_store", &self.identity_store.is_some())
            .finish()
    }
}
