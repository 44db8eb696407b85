//! Nothing acknowledged is lost: SIGKILL in the middle of a burst of writes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::both_backends;
use crate::harness::*;

both_backends!(sigkill_during_a_burst_loses_no_acknowledged_write);

const WRITERS: usize = 6;
const KILL_AFTER: usize = 120;

async fn sigkill_during_a_burst_loses_no_acknowledged_write(db: Db) {
    let mut node = db.start().await;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let base = node.base.clone();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (acknowledged, count, base) = (acknowledged.clone(), count.clone(), base.clone());
        writers.push(tokio::spawn(async move {
            let client = http();
            for i in 0..10_000 {
                let upn = format!("w{w}-{i}@example.com");
                let sent = client
                    .post(format!("{base}/api/v1/users"))
                    .bearer_auth(TOKEN)
                    .json(&json!({"userPrincipalName": upn, "displayName": "burst"}))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().as_u16() == 201 => {
                        acknowledged.lock().unwrap().push(upn);
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    // The server died under us: this one was never acknowledged.
                    _ => return,
                }
            }
        }));
    }
    // Kill once enough writes were answered, while the writers are still sending.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while count.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(
            std::time::Instant::now() < deadline,
            "the burst did not get going"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    node.kill();
    for w in writers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= KILL_AFTER);

    let (code, report) = audit_verify(&db);
    assert_eq!(code, 0, "audit chain after SIGKILL: {report}");
    let node = db.start().await;
    for upn in &acknowledged {
        let (status, user) = get(&node, &format!("/api/v1/users/{upn}")).await;
        assert_eq!(status, 200, "acknowledged {upn} was lost: {user}");
    }
    // Every stored user has its audit entry: the count of user.create entries matches.
    let (_, users) = get(
        &node,
        "/api/v1/users?$top=999&$filter=displayName%20eq%20'burst'",
    )
    .await;
    let stored = users["value"].as_array().unwrap().len();
    let (_, created) = get(&node, "/api/v1/audit?activity=user.create&$top=1000").await;
    let audited = created["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["after"]["displayName"] == "burst")
        .count();
    assert_eq!(stored, audited);
    assert!(stored >= acknowledged.len());
}
