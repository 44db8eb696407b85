//! `/api/v1/apiTokens`: admin API tokens for users, shown once at creation.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use trustplane_idp::api_tokens::{self, CreateToken};

use crate::auth::Caller;
use crate::error::ApiResult;
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
#[utoipa::path(post, path = "/api/v1/apiTokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, description = "`{\"token\": ...}`"), (status = 403, description = "a token for another user needs Global Administrator"), (status = 404)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateToken>,
) -> ApiResult<impl IntoResponse> {
    let (token, user) = api_tokens::create(&state.store, &caller, body).await?;
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
    let tokens = api_tokens::list(&state.store, &caller, q.user_id.as_deref()).await?;
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
    api_tokens::revoke(&state.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
