//! The provider itself: its issuer, its two signing key rings, the pairwise-subject secret and
//! the group-committing audit writer every endpoint records through.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::OnceCell;
use trustplane_keyring::{KeyRing, KeyRingError, Sealer};
use trustplane_store::{ClientSecret, Store, Topic};

use crate::ca::CACHE_FRESH_MS;

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
    /// Clients and their secrets as last read, so a token request costs no read for them.
    clients: RwLock<HashMap<String, CachedClient>>,
}

/// Most clients kept; past that the cache starts over (ids that name no client are never
/// kept, so unknown ids cannot fill it).
const MAX_CACHED_CLIENTS: usize = 4096;

/// A client and its secrets, and when they were last known current.
#[derive(Clone)]
pub(crate) struct CachedClient {
    generation: u64,
    read_at: i64,
    pub(crate) client: Client,
    pub(crate) secrets: Arc<Vec<ClientSecret>>,
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
            clients: RwLock::new(HashMap::new()),
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
        Ok(self.cached_client(client_id).await?.map(|c| c.client))
    }

    /// The client and its secrets: as last read while no application changed here or on
    /// another node and for at most [`CACHE_FRESH_MS`], else read again.
    pub(crate) async fn cached_client(
        &self,
        client_id: &str,
    ) -> Result<Option<CachedClient>, OAuthError> {
        // Taken before reading, so a change committed meanwhile is read next time.
        let generation = self.store.changes().generation(Topic::Applications);
        let now = self.store.clock().now_ms();
        if let Ok(map) = self.clients.read() {
            if let Some(c) = map.get(client_id) {
                let age = now - c.read_at;
                if c.generation == generation && (0..CACHE_FRESH_MS).contains(&age) {
                    return Ok(Some(c.clone()));
                }
            }
        }
        let Some(client) = clients::find(&self.store, client_id).await? else {
            return Ok(None);
        };
        let secrets = Arc::new(self.store.client_secrets(&client.app.id).await?);
        let cached = CachedClient {
            generation,
            read_at: now,
            client,
            secrets,
        };
        if let Ok(mut map) = self.clients.write() {
            if map.len() >= MAX_CACHED_CLIENTS {
                map.clear();
            }
            map.insert(client_id.to_string(), cached.clone());
        }
        Ok(Some(cached))
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
