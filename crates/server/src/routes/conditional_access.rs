//! `/api/v1/identity/conditionalAccess`: policies and named locations in Graph JSON, and
//! `evaluate` (what-if) against the stored policies with the directory's facts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use trustplane_access::{parse_input, resolve_country, ConditionalAccessPolicy, NamedLocation};
use trustplane_model::Permission;
use trustplane_store::CaKind;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/identity/conditionalAccess/policies",
            get(list_policies).post(create_policy),
        )
        .route(
            "/api/v1/identity/conditionalAccess/policies/{id}",
            get(get_policy).patch(update_policy).delete(delete_policy),
        )
        .route(
            "/api/v1/identity/conditionalAccess/namedLocations",
            get(list_locations).post(create_location),
        )
        .route(
            "/api/v1/identity/conditionalAccess/namedLocations/{id}",
            get(get_location)
                .patch(update_location)
                .delete(delete_location),
        )
        .route(
            "/api/v1/identity/conditionalAccess/evaluate",
            post(evaluate),
        )
}

/// Parses and validates a policy; errors name the field.
fn check_policy(body: &Value) -> ApiResult<(String, String)> {
    let policy = ConditionalAccessPolicy::from_json(&body.to_string())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let errors = policy.validate();
    if let Some(first) = errors.first() {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field(), e.message()))
            .collect::<Vec<_>>()
            .join("; ");
        let mut err = ApiError::bad_request(detail);
        err.set_field(first.field());
        return Err(err);
    }
    let name = policy.display_name.clone().unwrap_or_default();
    if name.trim().is_empty() {
        return Err(ApiError::bad_request("displayName must not be empty"));
    }
    Ok((name, policy.state.as_str().to_string()))
}

fn check_location(body: &Value) -> ApiResult<String> {
    let location = NamedLocation::from_json(&body.to_string())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let errors = location.validate();
    if !errors.is_empty() {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field(), e.message()))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(ApiError::bad_request(detail));
    }
    Ok(location.display_name().unwrap_or_default().to_string())
}

/// Graph PATCH: the given top-level properties replace the stored ones.
fn merge(mut stored: Value, patch: Value) -> ApiResult<Value> {
    let (Some(target), Value::Object(fields)) = (stored.as_object_mut(), patch) else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    for (k, v) in fields {
        if k == "id" {
            continue;
        }
        target.insert(k, v);
    }
    Ok(stored)
}

#[utoipa::path(get, path = "/api/v1/identity/conditionalAccess/policies", tag = "conditionalAccess", responses((status = 200, description = "Graph conditionalAccessPolicy objects")))]
pub async fn list_policies(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(
        json!({ "value": state.store.list_ca(CaKind::Policy).await? }),
    ))
}

#[utoipa::path(get, path = "/api/v1/identity/conditionalAccess/policies/{id}", tag = "conditionalAccess", params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn get_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(state.store.get_ca(CaKind::Policy, &id).await?))
}

#[utoipa::path(post, path = "/api/v1/identity/conditionalAccess/policies", tag = "conditionalAccess", request_body = Object, responses((status = 201), (status = 400, description = "invalid; `field` names the field"), (status = 409)))]
pub async fn create_policy(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::PoliciesWrite).await?;
    let (name, policy_state) = check_policy(&body)?;
    let stored = state
        .store
        .create_ca(
            &caller.actor,
            CaKind::Policy,
            body,
            &name,
            Some(&policy_state),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(stored)))
}

#[utoipa::path(patch, path = "/api/v1/identity/conditionalAccess/policies/{id}", tag = "conditionalAccess", params(("id" = String, Path)), request_body = Object, responses((status = 200), (status = 400), (status = 404)))]
pub async fn update_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(patch): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::PoliciesWrite).await?;
    let merged = merge(state.store.get_ca(CaKind::Policy, &id).await?, patch)?;
    let (name, policy_state) = check_policy(&merged)?;
    Ok(axum::Json(
        state
            .store
            .update_ca(
                &caller.actor,
                CaKind::Policy,
                &id,
                merged,
                &name,
                Some(&policy_state),
            )
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/identity/conditionalAccess/policies/{id}", tag = "conditionalAccess", params(("id" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn delete_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::PoliciesWrite).await?;
    state
        .store
        .delete_ca(&caller.actor, CaKind::Policy, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/identity/conditionalAccess/namedLocations", tag = "conditionalAccess", responses((status = 200)))]
pub async fn list_locations(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(
        json!({ "value": state.store.list_ca(CaKind::NamedLocation).await? }),
    ))
}

#[utoipa::path(get, path = "/api/v1/identity/conditionalAccess/namedLocations/{id}", tag = "conditionalAccess", params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn get_location(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(
        state.store.get_ca(CaKind::NamedLocation, &id).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/identity/conditionalAccess/namedLocations", tag = "conditionalAccess", request_body = Object, responses((status = 201), (status = 400), (status = 409)))]
pub async fn create_location(
    State(state): State<AppState>,
    caller: Caller,
    Json(mut body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::PoliciesWrite).await?;
    // Policies refer to locations by id, so a new location gets one before it is checked.
    if let Some(obj) = body.as_object_mut() {
        let has_id = obj
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        if !has_id {
            obj.insert("id".into(), Value::String(trustplane_model::new_id()));
        }
    }
    let name = check_location(&body)?;
    let stored = state
        .store
        .create_ca(&caller.actor, CaKind::NamedLocation, body, &name, None)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(stored)))
}

#[utoipa::path(patch, path = "/api/v1/identity/conditionalAccess/namedLocations/{id}", tag = "conditionalAccess", params(("id" = String, Path)), request_body = Object, responses((status = 200), (status = 400), (status = 404)))]
pub async fn update_location(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(patch): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::PoliciesWrite).await?;
    let merged = merge(state.store.get_ca(CaKind::NamedLocation, &id).await?, patch)?;
    let name = check_location(&merged)?;
    Ok(axum::Json(
        state
            .store
            .update_ca(
                &caller.actor,
                CaKind::NamedLocation,
                &id,
                merged,
                &name,
                None,
            )
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/identity/conditionalAccess/namedLocations/{id}", tag = "conditionalAccess", params(("id" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn delete_location(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::PoliciesWrite).await?;
    state
        .store
        .delete_ca(&caller.actor, CaKind::NamedLocation, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What-if against the stored policies. The body is the flat input or Graph's evaluate body;
/// when it names a user of this directory and gives no groups or roles, the directory's are
/// used.
#[utoipa::path(post, path = "/api/v1/identity/conditionalAccess/evaluate", tag = "conditionalAccess", request_body = Object, responses((status = 200, description = "result, enforcedPolicies, reportOnlyPolicies, requiredControls, sessionControls, notAppliedPolicies")))]
pub async fn evaluate(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    let mut ctx =
        parse_input(&body.to_string()).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if let Some(user_id) = ctx.user_id.clone() {
        if let Ok(user) = state.store.get_user(&user_id).await {
            ctx.user_id = Some(user.id.clone());
            if ctx.group_ids.is_empty() {
                ctx.group_ids = state.store.group_ids_of(&user.id, true).await?;
            }
            if ctx.role_ids.is_empty() {
                ctx.role_ids = state
                    .store
                    .effective_roles(&user.id)
                    .await?
                    .into_iter()
                    .map(|r| r.template_id)
                    .collect();
            }
        }
    }
    if let Some(lookup) = state.ca.geoip() {
        resolve_country(&mut ctx, lookup);
    }
    let set = state.ca.policy_set().await?;
    Ok(axum::Json(
        serde_json::to_value(set.explain(&ctx)).unwrap_or_default(),
    ))
}
