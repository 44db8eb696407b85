//! Admin API tokens: who may mint, list and revoke whose. A token acts as its user, so a
//! token for someone else is their identity: only a Global Administrator mints or sees
//! others' tokens. The token is returned once and stored only as a hash.

use serde::Deserialize;
use trustplane_model::{Permission, User};
use trustplane_store::{Store, StoreError};
use utoipa::ToSchema;

use crate::admin::{AccessError, Admin};

/// Longest description of a token.
const MAX_DESCRIPTION: usize = 256;
/// What every API token starts with, so scanners and people recognise one.
pub const API_TOKEN_PREFIX: &str = "tp_";

/// Body of `POST /api/v1/apiTokens`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateToken {
    /// The user the token acts as (id or user principal name).
    pub user_id: String,
    /// What it is for.
    pub description: String,
    /// Days until it stops working (never, when absent).
    pub expires_in_days: Option<u32>,
}

/// Why a token request was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The caller may not (audited).
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The description is empty or too long.
    #[error("description must be 1 to 256 characters")]
    Description,
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Mints a token; answers the token (shown only now) and its user.
pub async fn create(
    store: &Store,
    admin: &Admin,
    body: CreateToken,
) -> Result<(String, User), TokenError> {
    admin.require(store, Permission::ApiTokensWrite).await?;
    if body.description.trim().is_empty() || body.description.len() > MAX_DESCRIPTION {
        return Err(TokenError::Description);
    }
    let user = store.get_user(&body.user_id).await?;
    if user.id != admin.user.id {
        let what = format!(
            "mints a token for another user (`{}`)",
            user.user_principal_name
        );
        admin.require_global(store, &what).await?;
    }
    let (token, hash) = trustplane_authn::new_prefixed_token(API_TOKEN_PREFIX);
    let now = store.clock().now_ms();
    let expires_at = body
        .expires_in_days
        .map(|d| now.saturating_add(i64::from(d) * 86_400_000));
    store
        .create_api_token(&admin.actor, &user.id, &hash, &body.description, expires_at)
        .await?;
    Ok((token, user))
}

/// The tokens of `whose` (the caller's own when `None`, everyone's for `all`).
pub async fn list(
    store: &Store,
    admin: &Admin,
    whose: Option<&str>,
) -> Result<Vec<trustplane_store::ApiTokenInfo>, TokenError> {
    let whose = match whose {
        None => Some(admin.user.id.clone()),
        Some("all") => None,
        Some(id) => Some(store.get_user(id).await?.id),
    };
    if whose.as_deref() != Some(admin.user.id.as_str()) {
        admin
            .require_global(store, "lists other users' API tokens")
            .await?;
    }
    Ok(store.list_api_tokens(whose.as_deref()).await?)
}

/// Revokes the token `id`: one's own, or anyone's for a Global Administrator.
pub async fn revoke(store: &Store, admin: &Admin, id: &str) -> Result<(), TokenError> {
    let own = store
        .list_api_tokens(Some(&admin.user.id))
        .await?
        .into_iter()
        .any(|t| t.id.eq_ignore_ascii_case(id));
    if !own {
        // Someone else's token, or none: the same answer to anyone below the top tier, so
        // that ids of others' tokens cannot be probed.
        admin
            .require_global(store, "revokes another user's API token")
            .await?;
    }
    store.revoke_api_token(&admin.actor, id).await?;
    Ok(())
}
