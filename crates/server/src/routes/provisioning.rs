//! `/api/v1/provisioning/connections`: provisioning connections, managed by Global
//! Administrators. A `scimInbound` connection's bearer token is in the creation's answer only;
//! it reaches `/scim/v2` and nothing else. Outbound connections (`awsIdentityStore`,
//! `awsScim`) run now on request, and a run held back by accidental-delete prevention goes
//! ahead once confirmed.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use trustplane_provisioning::connections::{self, CreateConnection};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::server::AppState;

/// The prefix of a provisioning connection's bearer token (API tokens start `tp_`), so that
/// the two are told apart before any look-up.
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
        .route(
            "/api/v1/provisioning/connections/{id}/confirm",
            post(confirm_connection),
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
        run_connection,
        confirm_connection
    ),
    components(schemas(CreateConnection))
)]
pub struct ProvisioningApi;

/// A connection to create.
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
    let made = connections::create(
        &state.store,
        &state.outbound,
        &caller.actor,
        body,
        &state.public_url,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(made)))
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
    Ok(axum::Json(connections::status(&state.store, &id).await?))
}

/// Runs an outbound connection now: reads the target, repairs drift, pushes what changed;
/// the run's report. An inbound SCIM connection has nothing to run (its client pushes each
/// change): 409.
#[utoipa::path(post, path = "/api/v1/provisioning/connections/{id}/run", tag = "provisioning", params(("id" = String, Path)),
    responses((status = 200, description = "the run's report: pushed, failed, failures, drift, status (`held` when it waits for confirmation)"), (status = 409, description = "a scimInbound connection has nothing to run"), (status = 403), (status = 404)))]
pub async fn run_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    manage(&state, &caller).await?;
    let report = connections::run(&state.store, &state.outbound, &caller.actor, &id).await?;
    Ok(axum::Json(report))
}

/// Confirms the run that accidental-delete prevention held back, and runs it; 409 when no
/// run is held. Audited.
#[utoipa::path(post, path = "/api/v1/provisioning/connections/{id}/confirm", tag = "provisioning", params(("id" = String, Path)),
    responses((status = 200, description = "the confirmed run's report"), (status = 409, description = "no run is held"), (status = 403), (status = 404)))]
pub async fn confirm_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    manage(&state, &caller).await?;
    let report = connections::confirm(&state.store, &state.outbound, &caller.actor, &id).await?;
    Ok(axum::Json(report))
}
