//! Admin API of the provider: client secrets (`addPassword` / `removePassword`, as Microsoft
//! Graph names them; the secret is returned once and stored only as a hash) and rotation of
//! the token signing keys.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use trustplane_model::{from_ms, Permission};
use trustplane_store::NewClientSecret;
use utoipa::ToSchema;

use super::keys::Alg;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::server::AppState;

/// Default lifetime of a client secret (Graph's default): two years.
const DEFAULT_SECRET_DAYS: i64 = 730;
/// Default time a rotated-out signing key stays published.
const DEFAULT_OVERLAP_SECS: u64 = 7 * 24 * 3600;

/// Body of `POST /api/v1/applications/{id}/addPassword`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddPassword {
    #[serde(default)]
    password_credential: Option<PasswordCredentialInput>,
}

/// What to make.
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordCredentialInput {
    display_name: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    end_date_time: Option<OffsetDateTime>,
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
    key_id: String,
}

/// Body of `POST /api/v1/oidc/keys/rotate`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateKeys {
    /// `ES256` or `RS256`.
    algorithm: String,
    /// How long the replaced key stays in the JWKS (default a week).
    overlap_seconds: Option<u64>,
}

/// Adds a client secret to an application; the secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/applications/{id}/addPassword", tag = "applications",
    params(("id" = String, Path)), request_body = AddPassword,
    responses((status = 200, body = PasswordCredential), (status = 400), (status = 404)))]
pub async fn add_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<AddPassword>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state.store, Permission::ApplicationsWrite)
        .await?;
    let app = state.store.find_application(&id).await?;
    let input = body.password_credential.unwrap_or_default();
    let now = state.store.clock().now_ms();
    let end_at = match input.end_date_time {
        Some(t) => {
            let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
                .map_err(|_| ApiError::bad_request("endDateTime is out of range"))?;
            if ms <= now {
                let mut e = ApiError::bad_request("endDateTime must be in the future");
                e.set_field("passwordCredential.endDateTime");
                return Err(e);
            }
            ms
        }
        None => now + DEFAULT_SECRET_DAYS * 86_400_000,
    };
    if input.display_name.as_ref().is_some_and(|n| n.len() > 256) {
        let mut e = ApiError::bad_request("displayName is longer than 256 characters");
        e.set_field("passwordCredential.displayName");
        return Err(e);
    }
    let (secret, secret_hash) = trustplane_authn::new_session_token();
    let hint: String = secret.chars().take(3).collect();
    let key_id = trustplane_model::new_id();
    state
        .store
        .add_client_secret(
            &caller.actor,
            NewClientSecret {
                key_id: key_id.clone(),
                application_id: app.id.clone(),
                secret_hash,
                hint: hint.clone(),
                display_name: input.display_name.clone(),
                start_at: now,
                end_at: Some(end_at),
            },
        )
        .await?;
    Ok(axum::Json(PasswordCredential {
        key_id,
        display_name: input.display_name,
        hint,
        secret_text: Some(secret),
        start_date_time: from_ms(now),
        end_date_time: Some(from_ms(end_at)),
    }))
}

/// Removes a client secret.
#[utoipa::path(post, path = "/api/v1/applications/{id}/removePassword", tag = "applications",
    params(("id" = String, Path)), request_body = RemovePassword,
    responses((status = 204), (status = 404)))]
pub async fn remove_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<RemovePassword>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state.store, Permission::ApplicationsWrite)
        .await?;
    let app = state.store.find_application(&id).await?;
    state
        .store
        .remove_client_secret(&caller.actor, &app.id, &body.key_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the OIDC signing key of an algorithm; the old key stays published for the overlap.
#[utoipa::path(post, path = "/api/v1/oidc/keys/rotate", tag = "oidc", request_body = RotateKeys,
    responses((status = 200, description = "`{\"keyId\": ...}` of the new signing key"), (status = 400)))]
pub async fn rotate_keys(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<RotateKeys>,
) -> ApiResult<impl IntoResponse> {
    caller
        .require(&state.store, Permission::ApplicationsWrite)
        .await?;
    let alg = Alg::parse(&body.algorithm).ok_or_else(|| {
        let mut e = ApiError::bad_request("algorithm must be ES256 or RS256");
        e.set_field("algorithm");
        e
    })?;
    let overlap = body.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_SECS);
    if overlap > 365 * 86_400 {
        let mut e = ApiError::bad_request("overlapSeconds is at most a year");
        e.set_field("overlapSeconds");
        return Err(e);
    }
    let id = state
        .oidc
        .rotate(&caller.actor, alg, std::time::Duration::from_secs(overlap))
        .await?;
    Ok(axum::Json(
        serde_json::json!({ "keyId": id, "algorithm": alg.as_str() }),
    ))
}
