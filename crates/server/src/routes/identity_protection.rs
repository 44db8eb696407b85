//! `/api/v1/identityProtection`: risky users and risk detections in Microsoft Graph's
//! identity protection shapes; administrators confirm users compromised or dismiss their risk.
//! Thin: the risk engine (`trustplane-risk`) decides, audits and ends sessions.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use trustplane_idp::directory;
use trustplane_model::Permission;
use trustplane_risk::{RiskError, MAX_USER_IDS};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::server::AppState;

/// Most detections listed at once.
const MAX_TOP: usize = 1000;

/// This area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(risky_users, risk_detections, confirm_compromised, dismiss))]
pub struct IdentityProtectionApi;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/identityProtection/riskyUsers", get(risky_users))
        .route(
            "/api/v1/identityProtection/riskDetections",
            get(risk_detections),
        )
        .route(
            "/api/v1/identityProtection/riskyUsers/confirmCompromised",
            post(confirm_compromised),
        )
        .route(
            "/api/v1/identityProtection/riskyUsers/dismiss",
            post(dismiss),
        )
}

impl From<RiskError> for ApiError {
    fn from(e: RiskError) -> Self {
        match e {
            RiskError::BadRequest(m) => ApiError::bad_request(m),
            RiskError::UnknownUser(u) => ApiError::not_found(format!("no user {u}")),
            RiskError::Store(e) => e.into(),
        }
    }
}

/// People with a risk history and their risk now, highest first.
#[utoipa::path(get, path = "/api/v1/identityProtection/riskyUsers", tag = "identityProtection",
    responses((status = 200, description = "riskyUser objects"), (status = 403)))]
pub async fn risky_users(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    let users = state.signin.risk().risky_users().await?;
    Ok(axum::Json(json!({ "value": users })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionParams {
    /// A user id or user principal name.
    user: Option<String>,
    #[serde(rename = "$top")]
    top: Option<usize>,
}

/// Risk detections, newest first; `user` (id or user principal name) narrows to one person.
#[utoipa::path(get, path = "/api/v1/identityProtection/riskDetections", tag = "identityProtection",
    params(("user" = Option<String>, Query, description = "user id or user principal name"),
           ("$top" = Option<usize>, Query, description = "at most this many (1 to 1000, default 100)")),
    responses((status = 200, description = "riskDetection objects"), (status = 400), (status = 403), (status = 404)))]
pub async fn risk_detections(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<DetectionParams>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    let top = p.top.unwrap_or(100);
    if top == 0 || top > MAX_TOP {
        return Err(ApiError::bad_request(format!(
            "$top must be 1 to {MAX_TOP}"
        )));
    }
    let list = state
        .signin
        .risk()
        .detections(p.user.as_deref(), top)
        .await?;
    Ok(axum::Json(json!({ "value": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserIds {
    /// User ids or user principal names.
    user_ids: Vec<String>,
}

/// Confirms users compromised: risk high, every session and OIDC grant ended; audited.
#[utoipa::path(post, path = "/api/v1/identityProtection/riskyUsers/confirmCompromised", tag = "identityProtection",
    request_body(content = String, description = "{\"userIds\": [ids or user principal names]}"),
    responses((status = 200, description = "the riskyUser objects after the change"), (status = 400), (status = 403), (status = 404)))]
pub async fn confirm_compromised(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<UserIds>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    // Changing someone's risk changes their sign-in: their tier bounds who may.
    let what = "risk (confirming them compromised ends their sessions and elevations)";
    directory::require_tier_over_each(
        &state.store,
        &caller,
        &body.user_ids,
        MAX_USER_IDS,
        what,
        false,
    )
    .await?;
    let users = state
        .signin
        .risk()
        .confirm_compromised(&caller.actor, &body.user_ids)
        .await?;
    Ok(axum::Json(json!({ "value": users })))
}

/// Dismisses users' risk: open detections dismissed, alerts seen so far no longer count;
/// audited.
#[utoipa::path(post, path = "/api/v1/identityProtection/riskyUsers/dismiss", tag = "identityProtection",
    request_body(content = String, description = "{\"userIds\": [ids or user principal names]}"),
    responses((status = 200, description = "the riskyUser objects after the change"), (status = 400), (status = 403), (status = 404)))]
pub async fn dismiss(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<UserIds>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    // Changing someone's risk changes their sign-in: their tier bounds who may.
    let what = "risk";
    directory::require_tier_over_each(
        &state.store,
        &caller,
        &body.user_ids,
        MAX_USER_IDS,
        what,
        true,
    )
    .await?;
    let users = state
        .signin
        .risk()
        .dismiss(&caller.actor, &body.user_ids)
        .await?;
    Ok(axum::Json(json!({ "value": users })))
}
