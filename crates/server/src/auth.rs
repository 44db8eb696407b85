//! Who is calling, and whether they may: bearer tokens and directory-role permissions.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use trustplane_model::{Actor, Event, Outcome, Permission, RoleDefinition, User};

use crate::error::ApiError;
use crate::server::AppState;

/// An authenticated caller of the admin API, with the roles they hold now.
pub struct Caller {
    pub user: User,
    pub roles: Vec<RoleDefinition>,
    pub actor: Actor,
    method: String,
    path: String,
}

/// The hex SHA-256 of a token: the only form in which tokens are stored or looked up.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty() && t.len() <= 512)
            .ok_or_else(ApiError::unauthorized)?;
        // Looking the token up by its hash means no comparison of secrets happens here at all.
        let owner = state
            .store
            .find_token_owner(&token_hash(token))
            .await?
            .ok_or_else(|| {
                metrics::counter!("trustplane_auth_failures_total", "reason" => "unknown_token")
                    .increment(1);
                ApiError::unauthorized()
            })?;
        if !owner.user.account_enabled {
            metrics::counter!("trustplane_auth_failures_total", "reason" => "disabled")
                .increment(1);
            return Err(ApiError::unauthorized());
        }
        let roles = state.store.effective_roles(&owner.user.id).await?;
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect());
        let actor = Actor {
            id: owner.user.id.clone(),
            display_name: Some(owner.user.user_principal_name.clone()),
            ip_address: ip,
            user_agent,
        };
        Ok(Caller {
            user: owner.user,
            roles,
            actor,
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
        })
    }
}

impl Caller {
    /// Succeeds if one of the caller's roles allows `permission`; otherwise records the
    /// refusal in the audit trail and answers 403.
    pub async fn require(&self, state: &AppState, permission: Permission) -> Result<(), ApiError> {
        if self.roles.iter().any(|r| r.allows(permission)) {
            return Ok(());
        }
        let reason = format!(
            "{} {} needs `{}`, which none of the caller's roles grants",
            self.method,
            self.path,
            permission.action()
        );
        let mut tx = state.store.begin_write().await?;
        tx.audit(Event {
            sequence: 0,
            activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
            category: "authorization".into(),
            activity: "authorization.denied".into(),
            initiated_by: self.actor.clone(),
            target: None,
            result: Outcome::Failure,
            result_reason: Some(reason.clone()),
            before: None,
            after: None,
        })
        .await?;
        tx.commit().await?;
        Err(ApiError::forbidden(reason))
    }
}
