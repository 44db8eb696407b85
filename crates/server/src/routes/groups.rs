//! `/api/v1/groups`: Graph's group resource and its `members` navigation.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::odata::{collection, ListParams};
use crate::server::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::Value;
use trustplane_idp::directory;
use trustplane_model::{CreateGroup, Group, Permission, UpdateGroup};
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/groups", get(list_groups).post(create_group))
        .route(
            "/api/v1/groups/{id}",
            get(get_group).patch(update_group).delete(delete_group),
        )
        .route("/api/v1/groups/{id}/members", get(list_members))
        .route(
            "/api/v1/groups/{id}/transitiveMembers",
            get(list_transitive_members),
        )
        .route("/api/v1/groups/{id}/members/$ref", post(add_member))
        .route(
            "/api/v1/groups/{id}/members/{member_id}/$ref",
            delete(remove_member),
        )
}

/// Body of `POST /api/v1/groups/{id}/members/$ref`, as in Graph: the member's URL or id.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRef {
    #[serde(rename = "@odata.id")]
    odata_id: String,
}

/// Lists groups; `$filter` on `displayName`.
#[utoipa::path(get, path = "/api/v1/groups", tag = "groups",
    params(("$filter" = Option<String>, Query), ("$top" = Option<usize>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, body = Vec<Group>)))]
pub async fn list_groups(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    let page = state.store.list_groups(&params.to_query()?).await?;
    Ok(axum::Json(collection(page, "/api/v1/groups", &params)))
}

/// Creates a group.
#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", request_body = CreateGroup,
    responses((status = 201, body = Group), (status = 400), (status = 403, description = "a role-assignable group needs roleAssignments/write"), (status = 409), (status = 422)))]
pub async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateGroup>,
) -> ApiResult<impl IntoResponse> {
    let group = directory::create_group(&state.store, &caller, body).await?;
    Ok((StatusCode::CREATED, axum::Json(group)))
}

/// Reads a group.
#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "groups", params(("id" = String, Path)),
    responses((status = 200, body = Group), (status = 404)))]
pub async fn get_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(state.store.get_group(&id).await?))
}

/// Changes a group.
#[utoipa::path(patch, path = "/api/v1/groups/{id}", tag = "groups", params(("id" = String, Path)), request_body = UpdateGroup,
    responses((status = 200, body = Group), (status = 404), (status = 409)))]
pub async fn update_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<UpdateGroup>,
) -> ApiResult<impl IntoResponse> {
    let group = directory::update_group(&state.store, &caller, &id, body).await?;
    Ok(axum::Json(group))
}

/// Deletes a group.
#[utoipa::path(delete, path = "/api/v1/groups/{id}", tag = "groups", params(("id" = String, Path)),
    responses((status = 204), (status = 404)))]
pub async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    directory::delete_group(&state.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn members(
    state: &AppState,
    caller: &Caller,
    id: &str,
    transitive: bool,
) -> ApiResult<Value> {
    caller.require(state, Permission::DirectoryRead).await?;
    let group = state.store.get_group(id).await?;
    let (users, groups) = state.store.list_members(&group.id, transitive).await?;
    let mut value = Vec::with_capacity(users.len() + groups.len());
    for u in users {
        value.push(typed(
            serde_json::to_value(u).unwrap_or_default(),
            "#microsoft.graph.user",
        ));
    }
    for g in groups {
        value.push(typed(
            serde_json::to_value(g).unwrap_or_default(),
            "#microsoft.graph.group",
        ));
    }
    Ok(serde_json::json!({ "value": value }))
}

fn typed(mut v: Value, odata_type: &str) -> Value {
    if let Some(obj) = v.as_object_mut() {
        obj.insert("@odata.type".into(), Value::String(odata_type.into()));
    }
    v
}

/// Direct members, each with its `@odata.type`.
#[utoipa::path(get, path = "/api/v1/groups/{id}/members", tag = "groups", params(("id" = String, Path)),
    responses((status = 200), (status = 404)))]
pub async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(members(&state, &caller, &id, false).await?))
}

/// Members, including those of nested groups.
#[utoipa::path(get, path = "/api/v1/groups/{id}/transitiveMembers", tag = "groups", params(("id" = String, Path)),
    responses((status = 200), (status = 404)))]
pub async fn list_transitive_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(members(&state, &caller, &id, true).await?))
}

/// Adds a member (a user or a group; a membership cycle is refused with 409).
#[utoipa::path(post, path = "/api/v1/groups/{id}/members/$ref", tag = "groups", params(("id" = String, Path)), request_body = MemberRef,
    responses((status = 204), (status = 403, description = "a group that confers privilege needs roleAssignments/write"), (status = 404), (status = 409), (status = 422)))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<MemberRef>,
) -> ApiResult<impl IntoResponse> {
    // Graph sends a URL ending in the member's id; a bare id is accepted too.
    let member = body
        .odata_id
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("@odata.id must name a directory object"))?;
    directory::change_membership(&state.store, &caller, &id, member, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a direct member.
#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{member_id}/$ref", tag = "groups",
    params(("id" = String, Path), ("member_id" = String, Path)), responses((status = 204), (status = 403), (status = 404), (status = 409)))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, member_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    directory::change_membership(&state.store, &caller, &id, &member_id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
