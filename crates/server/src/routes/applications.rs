//! `/api/v1/applications`: application registrations.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{Map, Value};
use trustplane_idp::app_settings;
use trustplane_model::{Application, Permission};
use trustplane_store::{AppPatch, NewApplication};
use utoipa::ToSchema;

use super::nullable;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::odata::{collection, ListParams};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/applications",
            get(list_applications).post(create_application),
        )
        .route(
            "/api/v1/applications/fromSamlMetadata",
            axum::routing::post(create_from_saml_metadata),
        )
        .route(
            "/api/v1/applications/{id}",
            get(get_application)
                .patch(update_application)
                .delete(delete_application),
        )
}

/// Body of `POST /api/v1/applications`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApplication {
    display_name: String,
    description: Option<String>,
    app_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    settings: Map<String, Value>,
}

/// Body of `PATCH /api/v1/applications/{id}`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateApplication {
    display_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    settings: Option<Map<String, Value>>,
}

/// Lists applications; `$filter` on `displayName`, `appId`.
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications",
    params(("$filter" = Option<String>, Query), ("$top" = Option<usize>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, body = Vec<Application>)))]
pub async fn list_applications(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    let page = state.store.list_applications(&params.to_query()?).await?;
    Ok(axum::Json(collection(
        page,
        "/api/v1/applications",
        &params,
    )))
}

/// Registers an application.
#[utoipa::path(post, path = "/api/v1/applications", tag = "applications", request_body = CreateApplication,
    responses((status = 201, body = Application), (status = 400), (status = 409)))]
pub async fn create_application(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateApplication>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::ApplicationsWrite)
        .await?;
    let (app_id, settings) = app_settings::for_new_application(body.app_id, body.settings)?;
    let app = state
        .store
        .create_application(
            &caller.actor,
            NewApplication {
                display_name: body.display_name,
                description: body.description,
                app_id,
                settings,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(app)))
}

/// Body of `POST /api/v1/applications/fromSamlMetadata`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FromSamlMetadata {
    display_name: String,
    description: Option<String>,
    /// The SP's metadata document (an `EntityDescriptor`).
    metadata_xml: String,
}

/// Registers a SAML service provider from its metadata: entity id, HTTP-POST assertion
/// consumer services, NameID format, signing certificates.
#[utoipa::path(post, path = "/api/v1/applications/fromSamlMetadata", tag = "applications", request_body = FromSamlMetadata,
    responses((status = 201, body = Application), (status = 400), (status = 409)))]
pub async fn create_from_saml_metadata(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<FromSamlMetadata>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::ApplicationsWrite)
        .await?;
    let (app_id, settings) = app_settings::from_saml_metadata(&body.metadata_xml)?;
    let app = state
        .store
        .create_application(
            &caller.actor,
            NewApplication {
                display_name: body.display_name,
                description: body.description,
                app_id: Some(app_id),
                settings,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(app)))
}

/// Reads an application by object id or appId.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = String, Path)),
    responses((status = 200, body = Application), (status = 404)))]
pub async fn get_application(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.require(&state, Permission::DirectoryRead).await?;
    Ok(axum::Json(state.store.find_application(&id).await?))
}

/// Changes an application.
#[utoipa::path(patch, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = String, Path)),
    request_body = UpdateApplication, responses((status = 200, body = Application), (status = 404)))]
pub async fn update_application(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<UpdateApplication>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::ApplicationsWrite)
        .await?;
    let app = state.store.find_application(&id).await?;
    let mut settings = body.settings;
    if let Some(settings) = settings.as_mut() {
        app_settings::complete(&app.app_id, settings)?;
    }
    let patch = AppPatch {
        display_name: body.display_name,
        description: body.description,
        settings,
    };
    Ok(axum::Json(
        state
            .store
            .update_application(&caller.actor, &app.id, patch)
            .await?,
    ))
}

/// Deletes an application.
#[utoipa::path(delete, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = String, Path)),
    responses((status = 204), (status = 404)))]
pub async fn delete_application(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state, Permission::ApplicationsWrite)
        .await?;
    let app = state.store.find_application(&id).await?;
    state
        .store
        .delete_application(&caller.actor, &app.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
