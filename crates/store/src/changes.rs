//! What changed, for caches. Each topic has a generation that moves whenever a committed write
//! touched it: at once for writes of this node, and on PostgreSQL for writes of other nodes as
//! soon as their `NOTIFY` arrives. A cache keeps what it read with the generation it read it
//! at, and reads again once the generation moved; it also bounds the age of what it keeps, so a
//! lost notification (a listener reconnecting, another process on the same SQLite file) delays
//! a change by at most that age.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::PgListener;

/// The PostgreSQL channel writes announce their topics on.
pub(crate) const CHANNEL: &str = "trustplane_changes";

/// A kind of stored object caches keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Applications and their OIDC client secrets.
    Applications,
    /// Conditional-access policies and named locations.
    Policies,
    /// Signing keys (a rotation, or the first key of a purpose).
    SigningKeys,
}

impl Topic {
    const ALL: [Topic; 3] = [Topic::Applications, Topic::Policies, Topic::SigningKeys];

    fn index(self) -> usize {
        match self {
            Topic::Applications => 0,
            Topic::Policies => 1,
            Topic::SigningKeys => 2,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Topic::Applications => "applications",
            Topic::Policies => "policies",
            Topic::SigningKeys => "signingKeys",
        }
    }

    fn from_name(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// The generations of every topic.
#[derive(Debug)]
pub struct Changes {
    generations: [AtomicU64; 3],
    listening: AtomicBool,
    /// Names this store in its notifications, so it does not count its own twice.
    origin: String,
}

impl Default for Changes {
    fn default() -> Self {
        Changes {
            generations: Default::default(),
            listening: AtomicBool::new(false),
            origin: trustplane_model::new_id(),
        }
    }
}

impl Changes {
    /// The topic's generation now.
    pub fn generation(&self, topic: Topic) -> u64 {
        self.generations[topic.index()].load(Ordering::Acquire)
    }

    /// The payload announcing a change of `topic` made here.
    pub(crate) fn payload(&self, topic: Topic) -> String {
        format!("{} {}", topic.name(), self.origin)
    }

    /// On PostgreSQL, whether other nodes' changes are being heard now.
    pub fn listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    pub(crate) fn bump(&self, topic: Topic) {
        self.generations[topic.index()].fetch_add(1, Ordering::AcqRel);
    }

    fn bump_all(&self) {
        for t in Topic::ALL {
            self.bump(t);
        }
    }
}

/// Listens for other nodes' writes on PostgreSQL until the store is dropped. Whenever the
/// connection is lost, every topic moves (something may have been missed) and it reconnects.
pub(crate) fn listen(url: String, changes: &Arc<Changes>) {
    let weak: Weak<Changes> = Arc::downgrade(changes);
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            let Some(changes) = weak.upgrade() else {
                return;
            };
            match subscribe(&url).await {
                Ok(mut listener) => {
                    backoff = Duration::from_millis(100);
                    // Anything written while no one listened counts as changed.
                    changes.bump_all();
                    changes.listening.store(true, Ordering::Release);
                    drop(changes);
                    loop {
                        // try_recv, not recv: recv reconnects silently, and what was
                        // announced meanwhile would be missed.
                        match tokio::time::timeout(Duration::from_secs(5), listener.try_recv())
                            .await
                        {
                            Ok(Ok(Some(n))) => {
                                let Some(changes) = weak.upgrade() else {
                                    return;
                                };
                                let (topic, origin) =
                                    n.payload().split_once(' ').unwrap_or((n.payload(), ""));
                                // Our own changes moved their topic when they committed.
                                if origin != changes.origin {
                                    match Topic::from_name(topic) {
                                        Some(t) => changes.bump(t),
                                        None => changes.bump_all(),
                                    }
                                }
                            }
                            Ok(Ok(None)) => {
                                tracing::warn!("lost the change notifications; reconnecting");
                                break;
                            }
                            Ok(Err(e)) => {
                                tracing::warn!(error = %e, "lost the change notifications; reconnecting");
                                break;
                            }
                            // No news: check the store still exists.
                            Err(_) => {
                                if weak.strong_count() == 0 {
                                    return;
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    drop(changes);
                    tracing::warn!(error = %e, "cannot listen for change notifications; retrying");
                }
            }
            if let Some(changes) = weak.upgrade() {
                changes.listening.store(false, Ordering::Release);
                changes.bump_all();
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    });
}

async fn subscribe(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
