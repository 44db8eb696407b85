//! Reads the facts about a request that sign-in and conditional access decide on.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::server::AppState;
use trustplane_idp::{platform, source_ip};
pub use trustplane_idp::{ClientApp, RequestContext};

impl FromRequestParts<AppState> for RequestContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        let ip = source_ip(peer, forwarded, &state.trusted_proxies);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect::<String>());
        let device_platform = platform(user_agent.as_deref().unwrap_or(""));
        Ok(RequestContext {
            ip,
            user_agent,
            device_platform,
        })
    }
}
