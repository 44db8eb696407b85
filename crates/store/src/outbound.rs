//! Outbound provisioning's memory: what each connection has pushed to its target (the
//! target's id and a fingerprint of what was sent, per user, group and membership), the
//! connection's sealed secret, its last run's report and a run held back for confirmation;
//! and the snapshot of the directory a run compares with it.
//!
//! The record of a pushed object is written right after the target acknowledged it, one
//! object at a time, so a run cut short leaves an exact account of what went out: the next
//! run pushes only the rest.

use serde_json::Value;
use sqlx::Row;
use trustplane_model::{Group, User};

use crate::db::{Bind, Store};
use crate::directory::{group_from_row, user_from_row, GROUPS, USERS};
use crate::error::Result;

/// One object pushed to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedObject {
    /// `user`, `group` or `member`.
    pub kind: String,
    /// The directory's id (for a membership: `groupId/userId`).
    pub object_id: String,
    /// The target's id of it.
    pub target_id: String,
    /// What was sent, condensed: a change of it means the object must be sent again.
    pub fingerprint: String,
}

/// A direct member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The group.
    pub group_id: String,
    /// The member.
    pub member_id: String,
    /// `user` or `group`.
    pub member_type: String,
}

/// The whole directory as an outbound run sees it.
#[derive(Debug, Clone, Default)]
pub struct DirectorySnapshot {
    /// Every user.
    pub users: Vec<User>,
    /// Every group.
    pub groups: Vec<Group>,
    /// Every direct membership.
    pub members: Vec<Membership>,
}

/// What the last outbound run left, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// `succeeded`, `failed` (some objects failed) or `held` (waiting for confirmation).
    pub status: String,
    /// The first failure's reason, for the status line.
    pub error: Option<String>,
    /// The changes pushed by this run.
    pub pushed: i64,
    /// The objects that failed in this run.
    pub failures: i64,
    /// Differences found by a reconciliation (`None`: this run did not read the target).
    pub drift: Option<i64>,
    /// The run's report (bounded by the caller).
    pub report: Value,
    /// The run that waits for an administrator, if this one was held back.
    pub held: Option<Value>,
}

impl Store {
    /// Everything the connection has pushed.
    pub async fn pushed_objects(&self, connection: &str) -> Result<Vec<PushedObject>> {
        let rows = self
            .fetch_all(
                "SELECT kind, object_id, target_id, fingerprint FROM provisioning_targets \
                 WHERE connection_id = $1",
                &[Bind::Text(connection.into())],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PushedObject {
                    kind: r.try_get("kind")?,
                    object_id: r.try_get("object_id")?,
                    target_id: r.try_get("target_id")?,
                    fingerprint: r.try_get("fingerprint")?,
                })
            })
            .collect()
    }

    /// The target's id of one pushed object.
    pub async fn pushed_target_id(
        &self,
        connection: &str,
        kind: &str,
        object_id: &str,
    ) -> Result<Option<String>> {
        let row = self
            .fetch_optional(
                "SELECT target_id FROM provisioning_targets \
                 WHERE connection_id = $1 AND kind = $2 AND object_id = $3",
                &[
                    Bind::Text(connection.into()),
                    Bind::Text(kind.into()),
                    Bind::Text(object_id.into()),
                ],
            )
            .await?;
        Ok(row.map(|r| r.try_get("target_id")).transpose()?)
    }

    /// Records (or replaces) what was pushed for one object, once the target acknowledged it.
    pub async fn record_pushed(&self, connection: &str, o: &PushedObject) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "INSERT INTO provisioning_targets (connection_id, kind, object_id, target_id, \
             fingerprint, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (connection_id, kind, object_id) DO UPDATE SET target_id = $4, \
             fingerprint = $5, updated_at = $6",
            &[
                Bind::Text(connection.into()),
                Bind::Text(o.kind.clone()),
                Bind::Text(o.object_id.clone()),
                Bind::Text(o.target_id.clone()),
                Bind::Text(o.fingerprint.clone()),
                Bind::Int(now),
            ],
        )
        .await?;
        tx.commit().await
    }

    /// Forgets a pushed object, once the target removed it.
    pub async fn forget_pushed(&self, connection: &str, kind: &str, object_id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        tx.execute(
            "DELETE FROM provisioning_targets WHERE connection_id = $1 AND kind = $2 AND object_id = $3",
            &[
                Bind::Text(connection.into()),
                Bind::Text(kind.into()),
                Bind::Text(object_id.into()),
            ],
        )
        .await?;
        tx.commit().await
    }

    /// The whole directory, read in one transaction so users, groups and memberships agree
    /// (a write transaction: the only kind this store opens, and it reads consistently).
    pub async fn directory_snapshot(&self) -> Result<DirectorySnapshot> {
        let mut tx = self.begin_write().await?;
        let users = tx
            .fetch_all(
                &format!(
                    "SELECT {} FROM users ORDER BY created_at, id",
                    USERS.columns
                ),
                &[],
            )
            .await?
            .iter()
            .map(user_from_row)
            .collect::<Result<Vec<_>>>()?;
        let groups = tx
            .fetch_all(
                &format!(
                    "SELECT {} FROM groups ORDER BY created_at, id",
                    GROUPS.columns
                ),
                &[],
            )
            .await?
            .iter()
            .map(group_from_row)
            .collect::<Result<Vec<_>>>()?;
        let members = tx
            .fetch_all(
                "SELECT group_id, member_id, member_type FROM group_members",
                &[],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(Membership {
                    group_id: r.try_get("group_id")?,
                    member_id: r.try_get("member_id")?,
                    member_type: r.try_get("member_type")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        tx.commit().await?;
        Ok(DirectorySnapshot {
            users,
            groups,
            members,
        })
    }

    /// A connection's sealed secret.
    pub async fn provisioning_secret(&self, connection: &str) -> Result<Option<String>> {
        let row = self
            .fetch_optional(
                "SELECT secret FROM provisioning_connections WHERE id = $1",
                &[Bind::Text(connection.into())],
            )
            .await?;
        Ok(row
            .map(|r| r.try_get::<Option<String>, _>("secret"))
            .transpose()?
            .flatten())
    }

    /// The last run's report and the run held back for confirmation, if any.
    pub async fn outbound_report(
        &self,
        connection: &str,
    ) -> Result<(Option<Value>, Option<Value>)> {
        let row = self
            .fetch_optional(
                "SELECT last_report, held FROM provisioning_connections WHERE id = $1",
                &[Bind::Text(connection.into())],
            )
            .await?;
        let Some(row) = row else {
            return Ok((None, None));
        };
        let read = |c: &str| -> Result<Option<Value>> {
            match row.try_get::<Option<String>, _>(c)? {
                Some(s) => Ok(Some(serde_json::from_str(&s)?)),
                None => Ok(None),
            }
        };
        Ok((read("last_report")?, read("held")?))
    }

    /// Records an outbound run: its status, its report and the counters.
    pub async fn record_outbound_run(&self, connection: &str, run: &RunRecord) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "UPDATE provisioning_connections SET last_run_at = $1, last_status = $2, \
             last_error = $3, changes = changes + $4, failures = failures + $5, \
             drift = COALESCE($6, drift), last_report = $7, held = $8, \
             last_change_at = CASE WHEN $4 > 0 THEN $1 ELSE last_change_at END WHERE id = $9",
            &[
                Bind::Int(now),
                Bind::Text(run.status.clone()),
                Bind::OptText(run.error.as_ref().map(|e| e.chars().take(512).collect())),
                Bind::Int(run.pushed),
                Bind::Int(run.failures),
                Bind::OptInt(run.drift),
                Bind::Text(run.report.to_string()),
                Bind::OptText(run.held.as_ref().map(Value::to_string)),
                Bind::Text(connection.into()),
            ],
        )
        .await?;
        tx.commit().await
    }
}

impl Store {
    /// The audit chain's length: every change to the directory is audited, so while it stands
    /// still there is nothing new to push (one row, read cheaply every few seconds).
    pub async fn audit_sequence(&self) -> Result<i64> {
        let row = self
            .fetch_optional("SELECT seq FROM audit_head WHERE id = 1", &[])
            .await?;
        Ok(row.map(|r| r.try_get("seq")).transpose()?.unwrap_or(0))
    }
}
