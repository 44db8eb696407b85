//! `/api/v1/discovery/apps`: discovered apps and access paths (imported from
//! `trustplane discover --output json`) and their reviews. Thin: the checks of what is sent
//! and the score under a review are `trustplane-discovery`'s, storage the store's.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, patch};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use trustplane_discovery::{
    apply_patch, parse_import, unsanctioned_in_use, with_review, DiscoveredApp, Review,
    ReviewError, ReviewState,
};
use trustplane_model::Permission;
use trustplane_store::{DiscoveryReview, NewHit, StoredDiscoveredApp};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::server::AppState;

/// Alerts of one unsanctioned app within a day fold into one.
const DAY_MS: i64 = 86_400_000;

/// Largest import body.
const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/discovery/apps",
            get(list_apps)
                .post(import_apps)
                .layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route(
            "/api/v1/discovery/apps/{id}",
            patch(review_app).get(get_app),
        )
}

fn invalid(e: ReviewError) -> ApiError {
    let mut err = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid input",
        e.to_string(),
    );
    if let ReviewError::Invalid { field, .. } = &e {
        err.set_field(field);
    }
    err
}

/// The stored entry with its review applied (score included), as the API shows it.
fn view(r: DiscoveryReview) -> Value {
    let state = r.state.as_deref().and_then(ReviewState::parse);
    let body = match serde_json::from_value::<DiscoveredApp>(r.body.clone()) {
        Ok(app) => serde_json::to_value(with_review(app, state)).unwrap_or(r.body),
        Err(_) => r.body,
    };
    let mut v = body;
    if let Value::Object(m) = &mut v {
        m.insert(
            "reviewDetails".into(),
            json!({
                "state": r.state,
                "tags": r.tags,
                "owner": r.owner,
                "comment": r.comment,
                "reviewedAt": r.reviewed_at.map(|ms| trustplane_model::from_ms(ms)
                    .format(&time::format_description::well_known::Rfc3339).unwrap_or_default()),
                "reviewedBy": r.reviewed_by,
            }),
        );
    }
    v
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// sanctioned, unsanctioned, monitored, or none (not reviewed).
    state: Option<String>,
    #[serde(rename = "$top")]
    top: Option<usize>,
}

/// Discovered apps and access paths with their reviews, highest risk first.
#[utoipa::path(get, path = "/api/v1/discovery/apps", tag = "discovery", responses((status = 200), (status = 400)))]
pub async fn list_apps(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state.store, Permission::AuditRead).await?;
    if let Some(s) = &p.state {
        if s != "none" && ReviewState::parse(s).is_none() {
            return Err(ApiError::bad_request(
                "state must be sanctioned, unsanctioned, monitored or none",
            ));
        }
    }
    let rows = state
        .store
        .list_discovered_apps(p.state.as_deref(), p.top.unwrap_or(1000))
        .await?;
    let mut list: Vec<Value> = rows.into_iter().map(view).collect();
    list.sort_by(|a, b| {
        let score = |v: &Value| {
            v.pointer("/risk/score")
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        score(b).cmp(&score(a))
    });
    Ok(axum::Json(json!({ "value": list })))
}

/// One discovered app (by id, or by name when only one app has it).
#[utoipa::path(get, path = "/api/v1/discovery/apps/{id}", tag = "discovery", responses((status = 200), (status = 404)))]
pub async fn get_app(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state.store, Permission::AuditRead).await?;
    let row = state
        .store
        .get_discovered_app(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no discovered app `{id}`")))?;
    Ok(axum::Json(view(row)))
}

/// Imports a discovery run (`trustplane discover --output json`): new apps are added, known
/// ones updated; reviews are kept.
#[utoipa::path(post, path = "/api/v1/discovery/apps", tag = "discovery", request_body(content = String, description = "a discovery report or an array of its apps"),
    responses((status = 200), (status = 422)))]
pub async fn import_apps(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state.store, Permission::AlertsWrite)
        .await?;
    let apps = parse_import(&body).map_err(invalid)?;
    let total = apps.len();
    // Unsanctioned apps and when they were reviewed: use since then raises an alert.
    let unsanctioned: std::collections::HashMap<String, i64> = state
        .store
        .list_discovered_apps(Some("unsanctioned"), 5000)
        .await?
        .into_iter()
        .map(|r| (r.id, r.reviewed_at.unwrap_or(0) / 1000))
        .collect();
    let used: Vec<DiscoveredApp> = unsanctioned_in_use(&apps, &unsanctioned)
        .into_iter()
        .cloned()
        .collect();
    let stored = apps
        .into_iter()
        .map(|a| {
            Ok(StoredDiscoveredApp {
                kind: serde_json::to_value(a.kind)
                    .ok()
                    .and_then(|k| k.as_str().map(str::to_string))
                    .unwrap_or_default(),
                name: a.name.clone(),
                id: a.id.clone(),
                body: serde_json::to_value(&a).map_err(|e| ApiError::bad_request(e.to_string()))?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let new = state
        .store
        .import_discovered_apps(&caller.actor, stored)
        .await?;
    let mut alerts = 0;
    for app in used {
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
                .and_then(trustplane_discovery::parse_time)
                .map(|t| t.saturating_mul(1000)),
            record: serde_json::to_value(&app).unwrap_or_default(),
        };
        state.store.record_hit(hit, DAY_MS).await?;
        alerts += 1;
    }
    Ok(axum::Json(
        json!({ "apps": total, "new": new, "unsanctionedInUse": alerts }),
    ))
}

/// Reviews a discovered app: `state` (sanctioned, unsanctioned, monitored, or null), `tags`,
/// `owner`, `comment`; fields left out keep their value. Audited with the review before.
#[utoipa::path(patch, path = "/api/v1/discovery/apps/{id}", tag = "discovery", request_body(content = String, description = "{state, tags, owner, comment}"),
    responses((status = 200), (status = 404), (status = 422)))]
pub async fn review_app(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state.store, Permission::AlertsWrite)
        .await?;
    let patch: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    let current = state
        .store
        .get_discovered_app(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no discovered app `{id}`")))?;
    let before = Review {
        state: current.state.as_deref().and_then(ReviewState::parse),
        tags: current.tags.clone(),
        owner: current.owner.clone(),
        comment: current.comment.clone(),
    };
    let next = apply_patch(&before, &patch).map_err(invalid)?;
    let row = state
        .store
        .review_discovered_app(
            &caller.actor,
            &current.id,
            next.state.map(|s| s.as_str().to_string()),
            next.tags,
            next.owner,
            next.comment,
        )
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no discovered app `{id}`")))?;
    Ok(axum::Json(view(row)))
}
