//! Administration of the provider's secrets: client secrets (`addPassword` /
//! `removePassword`, as Microsoft Graph names them; the secret is returned once and stored
//! only as a hash) and rotation of the token signing keys.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::OffsetDateTime;
use trustplane_keyring::KeyRingError;
use trustplane_model::{from_ms, Permission};
use trustplane_store::{NewClientSecret, Store, StoreError};
use utoipa::ToSchema;

use super::keys::Alg;
use super::Oidc;
use crate::admin::{AccessError, Admin};

/// Default lifetime of a client secret (Graph's default): two years.
const DEFAULT_SECRET_DAYS: i64 = 730;
/// Default time a rotated-out signing key stays published.
const DEFAULT_OVERLAP_SECS: u64 = 7 * 24 * 3600;
/// Longest time a rotated-out signing key may stay published.
const MAX_OVERLAP_SECS: u64 = 365 * 86_400;
/// Longest display name of a secret.
const MAX_NAME: usize = 256;

/// Body of `POST /api/v1/applications/{id}/addPassword`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddPassword {
    /// What to make (all defaults when absent).
    #[serde(default)]
    pub password_credential: Option<PasswordCredentialInput>,
}

/// What to make.
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordCredentialInput {
    /// A name for people.
    pub display_name: Option<String>,
    /// When it stops working (default: in two years).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub end_date_time: Option<OffsetDateTime>,
}

/// A client secret as Graph shows it; `secretText` only in the answer that made it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    key_id: String,
    display_name: Option<String>,
    hint: String,
    secret_text: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    start_date_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    end_date_time: Option<OffsetDateTime>,
}

/// Body of `POST /api/v1/applications/{id}/removePassword`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemovePassword {
    /// The secret's `keyId`.
    pub key_id: String,
}

/// Body of `POST /api/v1/oidc/keys/rotate`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateKeys {
    /// `ES256` or `RS256`.
    pub algorithm: String,
    /// How long the replaced key stays in the JWKS (default a week).
    pub overlap_seconds: Option<u64>,
}

/// Why a secret or key change was refused; nothing was changed.
#[derive(Debug, Error)]
pub enum CredentialError {
    /// The caller may not (audited).
    #[error(transparent)]
    Access(#[from] AccessError),
    /// A field of the request is wrong.
    #[error("{message}")]
    Invalid {
        /// The field, as the API names it.
        field: &'static str,
        /// What is wrong with it.
        message: &'static str,
    },
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The key ring failed.
    #[error(transparent)]
    Keys(#[from] KeyRingError),
}

fn invalid(field: &'static str, message: &'static str) -> CredentialError {
    CredentialError::Invalid { field, message }
}

/// Adds a client secret to the application named by `app` (id, appId or name); the
/// secret is in the answer only.
pub async fn add_password(
    store: &Store,
    admin: &Admin,
    app: &str,
    body: AddPassword,
) -> Result<PasswordCredential, CredentialError> {
    admin.require(store, Permission::ApplicationsWrite).await?;
    let app = store.find_application(app).await?;
    let input = body.password_credential.unwrap_or_default();
    let now = store.clock().now_ms();
    let end_at = match input.end_date_time {
        Some(t) => {
            let field = "passwordCredential.endDateTime";
            let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
                .map_err(|_| invalid(field, "endDateTime is out of range"))?;
            if ms <= now {
                return Err(invalid(field, "endDateTime must be in the future"));
            }
            ms
        }
        None => now + DEFAULT_SECRET_DAYS * 86_400_000,
    };
    if input
        .display_name
        .as_ref()
        .is_some_and(|n| n.len() > MAX_NAME)
    {
        return Err(invalid(
            "passwordCredential.displayName",
            "displayName is longer than 256 characters",
        ));
    }
    let (secret, secret_hash) = trustplane_authn::new_session_token();
    let hint: String = secret.chars().take(3).collect();
    let key_id = trustplane_model::new_id();
    let new = NewClientSecret {
        key_id: key_id.clone(),
        application_id: app.id.clone(),
        secret_hash,
        hint: hint.clone(),
        display_name: input.display_name.clone(),
        start_at: now,
        end_at: Some(end_at),
    };
    store.add_client_secret(&admin.actor, new).await?;
    Ok(PasswordCredential {
        key_id,
        display_name: input.display_name,
        hint,
        secret_text: Some(secret),
        start_date_time: from_ms(now),
        end_date_time: Some(from_ms(end_at)),
    })
}

/// Removes a client secret of the application named by `app`.
pub async fn remove_password(
    store: &Store,
    admin: &Admin,
    app: &str,
    key_id: &str,
) -> Result<(), CredentialError> {
    admin.require(store, Permission::ApplicationsWrite).await?;
    let app = store.find_application(app).await?;
    Ok(store
        .remove_client_secret(&admin.actor, &app.id, key_id)
        .await?)
}

/// Replaces the signing key of an algorithm; the old key stays published for the overlap.
/// Answers the new key's id and the algorithm.
pub async fn rotate_keys(
    oidc: &Oidc,
    store: &Store,
    admin: &Admin,
    body: RotateKeys,
) -> Result<(String, Alg), CredentialError> {
    admin.require(store, Permission::ApplicationsWrite).await?;
    let alg = Alg::parse(&body.algorithm)
        .ok_or_else(|| invalid("algorithm", "algorithm must be ES256 or RS256"))?;
    let overlap = body.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_SECS);
    if overlap > MAX_OVERLAP_SECS {
        return Err(invalid(
            "overlapSeconds",
            "overlapSeconds is at most a year",
        ));
    }
    let id = oidc
        .rotate(&admin.actor, alg, std::time::Duration::from_secs(overlap))
        .await?;
    Ok((id, alg))
}
