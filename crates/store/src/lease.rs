//! Leases: a named background job runs on exactly one node at a time. A node holds a lease
//! until it expires; renewing before then keeps it; after expiry any node may take it.

use crate::db::{Bind, Store};
use crate::error::Result;

impl Store {
    /// Takes or renews the lease `name` for `holder` for `ttl_ms`. Returns whether `holder`
    /// now holds it.
    pub async fn try_acquire_lease(&self, name: &str, holder: &str, ttl_ms: i64) -> Result<bool> {
        let _t = self.timer("lease.acquire");
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        // One statement, so two nodes racing for a free lease cannot both win: the row's
        // unique key serialises them and the WHERE clause refuses the loser.
        let changed = tx
            .execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE leases.holder = excluded.holder OR leases.expires_at <= $4",
                &[
                    Bind::Text(name.into()),
                    Bind::Text(holder.into()),
                    Bind::Int(now.saturating_add(ttl_ms)),
                    Bind::Int(now),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(changed == 1)
    }

    /// Gives up a lease early (on shutdown), if `holder` holds it.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        tx.execute(
            "DELETE FROM leases WHERE name = $1 AND holder = $2",
            &[Bind::Text(name.into()), Bind::Text(holder.into())],
        )
        .await?;
        tx.commit().await
    }
}
