//! `/api/v1/apiTokens`: admin API tokens for users, shown once at creation.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use trustplane_model::Permission;
use utoipa::ToSchema;

use crate::auth::{token_hash, Caller};
use crate::bootstrap::random_secret;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/apiTokens", post(create_token).get(list_tokens))
        .route(
            "/api/v1/apiTokens/{id}",
            axum::routing::delete(revoke_token),
        )
}

/// Body of `POST /api/v1/apiTokens`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateToken {
    /// The user (id or UPN) the token acts as.
    user_id: String,
    /// What the token is for.
    description: String,
    /// Lifetime in days; the token never expires when absent.
    expires_in_days: Option<u32>,
}

/// Issues a token for a user; the response holds the token, which is never shown again.
#[utoipa::path(post, path = "/api/v1/apiTokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, description = "`{\"token\": ...}`"), (status = 403, description = "a token for another user needs Global Administrator"), (status = 404)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateToken>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state.store, Permission::ApiTokensWrite)
        .await?;
    if body.description.trim().is_empty() || body.description.len() > 256 {
        return Err(ApiError::bad_request(
            "description must be 1 to 256 characters",
        ));
    }
    let user = state.store.get_user(&body.user_id).await?;
    if user.id != caller.user.id {
        // A token for someone else is their identity: only the top tier may mint one.
        caller
            .require_global(
                &state.store,
                &format!(
                    "mints a token for another user (`{}`)",
                    user.user_principal_name
                ),
            )
            .await?;
    }
    let token = format!("tp_{}", random_secret(32)?);
    let expires_at = body.expires_in_days.map(|d| {
        state
            .store
            .clock()
            .now_ms()
            .saturating_add(i64::from(d) * 86_400_000)
    });
    state
        .store
        .create_api_token(
            &caller.actor,
            &user.id,
            &token_hash(&token),
            &body.description,
            expires_at,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({ "token": token, "userId": user.id })),
    ))
}

/// Query of `GET /api/v1/apiTokens`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenQuery {
    /// Whose tokens (id or UPN): the caller's when absent; `all` for everyone's.
    user_id: Option<String>,
}

/// Lists API tokens (never the tokens themselves): one's own, or, for a Global
/// Administrator, anyone's.
#[utoipa::path(get, path = "/api/v1/apiTokens", tag = "tokens", params(TokenQuery),
    responses((status = 200, description = "`{\"value\": [ApiTokenInfo]}`"), (status = 403)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<TokenQuery>,
) -> ApiResult<impl IntoResponse> {
    let whose = match q.user_id.as_deref() {
        None => Some(caller.user.id.clone()),
        Some("all") => None,
        Some(id) => Some(state.store.get_user(id).await?.id),
    };
    if whose.as_deref() != Some(caller.user.id.as_str()) {
        caller
            .require_global(&state.store, "lists other users' API tokens")
            .await?;
    }
    let tokens = state.store.list_api_tokens(whose.as_deref()).await?;
    Ok(axum::Json(serde_json::json!({ "value": tokens })))
}

/// Revokes an API token: one's own, or, for a Global Administrator, anyone's.
#[utoipa::path(delete, path = "/api/v1/apiTokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 204), (status = 400), (status = 403), (status = 404)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let own = state
        .store
        .list_api_tokens(Some(&caller.user.id))
        .await?
        .into_iter()
        .any(|t| t.id.eq_ignore_ascii_case(&id));
    if !own {
        // Someone else's token, or none: the same answer to anyone below the top tier, so
        // that ids of others' tokens cannot be probed.
        caller
            .require_global(&state.store, "revokes another user's API token")
            .await?;
    }
    state.store.revoke_api_token(&caller.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
