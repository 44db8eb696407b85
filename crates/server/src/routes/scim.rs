//! `/scim/v2`: the SCIM 2.0 service provider (RFC 7643, RFC 7644) for inbound provisioning
//! connections. Thin: requests are read here and handed to `trustplane_provisioning::service`.
//!
//! Only a `scimInbound` connection's bearer token reaches these routes (API tokens and
//! sessions do not), and that token reaches nothing else: the admin API looks tokens up among
//! API tokens only. Answers are `application/scim+json`, errors RFC 7644 §3.12 bodies.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use trustplane_model::Actor;
use trustplane_provisioning::list::{ListQuery, Projection};
use trustplane_provisioning::service::{Reply, Service};
use trustplane_provisioning::{discovery, ResourceKind, ScimError};
use trustplane_store::ProvisioningConnection;

use crate::extract::Path;
use crate::server::AppState;
use trustplane_provisioning::connections::SCIM_TOKEN_PREFIX;

/// The media type of every SCIM answer.
pub const SCIM_JSON: &str = "application/scim+json";

/// Largest request body read, in bytes (RFC 7644 leaves it to the service; Entra's largest
/// PATCH of group members stays well below).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/scim/v2/Users", get(list_users).post(create_user))
        .route(
            "/scim/v2/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/scim/v2/.search", axum::routing::post(search_all))
        .route("/scim/v2/Users/.search", axum::routing::post(search_users))
        .route("/scim/v2/Groups", get(list_groups).post(create_group))
        .route(
            "/scim/v2/Groups/.search",
            axum::routing::post(search_groups),
        )
        .route(
            "/scim/v2/Groups/{id}",
            get(get_group)
                .put(replace_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(service_provider_config),
        )
        .route("/scim/v2/ResourceTypes", get(resource_types))
        .route("/scim/v2/ResourceTypes/{name}", get(resource_type))
        .route("/scim/v2/Schemas", get(schemas))
        .route("/scim/v2/Schemas/{id}", get(schema))
        // Anything else under the service is a SCIM 404, not the admin API's problem document.
        .route("/scim/v2", axum::routing::any(no_such_endpoint))
        .route("/scim/v2/{*rest}", axum::routing::any(no_such_endpoint))
}

async fn no_such_endpoint() -> ScimFailure {
    ScimFailure(ScimError::NotFound("no such SCIM endpoint".into()))
}

/// A SCIM error as an HTTP response.
pub struct ScimFailure(ScimError);

impl From<ScimError> for ScimFailure {
    fn from(e: ScimError) -> Self {
        ScimFailure(e)
    }
}

impl IntoResponse for ScimFailure {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = scim_json(status, &self.0.to_body());
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        response
    }
}

type ScimResult = Result<Response, ScimFailure>;

fn scim_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON))],
        body.to_string(),
    )
        .into_response()
}

/// The connection a request authenticated as.
pub struct ScimClient {
    connection: ProvisioningConnection,
    actor: Actor,
}

impl FromRequestParts<AppState> for ScimClient {
    type Rejection = ScimFailure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimFailure> {
        let header_value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = header_value
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| t.starts_with(SCIM_TOKEN_PREFIX) && t.len() <= 512);
        let refused = || {
            ScimFailure(ScimError::Unauthorized(
                "a provisioning connection's bearer token is required".into(),
            ))
        };
        let Some(token) = token else {
            if header_value.is_some() {
                crate::auth::audit_invalid_token(state, parts, "unknown_token", None).await;
            }
            return Err(refused());
        };
        let connection = state
            .store
            .provisioning_connection_for_token(&trustplane_authn::hash_session_token(token))
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "could not look up a provisioning token");
                ScimFailure(ScimError::Internal("the service is unavailable".into()))
            })?;
        let Some(connection) = connection else {
            crate::auth::audit_invalid_token(state, parts, "unknown_token", None).await;
            return Err(refused());
        };
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip().to_string());
        let agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect());
        let actor = Service::actor_for(&connection, ip, agent);
        Ok(ScimClient { connection, actor })
    }
}

fn base_url(state: &AppState) -> String {
    format!("{}/scim/v2", state.public_url.trim_end_matches('/'))
}

fn service<'a>(state: &'a AppState, client: &'a ScimClient) -> Service<'a> {
    Service::new(
        &state.store,
        &client.connection,
        client.actor.clone(),
        &base_url(state),
    )
}

/// Reads a JSON body within [`MAX_BODY_BYTES`]; the content type, when given, must be JSON.
fn body_json(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Value, ScimError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        if !(ct.starts_with(SCIM_JSON) || ct.starts_with("application/json")) {
            return Err(ScimError::InvalidSyntax(
                "the body must be application/scim+json".into(),
            ));
        }
    }
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ScimError::TooLarge(format!("the body is over {MAX_BODY_BYTES} bytes"))
        } else {
            ScimError::InvalidSyntax("the body could not be read".into())
        }
    })?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ScimError::TooLarge(format!(
            "the body is over {MAX_BODY_BYTES} bytes"
        )));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ScimError::InvalidSyntax(format!("the body is not JSON: {e}")))
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(1024).collect())
}

/// A reply as a response; a request that disabled or deleted someone takes back the grants of
/// their elevations now, as the user API does.
async fn respond(state: &AppState, reply: Reply) -> Response {
    if reply.ended_access {
        crate::routes::users::take_back_grants(state).await;
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut response = match &reply.body {
        Some(body) => scim_json(status, body),
        None => status.into_response(),
    };
    for (name, value) in [
        (header::ETAG, reply.version.as_deref()),
        (header::LOCATION, reply.location.as_deref()),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

// ---- users ----

async fn list_users(
    State(state): State<AppState>,
    client: ScimClient,
    RawQuery(raw): RawQuery,
) -> ScimResult {
    let query = ListQuery::from_query_string(ResourceKind::User, raw.as_deref())?;
    let body = service(&state, &client).list_users(&query).await?;
    Ok(scim_json(StatusCode::OK, &body))
}

async fn search_all(
    State(state): State<AppState>,
    client: ScimClient,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let body = body_json(&headers, body)?;
    let users = ListQuery::from_search_body(ResourceKind::User, &body);
    let groups = ListQuery::from_search_body(ResourceKind::Group, &body);
    let page = match (&users, &groups) {
        (Ok(q), _) | (_, Ok(q)) => q.page,
        // A filter neither kind can read is the client's error.
        (Err(e), Err(_)) => return Err(ScimFailure(e.clone())),
    };
    let body = service(&state, &client)
        .search_all(users.as_ref().ok(), groups.as_ref().ok(), &page)
        .await?;
    Ok(scim_json(StatusCode::OK, &body))
}

async fn search_users(
    State(state): State<AppState>,
    client: ScimClient,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let query = ListQuery::from_search_body(ResourceKind::User, &body_json(&headers, body)?)?;
    let body = service(&state, &client).list_users(&query).await?;
    Ok(scim_json(StatusCode::OK, &body))
}

async fn get_user(
    State(state): State<AppState>,
    client: ScimClient,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ScimResult {
    let projection = Projection::from_query_string(ResourceKind::User, raw.as_deref())?;
    let reply = service(&state, &client).get_user(&id, &projection).await?;
    Ok(respond(&state, reply).await)
}

async fn create_user(
    State(state): State<AppState>,
    client: ScimClient,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let body = body_json(&headers, body)?;
    let reply = service(&state, &client).create_user(&body).await?;
    Ok(respond(&state, reply).await)
}

async fn replace_user(
    State(state): State<AppState>,
    client: ScimClient,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let body = body_json(&headers, body)?;
    let reply = service(&state, &client)
        .replace_user(&id, &body, if_match(&headers).as_deref())
        .await?;
    Ok(respond(&state, reply).await)
}

async fn patch_user(
    State(state): State<AppState>,
    client: ScimClient,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let body = body_json(&headers, body)?;
    let reply = service(&state, &client)
        .patch_user(&id, &body, if_match(&headers).as_deref())
        .await?;
    Ok(respond(&state, reply).await)
}

async fn delete_user(
    State(state): State<AppState>,
    client: ScimClient,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult {
    let reply = service(&state, &client)
        .delete_user(&id, if_match(&headers).as_deref())
        .await?;
    Ok(respond(&state, reply).await)
}

// ---- groups ----

async fn list_groups(
    State(state): State<AppState>,
    client: ScimClient,
    RawQuery(raw): RawQuery,
) -> ScimResult {
    let query = ListQuery::from_query_string(ResourceKind::Group, raw.as_deref())?;
    let body = service(&state, &client).list_groups(&query).await?;
    Ok(scim_json(StatusCode::OK, &body))
}

async fn search_groups(
    State(state): State<AppState>,
    client: ScimClient,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let query = ListQuery::from_search_body(ResourceKind::Group, &body_json(&headers, body)?)?;
    let body = service(&state, &client).list_groups(&query).await?;
    Ok(scim_json(StatusCode::OK, &body))
}

async fn get_group(
    State(state): State<AppState>,
    client: ScimClient,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ScimResult {
    let projection = Projection::from_query_string(ResourceKind::Group, raw.as_deref())?;
    let reply = service(&state, &client).get_group(&id, &projection).await?;
    Ok(respond(&state, reply).await)
}

async fn create_group(
    State(state): State<AppState>,
    client: ScimClient,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let body = body_json(&headers, body)?;
    let reply = service(&state, &client).create_group(&body).await?;
    Ok(respond(&state, reply).await)
}

async fn replace_group(
    State(state): State<AppState>,
    client: ScimClient,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let body = body_json(&headers, body)?;
    let reply = service(&state, &client)
        .replace_group(&id, &body, if_match(&headers).as_deref())
        .await?;
    Ok(respond(&state, reply).await)
}

async fn patch_group(
    State(state): State<AppState>,
    client: ScimClient,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult {
    let body = body_json(&headers, body)?;
    let reply = service(&state, &client)
        .patch_group(&id, &body, if_match(&headers).as_deref())
        .await?;
    Ok(respond(&state, reply).await)
}

async fn delete_group(
    State(state): State<AppState>,
    client: ScimClient,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult {
    let reply = service(&state, &client)
        .delete_group(&id, if_match(&headers).as_deref())
        .await?;
    Ok(respond(&state, reply).await)
}

// ---- discovery (authenticated too: only connections talk to this service) ----

async fn service_provider_config(State(state): State<AppState>, _client: ScimClient) -> ScimResult {
    Ok(scim_json(
        StatusCode::OK,
        &discovery::service_provider_config(&base_url(&state)),
    ))
}

async fn resource_types(State(state): State<AppState>, _client: ScimClient) -> ScimResult {
    Ok(scim_json(
        StatusCode::OK,
        &discovery::resource_types(&base_url(&state)),
    ))
}

async fn resource_type(
    State(state): State<AppState>,
    _client: ScimClient,
    Path(name): Path<String>,
) -> ScimResult {
    Ok(scim_json(
        StatusCode::OK,
        &discovery::resource_type(&base_url(&state), &name)?,
    ))
}

async fn schemas(State(state): State<AppState>, _client: ScimClient) -> ScimResult {
    Ok(scim_json(
        StatusCode::OK,
        &discovery::schemas(&base_url(&state)),
    ))
}

async fn schema(
    State(state): State<AppState>,
    _client: ScimClient,
    Path(id): Path<String>,
) -> ScimResult {
    Ok(scim_json(
        StatusCode::OK,
        &discovery::schema(&base_url(&state), &id)?,
    ))
}
