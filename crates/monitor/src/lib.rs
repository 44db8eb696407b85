//! The detection pipeline of a node: records from any source (pushed cloud logs, Trustplane's
//! own sign-in and audit events) are resolved to a person, enriched, matched against the
//! Sigma rules, and turned into deduplicated alerts; response policies then act on them.
//!
//! The pipeline is free of HTTP: the server's ingest endpoint, its job over Trustplane's own
//! events and the log-source polls of `trustplane-cloudops` all call [`Detection`].
#![deny(missing_docs)]

mod ocsf;
mod privileged;
mod respond;
pub mod timeline;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use trustplane_detect::{
    stream_bytes, EngineOptions, Item, Provider, ReadError, ReadLimits, Record, RecordOrigin,
    RuleSet,
};
use trustplane_keyring::Sealer;
use trustplane_model::Timestamp;
use trustplane_store::{AuditQuery, NewHit, Store, StoreError};

/// Matches of one rule for one person within this window fold into one alert.
const DEDUP_WINDOW_MS: i64 = 60 * 60 * 1000;

/// Records handed from the parser to the pipeline at a time: what is held of an object
/// besides its bytes as stored (gzipped).
const INGEST_BATCH: usize = 1000;

/// The source name of Trustplane's own audit entries run through the pipeline.
const OWN_EVENTS_SOURCE: &str = "trustplane";

/// Directory users by lower-cased id and alias.
type Names = HashMap<String, (String, String)>;

/// What one batch did.
#[derive(Debug, Default, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestReport {
    /// Records read.
    pub records: usize,
    /// Records that could not be read.
    pub malformed: usize,
    /// Records resolved to a directory user.
    pub resolved: usize,
    /// Rule matches.
    pub matches: usize,
    /// Alerts opened (not folded into an open one).
    pub new_alerts: Vec<String>,
}

/// How much log data one push to the ingest API and one stored object (an S3 object a log
/// source reads) may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestLimits {
    /// One push to `POST /api/v1/detect/ingest`.
    pub push: ReadLimits,
    /// One object read by a log source.
    pub object: ReadLimits,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits {
            push: ReadLimits::PUSH,
            object: ReadLimits::OBJECT,
        }
    }
}

/// Why log data was not ingested.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The data could not be read or is over a limit; nothing of it was processed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A resolved person: directory user id and UPN.
type Person = (String, String);

/// The pipeline.
pub struct Detection {
    store: Store,
    sealer: Sealer,
    rules: Mutex<RuleSet>,
    http: reqwest::Client,
    limits: IngestLimits,
}

fn ms_of(time: Option<&str>) -> Option<Timestamp> {
    let t =
        time::OffsetDateTime::parse(time?, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

impl Detection {
    /// Loads Trustplane's built-in rules and those in `rule_dirs` (SigmaHQ's, your own).
    pub fn new(
        store: Store,
        sealer: Sealer,
        rule_dirs: &[PathBuf],
        limits: IngestLimits,
    ) -> Result<Self, StoreError> {
        let rules =
            RuleSet::load_with_builtin(rule_dirs, &EngineOptions::default()).map_err(|e| {
                StoreError::Invalid {
                    field: "detection_rules",
                    message: e.to_string(),
                }
            })?;
        for f in &rules.check().failures {
            tracing::warn!(path = %f.path.display(), reason = %f.reason, "a detection rule could not be loaded");
        }
        Ok(Detection {
            store,
            sealer,
            rules: Mutex::new(rules),
            http: reqwest::Client::new(),
            limits,
        })
    }

    /// The limits on pushed data and stored objects.
    pub fn limits(&self) -> &IngestLimits {
        &self.limits
    }

    /// Reads log data (CloudTrail `{"Records":[...]}`, Azure `{"records":[...]}`, arrays or
    /// NDJSON, gzipped or not) within `limits` and runs it through the pipeline. Data over a
    /// limit is refused whole, before any of it is processed: a first pass over the data
    /// checks the limits without keeping anything. The second pass streams: records are
    /// inflated and parsed on a blocking thread and reach the pipeline [`INGEST_BATCH`] at a
    /// time, so besides `bytes` (as stored, gzipped) memory holds a few batches whatever the
    /// size of the data once inflated.
    pub async fn ingest(
        &self,
        bytes: Vec<u8>,
        source: &str,
        limits: ReadLimits,
    ) -> Result<IngestReport, IngestError> {
        let name = PathBuf::from(source);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Value>>(2);
        let reader = tokio::task::spawn_blocking(move || -> Result<usize, ReadError> {
            stream_bytes(&bytes, &name, &limits, &mut |_| {})?;
            let mut batch = Vec::with_capacity(INGEST_BATCH);
            let mut malformed = 0_usize;
            let mut open = true;
            stream_bytes(&bytes, &name, &limits, &mut |item| match item {
                Item::Record(record) if open => {
                    batch.push(record.original);
                    if batch.len() >= INGEST_BATCH {
                        // A closed channel: the pipeline stopped (a store error).
                        open = tx.blocking_send(std::mem::take(&mut batch)).is_ok();
                    }
                }
                Item::Record(_) => {}
                Item::Malformed(_) => malformed += 1,
            })?;
            if open && !batch.is_empty() {
                let _ = tx.blocking_send(batch);
            }
            Ok(malformed)
        });
        let names = self.names().await?;
        let mut report = IngestReport::default();
        while let Some(values) = rx.recv().await {
            let part = self
                .process_with(&names, values, source, report.records)
                .await?;
            report.records += part.records;
            report.resolved += part.resolved;
            report.matches += part.matches;
            report.new_alerts.extend(part.new_alerts);
        }
        report.malformed = reader
            .await
            .map_err(|e| ReadError::Io(format!("the reader stopped: {e}")))??;
        Ok(report)
    }

    /// Runs Trustplane's own sign-in and audit events written since the last run.
    pub async fn process_own_events(&self) -> Result<IngestReport, StoreError> {
        let after = self
            .store
            .setting("detection_own_seq")
            .await?
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0);
        let page = self
            .store
            .list_audit(&AuditQuery {
                after: Some(after),
                top: 1000,
                ..Default::default()
            })
            .await?;
        let Some(last) = page.items.last().map(|e| e.sequence) else {
            return Ok(IngestReport::default());
        };
        let values: Vec<Value> = page
            .items
            .into_iter()
            .filter(|e| e.category == "signIn" || e.category == "authentication")
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect();
        let report = self.process(values, OWN_EVENTS_SOURCE).await?;
        self.store
            .put_setting("detection_own_seq", &last.to_string())
            .await?;
        Ok(report)
    }

    /// Resolves, enriches, matches and raises alerts.
    pub async fn process(
        &self,
        values: Vec<Value>,
        source: &str,
    ) -> Result<IngestReport, StoreError> {
        let names = self.names().await?;
        self.process_with(&names, values, source, 0).await
    }

    async fn names(&self) -> Result<Names, StoreError> {
        let index = self.store.identity_index().await?;
        let mut names: Names = HashMap::new();
        for (id, upn, aliases) in index {
            names.insert(id.to_lowercase(), (id.clone(), upn.clone()));
            for a in aliases {
                names.insert(a, (id.clone(), upn.clone()));
            }
        }
        Ok(names)
    }

    /// [`Detection::process`] with the directory's names read once for all the batches of
    /// one object; `first` is the index of the first record in the object.
    async fn process_with(
        &self,
        names: &Names,
        values: Vec<Value>,
        source: &str,
        first: usize,
    ) -> Result<IngestReport, StoreError> {
        let mut report = IngestReport {
            records: values.len(),
            ..Default::default()
        };
        let mut enriched = Vec::with_capacity(values.len());
        let mut timeline = Vec::new();
        for (i, mut value) in values.into_iter().enumerate() {
            let origin = RecordOrigin {
                path: PathBuf::from(source),
                index: first + i,
            };
            let probe = Record::from_json(value.clone(), origin.clone());
            let person = resolve(&probe, &value, names);
            let summary = probe.summary().clone();
            let mut seen_ip = Value::Null;
            if let Some((id, _)) = &person {
                report.resolved += 1;
                if let (Some(ip), true) = (
                    summary.source_ip.as_deref(),
                    matches!(probe.provider(), Provider::Aws | Provider::Azure),
                ) {
                    seen_ip = Value::Bool(self.store.person_signed_in_from(id, ip).await?);
                }
                let at =
                    ms_of(summary.time.as_deref()).unwrap_or_else(|| self.store.clock().now_ms());
                timeline.push((
                    id.clone(),
                    at,
                    format!("{:?}", probe.provider()).to_lowercase(),
                    serde_json::to_value(&summary).unwrap_or_default(),
                ));
            }
            if let Some(obj) = value.as_object_mut() {
                obj.insert(
                    "trustplane".into(),
                    json!({ "person": person.as_ref().map(|p| &p.0), "upn": person.as_ref().map(|p| &p.1), "ipSeenInSignIns": seen_ip }),
                );
            }
            enriched.push((Record::from_json(value, origin), person));
        }
        // Trustplane's own audit entries are on the timeline already, read from the audit trail.
        if source != OWN_EVENTS_SOURCE {
            self.store.add_person_events(&timeline).await?;
        }
        // Matching holds the rule set (correlation state included) briefly, with no await.
        type Matched = (
            trustplane_detect::Hit,
            Option<Person>,
            Value,
            Option<i64>,
            Vec<String>,
        );
        let hits: Vec<Matched> = {
            let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
            enriched
                .iter()
                .flat_map(|(record, person)| {
                    // When it happened, not when it reached us: logs arrive late and in batches.
                    let at = ms_of(record.summary().time.as_deref());
                    let addresses = addresses_of(record);
                    rules.process(record).into_iter().map(move |h| {
                        let original = record.original.clone();
                        (h, person.clone(), original, at, addresses.clone())
                    })
                })
                .collect()
        };
        let mut findings = self.privileged_findings(&enriched).await?;
        report.matches = hits.len() + findings.len();
        for (hit, person, record, event_time, addresses) in hits {
            let (alert, created) = self
                .store
                .record_hit(
                    NewHit {
                        rule_id: hit.rule.id.clone(),
                        rule_title: hit.rule.title.clone(),
                        rule_author: hit.rule.author.clone(),
                        level: hit.rule.level.clone().unwrap_or_else(|| "medium".into()),
                        person_id: person.as_ref().map(|p| p.0.clone()),
                        person_upn: person.as_ref().map(|p| p.1.clone()),
                        record,
                        event_time,
                        addresses,
                    },
                    DEDUP_WINDOW_MS,
                )
                .await?;
            if created {
                report.new_alerts.push(alert.id.clone());
                self.respond_automatically(&alert).await?;
            }
        }
        for hit in findings.drain(..) {
            let (alert, created) = self.store.record_hit(hit, DEDUP_WINDOW_MS).await?;
            if created {
                report.new_alerts.push(alert.id.clone());
                self.respond_automatically(&alert).await?;
            }
        }
        Ok(report)
    }

    /// Privileged use outside an activation, and console access bypassing federation, among
    /// `records` (see [`privileged`]), as hits of Trustplane's own rules.
    async fn privileged_findings(
        &self,
        records: &[(Record, Option<Person>)],
    ) -> Result<Vec<NewHit>, StoreError> {
        // Only CloudTrail records can show it: most batches (Trustplane's own events every few
        // seconds) skip reading the roles at all.
        if !records.iter().any(|(r, _)| r.provider() == Provider::Aws) {
            return Ok(Vec::new());
        }
        let roles = privileged::PrivilegedRoles::load(&self.store).await?;
        let mut hits = Vec::new();
        for (record, person) in records {
            let at = ms_of(record.summary().time.as_deref());
            let id = person.as_ref().map(|p| p.0.as_str());
            let Some(f) = privileged::check(&self.store, &roles, record, id, at).await? else {
                continue;
            };
            let mut evidence = record.original.clone();
            if let Some(t) = evidence
                .get_mut("trustplane")
                .and_then(Value::as_object_mut)
            {
                t.insert("privilegedUse".into(), f.detail);
            }
            hits.push(NewHit {
                rule_id: Some(f.rule_id.into()),
                rule_title: f.title.into(),
                rule_author: Some("Trustplane".into()),
                level: f.level.into(),
                person_id: person.as_ref().map(|p| p.0.clone()),
                person_upn: person.as_ref().map(|p| p.1.clone()),
                record: evidence,
                event_time: at,
                addresses: addresses_of(record),
            });
        }
        Ok(hits)
    }
}

/// The network address a record came from, when it is one (CloudTrail puts a service's name
/// there for calls AWS made on someone's behalf).
fn addresses_of(record: &Record) -> Vec<String> {
    record
        .summary()
        .source_ip
        .as_deref()
        .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
        .map(|ip| vec![ip.to_string()])
        .unwrap_or_default()
}

/// The directory user a record is about: an AWS assumed-role session name or IAM user name,
/// an Azure caller / UPN / object id, or Trustplane's own actor.
fn resolve(
    record: &Record,
    value: &Value,
    names: &HashMap<String, (String, String)>,
) -> Option<(String, String)> {
    let s = record.summary();
    let a = &s.actor;
    let own = |p: &str| value.pointer(p).and_then(Value::as_str).map(str::to_string);
    // Trustplane's own events name the user directly: a sign-in is about whoever signed in,
    // an authentication change (a method removed, sessions ended) about the user it changed,
    // which is not always who made it. Cloud records name the caller.
    let mut candidates: Vec<String> = match value.get("category").and_then(Value::as_str) {
        Some("signIn") => [own("/initiatedBy/id"), own("/after/userPrincipalName")]
            .into_iter()
            .flatten()
            .collect(),
        Some("authentication") => [own("/target/id"), own("/initiatedBy/id")]
            .into_iter()
            .flatten()
            .collect(),
        _ => Vec::new(),
    };
    candidates.extend(a.session_name.clone());
    candidates.extend(a.upn.clone());
    candidates.extend(a.caller.clone());
    candidates.extend(a.object_id.clone());
    candidates.extend(a.user_name.clone());
    candidates
        .into_iter()
        .find_map(|c| names.get(&c.to_lowercase()).cloned())
}

/// Shared by the server.
pub type SharedDetection = Arc<Detection>;

impl Detection {
    /// Starts the node's share of detection over Trustplane's own events: every few seconds
    /// the lease holder runs the new sign-in and audit events through the pipeline.
    pub fn spawn_own_event_detection(self: &Arc<Self>, store: Store, node_id: String) {
        let detection = self.clone();
        let period = std::time::Duration::from_secs(5);
        trustplane_store::jobs::spawn_leased(
            store,
            "own-event-detection",
            node_id,
            period,
            move || {
                let detection = detection.clone();
                async move {
                    if let Err(e) = detection.process_own_events().await {
                        tracing::warn!(error = %e, "detection over own events failed");
                    }
                }
            },
        );
    }
}
