//! Who is calling, and whether they may: bearer tokens and directory-role permissions.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use trustplane_idp::admin::Admin;
use trustplane_model::{Actor, Permission, User};

use crate::error::ApiError;
use crate::server::AppState;

/// An authenticated caller of the admin API, with the roles they hold now. What they may do
/// is decided by [`Admin`]'s checks.
pub struct Caller(pub Admin);

impl Caller {
    /// [`Admin::require`] against the node's store, answering the API's error.
    pub async fn require(&self, state: &AppState, permission: Permission) -> Result<(), ApiError> {
        Ok(self.0.require(&state.store, permission).await?)
    }
}

impl std::ops::Deref for Caller {
    type Target = Admin;
    fn deref(&self) -> &Admin {
        &self.0
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header_value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = header_value
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty() && t.len() <= 512);
        let Some(token) = token else {
            // No credentials at all is an ordinary 401; credentials that are not a token are
            // someone trying.
            if header_value.is_some() {
                audit_invalid_token(state, parts, "malformed_token", None).await;
            }
            return Err(ApiError::unauthorized());
        };
        // Looking the token up by its hash means no comparison of secrets happens here at all.
        let Some(owner) = state
            .store
            .find_token_owner(&trustplane_authn::hash_session_token(token))
            .await?
        else {
            audit_invalid_token(state, parts, "unknown_token", None).await;
            return Err(ApiError::unauthorized());
        };
        if !owner.user.account_enabled {
            audit_invalid_token(state, parts, "disabled", Some(&owner.user)).await;
            return Err(ApiError::unauthorized());
        }
        let roles = state.store.effective_roles(&owner.user.id).await?;
        let actor = actor_of(parts, Some(&owner.user));
        Ok(Caller(Admin {
            user: owner.user,
            roles,
            actor,
            request: format!("{} {}", parts.method, parts.uri.path()),
        }))
    }
}

/// The socket peer's address.
fn peer_ip(parts: &Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Who made a request, for the audit trail: the user if known, the address and user agent.
fn actor_of(parts: &Parts, user: Option<&User>) -> Actor {
    Actor {
        id: user.map(|u| u.id.clone()).unwrap_or_default(),
        display_name: user.map(|u| u.user_principal_name.clone()),
        ip_address: peer_ip(parts).map(|ip| ip.to_string()),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect()),
    }
}

/// Counts a call with a bearer token that is unknown, malformed or of a disabled user, and
/// records it in the audit trail, at most a few times a minute per source address so that a
/// flood of them cannot flood the trail (the metric still counts every one).
pub(crate) async fn audit_invalid_token(
    state: &AppState,
    parts: &Parts,
    reason: &'static str,
    user: Option<&User>,
) {
    metrics::counter!("trustplane_auth_failures_total", "reason" => reason).increment(1);
    let peer = peer_ip(parts);
    let now = state.store.clock().now_ms();
    let key = peer.unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    if state.invalid_token_audit.check(key, now).is_err() {
        return;
    }
    let request = format!("{} {}", parts.method, parts.uri.path());
    let event = trustplane_idp::admin::invalid_token_event(actor_of(parts, user), &request, reason);
    if let Err(e) = state.store.record_event(event).await {
        tracing::warn!(error = %e, "could not audit a call with an invalid token");
    }
}
