//! Discovered apps kept by a node, and their reviews: what the API lists, imports and
//! reviews, over the store. Imports raise an alert for each app used since it was marked
//! unsanctioned. The caller checks who may; this decides what happens.

use std::collections::HashMap;

use serde_json::{json, Value};
use thiserror::Error;
use trustplane_model::{Actor, Application};
use trustplane_store::{
    DiscoveryReview, NewApplication, NewHit, Store, StoreError, StoredDiscoveredApp,
};

use crate::{
    apply_patch, parse_import, parse_time, unsanctioned_in_use, with_review, DiscoveredApp, Review,
    ReviewError, ReviewState,
};

/// Alerts about the same unsanctioned app fold within a day.
const DAY_MS: i64 = 86_400_000;
/// Most unsanctioned apps checked against one import.
const MAX_UNSANCTIONED: usize = 5000;

/// Why a request about discovered apps was refused; nothing was changed.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// The body is not valid (422, naming the field where there is one).
    #[error(transparent)]
    Invalid(#[from] ReviewError),
    /// A query parameter or the body's syntax is wrong (400).
    #[error("{0}")]
    BadRequest(String),
    /// No such app (404).
    #[error("no discovered app `{0}`")]
    NotFound(String),
    /// The app is not in a state for this (409).
    #[error("{0}")]
    Conflict(String),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did.
pub struct Imported {
    /// Apps in the report.
    pub apps: usize,
    /// Apps not known before.
    pub new: usize,
    /// Alerts raised for apps used after they were marked unsanctioned.
    pub unsanctioned_in_use: usize,
}

/// An app as the API shows it: as discovered, scored under its review, with the review.
fn view(r: DiscoveryReview) -> Value {
    let state = r.state.as_deref().and_then(ReviewState::parse);
    let mut v = match serde_json::from_value::<DiscoveredApp>(r.body.clone()) {
        Ok(app) => serde_json::to_value(with_review(app, state)).unwrap_or(r.body),
        Err(_) => r.body,
    };
    if let Value::Object(m) = &mut v {
        let reviewed_at = r.reviewed_at.map(|ms| {
            trustplane_model::from_ms(ms)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        });
        m.insert(
            "reviewDetails".into(),
            json!({
                "state": r.state, "tags": r.tags, "owner": r.owner, "comment": r.comment,
                "reviewedAt": reviewed_at, "reviewedBy": r.reviewed_by,
            }),
        );
    }
    v
}

/// The kept apps in review `state` (`none`: not reviewed), riskiest first, at most `top`.
pub async fn list(
    store: &Store,
    state: Option<&str>,
    top: usize,
) -> Result<Vec<Value>, ServiceError> {
    if let Some(s) = state {
        if s != "none" && ReviewState::parse(s).is_none() {
            return Err(ServiceError::BadRequest(
                "state must be sanctioned, unsanctioned, monitored or none".into(),
            ));
        }
    }
    let rows = store.list_discovered_apps(state, top).await?;
    let mut list: Vec<Value> = rows.into_iter().map(view).collect();
    let score = |v: &Value| {
        v.pointer("/risk/score")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    list.sort_by_key(|v| std::cmp::Reverse(score(v)));
    Ok(list)
}

/// One kept app, by id or name.
pub async fn get(store: &Store, id: &str) -> Result<Value, ServiceError> {
    let row = store.get_discovered_app(id).await?;
    row.map(view)
        .ok_or_else(|| ServiceError::NotFound(id.into()))
}

/// Keeps the apps of a discovery report (`trustplane discover --output json`, or an array
/// of its apps), and raises an alert for each used since it was marked unsanctioned.
pub async fn import(store: &Store, actor: &Actor, body: &[u8]) -> Result<Imported, ServiceError> {
    let apps = parse_import(body)?;
    let unsanctioned: HashMap<String, i64> = store
        .list_discovered_apps(Some("unsanctioned"), MAX_UNSANCTIONED)
        .await?
        .into_iter()
        .map(|r| (r.id, r.reviewed_at.unwrap_or(0) / 1000))
        .collect();
    let used: Vec<DiscoveredApp> = unsanctioned_in_use(&apps, &unsanctioned)
        .into_iter()
        .cloned()
        .collect();
    let total = apps.len();
    let mut stored = Vec::with_capacity(total);
    for a in apps {
        let kind = serde_json::to_value(a.kind)
            .ok()
            .and_then(|k| k.as_str().map(str::to_string))
            .unwrap_or_default();
        let body = serde_json::to_value(&a).map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        stored.push(StoredDiscoveredApp {
            kind,
            name: a.name,
            id: a.id,
            body,
        });
    }
    let new = store.import_discovered_apps(actor, stored).await?;
    for app in &used {
        let hit = NewHit {
            // One alert per app (alerts fold by rule and person).
            rule_id: Some(format!("trustplane.discovery.unsanctionedUse/{}", app.id)),
            rule_title: format!("Unsanctioned app in use: {}", app.name),
            rule_author: Some("Trustplane".into()),
            level: "medium".into(),
            person_id: None,
            person_upn: None,
            event_time: app
                .last_seen
                .as_deref()
                .and_then(parse_time)
                .map(|t| t.saturating_mul(1000)),
            record: serde_json::to_value(app).unwrap_or_default(),
            addresses: Vec::new(),
        };
        store.record_hit(hit, DAY_MS).await?;
    }
    Ok(Imported {
        apps: total,
        new,
        unsanctioned_in_use: used.len(),
    })
}

/// Reviews the app named by `id`: `state` (sanctioned, unsanctioned, monitored, or null),
/// `tags`, `owner`, `comment`; fields left out keep their value. Audited with the review
/// before.
pub async fn review(
    store: &Store,
    actor: &Actor,
    id: &str,
    body: &[u8],
) -> Result<Value, ServiceError> {
    let patch: Value = serde_json::from_slice(body)
        .map_err(|e| ServiceError::BadRequest(format!("the body is not JSON: {e}")))?;
    let current = store
        .get_discovered_app(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(id.into()))?;
    let before = Review {
        state: current.state.as_deref().and_then(ReviewState::parse),
        tags: current.tags.clone(),
        owner: current.owner.clone(),
        comment: current.comment.clone(),
    };
    let next = apply_patch(&before, &patch)?;
    let state = next.state.map(|s| s.as_str().to_string());
    let row = store
        .review_discovered_app(
            actor,
            &current.id,
            state,
            next.tags,
            next.owner,
            next.comment,
        )
        .await?
        .ok_or_else(|| ServiceError::NotFound(id.into()))?;
    Ok(view(row))
}

/// Registers a sanctioned web app as a linked application: a My Apps tile that opens the
/// app's own URL (from the catalogue shipped with this node). Apps that sign people in through Trustplane are
/// registered as SAML or OIDC applications instead, with their metadata.
pub async fn register_linked(
    store: &Store,
    actor: &Actor,
    id: &str,
) -> Result<Application, ServiceError> {
    let row = store
        .get_discovered_app(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(id.into()))?;
    let name = row.body["name"].as_str().unwrap_or(&row.id).to_string();
    if row.state.as_deref() != Some(ReviewState::Sanctioned.as_str()) {
        return Err(ServiceError::Conflict(format!(
            "`{}` is not sanctioned: review it as sanctioned before registering it",
            name
        )));
    }
    // The URL comes from the catalogue this node ships, never from the imported report: an
    // import may say anything, and the tile is shown to everyone.
    let catalog =
        crate::catalog::Catalog::builtin().map_err(|e| ServiceError::BadRequest(e.to_string()))?;
    let url = row
        .id
        .strip_prefix("web:")
        .and_then(|app| catalog.get(app))
        .and_then(|app| app.url.clone())
        .ok_or_else(|| {
            ServiceError::Conflict(format!(
                "`{name}` has no URL in the catalogue to link to; register it as a SAML or OIDC application"
            ))
        })?;
    let mut settings = serde_json::Map::new();
    settings.insert("linked".into(), json!({ "url": url }));
    Application::linked_url(&settings).map_err(ServiceError::BadRequest)?;
    let new = NewApplication {
        display_name: name,
        description: Some(format!("Linked from cloud discovery ({})", row.id)),
        app_id: None,
        settings,
    };
    Ok(store.create_application(actor, new).await?)
}
