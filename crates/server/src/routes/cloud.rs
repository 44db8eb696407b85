//! Connected clouds over HTTP: AWS accounts and Azure subscriptions scanned on a schedule
//! (`/api/v1/posture/accounts`, `/api/v1/posture/schedule`), and S3 prefixes of CloudTrail
//! objects polled for detection (`/api/v1/detect/sources`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use trustplane_model::Permission;
use trustplane_store::StoreError;

use crate::auth::Caller;
use crate::cloud::{ConnectAccount, CreateLogSource};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/posture/accounts",
            get(list_accounts).post(create_account),
        )
        .route(
            "/api/v1/posture/accounts/{id}",
            get(get_account).delete(delete_account),
        )
        .route("/api/v1/posture/accounts/{id}/scan", post(scan_account))
        .route("/api/v1/posture/accounts/{id}/scans", get(list_scans))
        .route(
            "/api/v1/posture/schedule",
            get(get_schedule).put(set_schedule),
        )
        .route(
            "/api/v1/detect/sources",
            get(list_sources).post(create_source),
        )
        .route(
            "/api/v1/detect/sources/{id}",
            get(get_source).delete(delete_source),
        )
        .route("/api/v1/detect/sources/{id}/poll", post(poll_source))
}

/// The OpenAPI description of these routes, merged into the node's document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_accounts,
        create_account,
        get_account,
        delete_account,
        scan_account,
        list_scans,
        get_schedule,
        set_schedule,
        list_sources,
        create_source,
        get_source,
        delete_source,
        poll_source,
    ),
    components(schemas(ConnectAccount, Schedule, CreateLogSource))
)]
pub struct CloudApi;

/// Connected AWS accounts and Azure subscriptions, with their last scan.
#[utoipa::path(get, path = "/api/v1/posture/accounts", tag = "posture", responses((status = 200)))]
pub async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(
        json!({ "value": state.store.list_cloud_accounts().await? }),
    ))
}

/// Connects an AWS account or an Azure subscription for scheduled scans. An Azure client
/// secret is sealed at rest and never returned.
#[utoipa::path(post, path = "/api/v1/posture/accounts", tag = "posture", request_body = ConnectAccount,
    responses((status = 201), (status = 400), (status = 409)))]
pub async fn create_account(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ConnectAccount>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    let new = state.cloud.new_account(body)?;
    let account = state.store.create_cloud_account(&caller.actor, new).await?;
    Ok((StatusCode::CREATED, axum::Json(account)))
}

/// One connection.
#[utoipa::path(get, path = "/api/v1/posture/accounts/{id}", tag = "posture", params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn get_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(state.store.get_cloud_account(&id).await?))
}

/// Disconnects an account; its findings and scan history stay.
#[utoipa::path(delete, path = "/api/v1/posture/accounts/{id}", tag = "posture", params(("id" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn delete_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    state.store.delete_cloud_account(&caller.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Scans a connection now and answers with the scan: SUCCEEDED, PARTIAL (some services
/// could not be read; their checks are ERROR findings) or ERROR (nothing collected, no
/// finding changed).
#[utoipa::path(post, path = "/api/v1/posture/accounts/{id}/scan", tag = "posture", params(("id" = String, Path)),
    responses((status = 200), (status = 404), (status = 409, description = "a scan of it is running")))]
pub async fn scan_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    match state.cloud.scan(&caller.actor, &id).await? {
        Some(scan) => Ok(axum::Json(scan)),
        None => Err(ApiError::from(StoreError::Conflict(
            "a scan of this account is running".into(),
        ))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanParams {
    #[serde(rename = "$top")]
    top: Option<usize>,
}

/// The scans of a connection, newest first.
#[utoipa::path(get, path = "/api/v1/posture/accounts/{id}/scans", tag = "posture", params(("id" = String, Path), ("$top" = Option<usize>, Query)),
    responses((status = 200), (status = 404)))]
pub async fn list_scans(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<ScanParams>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    state.store.get_cloud_account(&id).await?;
    Ok(axum::Json(
        json!({ "value": state.store.list_cloud_scans(&id, p.top.unwrap_or(50)).await? }),
    ))
}

/// How often each connection is scanned.
#[derive(Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Schedule {
    /// Seconds between scans of each connection (60 to a year).
    interval_secs: i64,
}

/// The scan interval.
#[utoipa::path(get, path = "/api/v1/posture/schedule", tag = "posture", responses((status = 200, body = Schedule)))]
pub async fn get_schedule(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(Schedule {
        interval_secs: state.store.scan_interval_secs().await?,
    }))
}

/// Changes the scan interval.
#[utoipa::path(put, path = "/api/v1/posture/schedule", tag = "posture", request_body = Schedule, responses((status = 200, body = Schedule), (status = 400)))]
pub async fn set_schedule(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<Schedule>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    state
        .store
        .set_scan_interval_secs(&caller.actor, body.interval_secs)
        .await?;
    Ok(axum::Json(body))
}

/// S3 log sources with their cursor, counts and last error.
#[utoipa::path(get, path = "/api/v1/detect/sources", tag = "detection", responses((status = 200)))]
pub async fn list_sources(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(
        json!({ "value": state.store.list_log_sources().await? }),
    ))
}

/// Adds an S3 prefix of CloudTrail objects; a background job polls it and runs every new
/// object through the detection pipeline.
#[utoipa::path(post, path = "/api/v1/detect/sources", tag = "detection", request_body = CreateLogSource,
    responses((status = 201), (status = 400)))]
pub async fn create_source(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<CreateLogSource>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    let new = b.into_new_source()?;
    let source = state.store.create_log_source(&caller.actor, new).await?;
    Ok((StatusCode::CREATED, axum::Json(source)))
}

/// One log source.
#[utoipa::path(get, path = "/api/v1/detect/sources/{id}", tag = "detection", params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn get_source(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AuditRead).await?;
    Ok(axum::Json(state.store.get_log_source(&id).await?))
}

/// Removes a log source; alerts raised from it stay.
#[utoipa::path(delete, path = "/api/v1/detect/sources/{id}", tag = "detection", params(("id" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn delete_source(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    state.store.delete_log_source(&caller.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Polls a source now (the background job also polls it every `pollIntervalSecs`): reads
/// the objects after its cursor and answers with what was read and raised.
#[utoipa::path(post, path = "/api/v1/detect/sources/{id}/poll", tag = "detection", params(("id" = String, Path)),
    responses((status = 200), (status = 404), (status = 409, description = "a poll of it is running")))]
pub async fn poll_source(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::AlertsWrite).await?;
    match state.cloud.poll(&caller.actor, &id).await? {
        Some(report) => Ok(axum::Json(report)),
        None => Err(ApiError::from(StoreError::Conflict(
            "a poll of this source is running".into(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_in_the_openapi_document() {
        let doc = serde_json::to_value(crate::openapi::document()).unwrap_or_default();
        for (path, methods) in [
            ("/api/v1/posture/accounts", &["get", "post"][..]),
            ("/api/v1/posture/accounts/{id}", &["get", "delete"]),
            ("/api/v1/posture/accounts/{id}/scan", &["post"]),
            ("/api/v1/posture/accounts/{id}/scans", &["get"]),
            ("/api/v1/posture/schedule", &["get", "put"]),
            ("/api/v1/detect/sources", &["get", "post"]),
            ("/api/v1/detect/sources/{id}", &["get", "delete"]),
            ("/api/v1/detect/sources/{id}/poll", &["post"]),
            // The existing document is still there.
            ("/api/v1/posture/findings", &["get"]),
        ] {
            for m in methods {
                assert!(doc["paths"][path][m].is_object(), "{m} {path} undocumented");
            }
        }
        let schemas = &doc["components"]["schemas"];
        assert!(schemas["ConnectAccount"]["properties"]["clientSecret"].is_object());
        assert!(schemas["CreateLogSource"]["properties"]["bucket"].is_object());
    }
}
