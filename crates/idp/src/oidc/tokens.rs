//! Building what the token endpoint hands out: access tokens (ES256 JWTs, `typ: at+jwt`),
//! ID tokens (the client's algorithm), and the claims scopes release. Also the checks that a
//! presented access token is still good (signature, expiry, revocation, its grant, its user).

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use trustplane_model::User;
use trustplane_store::{Authentication, StoreError};

use super::clients::Client;
use super::error::OAuthError;
use super::keys::Alg;
use super::Oidc;
use super::{jwt, ID_TOKEN_TTL_MS};

/// `acr` of a sign-in that proved a second factor.
pub const ACR_MFA: &str = "urn:trustplane:acr:mfa";
/// `acr` of a single-factor sign-in.
pub const ACR_SINGLE: &str = "urn:trustplane:acr:single-factor";

/// What to issue.
pub struct Request<'a> {
    /// The client.
    pub client: &'a Client,
    /// The user, absent for client credentials.
    pub user: Option<&'a User>,
    /// How the user signed in.
    pub authentication: Option<&'a Authentication>,
    /// Granted scopes.
    pub scopes: &'a [String],
    /// The grant the tokens belong to.
    pub grant_id: Option<&'a str>,
    /// The authorization request's nonce (first ID token of a grant only).
    pub nonce: Option<&'a str>,
}

/// Tokens made for one response.
pub struct Minted {
    /// The access token.
    pub access_token: String,
    /// Its id.
    pub jti: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The ID token, when `openid` was granted to a user.
    pub id_token: Option<String>,
}

/// Seconds since the epoch, from milliseconds.
pub fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// The claims `scopes` release about a user (beyond `sub`).
pub async fn user_claims(
    store: &trustplane_store::Store,
    user: &User,
    scopes: &[String],
) -> Result<Map<String, Value>, StoreError> {
    let mut claims = Map::new();
    let has = |s: &str| scopes.iter().any(|x| x == s);
    if has("profile") {
        claims.insert("name".into(), json!(user.display_name));
        claims.insert("preferred_username".into(), json!(user.user_principal_name));
        if let Some(g) = &user.given_name {
            claims.insert("given_name".into(), json!(g));
        }
        if let Some(s) = &user.surname {
            claims.insert("family_name".into(), json!(s));
        }
    }
    if has("email") {
        if let Some(mail) = &user.mail {
            claims.insert("email".into(), json!(mail));
        }
    }
    if has("groups") {
        let mut groups = store.group_ids_of(&user.id, true).await?;
        groups.sort();
        claims.insert("groups".into(), json!(groups));
    }
    Ok(claims)
}

fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    jwt::b64(&digest[..16])
}

/// Mints the access token and, for `openid` user grants, the ID token.
pub async fn mint(oidc: &Oidc, r: Request<'_>) -> Result<Minted, OAuthError> {
    let now = oidc.store().clock().now_ms();
    let client = r.client;
    let sub = match r.user {
        Some(u) => oidc.subject(client, &u.id).await?,
        None => client.client_id().to_string(),
    };
    let jti = trustplane_model::new_id();
    let mut at = json!({
        "iss": oidc.issuer(),
        "sub": sub,
        "aud": oidc.issuer(),
        "client_id": client.client_id(),
        "iat": secs(now),
        "exp": secs(now + client.access_ttl_ms),
        "jti": jti,
    });
    if !r.scopes.is_empty() {
        at["scope"] = json!(r.scopes.join(" "));
    }
    if let Some(g) = r.grant_id {
        at["gid"] = json!(g);
    }
    if let Some(sid) = r.authentication.and_then(|a| a.session_id.as_ref()) {
        at["sid"] = json!(sid);
    }
    let access_token = oidc.sign(Alg::Es256, "at+jwt", &at).await?;
    let id_token = match (r.user, r.authentication) {
        (Some(user), Some(auth)) if r.scopes.iter().any(|s| s == "openid") => {
            let mut claims = json!({
                "iss": oidc.issuer(),
                "sub": sub,
                "aud": client.client_id(),
                "azp": client.client_id(),
                "iat": secs(now),
                "exp": secs(now + ID_TOKEN_TTL_MS),
                "auth_time": secs(auth.auth_time),
                "amr": auth.amr,
                "acr": if auth.mfa_at.is_some() { ACR_MFA } else { ACR_SINGLE },
                "at_hash": at_hash(&access_token),
            });
            if let Some(n) = r.nonce {
                claims["nonce"] = json!(n);
            }
            if let Some(sid) = &auth.session_id {
                claims["sid"] = json!(sid);
            }
            let extra = user_claims(oidc.store(), user, r.scopes).await?;
            if let Some(obj) = claims.as_object_mut() {
                obj.extend(extra);
            }
            Some(oidc.sign(client.id_token_alg, "JWT", &claims).await?)
        }
        _ => None,
    };
    Ok(Minted {
        access_token,
        jti,
        expires_in: client.access_ttl_ms / 1000,
        id_token,
    })
}

/// Why a presented access token is not (or no longer) good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inactive {
    /// Not ours, altered, or of the wrong kind.
    Invalid,
    /// Past its expiry.
    Expired,
    /// Revoked, alone or with its grant.
    Revoked,
    /// Its user was disabled or deleted.
    UserGone,
}

impl Inactive {
    /// Safe to tell the token's holder.
    pub fn describe(self) -> &'static str {
        match self {
            Inactive::Invalid => "the access token is not valid",
            Inactive::Expired => "the access token has expired",
            Inactive::Revoked => "the access token was revoked",
            Inactive::UserGone => "the user can no longer sign in",
        }
    }
}

/// A good access token's claims.
pub async fn check_access_token(
    oidc: &Oidc,
    token: &str,
) -> Result<Result<Value, Inactive>, OAuthError> {
    let store = oidc.store();
    let Ok(jws) = oidc.verify_own(token).await else {
        return Ok(Err(Inactive::Invalid));
    };
    if jws.header["typ"].as_str() != Some("at+jwt")
        || jws.claims["iss"].as_str() != Some(oidc.issuer())
    {
        return Ok(Err(Inactive::Invalid));
    }
    let claims = jws.claims;
    let now = secs(store.clock().now_ms());
    if claims["exp"].as_i64().is_none_or(|exp| exp <= now) {
        return Ok(Err(Inactive::Expired));
    }
    let jti = claims["jti"].as_str().unwrap_or_default();
    if store.access_token_revoked(jti).await? {
        return Ok(Err(Inactive::Revoked));
    }
    if let Some(gid) = claims["gid"].as_str() {
        let Some(grant) = store.grant(gid).await? else {
            return Ok(Err(Inactive::Revoked));
        };
        if grant.revoked_at.is_some() {
            return Ok(Err(Inactive::Revoked));
        }
        match store.get_user(&grant.authentication.user_id).await {
            Ok(u) if u.account_enabled => {}
            Ok(_) | Err(StoreError::NotFound { .. }) => return Ok(Err(Inactive::UserGone)),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Ok(claims))
}
