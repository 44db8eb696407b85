//! Background jobs. Each runs on exactly one node at a time: a node works only while it holds
//! the job's lease in the database, and renews it each round.

use std::time::Duration;

use trustplane_store::Store;

/// Lease lifetime: a node that dies loses the job to another after this long.
const LEASE_TTL_MS: i64 = 30_000;

/// Every `every`, the lease holder records the audit chain's head as a checkpoint.
pub fn spawn_audit_checkpoints(store: Store, node_id: String, every: Duration) {
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
                    Ok(Some(seq)) => tracing::debug!(seq, "audit checkpoint written"),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "audit checkpoint failed"),
                },
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "could not take the audit-checkpoint lease"),
            }
        }
    });
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
