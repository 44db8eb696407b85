//! Directory administration of users and groups: who may create, change and delete whom,
//! what stays with the directory an object was imported from, and the password policy for
//! passwords an administrator sets. Every caller (API, console) goes through these functions.

use thiserror::Error;
use trustplane_model::{
    CreateGroup, CreateUser, Group, PasswordProfile, Permission, UpdateGroup, UpdateUser, User,
};
use trustplane_store::{
    source_owned_user_fields, Clause, GroupPatch, ListQuery, NewGroup, NewUser, Op,
    PasswordSignIns, Store, StoreError, UserPatch, SOURCE_OWNED_GROUP_FIELDS,
};

use crate::admin::{AccessError, Admin};
use crate::signin::{SignIn, SignInError};

/// Why a directory change was refused; nothing was changed.
#[derive(Debug, Error)]
pub enum DirectoryError {
    /// The caller may not (audited).
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The change touches fields the object's directory source owns.
    #[error("{} of this {kind} come from the directory connection \"{connection_name}\" ({connection_id}); change them in that directory", fields.join(", "))]
    SourceOwned {
        /// `user` or `group`.
        kind: &'static str,
        /// The fields, as the API names them.
        fields: Vec<String>,
        /// The connection's name.
        connection_name: String,
        /// The connection's id.
        connection_id: String,
    },
    /// The password does not meet the policy (`passwordProfile.FIELD: why`).
    #[error("{0}")]
    Password(String),
    /// Hashing failed or is busy.
    #[error(transparent)]
    SignIn(SignInError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A user before and after a change.
pub struct UserChange {
    /// As it was.
    pub before: User,
    /// As it is now.
    pub after: User,
}

impl UserChange {
    /// Whether the change disabled the account: its elevations and cloud grants must go.
    pub fn disabled(&self) -> bool {
        self.before.account_enabled && !self.after.account_enabled
    }
}

/// Checks and hashes a password set by an administrator (the same policy as self-service,
/// and the node's bound on concurrent hashing). `context` are the person's names, which
/// the password may not contain.
async fn hash_new_password(
    signin: &SignIn,
    profile: &PasswordProfile,
    context: &[&str],
) -> Result<String, DirectoryError> {
    signin
        .new_password_hash(&profile.password, context)
        .await
        .map_err(|e| match e {
            SignInError::BadRequest(m) => DirectoryError::Password(format!("passwordProfile.{m}")),
            other => DirectoryError::SignIn(other),
        })
}

/// Creates a user (needs `users/write`).
pub async fn create_user(
    store: &Store,
    signin: &SignIn,
    admin: &Admin,
    body: CreateUser,
) -> Result<User, DirectoryError> {
    admin.require(store, Permission::UsersWrite).await?;
    let (password_hash, must_change) = match &body.password_profile {
        Some(p) => {
            let context = [body.user_principal_name.as_str(), &body.display_name];
            let hash = hash_new_password(signin, p, &context).await?;
            (Some(hash), p.force_change_password_next_sign_in)
        }
        None => (None, false),
    };
    let new = NewUser {
        user_principal_name: body.user_principal_name,
        display_name: body.display_name,
        mail: body.mail,
        given_name: body.given_name,
        surname: body.surname,
        account_enabled: body.account_enabled,
        attributes: body.attributes,
        password_hash,
        password_must_change: must_change,
    };
    Ok(store.create_user(&admin.actor, new).await?)
}

/// The fields a change names, as the API spells them (`attributes.NAME` for attributes).
fn touched_fields(body: &UpdateUser) -> Vec<String> {
    [
        ("userPrincipalName", body.user_principal_name.is_some()),
        ("displayName", body.display_name.is_some()),
        ("mail", body.mail.is_some()),
        ("givenName", body.given_name.is_some()),
        ("surname", body.surname.is_some()),
        ("accountEnabled", body.account_enabled.is_some()),
    ]
    .into_iter()
    .filter(|(_, present)| *present)
    .map(|(f, _)| f.to_string())
    .chain(
        body.attributes
            .iter()
            .flat_map(|a| a.keys().map(|k| format!("attributes.{k}"))),
    )
    .collect()
}

/// Changes the user named by `id` (object id or user principal name). Names people see may
/// change freely with `users/write`; whatever signs in, or decides where cloud grants and
/// assertions go (attributes), also needs a tier at least the user's. What a directory
/// source imported is changed there, not here. A password reset ends every sign-in.
pub async fn update_user(
    store: &Store,
    signin: &SignIn,
    admin: &Admin,
    id: &str,
    body: UpdateUser,
) -> Result<UserChange, DirectoryError> {
    admin.require(store, Permission::UsersWrite).await?;
    let before = store.get_user(id).await?;
    if let Some(source) = store.object_source(&before.id).await? {
        let touched = touched_fields(&body);
        let fields = source_owned_user_fields(touched.iter().map(String::as_str));
        if !fields.is_empty() {
            return Err(DirectoryError::SourceOwned {
                kind: "user",
                fields,
                connection_name: source.connection_name,
                connection_id: source.connection_id,
            });
        }
    }
    let sensitive = body.password_profile.is_some()
        || body.mail.is_some()
        || body.user_principal_name.is_some()
        || body.account_enabled.is_some()
        || body.attributes.is_some();
    if sensitive {
        let what = "password, mail, sign-in name, enabled state or attributes";
        admin.require_tier_over(store, &before, what).await?;
    }
    let (password_hash, must_change) = match &body.password_profile {
        Some(p) => {
            let context = [before.user_principal_name.as_str(), &before.display_name];
            let hash = hash_new_password(signin, p, &context).await?;
            (Some(hash), p.force_change_password_next_sign_in)
        }
        None => (None, false),
    };
    let patch = UserPatch {
        user_principal_name: body.user_principal_name,
        display_name: body.display_name,
        mail: body.mail,
        given_name: body.given_name,
        surname: body.surname,
        account_enabled: body.account_enabled,
        attributes: body.attributes,
        password_hash,
        password_must_change: must_change,
        password_sign_ins: PasswordSignIns::EndAll,
    };
    let after = store.update_user(&admin.actor, &before.id, patch).await?;
    Ok(UserChange { before, after })
}

/// Deletes the user named by `id`; needs `users/write` and a tier at least the user's.
pub async fn delete_user(store: &Store, admin: &Admin, id: &str) -> Result<(), DirectoryError> {
    admin.require(store, Permission::UsersWrite).await?;
    let user = store.get_user(id).await?;
    admin
        .require_tier_over(store, &user, "whole account (deleting it)")
        .await?;
    Ok(store.delete_user(&admin.actor, &user.id).await?)
}

/// Creates a group. Members of a role-assignable group hold whatever roles it is given:
/// creating one needs `roleAssignments/write`, as assigning them would.
pub async fn create_group(
    store: &Store,
    admin: &Admin,
    body: CreateGroup,
) -> Result<Group, DirectoryError> {
    let needed = if body.is_assignable_to_role {
        Permission::RoleAssignmentsWrite
    } else {
        Permission::GroupsWrite
    };
    admin.require(store, needed).await?;
    let new = NewGroup {
        display_name: body.display_name,
        description: body.description,
        is_assignable_to_role: body.is_assignable_to_role,
        members: body.members,
    };
    Ok(store.create_group(&admin.actor, new).await?)
}

/// Refuses a change of `fields` of a group imported from a directory source.
async fn refuse_source_owned_group(
    store: &Store,
    group: &Group,
    fields: &[&str],
) -> Result<(), DirectoryError> {
    let Some(source) = store.object_source(&group.id).await? else {
        return Ok(());
    };
    let owned: Vec<String> = fields
        .iter()
        .filter(|f| SOURCE_OWNED_GROUP_FIELDS.contains(f))
        .map(|f| f.to_string())
        .collect();
    if owned.is_empty() {
        return Ok(());
    }
    Err(DirectoryError::SourceOwned {
        kind: "group",
        fields: owned,
        connection_name: source.connection_name,
        connection_id: source.connection_id,
    })
}

/// Renames or describes a group. A group that grants roles or oversees privileged access
/// is managed as its membership is (`roleAssignments/write`): its name is what approvers
/// and reviewers see.
pub async fn update_group(
    store: &Store,
    admin: &Admin,
    id: &str,
    body: UpdateGroup,
) -> Result<Group, DirectoryError> {
    admin.require_any_group_write(store).await?;
    let group = store.get_group(id).await?;
    admin.require_membership_change(store, &group).await?;
    let touched: Vec<&str> = [
        ("displayName", body.display_name.is_some()),
        ("description", body.description.is_some()),
    ]
    .into_iter()
    .filter(|(_, present)| *present)
    .map(|(f, _)| f)
    .collect();
    refuse_source_owned_group(store, &group, &touched).await?;
    let patch = GroupPatch {
        display_name: body.display_name,
        description: body.description,
    };
    Ok(store.update_group(&admin.actor, &group.id, patch).await?)
}

/// Deletes a group, under the same rule as changing its membership.
pub async fn delete_group(store: &Store, admin: &Admin, id: &str) -> Result<(), DirectoryError> {
    admin.require_any_group_write(store).await?;
    let group = store.get_group(id).await?;
    admin.require_membership_change(store, &group).await?;
    Ok(store.delete_group(&admin.actor, &group.id).await?)
}

/// Adds (`add`) or removes a direct member of the group named by `id`. A group imported
/// from a directory source gets its members there.
pub async fn change_membership(
    store: &Store,
    admin: &Admin,
    id: &str,
    member_id: &str,
    add: bool,
) -> Result<(), DirectoryError> {
    admin.require_any_group_write(store).await?;
    let group = store.get_group(id).await?;
    admin.require_membership_change(store, &group).await?;
    refuse_source_owned_group(store, &group, &["members"]).await?;
    if add {
        store.add_member(&admin.actor, &group.id, member_id).await?;
    } else {
        store
            .remove_member(&admin.actor, &group.id, member_id)
            .await?;
    }
    Ok(())
}

/// Ends every session of the user named by `id`; needs `users/write` and a tier at least the
/// user's. Answers how many ended.
pub async fn revoke_sessions(
    store: &Store,
    admin: &Admin,
    id: &str,
) -> Result<u64, DirectoryError> {
    admin.require(store, Permission::UsersWrite).await?;
    let user = store.get_user(id).await?;
    admin.require_tier_over(store, &user, "sessions").await?;
    Ok(store.revoke_all_sessions(&admin.actor, &user.id).await?)
}

/// Enables or disables sign-in of the user named by `id`, as a change of `accountEnabled`.
pub async fn set_enabled(
    store: &Store,
    signin: &SignIn,
    admin: &Admin,
    id: &str,
    enabled: bool,
) -> Result<UserChange, DirectoryError> {
    let body = UpdateUser {
        user_principal_name: None,
        display_name: None,
        mail: None,
        given_name: None,
        surname: None,
        account_enabled: Some(enabled),
        password_profile: None,
        attributes: None,
    };
    update_user(store, signin, admin, id, body).await
}

/// Users whose sign-in or display name starts with `text` (all users when it is empty), in
/// sign-in name order, at most `limit`; `true` when more match. Needs `directory/read`.
pub async fn find_users(
    store: &Store,
    admin: &Admin,
    text: &str,
    limit: usize,
) -> Result<(Vec<User>, bool), DirectoryError> {
    admin.require(store, Permission::DirectoryRead).await?;
    // Names match by either field: one query each, merged (the store ANDs clauses).
    let filters: Vec<Vec<Clause>> = if text.is_empty() {
        vec![Vec::new()]
    } else {
        ["userPrincipalName", "displayName"]
            .into_iter()
            .map(|field| {
                vec![Clause {
                    field: field.into(),
                    op: Op::StartsWith,
                    value: text.into(),
                }]
            })
            .collect()
    };
    let mut found = Vec::new();
    let mut more = false;
    for filter in filters {
        let query = ListQuery {
            filter,
            top: limit,
            skip_token: None,
        };
        let page = store.list_users(&query).await?;
        more |= page.next.is_some();
        found.extend(page.items);
    }
    found.sort_by(|a, b| a.user_principal_name.cmp(&b.user_principal_name));
    found.dedup_by(|a, b| a.id == b.id);
    more |= found.len() > limit;
    found.truncate(limit);
    Ok((found, more))
}

/// What an administrator sees of one user.
pub struct UserOverview {
    /// The user.
    pub user: User,
    /// Their direct groups.
    pub groups: Vec<Group>,
    /// The roles they hold now.
    pub roles: Vec<trustplane_model::RoleDefinition>,
    /// How many sessions they have.
    pub sessions: usize,
}

/// The user named by `id` with their groups, roles and sessions. Needs `directory/read`.
pub async fn user_overview(
    store: &Store,
    admin: &Admin,
    id: &str,
) -> Result<UserOverview, DirectoryError> {
    admin.require(store, Permission::DirectoryRead).await?;
    let user = store.get_user(id).await?;
    Ok(UserOverview {
        groups: store.member_of(&user.id, false).await?,
        roles: store.effective_roles(&user.id).await?,
        sessions: store.list_sessions(&user.id).await?.len(),
        user,
    })
}

/// Succeeds if the caller may change the sign-in of every user named in `names` (ids or
/// user principal names; see [`Admin::require_tier_over`]), `what` naming the change in the
/// refusal; with `others_only`, the caller may not name themselves (clearing one's own risk
/// would get one past the policy it feeds). Names that match nobody are left to the change
/// itself to refuse; at most `limit` names are looked at, the change refusing more.
pub async fn require_tier_over_each(
    store: &Store,
    admin: &Admin,
    names: &[String],
    limit: usize,
    what: &str,
    others_only: bool,
) -> Result<(), DirectoryError> {
    for name in names.iter().take(limit) {
        match store.get_user(name).await {
            Ok(user) if others_only && user.id == admin.user.id => {
                let reason = format!("{} changes the caller's own {what}", admin.request);
                return Err(admin.deny(store, reason, None).await.into());
            }
            Ok(user) => admin.require_tier_over(store, &user, what).await?,
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
