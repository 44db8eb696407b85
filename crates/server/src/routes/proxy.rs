//! `/api/v1/proxy/*`: what an identity-aware proxy asks, authenticated as its application's
//! OIDC client. The answers are `trustplane_proxy::check`'s; this only adapts HTTP.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::json;
use trustplane_proxy::check;

use crate::oidc::endpoints::client_request;
use crate::oidc::reply::{json_no_store, OAuthReply};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(check::CONFIG_PATH, post(config))
        .route(check::CHECK_PATH, post(verdict))
        .route(check::EVENTS_PATH, post(events))
}

fn reply<T: serde::Serialize>(r: Result<T, trustplane_idp::oidc::OAuthError>) -> Response {
    match r {
        Ok(v) => json_no_store(serde_json::to_value(v).unwrap_or_default()),
        Err(e) => OAuthReply(e).into_response(),
    }
}

/// `POST /api/v1/proxy/config`: the calling proxy's application.
async fn config(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    reply(check::config(&state.oidc, client_request(&headers, &body)).await)
}

/// `POST /api/v1/proxy/check`: a session's verdict now.
async fn verdict(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    reply(check::check(&state.oidc, &state.signin, client_request(&headers, &body)).await)
}

/// `POST /api/v1/proxy/events`: monitoring records and blocks.
async fn events(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let recorded = check::record(
        &state.oidc,
        &state.detection,
        client_request(&headers, &body),
    )
    .await
    .map(|n| json!({ "recorded": n }));
    reply(recorded)
}
