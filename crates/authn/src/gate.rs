//! A bound on concurrent password hashing.
//!
//! Each argon2id computation holds [`MEMORY_KIB`](crate::password::MEMORY_KIB) (19 MiB) while it
//! runs, so without a bound memory grows with the number of sign-ins in flight: a flood of wrong
//! passwords, each address within its own limit, is enough to exhaust a node. A [`HashGate`]
//! runs at most `max_concurrent` computations at a time, lets at most `max_waiting` more wait
//! for a turn, and refuses the rest at once with [`GateError::Busy`].
//!
//! The work runs on `max_concurrent` threads of the gate's own rather than on tokio's blocking
//! pool: the allocator keeps freed memory per thread, so hashing spread over a pool that grows
//! and shrinks leaves up to 19 MiB behind in each of many threads' arenas (measured: with the
//! count bounded at 4 on the blocking pool, peak memory still grew with the number of
//! attempts). A fixed set of threads, each computing one hash at a time, reuses its memory.
//!
//! Every hash and every verification goes through it, the stand-in check for unknown users
//! included, so memory is bounded whoever the attempts name.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex};

use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::password::{self, PasswordCheck};
use crate::AuthnError;

/// What to tell a refused caller: a slot frees as soon as one computation ends (tens of
/// milliseconds), so one second is ample.
const RETRY_AFTER_SECS: u64 = 1;

/// Why gated work did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GateError {
    /// Every slot is taken and the queue is full: try again later.
    #[error(
        "too many passwords are being checked right now; try again in {retry_after_secs} seconds"
    )]
    Busy {
        /// When to try again.
        retry_after_secs: u64,
    },
    /// The work ended without an answer (it panicked, or the gate's threads are gone).
    #[error("the password hashing task failed")]
    Failed,
}

/// Work for the gate's threads, with the caller's place in the gate.
struct Job {
    work: Box<dyn FnOnce() + Send>,
    /// Released when the work ends, not when the caller stops waiting for it: a client that
    /// disconnects must not free a place whose memory is still in use.
    _admitted: OwnedSemaphorePermit,
}

/// Runs password hashing with at most `max_concurrent` computations at once and at most
/// `max_waiting` callers waiting; see the [module documentation](self).
pub struct HashGate {
    /// Running plus waiting: refused at once when none is left.
    admitted: Arc<Semaphore>,
    /// To the worker threads (they end when the gate is dropped).
    jobs: Mutex<mpsc::Sender<Job>>,
    max_concurrent: usize,
    max_waiting: usize,
}

impl std::fmt::Debug for HashGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashGate")
            .field("max_concurrent", &self.max_concurrent)
            .field("max_waiting", &self.max_waiting)
            .field("in_use", &self.in_use())
            .finish()
    }
}

/// More threads than this is a configuration mistake, not a machine.
const MAX_THREADS: usize = 1024;

impl Default for HashGate {
    /// Twice the cores at once (argon2id with one lane keeps a core busy, and a little overlap
    /// hides scheduling gaps), and 32 waiting per running slot.
    fn default() -> Self {
        let concurrent = Self::default_concurrency();
        Self::new(concurrent, concurrent.saturating_mul(32))
    }
}

impl HashGate {
    /// A gate for `max_concurrent` computations at once (1 to 1024; that many threads are
    /// started) and `max_waiting` more in the queue (0 refuses whatever cannot start at once).
    pub fn new(max_concurrent: usize, max_waiting: usize) -> Self {
        let max_concurrent = max_concurrent.clamp(1, MAX_THREADS);
        // tokio's semaphores hold at most `MAX_PERMITS`.
        let max_waiting = max_waiting.min(Semaphore::MAX_PERMITS / 2);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..max_concurrent {
            let rx = rx.clone();
            let started = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || loop {
                    // A poisoned lock only means a worker panicked while taking a job.
                    let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(job) = next else {
                        return; // the gate is gone
                    };
                    // A panic ends this job (its caller gets `Failed`), never the worker.
                    let _ = catch_unwind(AssertUnwindSafe(job.work));
                });
            if started.is_err() {
                // Fewer threads than asked means less parallelism; the bound still holds.
                break;
            }
        }
        HashGate {
            admitted: Arc::new(Semaphore::new(max_concurrent + max_waiting)),
            jobs: Mutex::new(tx),
            max_concurrent,
            max_waiting,
        }
    }

    /// Twice the number of cores this process may use.
    pub fn default_concurrency() -> usize {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .saturating_mul(2)
    }

    /// Computations allowed at once.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// Callers allowed to wait.
    pub fn max_waiting(&self) -> usize {
        self.max_waiting
    }

    /// Callers inside the gate now, running or waiting.
    pub fn in_use(&self) -> usize {
        (self.max_concurrent + self.max_waiting) - self.admitted.available_permits()
    }

    /// Runs `work` on one of the gate's threads when one is free, or refuses at once when the
    /// queue is full.
    pub async fn run<T, F>(&self, work: F) -> Result<T, GateError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| GateError::Busy {
                retry_after_secs: RETRY_AFTER_SECS,
            })?;
        let (answer, answered) = oneshot::channel();
        let job = Job {
            work: Box::new(move || {
                // Nobody waits for it any more (the client went away): skip the work.
                if !answer.is_closed() {
                    let _ = answer.send(work());
                }
            }),
            _admitted: admitted,
        };
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .map_err(|_| GateError::Failed)?;
        answered.await.map_err(|_| GateError::Failed)
    }

    /// Checks `password` against `stored`; with no stored hash (unknown user, no password, or a
    /// check the caller must not make), spends the same work on a stand-in hash and answers
    /// `None`. A stored hash that cannot be read answers `None` too.
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<String>,
    ) -> Result<Option<PasswordCheck>, GateError> {
        let password = password.to_string();
        self.run(move || match stored {
            Some(phc) => password::verify_password(&password, &phc).ok(),
            None => {
                password::dummy_verify(&password);
                None
            }
        })
        .await
    }

    /// Hashes a new password (see [`hash_password`](password::hash_password)).
    pub async fn hash(&self, password: &str) -> Result<Result<String, AuthnError>, GateError> {
        let password = password.to_string();
        self.run(move || password::hash_password(&password)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Fills `n` slots of `gate` with work that runs until the returned sender is dropped or
    /// sent to; waits until all `n` are inside the gate.
    async fn hold(
        gate: &Arc<HashGate>,
        n: usize,
    ) -> (mpsc::Sender<()>, Vec<tokio::task::JoinHandle<()>>) {
        let (tx, rx) = mpsc::channel::<()>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let before = gate.in_use();
        let mut tasks = Vec::new();
        for _ in 0..n {
            let gate = gate.clone();
            let rx = rx.clone();
            tasks.push(tokio::spawn(async move {
                gate.run(move || {
                    let _ = rx.lock().map(|r| r.recv());
                })
                .await
                .unwrap();
            }));
        }
        while gate.in_use() < before + n {
            tokio::task::yield_now().await;
        }
        (tx, tasks)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_bound_and_the_queue_hold_then_the_next_is_refused() {
        let gate = Arc::new(HashGate::new(2, 3));
        let (release, held) = hold(&gate, 5).await;
        assert_eq!(gate.in_use(), 5);
        // Every kind of call is refused at once, the stand-in for unknown users too.
        assert_eq!(
            gate.verify("guess", None).await,
            Err(GateError::Busy {
                retry_after_secs: 1
            })
        );
        let phc = password::hash_password("correct horse battery staple").unwrap();
        assert!(matches!(
            gate.verify("guess", Some(phc.clone())).await,
            Err(GateError::Busy { .. })
        ));
        assert!(matches!(
            gate.hash("a new password").await,
            Err(GateError::Busy { .. })
        ));
        assert_eq!(gate.in_use(), 5, "refusals take no slot");
        drop(release);
        for t in held {
            t.await.unwrap();
        }
        assert_eq!(gate.in_use(), 0);
        let check = gate
            .verify("correct horse battery staple", Some(phc))
            .await
            .unwrap()
            .unwrap();
        assert!(check.valid);
        assert_eq!(gate.verify("guess", None).await, Ok(None));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_bound_run_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let gate = Arc::new(HashGate::new(2, 100));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    gate.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        password::dummy_verify("x");
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(()));
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_that_gives_up_keeps_its_place_until_its_work_ends_or_is_skipped() {
        let gate = Arc::new(HashGate::new(1, 1));
        let (tx, rx) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let g = gate.clone();
        let caller = tokio::spawn(async move {
            g.run(move || {
                let _ = started_tx.send(());
                rx.recv()
            })
            .await
        });
        while started.try_recv().is_err() {
            tokio::task::yield_now().await;
        }
        // A caller still waiting for its turn gives up: its work is skipped when its turn
        // comes (its place is kept until then, which only errs on the safe side).
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let r = ran.clone();
        let g = gate.clone();
        let waiting = tokio::spawn(async move {
            g.run(move || r.store(true, std::sync::atomic::Ordering::SeqCst))
                .await
        });
        while gate.in_use() < 2 {
            tokio::task::yield_now().await;
        }
        waiting.abort();
        let _ = waiting.await;
        // The client of the running one went away: its request future is dropped, the
        // computation goes on and keeps its place.
        caller.abort();
        let _ = caller.await;
        assert_eq!(gate.in_use(), 2);
        assert!(matches!(gate.run(|| ()).await, Err(GateError::Busy { .. })));
        tx.send(()).unwrap();
        while gate.in_use() > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.run(|| 7).await, Ok(7));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[test]
    fn sizes_are_clamped() {
        let g = HashGate::new(0, 0);
        assert_eq!((g.max_concurrent(), g.max_waiting()), (1, 0));
        assert!(HashGate::default().max_concurrent() >= 2);
    }
}
