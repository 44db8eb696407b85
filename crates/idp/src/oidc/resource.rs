//! Userinfo (OIDC Core §5.3), revocation (RFC 7009) and introspection (RFC 7662).

use serde_json::{json, Value};
use trustplane_store::StoreError;

use super::audit::{self, Record};
use super::client_auth::{self, ClientRequest, Params};
use super::clients::Client;
use super::error::{BearerError, OAuthError};
use super::tokens::{self, check_access_token};
use super::{Oidc, INTROSPECT_PATH, REVOKE_PATH};
use crate::RequestContext;

/// Why userinfo answers no claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserinfoError {
    /// The bearer token is missing, not good, or lacks the scope (RFC 6750).
    Bearer(BearerError),
    /// Our side failed.
    OAuth(OAuthError),
}

impl From<OAuthError> for UserinfoError {
    fn from(e: OAuthError) -> Self {
        UserinfoError::OAuth(e)
    }
}

impl From<StoreError> for UserinfoError {
    fn from(e: StoreError) -> Self {
        UserinfoError::OAuth(e.into())
    }
}

fn bearer(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Userinfo for the request's `Authorization: Bearer` access token: the claims its scopes
/// release about its user, with `sub` as the token's client sees it.
pub async fn userinfo(oidc: &Oidc, authorization: Option<&str>) -> Result<Value, UserinfoError> {
    let Some(token) = bearer(authorization) else {
        return Err(UserinfoError::Bearer(BearerError {
            code: "invalid_request",
            description: "send the access token as Authorization: Bearer",
        }));
    };
    let claims = match check_access_token(oidc, token).await? {
        Ok(c) => c,
        Err(inactive) => {
            return Err(UserinfoError::Bearer(BearerError {
                code: "invalid_token",
                description: inactive.describe(),
            }))
        }
    };
    let scopes: Vec<String> = claims["scope"]
        .as_str()
        .unwrap_or_default()
        .split(' ')
        .map(str::to_string)
        .collect();
    let store = oidc.store();
    let grant = match claims["gid"].as_str() {
        Some(gid) => store.grant(gid).await?,
        None => None,
    };
    let (Some(grant), true) = (grant, scopes.iter().any(|s| s == "openid")) else {
        return Err(UserinfoError::Bearer(BearerError {
            code: "insufficient_scope",
            description: "userinfo needs a user's token with the openid scope",
        }));
    };
    let user = store.get_user(&grant.authentication.user_id).await?;
    let mut body = tokens::user_claims(store, &user, &scopes).await?;
    body.insert("sub".into(), claims["sub"].clone());
    Ok(Value::Object(body))
}

/// Parses an authenticated client request of the revocation or introspection endpoint.
async fn client_request(
    oidc: &Oidc,
    req: ClientRequest<'_>,
    path: &str,
) -> Result<(Client, Params), OAuthError> {
    client_auth::require_form(req.content_type)?;
    let params = Params::parse(req.body)?;
    let client =
        client_auth::authenticate(oidc, req.authorization, &params, &oidc.url(path)).await?;
    params.require("token")?;
    Ok((client, params))
}

/// What a presented token turned out to be.
enum Found {
    Access(Value),
    Refresh(Box<(trustplane_store::RefreshToken, trustplane_store::Grant)>),
    Nothing,
}

async fn find(oidc: &Oidc, token: &str) -> Result<Found, OAuthError> {
    if token.matches('.').count() == 2 {
        return Ok(match check_access_token(oidc, token).await? {
            Ok(claims) => Found::Access(claims),
            Err(_) => Found::Nothing,
        });
    }
    let hash = trustplane_authn::hash_session_token(token);
    Ok(match oidc.store().refresh_token(&hash).await? {
        Some(found) => Found::Refresh(Box::new(found)),
        None => Found::Nothing,
    })
}

/// Revocation (`POST /oauth2/revoke`, RFC 7009). Succeeds whether or not the token was known,
/// valid or the caller's (revealing nothing); a refresh token takes its whole grant with it.
pub async fn revoke(
    oidc: &Oidc,
    ctx: &RequestContext,
    req: ClientRequest<'_>,
) -> Result<(), OAuthError> {
    let (client, params) = client_request(oidc, req, REVOKE_PATH).await?;
    let token = params.get("token").unwrap_or_default();
    let store = oidc.store();
    {
        match find(oidc, token).await? {
            Found::Access(claims) if claims["client_id"].as_str() == Some(client.client_id()) => {
                let jti = claims["jti"].as_str().unwrap_or_default();
                let exp = claims["exp"]
                    .as_i64()
                    .unwrap_or_default()
                    .saturating_mul(1000);
                let event = audit::event(Record {
                    activity: "oidc.token.revoke",
                    client: Some(&client),
                    client_id: None,
                    actor: audit::client_actor(Some(&client), None, ctx),
                    failure: None,
                    details: json!({ "tokenType": "access_token", "jti": jti, "grantId": claims["gid"] }),
                });
                store.revoke_access_token(jti, exp, event).await?;
            }
            Found::Refresh(found) if found.1.application_id == client.app.id => {
                let grant = &found.1;
                let event = audit::event(Record {
                    activity: "oidc.token.revoke",
                    client: Some(&client),
                    client_id: None,
                    actor: audit::client_actor(Some(&client), None, ctx),
                    failure: None,
                    details: json!({ "tokenType": "refresh_token", "grantId": grant.id }),
                });
                store
                    .revoke_grant(&grant.id, "revoked by the client", event)
                    .await?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Introspection (`POST /oauth2/introspect`, RFC 7662). A client learns about tokens issued
/// to it (or any token, with `introspectAllTokens`); everything else is `{"active": false}`.
pub async fn introspect(oidc: &Oidc, req: ClientRequest<'_>) -> Result<Value, OAuthError> {
    let (client, params) = client_request(oidc, req, INTROSPECT_PATH).await?;
    let token = params.get("token").unwrap_or_default();
    let store = oidc.store();
    {
        let inactive = json!({ "active": false });
        Ok(match find(oidc, token).await? {
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
                    if let Some(grant) = store.grant(gid).await? {
                        match store.get_user(&grant.authentication.user_id).await {
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
                let now = store.clock().now_ms();
                let own = grant.application_id == client.app.id;
                let live = r.rotated_at.is_none()
                    && grant.revoked_at.is_none()
                    && now < r.expires_at
                    && now < grant.expires_at;
                let user = match store.get_user(&grant.authentication.user_id).await {
                    Ok(u) if u.account_enabled => Some(u),
                    Ok(_) | Err(StoreError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                };
                let owner = match store.get_application(&grant.application_id).await {
                    Ok(app) => app,
                    Err(StoreError::NotFound { .. }) => return Ok(inactive),
                    Err(e) => return Err(e.into()),
                };
                match (user, live && (own || client.introspect_all)) {
                    (Some(user), true) => {
                        let owner_client = Client::from_app(owner).ok().flatten();
                        let sub = match &owner_client {
                            Some(c) => oidc.subject(c, &user.id).await?,
                            None => user.id.clone(),
                        };
                        json!({
                            "active": true,
                            "token_type": "refresh_token",
                            "client_id": owner_client.as_ref().map(|c| c.client_id().to_string()),
                            "sub": sub,
                            "username": user.user_principal_name,
                            "scope": grant.scope,
                            "iss": oidc.issuer(),
                            "exp": tokens::secs(r.expires_at),
                        })
                    }
                    _ => inactive,
                }
            }
            Found::Nothing => inactive,
        })
    }
}
