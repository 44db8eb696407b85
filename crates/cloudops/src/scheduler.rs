//! The scheduler of a node's cloud work: scans of connected accounts and polls of S3 log
//! sources, each due by the store's clock.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use trustplane_keyring::Sealer;
use trustplane_model::Actor;
use trustplane_monitor::{Detection, IngestError};
use trustplane_posture::{Inventory, Provider};
use trustplane_store::{CloudAccount, CloudScan, LogSource, Store, StoreError};

use crate::{CloudConnectors, Connections, LogLocation, ObjectFailure, ScanTarget};

/// Scan outcomes.
pub const SUCCEEDED: &str = "SUCCEEDED";
/// Some services could not be read: their checks are ERROR findings.
pub const PARTIAL: &str = "PARTIAL";
/// Nothing could be collected; no finding was changed.
pub const ERROR: &str = "ERROR";

/// Keys listed per step of a poll.
const LIST_BATCH: usize = 50;
/// Objects one poll reads at most, so a backlog is worked through over several polls.
const MAX_OBJECTS_PER_POLL: usize = 2000;
/// An object that fails this often is given up on (counted, reported) so that it does not
/// hold the source back for ever.
pub const MAX_OBJECT_ATTEMPTS: i64 = 3;

/// What one poll of a log source did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PollReport {
    /// Objects read (and acknowledged: the cursor is past them).
    pub objects: usize,
    /// Records in them.
    pub records: usize,
    /// Records that could not be read.
    pub malformed: usize,
    /// Rule matches.
    pub matches: usize,
    /// Alerts opened.
    pub new_alerts: Vec<String>,
    /// Objects given up on after repeated failures.
    pub given_up: Vec<String>,
    /// An object that failed and is tried again at the next poll.
    pub retrying: Option<String>,
    /// Why the poll stopped early (the listing failed, another node moved the cursor).
    pub error: Option<String>,
    /// The cursor after the poll.
    pub last_key: Option<String>,
}

/// The connected-cloud service of a node.
pub struct Cloud {
    store: Store,
    connections: Connections,
    detection: Arc<Detection>,
    connectors: CloudConnectors,
    /// Connections and sources being worked on by this node (an API request and the job
    /// must not scan or poll the same one at once).
    busy: Mutex<HashSet<String>>,
}

/// Releases a busy mark when dropped.
struct Busy<'a> {
    cloud: &'a Cloud,
    id: String,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let mut busy = self.cloud.busy.lock().unwrap_or_else(|e| e.into_inner());
        busy.remove(&self.id);
    }
}

impl Cloud {
    /// The service, with the node's cloud implementations.
    pub fn new(
        store: Store,
        sealer: Sealer,
        detection: Arc<Detection>,
        connectors: CloudConnectors,
    ) -> Self {
        Cloud {
            connections: Connections::new(store.clone(), sealer),
            store,
            detection,
            connectors,
            busy: Mutex::new(HashSet::new()),
        }
    }

    /// The same service with other cloud implementations.
    pub fn with_connectors(&self, connectors: CloudConnectors) -> Self {
        Cloud::new(
            self.store.clone(),
            self.connections.sealer().clone(),
            self.detection.clone(),
            connectors,
        )
    }

    fn claim(&self, id: &str) -> Option<Busy<'_>> {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        busy.insert(id.to_string()).then(|| Busy {
            cloud: self,
            id: id.to_string(),
        })
    }

    /// Scans every connection whose last scan is older than the scan interval.
    pub async fn scan_due(&self) -> Result<Vec<CloudScan>, StoreError> {
        let interval = self.store.scan_interval_secs().await?;
        let mut done = Vec::new();
        for account in self.store.due_cloud_accounts(interval).await? {
            if let Some(scan) = self.scan(&Actor::system(), &account.id).await? {
                done.push(scan);
            }
        }
        Ok(done)
    }

    /// Scans one connection now and records the outcome; `None` when this node is scanning
    /// it already.
    pub async fn scan(&self, actor: &Actor, id: &str) -> Result<Option<CloudScan>, StoreError> {
        let Some(_busy) = self.claim(id) else {
            return Ok(None);
        };
        let (account, sealed) = self.store.cloud_account_with_secret(id).await?;
        let started = self.store.clock().now_ms();
        let (status, error, summary) = match self.collect(&account, sealed.as_deref()).await {
            Err(reason) => {
                tracing::warn!(account = %account.account, provider = %account.provider, %reason, "cloud scan failed");
                (ERROR, Some(reason), None)
            }
            Ok(inventory) => {
                let (summary, _, _) =
                    crate::assess_and_record(&self.store, actor, &inventory).await?;
                let failed: Vec<String> = inventory
                    .collection_errors()
                    .iter()
                    .map(|e| format!("{} ({})", e.service, e.region))
                    .collect();
                let summary = serde_json::to_value(&summary).ok();
                if failed.is_empty() {
                    (SUCCEEDED, None, summary)
                } else {
                    let error = format!("not collected: {}", failed.join(", "));
                    (PARTIAL, Some(error), summary)
                }
            }
        };
        self.store
            .record_cloud_scan(actor, id, started, status, error.as_deref(), summary)
            .await
            .map(Some)
    }

    /// Collects the inventory of a connection, and checks it is of that account.
    async fn collect(
        &self,
        account: &CloudAccount,
        sealed: Option<&str>,
    ) -> Result<Inventory, String> {
        let collector =
            self.connectors.collector.as_ref().ok_or(
                "this node has no cloud collector (it was not started by `trustplane serve`)",
            )?;
        let target = self.connections.target(account, sealed)?;
        let docs = collector.collect(&target).await?;
        let inventory = Inventory::from_docs(docs);
        let provider = match account.provider.as_str() {
            "aws" => Provider::Aws,
            _ => Provider::Azure,
        };
        let got = inventory.accounts(provider);
        if !got.contains(&account.account) {
            return Err(format!(
                "the credentials reach {}, not the connected account {}",
                if got.is_empty() {
                    "no account".to_string()
                } else {
                    got.join(", ")
                },
                account.account
            ));
        }
        Ok(inventory)
    }

    /// How connected accounts are reached.
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// Seals an Azure client secret, bound to the account it belongs to.
    pub fn seal_secret(
        &self,
        provider: &str,
        account: &str,
        secret: &str,
    ) -> Result<String, StoreError> {
        self.connections.seal_secret(provider, account, secret)
    }

    /// How to reach a connected account (its secret opened for this call only).
    pub async fn connection(&self, id: &str) -> Result<ScanTarget, String> {
        self.connections.connection(id).await
    }

    /// Polls every log source whose interval has passed.
    pub async fn poll_due(&self) -> Result<Vec<(String, PollReport)>, StoreError> {
        let mut out = Vec::new();
        for source in self.store.due_log_sources().await? {
            if let Some(report) = self.poll(&Actor::system(), &source.id).await? {
                out.push((source.id, report));
            }
        }
        Ok(out)
    }

    /// Reads the objects after the source's cursor, in key order, through the detection
    /// pipeline. The cursor moves past each object once its records are processed (so an
    /// acknowledged object is never read again, and a restart resumes after the last one);
    /// an object that cannot be read is tried again at the next poll and given up on, counted,
    /// after [`MAX_OBJECT_ATTEMPTS`]. `None` when this node is polling the source already.
    pub async fn poll(&self, actor: &Actor, id: &str) -> Result<Option<PollReport>, StoreError> {
        let Some(_busy) = self.claim(id) else {
            return Ok(None);
        };
        let source = self.store.get_log_source(id).await?;
        let report = self.read_new_objects(&source).await?;
        let summary = serde_json::to_value(&report).unwrap_or_default();
        self.store
            .finish_log_source_poll(actor, id, report.error.as_deref(), summary)
            .await?;
        Ok(Some(report))
    }

    async fn read_new_objects(&self, source: &LogSource) -> Result<PollReport, StoreError> {
        let mut report = PollReport {
            last_key: source.last_key.clone(),
            ..Default::default()
        };
        let Some(objects) = self.connectors.log_objects.as_ref() else {
            report.error =
                Some("this node cannot read S3 (it was not started by `trustplane serve`)".into());
            return Ok(report);
        };
        let location = LogLocation {
            bucket: source.bucket.clone(),
            prefix: source.prefix.clone(),
            region: source.region.clone(),
            role_arn: source.role_arn.clone(),
            endpoint_url: source.endpoint_url.clone(),
        };
        let mut cursor = source.last_key.clone();
        while report.objects + report.given_up.len() < MAX_OBJECTS_PER_POLL {
            let keys = match objects.list(&location, cursor.as_deref(), LIST_BATCH).await {
                Ok(k) => k,
                Err(e) => {
                    report.error = Some(format!(
                        "cannot list s3://{}/{}: {e}",
                        location.bucket, location.prefix
                    ));
                    break;
                }
            };
            if keys.is_empty() {
                break;
            }
            for (key, read) in objects.read(&location, keys).await {
                let name = format!("s3://{}/{key}", location.bucket);
                let limits = self.detection.limits().object;
                let read = match read {
                    Ok(bytes) => match self.detection.ingest(bytes, &name, limits).await {
                        Ok(ingested) => Ok(ingested),
                        Err(IngestError::Store(e)) => return Err(e),
                        Err(IngestError::Read(e)) => Err(ObjectFailure {
                            reason: e.to_string(),
                            refused: e.is_over_limit(),
                        }),
                    },
                    Err(failure) => Err(failure),
                };
                let (records, given_up) = match read {
                    Ok(ingested) => {
                        report.records += ingested.records;
                        report.malformed += ingested.malformed;
                        report.matches += ingested.matches;
                        report.new_alerts.extend(ingested.new_alerts);
                        (ingested.records, None)
                    }
                    Err(failure) => {
                        let e = failure.reason;
                        let attempts = self
                            .store
                            .note_log_object_failure(&source.id, cursor.as_deref(), &key, &e)
                            .await?;
                        tracing::warn!(object = %name, attempts, refused = failure.refused, error = %e, "a log object could not be read");
                        // An object over a limit would be refused again: skip it now. The
                        // skip is recorded on the source and in the audit trail.
                        if !failure.refused && attempts < MAX_OBJECT_ATTEMPTS {
                            report.retrying = Some(key);
                            return Ok(report);
                        }
                        report.given_up.push(key.clone());
                        (0, Some(e))
                    }
                };
                let moved = self
                    .store
                    .advance_log_source(
                        &source.id,
                        cursor.as_deref(),
                        &key,
                        i64::try_from(records).unwrap_or(i64::MAX),
                        given_up.as_deref(),
                    )
                    .await?;
                if !moved {
                    report.error = Some("another poll moved the cursor; stopped".into());
                    return Ok(report);
                }
                if given_up.is_none() {
                    report.objects += 1;
                }
                cursor = Some(key);
                report.last_key = cursor.clone();
            }
        }
        Ok(report)
    }
}

impl Cloud {
    /// Starts the node's share of the cloud work: scheduled scans of connected accounts
    /// every 30 s and polls of log sources every 10 s, each under its own lease.
    pub fn spawn_jobs(self: &Arc<Self>, store: Store, node_id: String) {
        let cloud = self.clone();
        trustplane_store::jobs::spawn_leased(
            store.clone(),
            "cloud-scans",
            node_id.clone(),
            Duration::from_secs(30),
            move || {
                let cloud = cloud.clone();
                async move {
                    if let Err(e) = cloud.scan_due().await {
                        tracing::warn!(error = %e, "scheduled cloud scans failed");
                    }
                }
            },
        );
        let cloud = self.clone();
        trustplane_store::jobs::spawn_leased(
            store,
            "log-sources",
            node_id,
            Duration::from_secs(10),
            move || {
                let cloud = cloud.clone();
                async move {
                    if let Err(e) = cloud.poll_due().await {
                        tracing::warn!(error = %e, "log source polls failed");
                    }
                }
            },
        );
    }
}
