//! Posture findings across scans: each (check, resource) keeps when it was first and last
//! seen, and when it was resolved.

use std::collections::HashSet;

use serde_json::{json, Value};
use sqlx::Row;
use trustplane_model::{from_ms, Actor, Event, Outcome};

use crate::db::{Bind, Store};
use crate::error::Result;

/// One finding of a scan, as the store keeps it.
#[derive(Debug, Clone)]
pub struct ScanFinding {
    /// aws or azure.
    pub provider: String,
    /// Account or subscription.
    pub account: String,
    /// The check.
    pub check_id: String,
    /// The resource.
    pub resource_id: String,
    /// PASS, FAIL, MANUAL or ERROR.
    pub status: String,
    /// Severity.
    pub severity: String,
    /// The whole finding as JSON.
    pub body: Value,
}

/// What a scan changed.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanSummary {
    /// Findings stored.
    pub findings: usize,
    /// Findings seen for the first time.
    pub new: usize,
    /// FAIL findings that passed (or disappeared) in this scan.
    pub resolved: usize,
    /// FAIL findings now open in the scanned accounts.
    pub open_failures: usize,
}

impl Store {
    /// Stores a scan of `accounts`: new findings are inserted, known ones updated, and FAIL
    /// findings of those accounts that no longer fail are marked resolved.
    pub async fn record_scan(
        &self,
        actor: &Actor,
        accounts: &[String],
        findings: Vec<ScanFinding>,
    ) -> Result<ScanSummary> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let mut summary = ScanSummary {
            findings: findings.len(),
            ..Default::default()
        };
        let mut seen = HashSet::new();
        // A check that could not be evaluated (ERROR: its data could not be collected) says
        // nothing about the resources it failed on before: those stay open.
        let errored: HashSet<(String, String)> = findings
            .iter()
            .filter(|f| f.status == "ERROR")
            .map(|f| (f.account.clone(), f.check_id.clone()))
            .collect();
        for f in findings {
            let key = format!("{}|{}|{}", f.account, f.check_id, f.resource_id);
            seen.insert(key.clone());
            let before = tx
                .fetch_optional(
                    "SELECT status FROM findings WHERE key = $1",
                    &[Bind::Text(key.clone())],
                )
                .await?;
            let failing = f.status == "FAIL";
            let resolves = !failing && f.status != "ERROR";
            match before {
                None => {
                    summary.new += 1;
                    tx.execute(
                        "INSERT INTO findings (key, provider, account, check_id, resource_id, status, severity, first_seen, last_seen, resolved_at, body) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, NULL, $9)",
                        &[Bind::Text(key), Bind::Text(f.provider), Bind::Text(f.account), Bind::Text(f.check_id), Bind::Text(f.resource_id), Bind::Text(f.status), Bind::Text(f.severity), Bind::Int(now), Bind::Text(f.body.to_string())],
                    )
                    .await?;
                }
                Some(row) => {
                    let was: String = row.try_get("status")?;
                    if was == "FAIL" && resolves {
                        summary.resolved += 1;
                    }
                    tx.execute(
                        "UPDATE findings SET status = $1, severity = $2, last_seen = $3, body = $4, \
                         resolved_at = CASE WHEN $5 = 1 THEN NULL WHEN status = 'FAIL' AND $7 = 1 THEN $3 ELSE resolved_at END WHERE key = $6",
                        &[Bind::Text(f.status), Bind::Text(f.severity), Bind::Int(now), Bind::Text(f.body.to_string()), Bind::Int(failing.into()), Bind::Text(key), Bind::Int(resolves.into())],
                    )
                    .await?;
                }
            }
        }
        // Failures of the scanned accounts that this scan did not report any more: resolved.
        for account in accounts {
            let rows = tx
                .fetch_all(
                    "SELECT key, check_id FROM findings WHERE account = $1 AND status = 'FAIL' AND resolved_at IS NULL",
                    &[Bind::Text(account.clone())],
                )
                .await?;
            for r in rows {
                let key: String = r.try_get("key")?;
                let check: String = r.try_get("check_id")?;
                if !seen.contains(&key) && !errored.contains(&(account.clone(), check)) {
                    summary.resolved += 1;
                    tx.execute(
                        "UPDATE findings SET resolved_at = $1, status = 'RESOLVED' WHERE key = $2",
                        &[Bind::Int(now), Bind::Text(key)],
                    )
                    .await?;
                }
            }
            let open = tx
                .fetch_optional(
                    "SELECT COUNT(*) AS n FROM findings WHERE account = $1 AND status = 'FAIL'",
                    &[Bind::Text(account.clone())],
                )
                .await?;
            summary.open_failures += open
                .map(|r| r.try_get::<i64, _>("n"))
                .transpose()?
                .unwrap_or(0) as usize;
        }
        tx.audit(Event {
            sequence: 0,
            activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
            category: "posture".into(),
            activity: "scan.complete".into(),
            initiated_by: actor.clone(),
            target: None,
            result: Outcome::Success,
            result_reason: None,
            before: None,
            after: Some(json!({ "accounts": accounts, "summary": serde_json::to_value(&summary).unwrap_or_default() })),
        })
        .await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// Findings, worst first, filtered by status, account and check.
    pub async fn list_findings(
        &self,
        status: Option<&str>,
        account: Option<&str>,
        check: Option<&str>,
        top: usize,
    ) -> Result<Vec<Value>> {
        let _t = self.timer("findings.list");
        let mut sql = String::from(
            "SELECT body, first_seen, last_seen, resolved_at, status FROM findings WHERE 1 = 1",
        );
        let mut binds = Vec::new();
        for (col, v) in [
            ("status", status),
            ("account", account),
            ("check_id", check),
        ] {
            if let Some(v) = v {
                binds.push(Bind::Text(v.to_string()));
                sql.push_str(&format!(" AND {col} = ${}", binds.len()));
            }
        }
        sql.push_str(&format!(
            " ORDER BY last_seen DESC, key LIMIT {}",
            top.clamp(1, 5000)
        ));
        self.fetch_all(&sql, &binds)
            .await?
            .iter()
            .map(|r| {
                let mut v: Value = serde_json::from_str(&r.try_get::<String, _>("body")?)?;
                let fmt = |ms: i64| {
                    from_ms(ms)
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default()
                };
                v["firstSeen"] = Value::String(fmt(r.try_get("first_seen")?));
                v["lastSeen"] = Value::String(fmt(r.try_get("last_seen")?));
                v["resolvedAt"] = r
                    .try_get::<Option<i64>, _>("resolved_at")?
                    .map(|t| Value::String(fmt(t)))
                    .unwrap_or(Value::Null);
                v["state"] = Value::String(r.try_get("status")?);
                Ok(v)
            })
            .collect()
    }
}
