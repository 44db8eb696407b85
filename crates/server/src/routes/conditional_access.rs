//! `/api/v1/identity/conditionalAccess`: policies and named locations in Graph JSON, and
//! `evaluate` (what-if) against the stored policies with the directory's facts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use trustplane_access::{
    parse_input, resolve_country, ConditionalAccessPolicy, NamedLocation, PolicyState,
};
use trustplane_model::Permission;
use trustplane_store::CaKind;

use crate::auth::Caller;
use crate::ca_guard;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
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

/// Query of a policy change.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeParams {
    /// Store the change even though it would block every Global Administrator.
    #[serde(default)]
    force: bool,
    /// Store an enabled policy as report-only when its conditions match the caller.
    #[serde(default)]
    report_only_if_it_applies_to_me: bool,
}

/// Reviews a policy about to be stored as `body` (replacing the stored one with `replacing`,
/// if any): may turn it report-only, refuses a change that locks every Global Administrator
/// out unless forced, and returns the warnings to show with the stored policy.
async fn review_change(
    state: &AppState,
    caller: &Caller,
    req: &RequestContext,
    params: &ChangeParams,
    body: &mut Value,
    replacing: Option<&str>,
) -> ApiResult<Vec<String>> {
    let mut warnings = ca_guard::unresolved_references(&state.store, body).await?;
    let parse = |v: &Value| ConditionalAccessPolicy::from_json(&v.to_string());
    let mut policy = parse(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if params.report_only_if_it_applies_to_me
        && policy.state == PolicyState::Enabled
        && ca_guard::applies_to(&state.ca, &state.store, &policy, &caller.user, req).await?
    {
        policy.state = PolicyState::ReportOnly;
        if let Some(obj) = body.as_object_mut() {
            obj.insert("state".into(), Value::String(policy.state.as_str().into()));
        }
        warnings.push(
            "stored report-only: the policy applies to you; enable it once its report shows it does what you want"
                .into(),
        );
    }
    if policy.state != PolicyState::Enabled {
        return Ok(warnings);
    }
    let mut candidate: Vec<ConditionalAccessPolicy> = Vec::new();
    for stored in state.store.list_ca(CaKind::Policy).await? {
        let same = replacing.is_some_and(|id| stored.get("id").and_then(Value::as_str) == Some(id));
        if !same {
            if let Ok(p) = parse(&stored) {
                candidate.push(p);
            }
        }
    }
    candidate.push(policy);
    if let Some(culprits) =
        ca_guard::blocks_every_global_admin(&state.ca, &state.store, &candidate, req).await?
    {
        let message = format!(
            "this would block every Global Administrator from signing in (by {}); make it report-only first, exclude an emergency-access account, or send force=true",
            if culprits.is_empty() { "the policies together".to_string() } else { culprits.join(", ") }
        );
        if !params.force {
            return Err(ApiError::new(StatusCode::CONFLICT, "Conflict", message));
        }
        warnings.push(format!("forced: {message}"));
    }
    Ok(warnings)
}

/// The stored policy with the review's warnings, as an OData-style annotation.
fn with_warnings(mut stored: Value, warnings: Vec<String>) -> Value {
    if !warnings.is_empty() {
        if let Some(obj) = stored.as_object_mut() {
            obj.insert("@trustplane.warnings".into(), json!(warnings));
        }
    }
    stored
}

#[utoipa::path(post, path = "/api/v1/identity/conditionalAccess/policies", tag = "conditionalAccess", request_body = Object,
    params(("force" = Option<bool>, Query), ("reportOnlyIfItAppliesToMe" = Option<bool>, Query)),
    responses((status = 201, description = "the stored policy; `@trustplane.warnings` lists references that name nothing here and other notes"), (status = 400, description = "invalid; `field` names the field"), (status = 409, description = "it would block every Global Administrator")))]
pub async fn create_policy(
    State(state): State<AppState>,
    caller: Caller,
    req: RequestContext,
    Query(params): Query<ChangeParams>,
    Json(mut body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::PoliciesWrite).await?;
    check_policy(&body)?;
    let warnings = review_change(&state, &caller, &req, &params, &mut body, None).await?;
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
    Ok((
        StatusCode::CREATED,
        axum::Json(with_warnings(stored, warnings)),
    ))
}

#[utoipa::path(patch, path = "/api/v1/identity/conditionalAccess/policies/{id}", tag = "conditionalAccess", params(("id" = String, Path)), request_body = Object, responses((status = 200), (status = 400), (status = 404)))]
pub async fn update_policy(
    State(state): State<AppState>,
    caller: Caller,
    req: RequestContext,
    Path(id): Path<String>,
    Query(params): Query<ChangeParams>,
    Json(patch): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::PoliciesWrite).await?;
    let id = state.store.resolve_ca_id(CaKind::Policy, &id).await?;
    let mut merged = merge(state.store.get_ca(CaKind::Policy, &id).await?, patch)?;
    check_policy(&merged)?;
    let warnings = review_change(&state, &caller, &req, &params, &mut merged, Some(&id)).await?;
    let (name, policy_state) = check_policy(&merged)?;
    let stored = state
        .store
        .update_ca(
            &caller.actor,
            CaKind::Policy,
            &id,
            merged,
            &name,
            Some(&policy_state),
        )
        .await?;
    Ok(axum::Json(with_warnings(stored, warnings)))
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
