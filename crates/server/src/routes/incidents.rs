//! Incidents: alerts grouped by person and address (`/api/v1/incidents`). The grouping happens
//! in the store as alerts are raised; these routes read and change incidents.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use trustplane_model::Permission;
use trustplane_store::IncidentChange;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/incidents", get(list_incidents))
        .route(
            "/api/v1/incidents/{id}",
            get(get_incident).patch(update_incident),
        )
        .route("/api/v1/incidents/{id}/comments", post(add_comment))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// active, inProgress or resolved.
    status: Option<String>,
    /// Only incidents about this person (id or UPN).
    person: Option<String>,
    #[serde(rename = "$top")]
    top: Option<usize>,
}

/// Incidents, the most recently active first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "detection",
    params(("status" = Option<String>, Query), ("person" = Option<String>, Query), ("$top" = Option<usize>, Query)),
    responses((status = 200)))]
pub async fn list_incidents(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    let person = match &p.person {
        Some(x) => Some(state.store.get_user(x).await?.id),
        None => None,
    };
    let value = state
        .store
        .list_incidents(p.status.as_deref(), person.as_deref(), p.top.unwrap_or(100))
        .await?;
    Ok(axum::Json(json!({ "value": value })))
}

/// One incident with its alerts (without their evidence: see `/api/v1/alerts/{id}`) and the
/// responses taken on them.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "detection", params(("id" = String, Path)),
    responses((status = 200), (status = 404)))]
pub async fn get_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(with_alerts(&state, &id).await?))
}

async fn with_alerts(state: &AppState, id: &str) -> ApiResult<Value> {
    let incident = state.store.get_incident(id).await?;
    let alerts: Vec<Value> = state
        .store
        .incident_alerts(id)
        .await?
        .into_iter()
        .map(|a| {
            json!({
                "id": a.id, "ruleTitle": a.rule_title, "ruleAuthor": a.rule_author, "level": a.level,
                "status": a.status, "personUpn": a.person_upn, "firstSeen": a.first_seen.to_string(),
                "lastSeen": a.last_seen.to_string(), "hits": a.hits, "responses": a.responses,
            })
        })
        .collect();
    let mut body = serde_json::to_value(&incident).unwrap_or_default();
    body["alerts"] = Value::Array(alerts);
    Ok(body)
}

/// Body of `PATCH /api/v1/incidents/{id}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateIncident {
    /// active, inProgress or resolved (resolving resolves its alerts).
    status: Option<String>,
    /// Who works on it (id or UPN of a directory user); `null` clears it.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>)]
    assigned_to: Option<Option<String>>,
}

/// Changes an incident's status or owner.
#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "detection", params(("id" = String, Path)),
    request_body = UpdateIncident, responses((status = 200), (status = 400), (status = 404)))]
pub async fn update_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<UpdateIncident>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    let assigned_to = match body.assigned_to {
        Some(Some(who)) => Some(Some(state.store.get_user(&who).await?.user_principal_name)),
        Some(None) => Some(None),
        None => None,
    };
    let change = IncidentChange {
        status: body.status,
        assigned_to,
        comment: None,
    };
    state
        .store
        .change_incident(&caller.actor, &id, change)
        .await?;
    Ok(axum::Json(with_alerts(&state, &id).await?))
}

/// Body of `POST /api/v1/incidents/{id}/comments`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddComment {
    /// The comment (1 to 4,000 characters).
    comment: String,
}

/// Adds a comment to an incident.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/comments", tag = "detection", params(("id" = String, Path)),
    request_body = AddComment, responses((status = 200), (status = 400), (status = 404)))]
pub async fn add_comment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<AddComment>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    let change = IncidentChange {
        comment: Some(body.comment),
        ..Default::default()
    };
    Ok(axum::Json(
        state
            .store
            .change_incident(&caller.actor, &id, change)
            .await?,
    ))
}
