//! Directory sources over HTTP (`/api/v1/directoryConnections`): thin adapters over the
//! `directory-sync` engine. Managing them needs `trustplane.directory/sources/write`, which only
//! Global Administrators hold; reading them needs directory read.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use trustplane_directory_sync::{DirectorySync, NewConnection, ServiceError, SyncRequest};
use trustplane_model::Permission;
use trustplane_store::StoreError;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/directoryConnections",
            get(list_connections).post(create_connection),
        )
        .route(
            "/api/v1/directoryConnections/{id}",
            get(get_connection).delete(delete_connection),
        )
        .route(
            "/api/v1/directoryConnections/{id}/sync",
            post(sync_connection),
        )
        .route(
            "/api/v1/directoryConnections/{id}/test",
            post(test_connection),
        )
        .route(
            "/api/v1/directoryConnections/{id}/status",
            get(connection_status),
        )
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_connections,
    create_connection,
    get_connection,
    delete_connection,
    sync_connection,
    test_connection,
    connection_status
))]
pub struct DirectoryConnectionsApi;

fn engine(state: &AppState) -> DirectorySync {
    DirectorySync::new(state.store.clone(), state.sealer.clone())
}

fn api_error(e: ServiceError) -> ApiError {
    match e {
        ServiceError::Settings(e) => ApiError::from(StoreError::Invalid {
            field: e.field,
            message: e.reason,
        }),
        ServiceError::Store(e) => e.into(),
        ServiceError::Read(e) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "Directory unreachable",
            e.to_string(),
        ),
        ServiceError::Secret(_) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "the connection's bind password cannot be opened with this node's master key",
        ),
    }
}

/// The directory connections.
#[utoipa::path(get, path = "/api/v1/directoryConnections", tag = "directoryConnections", responses((status = 200)))]
pub async fn list_connections(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(
        json!({ "value": state.store.list_directory_connections().await? }),
    ))
}

/// Creates a connection: `{"type": "activeDirectory"|"ldap", "displayName", "url", "bindDn",
/// "bindPassword", "baseDn", "caCertificate", "passThroughAuthentication"}` (and optional
/// `userFilter`, `groupFilter`, `startTls`). A bad setting is refused with its field named.
#[utoipa::path(post, path = "/api/v1/directoryConnections", tag = "directoryConnections",
    responses((status = 201), (status = 400), (status = 403), (status = 409)))]
pub async fn create_connection(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewConnection>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::DirectorySourcesWrite)
        .await?;
    let conn = engine(&state)
        .create(&caller.actor, body)
        .await
        .map_err(api_error)?;
    Ok((StatusCode::CREATED, axum::Json(conn)))
}

/// One connection, by id or name.
#[utoipa::path(get, path = "/api/v1/directoryConnections/{id}", tag = "directoryConnections",
    params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn get_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(state.store.get_directory_connection(&id).await?))
}

/// Deletes a connection; what it imported stays, as local objects.
#[utoipa::path(delete, path = "/api/v1/directoryConnections/{id}", tag = "directoryConnections",
    params(("id" = String, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::DirectorySourcesWrite)
        .await?;
    state
        .store
        .delete_directory_connection(&caller.actor, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Syncs now (`{"full": true}` for a full reconciliation, `{"confirm": true}` to apply
/// removals over the share). The report's `result` is `succeeded`, `failed` (nothing changed)
/// or `needsConfirmation` (nothing changed).
#[utoipa::path(post, path = "/api/v1/directoryConnections/{id}/sync", tag = "directoryConnections",
    params(("id" = String, Path)), responses((status = 200), (status = 403), (status = 404)))]
pub async fn sync_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::DirectorySourcesWrite)
        .await?;
    // The body is optional: none means an incremental run where one is possible.
    let request: SyncRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SyncRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("the body is not a sync request: {e}")))?
    };
    let report = engine(&state)
        .sync(&caller.actor, &id, request)
        .await
        .map_err(api_error)?;
    Ok(axum::Json(report))
}

/// Connects and binds with the stored settings.
#[utoipa::path(post, path = "/api/v1/directoryConnections/{id}/test", tag = "directoryConnections",
    params(("id" = String, Path)), responses((status = 200), (status = 403), (status = 404), (status = 502)))]
pub async fn test_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::DirectorySourcesWrite)
        .await?;
    let info = engine(&state).test(&id).await.map_err(api_error)?;
    Ok(axum::Json(info))
}

/// The last run: when, its result, its counts, its error, the high-water mark.
#[utoipa::path(get, path = "/api/v1/directoryConnections/{id}/status", tag = "directoryConnections",
    params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn connection_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(
        state.store.get_directory_connection(&id).await?.status,
    ))
}
