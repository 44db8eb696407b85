//! The audit trail: an append-only chain of [`Event`]s in which every entry stores the hash
//! of the previous entry and its own, so that altering or removing an entry breaks the chain
//! at that entry.
//!
//! From the chain's keying marker on (`audit_head.keyed_from`), each hash is an HMAC-SHA256
//! under an [`AuditKey`] derived from the master key, which is not in the database: someone
//! who can write the database but lacks the key cannot recompute a chain that verifies.
//! Entries written before the marker (by versions that did not key the chain) keep their plain
//! SHA-256 hashes; the marker's own MAC covers the hash of the last of them, so they cannot be
//! rewritten either. Checkpoints ([`AuditAnchor`]) can be exported where the database's
//! writers cannot reach; [`Store::verify_audit_chain_anchored`] then also catches a chain cut
//! short or rewritten whole.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use trustplane_model::{Event, Timestamp};

use crate::db::{Backend, Bind, Store, WriteTx};
use crate::error::{Result, StoreError};
use crate::list::Page;

/// The hash the first entry points back to.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Labels the derivation, so the master key is used for nothing else under this name.
const KEY_LABEL: &[u8] = b"trustplane audit chain key v1";

/// The key of the audit chain.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl AuditKey {
    /// Derives the chain's key from the master key's bytes: HMAC-SHA256(master key, label).
    pub fn derive(master_key: &[u8]) -> AuditKey {
        AuditKey(hmac_sha256(master_key, &[KEY_LABEL]))
    }

    fn hash(&self, prev_hash: &str, body: &str) -> String {
        hex::encode(hmac_sha256(
            &self.0,
            &[prev_hash.as_bytes(), b"\n", body.as_bytes()],
        ))
    }

    /// Seals the keying marker: where keyed hashing starts and the hash of the entry before.
    fn marker_mac(&self, keyed_from: i64, prev_hash: &str) -> String {
        hex::encode(hmac_sha256(
            &self.0,
            &[
                b"keyed-from\n",
                keyed_from.to_string().as_bytes(),
                b"\n",
                prev_hash.as_bytes(),
            ],
        ))
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(<key>)")
    }
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts every key length"),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// The hash of an unkeyed entry (before the keying marker): SHA-256 over the previous hash, a
/// newline and the stored body.
fn entry_hash(prev_hash: &str, body: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(body.as_bytes());
    hex::encode(h.finalize())
}

/// Constant-time comparison of two hex strings, for MACs.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// One checkpoint of the chain, as exported to an anchor file (one JSON object per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditAnchor {
    /// The sequence number of the chain head checkpointed.
    pub sequence: i64,
    /// Its hash.
    pub hash: String,
    /// When the checkpoint was taken (ms since the epoch).
    pub at: Timestamp,
    /// The node that took it.
    pub node: String,
    /// Where keyed hashing starts, if it does.
    pub keyed_from: Option<i64>,
}

/// One chained entry, ready to insert.
struct ChainedEntry {
    seq: i64,
    category: String,
    activity: String,
    actor_id: String,
    target_id: Option<String>,
    subject_id: Option<String>,
    body: String,
    prev_hash: String,
    hash: String,
}

/// The person an entry is about when its actor and target do not say: the principal of a PIM
/// request or assignment, or the person of an alert, in the entry's body.
fn subject_of(event: &Event) -> Option<String> {
    let after = event.after.as_ref()?;
    let principal = ["principalId", "personId"]
        .iter()
        .find_map(|k| after.get(*k).and_then(|v| v.as_str()))?;
    let by_actor_or_target = event.initiated_by.id == principal
        || event.target.as_ref().is_some_and(|t| t.id == principal);
    (!by_actor_or_target && !principal.is_empty()).then(|| principal.to_string())
}

/// Entries inserted by one statement when several are appended at once (10 values each, well
/// under SQLite's and PostgreSQL's bound-parameter limits).
const ROWS_PER_INSERT: usize = 100;

impl WriteTx {
    /// Appends `event` to the audit trail as part of this transaction and returns its
    /// sequence number. The event's time is set to the transaction's time.
    pub async fn audit(&mut self, event: Event) -> Result<i64> {
        let seqs = self.audit_many(vec![event]).await?;
        seqs.first()
            .copied()
            .ok_or_else(|| StoreError::Corrupt("no sequence number was assigned".into()))
    }

    /// Appends `events` in order as part of this transaction and returns their sequence
    /// numbers: the head is read and moved once, and the entries go in a few multi-row
    /// statements, so a group of entries costs about as many round trips as one.
    pub async fn audit_many(&mut self, events: Vec<Event>) -> Result<Vec<i64>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        // Locking the head row orders appends across connections and nodes.
        let head_sql = match self.backend {
            Backend::Postgres => {
                "SELECT seq, hash, keyed_from FROM audit_head WHERE id = 1 FOR UPDATE"
            }
            Backend::Sqlite => "SELECT seq, hash, keyed_from FROM audit_head WHERE id = 1",
        };
        let head = self
            .fetch_optional(head_sql, &[])
            .await?
            .ok_or_else(|| StoreError::Corrupt("the audit head row is missing".into()))?;
        let mut seq: i64 = head.try_get("seq")?;
        let mut prev_hash: String = head.try_get("hash")?;
        let keyed_from: Option<i64> = head.try_get("keyed_from")?;
        let mut entries = Vec::with_capacity(events.len());
        let mut attempts = Vec::new();
        for mut event in events {
            if let Some(category) = self.category {
                if event.category == "directory" {
                    event.category = category.into();
                }
            }
            seq += 1;
            event.sequence = seq;
            event.activity_date_time = trustplane_model::from_ms(self.now);
            let body = serde_json::to_string(&event)?;
            if let Some(attempt) = crate::risk::attempt_of(&event) {
                attempts.push((seq, attempt));
            }
            self.notable
                .extend(crate::business_metrics::notable(&event));
            let hash = match (&self.audit_key, keyed_from) {
                (Some(key), _) => key.hash(&prev_hash, &body),
                (None, None) => entry_hash(&prev_hash, &body),
                // An entry hashed without the key would break a keyed chain: refuse the change.
                (None, Some(_)) => return Err(StoreError::invalid(
                    "master_key",
                    "the audit chain is keyed: changes need the store opened with the master key",
                )),
            };
            let subject_id = subject_of(&event);
            entries.push(ChainedEntry {
                seq,
                subject_id,
                category: event.category,
                activity: event.activity,
                actor_id: event.initiated_by.id,
                target_id: event.target.map(|t| t.id),
                body,
                prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
                hash,
            });
        }
        let seqs = entries.iter().map(|e| e.seq).collect();
        for chunk in entries.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO audit_log (seq, at, category, activity, actor_id, target_id, subject_id, body, prev_hash, hash) VALUES ",
            );
            let mut binds = Vec::with_capacity(chunk.len() * 10);
            for (i, e) in chunk.iter().enumerate() {
                let n = i * 10;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6,
                    n + 7,
                    n + 8,
                    n + 9,
                    n + 10
                ));
                binds.extend([
                    Bind::Int(e.seq),
                    Bind::Int(self.now),
                    Bind::Text(e.category.clone()),
                    Bind::Text(e.activity.clone()),
                    Bind::Text(e.actor_id.clone()),
                    Bind::OptText(e.target_id.clone()),
                    Bind::OptText(e.subject_id.clone()),
                    Bind::Text(e.body.clone()),
                    Bind::Text(e.prev_hash.clone()),
                    Bind::Text(e.hash.clone()),
                ]);
            }
            self.execute(&sql, &binds).await?;
        }
        // Sign-in attempts are indexed for the risk detectors with their log entries.
        for (seq, attempt) in attempts {
            self.record_attempt(seq, attempt).await?;
        }
        self.execute(
            "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
            &[Bind::Int(seq), Bind::Text(prev_hash)],
        )
        .await?;
        Ok(seqs)
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
    /// Where keyed hashing starts (`None`: the chain has not been keyed yet).
    pub keyed_from: Option<i64>,
    /// Anchored checkpoints compared with the chain.
    pub anchors_checked: usize,
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

    /// Gives the store the audit chain's key: from now on its entries are keyed. The first
    /// time a database gets a key, the keying marker is placed after the current head and
    /// sealed. A store that already holds a different key is refused.
    pub async fn enable_audit_key(&self, key: AuditKey) -> Result<()> {
        if let Some(held) = self.audit_key.get() {
            if held.0 == key.0 {
                return Ok(());
            }
            return Err(StoreError::invalid(
                "master_key",
                "the store already holds another audit key",
            ));
        }
        let mut tx = self.begin_write().await?;
        let head_sql = match self.backend {
            Backend::Postgres => {
                "SELECT seq, hash, keyed_from FROM audit_head WHERE id = 1 FOR UPDATE"
            }
            Backend::Sqlite => "SELECT seq, hash, keyed_from FROM audit_head WHERE id = 1",
        };
        let head = tx
            .fetch_optional(head_sql, &[])
            .await?
            .ok_or_else(|| StoreError::Corrupt("the audit head row is missing".into()))?;
        let keyed_from: Option<i64> = head.try_get("keyed_from")?;
        if keyed_from.is_none() {
            let seq: i64 = head.try_get("seq")?;
            let hash: String = head.try_get("hash")?;
            let from = seq + 1;
            tx.execute(
                "UPDATE audit_head SET keyed_from = $1, keyed_mac = $2 WHERE id = 1 AND keyed_from IS NULL",
                &[Bind::Int(from), Bind::Text(key.marker_mac(from, &hash))],
            )
            .await?;
            tracing::info!(keyed_from = from, "the audit chain is keyed from now on");
        }
        tx.commit().await?;
        // Another task may have set the same key meanwhile; only a different one matters.
        let _ = self.audit_key.set(key.clone());
        match self.audit_key.get() {
            Some(held) if held.0 == key.0 => Ok(()),
            _ => Err(StoreError::invalid(
                "master_key",
                "the store already holds another audit key",
            )),
        }
    }

    /// Reads the whole chain and reports the first entry that was altered or removed.
    pub async fn verify_audit_chain(&self) -> Result<VerifyReport> {
        self.verify_audit_chain_anchored(&[]).await
    }

    /// [`Store::verify_audit_chain`], also comparing the chain with checkpoints exported
    /// earlier: an anchored entry that is missing (the chain was cut short) or differs (the
    /// chain was rewritten, even consistently) is reported. Keyed entries are checked with the
    /// store's key; a keyed chain cannot be verified without it.
    pub async fn verify_audit_chain_anchored(
        &self,
        anchors: &[AuditAnchor],
    ) -> Result<VerifyReport> {
        let _t = self.timer("audit.verify");
        let head = self
            .fetch_optional(
                "SELECT seq, hash, keyed_from, keyed_mac FROM audit_head WHERE id = 1",
                &[],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("the audit head row is missing".into()))?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        let keyed_from: Option<i64> = head.try_get("keyed_from")?;
        let keyed_mac: Option<String> = head.try_get("keyed_mac")?;
        let key = self.audit_key.get();
        if keyed_from.is_some() && key.is_none() {
            return Err(StoreError::invalid(
                "master_key",
                "the audit chain is keyed: verifying it needs the master key",
            ));
        }
        let mut report = VerifyReport {
            entries_checked: 0,
            head_sequence: head_seq,
            keyed_from,
            anchors_checked: anchors.len(),
            first_problem: None,
        };
        let anchored: BTreeMap<i64, &AuditAnchor> =
            anchors.iter().map(|a| (a.sequence, a)).collect();
        // The marker the anchors saw must be the marker now: moving or removing it is how a
        // rewrite would pass keyed entries off as unkeyed ones.
        let marker_problem = anchors
            .iter()
            .filter(|a| a.keyed_from.is_some() && a.keyed_from != keyed_from)
            .filter_map(|a| a.keyed_from)
            .min()
            .map(|sequence| ChainProblem {
                sequence,
                reason: format!(
                    "the anchor file has the chain keyed from entry {sequence}, the database {}",
                    keyed_from.map_or("not at all".to_string(), |k| format!("from entry {k}"))
                ),
            });
        let check_marker = |prev_hash: &str| -> Option<ChainProblem> {
            let (Some(from), Some(key)) = (keyed_from, key) else {
                return None;
            };
            let expected = key.marker_mac(from, prev_hash);
            if keyed_mac.as_deref().is_some_and(|m| same(m, &expected)) {
                None
            } else {
                Some(ChainProblem {
                    sequence: from,
                    reason: format!(
                        "the entries before {from} or the keying marker differ from those sealed when keying began"
                    ),
                })
            }
        };
        let walked = async {
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
                    if keyed_from == Some(expected_seq) {
                        if let Some(problem) = check_marker(&prev_hash) {
                            return Ok((Some(problem), expected_seq - 1, prev_hash));
                        }
                    }
                    report.entries_checked += 1;
                    let keyed = match keyed_from {
                        Some(from) if expected_seq >= from => key,
                        _ => None,
                    };
                    if let Some(problem) = check_entry(&row, expected_seq, &prev_hash, keyed)? {
                        return Ok((Some(problem), expected_seq - 1, prev_hash));
                    }
                    prev_hash = row.try_get("hash")?;
                    if let Some(anchor) = anchored.get(&expected_seq) {
                        if anchor.hash != prev_hash {
                            let problem = ChainProblem {
                                sequence: expected_seq,
                                reason: format!(
                                    "the entry differs from the checkpoint anchored by {} at {}",
                                    anchor.node, anchor.at
                                ),
                            };
                            return Ok((Some(problem), expected_seq, prev_hash));
                        }
                    }
                    expected_seq += 1;
                }
                if (fetched as i64) < BATCH {
                    break;
                }
            }
            Ok::<_, StoreError>((None, expected_seq - 1, prev_hash))
        };
        let (walk_problem, last_seq, prev_hash) = walked.await?;
        let problem = match walk_problem {
            Some(p) => Some(p),
            None => self
                .check_end(head_seq, &head_hash, last_seq, &prev_hash, keyed_from)
                .or_else(|| {
                    if keyed_from == Some(last_seq + 1) {
                        check_marker(&prev_hash)
                    } else {
                        None
                    }
                })
                .or_else(|| {
                    // Anchored entries past the end: the chain was cut short.
                    anchored.range(last_seq + 1..).next().map(|(seq, a)| ChainProblem {
                        sequence: last_seq + 1,
                        reason: format!(
                            "the chain ends at entry {last_seq}, but entry {seq} was anchored by {} at {}",
                            a.node, a.at
                        ),
                    })
                }),
        };
        let problem = match problem {
            Some(p) => Some(p),
            None => self.check_checkpoints(last_seq).await?,
        };
        // Report the earliest of what was found.
        report.first_problem = match (problem, marker_problem) {
            (Some(a), Some(b)) => Some(if b.sequence < a.sequence { b } else { a }),
            (a, b) => a.or(b),
        };
        Ok(report)
    }

    /// The end of the chain against its head row and keying marker.
    fn check_end(
        &self,
        head_seq: i64,
        head_hash: &str,
        last_seq: i64,
        prev_hash: &str,
        keyed_from: Option<i64>,
    ) -> Option<ChainProblem> {
        if last_seq < head_seq {
            Some(ChainProblem {
                sequence: last_seq + 1,
                reason: format!(
                    "entries {} to {head_seq} are missing from the end of the chain",
                    last_seq + 1
                ),
            })
        } else if last_seq > head_seq || prev_hash != head_hash {
            Some(ChainProblem {
                sequence: head_seq.max(1),
                reason: "the chain head does not match the last entry".into(),
            })
        } else if keyed_from.is_some_and(|from| from > last_seq + 1) {
            Some(ChainProblem {
                sequence: last_seq + 1,
                reason: "the keying marker points past the end of the chain".into(),
            })
        } else {
            None
        }
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
    /// Returns the checkpoint, if a new one was written, for exporting to an anchor file.
    pub async fn write_audit_checkpoint(&self, node: &str) -> Result<Option<AuditAnchor>> {
        let mut tx = self.begin_write().await?;
        let head = tx
            .fetch_optional(
                "SELECT seq, hash, keyed_from FROM audit_head WHERE id = 1",
                &[],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("the audit head row is missing".into()))?;
        let seq: i64 = head.try_get("seq")?;
        let hash: String = head.try_get("hash")?;
        let keyed_from: Option<i64> = head.try_get("keyed_from")?;
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
                    Bind::Text(hash.clone()),
                    Bind::Int(now),
                    Bind::Text(node.to_string()),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok((written > 0).then(|| AuditAnchor {
            sequence: seq,
            hash,
            at: now,
            node: node.to_string(),
            keyed_from,
        }))
    }
}

/// Checks one stored entry against its expected position and predecessor.
/// `key` is the chain's key when the entry must be keyed, `None` when it predates keying.
fn check_entry(
    row: &sqlx::any::AnyRow,
    expected_seq: i64,
    prev_hash: &str,
    key: Option<&AuditKey>,
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
    let expected = match key {
        Some(key) => key.hash(prev_hash, &body),
        None => entry_hash(prev_hash, &body),
    };
    if !same(&expected, &hash) {
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
