//! Signing keys for federation (SAML assertions, OIDC tokens) and one-time values.
//!
//! The store never sees a private key in the clear: callers seal it with the master key first.
//! Per purpose and algorithm one key signs; a rotation retires it (it stops signing) but keeps
//! it published for an overlap, so relying parties with a cached copy keep verifying.

use serde_json::json;
use sqlx::Row;
use trustplane_model::{Actor, Event, Outcome, Target, Timestamp};

use crate::db::{Bind, Store};
use crate::error::Result;

/// A stored signing key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// Key id (`kid` in a JWKS).
    pub id: String,
    /// What it signs: `saml`, `oidc`.
    pub purpose: String,
    /// Signature algorithm, e.g. `RS256`, `ES256`.
    pub algorithm: String,
    /// The private key, sealed with the master key.
    pub private_key: String,
    /// The public part (a certificate, a JWK), as the purpose encodes it.
    pub public_key: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stopped signing; `None` for the key that signs now.
    pub retired_at: Option<Timestamp>,
}

/// A key to add.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// Key id.
    pub id: String,
    /// What it signs.
    pub purpose: String,
    /// Signature algorithm.
    pub algorithm: String,
    /// The sealed private key.
    pub private_key: String,
    /// The public part.
    pub public_key: String,
}

impl Store {
    /// The keys of a purpose that are still published (the signing ones and those retired
    /// within their overlap), newest first.
    pub async fn signing_keys(&self, purpose: &str) -> Result<Vec<StoredKey>> {
        let _t = self.timer("keys.list");
        let rows = self
            .fetch_all(
                "SELECT id, purpose, algorithm, private_key, public_key, created_at, retired_at \
                 FROM signing_keys WHERE purpose = $1 AND (published_until IS NULL OR published_until > $2) \
                 ORDER BY created_at DESC, id",
                &[Bind::Text(purpose.into()), Bind::Int(self.clock.now_ms())],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredKey {
                    id: r.try_get("id")?,
                    purpose: r.try_get("purpose")?,
                    algorithm: r.try_get("algorithm")?,
                    private_key: r.try_get("private_key")?,
                    public_key: r.try_get("public_key")?,
                    created_at: r.try_get("created_at")?,
                    retired_at: r.try_get("retired_at")?,
                })
            })
            .collect()
    }

    /// Adds the first key of a purpose and algorithm unless one signs already (another node
    /// may have been quicker). Returns whether this key was stored.
    pub async fn add_first_signing_key(&self, key: NewKey) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let inserted = tx
            .execute(
                "INSERT INTO signing_keys (id, purpose, algorithm, private_key, public_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &key_binds(&key, now),
            )
            .await?;
        if inserted == 1 {
            tx.touch(crate::changes::Topic::SigningKeys).await?;
            tx.audit(key_event(&Actor::system(), &key, "signingKey.create", None))
                .await?;
        }
        tx.commit().await?;
        Ok(inserted == 1)
    }

    /// Makes `key` the signing key of its purpose and algorithm; the one it replaces stops
    /// signing now and stays published for `overlap_ms`.
    pub async fn rotate_signing_key(
        &self,
        actor: &Actor,
        key: NewKey,
        overlap_ms: i64,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        tx.execute(
            "UPDATE signing_keys SET retired_at = $1, published_until = $2 \
             WHERE purpose = $3 AND algorithm = $4 AND retired_at IS NULL",
            &[
                Bind::Int(now),
                Bind::Int(now.saturating_add(overlap_ms)),
                Bind::Text(key.purpose.clone()),
                Bind::Text(key.algorithm.clone()),
            ],
        )
        .await?;
        tx.execute(
            "INSERT INTO signing_keys (id, purpose, algorithm, private_key, public_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &key_binds(&key, now),
        )
        .await?;
        tx.touch(crate::changes::Topic::SigningKeys).await?;
        tx.audit(key_event(
            actor,
            &key,
            "signingKey.rotate",
            Some(overlap_ms),
        ))
        .await?;
        tx.commit().await
    }

    /// Records a one-time value (a SAML request id, an authorization code) as used until
    /// `expires_at`. Returns `false` when it was used before: the caller must refuse it.
    pub async fn use_once(&self, id: &str, expires_at: Timestamp) -> Result<bool> {
        let _t = self.timer("once.use");
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        // Expired values can never be accepted again by their own checks, so they go.
        tx.execute(
            "DELETE FROM used_once WHERE expires_at <= $1",
            &[Bind::Int(now)],
        )
        .await?;
        let inserted = tx
            .execute(
                "INSERT INTO used_once (id, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[Bind::Text(id.into()), Bind::Int(expires_at)],
            )
            .await?;
        tx.commit().await?;
        Ok(inserted == 1)
    }
}

fn key_binds(key: &NewKey, now: Timestamp) -> [Bind; 6] {
    [
        Bind::Text(key.id.clone()),
        Bind::Text(key.purpose.clone()),
        Bind::Text(key.algorithm.clone()),
        Bind::Text(key.private_key.clone()),
        Bind::Text(key.public_key.clone()),
        Bind::Int(now),
    ]
}

fn key_event(actor: &Actor, key: &NewKey, activity: &str, overlap_ms: Option<i64>) -> Event {
    Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "keyManagement".into(),
        activity: activity.into(),
        initiated_by: actor.clone(),
        target: Some(Target {
            kind: "signingKey".into(),
            id: key.id.clone(),
            display_name: Some(format!("{} {}", key.purpose, key.algorithm)),
        }),
        result: Outcome::Success,
        result_reason: None,
        before: None,
        // The public part only: the private key never enters the audit trail.
        after: Some(json!({
            "purpose": key.purpose,
            "algorithm": key.algorithm,
            "publicKey": key.public_key,
            "overlapMilliseconds": overlap_ms,
        })),
    }
}
