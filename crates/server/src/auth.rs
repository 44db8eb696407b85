//! Who is calling, and whether they may: bearer tokens and directory-role permissions.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use trustplane_model::{
    acting_tier, tier_of, Actor, Event, Group, Outcome, Permission, RoleDefinition, Target, Tier,
    User,
};

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
        let Some(owner) = state.store.find_token_owner(&token_hash(token)).await? else {
            audit_invalid_token(state, parts, "unknown_token", None).await;
            return Err(ApiError::unauthorized());
        };
        if !owner.user.account_enabled {
            audit_invalid_token(state, parts, "disabled", Some(&owner.user)).await;
            return Err(ApiError::unauthorized());
        }
        let roles = state.store.effective_roles(&owner.user.id).await?;
        let actor = actor_of(parts, Some(&owner.user));
        Ok(Caller {
            user: owner.user,
            roles,
            actor,
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
        })
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
    let actor = actor_of(parts, user);
    let event = Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "authorization".into(),
        activity: "authorization.invalidToken".into(),
        initiated_by: actor,
        target: None,
        result: Outcome::Failure,
        result_reason: Some(format!(
            "{} {}: {}",
            parts.method,
            parts.uri.path().chars().take(256).collect::<String>(),
            match reason {
                "unknown_token" => "the bearer token is unknown, expired or revoked",
                "disabled" => "the token's user is disabled",
                _ => "the Authorization header is not a bearer token",
            }
        )),
        before: None,
        after: None,
    };
    if let Err(e) = state.store.record_event(event).await {
        tracing::warn!(error = %e, "could not audit a call with an invalid token");
    }
}

impl Caller {
    /// Succeeds if one of the caller's roles allows `permission`; otherwise records the
    /// refusal in the audit trail and answers 403.
    pub async fn require(&self, state: &AppState, permission: Permission) -> Result<(), ApiError> {
        if self.allows(permission) {
            return Ok(());
        }
        let reason = format!(
            "{} {} needs `{}`, which none of the caller's roles grants",
            self.method,
            self.path,
            permission.action()
        );
        Err(self.deny(state, reason, None).await)
    }

    fn allows(&self, permission: Permission) -> bool {
        self.roles.iter().any(|r| r.allows(permission))
    }

    /// The tier the caller acts with (see `trustplane_model::Tier`).
    pub fn tier(&self) -> Tier {
        acting_tier(&self.roles)
    }

    /// Succeeds if the caller may change the sign-in of `user` (credentials, methods, sign-in
    /// names, enabled state, sessions, lockout): the caller's tier must be at least that of
    /// the roles `user` holds or may activate. Anyone who approves or reviews privileged
    /// access counts as privileged. Otherwise audits the refusal and answers 403.
    pub async fn require_tier_over(
        &self,
        state: &AppState,
        user: &User,
        what: &str,
    ) -> Result<(), ApiError> {
        let mine = self.tier();
        if mine == Tier::Global || user.id == self.user.id {
            return Ok(());
        }
        let mut theirs = tier_of(&state.store.held_roles(&user.id).await?);
        if theirs < Tier::Privileged && state.store.oversees_privileged_access(&user.id).await? {
            theirs = Tier::Privileged;
        }
        if mine >= theirs {
            return Ok(());
        }
        let reason = format!(
            "{} {} changes the {what} of `{}`, who holds or may activate {}; that needs a role at \
             least as privileged, and the caller holds {}",
            self.method,
            self.path,
            user.user_principal_name,
            theirs.describe(),
            mine.describe()
        );
        let target = Target {
            kind: "user".into(),
            id: user.id.clone(),
            display_name: Some(user.user_principal_name.clone()),
        };
        Err(self.deny(state, reason, Some(target)).await)
    }

    /// Succeeds if the caller may change the membership of `group`. A group whose members
    /// gain roles or oversee privileged access needs `roleAssignments/write`, as assigning
    /// the role directly would (and that is enough: a Privileged Role Administrator manages
    /// such groups without `groups/write`); any other group needs `groups/write`. Otherwise
    /// audits the refusal and answers 403.
    pub async fn require_membership_change(
        &self,
        state: &AppState,
        group: &Group,
    ) -> Result<(), ApiError> {
        match state.store.group_protection(&group.id).await? {
            None => self.require(state, Permission::GroupsWrite).await,
            Some(_) if self.allows(Permission::RoleAssignmentsWrite) => Ok(()),
            Some(protection) => Err(self
                .deny_membership(state, group, &protection.to_string())
                .await),
        }
    }

    /// Succeeds if the caller may manage some group memberships at all (`groups/write` or
    /// `roleAssignments/write`), before the group is looked up; otherwise as `require`.
    pub async fn require_any_group_write(&self, state: &AppState) -> Result<(), ApiError> {
        if self.allows(Permission::RoleAssignmentsWrite) {
            return Ok(());
        }
        self.require(state, Permission::GroupsWrite).await
    }

    /// The refusal of a membership change, for a group protected because `why`.
    pub async fn deny_membership(&self, state: &AppState, group: &Group, why: &str) -> ApiError {
        let reason = format!(
            "{} {} changes the membership of `{}`, and {why}; that needs `{}` (Privileged Role \
             Administrator or Global Administrator)",
            self.method,
            self.path,
            group.display_name,
            Permission::RoleAssignmentsWrite.action()
        );
        let target = Target {
            kind: "group".into(),
            id: group.id.clone(),
            display_name: Some(group.display_name.clone()),
        };
        self.deny(state, reason, Some(target)).await
    }

    /// Succeeds if the caller is a Global Administrator; otherwise audits and answers 403.
    pub async fn require_global(&self, state: &AppState, what: &str) -> Result<(), ApiError> {
        if self.tier() == Tier::Global {
            return Ok(());
        }
        let reason = format!(
            "{} {} {what}, which needs Global Administrator",
            self.method, self.path
        );
        Err(self.deny(state, reason, None).await)
    }

    /// Records a refusal in the audit trail and returns the 403 to answer with. If the
    /// refusal cannot be recorded, the error is a 5xx: the request still does nothing.
    async fn deny(&self, state: &AppState, reason: String, target: Option<Target>) -> ApiError {
        let recorded = async {
            let mut tx = state.store.begin_write().await?;
            tx.audit(Event {
                sequence: 0,
                activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
                category: "authorization".into(),
                activity: "authorization.denied".into(),
                initiated_by: self.actor.clone(),
                target,
                result: Outcome::Failure,
                result_reason: Some(reason.clone()),
                before: None,
                after: None,
            })
            .await?;
            tx.commit().await
        };
        match recorded.await {
            Ok(()) => ApiError::forbidden(reason),
            Err(e) => ApiError::from(e),
        }
    }
}
