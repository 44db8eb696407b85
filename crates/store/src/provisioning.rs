//! Provisioning: connections (inbound SCIM with a bearer token kept as its hash, and the
//! outbound kinds to come) with their status, and the users and groups a connection owns
//! (`provisioned_by`) with the ids its client knows them by (`external_id`).
//!
//! A connection reads and changes only what it owns; every change it makes is audited with the
//! category `provisioning`. Disabling and deleting go through the directory's own paths
//! (`update_user`, `delete_user`), so sessions, OIDC grants and PIM elevations end exactly as
//! when an administrator does it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;
use trustplane_model::{from_ms, new_id, normalise_upn, Actor, Group, Timestamp, User};

use crate::db::{Bind, Store, WriteTx};
use crate::directory::{
    add_member_tx, change_event, conflict_as, group_from_row, insert_user, target, to_value,
    user_from_row, NewUser, UserPatch, Via, GROUPS, USERS,
};
use crate::error::{Result, StoreError};
use crate::protection::LastAdminGuard;

/// The connection kinds Trustplane knows of.
pub const SCIM_INBOUND: &str = "scimInbound";
/// Outbound to IAM Identity Center through the Identity Store API.
pub const AWS_IDENTITY_STORE: &str = "awsIdentityStore";
/// Outbound to IAM Identity Center through its SCIM endpoint.
pub const AWS_SCIM: &str = "awsScim";

/// Most objects of one kind a connection lists at once (a filter other than a simple
/// equality runs over them in memory).
pub const MAX_PROVISIONED_SCAN: usize = 100_000;

/// What a connection did last, and how much.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStatus {
    /// When it last ran (outbound connections).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_run_date_time: Option<OffsetDateTime>,
    /// The last run's or the last request's outcome: `succeeded` or `failed`.
    pub last_status: Option<String>,
    /// Why the last failure happened.
    pub last_error: Option<String>,
    /// When the connection last changed the directory.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_change_date_time: Option<OffsetDateTime>,
    /// Changes made (inbound) or pushed (outbound).
    pub changes: i64,
    /// Changes refused or failed.
    pub failures: i64,
    /// Differences the last reconciliation found (outbound only; none for inbound).
    pub drift: Option<i64>,
}

/// A provisioning connection. Its token is never part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningConnection {
    /// Its id.
    pub id: String,
    /// `scimInbound`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A readable name, unique without regard to case.
    pub display_name: String,
    /// Kind-specific settings (no secrets).
    pub settings: Value,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    /// What it did last.
    pub status: ConnectionStatus,
}

/// A user owned by a connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvisionedUser {
    /// The directory user.
    pub user: User,
    /// The client's id of them.
    pub external_id: Option<String>,
    /// When they last changed.
    pub updated_at: Timestamp,
}

/// A group owned by a connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvisionedGroup {
    /// The directory group.
    pub group: Group,
    /// The client's id of it.
    pub external_id: Option<String>,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// A direct member of a group, with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRef {
    /// Its id.
    pub id: String,
    /// `user` or `group`.
    pub kind: String,
    /// Its display name.
    pub display_name: String,
}

/// Which attribute a look-up by equality reads (each has an index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupField {
    /// The object id.
    Id,
    /// `userName` (users; without regard to case).
    UserName,
    /// The client's id (case-sensitive).
    ExternalId,
    /// The display name (compared exactly).
    DisplayName,
}

const CONNECTION_COLUMNS: &str = "id, kind, display_name, settings, created_at, last_run_at, \
    last_status, last_error, last_change_at, changes, failures, drift";

fn connection_from_row(row: &AnyRow) -> Result<ProvisioningConnection> {
    let settings: String = row.try_get("settings")?;
    Ok(ProvisioningConnection {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        display_name: row.try_get("display_name")?,
        settings: serde_json::from_str(&settings)?,
        created_date_time: from_ms(row.try_get("created_at")?),
        status: ConnectionStatus {
            last_run_date_time: row.try_get::<Option<i64>, _>("last_run_at")?.map(from_ms),
            last_status: row.try_get("last_status")?,
            last_error: row.try_get("last_error")?,
            last_change_date_time: row
                .try_get::<Option<i64>, _>("last_change_at")?
                .map(from_ms),
            changes: row.try_get("changes")?,
            failures: row.try_get("failures")?,
            drift: row.try_get("drift")?,
        },
    })
}

fn connection_event(
    actor: &Actor,
    activity: &str,
    c: &ProvisioningConnection,
) -> trustplane_model::Event {
    let mut event = change_event(
        actor,
        activity,
        target("provisioningConnection", &c.id, &c.display_name),
        None,
        to_value(c),
    );
    event.category = "provisioning".into();
    event
}

fn provisioned_user_from_row(row: &AnyRow) -> Result<ProvisionedUser> {
    Ok(ProvisionedUser {
        user: user_from_row(row)?,
        external_id: row.try_get("external_id")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn provisioned_group_from_row(row: &AnyRow) -> Result<ProvisionedGroup> {
    Ok(ProvisionedGroup {
        group: group_from_row(row)?,
        external_id: row.try_get("external_id")?,
        updated_at: row
            .try_get::<Option<i64>, _>("updated_at")?
            .unwrap_or_else(|| row.try_get("created_at").unwrap_or_default()),
    })
}

/// Counts one change of the connection (in the change's own transaction where the store
/// makes it; after it where the directory's own path commits it).
async fn count_change(tx: &mut WriteTx, connection: &str) -> Result<()> {
    let now = tx.now;
    tx.execute(
        "UPDATE provisioning_connections SET changes = changes + 1, last_change_at = $1, \
         last_status = 'succeeded' WHERE id = $2",
        &[Bind::Int(now), Bind::Text(connection.into())],
    )
    .await?;
    Ok(())
}

/// Checks that every id names a user or group the connection owns.
async fn owned_members(tx: &mut WriteTx, connection: &str, ids: &[String]) -> Result<()> {
    for id in ids {
        let mut found = false;
        for table in ["users", "groups"] {
            let sql = format!("SELECT id FROM {table} WHERE id = $1 AND provisioned_by = $2");
            if tx
                .fetch_optional(
                    &sql,
                    &[Bind::Text(id.clone()), Bind::Text(connection.into())],
                )
                .await?
                .is_some()
            {
                found = true;
                break;
            }
        }
        if !found {
            return Err(StoreError::MissingReference {
                field: "members",
                id: id.clone(),
            });
        }
    }
    Ok(())
}

impl Store {
    // ---- connections ----

    /// Creates a connection; `token_hash` is the hex SHA-256 of an inbound connection's bearer
    /// token (the token itself is never stored). Audited.
    pub async fn create_provisioning_connection(
        &self,
        actor: &Actor,
        kind: &str,
        display_name: &str,
        settings: Value,
        token_hash: Option<String>,
    ) -> Result<ProvisioningConnection> {
        self.insert_connection(
            actor,
            new_id(),
            kind,
            display_name,
            settings,
            token_hash,
            None,
        )
        .await
    }

    /// Creates an outbound connection under an id chosen by the caller (its secret is sealed
    /// bound to that id), with its sealed secret if it has one. Audited.
    pub async fn create_outbound_connection(
        &self,
        actor: &Actor,
        id: String,
        kind: &str,
        display_name: &str,
        settings: Value,
        sealed_secret: Option<String>,
    ) -> Result<ProvisioningConnection> {
        self.insert_connection(actor, id, kind, display_name, settings, None, sealed_secret)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_connection(
        &self,
        actor: &Actor,
        id: String,
        kind: &str,
        display_name: &str,
        settings: Value,
        token_hash: Option<String>,
        sealed_secret: Option<String>,
    ) -> Result<ProvisioningConnection> {
        let name = display_name.trim();
        if name.is_empty() || name.chars().count() > 256 {
            return Err(StoreError::invalid(
                "displayName",
                "must be 1 to 256 characters",
            ));
        }
        let mut tx = self.begin_write().await?;
        let connection = ProvisioningConnection {
            id,
            kind: kind.into(),
            display_name: name.into(),
            settings,
            created_date_time: from_ms(tx.now),
            status: ConnectionStatus {
                last_run_date_time: None,
                last_status: None,
                last_error: None,
                last_change_date_time: None,
                changes: 0,
                failures: 0,
                drift: None,
            },
        };
        let now = tx.now;
        tx.execute(
            "INSERT INTO provisioning_connections (id, kind, display_name, name_key, settings, \
             token_hash, created_at, secret) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                Bind::Text(connection.id.clone()),
                Bind::Text(connection.kind.clone()),
                Bind::Text(connection.display_name.clone()),
                Bind::Text(connection.display_name.to_lowercase()),
                Bind::Text(connection.settings.to_string()),
                Bind::OptText(token_hash),
                Bind::Int(now),
                Bind::OptText(sealed_secret),
            ],
        )
        .await
        .map_err(|e| {
            conflict_as(
                e,
                "a provisioning connection with this displayName already exists",
            )
        })?;
        tx.audit(connection_event(
            actor,
            "provisioningConnection.create",
            &connection,
        ))
        .await?;
        tx.commit().await?;
        Ok(connection)
    }

    /// Every connection, oldest first.
    pub async fn list_provisioning_connections(&self) -> Result<Vec<ProvisioningConnection>> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM provisioning_connections ORDER BY created_at, id"
        );
        self.fetch_all(&sql, &[])
            .await?
            .iter()
            .map(connection_from_row)
            .collect()
    }

    /// A connection by id or by name (without regard to case).
    pub async fn get_provisioning_connection(
        &self,
        id_or_name: &str,
    ) -> Result<ProvisioningConnection> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM provisioning_connections WHERE id = $1 OR name_key = $2"
        );
        let row = self
            .fetch_optional(
                &sql,
                &[
                    Bind::Text(id_or_name.into()),
                    Bind::Text(id_or_name.trim().to_lowercase()),
                ],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "provisioningConnection",
                id: id_or_name.into(),
            })?;
        connection_from_row(&row)
    }

    /// The connection whose bearer token has this hash.
    pub async fn provisioning_connection_for_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<ProvisioningConnection>> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM provisioning_connections WHERE token_hash = $1"
        );
        self.fetch_optional(&sql, &[Bind::Text(token_hash.into())])
            .await?
            .as_ref()
            .map(connection_from_row)
            .transpose()
    }

    /// Deletes a connection; its token stops working at once. The users and groups it owned
    /// stay in the directory as ordinary (administrator-managed) objects. Audited.
    pub async fn delete_provisioning_connection(
        &self,
        actor: &Actor,
        id_or_name: &str,
    ) -> Result<ProvisioningConnection> {
        let connection = self.get_provisioning_connection(id_or_name).await?;
        let mut tx = self.begin_write().await?;
        for sql in [
            "UPDATE users SET provisioned_by = NULL, external_id = NULL WHERE provisioned_by = $1",
            "UPDATE groups SET provisioned_by = NULL, external_id = NULL WHERE provisioned_by = $1",
            "DELETE FROM provisioning_targets WHERE connection_id = $1",
            "DELETE FROM provisioning_connections WHERE id = $1",
        ] {
            tx.execute(sql, &[Bind::Text(connection.id.clone())])
                .await?;
        }
        tx.audit(connection_event(
            actor,
            "provisioningConnection.delete",
            &connection,
        ))
        .await?;
        tx.commit().await?;
        Ok(connection)
    }

    /// Audits an administrator's action on a connection (a run started, a held run
    /// confirmed).
    pub async fn audit_provisioning_action(
        &self,
        actor: &Actor,
        activity: &str,
        connection: &ProvisioningConnection,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        tx.audit(connection_event(actor, activity, connection))
            .await?;
        tx.commit().await
    }

    /// Records a request of the connection that was refused or failed (the change itself
    /// changed nothing).
    pub async fn record_provisioning_failure(&self, connection: &str, error: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        tx.execute(
            "UPDATE provisioning_connections SET failures = failures + 1, last_status = 'failed', \
             last_error = $1 WHERE id = $2",
            &[
                Bind::Text(error.chars().take(512).collect()),
                Bind::Text(connection.into()),
            ],
        )
        .await?;
        tx.commit().await
    }

    // ---- users ----

    fn provisioned_user_sql(condition: &str) -> String {
        format!(
            "SELECT {}, external_id, updated_at FROM users WHERE provisioned_by = $1 AND {condition} \
             ORDER BY created_at, id",
            USERS.columns
        )
    }

    /// A user the connection owns.
    pub async fn provisioned_user(
        &self,
        connection: &str,
        id: &str,
    ) -> Result<Option<ProvisionedUser>> {
        Ok(self
            .find_provisioned_users(connection, LookupField::Id, id)
            .await?
            .into_iter()
            .next())
    }

    /// The connection's users whose attribute equals `value`, through an index.
    pub async fn find_provisioned_users(
        &self,
        connection: &str,
        field: LookupField,
        value: &str,
    ) -> Result<Vec<ProvisionedUser>> {
        let _t = self.timer("provisioning.users.find");
        let (condition, value) = match field {
            LookupField::Id => ("id = $2", value.to_string()),
            LookupField::UserName => ("upn_key = $2", value.trim().to_lowercase()),
            LookupField::ExternalId => ("external_id = $2", value.to_string()),
            LookupField::DisplayName => ("display_name = $2", value.to_string()),
        };
        self.fetch_all(
            &Self::provisioned_user_sql(condition),
            &[Bind::Text(connection.into()), Bind::Text(value)],
        )
        .await?
        .iter()
        .map(provisioned_user_from_row)
        .collect()
    }

    /// The connection's users, oldest first, at most [`MAX_PROVISIONED_SCAN`].
    pub async fn provisioned_users(&self, connection: &str) -> Result<Vec<ProvisionedUser>> {
        let _t = self.timer("provisioning.users.list");
        let sql = format!(
            "{} LIMIT {MAX_PROVISIONED_SCAN}",
            Self::provisioned_user_sql("1 = 1")
        );
        self.fetch_all(&sql, &[Bind::Text(connection.into())])
            .await?
            .iter()
            .map(provisioned_user_from_row)
            .collect()
    }

    /// Creates a user owned by the connection. A `userPrincipalName` held by anyone else
    /// (a local account or another connection's) is a conflict: accounts are never adopted
    /// implicitly. Audited as `provisioning`.
    pub async fn create_provisioned_user(
        &self,
        actor: &Actor,
        connection: &str,
        external_id: Option<String>,
        new: NewUser,
    ) -> Result<ProvisionedUser> {
        let _t = self.timer("provisioning.users.create");
        let key = normalise_upn(&new.user_principal_name)
            .map_err(|e| StoreError::invalid("userPrincipalName", e.to_string()))?;
        let mut tx = self.begin_write().await?;
        tx.category = Some("provisioning");
        let user = User {
            id: new_id(),
            user_principal_name: new.user_principal_name,
            display_name: new.display_name,
            mail: new.mail,
            given_name: new.given_name,
            surname: new.surname,
            account_enabled: new.account_enabled,
            attributes: new.attributes,
            created_date_time: from_ms(tx.now),
        };
        insert_user(&mut tx, &user, &key, None, false).await?;
        tx.execute(
            "UPDATE users SET provisioned_by = $1, external_id = $2 WHERE id = $3",
            &[
                Bind::Text(connection.into()),
                Bind::OptText(external_id.clone()),
                Bind::Text(user.id.clone()),
            ],
        )
        .await
        .map_err(|e| conflict_as(e, "another user of this connection has this externalId"))?;
        let mut after = to_value(&user);
        if let Some(Value::Object(map)) = after.as_mut() {
            map.insert("externalId".into(), json!(external_id));
            map.insert("provisionedBy".into(), json!(connection));
        }
        tx.audit(change_event(
            actor,
            "user.create",
            target("user", &user.id, &user.user_principal_name),
            None,
            after,
        ))
        .await?;
        count_change(&mut tx, connection).await?;
        let updated_at = tx.now;
        tx.commit().await?;
        Ok(ProvisionedUser {
            user,
            external_id,
            updated_at,
        })
    }

    /// Changes a user the connection owns, through the directory's own path (a disable ends
    /// sessions, OIDC grants and PIM elevations in the same transaction).
    pub async fn update_provisioned_user(
        &self,
        actor: &Actor,
        connection: &str,
        id: &str,
        external_id: Option<String>,
        patch: UserPatch,
    ) -> Result<ProvisionedUser> {
        self.update_user_via(
            actor,
            id,
            patch,
            Via {
                connection: Some(connection),
                external_id: Some(external_id),
            },
        )
        .await?;
        let mut tx = self.begin_write().await?;
        count_change(&mut tx, connection).await?;
        tx.commit().await?;
        self.provisioned_user(connection, id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "user",
                id: id.into(),
            })
    }

    /// Deletes a user the connection owns, through the directory's own path.
    pub async fn delete_provisioned_user(
        &self,
        actor: &Actor,
        connection: &str,
        id: &str,
    ) -> Result<()> {
        self.delete_user_via(
            actor,
            id,
            Via {
                connection: Some(connection),
                external_id: None,
            },
        )
        .await?;
        let mut tx = self.begin_write().await?;
        count_change(&mut tx, connection).await?;
        tx.commit().await
    }

    // ---- groups ----

    fn provisioned_group_sql(condition: &str) -> String {
        format!(
            "SELECT {}, external_id, updated_at FROM groups WHERE provisioned_by = $1 AND {condition} \
             ORDER BY created_at, id",
            GROUPS.columns
        )
    }

    /// A group the connection owns.
    pub async fn provisioned_group(
        &self,
        connection: &str,
        id: &str,
    ) -> Result<Option<ProvisionedGroup>> {
        Ok(self
            .find_provisioned_groups(connection, LookupField::Id, id)
            .await?
            .into_iter()
            .next())
    }

    /// The connection's groups whose attribute equals `value`, through an index.
    pub async fn find_provisioned_groups(
        &self,
        connection: &str,
        field: LookupField,
        value: &str,
    ) -> Result<Vec<ProvisionedGroup>> {
        let _t = self.timer("provisioning.groups.find");
        let (condition, value) = match field {
            LookupField::Id => ("id = $2", value.to_string()),
            LookupField::ExternalId => ("external_id = $2", value.to_string()),
            // Group names are unique without regard to case.
            LookupField::DisplayName | LookupField::UserName => {
                ("name_key = $2", value.trim().to_lowercase())
            }
        };
        self.fetch_all(
            &Self::provisioned_group_sql(condition),
            &[Bind::Text(connection.into()), Bind::Text(value)],
        )
        .await?
        .iter()
        .map(provisioned_group_from_row)
        .collect()
    }

    /// The connection's groups, oldest first, at most [`MAX_PROVISIONED_SCAN`].
    pub async fn provisioned_groups(&self, connection: &str) -> Result<Vec<ProvisionedGroup>> {
        let sql = format!(
            "{} LIMIT {MAX_PROVISIONED_SCAN}",
            Self::provisioned_group_sql("1 = 1")
        );
        self.fetch_all(&sql, &[Bind::Text(connection.into())])
            .await?
            .iter()
            .map(provisioned_group_from_row)
            .collect()
    }

    /// The direct members of a group with their names, in the order they were added.
    pub async fn group_member_refs(&self, group_id: &str) -> Result<Vec<MemberRef>> {
        let rows = self
            .fetch_all(
                "SELECT m.member_id, m.member_type, COALESCE(u.display_name, g.display_name, '') AS name \
                 FROM group_members m LEFT JOIN users u ON u.id = m.member_id \
                 LEFT JOIN groups g ON g.id = m.member_id WHERE m.group_id = $1 ORDER BY m.member_id",
                &[Bind::Text(group_id.into())],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(MemberRef {
                    id: r.try_get("member_id")?,
                    kind: r.try_get("member_type")?,
                    display_name: r.try_get("name")?,
                })
            })
            .collect()
    }

    /// Creates a group owned by the connection with its first members, which must be the
    /// connection's too. Provisioned groups never hold roles. Audited as `provisioning`.
    pub async fn create_provisioned_group(
        &self,
        actor: &Actor,
        connection: &str,
        external_id: Option<String>,
        display_name: &str,
        members: &[String],
    ) -> Result<ProvisionedGroup> {
        let _t = self.timer("provisioning.groups.create");
        let name = display_name.trim();
        if name.is_empty() || name.chars().count() > 256 {
            return Err(StoreError::invalid(
                "displayName",
                "must be 1 to 256 characters",
            ));
        }
        let mut tx = self.begin_write().await?;
        tx.category = Some("provisioning");
        let group = Group {
            id: new_id(),
            display_name: name.into(),
            description: None,
            is_assignable_to_role: false,
            created_date_time: from_ms(tx.now),
        };
        let now = tx.now;
        tx.execute(
            "INSERT INTO groups (id, display_name, name_key, description, is_assignable_to_role, \
             created_at, updated_at, provisioned_by, external_id) VALUES ($1, $2, $3, NULL, 0, $4, $4, $5, $6)",
            &[
                Bind::Text(group.id.clone()),
                Bind::Text(group.display_name.clone()),
                Bind::Text(group.display_name.to_lowercase()),
                Bind::Int(now),
                Bind::Text(connection.into()),
                Bind::OptText(external_id.clone()),
            ],
        )
        .await
        .map_err(|e| {
            conflict_as(
                e,
                "a group with this displayName or (in this connection) externalId already exists",
            )
        })?;
        let mut after = to_value(&group);
        if let Some(Value::Object(map)) = after.as_mut() {
            map.insert("externalId".into(), json!(external_id));
            map.insert("provisionedBy".into(), json!(connection));
        }
        tx.audit(change_event(
            actor,
            "group.create",
            target("group", &group.id, &group.display_name),
            None,
            after,
        ))
        .await?;
        owned_members(&mut tx, connection, members).await?;
        for member in members {
            add_member_tx(&mut tx, actor, &group, member, "members").await?;
        }
        count_change(&mut tx, connection).await?;
        tx.commit().await?;
        Ok(ProvisionedGroup {
            group,
            external_id,
            updated_at: now,
        })
    }

    /// Changes a group the connection owns: its name, its external id, and members added
    /// and removed, all in one transaction (all or nothing).
    pub async fn update_provisioned_group(
        &self,
        actor: &Actor,
        connection: &str,
        id: &str,
        change: GroupChange,
    ) -> Result<ProvisionedGroup> {
        let _t = self.timer("provisioning.groups.update");
        let before = self
            .provisioned_group(connection, id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "group",
                id: id.into(),
            })?;
        let name = change.display_name.trim();
        if name.is_empty() || name.chars().count() > 256 {
            return Err(StoreError::invalid(
                "displayName",
                "must be 1 to 256 characters",
            ));
        }
        let mut tx = self.begin_write().await?;
        let via = Via {
            connection: Some(connection),
            external_id: Some(change.external_id.clone()),
        };
        via.enter(&mut tx, "groups", &before.group.id).await?;
        let guard = LastAdminGuard::take(&mut tx).await?;
        let mut after = before.group.clone();
        after.display_name = name.into();
        let now = tx.now;
        tx.execute(
            "UPDATE groups SET display_name = $1, name_key = $2, updated_at = $3 WHERE id = $4",
            &[
                Bind::Text(after.display_name.clone()),
                Bind::Text(after.display_name.to_lowercase()),
                Bind::Int(now),
                Bind::Text(after.id.clone()),
            ],
        )
        .await
        .map_err(|e| conflict_as(e, "a group with this displayName already exists"))?;
        via.set_external_id(&mut tx, "groups", &after.id).await?;
        let mut before_value = to_value(&before.group);
        if let Some(Value::Object(map)) = before_value.as_mut() {
            map.insert("externalId".into(), json!(before.external_id));
        }
        let mut after_value = to_value(&after);
        if let Some(Value::Object(map)) = after_value.as_mut() {
            map.insert("externalId".into(), json!(change.external_id));
        }
        if before_value != after_value {
            tx.audit(change_event(
                actor,
                "group.update",
                target("group", &after.id, &after.display_name),
                before_value,
                after_value,
            ))
            .await?;
        }
        owned_members(&mut tx, connection, &change.add).await?;
        for member in &change.add {
            add_member_tx(&mut tx, actor, &after, member, "members").await?;
        }
        for member in &change.remove {
            let n = tx
                .execute(
                    "DELETE FROM group_members WHERE group_id = $1 AND member_id = $2",
                    &[Bind::Text(after.id.clone()), Bind::Text(member.clone())],
                )
                .await?;
            if n > 0 {
                tx.audit(change_event(
                    actor,
                    "group.removeMember",
                    target("group", &after.id, &after.display_name),
                    Some(json!({ "memberId": member })),
                    None,
                ))
                .await?;
            }
        }
        guard.check(&mut tx).await?;
        count_change(&mut tx, connection).await?;
        tx.commit().await?;
        Ok(ProvisionedGroup {
            group: after,
            external_id: change.external_id,
            updated_at: now,
        })
    }

    /// Deletes a group the connection owns, through the directory's own path.
    pub async fn delete_provisioned_group(
        &self,
        actor: &Actor,
        connection: &str,
        id: &str,
    ) -> Result<()> {
        let group = self
            .provisioned_group(connection, id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "group",
                id: id.into(),
            })?;
        self.delete_group_via(
            actor,
            &group.group.id,
            Via {
                connection: Some(connection),
                external_id: None,
            },
        )
        .await?;
        let mut tx = self.begin_write().await?;
        count_change(&mut tx, connection).await?;
        tx.commit().await
    }
}

/// A change to a provisioned group: the whole name and external id, and member edges.
#[derive(Debug, Clone, Default)]
pub struct GroupChange {
    /// The name.
    pub display_name: String,
    /// The client's id.
    pub external_id: Option<String>,
    /// Members to add (the connection's own users and groups).
    pub add: Vec<String>,
    /// Members to remove.
    pub remove: Vec<String>,
}
