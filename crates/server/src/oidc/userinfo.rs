//! Userinfo (OIDC Core §5.3), revocation (RFC 7009) and introspection (RFC 7662).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use trustplane_store::StoreError;

use super::audit::{self, Record};
use super::client_auth::{self, Params};
use super::clients::Client;
use super::error::{no_store, BearerError, OAuthError};
use super::tokens::{self, check_access_token};
use super::{INTROSPECT_PATH, REVOKE_PATH};
use crate::context::RequestContext;
use crate::server::AppState;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// `GET` or `POST /oauth2/userinfo` with `Authorization: Bearer`.
pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        return BearerError {
            code: "invalid_request",
            description: "send the access token as Authorization: Bearer",
        }
        .into_response();
    };
    let claims = match check_access_token(&state, token).await {
        Ok(Ok(c)) => c,
        Ok(Err(inactive)) => {
            return BearerError {
                code: "invalid_token",
                description: inactive.describe(),
            }
            .into_response()
        }
        Err(e) => return e.into_response(),
    };
    let scopes: Vec<String> = claims["scope"]
        .as_str()
        .unwrap_or_default()
        .split(' ')
        .map(str::to_string)
        .collect();
    let grant = match claims["gid"].as_str() {
        Some(gid) => match state.store.grant(gid).await {
            Ok(g) => g,
            Err(e) => return OAuthError::from(e).into_response(),
        },
        None => None,
    };
    let (Some(grant), true) = (grant, scopes.iter().any(|s| s == "openid")) else {
        return BearerError {
            code: "insufficient_scope",
            description: "userinfo needs a user's token with the openid scope",
        }
        .into_response();
    };
    let user = match state.store.get_user(&grant.authentication.user_id).await {
        Ok(u) => u,
        Err(e) => return OAuthError::from(e).into_response(),
    };
    let mut body = match tokens::user_claims(&state, &user, &scopes).await {
        Ok(c) => c,
        Err(e) => return OAuthError::from(e).into_response(),
    };
    body.insert("sub".into(), claims["sub"].clone());
    let mut r = axum::Json(Value::Object(body)).into_response();
    no_store(&mut r);
    r
}

/// Parses an authenticated client request of the revocation or introspection endpoint.
async fn client_request(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    path: &str,
) -> Result<(Client, Params), OAuthError> {
    client_auth::require_form(headers)?;
    let params = Params::parse(body)?;
    let client = client_auth::authenticate(state, headers, &params, &state.oidc.url(path)).await?;
    params.require("token")?;
    Ok((client, params))
}

/// What a presented token turned out to be.
enum Found {
    Access(Value),
    Refresh(Box<(trustplane_store::RefreshToken, trustplane_store::Grant)>),
    Nothing,
}

async fn find(state: &AppState, token: &str) -> Result<Found, OAuthError> {
    if token.matches('.').count() == 2 {
        return Ok(match check_access_token(state, token).await? {
            Ok(claims) => Found::Access(claims),
            Err(_) => Found::Nothing,
        });
    }
    let hash = trustplane_authn::hash_session_token(token);
    Ok(match state.store.refresh_token(&hash).await? {
        Some(found) => Found::Refresh(Box::new(found)),
        None => Found::Nothing,
    })
}

/// `POST /oauth2/revoke` (RFC 7009). Answers 200 whether or not the token was known, valid or
/// the caller's (revealing nothing); a refresh token takes its whole grant with it.
pub async fn revoke(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (client, params) = match client_request(&state, &headers, &body, REVOKE_PATH).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let token = params.get("token").unwrap_or_default();
    let outcome: Result<(), OAuthError> = async {
        match find(&state, token).await? {
            Found::Access(claims) if claims["client_id"].as_str() == Some(client.client_id()) => {
                let jti = claims["jti"].as_str().unwrap_or_default();
                let exp = claims["exp"].as_i64().unwrap_or_default().saturating_mul(1000);
                let event = audit::event(Record {
                    activity: "oidc.token.revoke",
                    client: Some(&client),
                    client_id: None,
                    actor: audit::client_actor(Some(&client), None, &ctx),
                    failure: None,
                    details: json!({ "tokenType": "access_token", "jti": jti, "grantId": claims["gid"] }),
                });
                state.store.revoke_access_token(jti, exp, event).await?;
            }
            Found::Refresh(found) if found.1.application_id == client.app.id => {
                let grant = &found.1;
                let event = audit::event(Record {
                    activity: "oidc.token.revoke",
                    client: Some(&client),
                    client_id: None,
                    actor: audit::client_actor(Some(&client), None, &ctx),
                    failure: None,
                    details: json!({ "tokenType": "refresh_token", "grantId": grant.id }),
                });
                state
                    .store
                    .revoke_grant(&grant.id, "revoked by the client", event)
                    .await?;
            }
            _ => {}
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => {
            let mut r = StatusCode::OK.into_response();
            no_store(&mut r);
            r
        }
        Err(e) => e.into_response(),
    }
}

/// `POST /oauth2/introspect` (RFC 7662). A client learns about tokens issued to it (or any
/// token, with `introspectAllTokens`); everything else is `{"active": false}`.
pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (client, params) = match client_request(&state, &headers, &body, INTROSPECT_PATH).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let token = params.get("token").unwrap_or_default();
    let answer: Result<Value, OAuthError> = async {
        let inactive = json!({ "active": false });
        Ok(match find(&state, token).await? {
            Found::Access(claims) => {
                if claims["client_id"].as_str() != Some(client.client_id())
                    && !client.introspect_all
                {
                    return Ok(inactive);
                }
                let mut out = json!({
                    "active": true,
                    "token_type": "Bearer",
                    "client_id": claims["client_id"],
                    "sub": claims["sub"],
                    "aud": claims["aud"],
                    "iss": claims["iss"],
                    "exp": claims["exp"],
                    "iat": claims["iat"],
                    "jti": claims["jti"],
                });
                if let Some(s) = claims.get("scope") {
                    out["scope"] = s.clone();
                }
                if let Some(gid) = claims["gid"].as_str() {
                    if let Some(grant) = state.store.grant(gid).await? {
                        match state.store.get_user(&grant.authentication.user_id).await {
                            Ok(u) => out["username"] = json!(u.user_principal_name),
                            Err(StoreError::NotFound { .. }) => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                out
            }
            Found::Refresh(found) => {
                let (r, grant) = *found;
                let now = state.store.clock().now_ms();
                let own = grant.application_id == client.app.id;
                let live = r.rotated_at.is_none()
                    && grant.revoked_at.is_none()
                    && now < r.expires_at
                    && now < grant.expires_at;
                let user = match state.store.get_user(&grant.authentication.user_id).await {
                    Ok(u) if u.account_enabled => Some(u),
                    Ok(_) | Err(StoreError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                };
                let owner = match state.store.get_application(&grant.application_id).await {
                    Ok(app) => app,
                    Err(StoreError::NotFound { .. }) => return Ok(inactive),
                    Err(e) => return Err(e.into()),
                };
                match (user, live && (own || client.introspect_all)) {
                    (Some(user), true) => {
                        let owner_client = Client::from_app(owner).ok().flatten();
                        let sub = match &owner_client {
                            Some(c) => state.oidc.subject(c, &user.id).await?,
                            None => user.id.clone(),
                        };
                        json!({
                            "active": true,
                            "token_type": "refresh_token",
                            "client_id": owner_client.as_ref().map(|c| c.client_id().to_string()),
                            "sub": sub,
                            "username": user.user_principal_name,
                            "scope": grant.scope,
                            "iss": state.oidc.issuer(),
                            "exp": tokens::secs(r.expires_at),
                        })
                    }
                    _ => inactive,
                }
            }
            Found::Nothing => inactive,
        })
    }
    .await;
    match answer {
        Ok(v) => {
            let mut r = axum::Json(v).into_response();
            no_store(&mut r);
            r
        }
        Err(e) => e.into_response(),
    }
}
