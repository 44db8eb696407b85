//! Who may administer what: the one place the directory-role checks of every admin caller
//! (the API, the CLI against it, the console) are decided. A refusal is recorded in the
//! audit trail before it is answered, so nobody probes the limits unseen.

use thiserror::Error;
use trustplane_model::{
    acting_tier, tier_of, Actor, Event, Group, Outcome, Permission, RoleDefinition, Target, Tier,
    User,
};
use trustplane_store::{Store, StoreError};

/// An administrator acting now.
pub struct Admin {
    /// Their directory record.
    pub user: User,
    /// The roles they hold at this moment (active assignments, through groups too).
    pub roles: Vec<RoleDefinition>,
    /// Who they are in the audit trail, with address and user agent.
    pub actor: Actor,
    /// What they ask (`METHOD path`), named in refusals.
    pub request: String,
}

/// Why an admin action may not go on.
#[derive(Debug, Error)]
pub enum AccessError {
    /// Refused (and audited) for the reason given.
    #[error("{0}")]
    Denied(String),
    /// The store failed, while checking or while recording the refusal: nothing was done.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Admin {
    /// Whether one of the caller's roles allows `permission`.
    pub fn allows(&self, permission: Permission) -> bool {
        self.roles.iter().any(|r| r.allows(permission))
    }

    /// The tier the caller acts with (see `trustplane_model::Tier`).
    pub fn tier(&self) -> Tier {
        acting_tier(&self.roles)
    }

    /// Succeeds if one of the caller's roles allows `permission`.
    pub async fn require(&self, store: &Store, permission: Permission) -> Result<(), AccessError> {
        if self.allows(permission) {
            return Ok(());
        }
        let reason = format!(
            "{} needs `{}`, which none of the caller's roles grants",
            self.request,
            permission.action()
        );
        Err(self.deny(store, reason, None).await)
    }

    /// Succeeds if the caller may change the sign-in of `user` (credentials, methods, sign-in
    /// names, enabled state, sessions, lockout): the caller's tier must be at least that of
    /// the roles `user` holds or may activate. Anyone who approves or reviews privileged
    /// access counts as privileged.
    pub async fn require_tier_over(
        &self,
        store: &Store,
        user: &User,
        what: &str,
    ) -> Result<(), AccessError> {
        let mine = self.tier();
        if mine == Tier::Global || user.id == self.user.id {
            return Ok(());
        }
        let mut theirs = tier_of(&store.held_roles(&user.id).await?);
        if theirs < Tier::Privileged && store.oversees_privileged_access(&user.id).await? {
            theirs = Tier::Privileged;
        }
        if mine >= theirs {
            return Ok(());
        }
        let reason = format!(
            "{} changes the {what} of `{}`, who holds or may activate {}; that needs a role at \
             least as privileged, and the caller holds {}",
            self.request,
            user.user_principal_name,
            theirs.describe(),
            mine.describe()
        );
        let target = Target {
            kind: "user".into(),
            id: user.id.clone(),
            display_name: Some(user.user_principal_name.clone()),
        };
        Err(self.deny(store, reason, Some(target)).await)
    }

    /// Succeeds if the caller may change the membership of `group`. A group whose members
    /// gain roles or oversee privileged access needs `roleAssignments/write`, as assigning
    /// the role directly would (and that is enough: a Privileged Role Administrator manages
    /// such groups without `groups/write`); any other group needs `groups/write`.
    pub async fn require_membership_change(
        &self,
        store: &Store,
        group: &Group,
    ) -> Result<(), AccessError> {
        match store.group_protection(&group.id).await? {
            None => self.require(store, Permission::GroupsWrite).await,
            Some(_) if self.allows(Permission::RoleAssignmentsWrite) => Ok(()),
            Some(protection) => Err(self
                .deny_membership(store, group, &protection.to_string())
                .await),
        }
    }

    /// Succeeds if the caller may manage some group memberships at all (`groups/write` or
    /// `roleAssignments/write`), before the group is looked up; otherwise as `require`.
    pub async fn require_any_group_write(&self, store: &Store) -> Result<(), AccessError> {
        if self.allows(Permission::RoleAssignmentsWrite) {
            return Ok(());
        }
        self.require(store, Permission::GroupsWrite).await
    }

    /// The refusal of a membership change, for a group protected because `why`.
    pub async fn deny_membership(&self, store: &Store, group: &Group, why: &str) -> AccessError {
        let reason = format!(
            "{} changes the membership of `{}`, and {why}; that needs `{}` (Privileged Role \
             Administrator or Global Administrator)",
            self.request,
            group.display_name,
            Permission::RoleAssignmentsWrite.action()
        );
        let target = Target {
            kind: "group".into(),
            id: group.id.clone(),
            display_name: Some(group.display_name.clone()),
        };
        self.deny(store, reason, Some(target)).await
    }

    /// Succeeds if the caller is a Global Administrator.
    pub async fn require_global(&self, store: &Store, what: &str) -> Result<(), AccessError> {
        if self.tier() == Tier::Global {
            return Ok(());
        }
        let reason = format!("{} {what}, which needs Global Administrator", self.request);
        Err(self.deny(store, reason, None).await)
    }

    /// Records a refusal in the audit trail. If it cannot be recorded, the error is the
    /// store's: the request still does nothing.
    pub async fn deny(&self, store: &Store, reason: String, target: Option<Target>) -> AccessError {
        let recorded = async {
            let mut tx = store.begin_write().await?;
            tx.audit(Event {
                sequence: 0,
                activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
                category: "authorization".into(),
                activity: "authorization.denied".into(),
                initiated_by: self.actor.clone(),
                target,
                result: Outcome::Failure,
                result_reason: Some(reason.clone()),
                before: None,
                after: None,
            })
            .await?;
            tx.commit().await
        };
        match recorded.await {
            Ok(()) => AccessError::Denied(reason),
            Err(e) => AccessError::Store(e),
        }
    }
}

/// The audit entry for a call whose bearer token was refused: `reason` is
/// `unknown_token`, `disabled` or `malformed_token`; `request` is `METHOD path` (cut short).
pub fn invalid_token_event(actor: Actor, request: &str, reason: &str) -> Event {
    let why = match reason {
        "unknown_token" => "the bearer token is unknown, expired or revoked",
        "disabled" => "the token's user is disabled",
        _ => "the Authorization header is not a bearer token",
    };
    let request: String = request.chars().take(264).collect();
    Event {
        sequence: 0,
        activity_date_time: time::OffsetDateTime::UNIX_EPOCH,
        category: "authorization".into(),
        activity: "authorization.invalidToken".into(),
        initiated_by: actor,
        target: None,
        result: Outcome::Failure,
        result_reason: Some(format!("{request}: {why}")),
        before: None,
        after: None,
    }
}
