//! Privileged identity management over HTTP (`/api/v1/pim/...`): eligible roles, activation
//! requests and their decisions, role settings, alerts, reconciliation, access reviews and the
//! notification outbox.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use trustplane_model::{Permission, PimSettings, RequestState};

use crate::auth::Caller;
use crate::context::{ClientApp, RequestContext};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::pim::{Channel, Configuration, NewRequest, ReviewRequest, SessionMfa};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/pim/eligible", get(eligible))
        .route("/api/v1/pim/active", get(active))
        .route("/api/v1/pim/approvals", get(approvals))
        .route(
            "/api/v1/pim/requests",
            get(list_requests).post(create_request),
        )
        .route("/api/v1/pim/requests/{id}", get(get_request))
        .route("/api/v1/pim/requests/{id}/{action}", post(act_on_request))
        .route(
            "/api/v1/pim/settings/{roleId}",
            get(get_settings).put(put_settings),
        )
        .route(
            "/api/v1/pim/configuration",
            get(get_configuration).put(put_configuration),
        )
        .route("/api/v1/pim/alerts", get(alerts))
        .route("/api/v1/pim/reconcile", post(reconcile))
        .route("/api/v1/pim/grants", get(grants))
        .route("/api/v1/pim/run", post(run))
        .route("/api/v1/pim/reviews", get(list_reviews).post(create_review))
        .route("/api/v1/pim/reviews/{id}", get(get_review))
        .route("/api/v1/pim/reviews/{id}/decisions", post(decide_review))
        .route("/api/v1/pim/outbox", get(outbox))
}

/// The OpenAPI description of these routes, merged into the node's document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        eligible,
        active,
        approvals,
        list_requests,
        create_request,
        get_request,
        act_on_request,
        get_settings,
        put_settings,
        get_configuration,
        put_configuration,
        alerts,
        reconcile,
        grants,
        run,
        list_reviews,
        create_review,
        get_review,
        decide_review,
        outbox
    ),
    components(schemas(
        NewRequest,
        ReviewRequest,
        Decision,
        ReviewDecision,
        Configuration,
        PimSettings,
        trustplane_model::ActivationRequest,
        RequestState,
        crate::pim::PimAlert
    ))
)]
pub struct PimApi;

/// `?userId=`: another user's view, for readers of the directory.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForUser {
    user_id: Option<String>,
    state: Option<String>,
}

async fn subject(state: &AppState, caller: &Caller, user_id: Option<&str>) -> ApiResult<String> {
    match user_id {
        Some(u) if u != caller.user.id => {
            caller.require(state, Permission::DirectoryRead).await?;
            Ok(state.store.get_user(u).await?.id)
        }
        _ => Ok(caller.user.id.clone()),
    }
}

/// The roles the caller (or `userId`) may activate now, with each role's settings.
#[utoipa::path(get, path = "/api/v1/pim/eligible", tag = "pim", params(("userId" = Option<String>, Query)),
    responses((status = 200, description = "eligible assignments with their role and settings")))]
pub async fn eligible(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ForUser>,
) -> ApiResult<impl IntoResponse> {
    let user = subject(&state, &caller, q.user_id.as_deref()).await?;
    Ok(axum::Json(
        json!({ "value": state.pim.eligible(&user).await? }),
    ))
}

/// The caller's (or `userId`'s) active activations, with the time left.
#[utoipa::path(get, path = "/api/v1/pim/active", tag = "pim", params(("userId" = Option<String>, Query)),
    responses((status = 200, body = Vec<trustplane_model::ActivationRequest>)))]
pub async fn active(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ForUser>,
) -> ApiResult<impl IntoResponse> {
    let user = subject(&state, &caller, q.user_id.as_deref()).await?;
    let now = state.store.clock().now_ms();
    let value: Vec<_> = state
        .store
        .list_pim_requests(Some(&user), &[RequestState::Active])
        .await?
        .into_iter()
        .map(|r| {
            let left = r
                .end_date_time
                .map(|e| ((trustplane_model::to_ms(e) - now) / 1000).max(0));
            let mut v = json!(r);
            v["remainingSeconds"] = json!(left);
            v
        })
        .collect();
    Ok(axum::Json(json!({ "value": value })))
}

/// Requests waiting for the caller's approval.
#[utoipa::path(get, path = "/api/v1/pim/approvals", tag = "pim",
    responses((status = 200, body = Vec<trustplane_model::ActivationRequest>)))]
pub async fn approvals(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(
        json!({ "value": state.pim.approvals_for(&caller.user).await? }),
    ))
}

/// Requests: the caller's own, or anyone's (`userId`, or all with `userId=*`) for readers of
/// the directory; `state` filters.
#[utoipa::path(get, path = "/api/v1/pim/requests", tag = "pim",
    params(("userId" = Option<String>, Query), ("state" = Option<String>, Query)),
    responses((status = 200, body = Vec<trustplane_model::ActivationRequest>), (status = 400)))]
pub async fn list_requests(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ForUser>,
) -> ApiResult<impl IntoResponse> {
    let states = match q.state.as_deref() {
        None => Vec::new(),
        Some(s) => vec![RequestState::parse(s).ok_or_else(|| {
            let mut e = ApiError::bad_request(format!("unknown state `{s}`"));
            e.set_field("state");
            e
        })?],
    };
    let user = if q.user_id.as_deref() == Some("*") {
        caller.require(&state, Permission::DirectoryRead).await?;
        None
    } else {
        Some(subject(&state, &caller, q.user_id.as_deref()).await?)
    };
    let value = state
        .store
        .list_pim_requests(user.as_deref(), &states)
        .await?;
    Ok(axum::Json(json!({ "value": value })))
}

/// Asks to activate an eligible role: `roleDefinitionId`, `durationSeconds`, `justification`,
/// `ticketNumber`, `startDateTime`, and `mfaCode` when the role requires MFA.
#[utoipa::path(post, path = "/api/v1/pim/requests", tag = "pim", request_body = NewRequest,
    responses((status = 201, body = trustplane_model::ActivationRequest), (status = 400), (status = 401), (status = 403), (status = 409)))]
pub async fn create_request(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    Json(body): Json<NewRequest>,
) -> ApiResult<impl IntoResponse> {
    let channel = Channel {
        client: ClientApp::MobileAppsAndDesktopClients,
        request: &ctx,
    };
    let r = state
        .pim
        .request(
            &caller.user,
            &caller.actor,
            body,
            SessionMfa::Absent,
            channel,
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(r)))
}

/// One request: the requester's own, or any for readers of the directory and approvers.
#[utoipa::path(get, path = "/api/v1/pim/requests/{id}", tag = "pim", params(("id" = String, Path)),
    responses((status = 200, body = trustplane_model::ActivationRequest), (status = 404)))]
pub async fn get_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let r = state.store.get_pim_request(&id).await?;
    if r.principal_id != caller.user.id
        && !state
            .pim
            .approvals_for(&caller.user)
            .await?
            .iter()
            .any(|a| a.id == id)
    {
        caller.require(&state, Permission::DirectoryRead).await?;
    }
    Ok(axum::Json(r))
}

/// Body of the actions on a request (optional).
#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Decision {
    /// The approver's or administrator's comment.
    #[serde(default)]
    comment: Option<String>,
    /// For `extend`: by how many seconds.
    #[serde(default)]
    duration_seconds: Option<i64>,
}

/// `approve` or `deny` (an approver, never the requester), `cancel`, `deactivate` or
/// `extend` with `durationSeconds` (the requester, where the role allows it), `revoke` (an
/// administrator).
#[utoipa::path(post, path = "/api/v1/pim/requests/{id}/{action}", tag = "pim",
    params(("id" = String, Path), ("action" = String, Path)), request_body = Decision,
    responses((status = 200, body = trustplane_model::ActivationRequest), (status = 403), (status = 404), (status = 409)))]
pub async fn act_on_request(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<impl IntoResponse> {
    // The body is optional: an empty one means no comment.
    let Decision {
        comment,
        duration_seconds,
    } = if body.iter().all(u8::is_ascii_whitespace) {
        Decision::default()
    } else {
        serde_json::from_slice::<Decision>(&body)
            .map_err(|e| ApiError::bad_request(format!("the body is not a valid decision: {e}")))?
    };
    let (pim, user, actor) = (&state.pim, &caller.user, &caller.actor);
    let r = match action.as_str() {
        "approve" => pim.decide(user, actor, &id, true, comment).await?,
        "deny" => pim.decide(user, actor, &id, false, comment).await?,
        "cancel" => pim.cancel(user, actor, &id).await?,
        "deactivate" => pim.end_early(user, actor, &id, false).await?,
        "extend" => {
            let seconds = duration_seconds.ok_or_else(|| {
                let mut e = ApiError::bad_request("extend needs durationSeconds");
                e.set_field("durationSeconds");
                e
            })?;
            pim.extend(user, actor, &id, seconds).await?
        }
        "revoke" => {
            caller
                .require(&state, Permission::RoleAssignmentsWrite)
                .await?;
            pim.end_early(user, actor, &id, true).await?
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no action `{other}` on a request"
            )))
        }
    };
    Ok(axum::Json(r))
}

/// `?scope=`: the directory scope, `/` when absent.
#[derive(Deserialize)]
pub struct ScopeQuery {
    scope: Option<String>,
}

/// The settings that govern a role's activation at a scope (its own or the defaults).
#[utoipa::path(get, path = "/api/v1/pim/settings/{roleId}", tag = "pim",
    params(("roleId" = String, Path), ("scope" = Option<String>, Query)),
    responses((status = 200, body = PimSettings), (status = 404)))]
pub async fn get_settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(role_id): Path<String>,
    Query(q): Query<ScopeQuery>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    let role = state.store.get_role_definition(&role_id).await?;
    let scope = q.scope.unwrap_or_else(|| "/".into());
    Ok(axum::Json(state.pim.settings(&role.id, &scope).await?))
}

/// Replaces a role's settings at a scope.
#[utoipa::path(put, path = "/api/v1/pim/settings/{roleId}", tag = "pim",
    params(("roleId" = String, Path), ("scope" = Option<String>, Query)), request_body = PimSettings,
    responses((status = 200, body = PimSettings), (status = 400), (status = 404)))]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(role_id): Path<String>,
    Query(q): Query<ScopeQuery>,
    Json(settings): Json<PimSettings>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::RoleAssignmentsWrite)
        .await?;
    let scope = q.scope.unwrap_or_else(|| "/".into());
    let stored = state
        .pim
        .put_settings(&caller.actor, &role_id, &scope, settings)
        .await?;
    Ok(axum::Json(stored))
}

/// The webhook URL and the reconciliation mode.
#[utoipa::path(get, path = "/api/v1/pim/configuration", tag = "pim",
    responses((status = 200, body = Configuration)))]
pub async fn get_configuration(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(state.pim.configuration().await?))
}

/// Sets the webhook URL and the reconciliation mode.
#[utoipa::path(put, path = "/api/v1/pim/configuration", tag = "pim", request_body = Configuration,
    responses((status = 200, body = Configuration), (status = 400)))]
pub async fn put_configuration(
    State(state): State<AppState>,
    caller: Caller,
    Json(c): Json<Configuration>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::RoleAssignmentsWrite)
        .await?;
    state.pim.set_configuration(&c).await?;
    Ok(axum::Json(c))
}

/// PIM alerts: grants made outside Trustplane, too many permanent holders, roles without
/// MFA, stale eligible assignments, frequent activation.
#[utoipa::path(get, path = "/api/v1/pim/alerts", tag = "pim",
    responses((status = 200, body = Vec<crate::pim::PimAlert>)))]
pub async fn alerts(State(state): State<AppState>, caller: Caller) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(json!({ "value": state.pim.alerts().await? })))
}

/// Reconciles the clouds' grants with Trustplane's now.
#[utoipa::path(post, path = "/api/v1/pim/reconcile", tag = "pim",
    responses((status = 200, description = "grants found outside Trustplane, and clouds that could not be read")))]
pub async fn reconcile(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::RoleAssignmentsWrite)
        .await?;
    let (found, unreadable) = state.pim.reconcile(&caller.actor).await?;
    Ok(axum::Json(
        json!({ "outsideGrants": found, "unreadable": unreadable }),
    ))
}

/// What Trustplane has granted for activations, and in what state.
#[utoipa::path(get, path = "/api/v1/pim/grants", tag = "pim",
    responses((status = 200, description = "grant records")))]
pub async fn grants(State(state): State<AppState>, caller: Caller) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(
        json!({ "value": state.store.pim_grants().await? }),
    ))
}

/// Runs one round of the PIM job now (activations due, expiry, grant removal, reviews,
/// webhooks).
#[utoipa::path(post, path = "/api/v1/pim/run", tag = "pim",
    responses((status = 200, description = "what the round did")))]
pub async fn run(State(state): State<AppState>, caller: Caller) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::RoleAssignmentsWrite)
        .await?;
    Ok(axum::Json(state.pim.run_due().await?))
}

/// Access reviews, newest first.
#[utoipa::path(get, path = "/api/v1/pim/reviews", tag = "pim",
    responses((status = 200, description = "reviews with their items")))]
pub async fn list_reviews(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    let mut value = Vec::new();
    for id in state.store.pim_review_ids(None).await? {
        value.push(state.store.get_pim_review(&id).await?);
    }
    Ok(axum::Json(json!({ "value": value })))
}

/// Starts an access review of a role's eligible holders.
#[utoipa::path(post, path = "/api/v1/pim/reviews", tag = "pim", request_body = ReviewRequest,
    responses((status = 201, description = "the review"), (status = 400), (status = 404)))]
pub async fn create_review(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ReviewRequest>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::RoleAssignmentsWrite)
        .await?;
    let review = state.pim.start_review(&caller.actor, body).await?;
    Ok((StatusCode::CREATED, axum::Json(review)))
}

/// One review.
#[utoipa::path(get, path = "/api/v1/pim/reviews/{id}", tag = "pim", params(("id" = String, Path)),
    responses((status = 200, description = "the review"), (status = 404)))]
pub async fn get_review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let review = state.store.get_pim_review(&id).await?;
    if !review.reviewers.contains(&caller.user.id) {
        caller.require(&state, Permission::DirectoryRead).await?;
    }
    Ok(axum::Json(review))
}

/// A reviewer's decision.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewDecision {
    /// The eligible assignment decided on.
    assignment_id: String,
    /// `keep` or `remove`.
    decision: String,
    /// Why.
    #[serde(default)]
    comment: Option<String>,
}

/// Records a reviewer's decision on one assignment.
#[utoipa::path(post, path = "/api/v1/pim/reviews/{id}/decisions", tag = "pim",
    params(("id" = String, Path)), request_body = ReviewDecision,
    responses((status = 200, description = "the review"), (status = 400), (status = 403), (status = 409)))]
pub async fn decide_review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(d): Json<ReviewDecision>,
) -> ApiResult<impl IntoResponse> {
    let review = state
        .pim
        .review_decision(
            &caller.user,
            &caller.actor,
            &id,
            &d.assignment_id,
            &d.decision,
            d.comment,
        )
        .await?;
    Ok(axum::Json(review))
}

/// The notification outbox (mail that a mail relay would send, and webhook deliveries).
#[utoipa::path(get, path = "/api/v1/pim/outbox", tag = "pim",
    responses((status = 200, description = "messages, newest first")))]
pub async fn outbox(State(state): State<AppState>, caller: Caller) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(
        json!({ "value": state.store.outbox(None, 500).await? }),
    ))
}
