//! Connected clouds: scheduled posture scans of AWS accounts and Azure subscriptions, and S3
//! prefixes of CloudTrail objects polled into the detection pipeline.
//!
//! The server does not link the cloud SDKs. It defines what it needs as two small traits,
//! [`CloudCollector`] (collect the inventory of one connected account) and [`LogObjects`]
//! (list and read log objects under a bucket prefix), and `trustplane serve` hands in the
//! real implementations ([`CloudConnectors`]). A node without them records every scan and
//! poll as an error, never as a success.
//!
//! Both jobs decide what is due from the store's clock, so tests move a manual clock and call
//! [`Cloud::scan_due`] / [`Cloud::poll_due`] instead of waiting.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;
use trustplane_model::Actor;
use trustplane_posture::{Inventory, Provider, ResourceDoc};
use trustplane_store::{CloudAccount, CloudScan, LogSource, Store, StoreError};

use crate::detection::{Detection, IngestError};
use trustplane_keyring::Sealer;

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

    /// The content of each of `keys` (gunzipped, within the reader's size limits), in the
    /// order of `keys`; an object that cannot be read is an `Err` for that object alone.
    fn read<'a>(
        &'a self,
        location: &'a LogLocation,
        keys: Vec<String>,
    ) -> BoxFuture<'a, ObjectReads>;
}

/// A privileged role's grant in a cloud, for one principal of that cloud.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum GrantCall {
    /// An IAM Identity Center account assignment of a permission set to a user.
    #[serde(rename_all = "camelCase")]
    AwsIdentityCenter {
        /// The Identity Center instance.
        instance_arn: String,
        /// The permission set.
        permission_set_arn: String,
        /// The account it is assigned on.
        account_id: String,
        /// The Identity Store user id.
        principal_id: String,
    },
    /// An Azure RBAC role assignment.
    #[serde(rename_all = "camelCase")]
    AzureRbac {
        /// Where the role applies.
        scope: String,
        /// The role definition's Resource Manager id.
        role_definition_id: String,
        /// The Entra object id.
        principal_id: String,
    },
}

/// The sessions of one person on an AWS IAM role issued before a time, to be denied (an
/// activation granting the role ended early: the console sessions it gave may still be
/// alive).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRevocation {
    /// `arn:aws:iam::<account>:role/<name>`.
    pub role_arn: String,
    /// What identifies this revocation on the role (letters and digits).
    pub sid: String,
    /// The person's role session names.
    pub session_names: Vec<String>,
    /// Sessions issued before this Unix time (seconds) are denied.
    pub issued_before: i64,
}

/// Who holds a cloud role, as reconciliation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The cloud principal id.
    pub principal_id: String,
    /// `USER`, `GROUP`, `User`, `ServicePrincipal`... as the cloud says.
    pub principal_type: String,
}

/// Grants and removes privileged roles in the clouds. Both directions are idempotent: a
/// grant that exists already and a removal of one that is gone succeed.
pub trait CloudGrants: Send + Sync {
    /// Grants `call` through `connection`; returns when the cloud confirms it, or `Err` with
    /// the cloud's reason when it refused.
    fn grant<'a>(
        &'a self,
        connection: &'a ScanTarget,
        call: &'a GrantCall,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Removes `call`'s grant; returns when the cloud confirms it.
    fn revoke<'a>(
        &'a self,
        connection: &'a ScanTarget,
        call: &'a GrantCall,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Everyone holding the role of `call` (its principal is ignored).
    fn holders<'a>(
        &'a self,
        connection: &'a ScanTarget,
        call: &'a GrantCall,
    ) -> BoxFuture<'a, Result<Vec<Holder>, String>>;

    /// Denies the sessions `revocation` names on its IAM role, through `connection` (the
    /// role's account); returns when IAM confirms it. Idempotent.
    fn revoke_sessions<'a>(
        &'a self,
        connection: &'a ScanTarget,
        revocation: &'a SessionRevocation,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Takes `revocation` off its role again (once no session it denies can be alive).
    /// Idempotent.
    fn lift_revocation<'a>(
        &'a self,
        connection: &'a ScanTarget,
        revocation: &'a SessionRevocation,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// The cloud implementations a node runs with.
#[derive(Clone, Default)]
pub struct CloudConnectors {
    /// Collects inventories for scheduled scans.
    pub collector: Option<Arc<dyn CloudCollector>>,
    /// Reads CloudTrail objects for log sources.
    pub log_objects: Option<Arc<dyn LogObjects>>,
    /// Grants privileged roles in the clouds.
    pub grants: Option<Arc<dyn CloudGrants>>,
}

impl fmt::Debug for CloudConnectors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudConnectors")
            .field("collector", &self.collector.is_some())
            .field("log_objects", &self.log_objects.is_some())
            .field("grants", &self.grants.is_some())
            .finish()
    }
}

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
    sealer: Sealer,
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

fn invalid(field: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        field,
        message: message.into(),
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
            store,
            sealer,
            detection,
            connectors,
            busy: Mutex::new(HashSet::new()),
        }
    }

    /// The same service with other cloud implementations.
    pub fn with_connectors(&self, connectors: CloudConnectors) -> Self {
        Cloud::new(
            self.store.clone(),
            self.sealer.clone(),
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

    /// Seals an Azure client secret, bound to the account it belongs to.
    pub fn seal_secret(
        &self,
        provider: &str,
        account: &str,
        secret: &str,
    ) -> Result<String, StoreError> {
        self.sealer
            .seal(&secret_context(provider, account), secret.as_bytes())
            .map_err(|e| StoreError::Corrupt(e.to_string()))
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
                    crate::routes::posture::assess_and_record(&self.store, actor, &inventory)
                        .await?;
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
        let target = self.target(account, sealed)?;
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

    /// The node's cloud grant implementation.
    pub fn grants(&self) -> Option<&Arc<dyn CloudGrants>> {
        self.connectors.grants.as_ref()
    }

    /// How to reach a connected account (its secret opened for this call only).
    pub async fn connection(&self, id: &str) -> Result<ScanTarget, String> {
        let (account, sealed) = self
            .store
            .cloud_account_with_secret(id)
            .await
            .map_err(|e| e.to_string())?;
        self.target(&account, sealed.as_deref())
    }

    fn target(&self, account: &CloudAccount, sealed: Option<&str>) -> Result<ScanTarget, String> {
        let s = &account.settings;
        let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
        match account.provider.as_str() {
            "aws" => Ok(ScanTarget::Aws {
                account_id: account.account.clone(),
                role_arn: text("roleArn"),
                regions: s
                    .get("regions")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                endpoint_url: text("endpointUrl"),
            }),
            "azure" => {
                let sealed = sealed.ok_or("no client secret is stored for this subscription")?;
                let secret = self
                    .sealer
                    .open(&secret_context(&account.provider, &account.account), sealed)
                    .map_err(|e| e.to_string())?;
                Ok(ScanTarget::Azure {
                    subscription_id: account.account.clone(),
                    tenant_id: text("tenantId").ok_or("no tenantId")?,
                    client_id: text("clientId").ok_or("no clientId")?,
                    client_secret: String::from_utf8(secret)
                        .map_err(|_| "the stored client secret is not text")?,
                    arm_endpoint: text("armEndpoint"),
                    graph_endpoint: text("graphEndpoint"),
                    login_endpoint: text("loginEndpoint"),
                })
            }
            other => Err(format!("unknown provider `{other}`")),
        }
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

fn secret_context(provider: &str, account: &str) -> String {
    format!("cloud-secret:{provider}:{account}")
}

/// Checks the shape of a connection's fields: an AWS account id is 12 digits, a role ARN is
/// an IAM role of that account, regions look like regions, endpoints are http(s) URLs, an
/// Azure subscription, tenant and client id are GUIDs.
pub(crate) fn check_aws(
    account: &str,
    role_arn: Option<&str>,
    regions: &[String],
    endpoint: Option<&str>,
) -> Result<(), StoreError> {
    if account.len() != 12 || !account.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid("accountId", "an AWS account id is 12 digits"));
    }
    if let Some(arn) = role_arn {
        let parts: Vec<&str> = arn.split(':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "iam"
            && parts[4] == account
            && parts[5].len() > 5
            && parts[5].starts_with("role/");
        if !ok {
            return Err(invalid(
                "roleArn",
                format!("must be an IAM role ARN of account {account} (arn:aws:iam::{account}:role/NAME)"),
            ));
        }
    }
    for r in regions {
        let ok = (4..=30).contains(&r.len())
            && r.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && r.contains('-');
        if !ok {
            return Err(invalid("regions", format!("`{r}` is not a region name")));
        }
    }
    check_url("endpointUrl", endpoint)
}

pub(crate) fn check_url(field: &'static str, url: Option<&str>) -> Result<(), StoreError> {
    match url {
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2000 => {
            Err(invalid(field, "must be an http or https URL"))
        }
        _ => Ok(()),
    }
}

pub(crate) fn check_guid(field: &'static str, v: &str) -> Result<(), StoreError> {
    let ok = v.len() == 36
        && v.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(field, "must be a GUID"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(check_aws("123456789012", None, &[], None).is_ok());
        assert!(check_aws("12345678901", None, &[], None).is_err());
        assert!(check_aws(
            "123456789012",
            Some("arn:aws:iam::123456789012:role/Audit"),
            &["eu-west-1".into()],
            Some("http://127.0.0.1:5000")
        )
        .is_ok());
        assert!(check_aws(
            "123456789012",
            Some("arn:aws:iam::999999999999:role/Audit"),
            &[],
            None
        )
        .is_err());
        assert!(check_aws("123456789012", None, &["EU_WEST".into()], None).is_err());
        assert!(check_aws("123456789012", None, &[], Some("ftp://x")).is_err());
        assert!(check_guid("tenantId", "00000000-0000-0000-0000-000000000000").is_ok());
        assert!(check_guid("tenantId", "not-a-guid").is_err());
        let t = ScanTarget::Azure {
            subscription_id: "s".into(),
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: "hunter2".into(),
            arm_endpoint: None,
            graph_endpoint: None,
            login_endpoint: None,
        };
        assert!(!format!("{t:?}").contains("hunter2"));
    }
}
