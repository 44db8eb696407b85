//! `/api/v1/provisioning/connections`: provisioning connections, managed by Global
//! Administrators. A `scimInbound` connection's bearer token is in the creation's answer only;
//! it reaches `/scim/v2` and nothing else.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use trustplane_store::{StoreError, SCIM_INBOUND};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::server::AppState;

/// The prefix of a provisioning connection's bearer token (API tokens start `tp_`), so that
/// the two are told apart before any look-up.
pub const SCIM_TOKEN_PREFIX: &str = "tpscim_";

/// Outbound kinds named by the issue that this version does not yet build.
const NOT_YET: &[&str] = &["awsIdentityStore", "awsScim"];

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/provisioning/connections",
            get(list_connections).post(create_connection),
        )
        .route(
            "/api/v1/provisioning/connections/{id}",
            get(get_connection).delete(delete_connection),
        )
        .route(
            "/api/v1/provisioning/connections/{id}/status",
            get(connection_status),
        )
        .route(
            "/api/v1/provisioning/connections/{id}/run",
            post(run_connection),
        )
}

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_connections,
        create_connection,
        get_connection,
        delete_connection,
        connection_status,
        run_connection
    ),
    components(schemas(CreateConnection))
)]
pub struct ProvisioningApi;

/// A connection to create.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateConnection {
    /// `scimInbound` (`awsIdentityStore` and `awsScim` are not yet supported).
    #[serde(rename = "type")]
    kind: String,
    /// A readable name, unique without regard to case.
    display_name: String,
    /// Settings of other kinds; a `scimInbound` connection has none.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    rest: Map<String, Value>,
}

async fn manage(state: &AppState, caller: &Caller) -> ApiResult<()> {
    caller
        .require_global(&state.store, "manages provisioning connections")
        .await?;
    Ok(())
}

/// Creates a connection. A `scimInbound` connection's answer holds its bearer `token`, which
/// is never shown again.
#[utoipa::path(post, path = "/api/v1/provisioning/connections", tag = "provisioning", request_body = CreateConnection,
    responses((status = 201, description = "the connection, with `token` for scimInbound"), (status = 400), (status = 403), (status = 409)))]
pub async fn create_connection(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateConnection>,
) -> ApiResult<impl IntoResponse> {
    manage(&state, &caller).await?;
    if NOT_YET.contains(&body.kind.as_str()) {
        return Err(ApiError::bad_request(format!(
            "type `{}` is not yet supported by this version; only `scimInbound` connections can be created",
            body.kind
        )));
    }
    if body.kind != SCIM_INBOUND {
        return Err(ApiError::from(StoreError::Invalid {
            field: "type",
            message: "must be scimInbound (awsIdentityStore and awsScim are not yet supported)"
                .into(),
        }));
    }
    if let Some(field) = body.rest.keys().next() {
        return Err(ApiError::bad_request(format!(
            "`{}` is not a setting of a scimInbound connection",
            field.chars().take(64).collect::<String>()
        )));
    }
    let (token, token_hash) = trustplane_authn::new_prefixed_token(SCIM_TOKEN_PREFIX);
    let connection = state
        .store
        .create_provisioning_connection(
            &caller.actor,
            SCIM_INBOUND,
            &body.display_name,
            json!({ "baseUrl": format!("{}/scim/v2", state.public_url) }),
            Some(token_hash),
        )
        .await?;
    let mut out = serde_json::to_value(&connection).unwrap_or_default();
    if let Some(map) = out.as_object_mut() {
        map.insert("token".into(), Value::String(token));
    }
    Ok((StatusCode::CREATED, axum::Json(out)))
}

/// Every connection.
#[utoipa::path(get, path = "/api/v1/provisioning/connections", tag = "provisioning", responses((status = 200), (status = 403)))]
pub async fn list_connections(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl IntoResponse> {
    manage(&state, &caller).await?;
    Ok(axum::Json(
        json!({ "value": state.store.list_provisioning_connections().await? }),
    ))
}

/// One connection, by id or name.
#[utoipa::path(get, path = "/api/v1/provisioning/connections/{id}", tag = "provisioning", params(("id" = String, Path)), responses((status = 200), (status = 403), (status = 404)))]
pub async fn get_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    manage(&state, &caller).await?;
    Ok(axum::Json(
        state.store.get_provisioning_connection(&id).await?,
    ))
}

/// Deletes a connection: its token stops working at once; the users and groups it made stay,
/// managed by administrators from then on.
#[utoipa::path(delete, path = "/api/v1/provisioning/connections/{id}", tag = "provisioning", params(("id" = String, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    manage(&state, &caller).await?;
    state
        .store
        .delete_provisioning_connection(&caller.actor, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the connection did last: the last run, changes, failures and drift (none for an
/// inbound connection, whose client pushes changes).
#[utoipa::path(get, path = "/api/v1/provisioning/connections/{id}/status", tag = "provisioning", params(("id" = String, Path)), responses((status = 200), (status = 403), (status = 404)))]
pub async fn connection_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    manage(&state, &caller).await?;
    let c = state.store.get_provisioning_connection(&id).await?;
    let mut out = serde_json::to_value(&c.status).unwrap_or_default();
    if let Some(map) = out.as_object_mut() {
        map.insert("id".into(), Value::String(c.id));
        map.insert("type".into(), Value::String(c.kind));
        map.insert("displayName".into(), Value::String(c.display_name));
    }
    Ok(axum::Json(out))
}

/// Runs a connection now. An inbound SCIM connection has nothing to run (its client pushes
/// each change): 409.
#[utoipa::path(post, path = "/api/v1/provisioning/connections/{id}/run", tag = "provisioning", params(("id" = String, Path)), responses((status = 409, description = "a scimInbound connection has nothing to run"), (status = 403), (status = 404)))]
pub async fn run_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    manage(&state, &caller).await?;
    let c = state.store.get_provisioning_connection(&id).await?;
    Err::<StatusCode, _>(ApiError::from(StoreError::Conflict(format!(
        "`{}` is a {} connection: its SCIM client pushes every change, so there is nothing to run",
        c.display_name, c.kind
    ))))
}
