//! The audit trail: an append-only chain of [`Event`]s in which every entry stores the
//! SHA-256 of the previous entry's hash and its own body, so that altering or removing an
//! entry breaks the chain at that entry.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use trustplane_model::{Event, Timestamp};

use crate::db::{Backend, Bind, Store, WriteTx};
use crate::error::{Result, StoreError};
use crate::list::Page;

/// The hash the first entry points back to.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an entry: SHA-256 over the previous hash, a newline and the stored body.
fn entry_hash(prev_hash: &str, body: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(body.as_bytes());
    hex::encode(h.finalize())
}

impl WriteTx {
    /// Appends `event` to the audit trail as part of this transaction and returns its
    /// sequence number. The event's time is set to the transaction's time.
    pub async fn audit(&mut self, mut event: Event) -> Result<i64> {
        // Locking the head row orders appends across connections and nodes.
        let head_sql = match self.backend {
            Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
            Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
        };
        let head = self
            .fetch_optional(head_sql, &[])
            .await?
            .ok_or_else(|| StoreError::Corrupt("the audit head row is missing".into()))?;
        let prev_seq: i64 = head.try_get("seq")?;
        let prev_hash: String = head.try_get("hash")?;
        let seq = prev_seq + 1;
        event.sequence = seq;
        event.activity_date_time = trustplane_model::from_ms(self.now);
        let body = serde_json::to_string(&event)?;
        let hash = entry_hash(&prev_hash, &body);
        self.execute(
            "INSERT INTO audit_log (seq, at, category, activity, actor_id, target_id, body, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                Bind::Int(seq),
                Bind::Int(self.now),
                Bind::Text(event.category.clone()),
                Bind::Text(event.activity.clone()),
                Bind::Text(event.initiated_by.id.clone()),
                Bind::OptText(event.target.as_ref().map(|t| t.id.clone())),
                Bind::Text(body),
                Bind::Text(prev_hash),
                Bind::Text(hash.clone()),
            ],
        )
        .await?;
        self.execute(
            "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
            &[Bind::Int(seq), Bind::Text(hash)],
        )
        .await?;
        Ok(seq)
    }
}

/// What to select from the audit trail.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Entries at or after this time.
    pub from: Option<Timestamp>,
    /// Entries before this time.
    pub to: Option<Timestamp>,
    /// Entries initiated by this object id.
    pub actor: Option<String>,
    /// Entries whose target is this object id.
    pub target: Option<String>,
    /// Entries of this activity (`user.create`, ...).
    pub activity: Option<String>,
    /// Entries of this category (`directory`, `signIn`, ...).
    pub category: Option<String>,
    /// Page size.
    pub top: usize,
    /// Continue after this sequence number.
    pub after: Option<i64>,
}

/// Where the chain first breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainProblem {
    /// The sequence number of the first entry found altered or missing.
    pub sequence: i64,
    /// What is wrong with it.
    pub reason: String,
}

/// The outcome of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// How many entries were read.
    pub entries_checked: i64,
    /// The last sequence number recorded in the chain head.
    pub head_sequence: i64,
    /// The first problem, if any.
    pub first_problem: Option<ChainProblem>,
}

impl Store {
    /// Lists audit entries in order of sequence.
    pub async fn list_audit(&self, q: &AuditQuery) -> Result<Page<Event>> {
        let _t = self.timer("audit.list");
        let mut sql = String::from("SELECT seq, body FROM audit_log WHERE 1 = 1");
        let mut binds = Vec::new();
        let mut push = |sql: &mut String, cond: &str, b: Bind| {
            binds.push(b);
            sql.push_str(&format!(" AND {cond} ${}", binds.len()));
        };
        if let Some(v) = q.from {
            push(&mut sql, "at >=", Bind::Int(v));
        }
        if let Some(v) = q.to {
            push(&mut sql, "at <", Bind::Int(v));
        }
        if let Some(v) = &q.actor {
            push(&mut sql, "actor_id =", Bind::Text(v.clone()));
        }
        if let Some(v) = &q.target {
            push(&mut sql, "target_id =", Bind::Text(v.clone()));
        }
        if let Some(v) = &q.activity {
            push(&mut sql, "activity =", Bind::Text(v.clone()));
        }
        if let Some(v) = &q.category {
            push(&mut sql, "category =", Bind::Text(v.clone()));
        }
        if let Some(v) = q.after {
            push(&mut sql, "seq >", Bind::Int(v));
        }
        let top = q.top.clamp(1, 1000);
        sql.push_str(&format!(" ORDER BY seq LIMIT {}", top + 1));
        let rows = self.fetch_all(&sql, &binds).await?;
        let mut items = Vec::with_capacity(rows.len().min(top));
        for row in rows.iter().take(top) {
            let body: String = row.try_get("body")?;
            items.push(serde_json::from_str(&body)?);
        }
        let next = if rows.len() > top {
            items.last().map(|e: &Event| e.sequence.to_string())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Reads the whole chain and reports the first entry that was altered or removed.
    pub async fn verify_audit_chain(&self) -> Result<VerifyReport> {
        let _t = self.timer("audit.verify");
        let head = self
            .fetch_optional("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
            .await?
            .ok_or_else(|| StoreError::Corrupt("the audit head row is missing".into()))?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        let mut report = VerifyReport {
            entries_checked: 0,
            head_sequence: head_seq,
            first_problem: None,
        };
        let mut expected_seq = 1_i64;
        let mut prev_hash = GENESIS.to_string();
        const BATCH: i64 = 2000;
        loop {
            let rows = self
                .fetch_all(
                    &format!(
                        "SELECT seq, at, category, activity, actor_id, target_id, body, prev_hash, hash \
                         FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT {BATCH}"
                    ),
                    &[Bind::Int(expected_seq)],
                )
                .await?;
            let fetched = rows.len();
            for row in rows {
                report.entries_checked += 1;
                if let Some(problem) = check_entry(&row, expected_seq, &prev_hash)? {
                    report.first_problem = Some(problem);
                    return Ok(report);
                }
                prev_hash = row.try_get("hash")?;
                expected_seq += 1;
            }
            if (fetched as i64) < BATCH {
                break;
            }
        }
        let last_seq = expected_seq - 1;
        if last_seq < head_seq {
            report.first_problem = Some(ChainProblem {
                sequence: last_seq + 1,
                reason: format!(
                    "entries {} to {head_seq} are missing from the end of the chain",
                    last_seq + 1
                ),
            });
        } else if last_seq > head_seq || prev_hash != head_hash {
            report.first_problem = Some(ChainProblem {
                sequence: head_seq.max(1),
                reason: "the chain head does not match the last entry".into(),
            });
        } else if let Some(problem) = self.check_checkpoints(last_seq).await? {
            report.first_problem = Some(problem);
        }
        Ok(report)
    }

    /// Checkpoints record (sequence, hash) pairs seen earlier; a rewritten chain that is
    /// internally consistent still disagrees with them.
    async fn check_checkpoints(&self, last_seq: i64) -> Result<Option<ChainProblem>> {
        let rows = self
            .fetch_all(
                "SELECT c.seq AS seq, c.hash AS expected, l.hash AS actual \
                 FROM audit_checkpoints c LEFT JOIN audit_log l ON l.seq = c.seq ORDER BY c.seq",
                &[],
            )
            .await?;
        for row in rows {
            let seq: i64 = row.try_get("seq")?;
            let expected: String = row.try_get("expected")?;
            let actual: Option<String> = row.try_get("actual")?;
            if seq > last_seq || actual.as_deref() != Some(expected.as_str()) {
                return Ok(Some(ChainProblem {
                    sequence: seq,
                    reason: "the entry differs from the checkpoint taken of it".into(),
                }));
            }
        }
        Ok(None)
    }

    /// Records the current chain head as a checkpoint, unless it is already recorded.
    /// Returns the sequence number checkpointed, if a new one was written.
    pub async fn write_audit_checkpoint(&self, node: &str) -> Result<Option<i64>> {
        let mut tx = self.begin_write().await?;
        let head = tx
            .fetch_optional("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
            .await?
            .ok_or_else(|| StoreError::Corrupt("the audit head row is missing".into()))?;
        let seq: i64 = head.try_get("seq")?;
        let hash: String = head.try_get("hash")?;
        if seq == 0 {
            return Ok(None);
        }
        let now = tx.now;
        let written = tx
            .execute(
                "INSERT INTO audit_checkpoints (seq, hash, at, node) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (seq) DO NOTHING",
                &[
                    Bind::Int(seq),
                    Bind::Text(hash),
                    Bind::Int(now),
                    Bind::Text(node.to_string()),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok((written > 0).then_some(seq))
    }
}

/// Checks one stored entry against its expected position and predecessor.
fn check_entry(
    row: &sqlx::any::AnyRow,
    expected_seq: i64,
    prev_hash: &str,
) -> Result<Option<ChainProblem>> {
    let seq: i64 = row.try_get("seq")?;
    let problem = |sequence: i64, reason: &str| {
        Ok(Some(ChainProblem {
            sequence,
            reason: reason.to_string(),
        }))
    };
    if seq != expected_seq {
        return problem(expected_seq, "the entry is missing");
    }
    let stored_prev: String = row.try_get("prev_hash")?;
    if stored_prev != prev_hash {
        return problem(seq, "the entry does not point to the entry before it");
    }
    let body: String = row.try_get("body")?;
    let hash: String = row.try_get("hash")?;
    if entry_hash(prev_hash, &body) != hash {
        return problem(seq, "the entry's content does not match its hash");
    }
    // The indexed columns are copies of the body; a query must not be misled by them.
    let Ok(event) = serde_json::from_str::<Event>(&body) else {
        return problem(seq, "the entry's body is not a valid event");
    };
    let at: i64 = row.try_get("at")?;
    let category: String = row.try_get("category")?;
    let activity: String = row.try_get("activity")?;
    let actor: String = row.try_get("actor_id")?;
    let target: Option<String> = row.try_get("target_id")?;
    let body_ms = i64::try_from(event.activity_date_time.unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MIN);
    if event.sequence != seq
        || body_ms != at
        || event.category != category
        || event.activity != activity
        || event.initiated_by.id != actor
        || event.target.map(|t| t.id) != target
    {
        return problem(seq, "the entry's indexed columns differ from its content");
    }
    Ok(None)
}
