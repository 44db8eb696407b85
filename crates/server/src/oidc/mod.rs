//! The OpenID Connect provider: discovery, JWKS, the authorization endpoint (code flow with
//! PKCE), the token endpoint (authorization code, refresh token with rotation and reuse
//! detection, client credentials, and the legacy password grant where a client enables it),
//! userinfo, revocation (RFC 7009), introspection (RFC 7662) and RP-initiated logout.
//!
//! Clients are applications with `settings.oidc` ([`clients`]). Conditional access decides
//! at every authorization and every refresh, and every code and token issued or refused is an
//! audit entry ([`audit`]). ID tokens are signed with ES256 by default or RS256 per client;
//! access tokens are ES256 JWTs (`typ: at+jwt`) whose revocation the provider tracks, so
//! userinfo and introspection answer for them exactly.

pub(crate) mod audit;
pub(crate) mod authorize;
pub(crate) mod client_auth;
pub(crate) mod discovery;
pub(crate) mod error;
pub(crate) mod logout;
pub(crate) mod secrets;
pub(crate) mod token;
pub(crate) mod tokens;
pub(crate) mod userinfo;

// Clients, keys and JWS live in the engine; the old paths stay for the endpoints.
pub use trustplane_idp::oidc::{clients, jwt, keys};

use axum::routing::{get, post};
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::OnceCell;
use trustplane_store::Store;

use self::clients::Client;
use self::error::OAuthError;
use self::jwt::Jws;
use self::keys::{published_jwk, Alg, Es256, Rs256, Sign};
use crate::server::AppState;
use trustplane_keyring::Sealer;
use trustplane_keyring::{KeyRing, KeyRingError};

/// Path of the authorization endpoint.
pub const AUTHORIZE_PATH: &str = "/oauth2/authorize";
/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/oauth2/token";
/// Path of the userinfo endpoint.
pub const USERINFO_PATH: &str = "/oauth2/userinfo";
/// Path of the JWKS.
pub const JWKS_PATH: &str = "/oauth2/jwks";
/// Path of the revocation endpoint.
pub const REVOKE_PATH: &str = "/oauth2/revoke";
/// Path of the introspection endpoint.
pub const INTROSPECT_PATH: &str = "/oauth2/introspect";
/// Path of the end-session (RP-initiated logout) endpoint.
pub const LOGOUT_PATH: &str = "/oauth2/logout";

/// How long an authorization code may be redeemed.
pub const CODE_TTL_MS: i64 = 60 * 1000;
/// How long an ID token is valid.
pub const ID_TOKEN_TTL_MS: i64 = 10 * 60 * 1000;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route(JWKS_PATH, get(discovery::jwks))
        .route(
            AUTHORIZE_PATH,
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(TOKEN_PATH, post(token::token))
        .route(
            USERINFO_PATH,
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(REVOKE_PATH, post(userinfo::revoke))
        .route(INTROSPECT_PATH, post(userinfo::introspect))
        .route(
            LOGOUT_PATH,
            get(logout::logout_get).post(logout::logout_post),
        )
        .route(
            "/api/v1/applications/{id}/addPassword",
            post(secrets::add_password),
        )
        .route(
            "/api/v1/applications/{id}/removePassword",
            post(secrets::remove_password),
        )
        .route("/api/v1/oidc/keys/rotate", post(secrets::rotate_keys))
}

/// The provider's keys, issuer and pairwise-subject secret.
pub struct Oidc {
    store: Store,
    /// Entries that go with no other change, written with group commit.
    pub(crate) audit: audit::AuditWriter,
    sealer: Sealer,
    issuer: String,
    es256: KeyRing<Es256>,
    rs256: KeyRing<Rs256>,
    pairwise_key: OnceCell<Vec<u8>>,
}

/// The stored (sealed) secret pairwise subjects are computed with.
const PAIRWISE_SETTING: &str = "oidc_pairwise_key";

impl Oidc {
    /// The provider of an installation reached at `issuer`.
    pub fn new(store: Store, sealer: Sealer, issuer: &str) -> Self {
        Oidc {
            audit: audit::AuditWriter::new(store.clone()),
            es256: KeyRing::new(Es256, store.clone(), sealer.clone()),
            rs256: KeyRing::new(Rs256, store.clone(), sealer.clone()),
            store,
            sealer,
            issuer: issuer.trim_end_matches('/').to_string(),
            pairwise_key: OnceCell::new(),
        }
    }

    /// The issuer identifier (the public URL).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// An absolute URL of one of our paths.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The ring for an algorithm, rotated by the admin API.
    pub async fn rotate(
        &self,
        actor: &trustplane_model::Actor,
        alg: Alg,
        overlap: std::time::Duration,
    ) -> Result<String, KeyRingError> {
        match alg {
            Alg::Es256 => self.es256.rotate(actor, overlap).await,
            Alg::Rs256 => self.rs256.rotate(actor, overlap).await,
        }
    }

    /// Signs claims as a JWT with the current key of `alg`.
    pub async fn sign(&self, alg: Alg, typ: &str, claims: &Value) -> Result<String, OAuthError> {
        let jws = match alg {
            Alg::Es256 => {
                let keys = self.es256.current().await?;
                jwt::encode(
                    "ES256",
                    &keys.signing_id,
                    typ,
                    claims,
                    &keys.signer as &dyn Sign,
                )
            }
            Alg::Rs256 => {
                let keys = self.rs256.current().await?;
                jwt::encode(
                    "RS256",
                    &keys.signing_id,
                    typ,
                    claims,
                    &keys.signer as &dyn Sign,
                )
            }
        };
        jws.map_err(|e| {
            tracing::error!(error = %e, "token signing failed");
            OAuthError::server_error()
        })
    }

    /// Every published key of both rings, as a JWK set.
    pub async fn jwks(&self) -> Result<Value, KeyRingError> {
        let es = self.es256.current().await?;
        let rs = self.rs256.current().await?;
        let keys: Vec<Value> = es
            .published
            .iter()
            .chain(rs.published.iter())
            .filter_map(published_jwk)
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    /// Parses a JWT we signed and checks its signature against our published keys. Claims
    /// (issuer, expiry, type) are the caller's to check.
    pub async fn verify_own(&self, token: &str) -> Result<Jws, OAuthError> {
        let jws = Jws::parse(token).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        let kid = jws
            .kid()
            .ok_or_else(|| OAuthError::invalid_request("the token names no key"))?;
        let set = self.jwks().await?;
        let key = set["keys"]
            .as_array()
            .and_then(|keys| keys.iter().find(|k| k["kid"].as_str() == Some(kid)))
            .ok_or_else(|| OAuthError::invalid_request("the token's key is unknown"))?;
        jws.verify(key)
            .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        Ok(jws)
    }

    /// The client with this id, if it is an OIDC client.
    pub async fn client(&self, client_id: &str) -> Result<Option<Client>, OAuthError> {
        Ok(clients::find(&self.store, client_id).await?)
    }

    /// The `sub` a client sees for a user: the user's immutable id, or for pairwise clients a
    /// keyed hash of the sector and the id, so clients of different sectors cannot correlate.
    pub async fn subject(&self, client: &Client, user_id: &str) -> Result<String, OAuthError> {
        let Some(sector) = &client.pairwise_sector else {
            return Ok(user_id.to_string());
        };
        let key = self.pairwise_key().await?;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(key).map_err(|_| OAuthError::server_error())?;
        mac.update(sector.as_bytes());
        mac.update(&[0]);
        mac.update(user_id.as_bytes());
        Ok(jwt::b64(&mac.finalize().into_bytes()))
    }

    async fn pairwise_key(&self) -> Result<&Vec<u8>, OAuthError> {
        self.pairwise_key
            .get_or_try_init(|| async {
                let mut fresh = [0_u8; 32];
                getrandom::getrandom(&mut fresh).map_err(|_| OAuthError::server_error())?;
                let sealed = self
                    .sealer
                    .seal(PAIRWISE_SETTING, &fresh)
                    .map_err(|_| OAuthError::server_error())?;
                // Another node may have stored its key first: everyone uses the stored one.
                let stored = self
                    .store
                    .setting_or_insert(PAIRWISE_SETTING, &sealed)
                    .await?;
                self.sealer.open(PAIRWISE_SETTING, &stored).map_err(|e| {
                    tracing::error!(error = %e, "the pairwise subject key cannot be opened");
                    OAuthError::server_error()
                })
            })
            .await
    }
}
