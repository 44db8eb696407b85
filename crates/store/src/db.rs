//! Connecting, the backend switch and write transactions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};
use trustplane_model::{Clock, Timestamp};

use crate::error::{Result, StoreError};

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file in WAL mode.
    Sqlite,
    /// A PostgreSQL server, possibly shared by several nodes.
    Postgres,
}

/// A handle on the database. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) clock: Arc<dyn Clock>,
    /// SQLite allows one writer at a time; taking this lock first turns what would be
    /// busy-retries inside SQLite into an orderly queue. PostgreSQL does not need it.
    write_lock: Arc<Mutex<()>>,
    /// The audit chain's key, once a holder of the master key has given it; shared by clones.
    pub(crate) audit_key: Arc<std::sync::OnceLock<crate::audit::AuditKey>>,
    /// Generations of what caches keep; shared by clones.
    changes: Arc<crate::changes::Changes>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Store {
    /// Opens the database at `url` (`sqlite://PATH?mode=rwc` or `postgres://...`), creates or
    /// migrates the schema, and installs the built-in roles.
    pub async fn open(url: &str, clock: Arc<dyn Clock>) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::invalid(
                "database-url",
                "must start with `sqlite:` or `postgres:`",
            ));
        };
        let options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            // Fail fast when the database is away, so requests answer 503 instead of hanging.
            .acquire_timeout(Duration::from_secs(3))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; FULL syncs every commit, so
                        // nothing acknowledged is lost even if the machine loses power.
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = FULL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA busy_timeout = 10000",
                        ] {
                            sqlx::Executor::execute(&mut *conn, pragma).await?;
                        }
                    }
                    Ok(())
                })
            });
        let pool = options.connect(url).await?;
        let store = Store {
            pool,
            backend,
            clock,
            write_lock: Arc::new(Mutex::new(())),
            audit_key: Arc::new(std::sync::OnceLock::new()),
            changes: Arc::default(),
        };
        if backend == Backend::Postgres {
            crate::changes::listen(url.to_string(), &store.changes);
        }
        crate::migrate::run(&store).await?;
        store.ensure_builtin_roles().await?;
        Ok(store)
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The store's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Generations of what caches keep ([`crate::Topic`]).
    pub fn changes(&self) -> &crate::changes::Changes {
        &self.changes
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        let _t = self.timer("ping");
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction.
    pub async fn begin_write(&self) -> Result<WriteTx> {
        let guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        let tx = self.pool.begin().await?;
        Ok(WriteTx {
            tx,
            backend: self.backend,
            now: self.clock.now_ms(),
            audit_key: self.audit_key.get().cloned(),
            notable: Vec::new(),
            touched: Vec::new(),
            changes: self.changes.clone(),
            category: None,
            started: Instant::now(),
            _guard: guard,
        })
    }

    pub(crate) fn timer(&self, op: &'static str) -> OpTimer {
        OpTimer {
            op,
            started: Instant::now(),
        }
    }

    pub(crate) async fn fetch_all(&self, sql: &str, binds: &[Bind]) -> Result<Vec<AnyRow>> {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = b.apply(q);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    pub(crate) async fn fetch_optional(&self, sql: &str, binds: &[Bind]) -> Result<Option<AnyRow>> {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = b.apply(q);
        }
        Ok(q.fetch_optional(&self.pool).await?)
    }
}

/// A value bound to a query parameter.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
}

impl Bind {
    fn apply<'q>(
        &self,
        q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        match self {
            Bind::Text(s) => q.bind(s.clone()),
            Bind::OptText(s) => q.bind(s.clone()),
            Bind::Int(i) => q.bind(*i),
            Bind::OptInt(i) => q.bind(*i),
        }
    }
}

/// A transaction that changes things. Dropping it without [`WriteTx::commit`] rolls back.
pub struct WriteTx {
    pub(crate) tx: Transaction<'static, Any>,
    pub(crate) backend: Backend,
    /// The time of the change, taken once so every row and event of it agrees.
    pub(crate) now: Timestamp,
    /// The audit chain's key, when the store has it.
    pub(crate) audit_key: Option<crate::audit::AuditKey>,
    /// Audited entries to log and count once the change is committed.
    pub(crate) notable: Vec<crate::business_metrics::Notable>,
    /// What caches must read again once the change is committed.
    touched: Vec<crate::changes::Topic>,
    changes: Arc<crate::changes::Changes>,
    /// When set, directory events of this change are recorded under this category instead
    /// (a change made by a provisioning connection is `provisioning`).
    pub(crate) category: Option<&'static str>,
    started: Instant,
    // Declared last so it is released after the transaction ends.
    _guard: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// The time this change is recorded at.
    pub fn now_ms(&self) -> Timestamp {
        self.now
    }

    /// Commits the change and its audit events.
    pub async fn commit(self) -> Result<()> {
        let started = self.started;
        self.tx.commit().await?;
        for topic in &self.touched {
            self.changes.bump(*topic);
        }
        crate::business_metrics::report(&self.notable);
        metrics::histogram!("trustplane_store_seconds", "op" => "write")
            .record(started.elapsed().as_secs_f64());
        Ok(())
    }

    /// Marks the change as one caches of `topic` must see. On PostgreSQL the other nodes are
    /// told when (and only if) it commits.
    pub(crate) async fn touch(&mut self, topic: crate::changes::Topic) -> Result<()> {
        if self.touched.contains(&topic) {
            return Ok(());
        }
        if self.backend == Backend::Postgres {
            self.execute(
                "SELECT pg_notify($1, $2)",
                &[
                    Bind::Text(crate::changes::CHANNEL.into()),
                    Bind::Text(self.changes.payload(topic)),
                ],
            )
            .await?;
        }
        self.touched.push(topic);
        Ok(())
    }

    pub(crate) async fn execute(&mut self, sql: &str, binds: &[Bind]) -> Result<u64> {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = b.apply(q);
        }
        Ok(q.execute(&mut *self.tx).await?.rows_affected())
    }

    pub(crate) async fn fetch_optional(
        &mut self,
        sql: &str,
        binds: &[Bind],
    ) -> Result<Option<AnyRow>> {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = b.apply(q);
        }
        Ok(q.fetch_optional(&mut *self.tx).await?)
    }

    pub(crate) async fn fetch_all(&mut self, sql: &str, binds: &[Bind]) -> Result<Vec<AnyRow>> {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = b.apply(q);
        }
        Ok(q.fetch_all(&mut *self.tx).await?)
    }
}

/// Records how long a store operation took when dropped.
pub(crate) struct OpTimer {
    op: &'static str,
    started: Instant,
}

impl Drop for OpTimer {
    fn drop(&mut self) {
        metrics::histogram!("trustplane_store_seconds", "op" => self.op)
            .record(self.started.elapsed().as_secs_f64());
    }
}
