//! Conditional-access policies and named locations, stored as Graph JSON. The store does not
//! interpret them (the policy engine validates before anything is stored); it keeps them,
//! audits every change, and bumps a version that tells every node to recompile.

use serde_json::Value;
use sqlx::Row;
use trustplane_model::{new_id, Actor, Event, Outcome, Target};

use crate::db::{Bind, Store, WriteTx};
use crate::error::{Result, StoreError};

/// Which collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaKind {
    /// `conditionalAccessPolicy`.
    Policy,
    /// `ipNamedLocation` / `countryNamedLocation`.
    NamedLocation,
}

impl CaKind {
    fn table(self) -> &'static str {
        match self {
            CaKind::Policy => "ca_policies",
            CaKind::NamedLocation => "ca_named_locations",
        }
    }

    fn name(self) -> &'static str {
        match self {
            CaKind::Policy => "conditionalAccessPolicy",
            CaKind::NamedLocation => "namedLocation",
        }
    }
}

/// The settings row whose value changes with every policy or location change.
const VERSION: &str = "ca_version";

fn ca_event(
    actor: &Actor,
    kind: CaKind,
    activity: &str,
    id: &str,
    name: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Event {
    Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "policy".into(),
        activity: format!("{}.{activity}", kind.name()),
        initiated_by: actor.clone(),
        target: Some(Target {
            kind: kind.name().into(),
            id: id.into(),
            display_name: Some(name.into()),
        }),
        result: Outcome::Success,
        result_reason: None,
        before,
        after,
    }
}

async fn bump_version(tx: &mut WriteTx) -> Result<()> {
    tx.touch(crate::changes::Topic::Policies).await?;
    tx.execute(
        "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        &[Bind::Text(VERSION.into()), Bind::Text(new_id())],
    )
    .await?;
    Ok(())
}

fn stamp(body: &mut Value, id: &str, created: i64, modified: i64) {
    if let Some(obj) = body.as_object_mut() {
        obj.insert("id".into(), Value::String(id.into()));
        let fmt = |ms: i64| {
            trustplane_model::from_ms(ms)
                .format(&time::format_description::well_known::Rfc3339)
                .map(Value::String)
                .unwrap_or(Value::Null)
        };
        obj.insert("createdDateTime".into(), fmt(created));
        obj.insert("modifiedDateTime".into(), fmt(modified));
    }
}

impl Store {
    /// The current version of the policy set (changes with every change).
    pub async fn ca_version(&self) -> Result<String> {
        Ok(self.setting(VERSION).await?.unwrap_or_default())
    }

    /// Stores a new object. `body` must already be validated; its `id` is kept when given
    /// (imports keep their ids) and generated otherwise.
    pub async fn create_ca(
        &self,
        actor: &Actor,
        kind: CaKind,
        mut body: Value,
        display_name: &str,
        state: Option<&str>,
    ) -> Result<Value> {
        let id = body
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or_else(new_id);
        if id.len() > 128 {
            return Err(StoreError::invalid("id", "must be at most 128 characters"));
        }
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        stamp(&mut body, &id, now, now);
        let result = match kind {
            CaKind::Policy => {
                tx.execute(
                    "INSERT INTO ca_policies (id, display_name, state, body, created_at, modified_at) VALUES ($1, $2, $3, $4, $5, $5)",
                    &[Bind::Text(id.clone()), Bind::Text(display_name.into()), Bind::Text(state.unwrap_or("").into()), Bind::Text(body.to_string()), Bind::Int(now)],
                )
                .await
            }
            CaKind::NamedLocation => {
                tx.execute(
                    "INSERT INTO ca_named_locations (id, display_name, body, created_at, modified_at) VALUES ($1, $2, $3, $4, $4)",
                    &[Bind::Text(id.clone()), Bind::Text(display_name.into()), Bind::Text(body.to_string()), Bind::Int(now)],
                )
                .await
            }
        };
        result.map_err(|e| match e {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("a {} with id `{id}` already exists", kind.name()))
            }
            other => other,
        })?;
        bump_version(&mut tx).await?;
        tx.audit(ca_event(
            actor,
            kind,
            "create",
            &id,
            display_name,
            None,
            Some(body.clone()),
        ))
        .await?;
        tx.commit().await?;
        Ok(body)
    }

    /// Replaces an object's body (after a validated PATCH).
    pub async fn update_ca(
        &self,
        actor: &Actor,
        kind: CaKind,
        id: &str,
        mut body: Value,
        display_name: &str,
        state: Option<&str>,
    ) -> Result<Value> {
        let id = self.resolve_ca_id(kind, id).await?;
        let id = id.as_str();
        let before = self.get_ca(kind, id).await?;
        let created = before
            .get("createdDateTime")
            .and_then(Value::as_str)
            .and_then(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0));
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        stamp(&mut body, id, created.unwrap_or(now), now);
        match kind {
            CaKind::Policy => {
                tx.execute(
                    "UPDATE ca_policies SET display_name = $1, state = $2, body = $3, modified_at = $4 WHERE id = $5",
                    &[Bind::Text(display_name.into()), Bind::Text(state.unwrap_or("").into()), Bind::Text(body.to_string()), Bind::Int(now), Bind::Text(id.into())],
                )
                .await?
            }
            CaKind::NamedLocation => {
                tx.execute(
                    "UPDATE ca_named_locations SET display_name = $1, body = $2, modified_at = $3 WHERE id = $4",
                    &[Bind::Text(display_name.into()), Bind::Text(body.to_string()), Bind::Int(now), Bind::Text(id.into())],
                )
                .await?
            }
        };
        bump_version(&mut tx).await?;
        tx.audit(ca_event(
            actor,
            kind,
            "update",
            id,
            display_name,
            Some(before),
            Some(body.clone()),
        ))
        .await?;
        tx.commit().await?;
        Ok(body)
    }

    /// One object.
    pub async fn get_ca(&self, kind: CaKind, id: &str) -> Result<Value> {
        let id = self.resolve_ca_id(kind, id).await?;
        let id = id.as_str();
        let row = self
            .fetch_optional(
                &format!("SELECT body FROM {} WHERE id = $1", kind.table()),
                &[Bind::Text(id.into())],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: kind.name(),
                id: id.into(),
            })?;
        Ok(serde_json::from_str(&row.try_get::<String, _>("body")?)?)
    }

    /// The id of an object named by id or by display name (without regard to case). A name
    /// that several objects share is refused: the caller must use the id.
    pub async fn resolve_ca_id(&self, kind: CaKind, id_or_name: &str) -> Result<String> {
        let by_id = self
            .fetch_optional(
                &format!("SELECT id FROM {} WHERE id = $1", kind.table()),
                &[Bind::Text(id_or_name.into())],
            )
            .await?;
        if let Some(row) = by_id {
            return Ok(row.try_get("id")?);
        }
        let rows = self
            .fetch_all(
                &format!(
                    "SELECT id FROM {} WHERE LOWER(display_name) = LOWER($1) ORDER BY created_at, id",
                    kind.table()
                ),
                &[Bind::Text(id_or_name.into())],
            )
            .await?;
        match rows.as_slice() {
            [one] => Ok(one.try_get("id")?),
            [] => Err(StoreError::NotFound {
                kind: kind.name(),
                id: id_or_name.into(),
            }),
            many => Err(StoreError::Conflict(format!(
                "{} objects are named `{id_or_name}`; name one by its id",
                many.len()
            ))),
        }
    }

    /// Every object of a kind, in creation order.
    pub async fn list_ca(&self, kind: CaKind) -> Result<Vec<Value>> {
        let _t = self.timer("ca.list");
        self.fetch_all(
            &format!("SELECT body FROM {} ORDER BY created_at, id", kind.table()),
            &[],
        )
        .await?
        .iter()
        .map(|r| Ok(serde_json::from_str(&r.try_get::<String, _>("body")?)?))
        .collect()
    }

    /// Deletes an object.
    pub async fn delete_ca(&self, actor: &Actor, kind: CaKind, id: &str) -> Result<()> {
        let id = self.resolve_ca_id(kind, id).await?;
        let id = id.as_str();
        let before = self.get_ca(kind, id).await?;
        let name = before
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut tx = self.begin_write().await?;
        tx.execute(
            &format!("DELETE FROM {} WHERE id = $1", kind.table()),
            &[Bind::Text(id.into())],
        )
        .await?;
        bump_version(&mut tx).await?;
        tx.audit(ca_event(
            actor,
            kind,
            "delete",
            id,
            &name,
            Some(before),
            None,
        ))
        .await?;
        tx.commit().await
    }
}
