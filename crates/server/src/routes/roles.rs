//! `/api/v1/roleDefinitions` and `/api/v1/roleAssignments`: Graph's unified role resources.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use time::OffsetDateTime;
use trustplane_model::{
    to_ms, AssignmentKind, Permission, RoleAssignment, RoleDefinition, RolePermission, RoleResource,
};
use trustplane_store::NewAssignment;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::odata::{collection, ListParams};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/roleDefinitions",
            get(list_role_definitions).post(create_role_definition),
        )
        .route(
            "/api/v1/roleDefinitions/{id}",
            get(get_role_definition)
                .patch(update_role_definition)
                .delete(delete_role_definition),
        )
        .route(
            "/api/v1/roleAssignments",
            get(list_role_assignments).post(create_role_assignment),
        )
        .route(
            "/api/v1/roleAssignments/{id}",
            get(get_role_assignment).delete(delete_role_assignment),
        )
}

/// Body of `POST /api/v1/roleAssignments`. `roleDefinitionId` may also be the role's name.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRoleAssignment {
    principal_id: String,
    role_definition_id: String,
    #[serde(default = "root_scope")]
    directory_scope_id: String,
    assignment_type: Option<AssignmentKind>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    start_date_time: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    end_date_time: Option<OffsetDateTime>,
}

fn root_scope() -> String {
    "/".into()
}

/// Lists role definitions.
#[utoipa::path(get, path = "/api/v1/roleDefinitions", tag = "roles", responses((status = 200, body = Vec<RoleDefinition>)))]
pub async fn list_role_definitions(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    let roles = state.store.list_role_definitions().await?;
    Ok(axum::Json(serde_json::json!({ "value": roles })))
}

/// Reads a role definition by id or display name.
#[utoipa::path(get, path = "/api/v1/roleDefinitions/{id}", tag = "roles", params(("id" = String, Path)),
    responses((status = 200, body = RoleDefinition), (status = 404)))]
pub async fn get_role_definition(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(state.store.get_role_definition(&id).await?))
}

/// Body of `POST /api/v1/roleDefinitions`: a role of the organisation's own. Roles that live
/// in a cloud name it in `resource`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRoleDefinition {
    display_name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    resource: Option<RoleResource>,
}

/// Adds a role, such as an AWS role that federation grants.
#[utoipa::path(post, path = "/api/v1/roleDefinitions", tag = "roles", request_body = CreateRoleDefinition,
    responses((status = 201, body = RoleDefinition), (status = 400), (status = 409)))]
pub async fn create_role_definition(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateRoleDefinition>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::RoleAssignmentsWrite)
        .await?;
    let role = RoleDefinition {
        id: String::new(),
        display_name: body.display_name,
        description: body.description,
        is_built_in: false,
        is_enabled: true,
        template_id: String::new(),
        // Roles of a cloud grant nothing inside Trustplane itself.
        role_permissions: vec![RolePermission {
            allowed_resource_actions: Vec::new(),
        }],
        resource: body.resource,
    };
    let role = state
        .store
        .create_role_definition(&caller.actor, role)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(role)))
}

/// Body of `PATCH /api/v1/roleDefinitions/{id}`: only the fields to change; `resource: null`
/// makes the role one of Trustplane alone.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRoleDefinition {
    display_name: Option<String>,
    description: Option<String>,
    #[serde(default, deserialize_with = "super::nullable")]
    resource: Option<Option<RoleResource>>,
}

/// Changes a role of the organisation's own (built-in roles are fixed).
#[utoipa::path(patch, path = "/api/v1/roleDefinitions/{id}", tag = "roles", params(("id" = String, Path)),
    request_body = UpdateRoleDefinition,
    responses((status = 200, body = RoleDefinition), (status = 400), (status = 404), (status = 409)))]
pub async fn update_role_definition(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<UpdateRoleDefinition>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::RoleAssignmentsWrite)
        .await?;
    let role = state
        .store
        .update_role_definition(
            &caller.actor,
            &id,
            trustplane_store::RoleDefinitionPatch {
                display_name: body.display_name,
                description: body.description,
                resource: body.resource,
            },
        )
        .await?;
    Ok(axum::Json(role))
}

/// Removes a role of the organisation's own that nobody holds.
#[utoipa::path(delete, path = "/api/v1/roleDefinitions/{id}", tag = "roles", params(("id" = String, Path)),
    responses((status = 204), (status = 400), (status = 404), (status = 409)))]
pub async fn delete_role_definition(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::RoleAssignmentsWrite)
        .await?;
    state
        .store
        .delete_role_definition(&caller.actor, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists role assignments; `$filter` on `principalId`, `roleDefinitionId`, `directoryScopeId`.
#[utoipa::path(get, path = "/api/v1/roleAssignments", tag = "roles",
    params(("$filter" = Option<String>, Query), ("$top" = Option<usize>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, body = Vec<RoleAssignment>)))]
pub async fn list_role_assignments(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    let page = state
        .store
        .list_role_assignments(&params.to_query()?)
        .await?;
    Ok(axum::Json(collection(
        page,
        "/api/v1/roleAssignments",
        &params,
    )))
}

/// Assigns a role to a user or a role-assignable group.
#[utoipa::path(post, path = "/api/v1/roleAssignments", tag = "roles", request_body = CreateRoleAssignment,
    responses((status = 201, body = RoleAssignment), (status = 400), (status = 409), (status = 422)))]
pub async fn create_role_assignment(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateRoleAssignment>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::RoleAssignmentsWrite)
        .await?;
    let kind = body.assignment_type.unwrap_or(AssignmentKind::Active);
    let role = state
        .store
        .get_role_definition(&body.role_definition_id)
        .await;
    if let Ok(role) = role {
        // The role's PIM settings bound how long standing and eligible assignments last.
        state
            .pim
            .check_assignment(
                &role.id,
                &body.directory_scope_id,
                kind == AssignmentKind::Eligible,
                body.start_date_time.map(to_ms),
                body.end_date_time.map(to_ms),
            )
            .await?;
    }
    let assignment = state
        .store
        .create_role_assignment(
            &caller.actor,
            NewAssignment {
                principal_id: body.principal_id,
                role_definition_id: body.role_definition_id,
                directory_scope_id: body.directory_scope_id,
                assignment_type: kind,
                start: body.start_date_time.map(to_ms),
                end: body.end_date_time.map(to_ms),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(assignment)))
}

/// Reads a role assignment.
#[utoipa::path(get, path = "/api/v1/roleAssignments/{id}", tag = "roles", params(("id" = String, Path)),
    responses((status = 200, body = RoleAssignment), (status = 404)))]
pub async fn get_role_assignment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(state.store.get_role_assignment(&id).await?))
}

/// Removes a role assignment.
#[utoipa::path(delete, path = "/api/v1/roleAssignments/{id}", tag = "roles", params(("id" = String, Path)),
    responses((status = 204), (status = 404), (status = 409, description = "the last Global Administrator")))]
pub async fn delete_role_assignment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::RoleAssignmentsWrite)
        .await?;
    state
        .store
        .delete_role_assignment(&caller.actor, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
