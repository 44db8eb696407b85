//! Admin API of the provider: client secrets and rotation of the token signing keys. The
//! rules are the engine's (`trustplane_idp::oidc::credentials`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use trustplane_idp::oidc::credentials::{
    self, AddPassword, PasswordCredential, RemovePassword, RotateKeys,
};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::server::AppState;

/// Adds a client secret to an application; the secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/applications/{id}/addPassword", tag = "applications",
    params(("id" = String, Path)), request_body = AddPassword,
    responses((status = 200, body = PasswordCredential), (status = 400), (status = 404)))]
pub async fn add_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<AddPassword>,
) -> ApiResult<impl IntoResponse> {
    let made = credentials::add_password(&state.store, &caller, &id, body).await?;
    Ok(axum::Json(made))
}

/// Removes a client secret.
#[utoipa::path(post, path = "/api/v1/applications/{id}/removePassword", tag = "applications",
    params(("id" = String, Path)), request_body = RemovePassword,
    responses((status = 204), (status = 404)))]
pub async fn remove_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<RemovePassword>,
) -> ApiResult<impl IntoResponse> {
    credentials::remove_password(&state.store, &caller, &id, &body.key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the OIDC signing key of an algorithm; the old key stays published for the overlap.
#[utoipa::path(post, path = "/api/v1/oidc/keys/rotate", tag = "oidc", request_body = RotateKeys,
    responses((status = 200, description = "`{\"keyId\": ...}` of the new signing key"), (status = 400)))]
pub async fn rotate_keys(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<RotateKeys>,
) -> ApiResult<impl IntoResponse> {
    let (id, alg) = credentials::rotate_keys(&state.oidc, &state.store, &caller, body).await?;
    Ok(axum::Json(
        serde_json::json!({ "keyId": id, "algorithm": alg.as_str() }),
    ))
}
