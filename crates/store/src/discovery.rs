//! Discovered apps and access paths and their reviews (state, tags, owner, comment). The
//! entry as discovered is opaque JSON here; the discovery engine reads and checks it.

use serde_json::{json, Value};
use sqlx::Row;
use trustplane_model::{Actor, Event, Outcome, Target};

use crate::db::{Bind, Store};
use crate::error::Result;

/// One discovered app to store.
#[derive(Debug, Clone)]
pub struct StoredDiscoveredApp {
    /// Its id (`web:dropbox`, `idp:arn:...`).
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// The entry as discovered.
    pub body: Value,
}

/// A stored app with its review.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveryReview {
    /// The app's id.
    pub id: String,
    /// The entry as last imported.
    pub body: Value,
    /// `sanctioned`, `unsanctioned`, `monitored`, or none yet.
    pub state: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Owner.
    pub owner: Option<String>,
    /// Comment.
    pub comment: Option<String>,
    /// When it was last reviewed (ms).
    pub reviewed_at: Option<i64>,
    /// Who reviewed it.
    pub reviewed_by: Option<String>,
}

fn review_of(r: &sqlx::any::AnyRow) -> Result<DiscoveryReview> {
    Ok(DiscoveryReview {
        id: r.try_get("id")?,
        body: serde_json::from_str(&r.try_get::<String, _>("body")?)?,
        state: r.try_get("state")?,
        tags: serde_json::from_str(&r.try_get::<String, _>("tags")?)?,
        owner: r.try_get("owner")?,
        comment: r.try_get("comment")?,
        reviewed_at: r.try_get("reviewed_at")?,
        reviewed_by: r.try_get("reviewed_by")?,
    })
}

const COLUMNS: &str = "id, body, state, tags, owner, comment, reviewed_at, reviewed_by";

impl Store {
    /// Stores a discovery run's apps: new ones are added, known ones get the new entry and
    /// keep their review. Returns how many were new.
    pub async fn import_discovered_apps(
        &self,
        actor: &Actor,
        apps: Vec<StoredDiscoveredApp>,
    ) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let total = apps.len();
        let mut new = 0;
        for a in apps {
            let known = tx
                .fetch_optional(
                    "SELECT id FROM discovery_apps WHERE id = $1",
                    &[Bind::Text(a.id.clone())],
                )
                .await?
                .is_some();
            if known {
                tx.execute(
                    "UPDATE discovery_apps SET kind = $1, name = $2, body = $3, imported_at = $4 WHERE id = $5",
                    &[Bind::Text(a.kind), Bind::Text(a.name), Bind::Text(a.body.to_string()), Bind::Int(now), Bind::Text(a.id)],
                )
                .await?;
            } else {
                new += 1;
                tx.execute(
                    "INSERT INTO discovery_apps (id, kind, name, body, imported_at) VALUES ($1, $2, $3, $4, $5)",
                    &[Bind::Text(a.id), Bind::Text(a.kind), Bind::Text(a.name), Bind::Text(a.body.to_string()), Bind::Int(now)],
                )
                .await?;
            }
        }
        tx.audit(Event {
            sequence: 0,
            activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
            category: "discovery".into(),
            activity: "discovery.import".into(),
            initiated_by: actor.clone(),
            target: None,
            result: Outcome::Success,
            result_reason: None,
            before: None,
            after: Some(json!({"apps": total, "new": new})),
        })
        .await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Stored apps with their reviews, by id; `state` filters by review state (`none` for
    /// apps not reviewed yet).
    pub async fn list_discovered_apps(
        &self,
        state: Option<&str>,
        top: usize,
    ) -> Result<Vec<DiscoveryReview>> {
        let _t = self.timer("discovery.list");
        let limit = top.clamp(1, 5000);
        let rows = match state {
            Some("none") => {
                self.fetch_all(
                    &format!("SELECT {COLUMNS} FROM discovery_apps WHERE state IS NULL ORDER BY id LIMIT {limit}"),
                    &[],
                )
                .await?
            }
            Some(s) => {
                self.fetch_all(
                    &format!("SELECT {COLUMNS} FROM discovery_apps WHERE state = $1 ORDER BY id LIMIT {limit}"),
                    &[Bind::Text(s.to_string())],
                )
                .await?
            }
            None => {
                self.fetch_all(
                    &format!("SELECT {COLUMNS} FROM discovery_apps ORDER BY id LIMIT {limit}"),
                    &[],
                )
                .await?
            }
        };
        rows.iter().map(review_of).collect()
    }

    /// One stored app, by id or, failing that, by its name when exactly one app has it.
    pub async fn get_discovered_app(&self, id_or_name: &str) -> Result<Option<DiscoveryReview>> {
        if let Some(r) = self
            .fetch_optional(
                &format!("SELECT {COLUMNS} FROM discovery_apps WHERE id = $1"),
                &[Bind::Text(id_or_name.to_string())],
            )
            .await?
        {
            return Ok(Some(review_of(&r)?));
        }
        let rows = self
            .fetch_all(
                &format!("SELECT {COLUMNS} FROM discovery_apps WHERE name = $1 LIMIT 2"),
                &[Bind::Text(id_or_name.to_string())],
            )
            .await?;
        match rows.as_slice() {
            [one] => Ok(Some(review_of(one)?)),
            _ => Ok(None),
        }
    }

    /// Records a review of a stored app (the whole review as given: state, tags, owner,
    /// comment), audited with what it was before. `None` when the app is unknown.
    pub async fn review_discovered_app(
        &self,
        actor: &Actor,
        id: &str,
        state: Option<String>,
        tags: Vec<String>,
        owner: Option<String>,
        comment: Option<String>,
    ) -> Result<Option<DiscoveryReview>> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let Some(before) = tx
            .fetch_optional(
                &format!("SELECT {COLUMNS}, name FROM discovery_apps WHERE id = $1"),
                &[Bind::Text(id.to_string())],
            )
            .await?
        else {
            return Ok(None);
        };
        let name: String = before.try_get("name")?;
        let before = review_of(&before)?;
        let by = actor
            .display_name
            .clone()
            .unwrap_or_else(|| actor.id.clone());
        tx.execute(
            "UPDATE discovery_apps SET state = $1, tags = $2, owner = $3, comment = $4, reviewed_at = $5, reviewed_by = $6 WHERE id = $7",
            &[
                Bind::OptText(state.clone()),
                Bind::Text(serde_json::to_string(&tags)?),
                Bind::OptText(owner.clone()),
                Bind::OptText(comment.clone()),
                Bind::Int(now),
                Bind::Text(by.clone()),
                Bind::Text(id.to_string()),
            ],
        )
        .await?;
        let view = |s: &Option<String>, t: &Vec<String>, o: &Option<String>, c: &Option<String>| json!({"state": s, "tags": t, "owner": o, "comment": c});
        tx.audit(Event {
            sequence: 0,
            activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
            category: "discovery".into(),
            activity: "discovery.review".into(),
            initiated_by: actor.clone(),
            target: Some(Target {
                kind: "discoveredApp".into(),
                id: id.to_string(),
                display_name: Some(name),
            }),
            result: Outcome::Success,
            result_reason: None,
            before: Some(view(
                &before.state,
                &before.tags,
                &before.owner,
                &before.comment,
            )),
            after: Some(view(&state, &tags, &owner, &comment)),
        })
        .await?;
        tx.commit().await?;
        Ok(Some(DiscoveryReview {
            state,
            tags,
            owner,
            comment,
            reviewed_at: Some(now),
            reviewed_by: Some(by),
            ..before
        }))
    }
}
