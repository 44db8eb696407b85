//! Facts that protect privileged principals: which roles a person holds or may activate, which
//! groups confer privilege through their membership, and the rule that the directory always
//! keeps a Global Administrator who can sign in. The decisions built on these facts (role
//! tiers, who may change whom) live in `trustplane_model::tiers` and the server's `Caller`.

use std::collections::HashSet;

use sqlx::Row;
use trustplane_model::{
    new_id, normalise_upn, Actor, BuiltinRole, Event, Outcome, PimSettings, RoleDefinition, Target,
    User,
};

use crate::db::{Backend, Bind, Store, WriteTx};
use crate::directory::{insert_user_tx, TRANSITIVE_GROUPS};
use crate::error::{Result, StoreError};

/// Why changing a group's membership is reserved to those who may assign roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupProtection {
    /// The group (or a group it is nested in, named here) can hold roles.
    RoleAssignable(String),
    /// The group (or a group it is nested in) is named as a PIM approver or reviewer.
    Overseer(String),
}

impl std::fmt::Display for GroupProtection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GroupProtection::RoleAssignable(name) => {
                write!(
                    f,
                    "its members hold the roles of role-assignable group `{name}`"
                )
            }
            GroupProtection::Overseer(name) => write!(
                f,
                "its members approve or review privileged access through group `{name}`"
            ),
        }
    }
}

impl Store {
    /// Every role a user holds or may activate: active or eligible assignments, to the user or
    /// to a group the user is in (transitively), at any scope, whose schedule has not ended.
    pub async fn held_roles(&self, user_id: &str) -> Result<Vec<RoleDefinition>> {
        let now = self.clock.now_ms();
        let sql = format!(
            "SELECT DISTINCT d.body AS body FROM role_assignments a JOIN role_definitions d ON d.id = a.role_definition_id \
             WHERE (a.end_at IS NULL OR a.end_at > $2) \
             AND (a.principal_id = $1 OR a.principal_id IN ({TRANSITIVE_GROUPS}))"
        );
        self.fetch_all(&sql, &[Bind::Text(user_id.into()), Bind::Int(now)])
            .await?
            .iter()
            .map(|r| Ok(serde_json::from_str(&r.try_get::<String, _>("body")?)?))
            .collect()
    }

    /// Ids of the users and groups named as approvers in any PIM settings or as reviewers of
    /// an access review in progress.
    async fn overseers(&self) -> Result<HashSet<String>> {
        let mut ids = HashSet::new();
        for row in self.fetch_all("SELECT body FROM pim_settings", &[]).await? {
            let settings: PimSettings = serde_json::from_str(&row.try_get::<String, _>("body")?)?;
            ids.extend(settings.approvers);
        }
        for row in self
            .fetch_all(
                "SELECT reviewers FROM pim_reviews WHERE status = 'inProgress'",
                &[],
            )
            .await?
        {
            let reviewers: Vec<String> =
                serde_json::from_str(&row.try_get::<String, _>("reviewers")?)?;
            ids.extend(reviewers);
        }
        Ok(ids)
    }

    /// Whether a user approves or reviews privileged access: named as a PIM approver or
    /// reviewer, directly or through a group they are in.
    pub async fn oversees_privileged_access(&self, user_id: &str) -> Result<bool> {
        let overseers = self.overseers().await?;
        if overseers.is_empty() {
            return Ok(false);
        }
        if overseers.contains(user_id) {
            return Ok(true);
        }
        let groups = self.group_ids_of(user_id, true).await?;
        Ok(groups.iter().any(|g| overseers.contains(g)))
    }

    /// Why the membership of a group is protected, if it is: the group, or a group it is
    /// nested in, is role-assignable or named as a PIM approver or reviewer. A member of a
    /// nested group gains what the outer group confers, so the outer group's protection
    /// covers the inner one.
    pub async fn group_protection(&self, group_id: &str) -> Result<Option<GroupProtection>> {
        let mut ids = vec![group_id.to_string()];
        ids.extend(self.group_ids_of(group_id, true).await?);
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, display_name, is_assignable_to_role FROM groups WHERE id IN ({}) ORDER BY created_at, id",
            placeholders.join(", ")
        );
        let binds: Vec<Bind> = ids.iter().cloned().map(Bind::Text).collect();
        let rows = self.fetch_all(&sql, &binds).await?;
        let overseers = self.overseers().await?;
        for row in &rows {
            let name: String = row.try_get("display_name")?;
            if row.try_get::<i64, _>("is_assignable_to_role")? != 0 {
                return Ok(Some(GroupProtection::RoleAssignable(name)));
            }
            if overseers.contains(&row.try_get::<String, _>("id")?) {
                return Ok(Some(GroupProtection::Overseer(name)));
            }
        }
        Ok(None)
    }

    /// Break-glass recovery, for someone with direct access to the database and no working
    /// administrator: enables the named user (creating them if needed), sets a one-time
    /// password that must be changed at the next sign-in, makes sure they hold a permanent
    /// active Global Administrator assignment, and records all of it as a recovery.
    /// `password_hash` is the PHC hash of the new password.
    pub async fn recover_admin(&self, upn: &str, password_hash: &str) -> Result<User> {
        let actor = Actor {
            id: "break-glass".into(),
            display_name: Some("trustplane admin recover".into()),
            ip_address: None,
            user_agent: None,
        };
        let key = normalise_upn(upn)
            .map_err(|e| StoreError::invalid("userPrincipalName", e.to_string()))?;
        let mut tx = self.begin_write().await?;
        let existing = tx
            .fetch_optional(
                "SELECT id FROM users WHERE upn_key = $1",
                &[Bind::Text(key)],
            )
            .await?;
        let (user_id, created) = match existing {
            Some(row) => (row.try_get::<String, _>("id")?, false),
            None => {
                let user = insert_user_tx(
                    &mut tx,
                    &actor,
                    crate::NewUser {
                        user_principal_name: upn.into(),
                        display_name: "Recovered administrator".into(),
                        account_enabled: true,
                        ..Default::default()
                    },
                )
                .await?;
                (user.id, true)
            }
        };
        let now = tx.now;
        tx.execute(
            "UPDATE users SET account_enabled = 1, password_hash = $1, password_must_change = 1, updated_at = $2 WHERE id = $3",
            &[
                Bind::Text(password_hash.into()),
                Bind::Int(now),
                Bind::Text(user_id.clone()),
            ],
        )
        .await?;
        // A lockout from failed sign-ins would keep the recovered administrator out too, and
        // sessions from before may belong to whoever locked everyone out.
        for sql in [
            "DELETE FROM account_throttle WHERE user_id = $1",
            "DELETE FROM sessions WHERE user_id = $1",
        ] {
            tx.execute(sql, &[Bind::Text(user_id.clone())]).await?;
        }
        let holds = tx
            .fetch_optional(
                "SELECT id FROM role_assignments WHERE principal_id = $1 AND role_definition_id = $2 \
                 AND assignment_type = 'active' AND directory_scope_id = '/'",
                &[
                    Bind::Text(user_id.clone()),
                    Bind::Text(BuiltinRole::GlobalAdministrator.id().into()),
                ],
            )
            .await?;
        let assignment = match holds {
            // A scheduled assignment is made permanent: recovery must not lapse by itself.
            Some(row) => {
                let id: String = row.try_get("id")?;
                tx.execute(
                    "UPDATE role_assignments SET start_at = NULL, end_at = NULL WHERE id = $1",
                    &[Bind::Text(id.clone())],
                )
                .await?;
                id
            }
            None => {
                let id = new_id();
                tx.execute(
                    "INSERT INTO role_assignments (id, principal_id, principal_type, role_definition_id, \
                     directory_scope_id, assignment_type, start_at, end_at, created_at) \
                     VALUES ($1, $2, 'user', $3, '/', 'active', NULL, NULL, $4)",
                    &[
                        Bind::Text(id.clone()),
                        Bind::Text(user_id.clone()),
                        Bind::Text(BuiltinRole::GlobalAdministrator.id().into()),
                        Bind::Int(now),
                    ],
                )
                .await?;
                id
            }
        };
        tx.audit(Event {
            sequence: 0,
            activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
            category: "directory".into(),
            activity: "breakGlass.recover".into(),
            initiated_by: actor,
            target: Some(Target {
                kind: "user".into(),
                id: user_id.clone(),
                display_name: Some(upn.into()),
            }),
            result: Outcome::Success,
            result_reason: Some(format!(
                "break-glass recovery with local database access: {} user enabled with a one-time \
                 password and Global Administrator (assignment {assignment})",
                if created { "new" } else { "existing" }
            )),
            before: None,
            after: None,
        })
        .await?;
        tx.commit().await?;
        self.get_user(&user_id).await
    }
}

/// Keeps the directory from being left without a way in: taken at the start of a write
/// transaction that could take administration away, checked after its changes. The change
/// is refused (and rolled back) when it leaves no permanent active Global Administrator
/// assignment, or no enabled Global Administrator with a password or a passkey, where there
/// was one before. Comparing with the state before lets a directory that never had such an
/// administrator (one reached only by API token, say) go on working.
pub(crate) struct LastAdminGuard {
    before: (i64, i64),
}

impl LastAdminGuard {
    pub(crate) async fn take(tx: &mut WriteTx) -> Result<Self> {
        if tx.backend == Backend::Postgres {
            // Serialises every change that could remove the last administrator, so two
            // concurrent ones cannot each count the other's target as still there.
            tx.execute("SELECT pg_advisory_xact_lock(7419002561)", &[])
                .await?;
        }
        Ok(LastAdminGuard {
            before: count_admins(tx).await?,
        })
    }

    pub(crate) async fn check(self, tx: &mut WriteTx) -> Result<()> {
        let after = count_admins(tx).await?;
        if self.before.0 > 0 && after.0 == 0 {
            return Err(StoreError::Conflict(
                "this would remove the last Global Administrator".into(),
            ));
        }
        if self.before.1 > 0 && after.1 == 0 {
            return Err(StoreError::Conflict(
                "this would leave no enabled Global Administrator who can sign in (with a password or a passkey)"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// (permanent active Global Administrator assignments, enabled users holding one directly or
/// through groups who have a password or a passkey).
async fn count_admins(tx: &mut WriteTx) -> Result<(i64, i64)> {
    let ga = Bind::Text(BuiltinRole::GlobalAdministrator.id().into());
    let now = Bind::Int(tx.now);
    let assignments = "SELECT principal_id FROM role_assignments WHERE role_definition_id = $1 \
         AND assignment_type = 'active' AND directory_scope_id = '/' AND end_at IS NULL \
         AND (start_at IS NULL OR start_at <= $2)";
    let row = tx
        .fetch_optional(
            &format!("SELECT COUNT(*) AS n FROM ({assignments}) x"),
            &[ga.clone(), now.clone()],
        )
        .await?;
    let granted = match row {
        Some(r) => r.try_get::<i64, _>("n")?,
        None => 0,
    };
    let sql = format!(
        "WITH RECURSIVE holders(id) AS ({assignments} \
            UNION SELECT gm.member_id FROM group_members gm JOIN holders h ON gm.group_id = h.id) \
         SELECT COUNT(*) AS n FROM users u WHERE u.id IN (SELECT id FROM holders) \
         AND u.account_enabled <> 0 AND (u.password_hash IS NOT NULL OR EXISTS \
            (SELECT 1 FROM auth_methods m WHERE m.user_id = u.id AND m.kind = 'passkey'))"
    );
    let row = tx.fetch_optional(&sql, &[ga, now]).await?;
    let usable = match row {
        Some(r) => r.try_get::<i64, _>("n")?,
        None => 0,
    };
    Ok((granted, usable))
}
