//! `/api/v1/users`: Graph's user resource.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::odata::{collection, ListParams};
use crate::server::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::Value;
use trustplane_idp::directory;
use trustplane_model::{CreateUser, Permission, UpdateUser, User};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list_users).post(create_user))
        .route(
            "/api/v1/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/api/v1/users/{id}/memberOf", get(member_of))
        .route(
            "/api/v1/users/{id}/transitiveMemberOf",
            get(transitive_member_of),
        )
        .route("/api/v1/me", get(me))
        .route(
            "/api/v1/users/{id}/authenticationMethods",
            get(list_methods),
        )
        .route(
            "/api/v1/users/{id}/authenticationMethods/{method_id}",
            axum::routing::delete(delete_method),
        )
        .route(
            "/api/v1/users/{id}/authentication/temporaryAccessPassMethods",
            axum::routing::post(create_temporary_access_pass),
        )
        .route("/api/v1/users/{id}/sessions", get(list_sessions))
        .route(
            "/api/v1/users/{id}/revokeSignInSessions",
            axum::routing::post(revoke_sessions),
        )
        .route(
            "/api/v1/users/{id}/resetSignInFailures",
            axum::routing::post(reset_failures),
        )
}

/// Lists users; `$filter` on `userPrincipalName`, `displayName`, `mail`, `givenName`, `surname`.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    params(("$filter" = Option<String>, Query), ("$top" = Option<usize>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "a page of users", body = Vec<User>)))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    let page = state.store.list_users(&params.to_query()?).await?;
    Ok(axum::Json(collection(page, "/api/v1/users", &params)))
}

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, description = "created", body = User), (status = 400), (status = 409)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateUser>,
) -> ApiResult<impl IntoResponse> {
    let user = directory::create_user(&state.store, &state.signin, &caller, body).await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

/// Reads a user by id or user principal name.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "object id or userPrincipalName")),
    responses((status = 200, body = User), (status = 404)))]
pub async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(state.store.get_user(&id).await?))
}

/// Changes a user.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UpdateUser,
    params(("id" = String, Path)), responses((status = 200, body = User), (status = 400), (status = 403, description = "a protected field of someone in a higher tier"), (status = 404), (status = 409, description = "the last Global Administrator who can sign in")))]
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<UpdateUser>,
) -> ApiResult<impl IntoResponse> {
    let change = directory::update_user(&state.store, &state.signin, &caller, &id, body).await?;
    if change.disabled() {
        take_back_grants(&state).await;
    }
    Ok(axum::Json(change.after))
}

/// Deletes a user.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 204), (status = 403, description = "someone in a higher tier"), (status = 404), (status = 409, description = "the last Global Administrator")))]
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    directory::delete_user(&state.store, &caller, &id).await?;
    take_back_grants(&state).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The store ended a disabled or deleted person's elevations; the grants they gave (the
/// directory role, cloud roles) go now rather than at the next scheduled convergence. A
/// failure here is retried by that job, so it does not fail the change already made.
pub(crate) async fn take_back_grants(state: &AppState) {
    if let Err(e) = state.pim.converge().await {
        tracing::warn!(error = %e, "could not take back the grants of a disabled person yet");
    }
}

async fn groups_of(
    state: &AppState,
    caller: &Caller,
    id: &str,
    transitive: bool,
) -> ApiResult<Value> {
    caller.require(state, Permission::DirectoryRead).await?;
    let user = state.store.get_user(id).await?;
    let groups = state.store.member_of(&user.id, transitive).await?;
    Ok(serde_json::json!({ "value": groups }))
}

/// Groups the user is a direct member of.
#[utoipa::path(get, path = "/api/v1/users/{id}/memberOf", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = Vec<trustplane_model::Group>)))]
pub async fn member_of(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(groups_of(&state, &caller, &id, false).await?))
}

/// Groups the user is in, directly or through nested groups.
#[utoipa::path(get, path = "/api/v1/users/{id}/transitiveMemberOf", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = Vec<trustplane_model::Group>)))]
pub async fn transitive_member_of(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(groups_of(&state, &caller, &id, true).await?))
}

/// The caller and the roles they hold.
#[utoipa::path(get, path = "/api/v1/me", tag = "users", responses((status = 200)))]
pub async fn me(caller: Caller) -> impl IntoResponse {
    let roles: Vec<&str> = caller
        .roles
        .iter()
        .map(|r| r.display_name.as_str())
        .collect();
    axum::Json(serde_json::json!({ "user": caller.user, "roles": roles }))
}

/// A user's registered authentication methods (no secrets).
#[utoipa::path(get, path = "/api/v1/users/{id}/authenticationMethods", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = Vec<trustplane_model::AuthMethodInfo>), (status = 404)))]
pub async fn list_methods(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    let user = state.store.get_user(&id).await?;
    let methods: Vec<_> = state
        .store
        .list_auth_methods(&user.id, None)
        .await?
        .iter()
        .map(|m| m.info())
        .collect();
    Ok(axum::Json(serde_json::json!({ "value": methods })))
}

/// Body of `POST /api/v1/users/{id}/authentication/temporaryAccessPassMethods` (Graph's
/// `temporaryAccessPassAuthenticationMethod`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewTemporaryAccessPass {
    /// When it becomes usable (RFC 3339); now when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub start_date_time: Option<time::OffsetDateTime>,
    /// How long it stays usable: 10 to 43200 minutes; 60 when absent.
    #[serde(default)]
    pub lifetime_in_minutes: Option<i64>,
    /// Spent by its first use; true when absent.
    #[serde(default)]
    pub is_usable_once: Option<bool>,
}

/// Gives a user a temporary access pass to sign in with and register their own methods (a
/// new starter, a lost phone); replaces any they had. The pass is in this answer only.
#[utoipa::path(post, path = "/api/v1/users/{id}/authentication/temporaryAccessPassMethods", tag = "users",
    request_body = NewTemporaryAccessPass, params(("id" = String, Path)),
    responses((status = 201, description = "the pass, shown once"), (status = 400), (status = 403, description = "someone in a higher tier"), (status = 404)))]
pub async fn create_temporary_access_pass(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<NewTemporaryAccessPass>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::UsersWrite).await?;
    let user = state.store.get_user(&id).await?;
    // A way into the account: the same protection as its password.
    caller
        .require_tier_over(&state.store, &user, "authentication methods")
        .await?;
    if !user.account_enabled {
        return Err(ApiError::bad_request(
            "the account is disabled: enable it first",
        ));
    }
    let start_ms = body
        .start_date_time
        .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX));
    let lifetime = body.lifetime_in_minutes.unwrap_or(60);
    let once = body.is_usable_once.unwrap_or(true);
    let (pass, terms) = state
        .signin
        .create_temporary_access_pass(&caller.actor, &user, start_ms, lifetime, once)
        .await?;
    let start = trustplane_model::from_ms(terms.start_ms)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({
            "temporaryAccessPass": pass,
            "startDateTime": start,
            "lifetimeInMinutes": lifetime,
            "isUsableOnce": terms.usable_once,
            "userPrincipalName": user.user_principal_name,
        })),
    ))
}

/// Removes one of a user's methods (for a lost device).
#[utoipa::path(delete, path = "/api/v1/users/{id}/authenticationMethods/{method_id}", tag = "users",
    params(("id" = String, Path), ("method_id" = String, Path)), responses((status = 204), (status = 403), (status = 404), (status = 409, description = "the last way in of the last Global Administrator")))]
pub async fn delete_method(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, method_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::UsersWrite).await?;
    let user = state.store.get_user(&id).await?;
    caller
        .require_tier_over(&state.store, &user, "authentication methods")
        .await?;
    state
        .store
        .delete_auth_method(&caller.actor, &user.id, &method_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's sessions.
#[utoipa::path(get, path = "/api/v1/users/{id}/sessions", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = Vec<trustplane_model::SessionInfo>), (status = 404)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    let user = state.store.get_user(&id).await?;
    let sessions: Vec<_> = state
        .store
        .list_sessions(&user.id)
        .await?
        .into_iter()
        .map(|s| s.info)
        .collect();
    Ok(axum::Json(serde_json::json!({ "value": sessions })))
}

/// Ends every session of a user (Graph's `revokeSignInSessions`).
#[utoipa::path(post, path = "/api/v1/users/{id}/revokeSignInSessions", tag = "users", params(("id" = String, Path)),
    responses((status = 200), (status = 404)))]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let ended = directory::revoke_sessions(&state.store, &caller, &id).await?;
    Ok(axum::Json(
        serde_json::json!({ "value": true, "sessionsEnded": ended }),
    ))
}

/// Clears a user's failed sign-in count (unlocks the account).
#[utoipa::path(post, path = "/api/v1/users/{id}/resetSignInFailures", tag = "users", params(("id" = String, Path)),
    responses((status = 204), (status = 404)))]
pub async fn reset_failures(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::UsersWrite).await?;
    let user = state.store.get_user(&id).await?;
    caller
        .require_tier_over(&state.store, &user, "sign-in lockout")
        .await?;
    state.store.reset_account_failures(&user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
