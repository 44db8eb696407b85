//! Directory sources: Active Directory and LDAP connections, what each imported, and the
//! application of one sync run's changes in one transaction.
//!
//! The bind password arrives sealed by the caller and is never part of what the listing
//! functions return. Planning (what to change) is the `directory-sync` engine's; this module
//! only records and applies.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use trustplane_model::{from_ms, new_id, normalise_upn, Actor, Event, Outcome, Target};

use crate::auth::{end_sign_ins_tx, Ending};
use crate::db::{Bind, Store, WriteTx};
use crate::error::{Result, StoreError};
use crate::protection::LastAdminGuard;

/// Audit category of everything directory sources do.
pub const DIRECTORY_SYNC_CATEGORY: &str = "directorySync";

/// A directory connection, without its bind password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryConnection {
    /// Trustplane's id for the connection.
    pub id: String,
    /// `activeDirectory` or `ldap`.
    #[serde(rename = "type")]
    pub directory_type: String,
    /// A readable name, unique without regard to case.
    pub display_name: String,
    /// How to reach and read it (URL, bind DN, base DN, filters, CA certificate); no secret.
    pub settings: Value,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    /// The last run's outcome.
    pub status: DirectorySyncStatus,
}

/// A connection's last run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectorySyncStatus {
    /// When the last run ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_run_date_time: Option<OffsetDateTime>,
    /// When the last full reconciliation was applied.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_full_sync_date_time: Option<OffsetDateTime>,
    /// `succeeded`, `failed` or `needsConfirmation`.
    pub last_result: Option<String>,
    /// Why the last run failed or stopped.
    pub last_error: Option<String>,
    /// What the last run counted (created, updated, disabled, deleted, conflicts, ...).
    pub last_counts: Option<Value>,
    /// The `uSNChanged` high-water mark of the last applied run (Active Directory).
    pub high_water_usn: Option<i64>,
}

/// A connection to create.
#[derive(Debug, Clone)]
pub struct NewDirectoryConnection {
    /// `activeDirectory` or `ldap`.
    pub directory_type: String,
    /// A readable name.
    pub display_name: String,
    /// Settings without the password.
    pub settings: Value,
    /// The bind password, sealed by the caller.
    pub sealed_bind_password: String,
}

/// An object a connection imported.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceObject {
    /// The user's or group's object id.
    pub object_id: String,
    /// `user` or `group`.
    pub object_type: String,
    /// The immutable anchor in the directory.
    pub anchor: String,
    /// Its DN at the last run.
    pub dn: String,
    /// The source record as last imported (the engine's shape).
    pub record: Value,
}

/// Which source, if any, an object came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceAttribution {
    /// The connection's id.
    pub connection_id: String,
    /// The connection's name.
    pub connection_name: String,
    /// The anchor in the directory.
    pub anchor: String,
}

/// User fields a connection owns: the API refuses to edit them on an imported user.
pub const SOURCE_OWNED_USER_FIELDS: &[&str] = &[
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "accountEnabled",
    "attributes.department",
    "attributes.manager",
    "attributes.sAMAccountName",
];

/// The source-owned fields among those a user update touches (`attributes.NAME` for each
/// attribute), for the API to refuse them on an imported user.
pub fn source_owned_user_fields<'a>(touched: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    touched
        .into_iter()
        .filter(|f| SOURCE_OWNED_USER_FIELDS.contains(f))
        .map(str::to_string)
        .collect()
}

/// Group fields a connection owns, membership included.
pub const SOURCE_OWNED_GROUP_FIELDS: &[&str] = &["displayName", "description", "members"];

/// A name (UPN or group name, lower case) and who holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameHolder {
    /// `user` or `group`.
    pub object_type: String,
    /// The lower-case UPN or group name.
    pub key: String,
    /// The holder's object id.
    pub object_id: String,
    /// The connection it came from, or `None` for a local object.
    pub connection_id: Option<String>,
}

/// What a connection holds now: its objects, their memberships, and every name in the
/// directory with its holder.
#[derive(Debug, Clone, Default)]
pub struct SourceSnapshot {
    /// The connection's users and groups.
    pub objects: Vec<SourceObject>,
    /// Members of the connection's groups: (group id, member id, `user` or `group`).
    pub memberships: Vec<(String, String, String)>,
    /// Every user's UPN and every group's name.
    pub names: Vec<NameHolder>,
}

/// A user to create or update from a source.
#[derive(Debug, Clone)]
pub struct SourcedUser {
    /// Immutable anchor.
    pub anchor: String,
    /// DN.
    pub dn: String,
    /// The source record to keep.
    pub record: Value,
    /// Sign-in name.
    pub user_principal_name: String,
    /// Display name.
    pub display_name: String,
    /// First name.
    pub given_name: Option<String>,
    /// Last name.
    pub surname: Option<String>,
    /// Mail.
    pub mail: Option<String>,
    /// Whether the account may sign in.
    pub account_enabled: bool,
    /// Source-owned attributes (`department`, `sAMAccountName`); `null` removes one.
    pub attributes: Map<String, Value>,
    /// The manager's anchor (`None`: no manager in scope).
    pub manager_anchor: Option<String>,
}

/// A group to create or update from a source.
#[derive(Debug, Clone)]
pub struct SourcedGroup {
    /// Immutable anchor.
    pub anchor: String,
    /// DN.
    pub dn: String,
    /// The source record to keep.
    pub record: Value,
    /// Name.
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
}

/// A membership by anchors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcedMembership {
    /// The group's anchor.
    pub group_anchor: String,
    /// The member's anchor.
    pub member_anchor: String,
    /// Whether the member is a group (nesting).
    pub member_is_group: bool,
}

/// One run's changes, applied in one transaction.
#[derive(Debug, Clone, Default)]
pub struct DirectorySyncChanges {
    /// Users created (unknown anchor) or updated.
    pub upsert_users: Vec<SourcedUser>,
    /// Anchors of users to delete.
    pub delete_users: Vec<String>,
    /// Groups created or updated.
    pub upsert_groups: Vec<SourcedGroup>,
    /// Anchors of groups to delete.
    pub delete_groups: Vec<String>,
    /// Memberships to add.
    pub add_members: Vec<SourcedMembership>,
    /// Memberships to remove.
    pub remove_members: Vec<SourcedMembership>,
    /// The high-water mark to keep.
    pub high_water_usn: Option<i64>,
    /// Whether the run was a full reconciliation.
    pub full: bool,
    /// Counts for the status and the audit entry.
    pub counts: Value,
}

const CONNECTION_COLUMNS: &str = "id, directory_type, display_name, settings, created_at, \
    high_water_usn, last_run_at, last_full_run_at, last_result, last_error, last_counts";

fn connection_from_row(row: &AnyRow) -> Result<DirectoryConnection> {
    let settings: String = row.try_get("settings")?;
    let counts: Option<String> = row.try_get("last_counts")?;
    Ok(DirectoryConnection {
        id: row.try_get("id")?,
        directory_type: row.try_get("directory_type")?,
        display_name: row.try_get("display_name")?,
        settings: serde_json::from_str(&settings)
            .map_err(|e| StoreError::Corrupt(format!("directory connection settings: {e}")))?,
        created_date_time: from_ms(row.try_get("created_at")?),
        status: DirectorySyncStatus {
            last_run_date_time: row.try_get::<Option<i64>, _>("last_run_at")?.map(from_ms),
            last_full_sync_date_time: row
                .try_get::<Option<i64>, _>("last_full_run_at")?
                .map(from_ms),
            last_result: row.try_get("last_result")?,
            last_error: row.try_get("last_error")?,
            last_counts: counts.and_then(|c| serde_json::from_str(&c).ok()),
            high_water_usn: row.try_get("high_water_usn")?,
        },
    })
}

fn sync_event(
    actor: &Actor,
    activity: &str,
    target: Target,
    result: Outcome,
    reason: Option<String>,
    before: Option<Value>,
    after: Option<Value>,
) -> Event {
    Event {
        sequence: 0,
        activity_date_time: OffsetDateTime::UNIX_EPOCH,
        category: DIRECTORY_SYNC_CATEGORY.into(),
        activity: activity.into(),
        initiated_by: actor.clone(),
        target: Some(target),
        result,
        result_reason: reason,
        before,
        after,
    }
}

fn target(kind: &str, id: &str, name: &str) -> Target {
    Target {
        kind: kind.into(),
        id: id.into(),
        display_name: Some(name.into()),
    }
}

impl Store {
    /// Creates a directory connection.
    pub async fn create_directory_connection(
        &self,
        actor: &Actor,
        new: NewDirectoryConnection,
    ) -> Result<DirectoryConnection> {
        if new.display_name.trim().is_empty() || new.display_name.chars().count() > 256 {
            return Err(StoreError::invalid(
                "displayName",
                "must be 1 to 256 characters",
            ));
        }
        let mut tx = self.begin_write().await?;
        let conn = DirectoryConnection {
            id: new_id(),
            directory_type: new.directory_type,
            display_name: new.display_name,
            settings: new.settings,
            created_date_time: from_ms(tx.now),
            status: DirectorySyncStatus::default(),
        };
        tx.execute(
            "INSERT INTO directory_connections (id, directory_type, display_name, name_key, settings, \
             sealed_bind_password, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                Bind::Text(conn.id.clone()),
                Bind::Text(conn.directory_type.clone()),
                Bind::Text(conn.display_name.clone()),
                Bind::Text(conn.display_name.to_lowercase()),
                Bind::Text(conn.settings.to_string()),
                Bind::Text(new.sealed_bind_password),
                Bind::Int(tx.now),
            ],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                StoreError::Conflict("a directory connection with this displayName exists".into())
            }
            other => other,
        })?;
        tx.audit(sync_event(
            actor,
            "directoryConnection.create",
            target("directoryConnection", &conn.id, &conn.display_name),
            Outcome::Success,
            None,
            None,
            serde_json::to_value(&conn).ok(),
        ))
        .await?;
        tx.commit().await?;
        Ok(conn)
    }

    /// Lists the directory connections.
    pub async fn list_directory_connections(&self) -> Result<Vec<DirectoryConnection>> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM directory_connections ORDER BY created_at, id"
        );
        self.fetch_all(&sql, &[])
            .await?
            .iter()
            .map(connection_from_row)
            .collect()
    }

    /// One directory connection, by id or display name.
    pub async fn get_directory_connection(&self, id_or_name: &str) -> Result<DirectoryConnection> {
        Ok(self.directory_connection_with_secret(id_or_name).await?.0)
    }

    /// One directory connection with its sealed bind password, for a run.
    pub async fn directory_connection_with_secret(
        &self,
        id_or_name: &str,
    ) -> Result<(DirectoryConnection, String)> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS}, sealed_bind_password FROM directory_connections \
             WHERE id = $1 OR name_key = $2"
        );
        let row = self
            .fetch_optional(
                &sql,
                &[
                    Bind::Text(id_or_name.into()),
                    Bind::Text(id_or_name.to_lowercase()),
                ],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "directoryConnection",
                id: id_or_name.into(),
            })?;
        Ok((
            connection_from_row(&row)?,
            row.try_get("sealed_bind_password")?,
        ))
    }

    /// Deletes a connection. What it imported stays, as local objects.
    pub async fn delete_directory_connection(&self, actor: &Actor, id_or_name: &str) -> Result<()> {
        let conn = self.get_directory_connection(id_or_name).await?;
        let mut tx = self.begin_write().await?;
        tx.execute(
            "DELETE FROM directory_sources WHERE connection_id = $1",
            &[Bind::Text(conn.id.clone())],
        )
        .await?;
        tx.execute(
            "DELETE FROM directory_connections WHERE id = $1",
            &[Bind::Text(conn.id.clone())],
        )
        .await?;
        tx.audit(sync_event(
            actor,
            "directoryConnection.delete",
            target("directoryConnection", &conn.id, &conn.display_name),
            Outcome::Success,
            Some("imported objects are kept as local objects".into()),
            serde_json::to_value(&conn).ok(),
            None,
        ))
        .await?;
        tx.commit().await
    }

    /// Records a run that changed nothing: it failed, or it waits for confirmation.
    pub async fn record_directory_sync_stopped(
        &self,
        actor: &Actor,
        connection_id: &str,
        result: &str,
        error: &str,
        counts: Option<Value>,
    ) -> Result<()> {
        let conn = self.get_directory_connection(connection_id).await?;
        let mut tx = self.begin_write().await?;
        tx.execute(
            "UPDATE directory_connections SET last_run_at = $1, last_result = $2, last_error = $3, \
             last_counts = $4 WHERE id = $5",
            &[
                Bind::Int(tx.now),
                Bind::Text(result.into()),
                Bind::Text(error.into()),
                Bind::OptText(counts.as_ref().map(Value::to_string)),
                Bind::Text(conn.id.clone()),
            ],
        )
        .await?;
        tx.audit(sync_event(
            actor,
            "directorySync.run",
            target("directoryConnection", &conn.id, &conn.display_name),
            Outcome::Failure,
            Some(format!("{result}: {error}")),
            None,
            counts,
        ))
        .await?;
        tx.commit().await
    }

    /// What a connection holds now, and every name with its holder.
    pub async fn directory_source_snapshot(&self, connection_id: &str) -> Result<SourceSnapshot> {
        let rows = self
            .fetch_all(
                "SELECT object_id, object_type, anchor, dn, record FROM directory_sources \
                 WHERE connection_id = $1",
                &[Bind::Text(connection_id.into())],
            )
            .await?;
        let mut objects = Vec::with_capacity(rows.len());
        for row in rows {
            let record: String = row.try_get("record")?;
            objects.push(SourceObject {
                object_id: row.try_get("object_id")?,
                object_type: row.try_get("object_type")?,
                anchor: row.try_get("anchor")?,
                dn: row.try_get("dn")?,
                record: serde_json::from_str(&record)
                    .map_err(|e| StoreError::Corrupt(format!("directory source record: {e}")))?,
            });
        }
        let memberships = self
            .fetch_all(
                "SELECT gm.group_id, gm.member_id, gm.member_type FROM group_members gm \
                 JOIN directory_sources s ON s.object_id = gm.group_id WHERE s.connection_id = $1",
                &[Bind::Text(connection_id.into())],
            )
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("group_id")?,
                    r.try_get("member_id")?,
                    r.try_get("member_type")?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut names = Vec::new();
        for (kind, sql) in [
            (
                "user",
                "SELECT u.id, u.upn_key AS name_key, s.connection_id FROM users u \
                 LEFT JOIN directory_sources s ON s.object_id = u.id",
            ),
            (
                "group",
                "SELECT g.id, g.name_key, s.connection_id FROM groups g \
                 LEFT JOIN directory_sources s ON s.object_id = g.id",
            ),
        ] {
            for row in self.fetch_all(sql, &[]).await? {
                names.push(NameHolder {
                    object_type: kind.into(),
                    key: row.try_get("name_key")?,
                    object_id: row.try_get("id")?,
                    connection_id: row.try_get("connection_id")?,
                });
            }
        }
        Ok(SourceSnapshot {
            objects,
            memberships,
            names,
        })
    }

    /// The source a user or group came from, if any (for refusing edits of source attributes).
    pub async fn object_source(&self, object_id: &str) -> Result<Option<SourceAttribution>> {
        let row = self
            .fetch_optional(
                "SELECT s.connection_id, s.anchor, c.display_name FROM directory_sources s \
                 JOIN directory_connections c ON c.id = s.connection_id WHERE s.object_id = $1",
                &[Bind::Text(object_id.into())],
            )
            .await?;
        row.map(|r| {
            Ok(SourceAttribution {
                connection_id: r.try_get("connection_id")?,
                connection_name: r.try_get("display_name")?,
                anchor: r.try_get("anchor")?,
            })
        })
        .transpose()
    }

    /// Applies one run's changes, its status and its audit entries in one transaction: all of
    /// it or none.
    pub async fn apply_directory_sync(
        &self,
        actor: &Actor,
        connection_id: &str,
        changes: DirectorySyncChanges,
    ) -> Result<()> {
        let conn = self.get_directory_connection(connection_id).await?;
        let mut tx = self.begin_write().await?;
        let guard = LastAdminGuard::take(&mut tx).await?;
        let mut ids: HashMap<(String, String), String> = HashMap::new();
        for row in tx
            .fetch_all(
                "SELECT object_id, object_type, anchor FROM directory_sources WHERE connection_id = $1",
                &[Bind::Text(conn.id.clone())],
            )
            .await?
        {
            ids.insert(
                (row.try_get("object_type")?, row.try_get("anchor")?),
                row.try_get("object_id")?,
            );
        }
        let source =
            |anchor: &str| Some(serde_json::json!({ "connectionId": conn.id, "anchor": anchor }));

        for anchor in &changes.delete_users {
            let Some(id) = ids.remove(&("user".to_string(), anchor.clone())) else {
                continue;
            };
            crate::pim::end_requests_of_disabled_tx(&mut tx, actor, &id).await?;
            crate::directory::delete_user_rows_tx(&mut tx, &id).await?;
            tx.audit(sync_event(
                actor,
                "user.delete",
                target("user", &id, anchor),
                Outcome::Success,
                Some(format!(
                    "no longer in directory connection {}",
                    conn.display_name
                )),
                source(anchor),
                None,
            ))
            .await?;
        }
        for anchor in &changes.delete_groups {
            let Some(id) = ids.remove(&("group".to_string(), anchor.clone())) else {
                continue;
            };
            crate::directory::delete_group_rows_tx(&mut tx, &id).await?;
            tx.audit(sync_event(
                actor,
                "group.delete",
                target("group", &id, anchor),
                Outcome::Success,
                Some(format!(
                    "no longer in directory connection {}",
                    conn.display_name
                )),
                source(anchor),
                None,
            ))
            .await?;
        }

        for user in &changes.upsert_users {
            let key = normalise_upn(&user.user_principal_name)
                .map_err(|e| StoreError::invalid("userPrincipalName", e.to_string()))?;
            let existing = ids.get(&("user".to_string(), user.anchor.clone())).cloned();
            match existing {
                None => {
                    let id = new_id();
                    let mut attributes = Map::new();
                    for (k, v) in &user.attributes {
                        if !v.is_null() {
                            attributes.insert(k.clone(), v.clone());
                        }
                    }
                    tx.execute(
                        "INSERT INTO users (id, upn, upn_key, display_name, mail, given_name, surname, \
                         account_enabled, attributes, password_hash, created_at, updated_at, password_must_change) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $10, 0)",
                        &[
                            Bind::Text(id.clone()),
                            Bind::Text(user.user_principal_name.clone()),
                            Bind::Text(key),
                            Bind::Text(user.display_name.clone()),
                            Bind::OptText(user.mail.clone()),
                            Bind::OptText(user.given_name.clone()),
                            Bind::OptText(user.surname.clone()),
                            Bind::Int(user.account_enabled.into()),
                            Bind::Text(Value::Object(attributes).to_string()),
                            Bind::Int(tx.now),
                        ],
                    )
                    .await
                    .map_err(|e| match e {
                        StoreError::Conflict(_) => StoreError::Conflict(format!(
                            "userPrincipalName {} is already held; the run changed nothing",
                            user.user_principal_name
                        )),
                        other => other,
                    })?;
                    insert_source(
                        &mut tx,
                        &id,
                        "user",
                        &conn.id,
                        &user.anchor,
                        &user.dn,
                        &user.record,
                    )
                    .await?;
                    tx.audit(sync_event(
                        actor,
                        "user.create",
                        target("user", &id, &user.user_principal_name),
                        Outcome::Success,
                        Some(format!(
                            "imported from directory connection {}",
                            conn.display_name
                        )),
                        None,
                        Some(user.record.clone()),
                    ))
                    .await?;
                    ids.insert(("user".into(), user.anchor.clone()), id);
                }
                Some(id) => {
                    let row = tx
                        .fetch_optional(
                            "SELECT account_enabled, attributes FROM users WHERE id = $1",
                            &[Bind::Text(id.clone())],
                        )
                        .await?
                        .ok_or_else(|| StoreError::NotFound {
                            kind: "user",
                            id: id.clone(),
                        })?;
                    let was_enabled = row.try_get::<i64, _>("account_enabled")? != 0;
                    let attrs: String = row.try_get("attributes")?;
                    let mut attributes: Map<String, Value> =
                        serde_json::from_str(&attrs).unwrap_or_default();
                    for (k, v) in &user.attributes {
                        if v.is_null() {
                            attributes.remove(k);
                        } else {
                            attributes.insert(k.clone(), v.clone());
                        }
                    }
                    tx.execute(
                        "UPDATE users SET upn = $1, upn_key = $2, display_name = $3, mail = $4, given_name = $5, \
                         surname = $6, account_enabled = $7, attributes = $8, updated_at = $9 WHERE id = $10",
                        &[
                            Bind::Text(user.user_principal_name.clone()),
                            Bind::Text(key),
                            Bind::Text(user.display_name.clone()),
                            Bind::OptText(user.mail.clone()),
                            Bind::OptText(user.given_name.clone()),
                            Bind::OptText(user.surname.clone()),
                            Bind::Int(user.account_enabled.into()),
                            Bind::Text(Value::Object(attributes).to_string()),
                            Bind::Int(tx.now),
                            Bind::Text(id.clone()),
                        ],
                    )
                    .await
                    .map_err(|e| match e {
                        StoreError::Conflict(_) => StoreError::Conflict(format!(
                            "userPrincipalName {} is already held; the run changed nothing",
                            user.user_principal_name
                        )),
                        other => other,
                    })?;
                    tx.execute(
                        "UPDATE directory_sources SET dn = $1, record = $2 WHERE object_id = $3",
                        &[
                            Bind::Text(user.dn.clone()),
                            Bind::Text(user.record.to_string()),
                            Bind::Text(id.clone()),
                        ],
                    )
                    .await?;
                    let mut reason =
                        format!("changed in directory connection {}", conn.display_name);
                    if was_enabled && !user.account_enabled {
                        // Disabled at the source: sign-ins and elevations end with it.
                        let ended = end_sign_ins_tx(
                            &mut tx,
                            &id,
                            Ending::All { keep: None },
                            "account disabled",
                        )
                        .await?;
                        crate::pim::end_requests_of_disabled_tx(&mut tx, actor, &id).await?;
                        reason = format!(
                            "disabled in directory connection {}; {}",
                            conn.display_name,
                            ended.describe()
                        );
                    }
                    tx.audit(sync_event(
                        actor,
                        "user.update",
                        target("user", &id, &user.user_principal_name),
                        Outcome::Success,
                        Some(reason),
                        None,
                        Some(user.record.clone()),
                    ))
                    .await?;
                }
            }
        }
        // Managers once every user of the run exists.
        for user in &changes.upsert_users {
            let Some(id) = ids.get(&("user".to_string(), user.anchor.clone())).cloned() else {
                continue;
            };
            let manager = user
                .manager_anchor
                .as_ref()
                .and_then(|a| ids.get(&("user".to_string(), a.clone())).cloned());
            let row = tx
                .fetch_optional(
                    "SELECT attributes FROM users WHERE id = $1",
                    &[Bind::Text(id.clone())],
                )
                .await?;
            let Some(row) = row else { continue };
            let attrs: String = row.try_get("attributes")?;
            let mut attributes: Map<String, Value> =
                serde_json::from_str(&attrs).unwrap_or_default();
            let before = attributes.get("manager").cloned();
            match &manager {
                Some(m) => attributes.insert("manager".into(), Value::String(m.clone())),
                None => attributes.remove("manager"),
            };
            if attributes.get("manager") != before.as_ref() {
                tx.execute(
                    "UPDATE users SET attributes = $1 WHERE id = $2",
                    &[
                        Bind::Text(Value::Object(attributes).to_string()),
                        Bind::Text(id),
                    ],
                )
                .await?;
            }
        }

        for group in &changes.upsert_groups {
            let existing = ids
                .get(&("group".to_string(), group.anchor.clone()))
                .cloned();
            let conflict = |e: StoreError| match e {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "group name {} is already held; the run changed nothing",
                    group.display_name
                )),
                other => other,
            };
            match existing {
                None => {
                    let id = new_id();
                    tx.execute(
                        "INSERT INTO groups (id, display_name, name_key, description, is_assignable_to_role, created_at) \
                         VALUES ($1, $2, $3, $4, 0, $5)",
                        &[
                            Bind::Text(id.clone()),
                            Bind::Text(group.display_name.clone()),
                            Bind::Text(group.display_name.to_lowercase()),
                            Bind::OptText(group.description.clone()),
                            Bind::Int(tx.now),
                        ],
                    )
                    .await
                    .map_err(conflict)?;
                    insert_source(
                        &mut tx,
                        &id,
                        "group",
                        &conn.id,
                        &group.anchor,
                        &group.dn,
                        &group.record,
                    )
                    .await?;
                    tx.audit(sync_event(
                        actor,
                        "group.create",
                        target("group", &id, &group.display_name),
                        Outcome::Success,
                        Some(format!(
                            "imported from directory connection {}",
                            conn.display_name
                        )),
                        None,
                        Some(group.record.clone()),
                    ))
                    .await?;
                    ids.insert(("group".into(), group.anchor.clone()), id);
                }
                Some(id) => {
                    tx.execute(
                        "UPDATE groups SET display_name = $1, name_key = $2, description = $3 WHERE id = $4",
                        &[
                            Bind::Text(group.display_name.clone()),
                            Bind::Text(group.display_name.to_lowercase()),
                            Bind::OptText(group.description.clone()),
                            Bind::Text(id.clone()),
                        ],
                    )
                    .await
                    .map_err(conflict)?;
                    tx.execute(
                        "UPDATE directory_sources SET dn = $1, record = $2 WHERE object_id = $3",
                        &[
                            Bind::Text(group.dn.clone()),
                            Bind::Text(group.record.to_string()),
                            Bind::Text(id.clone()),
                        ],
                    )
                    .await?;
                    tx.audit(sync_event(
                        actor,
                        "group.update",
                        target("group", &id, &group.display_name),
                        Outcome::Success,
                        Some(format!(
                            "changed in directory connection {}",
                            conn.display_name
                        )),
                        None,
                        Some(group.record.clone()),
                    ))
                    .await?;
                }
            }
        }

        for (add, list) in [
            (false, &changes.remove_members),
            (true, &changes.add_members),
        ] {
            for m in list {
                let group = ids
                    .get(&("group".to_string(), m.group_anchor.clone()))
                    .cloned();
                let kind = if m.member_is_group { "group" } else { "user" };
                let member = ids
                    .get(&(kind.to_string(), m.member_anchor.clone()))
                    .cloned();
                let (Some(group), Some(member)) = (group, member) else {
                    continue;
                };
                if add {
                    tx.execute(
                        "INSERT INTO group_members (group_id, member_id, member_type) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                        &[Bind::Text(group.clone()), Bind::Text(member.clone()), Bind::Text(kind.into())],
                    )
                    .await?;
                } else {
                    tx.execute(
                        "DELETE FROM group_members WHERE group_id = $1 AND member_id = $2",
                        &[Bind::Text(group.clone()), Bind::Text(member.clone())],
                    )
                    .await?;
                }
                tx.audit(sync_event(
                    actor,
                    if add {
                        "group.addMember"
                    } else {
                        "group.removeMember"
                    },
                    target("group", &group, &m.group_anchor),
                    Outcome::Success,
                    Some(format!(
                        "membership from directory connection {}",
                        conn.display_name
                    )),
                    None,
                    Some(serde_json::json!({ "memberId": member, "memberType": kind })),
                ))
                .await?;
            }
        }

        guard.check(&mut tx).await?;
        let now = tx.now;
        tx.execute(
            "UPDATE directory_connections SET last_run_at = $1, last_result = 'succeeded', last_error = NULL, \
             last_counts = $2, high_water_usn = COALESCE($3, high_water_usn), \
             last_full_run_at = CASE WHEN $4 = 1 THEN $1 ELSE last_full_run_at END WHERE id = $5",
            &[
                Bind::Int(now),
                Bind::Text(changes.counts.to_string()),
                Bind::OptInt(changes.high_water_usn),
                Bind::Int(changes.full.into()),
                Bind::Text(conn.id.clone()),
            ],
        )
        .await?;
        tx.audit(sync_event(
            actor,
            "directorySync.run",
            target("directoryConnection", &conn.id, &conn.display_name),
            Outcome::Success,
            Some(
                if changes.full {
                    "full reconciliation"
                } else {
                    "incremental"
                }
                .into(),
            ),
            None,
            Some(changes.counts.clone()),
        ))
        .await?;
        tx.commit().await
    }
}

async fn insert_source(
    tx: &mut WriteTx,
    object_id: &str,
    object_type: &str,
    connection_id: &str,
    anchor: &str,
    dn: &str,
    record: &Value,
) -> Result<()> {
    tx.execute(
        "INSERT INTO directory_sources (object_id, object_type, connection_id, anchor, dn, record) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            Bind::Text(object_id.into()),
            Bind::Text(object_type.into()),
            Bind::Text(connection_id.into()),
            Bind::Text(anchor.into()),
            Bind::Text(dn.into()),
            Bind::Text(record.to_string()),
        ],
    )
    .await?;
    Ok(())
}
