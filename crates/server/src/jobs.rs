//! Background jobs. Each runs on exactly one node at a time: a node works only while it holds
//! the job's lease in the database, and renews it each round.

use std::path::{Path, PathBuf};
use std::time::Duration;

use trustplane_store::{AuditAnchor, Store};

/// Lease lifetime: a node that dies loses the job to another after this long.
const LEASE_TTL_MS: i64 = 30_000;

/// Every `every`, the lease holder records the audit chain's head as a checkpoint, and
/// appends each new one to `anchor_file` when given.
pub fn spawn_audit_checkpoints(
    store: Store,
    node_id: String,
    every: Duration,
    anchor_file: Option<PathBuf>,
) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match store
                .try_acquire_lease(
                    "audit-checkpoint",
                    &node_id,
                    LEASE_TTL_MS.max(every.as_millis() as i64 * 2),
                )
                .await
            {
                Ok(true) => match store.write_audit_checkpoint(&node_id).await {
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
                },
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "could not take the audit-checkpoint lease"),
            }
        }
    });
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

/// Every few seconds, the lease holder runs Trustplane's own new sign-in and audit events
/// through the detection pipeline.
pub fn spawn_own_event_detection(
    store: Store,
    detection: std::sync::Arc<crate::detection::Detection>,
    node_id: String,
) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(5));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match store
                .try_acquire_lease("own-event-detection", &node_id, LEASE_TTL_MS)
                .await
            {
                Ok(true) => {
                    if let Err(e) = detection.process_own_events().await {
                        tracing::warn!(error = %e, "detection over own events failed");
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "could not take the detection lease"),
            }
        }
    });
}

/// Scheduled scans of connected accounts and polls of S3 log sources, each under its own
/// lease. A scan can outlast the lease's lifetime, so the lease is renewed while the work
/// runs, and the work stops if the lease is lost.
pub fn spawn_cloud_jobs(store: Store, cloud: std::sync::Arc<crate::cloud::Cloud>, node_id: String) {
    let (s, c, n) = (store.clone(), cloud.clone(), node_id.clone());
    tokio::spawn(async move {
        every(Duration::from_secs(30), || {
            under_lease(&s, "cloud-scans", &n, async {
                if let Err(e) = c.scan_due().await {
                    tracing::warn!(error = %e, "scheduled cloud scans failed");
                }
            })
        })
        .await;
    });
    tokio::spawn(async move {
        every(Duration::from_secs(10), || {
            under_lease(&store, "log-sources", &node_id, async {
                if let Err(e) = cloud.poll_due().await {
                    tracing::warn!(error = %e, "log source polls failed");
                }
            })
        })
        .await;
    });
}

async fn every<F, Fut>(period: Duration, mut round: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        round().await;
    }
}

/// Runs `work` if this node holds (or takes) the lease `name`, renewing it every third of
/// its lifetime; if a renewal fails, `work` is dropped where it stands.
async fn under_lease<Fut>(store: &Store, name: &str, node_id: &str, work: Fut)
where
    Fut: std::future::Future<Output = ()>,
{
    match store.try_acquire_lease(name, node_id, LEASE_TTL_MS).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %e, lease = name, "could not take the lease");
            return;
        }
    }
    let renew = async {
        let third = Duration::from_millis((LEASE_TTL_MS / 3) as u64);
        loop {
            tokio::time::sleep(third).await;
            match store.try_acquire_lease(name, node_id, LEASE_TTL_MS).await {
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

/// Privileged identity management: every few seconds the lease holder starts due
/// activations, expires ended ones and takes their grants back, completes reviews past their
/// deadline and delivers webhooks; every quarter hour it reconciles the clouds' grants with
/// Trustplane's. Both run at once when the node starts, so an expiry missed while no node
/// was up happens straight away.
pub fn spawn_pim_jobs(store: Store, pim: std::sync::Arc<crate::pim::Pim>, node_id: String) {
    let (s, p, n) = (store.clone(), pim.clone(), node_id.clone());
    tokio::spawn(async move {
        every(Duration::from_secs(5), || {
            under_lease(&s, "pim", &n, async {
                if let Err(e) = p.run_due().await {
                    tracing::warn!(error = %e, "PIM round failed");
                }
            })
        })
        .await;
    });
    tokio::spawn(async move {
        every(Duration::from_secs(15 * 60), || {
            under_lease(&store, "pim-reconcile", &node_id, async {
                match pim.reconcile(&trustplane_model::Actor::system()).await {
                    Ok((found, unreadable)) if !found.is_empty() || !unreadable.is_empty() => {
                        tracing::warn!(
                            outside = found.len(),
                            unreadable = unreadable.len(),
                            "PIM reconciliation found grants made outside Trustplane or could not read a cloud"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "PIM reconciliation failed"),
                }
            })
        })
        .await;
    });
}
