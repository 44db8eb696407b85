//! Key rings for federation: the key that signs now for one purpose and algorithm (SAML
//! assertions, OIDC tokens), and every key still published for it.
//!
//! Private keys are sealed with the master key in the store and opened here. The first key is
//! made on first use; nodes that start together agree on one through the store. A ring caches
//! its parsed keys and reloads them now and then, so a rotation made on another node is picked
//! up; the retired key stays published for an overlap, so nothing signed in between fails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::RwLock;
use trustplane_model::Actor;
use trustplane_store::{NewKey, Store, StoreError, StoredKey, Topic};

use crate::sealer::Sealer;

/// Why a ring has no usable key.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key could not be made, opened or read.
    #[error("signing key: {0}")]
    Key(String),
}

/// How long a ring trusts its cached keys before reading the store again.
const RELOAD_AFTER: Duration = Duration::from_secs(60);

/// What a purpose needs to make and read its keys.
pub trait KeyKind: Send + Sync + 'static {
    /// The parsed private key, ready to sign.
    type Signer: Send + Sync + 'static;
    /// What the keys sign: `saml`, `oidc`.
    const PURPOSE: &'static str;
    /// The algorithm name stored with each key.
    fn algorithm(&self) -> &'static str;
    /// A fresh key: (private key DER, public part as the purpose publishes it).
    fn generate(&self) -> Result<(Vec<u8>, String), String>;
    /// Reads a private key made by `generate`.
    fn parse(&self, private_der: &[u8], public: &str) -> Result<Self::Signer, String>;
}

/// A key that may be published.
#[derive(Debug, Clone)]
pub struct PublishedKey {
    /// Key id.
    pub id: String,
    /// Algorithm.
    pub algorithm: String,
    /// The public part.
    pub public_key: String,
    /// Whether it signs now.
    pub signing: bool,
}

/// The keys of a ring at one moment.
pub struct LoadedKeys<S> {
    /// The id of the key that signs.
    pub signing_id: String,
    /// The key that signs.
    pub signer: S,
    /// Every published key of the ring's purpose and algorithm, newest first.
    pub published: Vec<PublishedKey>,
}

/// Keys as loaded, and when.
/// When the keys were read, the signing-key generation then, and the keys.
type Cached<S> = (Instant, u64, Arc<LoadedKeys<S>>);

/// One purpose and algorithm's keys.
pub struct KeyRing<K: KeyKind> {
    kind: Arc<K>,
    store: Store,
    sealer: Sealer,
    cache: RwLock<Option<Cached<K::Signer>>>,
}

impl<K: KeyKind> KeyRing<K> {
    /// A ring over the store.
    pub fn new(kind: K, store: Store, sealer: Sealer) -> Self {
        KeyRing {
            kind: Arc::new(kind),
            store,
            sealer,
            cache: RwLock::new(None),
        }
    }

    /// The current keys, making the first one if there is none yet.
    pub async fn current(&self) -> Result<Arc<LoadedKeys<K::Signer>>, KeyRingError> {
        // A rotation here or on another node (announced on PostgreSQL) reloads at once; the
        // age bound covers a missed announcement.
        let generation = self.store.changes().generation(Topic::SigningKeys);
        if let Some((at, seen, keys)) = self.cache.read().await.as_ref() {
            if *seen == generation && at.elapsed() < RELOAD_AFTER {
                return Ok(keys.clone());
            }
        }
        let mut cache = self.cache.write().await;
        let mut stored = self.stored().await?;
        if !stored.iter().any(|k| k.retired_at.is_none()) {
            let first = self.new_key().await?;
            self.store.add_first_signing_key(first).await?;
            stored = self.stored().await?;
        }
        let keys = Arc::new(self.load(&stored)?);
        *cache = Some((Instant::now(), generation, keys.clone()));
        Ok(keys)
    }

    /// Replaces the signing key with a new one; the old one stays published for `overlap`.
    pub async fn rotate(&self, actor: &Actor, overlap: Duration) -> Result<String, KeyRingError> {
        let key = self.new_key().await?;
        let id = key.id.clone();
        let overlap_ms = i64::try_from(overlap.as_millis()).unwrap_or(i64::MAX);
        self.store
            .rotate_signing_key(actor, key, overlap_ms)
            .await?;
        *self.cache.write().await = None;
        Ok(id)
    }

    async fn stored(&self) -> Result<Vec<StoredKey>, KeyRingError> {
        let all = self.store.signing_keys(K::PURPOSE).await?;
        Ok(all
            .into_iter()
            .filter(|k| k.algorithm == self.kind.algorithm())
            .collect())
    }

    async fn new_key(&self) -> Result<NewKey, KeyRingError> {
        let id = trustplane_model::new_id();
        // Key generation (RSA especially) takes long enough to keep it off the async threads.
        let kind = self.kind.clone();
        let (private_der, public_key) = tokio::task::spawn_blocking(move || kind.generate())
            .await
            .map_err(|e| KeyRingError::Key(e.to_string()))?
            .map_err(KeyRingError::Key)?;
        let private_key = self
            .sealer
            .seal(&seal_context(K::PURPOSE, &id), &private_der)
            .map_err(|e| KeyRingError::Key(e.to_string()))?;
        Ok(NewKey {
            id,
            purpose: K::PURPOSE.into(),
            algorithm: self.kind.algorithm().into(),
            private_key,
            public_key,
        })
    }

    fn load(&self, stored: &[StoredKey]) -> Result<LoadedKeys<K::Signer>, KeyRingError> {
        let signing = stored
            .iter()
            .find(|k| k.retired_at.is_none())
            .ok_or_else(|| KeyRingError::Key("no signing key".into()))?;
        let der = self
            .sealer
            .open(&seal_context(K::PURPOSE, &signing.id), &signing.private_key)
            .map_err(|e| KeyRingError::Key(e.to_string()))?;
        let signer = self
            .kind
            .parse(&der, &signing.public_key)
            .map_err(KeyRingError::Key)?;
        Ok(LoadedKeys {
            signing_id: signing.id.clone(),
            signer,
            published: stored
                .iter()
                .map(|k| PublishedKey {
                    id: k.id.clone(),
                    algorithm: k.algorithm.clone(),
                    public_key: k.public_key.clone(),
                    signing: k.retired_at.is_none(),
                })
                .collect(),
        })
    }
}

/// A sealed key opens only in its own row.
fn seal_context(purpose: &str, id: &str) -> String {
    format!("signing-key:{purpose}:{id}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use trustplane_model::ManualClock;

    struct Plain;

    impl KeyKind for Plain {
        type Signer = Vec<u8>;
        const PURPOSE: &'static str = "test";
        fn algorithm(&self) -> &'static str {
            "T1"
        }
        fn generate(&self) -> Result<(Vec<u8>, String), String> {
            let mut key = vec![0_u8; 16];
            getrandom::getrandom(&mut key).map_err(|e| e.to_string())?;
            Ok((key.clone(), hex::encode(&key)))
        }
        fn parse(&self, der: &[u8], public: &str) -> Result<Vec<u8>, String> {
            (hex::encode(der) == public)
                .then(|| der.to_vec())
                .ok_or_else(|| "public part does not match".into())
        }
    }

    #[tokio::test]
    async fn the_first_key_is_made_once_sealed_and_rotation_keeps_the_old_one_published() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/k.db?mode=rwc", dir.path().display());
        let clock = ManualClock::new(1_790_000_000_000);
        let store = Store::open(&url, Arc::new(clock.clone())).await.unwrap();
        let sealer = Sealer::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        let ring = KeyRing::new(Plain, store.clone(), sealer.clone());
        let first = ring.current().await.unwrap();
        // A second ring (another node) finds the same key instead of making its own.
        let other = KeyRing::new(Plain, store.clone(), sealer);
        assert_eq!(other.current().await.unwrap().signing_id, first.signing_id);
        // The store holds the key sealed, not in the clear.
        let stored = store.signing_keys("test").await.unwrap();
        assert!(!stored[0].private_key.contains(&stored[0].public_key));

        // Keys list newest first; made in the same millisecond, their order would be the ids'.
        clock.advance_ms(1);
        let new_id = ring
            .rotate(&Actor::system(), Duration::from_secs(3600))
            .await
            .unwrap();
        let now = ring.current().await.unwrap();
        assert_eq!(now.signing_id, new_id);
        let published: Vec<_> = now
            .published
            .iter()
            .map(|k| (k.id.clone(), k.signing))
            .collect();
        assert_eq!(
            published,
            vec![(new_id.clone(), true), (first.signing_id.clone(), false)]
        );
        // The other ring read its keys before the rotation; it signs with the new key and
        // publishes it at once, not a minute later.
        assert_eq!(other.current().await.unwrap().signing_id, new_id);
    }
}
