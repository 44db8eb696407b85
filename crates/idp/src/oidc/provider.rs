//! The provider itself: its issuer, its two signing key rings, the pairwise-subject secret and
//! the group-committing audit writer every endpoint records through.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::OnceCell;
use trustplane_keyring::{KeyRing, KeyRingError, Sealer};
use trustplane_store::Store;

use super::audit;
use super::clients::{self, Client};
use super::error::OAuthError;
use super::jwt::{self, Jws};
use super::keys::{published_jwk, Alg, Es256, Rs256, Sign};

/// The provider's keys, issuer and pairwise-subject secret.
pub struct Oidc {
    store: Store,
    /// Entries that go with no other change, written with group commit.
    pub audit: audit::AuditWriter,
    pub(crate) sealer: Sealer,
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

    /// The store the provider keeps its grants, codes and tokens in.
    pub fn store(&self) -> &Store {
        &self.store
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
