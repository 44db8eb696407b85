//! Alerts raised by detection rules, deduplicated per rule and person within a window; the
//! response policies that act on them; and each person's cross-cloud timeline.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;
use trustplane_model::{from_ms, new_id, to_ms, Actor, Event, Outcome, Target, Timestamp};

use crate::db::{Bind, Store};
use crate::error::{Result, StoreError};

/// How many matching records an alert keeps as evidence.
const MAX_RECORDS: usize = 20;

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Alert id.
    pub id: String,
    /// The rule's id.
    pub rule_id: Option<String>,
    /// The rule's title.
    pub rule_title: String,
    /// The rule's author, credited wherever a match is shown (Detection Rule License).
    pub rule_author: Option<String>,
    /// informational, low, medium, high, critical.
    pub level: String,
    /// The directory user the records resolve to.
    pub person_id: Option<String>,
    /// Their user principal name.
    pub person_upn: Option<String>,
    /// new, acknowledged, resolved.
    pub status: String,
    /// First match.
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: time::OffsetDateTime,
    /// Latest match.
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: time::OffsetDateTime,
    /// Matches folded into this alert.
    pub hits: i64,
    /// Evidence: the first matching records.
    pub records: Vec<Value>,
    /// Responses taken.
    pub responses: Vec<Value>,
}

/// A match to record.
#[derive(Debug, Clone)]
pub struct NewHit {
    /// Rule id.
    pub rule_id: Option<String>,
    /// Rule title.
    pub rule_title: String,
    /// Rule author.
    pub rule_author: Option<String>,
    /// Rule level.
    pub level: String,
    /// Resolved person.
    pub person_id: Option<String>,
    /// Their UPN.
    pub person_upn: Option<String>,
    /// The matching record.
    pub record: Value,
    /// When the record's event happened (ms), if it says; the alert's first and last seen
    /// follow event times, falling back to the time the record was processed.
    pub event_time: Option<Timestamp>,
    /// The addresses the record came from: with the person, what groups alerts into
    /// incidents.
    pub addresses: Vec<String>,
}

/// What to do about alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponsePolicy {
    /// Policy id.
    #[serde(default)]
    pub id: String,
    /// Alerts at or above this level (informational, low, medium, high, critical).
    pub min_level: String,
    /// Only alerts of this rule, if set.
    #[serde(default)]
    pub rule_id: Option<String>,
    /// endSessions, disableUser or webhook.
    pub action: String,
    /// Act at once, or offer the action as one click.
    pub automatic: bool,
    /// For webhooks: where to POST.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

const ALERT_COLUMNS: &str = "id, rule_id, rule_title, rule_author, level, person_id, person_upn, status, first_seen, last_seen, hits, records, responses";

fn alert_from_row(r: &AnyRow) -> Result<Alert> {
    Ok(Alert {
        id: r.try_get("id")?,
        rule_id: r.try_get("rule_id")?,
        rule_title: r.try_get("rule_title")?,
        rule_author: r.try_get("rule_author")?,
        level: r.try_get("level")?,
        person_id: r.try_get("person_id")?,
        person_upn: r.try_get("person_upn")?,
        status: r.try_get("status")?,
        first_seen: from_ms(r.try_get("first_seen")?),
        last_seen: from_ms(r.try_get("last_seen")?),
        hits: r.try_get("hits")?,
        records: serde_json::from_str(&r.try_get::<String, _>("records")?)?,
        responses: serde_json::from_str(&r.try_get::<String, _>("responses")?)?,
    })
}

/// The numeric rank of a Sigma level.
pub fn level_rank(level: &str) -> u8 {
    match level.to_ascii_lowercase().as_str() {
        "informational" => 0,
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        "critical" => 4,
        _ => 0,
    }
}

fn detection_event(actor: &Actor, activity: &str, alert: &Alert, reason: Option<String>) -> Event {
    Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "detection".into(),
        activity: activity.into(),
        initiated_by: actor.clone(),
        target: Some(Target {
            kind: "alert".into(),
            id: alert.id.clone(),
            display_name: Some(alert.rule_title.clone()),
        }),
        result: Outcome::Success,
        result_reason: reason,
        before: None,
        after: Some(
            json!({ "ruleTitle": alert.rule_title, "ruleAuthor": alert.rule_author, "level": alert.level, "personId": alert.person_id, "personUpn": alert.person_upn, "hits": alert.hits }),
        ),
    }
}

impl Store {
    /// Records a match: folded into the open alert of the same rule and person seen within
    /// `window_ms`, or a new alert. Returns the alert and whether it is new.
    pub async fn record_hit(&self, hit: NewHit, window_ms: i64) -> Result<(Alert, bool)> {
        let key = format!(
            "{}|{}",
            hit.rule_id
                .clone()
                .unwrap_or_else(|| hit.rule_title.clone()),
            hit.person_id.clone().unwrap_or_default()
        );
        let mut tx = self.begin_write().await?;
        let now = hit.event_time.unwrap_or(tx.now);
        let addresses = hit.addresses.clone();
        // The same rule and person within the window of this event, before or after it (logs
        // arrive out of order).
        let open = tx
            .fetch_optional(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE dedup_key = $1 AND status <> 'resolved' AND last_seen >= $2 AND first_seen <= $3 ORDER BY last_seen DESC LIMIT 1"),
                &[
                    Bind::Text(key.clone()),
                    Bind::Int(now.saturating_sub(window_ms)),
                    Bind::Int(now.saturating_add(window_ms)),
                ],
            )
            .await?;
        let (alert, created) = match open {
            Some(row) => {
                let mut alert = alert_from_row(&row)?;
                alert.hits += 1;
                let first = to_ms(alert.first_seen).min(now);
                let last = to_ms(alert.last_seen).max(now);
                alert.first_seen = from_ms(first);
                alert.last_seen = from_ms(last);
                if alert.records.len() < MAX_RECORDS {
                    alert.records.push(hit.record);
                }
                tx.execute(
                    "UPDATE alerts SET hits = $1, first_seen = $2, last_seen = $3, records = $4 WHERE id = $5",
                    &[
                        Bind::Int(alert.hits),
                        Bind::Int(first),
                        Bind::Int(last),
                        Bind::Text(serde_json::to_string(&alert.records)?),
                        Bind::Text(alert.id.clone()),
                    ],
                )
                .await?;
                (alert, false)
            }
            None => {
                let alert = Alert {
                    id: new_id(),
                    rule_id: hit.rule_id,
                    rule_title: hit.rule_title,
                    rule_author: hit.rule_author,
                    level: hit.level,
                    person_id: hit.person_id,
                    person_upn: hit.person_upn,
                    status: "new".into(),
                    first_seen: from_ms(now),
                    last_seen: from_ms(now),
                    hits: 1,
                    records: vec![hit.record],
                    responses: vec![],
                };
                tx.execute(
                    &format!("INSERT INTO alerts (dedup_key, {ALERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1, $11, '[]')"),
                    &[
                        Bind::Text(key),
                        Bind::Text(alert.id.clone()),
                        Bind::OptText(alert.rule_id.clone()),
                        Bind::Text(alert.rule_title.clone()),
                        Bind::OptText(alert.rule_author.clone()),
                        Bind::Text(alert.level.clone()),
                        Bind::OptText(alert.person_id.clone()),
                        Bind::OptText(alert.person_upn.clone()),
                        Bind::Text(alert.status.clone()),
                        Bind::Int(now),
                        Bind::Text(serde_json::to_string(&alert.records)?),
                    ],
                )
                .await?;
                tx.audit(detection_event(
                    &Actor::system(),
                    "alert.create",
                    &alert,
                    None,
                ))
                .await?;
                (alert, true)
            }
        };
        // In the same transaction: an alert is never left outside an incident.
        crate::incidents::correlate(&mut tx, &alert, &addresses, now).await?;
        tx.commit().await?;
        Ok((alert, created))
    }

    /// The alerts of an incident, oldest first (at most 1,000), in one read.
    pub async fn incident_alerts(&self, incident_id: &str) -> Result<Vec<Alert>> {
        let columns: String = ALERT_COLUMNS
            .split(", ")
            .map(|c| format!("l.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.fetch_all(
            &format!(
                "SELECT {columns} FROM incident_alerts a JOIN alerts l ON l.id = a.alert_id \
                 WHERE a.incident_id = $1 ORDER BY l.first_seen, l.id LIMIT 1000"
            ),
            &[Bind::Text(incident_id.into())],
        )
        .await?
        .iter()
        .map(alert_from_row)
        .collect()
    }

    /// One alert.
    pub async fn get_alert(&self, id: &str) -> Result<Alert> {
        let row = self
            .fetch_optional(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"),
                &[Bind::Text(id.into())],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "alert",
                id: id.into(),
            })?;
        alert_from_row(&row)
    }

    /// Alerts, newest first, optionally of one status or person.
    pub async fn list_alerts(
        &self,
        status: Option<&str>,
        person: Option<&str>,
        top: usize,
    ) -> Result<Vec<Alert>> {
        let _t = self.timer("alerts.list");
        let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE 1 = 1");
        let mut binds = Vec::new();
        if let Some(s) = status {
            binds.push(Bind::Text(s.into()));
            sql.push_str(&format!(" AND status = ${}", binds.len()));
        }
        if let Some(p) = person {
            binds.push(Bind::Text(p.into()));
            sql.push_str(&format!(" AND person_id = ${}", binds.len()));
        }
        sql.push_str(&format!(
            " ORDER BY last_seen DESC, id LIMIT {}",
            top.clamp(1, 1000)
        ));
        self.fetch_all(&sql, &binds)
            .await?
            .iter()
            .map(alert_from_row)
            .collect()
    }

    /// Changes an alert's status (acknowledged, resolved).
    pub async fn set_alert_status(&self, actor: &Actor, id: &str, status: &str) -> Result<Alert> {
        if !["new", "acknowledged", "resolved"].contains(&status) {
            return Err(StoreError::invalid(
                "status",
                "must be new, acknowledged or resolved",
            ));
        }
        let mut alert = self.get_alert(id).await?;
        let mut tx = self.begin_write().await?;
        tx.execute(
            "UPDATE alerts SET status = $1 WHERE id = $2",
            &[Bind::Text(status.into()), Bind::Text(id.into())],
        )
        .await?;
        alert.status = status.into();
        tx.audit(detection_event(
            actor,
            &format!("alert.{status}"),
            &alert,
            None,
        ))
        .await?;
        tx.commit().await?;
        Ok(alert)
    }

    /// Records a response taken on an alert (the action itself is the caller's).
    pub async fn record_response(
        &self,
        actor: &Actor,
        id: &str,
        action: &str,
        outcome: &str,
    ) -> Result<()> {
        let mut alert = self.get_alert(id).await?;
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        alert.responses.push(json!({ "action": action, "outcome": outcome, "at": from_ms(now).format(&time::format_description::well_known::Rfc3339).unwrap_or_default(), "by": actor.display_name }));
        tx.execute(
            "UPDATE alerts SET responses = $1 WHERE id = $2",
            &[
                Bind::Text(serde_json::to_string(&alert.responses)?),
                Bind::Text(id.into()),
            ],
        )
        .await?;
        tx.audit(detection_event(
            actor,
            &format!("response.{action}"),
            &alert,
            Some(outcome.into()),
        ))
        .await?;
        tx.commit().await
    }

    /// Adds a response policy; the webhook secret (already sealed by the caller) is stored.
    pub async fn add_response_policy(
        &self,
        actor: &Actor,
        mut p: ResponsePolicy,
        sealed_secret: Option<String>,
    ) -> Result<ResponsePolicy> {
        p.id = new_id();
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "INSERT INTO response_policies (id, min_level, rule_id, action, automatic, webhook_url, webhook_secret, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[Bind::Text(p.id.clone()), Bind::Text(p.min_level.clone()), Bind::OptText(p.rule_id.clone()), Bind::Text(p.action.clone()), Bind::Int(p.automatic.into()), Bind::OptText(p.webhook_url.clone()), Bind::OptText(sealed_secret), Bind::Int(now)],
        )
        .await?;
        tx.audit(Event {
            sequence: 0,
            activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
            category: "detection".into(),
            activity: "responsePolicy.create".into(),
            initiated_by: actor.clone(),
            target: Some(Target {
                kind: "responsePolicy".into(),
                id: p.id.clone(),
                display_name: Some(p.action.clone()),
            }),
            result: Outcome::Success,
            result_reason: None,
            before: None,
            after: serde_json::to_value(&p).ok(),
        })
        .await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Response policies with their sealed webhook secrets.
    pub async fn response_policies(&self) -> Result<Vec<(ResponsePolicy, Option<String>)>> {
        self.fetch_all("SELECT id, min_level, rule_id, action, automatic, webhook_url, webhook_secret FROM response_policies ORDER BY created_at, id", &[])
            .await?
            .iter()
            .map(|r| {
                Ok((
                    ResponsePolicy {
                        id: r.try_get("id")?,
                        min_level: r.try_get("min_level")?,
                        rule_id: r.try_get("rule_id")?,
                        action: r.try_get("action")?,
                        automatic: r.try_get::<i64, _>("automatic")? != 0,
                        webhook_url: r.try_get("webhook_url")?,
                    },
                    r.try_get("webhook_secret")?,
                ))
            })
            .collect()
    }

    /// Adds records to people's timelines.
    pub async fn add_person_events(
        &self,
        events: &[(String, Timestamp, String, Value)],
    ) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for (person, at, provider, summary) in events {
            tx.execute(
                "INSERT INTO person_events (id, person_id, at, provider, summary) VALUES ($1, $2, $3, $4, $5)",
                &[Bind::Text(new_id()), Bind::Text(person.clone()), Bind::Int(*at), Bind::Text(provider.clone()), Bind::Text(summary.to_string())],
            )
            .await?;
        }
        tx.commit().await
    }

    /// Whether a person ever signed in to Trustplane from `ip`.
    pub async fn person_signed_in_from(&self, person: &str, ip: &str) -> Result<bool> {
        Ok(self
            .fetch_optional(
                "SELECT 1 AS x FROM person_ips WHERE person_id = $1 AND ip = $2",
                &[Bind::Text(person.into()), Bind::Text(ip.into())],
            )
            .await?
            .is_some())
    }

    /// Every user's id with the names a cloud log may call them by: UPN, mail, and the
    /// `azureObjectId` and `awsUserName` attributes.
    pub async fn identity_index(&self) -> Result<Vec<(String, String, Vec<String>)>> {
        self.fetch_all("SELECT id, upn, mail, attributes FROM users", &[])
            .await?
            .iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                let upn: String = r.try_get("upn")?;
                let mail: Option<String> = r.try_get("mail")?;
                let attrs: Value = serde_json::from_str(&r.try_get::<String, _>("attributes")?)?;
                let mut names = vec![upn.to_lowercase()];
                names.extend(mail.map(|m| m.to_lowercase()));
                for k in ["azureObjectId", "awsUserName"] {
                    if let Some(v) = attrs.get(k).and_then(Value::as_str) {
                        names.push(v.to_lowercase());
                    }
                }
                Ok((id, upn, names))
            })
            .collect()
    }
}
