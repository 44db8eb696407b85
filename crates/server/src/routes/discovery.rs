//! `/api/v1/discovery/apps`: discovered apps and access paths (imported from
//! `trustplane discover --output json`) and their reviews. Thin: the checks of what is sent
//! and the score under a review are `trustplane-discovery`'s, storage the store's.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::IntoResponse;
use axum::routing::{get, patch, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use trustplane_discovery::service;
use trustplane_model::Permission;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::server::AppState;

/// Largest discovery report imported at once.
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
        .route("/api/v1/discovery/apps/{id}/register", post(register))
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
    caller.require(&state, Permission::AuditRead).await?;
    let top = p.top.unwrap_or(1000);
    let list = service::list(&state.store, p.state.as_deref(), top).await?;
    Ok(axum::Json(json!({ "value": list })))
}

/// One discovered app (by id, or by name when only one app has it).
#[utoipa::path(get, path = "/api/v1/discovery/apps/{id}", tag = "discovery", responses((status = 200), (status = 404)))]
pub async fn get_app(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(service::get(&state.store, &id).await?))
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
    caller.require(&state, Permission::AlertsWrite).await?;
    let done = service::import(&state.store, &caller.actor, &body).await?;
    Ok(axum::Json(json!({
        "apps": done.apps, "new": done.new, "unsanctionedInUse": done.unsanctioned_in_use
    })))
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
    caller.require(&state, Permission::AlertsWrite).await?;
    Ok(axum::Json(
        service::review(&state.store, &caller.actor, &id, &body).await?,
    ))
}

/// Registers a sanctioned web app as a linked application (a My Apps tile).
#[utoipa::path(post, path = "/api/v1/discovery/apps/{id}/register", tag = "discovery",
    responses((status = 201), (status = 404), (status = 409, description = "not sanctioned, or no URL")))]
pub async fn register(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::ApplicationsWrite)
        .await?;
    let app = service::register_linked(&state.store, &caller.actor, &id).await?;
    Ok((axum::http::StatusCode::CREATED, axum::Json(app)))
}
