//! The directory: users, groups (nested), applications, role definitions and assignments.
//! Every change validates its input, writes, and appends its audit event in one transaction.

use crate::changes::Topic;
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::Row;
use trustplane_model::{
    builtin_roles, from_ms, new_id, normalise_upn, Actor, Application, AssignmentKind, BuiltinRole,
    Event, Group, ObjectKind, Outcome, RoleAssignment, RoleDefinition, Target, Timestamp, User,
};

use crate::auth::{end_sign_ins_tx, Ending};
use crate::db::{Bind, Store, WriteTx};
use crate::error::{Result, StoreError};
use crate::list::{self, Collection, ListQuery, Page};
use crate::protection::LastAdminGuard;

/// A user to create. `password_hash` is already hashed by the caller.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Sign-in name.
    pub user_principal_name: String,
    /// Name shown to people.
    pub display_name: String,
    /// Mail address.
    pub mail: Option<String>,
    /// First name.
    pub given_name: Option<String>,
    /// Last name.
    pub surname: Option<String>,
    /// Whether the account may sign in.
    pub account_enabled: bool,
    /// Free attributes.
    pub attributes: Map<String, Value>,
    /// A PHC-format password hash.
    pub password_hash: Option<String>,
    /// Whether the password must be changed at the next sign-in.
    pub password_must_change: bool,
}

/// Changes to a user; absent fields stay as they are. In `attributes`, a `null` value
/// removes the attribute.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New sign-in name.
    pub user_principal_name: Option<String>,
    /// New display name.
    pub display_name: Option<String>,
    /// New mail address (`Some(None)` clears it).
    pub mail: Option<Option<String>>,
    /// New first name.
    pub given_name: Option<Option<String>>,
    /// New last name.
    pub surname: Option<Option<String>>,
    /// Enable or disable the account.
    pub account_enabled: Option<bool>,
    /// Attributes to set or (with `null`) remove.
    pub attributes: Option<Map<String, Value>>,
    /// A new PHC-format password hash.
    pub password_hash: Option<String>,
    /// With a new password: whether it must be changed at the next sign-in.
    pub password_must_change: bool,
    /// With a new password: what happens to the user's sign-ins.
    pub password_sign_ins: PasswordSignIns,
}

/// What a new password does to the sign-ins (sessions and OIDC grants) made with the old one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PasswordSignIns {
    /// A new secret (an administrator's reset): every sign-in of the user ends.
    #[default]
    EndAll,
    /// The person changed their own password in this session, which lives on; the rest end.
    KeepSession(String),
    /// The same password rehashed with current parameters: nothing ends.
    Rehash,
}

/// A group to create.
#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    /// Name shown to people; unique without regard to case.
    pub display_name: String,
    /// What the group is for.
    pub description: Option<String>,
    /// Whether the group can hold directory roles.
    pub is_assignable_to_role: bool,
    /// Ids of users and groups to add as members.
    pub members: Vec<String>,
}

/// Changes to a group.
#[derive(Debug, Clone, Default)]
pub struct GroupPatch {
    /// New display name.
    pub display_name: Option<String>,
    /// New description.
    pub description: Option<Option<String>>,
}

/// An application to register.
#[derive(Debug, Clone, Default)]
pub struct NewApplication {
    /// Name shown to people.
    pub display_name: String,
    /// What the application is.
    pub description: Option<String>,
    /// The identifier others know it by; generated when absent.
    pub app_id: Option<String>,
    /// Protocol settings.
    pub settings: Map<String, Value>,
}

/// Changes to an application.
#[derive(Debug, Clone, Default)]
pub struct AppPatch {
    /// New display name.
    pub display_name: Option<String>,
    /// New description.
    pub description: Option<Option<String>>,
    /// Replacement settings.
    pub settings: Option<Map<String, Value>>,
}

/// A role assignment to create.
#[derive(Debug, Clone)]
pub struct NewAssignment {
    /// The user or group.
    pub principal_id: String,
    /// The role.
    pub role_definition_id: String,
    /// Where it applies (`/` for the whole directory).
    pub directory_scope_id: String,
    /// Active or eligible.
    pub assignment_type: AssignmentKind,
    /// Start of the schedule.
    pub start: Option<Timestamp>,
    /// End of the schedule.
    pub end: Option<Timestamp>,
}

pub(crate) const USERS: Collection = Collection {
    table: "users",
    columns:
        "id, upn, display_name, mail, given_name, surname, account_enabled, attributes, created_at",
    fields: &[
        ("userPrincipalName", "upn_key"),
        ("displayName", "display_name"),
        ("mail", "mail"),
        ("givenName", "given_name"),
        ("surname", "surname"),
        ("id", "id"),
    ],
};

pub(crate) const GROUPS: Collection = Collection {
    table: "groups",
    columns: "id, display_name, description, is_assignable_to_role, created_at",
    fields: &[("displayName", "name_key"), ("id", "id")],
};

const APPS: Collection = Collection {
    table: "applications",
    columns: "id, app_id, display_name, description, settings, created_at",
    fields: &[
        ("displayName", "display_name"),
        ("appId", "app_id"),
        ("id", "id"),
    ],
};

pub(crate) const ASSIGNMENTS: Collection = Collection {
    table: "role_assignments",
    columns: "id, principal_id, principal_type, role_definition_id, directory_scope_id, assignment_type, start_at, end_at, created_at",
    fields: &[
        ("principalId", "principal_id"),
        ("roleDefinitionId", "role_definition_id"),
        ("directoryScopeId", "directory_scope_id"),
        ("assignmentType", "assignment_type"),
        ("id", "id"),
    ],
};

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User> {
    let attributes: String = row.try_get("attributes")?;
    Ok(User {
        id: row.try_get("id")?,
        user_principal_name: row.try_get("upn")?,
        display_name: row.try_get("display_name")?,
        mail: row.try_get("mail")?,
        given_name: row.try_get("given_name")?,
        surname: row.try_get("surname")?,
        account_enabled: row.try_get::<i64, _>("account_enabled")? != 0,
        attributes: serde_json::from_str(&attributes)?,
        created_date_time: from_ms(row.try_get("created_at")?),
    })
}

pub(crate) fn group_from_row(row: &AnyRow) -> Result<Group> {
    Ok(Group {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        description: row.try_get("description")?,
        is_assignable_to_role: row.try_get::<i64, _>("is_assignable_to_role")? != 0,
        created_date_time: from_ms(row.try_get("created_at")?),
    })
}

fn app_from_row(row: &AnyRow) -> Result<Application> {
    let settings: String = row.try_get("settings")?;
    Ok(Application {
        id: row.try_get("id")?,
        app_id: row.try_get("app_id")?,
        display_name: row.try_get("display_name")?,
        description: row.try_get("description")?,
        settings: serde_json::from_str(&settings)?,
        created_date_time: from_ms(row.try_get("created_at")?),
    })
}

pub(crate) fn assignment_from_row(row: &AnyRow) -> Result<RoleAssignment> {
    let principal_type: String = row.try_get("principal_type")?;
    let assignment_type: String = row.try_get("assignment_type")?;
    let start: Option<i64> = row.try_get("start_at")?;
    let end: Option<i64> = row.try_get("end_at")?;
    Ok(RoleAssignment {
        id: row.try_get("id")?,
        principal_id: row.try_get("principal_id")?,
        principal_type: ObjectKind::parse(&principal_type)
            .ok_or_else(|| StoreError::Corrupt(format!("principal type `{principal_type}`")))?,
        role_definition_id: row.try_get("role_definition_id")?,
        directory_scope_id: row.try_get("directory_scope_id")?,
        assignment_type: AssignmentKind::parse(&assignment_type)
            .ok_or_else(|| StoreError::Corrupt(format!("assignment type `{assignment_type}`")))?,
        start_date_time: start.map(from_ms),
        end_date_time: end.map(from_ms),
        created_date_time: from_ms(row.try_get("created_at")?),
    })
}

pub(crate) fn to_value<T: serde::Serialize>(v: &T) -> Option<Value> {
    serde_json::to_value(v).ok()
}

/// An audit event for a directory change.
pub(crate) fn change_event(
    actor: &Actor,
    activity: &str,
    target: Target,
    before: Option<Value>,
    after: Option<Value>,
) -> Event {
    Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "directory".into(),
        activity: activity.into(),
        initiated_by: actor.clone(),
        target: Some(target),
        result: Outcome::Success,
        result_reason: None,
        before,
        after,
    }
}

pub(crate) fn target(kind: &str, id: &str, name: &str) -> Target {
    Target {
        kind: kind.into(),
        id: id.into(),
        display_name: Some(name.into()),
    }
}

fn required(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(StoreError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(StoreError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// Most custom attributes on one user.
pub const MAX_USER_ATTRIBUTES: usize = 64;
/// Longest attribute name.
pub const MAX_ATTRIBUTE_NAME: usize = 64;
/// Largest attribute value, as JSON.
pub const MAX_ATTRIBUTE_VALUE_BYTES: usize = 4 * 1024;
/// Largest set of attributes of one user, as JSON.
pub const MAX_ATTRIBUTES_BYTES: usize = 32 * 1024;

/// Bounds a user's custom attributes by count and size: they are stored with the user, copied
/// into every audit event about them and read at every sign-in.
fn valid_attributes(attributes: &Map<String, Value>) -> Result<()> {
    if attributes.len() > MAX_USER_ATTRIBUTES {
        return Err(StoreError::invalid(
            "attributes",
            format!("at most {MAX_USER_ATTRIBUTES} attributes are kept per user"),
        ));
    }
    let mut total = 0usize;
    for (name, value) in attributes {
        if name.is_empty() || name.chars().count() > MAX_ATTRIBUTE_NAME {
            return Err(StoreError::invalid(
                "attributes",
                format!("attribute names must be 1 to {MAX_ATTRIBUTE_NAME} characters"),
            ));
        }
        let size = value.to_string().len();
        if size > MAX_ATTRIBUTE_VALUE_BYTES {
            return Err(StoreError::invalid(
                "attributes",
                format!("`{name}` is {size} bytes; at most {MAX_ATTRIBUTE_VALUE_BYTES} per value"),
            ));
        }
        total += name.len() + size;
    }
    if total > MAX_ATTRIBUTES_BYTES {
        return Err(StoreError::invalid(
            "attributes",
            format!("attributes take {total} bytes; at most {MAX_ATTRIBUTES_BYTES} per user"),
        ));
    }
    Ok(())
}

fn optional_name(field: &'static str, value: &Option<String>) -> Result<()> {
    match value {
        Some(v) if v.chars().count() > 256 => {
            Err(StoreError::invalid(field, "must be at most 256 characters"))
        }
        _ => Ok(()),
    }
}

fn valid_mail(mail: &Option<String>) -> Result<()> {
    if let Some(m) = mail {
        normalise_upn(m).map_err(|_| StoreError::invalid("mail", "is not a mail address"))?;
    }
    Ok(())
}

fn page<T>(rows: Vec<AnyRow>, top: usize, map: fn(&AnyRow) -> Result<T>) -> Result<Page<T>> {
    let more = rows.len() > top;
    let mut items = Vec::with_capacity(top.min(rows.len()));
    let mut last = None;
    for row in rows.iter().take(top) {
        items.push(map(row)?);
        last = Some((
            row.try_get::<i64, _>("created_at")?,
            row.try_get::<String, _>("id")?,
        ));
    }
    let next = match (more, last) {
        (true, Some((at, id))) => Some(list::token(at, &id)),
        _ => None,
    };
    Ok(Page { items, next })
}

impl Store {
    async fn list_collection<T>(
        &self,
        c: &Collection,
        q: &ListQuery,
        map: fn(&AnyRow) -> Result<T>,
    ) -> Result<Page<T>> {
        let (sql, binds, top) = list::build(c, q, self.backend)?;
        let rows = self.fetch_all(&sql, &binds).await?;
        page(rows, top, map)
    }

    // ---- users ----

    /// Creates a user.
    pub async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<User> {
        let _t = self.timer("users.create");
        let key = normalise_upn(&new.user_principal_name)
            .map_err(|e| StoreError::invalid("userPrincipalName", e.to_string()))?;
        required("displayName", &new.display_name, 256)?;
        valid_mail(&new.mail)?;
        optional_name("givenName", &new.given_name)?;
        optional_name("surname", &new.surname)?;
        valid_attributes(&new.attributes)?;
        let mut tx = self.begin_write().await?;
        let user = User {
            id: new_id(),
            user_principal_name: new.user_principal_name.clone(),
            display_name: new.display_name,
            mail: new.mail,
            given_name: new.given_name,
            surname: new.surname,
            account_enabled: new.account_enabled,
            attributes: new.attributes,
            created_date_time: from_ms(tx.now),
        };
        insert_user(
            &mut tx,
            &user,
            &key,
            new.password_hash,
            new.password_must_change,
        )
        .await?;
        tx.audit(change_event(
            actor,
            "user.create",
            target("user", &user.id, &user.user_principal_name),
            None,
            to_value(&user),
        ))
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Finds a user by object id or by user principal name.
    pub async fn get_user(&self, id_or_upn: &str) -> Result<User> {
        let _t = self.timer("users.get");
        let sql = format!(
            "SELECT {} FROM users WHERE id = $1 OR upn_key = $2",
            USERS.columns
        );
        let row = self
            .fetch_optional(
                &sql,
                &[
                    Bind::Text(id_or_upn.to_string()),
                    Bind::Text(id_or_upn.to_lowercase()),
                ],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "user",
                id: id_or_upn.to_string(),
            })?;
        user_from_row(&row)
    }

    /// Lists users.
    pub async fn list_users(&self, q: &ListQuery) -> Result<Page<User>> {
        let _t = self.timer("users.list");
        self.list_collection(&USERS, q, user_from_row).await
    }

    /// Changes a user.
    pub async fn update_user(&self, actor: &Actor, id: &str, patch: UserPatch) -> Result<User> {
        self.update_user_via(actor, id, patch, Via::default()).await
    }

    /// [`Store::update_user`], made by a provisioning connection when `via` names one: the
    /// user must be the connection's, and the change is audited as `provisioning`.
    pub(crate) async fn update_user_via(
        &self,
        actor: &Actor,
        id: &str,
        patch: UserPatch,
        via: Via<'_>,
    ) -> Result<User> {
        let _t = self.timer("users.update");
        let before = self.get_user(id).await?;
        let mut after = before.clone();
        if let Some(upn) = patch.user_principal_name {
            normalise_upn(&upn)
                .map_err(|e| StoreError::invalid("userPrincipalName", e.to_string()))?;
            after.user_principal_name = upn;
        }
        if let Some(v) = patch.display_name {
            required("displayName", &v, 256)?;
            after.display_name = v;
        }
        if let Some(v) = patch.mail {
            valid_mail(&v)?;
            after.mail = v;
        }
        if let Some(v) = patch.given_name {
            optional_name("givenName", &v)?;
            after.given_name = v;
        }
        if let Some(v) = patch.surname {
            optional_name("surname", &v)?;
            after.surname = v;
        }
        if let Some(v) = patch.account_enabled {
            after.account_enabled = v;
        }
        if let Some(attrs) = patch.attributes {
            for (k, v) in attrs {
                if v.is_null() {
                    after.attributes.remove(&k);
                } else {
                    after.attributes.insert(k, v);
                }
            }
            valid_attributes(&after.attributes)?;
        }
        let key = after.user_principal_name.to_lowercase();
        let mut tx = self.begin_write().await?;
        via.enter(&mut tx, "users", &before.id).await?;
        let guard = match patch.account_enabled {
            Some(false) => Some(LastAdminGuard::take(&mut tx).await?),
            _ => None,
        };
        let changed = tx
            .execute(
                "UPDATE users SET upn = $1, upn_key = $2, display_name = $3, mail = $4, given_name = $5, \
                 surname = $6, account_enabled = $7, attributes = $8, \
                 password_hash = COALESCE($9, password_hash), updated_at = $10, \
                 password_must_change = CASE WHEN $9 IS NULL THEN password_must_change ELSE $12 END WHERE id = $11",
                &[
                    Bind::Text(after.user_principal_name.clone()),
                    Bind::Text(key),
                    Bind::Text(after.display_name.clone()),
                    Bind::OptText(after.mail.clone()),
                    Bind::OptText(after.given_name.clone()),
                    Bind::OptText(after.surname.clone()),
                    Bind::Int(after.account_enabled.into()),
                    Bind::Text(Value::Object(after.attributes.clone()).to_string()),
                    Bind::OptText(patch.password_hash.clone()),
                    Bind::Int(tx.now),
                    Bind::Text(before.id.clone()),
                    Bind::Int(patch.password_must_change.into()),
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                kind: "user",
                id: id.into(),
            });
        }
        via.set_external_id(&mut tx, "users", &before.id).await?;
        // A disabled account, or one whose password changed, loses its sessions and OIDC
        // grants in the same transaction: no window in which it is disabled (or the old
        // password's holder is still signed in) and tokens still work.
        let disabled = before.account_enabled && !after.account_enabled;
        let new_password =
            patch.password_hash.is_some() && patch.password_sign_ins != PasswordSignIns::Rehash;
        let ended = if disabled || new_password {
            let keep = match &patch.password_sign_ins {
                PasswordSignIns::KeepSession(id) if !disabled => Some(id.as_str()),
                _ => None,
            };
            let why = if disabled {
                "account disabled"
            } else {
                "password changed"
            };
            Some(end_sign_ins_tx(&mut tx, &before.id, Ending::All { keep }, why).await?)
        } else {
            None
        };
        // Elevations end with the account: an active one is revoked and a pending one is
        // cancelled here, and the PIM engine takes the grants back on its next convergence.
        if disabled {
            crate::pim::end_requests_of_disabled_tx(&mut tx, actor, &before.id).await?;
        }
        if let Some(guard) = guard {
            guard.check(&mut tx).await?;
        }
        let mut event = change_event(
            actor,
            "user.update",
            target("user", &after.id, &after.user_principal_name),
            to_value(&before),
            to_value(&after),
        );
        if patch.password_hash.is_some() {
            event.result_reason = Some(if new_password {
                "password changed".into()
            } else {
                "password rehashed".into()
            });
        }
        if let Some(e) = ended {
            let said = event
                .result_reason
                .take()
                .map(|r| format!("{r}; "))
                .unwrap_or_default();
            event.result_reason = Some(format!("{said}{}", e.describe()));
        }
        tx.audit(event).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a user with their memberships, role assignments and tokens.
    pub async fn delete_user(&self, actor: &Actor, id: &str) -> Result<()> {
        self.delete_user_via(actor, id, Via::default()).await
    }

    /// [`Store::delete_user`], by a provisioning connection when `via` names one.
    pub(crate) async fn delete_user_via(
        &self,
        actor: &Actor,
        id: &str,
        via: Via<'_>,
    ) -> Result<()> {
        let _t = self.timer("users.delete");
        let user = self.get_user(id).await?;
        let mut tx = self.begin_write().await?;
        via.enter(&mut tx, "users", &user.id).await?;
        let guard = LastAdminGuard::take(&mut tx).await?;
        // Their elevations end too; the PIM engine takes the grants back.
        crate::pim::end_requests_of_disabled_tx(&mut tx, actor, &user.id).await?;
        if !delete_user_rows_tx(&mut tx, &user.id).await? {
            return Err(StoreError::NotFound {
                kind: "user",
                id: id.into(),
            });
        }
        guard.check(&mut tx).await?;
        tx.audit(change_event(
            actor,
            "user.delete",
            target("user", &user.id, &user.user_principal_name),
            to_value(&user),
            None,
        ))
        .await?;
        tx.commit().await
    }

    /// The stored password hash of a user and whether it must be changed at the next
    /// sign-in, for the sign-in flow.
    pub async fn user_password(&self, id: &str) -> Result<(Option<String>, bool)> {
        let row = self
            .fetch_optional(
                "SELECT password_hash, password_must_change FROM users WHERE id = $1",
                &[Bind::Text(id.into())],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "user",
                id: id.into(),
            })?;
        Ok((
            row.try_get("password_hash")?,
            row.try_get::<i64, _>("password_must_change")? != 0,
        ))
    }

    // ---- groups ----

    /// Creates a group, with its first members.
    pub async fn create_group(&self, actor: &Actor, new: NewGroup) -> Result<Group> {
        let _t = self.timer("groups.create");
        required("displayName", &new.display_name, 256)?;
        let mut tx = self.begin_write().await?;
        let group = Group {
            id: new_id(),
            display_name: new.display_name,
            description: new.description,
            is_assignable_to_role: new.is_assignable_to_role,
            created_date_time: from_ms(tx.now),
        };
        tx.execute(
            "INSERT INTO groups (id, display_name, name_key, description, is_assignable_to_role, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
            &[
                Bind::Text(group.id.clone()),
                Bind::Text(group.display_name.clone()),
                Bind::Text(group.display_name.to_lowercase()),
                Bind::OptText(group.description.clone()),
                Bind::Int(group.is_assignable_to_role.into()),
                Bind::Int(tx.now),
            ],
        )
        .await
        .map_err(|e| conflict_as(e, "a group with this displayName already exists"))?;
        tx.audit(change_event(
            actor,
            "group.create",
            target("group", &group.id, &group.display_name),
            None,
            to_value(&group),
        ))
        .await?;
        for member in &new.members {
            add_member_tx(&mut tx, actor, &group, member, "members").await?;
        }
        tx.commit().await?;
        Ok(group)
    }

    /// Finds a group by id.
    pub async fn get_group(&self, id: &str) -> Result<Group> {
        let _t = self.timer("groups.get");
        let sql = format!("SELECT {} FROM groups WHERE id = $1", GROUPS.columns);
        if let Some(row) = self.fetch_optional(&sql, &[Bind::Text(id.into())]).await? {
            return group_from_row(&row);
        }
        // Names are accepted where ids are; they are unique without regard to case.
        let sql = format!("SELECT {} FROM groups WHERE name_key = $1", GROUPS.columns);
        let row = self
            .fetch_optional(&sql, &[Bind::Text(id.to_lowercase())])
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "group",
                id: id.into(),
            })?;
        group_from_row(&row)
    }

    /// Lists groups.
    pub async fn list_groups(&self, q: &ListQuery) -> Result<Page<Group>> {
        let _t = self.timer("groups.list");
        self.list_collection(&GROUPS, q, group_from_row).await
    }

    /// Changes a group.
    pub async fn update_group(&self, actor: &Actor, id: &str, patch: GroupPatch) -> Result<Group> {
        let _t = self.timer("groups.update");
        let before = self.get_group(id).await?;
        let mut after = before.clone();
        if let Some(v) = patch.display_name {
            required("displayName", &v, 256)?;
            after.display_name = v;
        }
        if let Some(v) = patch.description {
            after.description = v;
        }
        let mut tx = self.begin_write().await?;
        tx.execute(
            "UPDATE groups SET display_name = $1, name_key = $2, description = $3, updated_at = $4 \
             WHERE id = $5",
            &[
                Bind::Text(after.display_name.clone()),
                Bind::Text(after.display_name.to_lowercase()),
                Bind::OptText(after.description.clone()),
                Bind::Int(tx.now),
                Bind::Text(before.id.clone()),
            ],
        )
        .await
        .map_err(|e| conflict_as(e, "a group with this displayName already exists"))?;
        tx.audit(change_event(
            actor,
            "group.update",
            target("group", &after.id, &after.display_name),
            to_value(&before),
            to_value(&after),
        ))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a group, its memberships and its role assignments.
    pub async fn delete_group(&self, actor: &Actor, id: &str) -> Result<()> {
        self.delete_group_via(actor, id, Via::default()).await
    }

    /// [`Store::delete_group`], by a provisioning connection when `via` names one.
    pub(crate) async fn delete_group_via(
        &self,
        actor: &Actor,
        id: &str,
        via: Via<'_>,
    ) -> Result<()> {
        let _t = self.timer("groups.delete");
        let group = self.get_group(id).await?;
        let mut tx = self.begin_write().await?;
        via.enter(&mut tx, "groups", &group.id).await?;
        let guard = LastAdminGuard::take(&mut tx).await?;
        delete_group_rows_tx(&mut tx, &group.id).await?;
        guard.check(&mut tx).await?;
        tx.audit(change_event(
            actor,
            "group.delete",
            target("group", &group.id, &group.display_name),
            to_value(&group),
            None,
        ))
        .await?;
        tx.commit().await
    }

    /// Adds a user or group to a group. Refuses a membership that would make a cycle.
    pub async fn add_member(&self, actor: &Actor, group_id: &str, member_id: &str) -> Result<()> {
        let _t = self.timer("groups.add_member");
        let group = self.get_group(group_id).await?;
        let mut tx = self.begin_write().await?;
        add_member_tx(&mut tx, actor, &group, member_id, "@odata.id").await?;
        tx.commit().await
    }

    /// Removes a direct member from a group.
    pub async fn remove_member(
        &self,
        actor: &Actor,
        group_id: &str,
        member_id: &str,
    ) -> Result<()> {
        let _t = self.timer("groups.remove_member");
        let group = self.get_group(group_id).await?;
        let mut tx = self.begin_write().await?;
        let guard = LastAdminGuard::take(&mut tx).await?;
        let n = tx
            .execute(
                "DELETE FROM group_members WHERE group_id = $1 AND member_id = $2",
                &[Bind::Text(group.id.clone()), Bind::Text(member_id.into())],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound {
                kind: "member",
                id: member_id.into(),
            });
        }
        guard.check(&mut tx).await?;
        tx.audit(change_event(
            actor,
            "group.removeMember",
            target("group", &group.id, &group.display_name),
            Some(serde_json::json!({ "memberId": member_id })),
            None,
        ))
        .await?;
        tx.commit().await
    }

    /// The members of a group: direct only, or (transitive) also members of nested groups.
    pub async fn list_members(
        &self,
        group_id: &str,
        transitive: bool,
    ) -> Result<(Vec<User>, Vec<Group>)> {
        let _t = self.timer("groups.members");
        self.get_group(group_id).await?;
        let ids_sql = if transitive {
            "WITH RECURSIVE m(id, kind) AS ( \
                SELECT member_id, member_type FROM group_members WHERE group_id = $1 \
                UNION SELECT gm.member_id, gm.member_type FROM group_members gm JOIN m ON gm.group_id = m.id) \
             SELECT id, kind FROM m"
        } else {
            "SELECT member_id AS id, member_type AS kind FROM group_members WHERE group_id = $1"
        };
        let user_sql = format!(
            "SELECT {} FROM users WHERE id IN (SELECT id FROM ({ids_sql}) x WHERE kind = 'user') ORDER BY created_at, id",
            USERS.columns
        );
        let group_sql = format!(
            "SELECT {} FROM groups WHERE id IN (SELECT id FROM ({ids_sql}) x WHERE kind = 'group') ORDER BY created_at, id",
            GROUPS.columns
        );
        let users = self
            .fetch_all(&user_sql, &[Bind::Text(group_id.into())])
            .await?
            .iter()
            .map(user_from_row)
            .collect::<Result<_>>()?;
        let groups = self
            .fetch_all(&group_sql, &[Bind::Text(group_id.into())])
            .await?
            .iter()
            .map(group_from_row)
            .collect::<Result<_>>()?;
        Ok((users, groups))
    }

    /// The groups a user or group belongs to, directly or (transitive) through nesting.
    pub async fn member_of(&self, member_id: &str, transitive: bool) -> Result<Vec<Group>> {
        let _t = self.timer("groups.member_of");
        let ids = self.group_ids_of(member_id, transitive).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {} FROM groups WHERE id IN ({}) ORDER BY created_at, id",
            GROUPS.columns,
            placeholders.join(", ")
        );
        let binds: Vec<Bind> = ids.into_iter().map(Bind::Text).collect();
        self.fetch_all(&sql, &binds)
            .await?
            .iter()
            .map(group_from_row)
            .collect()
    }

    /// Ids of the groups `member_id` belongs to.
    pub async fn group_ids_of(&self, member_id: &str, transitive: bool) -> Result<Vec<String>> {
        let sql = if transitive {
            TRANSITIVE_GROUPS
        } else {
            "SELECT group_id AS id FROM group_members WHERE member_id = $1"
        };
        self.fetch_all(sql, &[Bind::Text(member_id.into())])
            .await?
            .iter()
            .map(|r| Ok(r.try_get::<String, _>("id")?))
            .collect()
    }

    // ---- applications ----

    /// Registers an application.
    pub async fn create_application(
        &self,
        actor: &Actor,
        new: NewApplication,
    ) -> Result<Application> {
        let _t = self.timer("applications.create");
        required("displayName", &new.display_name, 256)?;
        if let Some(app_id) = &new.app_id {
            required("appId", app_id, 1024)?;
        }
        let mut tx = self.begin_write().await?;
        let app = Application {
            id: new_id(),
            app_id: new.app_id.unwrap_or_else(new_id),
            display_name: new.display_name,
            description: new.description,
            settings: new.settings,
            created_date_time: from_ms(tx.now),
        };
        tx.execute(
            "INSERT INTO applications (id, app_id, display_name, description, settings, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Bind::Text(app.id.clone()),
                Bind::Text(app.app_id.clone()),
                Bind::Text(app.display_name.clone()),
                Bind::OptText(app.description.clone()),
                Bind::Text(Value::Object(app.settings.clone()).to_string()),
                Bind::Int(tx.now),
            ],
        )
        .await
        .map_err(|e| conflict_as(e, "an application with this appId already exists"))?;
        tx.touch(Topic::Applications).await?;
        tx.audit(change_event(
            actor,
            "application.create",
            target("application", &app.id, &app.display_name),
            None,
            to_value(&app),
        ))
        .await?;
        tx.commit().await?;
        Ok(app)
    }

    /// Finds an application by object id or appId.
    pub async fn get_application(&self, id: &str) -> Result<Application> {
        let _t = self.timer("applications.get");
        let sql = format!(
            "SELECT {} FROM applications WHERE id = $1 OR app_id = $1",
            APPS.columns
        );
        let row = self
            .fetch_optional(&sql, &[Bind::Text(id.into())])
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "application",
                id: id.into(),
            })?;
        app_from_row(&row)
    }

    /// Finds an application for an administrator: by object id, appId, or a name that only
    /// one application has. Protocols use [`Store::get_application`], which takes no names.
    pub async fn find_application(&self, id_or_name: &str) -> Result<Application> {
        match self.get_application(id_or_name).await {
            Err(StoreError::NotFound { .. }) => {}
            found => return found,
        }
        let id = id_or_name;
        // Names are not unique, and picking one of two could change or delete the wrong one.
        let sql = format!(
            "SELECT {} FROM applications WHERE LOWER(display_name) = LOWER($1) LIMIT 2",
            APPS.columns
        );
        let rows = self.fetch_all(&sql, &[Bind::Text(id.into())]).await?;
        match rows.as_slice() {
            [row] => app_from_row(row),
            [] => Err(StoreError::NotFound {
                kind: "application",
                id: id.into(),
            }),
            _ => Err(StoreError::Conflict(format!(
                "several applications are named `{id}`: use the id or appId"
            ))),
        }
    }

    /// Lists applications.
    pub async fn list_applications(&self, q: &ListQuery) -> Result<Page<Application>> {
        let _t = self.timer("applications.list");
        self.list_collection(&APPS, q, app_from_row).await
    }

    /// Changes an application.
    pub async fn update_application(
        &self,
        actor: &Actor,
        id: &str,
        patch: AppPatch,
    ) -> Result<Application> {
        let _t = self.timer("applications.update");
        let before = self.get_application(id).await?;
        let mut after = before.clone();
        if let Some(v) = patch.display_name {
            required("displayName", &v, 256)?;
            after.display_name = v;
        }
        if let Some(v) = patch.description {
            after.description = v;
        }
        if let Some(v) = patch.settings {
            after.settings = v;
        }
        let mut tx = self.begin_write().await?;
        tx.execute(
            "UPDATE applications SET display_name = $1, description = $2, settings = $3 WHERE id = $4",
            &[
                Bind::Text(after.display_name.clone()),
                Bind::OptText(after.description.clone()),
                Bind::Text(Value::Object(after.settings.clone()).to_string()),
                Bind::Text(after.id.clone()),
            ],
        )
        .await?;
        tx.touch(Topic::Applications).await?;
        tx.audit(change_event(
            actor,
            "application.update",
            target("application", &after.id, &after.display_name),
            to_value(&before),
            to_value(&after),
        ))
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes an application.
    pub async fn delete_application(&self, actor: &Actor, id: &str) -> Result<()> {
        let _t = self.timer("applications.delete");
        let app = self.get_application(id).await?;
        let mut tx = self.begin_write().await?;
        tx.execute(
            "DELETE FROM applications WHERE id = $1",
            &[Bind::Text(app.id.clone())],
        )
        .await?;
        tx.touch(Topic::Applications).await?;
        tx.audit(change_event(
            actor,
            "application.delete",
            target("application", &app.id, &app.display_name),
            to_value(&app),
            None,
        ))
        .await?;
        tx.commit().await
    }

    // ---- roles ----

    /// Installs built-in roles that are missing (new ones in a newer version included).
    pub(crate) async fn ensure_builtin_roles(&self) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for role in builtin_roles() {
            tx.execute(
                "INSERT INTO role_definitions (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                &[Bind::Text(role.id.clone()), Bind::Text(serde_json::to_string(&role)?)],
            )
            .await?;
        }
        tx.commit().await
    }

    /// Lists role definitions.
    pub async fn list_role_definitions(&self) -> Result<Vec<RoleDefinition>> {
        let _t = self.timer("roles.list");
        self.fetch_all("SELECT body FROM role_definitions ORDER BY id", &[])
            .await?
            .iter()
            .map(|r| Ok(serde_json::from_str(&r.try_get::<String, _>("body")?)?))
            .collect()
    }

    /// Finds a role definition by id, or by display name without regard to case.
    pub async fn get_role_definition(&self, id_or_name: &str) -> Result<RoleDefinition> {
        self.list_role_definitions()
            .await?
            .into_iter()
            .find(|r| r.id == id_or_name || r.display_name.eq_ignore_ascii_case(id_or_name))
            .ok_or_else(|| StoreError::NotFound {
                kind: "roleDefinition",
                id: id_or_name.into(),
            })
    }

    /// Adds a role of the organisation's own, such as an AWS role reached through federation.
    /// Its id is generated; its name must be unused.
    pub async fn create_role_definition(
        &self,
        actor: &Actor,
        mut role: RoleDefinition,
    ) -> Result<RoleDefinition> {
        let _t = self.timer("roles.create");
        if role.display_name.trim().is_empty() {
            return Err(StoreError::invalid("displayName", "must not be empty"));
        }
        if let Some(resource) = &role.resource {
            resource
                .validate()
                .map_err(|(field, message)| StoreError::invalid(field, message))?;
        }
        let existing = self.list_role_definitions().await?;
        if existing
            .iter()
            .any(|r| r.display_name.eq_ignore_ascii_case(&role.display_name))
        {
            return Err(StoreError::Conflict(format!(
                "a role named `{}` exists already",
                role.display_name
            )));
        }
        role.id = new_id();
        role.template_id = role.id.clone();
        role.is_built_in = false;
        let mut tx = self.begin_write().await?;
        tx.execute(
            "INSERT INTO role_definitions (id, body) VALUES ($1, $2)",
            &[
                Bind::Text(role.id.clone()),
                Bind::Text(serde_json::to_string(&role)?),
            ],
        )
        .await?;
        tx.audit(change_event(
            actor,
            "roleDefinition.create",
            target("roleDefinition", &role.id, &role.display_name),
            None,
            to_value(&role),
        ))
        .await?;
        tx.commit().await?;
        Ok(role)
    }

    /// Changes a role of the organisation's own: its name, description, or the cloud role it
    /// stands for. The cloud role stays as it is while anyone holds or may activate the role,
    /// since grants already made in the cloud are keyed by it.
    pub async fn update_role_definition(
        &self,
        actor: &Actor,
        id: &str,
        patch: RoleDefinitionPatch,
    ) -> Result<RoleDefinition> {
        let _t = self.timer("roles.update");
        let before = self.get_role_definition(id).await?;
        if before.is_built_in {
            return Err(StoreError::invalid(
                "id",
                "built-in roles cannot be changed",
            ));
        }
        let mut role = before.clone();
        if let Some(name) = patch.display_name {
            if name.trim().is_empty() {
                return Err(StoreError::invalid("displayName", "must not be empty"));
            }
            let taken = self
                .list_role_definitions()
                .await?
                .into_iter()
                .any(|r| r.id != role.id && r.display_name.eq_ignore_ascii_case(&name));
            if taken {
                return Err(StoreError::Conflict(format!(
                    "a role named `{name}` exists already"
                )));
            }
            role.display_name = name;
        }
        if let Some(description) = patch.description {
            role.description = description;
        }
        let resource_changes = patch.resource.as_ref().is_some_and(|r| *r != role.resource);
        if let Some(resource) = patch.resource {
            if let Some(r) = &resource {
                r.validate()
                    .map_err(|(field, message)| StoreError::invalid(field, message))?;
            }
            role.resource = resource;
        }
        let mut tx = self.begin_write().await?;
        if resource_changes && role_is_assigned_tx(&mut tx, &role.id).await? {
            return Err(StoreError::Conflict(
                "the role is assigned: remove its assignments before changing the cloud role it stands for".into(),
            ));
        }
        tx.execute(
            "UPDATE role_definitions SET body = $1 WHERE id = $2",
            &[
                Bind::Text(serde_json::to_string(&role)?),
                Bind::Text(role.id.clone()),
            ],
        )
        .await?;
        tx.audit(change_event(
            actor,
            "roleDefinition.update",
            target("roleDefinition", &role.id, &role.display_name),
            to_value(&before),
            to_value(&role),
        ))
        .await?;
        tx.commit().await?;
        Ok(role)
    }

    /// Removes a role of the organisation's own that nobody is assigned.
    pub async fn delete_role_definition(&self, actor: &Actor, id: &str) -> Result<()> {
        let role = self.get_role_definition(id).await?;
        if role.is_built_in {
            return Err(StoreError::invalid(
                "id",
                "built-in roles cannot be removed",
            ));
        }
        let mut tx = self.begin_write().await?;
        if role_is_assigned_tx(&mut tx, &role.id).await? {
            return Err(StoreError::Conflict(
                "the role is still assigned; remove its assignments first".into(),
            ));
        }
        tx.execute(
            "DELETE FROM role_definitions WHERE id = $1",
            &[Bind::Text(role.id.clone())],
        )
        .await?;
        tx.audit(change_event(
            actor,
            "roleDefinition.delete",
            target("roleDefinition", &role.id, &role.display_name),
            to_value(&role),
            None,
        ))
        .await?;
        tx.commit().await
    }

    /// Assigns a role to a user or a role-assignable group.
    pub async fn create_role_assignment(
        &self,
        actor: &Actor,
        new: NewAssignment,
    ) -> Result<RoleAssignment> {
        let _t = self.timer("roleAssignments.create");
        let role = self
            .get_role_definition(&new.role_definition_id)
            .await
            .map_err(|e| missing_as(e, "roleDefinitionId", &new.role_definition_id))?;
        if !new.directory_scope_id.starts_with('/') {
            return Err(StoreError::invalid(
                "directoryScopeId",
                "must start with `/`",
            ));
        }
        if let (Some(s), Some(e)) = (new.start, new.end) {
            if e <= s {
                return Err(StoreError::invalid(
                    "endDateTime",
                    "must be after startDateTime",
                ));
            }
        }
        let principal_type = match self.get_user(&new.principal_id).await {
            Ok(u) if u.id == new.principal_id => ObjectKind::User,
            Ok(_) | Err(StoreError::NotFound { .. }) => {
                let group = self
                    .get_group(&new.principal_id)
                    .await
                    .map_err(|e| missing_as(e, "principalId", &new.principal_id))?;
                if !group.is_assignable_to_role {
                    return Err(StoreError::invalid(
                        "principalId",
                        "the group is not assignable to roles (isAssignableToRole is false)",
                    ));
                }
                ObjectKind::Group
            }
            Err(e) => return Err(e),
        };
        let mut tx = self.begin_write().await?;
        let assignment = RoleAssignment {
            id: new_id(),
            principal_id: new.principal_id,
            principal_type,
            role_definition_id: role.id.clone(),
            directory_scope_id: new.directory_scope_id,
            assignment_type: new.assignment_type,
            start_date_time: new.start.map(from_ms),
            end_date_time: new.end.map(from_ms),
            created_date_time: from_ms(tx.now),
        };
        tx.execute(
            "INSERT INTO role_assignments (id, principal_id, principal_type, role_definition_id, \
             directory_scope_id, assignment_type, start_at, end_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                Bind::Text(assignment.id.clone()),
                Bind::Text(assignment.principal_id.clone()),
                Bind::Text(principal_type.as_str().into()),
                Bind::Text(assignment.role_definition_id.clone()),
                Bind::Text(assignment.directory_scope_id.clone()),
                Bind::Text(assignment.assignment_type.as_str().into()),
                Bind::OptInt(new.start),
                Bind::OptInt(new.end),
                Bind::Int(tx.now),
            ],
        )
        .await
        .map_err(|e| conflict_as(e, "the principal already holds this role at this scope"))?;
        tx.audit(change_event(
            actor,
            "roleAssignment.create",
            target("roleAssignment", &assignment.id, &role.display_name),
            None,
            to_value(&assignment),
        ))
        .await?;
        tx.commit().await?;
        Ok(assignment)
    }

    /// Finds a role assignment.
    pub async fn get_role_assignment(&self, id: &str) -> Result<RoleAssignment> {
        let sql = format!(
            "SELECT {} FROM role_assignments WHERE id = $1",
            ASSIGNMENTS.columns
        );
        let row = self
            .fetch_optional(&sql, &[Bind::Text(id.into())])
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "roleAssignment",
                id: id.into(),
            })?;
        assignment_from_row(&row)
    }

    /// Lists role assignments.
    pub async fn list_role_assignments(&self, q: &ListQuery) -> Result<Page<RoleAssignment>> {
        let _t = self.timer("roleAssignments.list");
        self.list_collection(&ASSIGNMENTS, q, assignment_from_row)
            .await
    }

    /// Removes a role assignment. The last Global Administrator assignment, or the last one
    /// held by an enabled user who can sign in, cannot be removed.
    pub async fn delete_role_assignment(&self, actor: &Actor, id: &str) -> Result<()> {
        let _t = self.timer("roleAssignments.delete");
        let assignment = self.get_role_assignment(id).await?;
        let mut tx = self.begin_write().await?;
        let guard = LastAdminGuard::take(&mut tx).await?;
        tx.execute(
            "DELETE FROM role_assignments WHERE id = $1",
            &[Bind::Text(id.into())],
        )
        .await?;
        guard.check(&mut tx).await?;
        tx.audit(change_event(
            actor,
            "roleAssignment.delete",
            target("roleAssignment", id, &assignment.role_definition_id),
            to_value(&assignment),
            None,
        ))
        .await?;
        tx.commit().await
    }

    /// The roles a user holds now: active assignments to the user or to any group the user is
    /// in (transitively), whose schedule includes the present, at directory scope `/`.
    pub async fn effective_roles(&self, user_id: &str) -> Result<Vec<RoleDefinition>> {
        let _t = self.timer("roles.effective");
        let now = self.clock.now_ms();
        let sql = format!(
            "SELECT DISTINCT d.body AS body FROM role_assignments a JOIN role_definitions d ON d.id = a.role_definition_id \
             WHERE {}",
            held_now()
        );
        self.fetch_all(&sql, &[Bind::Text(user_id.into()), Bind::Int(now)])
            .await?
            .iter()
            .map(|r| Ok(serde_json::from_str(&r.try_get::<String, _>("body")?)?))
            .collect()
    }

    /// For each role the user holds now (as [`Store::effective_roles`] counts them), when the
    /// last assignment granting it ends: `None` when one of them never ends. A session issued
    /// on the strength of a role must not outlive this.
    pub async fn role_ends(
        &self,
        user_id: &str,
    ) -> Result<std::collections::HashMap<String, Option<i64>>> {
        let now = self.clock.now_ms();
        let sql = format!(
            "SELECT a.role_definition_id AS role_id, a.end_at AS end_at FROM role_assignments a \
             WHERE {}",
            held_now()
        );
        let mut ends: std::collections::HashMap<String, Option<i64>> =
            std::collections::HashMap::new();
        for row in self
            .fetch_all(&sql, &[Bind::Text(user_id.into()), Bind::Int(now)])
            .await?
        {
            let role: String = row.try_get("role_id")?;
            let end: Option<i64> = row.try_get("end_at")?;
            ends.entry(role)
                .and_modify(|e| {
                    *e = match (*e, end) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        _ => None,
                    }
                })
                .or_insert(end);
        }
        Ok(ends)
    }

    /// Enabled users who hold Global Administrator now, directly or through groups.
    pub async fn global_administrators(&self) -> Result<Vec<User>> {
        let now = self.clock.now_ms();
        let sql = format!(
            "WITH RECURSIVE holders(id) AS ( \
                SELECT principal_id FROM role_assignments WHERE role_definition_id = $1 \
                AND assignment_type = 'active' AND directory_scope_id = '/' \
                AND (start_at IS NULL OR start_at <= $2) AND (end_at IS NULL OR end_at > $2) \
                UNION SELECT gm.member_id FROM group_members gm JOIN holders h ON gm.group_id = h.id) \
             SELECT {} FROM users WHERE id IN (SELECT id FROM holders) AND account_enabled <> 0 \
             ORDER BY created_at, id",
            USERS.columns
        );
        self.fetch_all(
            &sql,
            &[
                Bind::Text(BuiltinRole::GlobalAdministrator.id().into()),
                Bind::Int(now),
            ],
        )
        .await?
        .iter()
        .map(user_from_row)
        .collect()
    }

    /// How many users have this mail address (compared without case): a value that two
    /// people share cannot name either of them to a service provider.
    pub async fn users_with_mail(&self, mail: &str) -> Result<i64> {
        let row = self
            .fetch_optional(
                "SELECT COUNT(*) AS n FROM users WHERE LOWER(mail) = LOWER($1)",
                &[Bind::Text(mail.into())],
            )
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>("n")?,
            None => 0,
        })
    }
}

/// Assignments `a` by which user `$1` holds a role at time `$2`: active, at directory scope,
/// within their schedule, to the user or a group they are in. Shared by every question about
/// what a person holds now, so they cannot disagree.
fn held_now() -> String {
    format!(
        "a.assignment_type = 'active' AND a.directory_scope_id = '/' \
         AND (a.start_at IS NULL OR a.start_at <= $2) AND (a.end_at IS NULL OR a.end_at > $2) \
         AND (a.principal_id = $1 OR a.principal_id IN ({TRANSITIVE_GROUPS}))"
    )
}

/// Ids of every group that `$1` is in, directly or through nesting. UNION (not UNION ALL)
/// stops at groups already seen, so even a corrupt cycle terminates.
pub(crate) const TRANSITIVE_GROUPS: &str = "WITH RECURSIVE g(id) AS ( \
    SELECT group_id FROM group_members WHERE member_id = $1 \
    UNION SELECT gm.group_id FROM group_members gm JOIN g ON gm.member_id = g.id) \
    SELECT id FROM g";

pub(crate) async fn insert_user(
    tx: &mut WriteTx,
    user: &User,
    key: &str,
    password_hash: Option<String>,
    must_change: bool,
) -> Result<()> {
    let now = tx.now;
    tx.execute(
        "INSERT INTO users (id, upn, upn_key, display_name, mail, given_name, surname, account_enabled, \
         attributes, password_hash, created_at, updated_at, password_must_change) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)",
        &[
            Bind::Text(user.id.clone()),
            Bind::Text(user.user_principal_name.clone()),
            Bind::Text(key.into()),
            Bind::Text(user.display_name.clone()),
            Bind::OptText(user.mail.clone()),
            Bind::OptText(user.given_name.clone()),
            Bind::OptText(user.surname.clone()),
            Bind::Int(user.account_enabled.into()),
            Bind::Text(Value::Object(user.attributes.clone()).to_string()),
            Bind::OptText(password_hash),
            Bind::Int(now),
            Bind::Int(must_change.into()),
        ],
    )
    .await
    .map_err(|e| conflict_as(e, "a user with this userPrincipalName already exists"))?;
    Ok(())
}

pub(crate) async fn insert_user_tx(tx: &mut WriteTx, actor: &Actor, new: NewUser) -> Result<User> {
    let key = normalise_upn(&new.user_principal_name)
        .map_err(|e| StoreError::invalid("userPrincipalName", e.to_string()))?;
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
    insert_user(tx, &user, &key, new.password_hash, new.password_must_change).await?;
    tx.audit(change_event(
        actor,
        "user.create",
        target("user", &user.id, &user.user_principal_name),
        None,
        to_value(&user),
    ))
    .await?;
    Ok(user)
}

pub(crate) async fn assign_builtin_tx(
    tx: &mut WriteTx,
    actor: &Actor,
    user: &User,
    role: BuiltinRole,
) -> Result<()> {
    let id = new_id();
    let now = tx.now;
    tx.execute(
        "INSERT INTO role_assignments (id, principal_id, principal_type, role_definition_id, \
         directory_scope_id, assignment_type, start_at, end_at, created_at) \
         VALUES ($1, $2, 'user', $3, '/', 'active', NULL, NULL, $4)",
        &[
            Bind::Text(id.clone()),
            Bind::Text(user.id.clone()),
            Bind::Text(role.id().into()),
            Bind::Int(now),
        ],
    )
    .await?;
    tx.audit(change_event(
        actor,
        "roleAssignment.create",
        target("roleAssignment", &id, &role.definition().display_name),
        None,
        Some(serde_json::json!({ "principalId": user.id, "roleDefinitionId": role.id(), "directoryScopeId": "/" })),
    ))
    .await?;
    Ok(())
}

pub(crate) async fn add_member_tx(
    tx: &mut WriteTx,
    actor: &Actor,
    group: &Group,
    member_id: &str,
    field: &'static str,
) -> Result<()> {
    let is_user = tx
        .fetch_optional(
            "SELECT id FROM users WHERE id = $1",
            &[Bind::Text(member_id.into())],
        )
        .await?
        .is_some();
    let kind = if is_user {
        ObjectKind::User
    } else if tx
        .fetch_optional(
            "SELECT id FROM groups WHERE id = $1",
            &[Bind::Text(member_id.into())],
        )
        .await?
        .is_some()
    {
        // Nesting `member` into `group` makes a cycle if `group` is already inside `member`.
        if member_id == group.id {
            return Err(StoreError::Conflict(
                "a group cannot be a member of itself".into(),
            ));
        }
        let ancestors = tx
            .fetch_all(TRANSITIVE_GROUPS, &[Bind::Text(group.id.clone())])
            .await?;
        let mut ancestor_ids = Vec::with_capacity(ancestors.len());
        for row in ancestors {
            let id: String = row.try_get("id")?;
            if id == member_id {
                return Err(StoreError::Conflict(
                    "adding this group would make a membership cycle".into(),
                ));
            }
            ancestor_ids.push(id);
        }
        refuse_outside_members_in_role_groups(tx, group, &ancestor_ids, member_id).await?;
        ObjectKind::Group
    } else {
        return Err(StoreError::MissingReference {
            field,
            id: member_id.into(),
        });
    };
    tx.execute(
        "INSERT INTO group_members (group_id, member_id, member_type) VALUES ($1, $2, $3)",
        &[
            Bind::Text(group.id.clone()),
            Bind::Text(member_id.into()),
            Bind::Text(kind.as_str().into()),
        ],
    )
    .await
    .map_err(|e| conflict_as(e, "the object is already a member of the group"))?;
    tx.audit(change_event(
        actor,
        "group.addMember",
        target("group", &group.id, &group.display_name),
        None,
        Some(serde_json::json!({ "memberId": member_id, "memberType": kind.as_str() })),
    ))
    .await?;
    Ok(())
}

/// A group whose members are chosen outside Trustplane (imported from a directory source, or
/// provisioned over SCIM), or that holds such a group, cannot be nested where membership grants
/// roles: whoever controls
/// the source (an on-premises domain admin, an HR system) would decide who holds them.
/// Entra refuses synced groups as role-assignable for the same reason.
async fn refuse_outside_members_in_role_groups(
    tx: &mut WriteTx,
    group: &Group,
    ancestor_ids: &[String],
    member_id: &str,
) -> Result<()> {
    // The group itself or any group nested in it, at any depth.
    let sourced = tx
        .fetch_optional(
            "WITH RECURSIVE d(id) AS ( \
               SELECT CAST($1 AS TEXT) \
               UNION SELECT gm.member_id FROM group_members gm JOIN d ON gm.group_id = d.id \
               WHERE gm.member_type = 'group') \
             SELECT d.id FROM d WHERE \
               EXISTS (SELECT 1 FROM directory_sources s WHERE s.object_id = d.id) \
               OR EXISTS (SELECT 1 FROM groups g WHERE g.id = d.id AND g.provisioned_by IS NOT NULL) \
             LIMIT 1",
            &[Bind::Text(member_id.into())],
        )
        .await?
        .is_some();
    if !sourced {
        return Ok(());
    }
    let mut grants_roles = group.is_assignable_to_role;
    for id in ancestor_ids {
        if grants_roles {
            break;
        }
        grants_roles = tx
            .fetch_optional(
                "SELECT id FROM groups WHERE id = $1 AND is_assignable_to_role <> 0",
                &[Bind::Text(id.clone())],
            )
            .await?
            .is_some();
    }
    if grants_roles {
        return Err(StoreError::Conflict(format!(
            "the group's members come from outside Trustplane (a directory source or a \
             provisioning connection), so it cannot be nested into `{}`, whose members hold roles",
            group.display_name
        )));
    }
    Ok(())
}

/// Removes a user with their memberships, role assignments, API tokens and source record;
/// whether the user was there. Ending their sign-ins and elevations is the caller's.
pub(crate) async fn delete_user_rows_tx(tx: &mut WriteTx, id: &str) -> Result<bool> {
    for sql in [
        "DELETE FROM group_members WHERE member_id = $1",
        "DELETE FROM role_assignments WHERE principal_id = $1",
        "DELETE FROM api_tokens WHERE user_id = $1",
        "DELETE FROM directory_sources WHERE object_id = $1",
        // An upstream identity linked to a deleted user links to nobody (never to a later
        // user who takes the name).
        "DELETE FROM external_identities WHERE user_id = $1",
    ] {
        tx.execute(sql, &[Bind::Text(id.into())]).await?;
    }
    let n = tx
        .execute("DELETE FROM users WHERE id = $1", &[Bind::Text(id.into())])
        .await?;
    Ok(n > 0)
}

/// Removes a group with its memberships both ways, its role assignments and source record.
pub(crate) async fn delete_group_rows_tx(tx: &mut WriteTx, id: &str) -> Result<()> {
    for sql in [
        "DELETE FROM group_members WHERE member_id = $1",
        "DELETE FROM group_members WHERE group_id = $1",
        "DELETE FROM role_assignments WHERE principal_id = $1",
        "DELETE FROM groups WHERE id = $1",
        "DELETE FROM directory_sources WHERE object_id = $1",
    ] {
        tx.execute(sql, &[Bind::Text(id.into())]).await?;
    }
    Ok(())
}

pub(crate) fn conflict_as(e: StoreError, message: &str) -> StoreError {
    match e {
        StoreError::Conflict(_) => StoreError::Conflict(message.into()),
        other => other,
    }
}

fn missing_as(e: StoreError, field: &'static str, id: &str) -> StoreError {
    match e {
        StoreError::NotFound { .. } => StoreError::MissingReference {
            field,
            id: id.into(),
        },
        other => other,
    }
}

/// What to change of a role definition; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RoleDefinitionPatch {
    /// A new name.
    pub display_name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new cloud role (`Some(None)` makes it a role of Trustplane alone).
    pub resource: Option<Option<trustplane_model::RoleResource>>,
}

/// Whether anyone holds, or may activate, the role (active and eligible assignments alike).
async fn role_is_assigned_tx(tx: &mut crate::db::WriteTx, role_id: &str) -> Result<bool> {
    Ok(tx
        .fetch_optional(
            "SELECT id FROM role_assignments WHERE role_definition_id = $1 LIMIT 1",
            &[Bind::Text(role_id.into())],
        )
        .await?
        .is_some())
}

/// Who makes a directory change: an administrator or the server (the default), or a
/// provisioning connection, which may change only what it owns and is audited as
/// `provisioning`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Via<'a> {
    /// The connection, if the change is provisioned.
    pub(crate) connection: Option<&'a str>,
    /// The client's id of the object, to set (with `Some`) in the same change.
    pub(crate) external_id: Option<Option<String>>,
}

impl Via<'_> {
    /// Marks the transaction as the connection's and checks that it owns the object.
    pub(crate) async fn enter(
        &self,
        tx: &mut WriteTx,
        table: &'static str,
        id: &str,
    ) -> Result<()> {
        let Some(connection) = self.connection else {
            return Ok(());
        };
        tx.category = Some("provisioning");
        let sql = format!("SELECT provisioned_by FROM {table} WHERE id = $1");
        let owner: Option<String> = match tx.fetch_optional(&sql, &[Bind::Text(id.into())]).await? {
            Some(row) => row.try_get("provisioned_by")?,
            None => None,
        };
        if owner.as_deref() != Some(connection) {
            return Err(StoreError::NotFound {
                kind: if table == "users" { "user" } else { "group" },
                id: id.into(),
            });
        }
        Ok(())
    }

    /// Writes the external id, when the change sets one.
    pub(crate) async fn set_external_id(
        &self,
        tx: &mut WriteTx,
        table: &'static str,
        id: &str,
    ) -> Result<()> {
        let (Some(_), Some(external_id)) = (self.connection, &self.external_id) else {
            return Ok(());
        };
        let sql = format!("UPDATE {table} SET external_id = $1 WHERE id = $2");
        tx.execute(
            &sql,
            &[Bind::OptText(external_id.clone()), Bind::Text(id.into())],
        )
        .await
        .map_err(|e| conflict_as(e, "another object of this connection has this externalId"))?;
        Ok(())
    }
}
