//! The cloud side of a Trustplane node: the implementations of `trustplane-cloudops`'s
//! [`CloudCollector`] and [`LogObjects`] traits over `trustplane-aws` (AWS SDK for Rust) and
//! `trustplane-azure` (Resource Manager and Microsoft Graph over REST).
//!
//! The server and the engines stay free of the cloud SDKs; `trustplane serve` links this crate and
//! starts the node with [`connectors`]:
//!
//! ```no_run
//! # async fn run(config: trustplane_server::ServerConfig) -> Result<(), Box<dyn std::error::Error>> {
//! let clock = std::sync::Arc::new(trustplane_model::SystemClock);
//! let node = trustplane_server::start_with_cloud(config, clock, trustplane_cloud::connectors(), trustplane_cloud::grants()).await?;
//! node.run().await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod grants;
mod identity_store;

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::Mutex;
use trustplane_aws::{CollectOptions, LogBucket, LogBucketOptions, S3Prefix};
use trustplane_cloudops::{
    BoxFuture, CloudCollector, CloudConnectors, LogLocation, LogObjects, ObjectFailure,
    ObjectReads, ScanTarget,
};
use trustplane_detect::ReadLimits;

pub use grants::Grants;
pub use identity_store::IdentityStores;
pub use trustplane_posture::ResourceDoc;

/// The AWS and Azure implementations, for `trustplane_server::start_with_cloud` or
/// `trustplane_server::AppState::with_cloud`.
pub fn connectors() -> CloudConnectors {
    connectors_with(ReadLimits::OBJECT)
}

/// [`connectors`], with S3 log objects read no larger as stored than `objects` allows once
/// inflated (the node applies `objects` in full as it parses them).
pub fn connectors_with(objects: ReadLimits) -> CloudConnectors {
    CloudConnectors {
        collector: Some(Arc::new(Collector)),
        log_objects: Some(Arc::new(S3Logs::new(objects))),
        identity_store: Some(Arc::new(IdentityStores)),
    }
}

/// The grants of privileged roles in AWS and Azure ([`Grants`]), for PIM.
pub fn grants() -> Option<Arc<dyn trustplane_pim::CloudGrants>> {
    Some(Arc::new(grants::Grants))
}

/// Collects a connected account: `trustplane_aws::collect` for an AWS account (through the
/// role to assume, if any), `trustplane_azure::collect` for an Azure subscription (through its
/// service principal).
#[derive(Debug, Default, Clone, Copy)]
pub struct Collector;

impl CloudCollector for Collector {
    fn collect<'a>(
        &'a self,
        target: &'a ScanTarget,
    ) -> BoxFuture<'a, Result<Vec<ResourceDoc>, String>> {
        Box::pin(async move {
            match target {
                ScanTarget::Aws {
                    role_arn,
                    regions,
                    endpoint_url,
                    ..
                } => {
                    let options = CollectOptions {
                        endpoint_url: endpoint_url.clone(),
                        regions: regions.clone(),
                        assume_roles: role_arn.iter().cloned().collect(),
                        ..CollectOptions::default()
                    };
                    trustplane_aws::collect(&options)
                        .await
                        .map_err(|e| e.to_string())
                }
                ScanTarget::Azure { .. } => {
                    let options = azure_options(target).ok_or("not an Azure target")?;
                    trustplane_azure::collect(&options)
                        .await
                        .map_err(|e| e.to_string())
                }
            }
        })
    }
}

/// The Azure client options for a connected subscription (through its service principal);
/// `None` for an AWS target.
pub(crate) fn azure_options(target: &ScanTarget) -> Option<trustplane_azure::Options> {
    let ScanTarget::Azure {
        subscription_id,
        tenant_id,
        client_id,
        client_secret,
        arm_endpoint,
        graph_endpoint,
        login_endpoint,
    } = target
    else {
        return None;
    };
    let mut options = trustplane_azure::Options::new(trustplane_azure::Credential::ClientSecret {
        tenant_id: tenant_id.clone(),
        client_id: client_id.clone(),
        client_secret: client_secret.clone(),
    });
    options.subscriptions = vec![subscription_id.clone()];
    if let Some(e) = arm_endpoint {
        options.arm_endpoint = e.clone();
    }
    if let Some(e) = graph_endpoint {
        options.graph_endpoint = e.clone();
    }
    if let Some(e) = login_endpoint {
        options.login_endpoint = e.clone();
    }
    Some(options)
}

/// Lists and reads CloudTrail objects with [`LogBucket`], keeping one client per location.
#[derive(Debug, Default)]
pub struct S3Logs {
    buckets: Mutex<HashMap<String, Arc<LogBucket>>>,
    limits: ReadLimits,
}

impl S3Logs {
    /// A reader of objects no larger as stored than `limits.max_inflated_bytes` (nor than
    /// [`trustplane_aws::DEFAULT_MAX_OBJECT_BYTES`]); they are handed over as stored and
    /// the node inflates and parses them as they stream, within `limits`.
    pub fn new(limits: ReadLimits) -> Self {
        S3Logs {
            buckets: Mutex::default(),
            limits,
        }
    }

    async fn bucket(&self, location: &LogLocation) -> Result<Arc<LogBucket>, String> {
        let key = format!(
            "{}|{}|{}|{}|{}",
            location.bucket,
            location.prefix,
            location.region,
            location.role_arn.as_deref().unwrap_or(""),
            location.endpoint_url.as_deref().unwrap_or("")
        );
        let mut buckets = self.buckets.lock().await;
        if let Some(b) = buckets.get(&key) {
            return Ok(b.clone());
        }
        let prefix =
            S3Prefix::new(&location.bucket, &location.prefix).map_err(|e| e.to_string())?;
        let bucket = LogBucket::connect(
            prefix,
            LogBucketOptions {
                endpoint_url: location.endpoint_url.clone(),
                region: location.region.clone(),
                role_arn: location.role_arn.clone(),
                max_object_bytes: self
                    .limits
                    .max_inflated_bytes
                    .min(LogBucketOptions::default().max_object_bytes),
                ..LogBucketOptions::default()
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        let bucket = Arc::new(bucket);
        buckets.insert(key, bucket.clone());
        Ok(bucket)
    }
}

impl LogObjects for S3Logs {
    fn list<'a>(
        &'a self,
        location: &'a LogLocation,
        start_after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            let bucket = self.bucket(location).await?;
            let objects = bucket
                .list(start_after, Some(limit))
                .await
                .map_err(|e| e.to_string())?;
            Ok(objects.into_iter().map(|o| o.key).collect())
        })
    }

    fn read<'a>(
        &'a self,
        location: &'a LogLocation,
        keys: Vec<String>,
    ) -> BoxFuture<'a, ObjectReads> {
        Box::pin(async move {
            match self.bucket(location).await {
                Ok(bucket) => {
                    bucket
                        .read_all(keys)
                        .map(|(key, read)| {
                            let read = read.map_err(|e| ObjectFailure {
                                refused: e.is_refused(),
                                reason: e.to_string(),
                            });
                            (key, read)
                        })
                        .collect()
                        .await
                }
                Err(e) => keys
                    .into_iter()
                    .map(|k| {
                        let failure = ObjectFailure {
                            reason: e.clone(),
                            refused: false,
                        };
                        (k, Err(failure))
                    })
                    .collect(),
            }
        })
    }
}
