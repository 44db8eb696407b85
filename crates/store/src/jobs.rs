//! Background jobs, each on exactly one node at a time: a node works only while it holds the
//! job's lease in the database, and renews it while the work runs. Engines describe their
//! jobs with [`spawn_leased`]; the node starts them.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{AuditAnchor, Store};

/// Lease lifetime: a node that dies loses the job to another after this long.
pub const LEASE_TTL_MS: i64 = 30_000;

/// Spawns a job that every `period` runs `round` on the one node holding the lease `name`.
/// A round can outlast the lease's lifetime, so the lease is renewed while it runs, and the
/// round is dropped where it stands if the lease is lost. The first round is at once.
pub fn spawn_leased<F, Fut>(
    store: Store,
    name: &'static str,
    node_id: String,
    period: Duration,
    round: F,
) where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    spawn_with_ttl(store, name, node_id, period, LEASE_TTL_MS, round);
}

/// As [`spawn_leased`], with the lease lasting `ttl_ms`.
fn spawn_with_ttl<F, Fut>(
    store: Store,
    name: &'static str,
    node_id: String,
    period: Duration,
    ttl_ms: i64,
    mut round: F,
) where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            under_lease(&store, name, &node_id, ttl_ms, round()).await;
        }
    });
}

/// Runs `work` if this node holds (or takes) the lease `name`, renewing it every third of
/// its lifetime; if a renewal fails, `work` is dropped where it stands.
async fn under_lease<Fut>(store: &Store, name: &str, node_id: &str, ttl_ms: i64, work: Fut)
where
    Fut: Future<Output = ()>,
{
    match store.try_acquire_lease(name, node_id, ttl_ms).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %e, lease = name, "could not take the lease");
            return;
        }
    }
    let renew = async {
        let third = Duration::from_millis((ttl_ms / 3).unsigned_abs());
        loop {
            tokio::time::sleep(third).await;
            match store.try_acquire_lease(name, node_id, ttl_ms).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, lease = name, "could not renew the lease");
                    break;
                }
            }
        }
    };
    tokio::select! {
        _ = work => {}
        _ = renew => tracing::warn!(lease = name, "lost the lease; the job stops here"),
    }
}

impl Store {
    /// Every `every`, the lease holder records the audit chain's head as a checkpoint, and
    /// appends each new one to `anchor_file` when given.
    pub fn spawn_audit_checkpoints(
        &self,
        node_id: String,
        every: Duration,
        anchor_file: Option<PathBuf>,
    ) {
        let store = self.clone();
        spawn_leased(
            self.clone(),
            "audit-checkpoint",
            node_id.clone(),
            every,
            move || {
                let (store, node_id, anchor_file) =
                    (store.clone(), node_id.clone(), anchor_file.clone());
                async move {
                    match store.write_audit_checkpoint(&node_id).await {
                        Ok(Some(anchor)) => {
                            tracing::debug!(seq = anchor.sequence, "audit checkpoint written");
                            if let Some(path) = &anchor_file {
                                if let Err(e) = append_anchor(path, &anchor) {
                                    tracing::error!(path = %path.display(), error = %e, "the audit checkpoint could not be appended to the anchor file");
                                }
                            }
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!(error = %e, "audit checkpoint failed"),
                    }
                }
            },
        );
    }
}

/// Appends one checkpoint as a JSON line, synced to disk before the next one is taken.
pub fn append_anchor(path: &Path, anchor: &AuditAnchor) -> std::io::Result<()> {
    use std::io::Write;
    let mut line = serde_json::to_vec(anchor).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(path)?;
    file.write_all(&line)?;
    file.sync_data()
}
