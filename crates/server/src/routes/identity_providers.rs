//! Upstream identity providers over HTTP (`/api/v1/identityProviders`): thin adapters over the
//! idp engine's [`Upstream`](trustplane_idp::upstream::Upstream). Managing them needs
//! `trustplane.directory/sources/write` (Global Administrators); reading them needs directory
//! read. The client secret is never returned.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use trustplane_idp::upstream::{NewProvider, UpstreamError};
use trustplane_model::Permission;
use trustplane_store::StoreError;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/identityProviders",
            get(list_providers).post(create_provider),
        )
        .route(
            "/api/v1/identityProviders/{id}",
            get(get_provider).delete(delete_provider),
        )
        .route("/api/v1/identityProviders/{id}/test", post(test_provider))
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_providers,
    create_provider,
    get_provider,
    delete_provider,
    test_provider
))]
pub struct IdentityProvidersApi;

/// An engine error as the API answers it.
pub(crate) fn api_error(e: UpstreamError) -> ApiError {
    match e {
        UpstreamError::Invalid { field, reason } => ApiError::from(StoreError::Invalid {
            field,
            message: reason,
        }),
        UpstreamError::Store(e) => e.into(),
        UpstreamError::Provider(m) => {
            ApiError::new(StatusCode::BAD_GATEWAY, "Identity provider unreachable", m)
        }
        UpstreamError::Secret => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "the provider's client secret cannot be opened with this node's master key",
        ),
        UpstreamError::SignIn(e) => e.into(),
        e @ (UpstreamError::Refused(_) | UpstreamError::Expired) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "Sign-in failed", e.to_string())
        }
    }
}

/// The identity providers.
#[utoipa::path(get, path = "/api/v1/identityProviders", tag = "identityProviders", responses((status = 200)))]
pub async fn list_providers(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(
        json!({ "value": state.store.list_identity_providers().await? }),
    ))
}

/// Creates a provider: `{"type": "oidc", "issuer", "clientId", "clientSecret", "domains":
/// [...], "linkBy", "trustMfa"}` (and optional `displayName`, `scopes`, `claimMapping`,
/// `jitProvisioning`). A bad setting is refused with its field named; a domain another
/// provider has is a conflict.
#[utoipa::path(post, path = "/api/v1/identityProviders", tag = "identityProviders",
    responses((status = 201), (status = 400), (status = 403), (status = 409)))]
pub async fn create_provider(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewProvider>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::DirectorySourcesWrite)
        .await?;
    let provider = state
        .upstream
        .create(&caller.actor, body)
        .await
        .map_err(api_error)?;
    let mut body = serde_json::to_value(&provider).unwrap_or_default();
    body["redirectUri"] = json!(state.upstream.redirect_uri());
    Ok((StatusCode::CREATED, axum::Json(body)))
}

/// One provider, by id or name.
#[utoipa::path(get, path = "/api/v1/identityProviders/{id}", tag = "identityProviders",
    params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn get_provider(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(state.store.get_identity_provider(&id).await?))
}

/// Deletes a provider and its links; users it created stay, as local users.
#[utoipa::path(delete, path = "/api/v1/identityProviders/{id}", tag = "identityProviders",
    params(("id" = String, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_provider(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::DirectorySourcesWrite)
        .await?;
    state
        .store
        .delete_identity_provider(&caller.actor, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reads the provider's discovery document and keys.
#[utoipa::path(post, path = "/api/v1/identityProviders/{id}/test", tag = "identityProviders",
    params(("id" = String, Path)), responses((status = 200), (status = 403), (status = 404), (status = 502)))]
pub async fn test_provider(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::DirectorySourcesWrite)
        .await?;
    let info = state.upstream.test(&id).await.map_err(api_error)?;
    Ok(axum::Json(info))
}
