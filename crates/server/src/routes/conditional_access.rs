//! `/api/v1/identity/conditionalAccess`: policies and named locations in Graph JSON, and
//! `evaluate` (what-if) against the stored policies with the directory's facts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use trustplane_idp::ca_admin::{self, Author, ChangeOptions};
use trustplane_model::Permission;
use trustplane_store::CaKind;

use crate::auth::Caller;
use crate::context::RequestContext;
use crate::error::ApiResult;
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

impl ChangeParams {
    fn options(&self) -> ChangeOptions {
        ChangeOptions {
            force: self.force,
            report_only_if_it_applies_to_me: self.report_only_if_it_applies_to_me,
        }
    }
}

fn author<'a>(caller: &'a Caller, req: &'a RequestContext) -> Author<'a> {
    Author {
        actor: &caller.actor,
        user: &caller.user,
        ctx: req,
    }
}

#[utoipa::path(post, path = "/api/v1/identity/conditionalAccess/policies", tag = "conditionalAccess", request_body = Object,
    params(("force" = Option<bool>, Query), ("reportOnlyIfItAppliesToMe" = Option<bool>, Query)),
    responses((status = 201, description = "the stored policy; `@trustplane.warnings` lists references that name nothing here and other notes"), (status = 400, description = "invalid; `field` names the field"), (status = 409, description = "it would block every Global Administrator")))]
pub async fn create_policy(
    State(state): State<AppState>,
    caller: Caller,
    req: RequestContext,
    Query(params): Query<ChangeParams>,
    Json(body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::PoliciesWrite).await?;
    let author = author(&caller, &req);
    let stored =
        ca_admin::create_policy(&state.ca, &state.store, &author, params.options(), body).await?;
    Ok((StatusCode::CREATED, axum::Json(stored)))
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
    let author = author(&caller, &req);
    let stored = ca_admin::update_policy(
        &state.ca,
        &state.store,
        &author,
        params.options(),
        &id,
        patch,
    )
    .await?;
    Ok(axum::Json(stored))
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
    Json(body): Json<Value>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::PoliciesWrite).await?;
    let stored = ca_admin::create_location(&state.store, &caller.actor, body).await?;
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
    Ok(axum::Json(
        ca_admin::update_location(&state.store, &caller.actor, &id, patch).await?,
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
    Ok(axum::Json(
        ca_admin::what_if(&state.ca, &state.store, &body).await?,
    ))
}
