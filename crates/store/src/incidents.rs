//! Incidents: the alerts about one person, or from one address, within a day of each other,
//! grouped across Trustplane, AWS and Azure, so that a compromised account moving from a
//! sign-in to a cloud role reads as one story. An alert joins an incident in the transaction
//! that creates it; people then own, comment on and resolve the incident.

use serde::Serialize;
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;
use trustplane_model::{from_ms, new_id, to_ms, Actor, Event, Outcome, Target, Timestamp};

use crate::alerts::{level_rank, Alert};
use crate::db::{Bind, Store, WriteTx};
use crate::error::{Result, StoreError};

/// Alerts this close to an incident's last alert by the same person or address join it.
pub const CORRELATION_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// What an incident remembers at most of each kind: enough to investigate, bounded in size.
const MAX_PERSONS: usize = 50;
const MAX_ADDRESSES: usize = 50;
/// Addresses of one alert used to correlate.
const MAX_ALERT_ADDRESSES: usize = 8;
/// Comments an incident holds, and characters a comment holds.
pub const MAX_COMMENTS: usize = 500;
/// Characters of one comment.
pub const MAX_COMMENT_CHARS: usize = 4000;

/// The statuses an incident goes through.
pub const INCIDENT_STATUSES: &[&str] = &["active", "inProgress", "resolved"];

const COLUMNS: &str = "id, title, status, severity, assigned_to, persons, addresses, comments, \
    first_activity, last_activity, created_at, updated_at";

/// One incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    /// Incident id.
    pub id: String,
    /// A title for people.
    pub display_name: String,
    /// `active`, `inProgress` or `resolved`.
    pub status: String,
    /// The highest level among its alerts.
    pub severity: String,
    /// Who works on it (a directory user's UPN).
    pub assigned_to: Option<String>,
    /// The people its alerts are about: `{id, userPrincipalName}`.
    pub persons: Vec<Value>,
    /// The addresses its alerts came from.
    pub addresses: Vec<String>,
    /// Its alerts' ids, oldest first (only when read one at a time).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alert_ids: Vec<String>,
    /// How many alerts it holds.
    pub alert_count: i64,
    /// `{comment, createdBy, createdDateTime}`, oldest first.
    pub comments: Vec<Value>,
    /// Its first alert's first match.
    #[serde(with = "time::serde::rfc3339")]
    pub first_activity_date_time: time::OffsetDateTime,
    /// Its latest match.
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity_date_time: time::OffsetDateTime,
    /// When it was opened.
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: time::OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub last_update_date_time: time::OffsetDateTime,
}

fn from_row(row: &AnyRow, alert_count: i64) -> Result<Incident> {
    let json =
        |col: &str| -> Result<Value> { Ok(serde_json::from_str(&row.try_get::<String, _>(col)?)?) };
    let list = |v: Value| v.as_array().cloned().unwrap_or_default();
    Ok(Incident {
        id: row.try_get("id")?,
        display_name: row.try_get("title")?,
        status: row.try_get("status")?,
        severity: row.try_get("severity")?,
        assigned_to: row.try_get("assigned_to")?,
        persons: list(json("persons")?),
        addresses: list(json("addresses")?)
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        alert_ids: Vec::new(),
        alert_count,
        comments: list(json("comments")?),
        first_activity_date_time: from_ms(row.try_get("first_activity")?),
        last_activity_date_time: from_ms(row.try_get("last_activity")?),
        created_date_time: from_ms(row.try_get("created_at")?),
        last_update_date_time: from_ms(row.try_get("updated_at")?),
    })
}

fn incident_event(actor: &Actor, activity: &str, i: &Incident, reason: Option<String>) -> Event {
    Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "detection".into(),
        activity: activity.into(),
        initiated_by: actor.clone(),
        target: Some(Target {
            kind: "incident".into(),
            id: i.id.clone(),
            display_name: Some(i.display_name.clone()),
        }),
        result: Outcome::Success,
        result_reason: reason,
        before: None,
        after: Some(json!({
            "status": i.status, "severity": i.severity, "assignedTo": i.assigned_to,
            "alertCount": i.alert_count,
        })),
    }
}

/// What an incident is known by: its people and its addresses.
fn keys_of(alert: &Alert, addresses: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = alert
        .person_id
        .iter()
        .map(|p| format!("person:{p}"))
        .collect();
    keys.extend(
        addresses
            .iter()
            .take(MAX_ALERT_ADDRESSES)
            .map(|a| format!("ip:{a}")),
    );
    keys
}

fn title(first_alert: &str, count: i64, about: Option<&str>) -> String {
    let about = about.map(|a| format!(" involving {a}")).unwrap_or_default();
    if count <= 1 {
        format!("{first_alert}{about}")
    } else {
        format!("{count} alerts{about}")
    }
}

const SELECT_ONE: &str =
    "SELECT id, title, status, severity, assigned_to, persons, addresses, comments, \
    first_activity, last_activity, created_at, updated_at, \
    (SELECT COUNT(*) FROM incident_alerts a WHERE a.incident_id = incidents.id) AS n \
    FROM incidents WHERE id = $1";

fn not_found(id: &str) -> StoreError {
    StoreError::NotFound {
        kind: "incident",
        id: id.into(),
    }
}

async fn load(tx: &mut WriteTx, id: &str) -> Result<Incident> {
    let row = tx
        .fetch_optional(SELECT_ONE, &[Bind::Text(id.into())])
        .await?
        .ok_or_else(|| not_found(id))?;
    from_row(&row, row.try_get("n")?)
}

async fn save(tx: &mut WriteTx, i: &Incident) -> Result<()> {
    tx.execute(
        "UPDATE incidents SET title = $2, status = $3, severity = $4, assigned_to = $5, persons = $6, \
         addresses = $7, comments = $8, first_activity = $9, last_activity = $10, updated_at = $11 WHERE id = $1",
        &[
            Bind::Text(i.id.clone()),
            Bind::Text(i.display_name.clone()),
            Bind::Text(i.status.clone()),
            Bind::Text(i.severity.clone()),
            Bind::OptText(i.assigned_to.clone()),
            Bind::Text(serde_json::to_string(&i.persons)?),
            Bind::Text(serde_json::to_string(&i.addresses)?),
            Bind::Text(serde_json::to_string(&i.comments)?),
            Bind::Int(to_ms(i.first_activity_date_time)),
            Bind::Int(to_ms(i.last_activity_date_time)),
            Bind::Int(tx.now),
        ],
    )
    .await?;
    Ok(())
}

/// Puts `alert` (just created or just folded into) into its incident: the one it is already
/// in, else the open incident most recently seen by the same person or address within
/// [`CORRELATION_WINDOW_MS`] of `at`, else a new one.
pub(crate) async fn correlate(
    tx: &mut WriteTx,
    alert: &Alert,
    addresses: &[String],
    at: Timestamp,
) -> Result<()> {
    let keys = keys_of(alert, addresses);
    let already = tx
        .fetch_optional(
            "SELECT incident_id FROM incident_alerts WHERE alert_id = $1",
            &[Bind::Text(alert.id.clone())],
        )
        .await?
        .map(|r| r.try_get::<String, _>("incident_id"))
        .transpose()?;
    let found = match (&already, keys.is_empty()) {
        (Some(_), _) | (None, true) => None,
        (None, false) => {
            let mut binds = vec![Bind::Int(at.saturating_sub(CORRELATION_WINDOW_MS))];
            let mut marks = Vec::new();
            for k in &keys {
                binds.push(Bind::Text(k.clone()));
                marks.push(format!("${}", binds.len()));
            }
            let sql = format!(
                "SELECT k.incident_id AS incident_id FROM incident_keys k JOIN incidents i ON i.id = k.incident_id \
                 WHERE k.key IN ({}) AND k.last_at >= $1 AND i.status <> 'resolved' \
                 ORDER BY k.last_at DESC LIMIT 1",
                marks.join(", ")
            );
            tx.fetch_optional(&sql, &binds)
                .await?
                .map(|r| r.try_get::<String, _>("incident_id"))
                .transpose()?
        }
    };
    let (id, created) = match already.or(found) {
        Some(id) => (id, false),
        None => {
            let id = new_id();
            let now = tx.now;
            tx.execute(
                &format!("INSERT INTO incidents ({COLUMNS}) VALUES ($1, $2, 'active', $3, NULL, '[]', '[]', '[]', $4, $4, $5, $5)"),
                &[
                    Bind::Text(id.clone()),
                    Bind::Text(alert.rule_title.clone()),
                    Bind::Text(alert.level.clone()),
                    Bind::Int(at),
                    Bind::Int(now),
                ],
            )
            .await?;
            (id, true)
        }
    };
    tx.execute(
        "INSERT INTO incident_alerts (alert_id, incident_id) VALUES ($1, $2) ON CONFLICT (alert_id) DO NOTHING",
        &[Bind::Text(alert.id.clone()), Bind::Text(id.clone())],
    )
    .await?;
    for k in &keys {
        tx.execute(
            "INSERT INTO incident_keys (key, incident_id, last_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key, incident_id) DO UPDATE SET last_at = \
             CASE WHEN excluded.last_at > incident_keys.last_at THEN excluded.last_at ELSE incident_keys.last_at END",
            &[Bind::Text(k.clone()), Bind::Text(id.clone()), Bind::Int(at)],
        )
        .await?;
    }
    let mut incident = load(tx, &id).await?;
    if level_rank(&alert.level) > level_rank(&incident.severity) {
        incident.severity = alert.level.clone();
    }
    incident.first_activity_date_time = incident.first_activity_date_time.min(from_ms(at));
    incident.last_activity_date_time = incident.last_activity_date_time.max(from_ms(at));
    if let (Some(pid), Some(upn)) = (&alert.person_id, &alert.person_upn) {
        let known = incident.persons.iter().any(|p| p["id"] == pid.as_str());
        if !known && incident.persons.len() < MAX_PERSONS {
            incident
                .persons
                .push(json!({ "id": pid, "userPrincipalName": upn }));
        }
    }
    for a in addresses.iter().take(MAX_ALERT_ADDRESSES) {
        if !incident.addresses.contains(a) && incident.addresses.len() < MAX_ADDRESSES {
            incident.addresses.push(a.clone());
        }
    }
    let about = incident
        .persons
        .first()
        .and_then(|p| p["userPrincipalName"].as_str())
        .map(str::to_string)
        .or_else(|| incident.addresses.first().cloned());
    // With one alert the incident is named after it; with more, after how many there are.
    incident.display_name = title(&alert.rule_title, incident.alert_count, about.as_deref());
    save(tx, &incident).await?;
    if created {
        tx.audit(incident_event(
            &Actor::system(),
            "incident.create",
            &incident,
            None,
        ))
        .await?;
    }
    Ok(())
}

/// A change people make to an incident.
#[derive(Debug, Clone, Default)]
pub struct IncidentChange {
    /// New status.
    pub status: Option<String>,
    /// New owner: `Some(None)` clears it.
    pub assigned_to: Option<Option<String>>,
    /// A comment to add.
    pub comment: Option<String>,
}

impl Store {
    /// Incidents, the most recently active first; optionally of one status, or about one
    /// person (by id).
    pub async fn list_incidents(
        &self,
        status: Option<&str>,
        person: Option<&str>,
        top: usize,
    ) -> Result<Vec<Incident>> {
        let _t = self.timer("incidents.list");
        let mut sql = format!(
            "SELECT {COLUMNS}, (SELECT COUNT(*) FROM incident_alerts a WHERE a.incident_id = incidents.id) AS n \
             FROM incidents WHERE 1 = 1"
        );
        let mut binds = Vec::new();
        if let Some(s) = status {
            binds.push(Bind::Text(s.into()));
            sql.push_str(&format!(" AND status = ${}", binds.len()));
        }
        if let Some(p) = person {
            binds.push(Bind::Text(format!("person:{p}")));
            sql.push_str(&format!(
                " AND id IN (SELECT incident_id FROM incident_keys WHERE key = ${})",
                binds.len()
            ));
        }
        sql.push_str(&format!(
            " ORDER BY last_activity DESC, id LIMIT {}",
            top.clamp(1, 1000)
        ));
        self.fetch_all(&sql, &binds)
            .await?
            .iter()
            .map(|r| from_row(r, r.try_get("n")?))
            .collect()
    }

    /// One incident with its alerts' ids.
    pub async fn get_incident(&self, id: &str) -> Result<Incident> {
        let row = self
            .fetch_optional(SELECT_ONE, &[Bind::Text(id.into())])
            .await?
            .ok_or_else(|| not_found(id))?;
        let mut incident = from_row(&row, row.try_get("n")?)?;
        incident.alert_ids = self
            .fetch_all(
                "SELECT a.alert_id AS alert_id FROM incident_alerts a JOIN alerts l ON l.id = a.alert_id \
                 WHERE a.incident_id = $1 ORDER BY l.first_seen, l.id LIMIT 1000",
                &[Bind::Text(id.into())],
            )
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>("alert_id"))
            .collect::<std::result::Result<_, _>>()?;
        Ok(incident)
    }

    /// Changes an incident's status or owner, or adds a comment, audited. Resolving an
    /// incident resolves its alerts; reopening it leaves them as they are.
    pub async fn change_incident(
        &self,
        actor: &Actor,
        id: &str,
        change: IncidentChange,
    ) -> Result<Incident> {
        if let Some(s) = &change.status {
            if !INCIDENT_STATUSES.contains(&s.as_str()) {
                return Err(StoreError::invalid(
                    "status",
                    "must be active, inProgress or resolved",
                ));
            }
        }
        if let Some(c) = &change.comment {
            if c.trim().is_empty() || c.chars().count() > MAX_COMMENT_CHARS {
                return Err(StoreError::invalid(
                    "comment",
                    format!("must hold 1 to {MAX_COMMENT_CHARS} characters"),
                ));
            }
        }
        let mut tx = self.begin_write().await?;
        let mut incident = load(&mut tx, id).await?;
        let mut what = Vec::new();
        if let Some(status) = change.status {
            if status == "resolved" && incident.status != "resolved" {
                tx.execute(
                    "UPDATE alerts SET status = 'resolved' WHERE id IN \
                     (SELECT alert_id FROM incident_alerts WHERE incident_id = $1)",
                    &[Bind::Text(id.into())],
                )
                .await?;
            }
            what.push(format!("status {status}"));
            incident.status = status;
        }
        if let Some(owner) = change.assigned_to {
            what.push(format!("owner {}", owner.as_deref().unwrap_or("none")));
            incident.assigned_to = owner;
        }
        if let Some(comment) = change.comment {
            if incident.comments.len() >= MAX_COMMENTS {
                return Err(StoreError::Conflict(format!(
                    "the incident holds {MAX_COMMENTS} comments, the most it can"
                )));
            }
            incident.comments.push(json!({
                "comment": comment.trim(),
                "createdBy": actor.display_name.clone().unwrap_or_else(|| actor.id.clone()),
                "createdDateTime": from_ms(tx.now)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            }));
            what.push("comment".into());
        }
        save(&mut tx, &incident).await?;
        tx.audit(incident_event(
            actor,
            "incident.update",
            &incident,
            Some(what.join(", ")),
        ))
        .await?;
        tx.commit().await?;
        Ok(incident)
    }
}
