//! Schema migrations: numbered SQL files compiled into the binary, applied in order, each in
//! its own transaction, recorded in `trustplane_schema`. The same files serve both backends.
//! Numbers may leave gaps (areas developed side by side reserve theirs); every listed
//! migration not yet recorded is applied, so one that lands later with a lower number still
//! runs on a database that already has a higher one.

use sqlx::Row;

use crate::db::{Backend, Store};
use crate::error::{Result, StoreError};

/// (version, description, SQL). Append only: a released migration never changes.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "directory and audit",
        include_str!("../migrations/0001_directory_and_audit.sql"),
    ),
    (
        2,
        "authentication",
        include_str!("../migrations/0002_authentication.sql"),
    ),
    (
        3,
        "conditional access",
        include_str!("../migrations/0003_conditional_access.sql"),
    ),
    (
        4,
        "detection",
        include_str!("../migrations/0004_detection.sql"),
    ),
    (5, "posture", include_str!("../migrations/0005_posture.sql")),
    (
        6,
        "federation",
        include_str!("../migrations/0006_federation.sql"),
    ),
    (
        7,
        "openid connect",
        include_str!("../migrations/0007_oidc.sql"),
    ),
    (
        8,
        "cloud sources",
        include_str!("../migrations/0008_cloud_sources.sql"),
    ),
    (
        9,
        "privileged identity management",
        include_str!("../migrations/0009_pim.sql"),
    ),
    (
        12,
        "keyed audit chain",
        include_str!("../migrations/0012_audit_keying.sql"),
    ),
    (
        13,
        "directory connections",
        include_str!("../migrations/0013_directory_connections.sql"),
    ),
    (
        14,
        "provisioning",
        include_str!("../migrations/0014_provisioning.sql"),
    ),
    (
        15,
        "discovery",
        include_str!("../migrations/0015_discovery.sql"),
    ),
    (
        16,
        "identity risk",
        include_str!("../migrations/0016_risk.sql"),
    ),
    (
        17,
        "outbound provisioning",
        include_str!("../migrations/0017_outbound_provisioning.sql"),
    ),
    (
        18,
        "identity providers",
        include_str!("../migrations/0018_identity_providers.sql"),
    ),
    (
        20,
        "person timeline",
        include_str!("../migrations/0020_timeline.sql"),
    ),
    (
        21,
        "incidents",
        include_str!("../migrations/0021_incidents.sql"),
    ),
];

/// A constant key for PostgreSQL's advisory lock, so that nodes starting together migrate one
/// at a time.
const MIGRATION_LOCK_KEY: i64 = 0x7472_7573_7470_6c61;

pub(crate) async fn run(store: &Store) -> Result<()> {
    let mut conn = store.pool.acquire().await?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS trustplane_schema (
            version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    let outcome = apply_pending(store, &mut conn).await;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    outcome
}

async fn apply_pending(store: &Store, conn: &mut sqlx::AnyConnection) -> Result<()> {
    let applied: Vec<i64> = sqlx::query("SELECT version FROM trustplane_schema")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>("version"))
        .collect::<std::result::Result<_, _>>()?;
    if let Some(unknown) = applied
        .iter()
        .find(|v| !MIGRATIONS.iter().any(|m| m.0 == **v))
    {
        return Err(StoreError::Corrupt(format!(
            "the database has schema version {unknown}, which this program does not know; \
             upgrade trustplane"
        )));
    }
    for (version, description, sql) in MIGRATIONS.iter().filter(|m| !applied.contains(&m.0)) {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO trustplane_schema (version, description, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(*version)
        .bind(*description)
        .bind(store.clock.now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(version, description, "applied schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    #[test]
    fn every_migration_file_is_listed_in_order() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        assert_eq!(files.len(), MIGRATIONS.len(), "{files:?}");
        let mut previous = 0;
        for (i, (version, _, _)) in MIGRATIONS.iter().enumerate() {
            assert!(*version > previous, "versions increase: {version}");
            previous = *version;
            assert!(
                files[i].starts_with(&format!("{version:04}_")),
                "{}",
                files[i]
            );
        }
    }
}
