//! Connected clouds: AWS accounts and Azure subscriptions that the server scans on a schedule
//! (each scheduled scan's outcome kept, failures included), the scan interval, and S3
//! prefixes of CloudTrail objects polled for detection, with the last key read.
//!
//! Secrets (an Azure client secret) arrive here already sealed by the server and are never
//! part of what the listing functions return.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use trustplane_model::{from_ms, new_id, Actor, Event, Outcome, Target};

use crate::db::{Bind, Store, WriteTx};
use crate::error::{Result, StoreError};

/// The scan interval when none was set: once a day.
pub const DEFAULT_SCAN_INTERVAL_SECS: i64 = 24 * 60 * 60;
const SCAN_INTERVAL_SETTING: &str = "posture.scan_interval_secs";

/// A connected AWS account or Azure subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudAccount {
    /// Trustplane's id for the connection.
    pub id: String,
    /// `aws` or `azure`.
    pub provider: String,
    /// AWS account id or Azure subscription id.
    pub account: String,
    /// A readable name.
    pub display_name: String,
    /// How to reach it (role ARN, regions, endpoints, tenant and client ids); no secrets.
    pub settings: Value,
    /// Whether a (sealed) client secret is stored.
    pub has_secret: bool,
    /// Scanned on the schedule.
    pub enabled: bool,
    /// When it was connected.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the last scheduled or requested scan finished.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_scan_at: Option<OffsetDateTime>,
    /// Its status: SUCCEEDED, PARTIAL (some services could not be read: ERROR findings) or
    /// ERROR (nothing could be collected; no findings were changed).
    pub last_status: Option<String>,
}

/// A connection to add.
#[derive(Debug, Clone)]
pub struct NewCloudAccount {
    /// `aws` or `azure`.
    pub provider: String,
    /// AWS account id or Azure subscription id.
    pub account: String,
    /// A readable name.
    pub display_name: String,
    /// Provider settings (no secrets).
    pub settings: Value,
    /// The client secret, sealed by the caller.
    pub sealed_secret: Option<String>,
    /// Scanned on the schedule.
    pub enabled: bool,
}

/// One scan of a connected account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudScan {
    /// Scan id.
    pub id: String,
    /// The connection scanned.
    pub account_id: String,
    /// Start.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// End.
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// SUCCEEDED, PARTIAL or ERROR.
    pub status: String,
    /// Why collection failed (ERROR), or which services could not be read (PARTIAL).
    pub error: Option<String>,
    /// The findings summary (`record_scan`) when there was one.
    pub summary: Option<Value>,
}

/// An S3 prefix of CloudTrail objects that detection polls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSource {
    /// Source id.
    pub id: String,
    /// A readable name (records read from it carry `s3://bucket/key` as their origin).
    pub display_name: String,
    /// The bucket.
    pub bucket: String,
    /// The key prefix.
    pub prefix: String,
    /// The bucket's region.
    pub region: String,
    /// A role to assume to read the bucket.
    pub role_arn: Option<String>,
    /// Another endpoint (a VPC endpoint, an emulator).
    pub endpoint_url: Option<String>,
    /// Seconds between polls.
    pub poll_interval_secs: i64,
    /// Polled at all.
    pub enabled: bool,
    /// When it was added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The last key read: the next poll lists the keys after it.
    pub last_key: Option<String>,
    /// When the last poll finished.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_polled_at: Option<OffsetDateTime>,
    /// Objects read.
    pub objects_read: i64,
    /// Objects given up on after repeated failures.
    pub objects_failed: i64,
    /// Records read.
    pub records_read: i64,
    /// An object that failed and will be tried again at the next poll.
    pub failing_key: Option<String>,
    /// How often it failed so far.
    pub failing_attempts: i64,
    /// The last error (listing, or an object given up on).
    pub last_error: Option<String>,
}

/// A source to add.
#[derive(Debug, Clone)]
pub struct NewLogSource {
    /// A readable name.
    pub display_name: String,
    /// The bucket.
    pub bucket: String,
    /// The key prefix.
    pub prefix: String,
    /// The bucket's region.
    pub region: String,
    /// A role to assume.
    pub role_arn: Option<String>,
    /// Another endpoint.
    pub endpoint_url: Option<String>,
    /// Seconds between polls (at least 10).
    pub poll_interval_secs: i64,
    /// Polled at all.
    pub enabled: bool,
}

const ACCOUNT_COLUMNS: &str = "id, provider, account, display_name, settings, secret, enabled, created_at, last_scan_at, last_status";
const SCAN_COLUMNS: &str = "id, account_id, started_at, finished_at, status, error, summary";
const SOURCE_COLUMNS: &str = "id, display_name, bucket, prefix, region, role_arn, endpoint_url, poll_interval_secs, enabled, created_at, last_key, last_polled_at, objects_read, objects_failed, records_read, failing_key, failing_attempts, last_error";

fn account_from_row(r: &AnyRow) -> Result<CloudAccount> {
    Ok(CloudAccount {
        id: r.try_get("id")?,
        provider: r.try_get("provider")?,
        account: r.try_get("account")?,
        display_name: r.try_get("display_name")?,
        settings: serde_json::from_str(&r.try_get::<String, _>("settings")?)?,
        has_secret: r.try_get::<Option<String>, _>("secret")?.is_some(),
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        created_at: from_ms(r.try_get("created_at")?),
        last_scan_at: r.try_get::<Option<i64>, _>("last_scan_at")?.map(from_ms),
        last_status: r.try_get("last_status")?,
    })
}

fn scan_from_row(r: &AnyRow) -> Result<CloudScan> {
    Ok(CloudScan {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        started_at: from_ms(r.try_get("started_at")?),
        finished_at: from_ms(r.try_get("finished_at")?),
        status: r.try_get("status")?,
        error: r.try_get("error")?,
        summary: r
            .try_get::<Option<String>, _>("summary")?
            .map(|s| serde_json::from_str(&s))
            .transpose()?,
    })
}

fn source_from_row(r: &AnyRow) -> Result<LogSource> {
    Ok(LogSource {
        id: r.try_get("id")?,
        display_name: r.try_get("display_name")?,
        bucket: r.try_get("bucket")?,
        prefix: r.try_get("prefix")?,
        region: r.try_get("region")?,
        role_arn: r.try_get("role_arn")?,
        endpoint_url: r.try_get("endpoint_url")?,
        poll_interval_secs: r.try_get("poll_interval_secs")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        created_at: from_ms(r.try_get("created_at")?),
        last_key: r.try_get("last_key")?,
        last_polled_at: r.try_get::<Option<i64>, _>("last_polled_at")?.map(from_ms),
        objects_read: r.try_get("objects_read")?,
        objects_failed: r.try_get("objects_failed")?,
        records_read: r.try_get("records_read")?,
        failing_key: r.try_get("failing_key")?,
        failing_attempts: r.try_get("failing_attempts")?,
        last_error: r.try_get("last_error")?,
    })
}

fn event(
    actor: &Actor,
    category: &str,
    activity: &str,
    kind: &str,
    id: &str,
    name: &str,
    after: Option<Value>,
) -> Event {
    Event {
        sequence: 0,
        activity_date_time: OffsetDateTime::UNIX_EPOCH,
        category: category.into(),
        activity: activity.into(),
        initiated_by: actor.clone(),
        target: Some(Target {
            kind: kind.into(),
            id: id.into(),
            display_name: Some(name.into()),
        }),
        result: Outcome::Success,
        result_reason: None,
        before: None,
        after,
    }
}

impl Store {
    /// Connects an account or subscription. The same account of the same cloud cannot be
    /// connected twice.
    pub async fn create_cloud_account(
        &self,
        actor: &Actor,
        new: NewCloudAccount,
    ) -> Result<CloudAccount> {
        let id = new_id();
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let exists = tx
            .fetch_optional(
                "SELECT id FROM cloud_accounts WHERE provider = $1 AND account = $2",
                &[
                    Bind::Text(new.provider.clone()),
                    Bind::Text(new.account.clone()),
                ],
            )
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!(
                "{} account `{}` is already connected",
                new.provider, new.account
            )));
        }
        tx.execute(
            "INSERT INTO cloud_accounts (id, provider, account, display_name, settings, secret, enabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                Bind::Text(id.clone()),
                Bind::Text(new.provider.clone()),
                Bind::Text(new.account.clone()),
                Bind::Text(new.display_name.clone()),
                Bind::Text(new.settings.to_string()),
                Bind::OptText(new.sealed_secret.clone()),
                Bind::Int(new.enabled.into()),
                Bind::Int(now),
            ],
        )
        .await?;
        let account = CloudAccount {
            id: id.clone(),
            provider: new.provider,
            account: new.account,
            display_name: new.display_name,
            settings: new.settings,
            has_secret: new.sealed_secret.is_some(),
            enabled: new.enabled,
            created_at: from_ms(now),
            last_scan_at: None,
            last_status: None,
        };
        tx.audit(event(
            actor,
            "posture",
            "cloudAccount.create",
            "cloudAccount",
            &id,
            &account.display_name,
            serde_json::to_value(&account).ok(),
        ))
        .await?;
        tx.commit().await?;
        Ok(account)
    }

    /// Every connection, in the order they were made.
    pub async fn list_cloud_accounts(&self) -> Result<Vec<CloudAccount>> {
        self.fetch_all(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM cloud_accounts ORDER BY created_at, id"),
            &[],
        )
        .await?
        .iter()
        .map(account_from_row)
        .collect()
    }

    /// One connection.
    pub async fn get_cloud_account(&self, id: &str) -> Result<CloudAccount> {
        Ok(self.cloud_account_with_secret(id).await?.0)
    }

    /// One connection with its sealed secret, for the scanner.
    pub async fn cloud_account_with_secret(
        &self,
        id: &str,
    ) -> Result<(CloudAccount, Option<String>)> {
        let row = self
            .fetch_optional(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM cloud_accounts WHERE id = $1"),
                &[Bind::Text(id.into())],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "cloudAccount",
                id: id.into(),
            })?;
        Ok((account_from_row(&row)?, row.try_get("secret")?))
    }

    /// Disconnects an account; its findings and scan history stay.
    pub async fn delete_cloud_account(&self, actor: &Actor, id: &str) -> Result<()> {
        let account = self.get_cloud_account(id).await?;
        let mut tx = self.begin_write().await?;
        tx.execute(
            "DELETE FROM cloud_accounts WHERE id = $1",
            &[Bind::Text(id.into())],
        )
        .await?;
        tx.audit(event(
            actor,
            "posture",
            "cloudAccount.delete",
            "cloudAccount",
            id,
            &account.display_name,
            None,
        ))
        .await?;
        tx.commit().await
    }

    /// Enabled connections whose last scan is at least `interval_secs` old (or that were
    /// never scanned), oldest first.
    pub async fn due_cloud_accounts(&self, interval_secs: i64) -> Result<Vec<CloudAccount>> {
        let before = self
            .clock
            .now_ms()
            .saturating_sub(interval_secs.saturating_mul(1000));
        self.fetch_all(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM cloud_accounts WHERE enabled = 1 AND (last_scan_at IS NULL OR last_scan_at <= $1) ORDER BY COALESCE(last_scan_at, 0), created_at, id"),
            &[Bind::Int(before)],
        )
        .await?
        .iter()
        .map(account_from_row)
        .collect()
    }

    /// Records the outcome of one scan of a connection (its findings, if any, were stored
    /// with `record_scan`), and audits it.
    pub async fn record_cloud_scan(
        &self,
        actor: &Actor,
        account_id: &str,
        started_at_ms: i64,
        status: &str,
        error: Option<&str>,
        summary: Option<Value>,
    ) -> Result<CloudScan> {
        let account = self.get_cloud_account(account_id).await?;
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let scan = CloudScan {
            id: new_id(),
            account_id: account_id.into(),
            started_at: from_ms(started_at_ms),
            finished_at: from_ms(now),
            status: status.into(),
            error: error.map(str::to_string),
            summary,
        };
        tx.execute(
            &format!(
                "INSERT INTO cloud_scans ({SCAN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
            &[
                Bind::Text(scan.id.clone()),
                Bind::Text(scan.account_id.clone()),
                Bind::Int(started_at_ms),
                Bind::Int(now),
                Bind::Text(scan.status.clone()),
                Bind::OptText(scan.error.clone()),
                Bind::OptText(scan.summary.as_ref().map(Value::to_string)),
            ],
        )
        .await?;
        tx.execute(
            "UPDATE cloud_accounts SET last_scan_at = $1, last_status = $2 WHERE id = $3",
            &[
                Bind::Int(now),
                Bind::Text(scan.status.clone()),
                Bind::Text(account_id.into()),
            ],
        )
        .await?;
        let mut ev = event(
            actor,
            "posture",
            "cloudAccount.scan",
            "cloudAccount",
            account_id,
            &account.display_name,
            Some(json!({ "status": scan.status, "error": scan.error, "summary": scan.summary })),
        );
        if status == "ERROR" {
            ev.result = Outcome::Failure;
            ev.result_reason = scan.error.clone();
        }
        tx.audit(ev).await?;
        tx.commit().await?;
        Ok(scan)
    }

    /// The scans of a connection, newest first.
    pub async fn list_cloud_scans(&self, account_id: &str, top: usize) -> Result<Vec<CloudScan>> {
        self.fetch_all(
            &format!("SELECT {SCAN_COLUMNS} FROM cloud_scans WHERE account_id = $1 ORDER BY started_at DESC, id LIMIT {}", top.clamp(1, 1000)),
            &[Bind::Text(account_id.into())],
        )
        .await?
        .iter()
        .map(scan_from_row)
        .collect()
    }

    /// Seconds between scheduled scans of each connection.
    pub async fn scan_interval_secs(&self) -> Result<i64> {
        Ok(self
            .setting(SCAN_INTERVAL_SETTING)
            .await?
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_SCAN_INTERVAL_SECS))
    }

    /// Changes the scan interval (at least a minute), audited.
    pub async fn set_scan_interval_secs(&self, actor: &Actor, secs: i64) -> Result<()> {
        if !(60..=366 * 24 * 3600).contains(&secs) {
            return Err(StoreError::invalid(
                "intervalSecs",
                "must be between 60 seconds and a year",
            ));
        }
        let before = self.scan_interval_secs().await?;
        let mut tx = self.begin_write().await?;
        tx.execute(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &[
                Bind::Text(SCAN_INTERVAL_SETTING.into()),
                Bind::Text(secs.to_string()),
            ],
        )
        .await?;
        let mut ev = event(
            actor,
            "posture",
            "scanSchedule.update",
            "setting",
            SCAN_INTERVAL_SETTING,
            "scan interval",
            Some(json!({ "intervalSecs": secs })),
        );
        ev.before = Some(json!({ "intervalSecs": before }));
        tx.audit(ev).await?;
        tx.commit().await
    }

    /// Adds an S3 log source.
    pub async fn create_log_source(&self, actor: &Actor, new: NewLogSource) -> Result<LogSource> {
        if new.poll_interval_secs < 10 {
            return Err(StoreError::invalid(
                "pollIntervalSecs",
                "must be at least 10 seconds",
            ));
        }
        let id = new_id();
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "INSERT INTO log_sources (id, display_name, bucket, prefix, region, role_arn, endpoint_url, poll_interval_secs, enabled, created_at, objects_read, objects_failed, records_read, failing_attempts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 0, 0, 0)",
            &[
                Bind::Text(id.clone()),
                Bind::Text(new.display_name.clone()),
                Bind::Text(new.bucket.clone()),
                Bind::Text(new.prefix.clone()),
                Bind::Text(new.region.clone()),
                Bind::OptText(new.role_arn.clone()),
                Bind::OptText(new.endpoint_url.clone()),
                Bind::Int(new.poll_interval_secs),
                Bind::Int(new.enabled.into()),
                Bind::Int(now),
            ],
        )
        .await?;
        let source = LogSource {
            id: id.clone(),
            display_name: new.display_name,
            bucket: new.bucket,
            prefix: new.prefix,
            region: new.region,
            role_arn: new.role_arn,
            endpoint_url: new.endpoint_url,
            poll_interval_secs: new.poll_interval_secs,
            enabled: new.enabled,
            created_at: from_ms(now),
            last_key: None,
            last_polled_at: None,
            objects_read: 0,
            objects_failed: 0,
            records_read: 0,
            failing_key: None,
            failing_attempts: 0,
            last_error: None,
        };
        tx.audit(event(
            actor,
            "detection",
            "logSource.create",
            "logSource",
            &id,
            &source.display_name,
            serde_json::to_value(&source).ok(),
        ))
        .await?;
        tx.commit().await?;
        Ok(source)
    }

    /// Every log source, in the order they were added.
    pub async fn list_log_sources(&self) -> Result<Vec<LogSource>> {
        self.fetch_all(
            &format!("SELECT {SOURCE_COLUMNS} FROM log_sources ORDER BY created_at, id"),
            &[],
        )
        .await?
        .iter()
        .map(source_from_row)
        .collect()
    }

    /// One log source.
    pub async fn get_log_source(&self, id: &str) -> Result<LogSource> {
        let row = self
            .fetch_optional(
                &format!("SELECT {SOURCE_COLUMNS} FROM log_sources WHERE id = $1"),
                &[Bind::Text(id.into())],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "logSource",
                id: id.into(),
            })?;
        source_from_row(&row)
    }

    /// Removes a log source (alerts raised from it stay).
    pub async fn delete_log_source(&self, actor: &Actor, id: &str) -> Result<()> {
        let source = self.get_log_source(id).await?;
        let mut tx = self.begin_write().await?;
        tx.execute(
            "DELETE FROM log_sources WHERE id = $1",
            &[Bind::Text(id.into())],
        )
        .await?;
        tx.audit(event(
            actor,
            "detection",
            "logSource.delete",
            "logSource",
            id,
            &source.display_name,
            None,
        ))
        .await?;
        tx.commit().await
    }

    /// Enabled sources whose last poll is at least their interval old (or never polled).
    pub async fn due_log_sources(&self) -> Result<Vec<LogSource>> {
        let now = self.clock.now_ms();
        self.fetch_all(
            &format!("SELECT {SOURCE_COLUMNS} FROM log_sources WHERE enabled = 1 AND (last_polled_at IS NULL OR last_polled_at + poll_interval_secs * 1000 <= $1) ORDER BY COALESCE(last_polled_at, 0), created_at, id"),
            &[Bind::Int(now)],
        )
        .await?
        .iter()
        .map(source_from_row)
        .collect()
    }

    /// Moves a source's cursor from `from` (the last key as the caller read it) to `to`, the
    /// object just processed (or given up on, when `given_up` names why). Returns false, and
    /// changes nothing, when the cursor is no longer at `from`: another poll moved it.
    pub async fn advance_log_source(
        &self,
        id: &str,
        from: Option<&str>,
        to: &str,
        records: i64,
        given_up: Option<&str>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let failed = i64::from(given_up.is_some());
        let changed = tx
            .execute(
                "UPDATE log_sources SET last_key = $1, objects_read = objects_read + $2, objects_failed = objects_failed + $3, \
                 records_read = records_read + $4, failing_key = NULL, failing_attempts = 0, \
                 last_error = COALESCE($5, last_error) WHERE id = $6 AND COALESCE(last_key, '') = $7",
                &[
                    Bind::Text(to.into()),
                    Bind::Int(1 - failed),
                    Bind::Int(failed),
                    Bind::Int(records),
                    Bind::OptText(given_up.map(|e| format!("{to}: {e}"))),
                    Bind::Text(id.into()),
                    Bind::Text(from.unwrap_or_default().into()),
                ],
            )
            .await?;
        if changed == 1 {
            if let Some(reason) = given_up {
                // Skipping unread data is a decision an auditor should see, in the same
                // transaction that moves the cursor past it.
                tx.audit(event(
                    &Actor::system(),
                    "detection",
                    "logSource.objectSkipped",
                    "logSource",
                    id,
                    to,
                    Some(json!({ "key": to, "reason": reason })),
                ))
                .await?;
            }
        }
        tx.commit().await?;
        Ok(changed == 1)
    }

    /// Notes that the object `key` after the cursor `from` failed; returns how often it has
    /// failed now (the caller gives up on it after a few attempts).
    pub async fn note_log_object_failure(
        &self,
        id: &str,
        from: Option<&str>,
        key: &str,
        error: &str,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        tx.execute(
            "UPDATE log_sources SET failing_attempts = CASE WHEN failing_key = $1 THEN failing_attempts + 1 ELSE 1 END, \
             failing_key = $1, last_error = $2 WHERE id = $3 AND COALESCE(last_key, '') = $4",
            &[
                Bind::Text(key.into()),
                Bind::Text(format!("{key}: {error}")),
                Bind::Text(id.into()),
                Bind::Text(from.unwrap_or_default().into()),
            ],
        )
        .await?;
        let attempts = tx
            .fetch_optional(
                "SELECT failing_attempts FROM log_sources WHERE id = $1",
                &[Bind::Text(id.into())],
            )
            .await?
            .map(|r| r.try_get::<i64, _>("failing_attempts"))
            .transpose()?
            .unwrap_or(0);
        tx.commit().await?;
        Ok(attempts)
    }

    /// Ends a poll: its time, and the listing error if the bucket could not be listed. A poll
    /// that read something, failed, or was asked for by `actor` through the API is audited.
    pub async fn finish_log_source_poll(
        &self,
        actor: &Actor,
        id: &str,
        error: Option<&str>,
        summary: Value,
    ) -> Result<()> {
        let source = self.get_log_source(id).await?;
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "UPDATE log_sources SET last_polled_at = $1, last_error = COALESCE($2, last_error) WHERE id = $3",
            &[
                Bind::Int(now),
                Bind::OptText(error.map(str::to_string)),
                Bind::Text(id.into()),
            ],
        )
        .await?;
        let read_something = summary
            .get("objects")
            .and_then(Value::as_i64)
            .is_some_and(|n| n > 0);
        if read_something || error.is_some() || actor.id != Actor::system().id {
            audit_poll(&mut tx, actor, &source, error, summary).await?;
        }
        tx.commit().await
    }
}

async fn audit_poll(
    tx: &mut WriteTx,
    actor: &Actor,
    source: &LogSource,
    error: Option<&str>,
    summary: Value,
) -> Result<()> {
    let mut ev = event(
        actor,
        "detection",
        "logSource.poll",
        "logSource",
        &source.id,
        &source.display_name,
        Some(summary),
    );
    if let Some(e) = error {
        ev.result = Outcome::Failure;
        ev.result_reason = Some(e.to_string());
    }
    tx.audit(ev).await?;
    Ok(())
}
