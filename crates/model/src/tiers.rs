//! Role tiers: how privileged a set of roles is, decided in one place from what the roles
//! allow, after Entra's model of protected principals.
//!
//! A caller may change the credentials, methods, sign-in names or enabled state of a person
//! only when the caller's tier is at least the person's. Ranking by permissions rather than by
//! role name means a custom role that can grant roles or mint tokens is protected as such.

use crate::directory::RoleDefinition;
use crate::roles::Permission;

/// How privileged a set of roles is; the order is the order of privilege.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// No role at all.
    None,
    /// Administrative roles that cannot raise anyone's privilege.
    Admin,
    /// Roles that can grant roles or mint tokens, and every cloud role.
    Privileged,
    /// A role allowing every action (`*`): Global Administrator.
    Global,
}

impl Tier {
    /// A name for refusal messages and documentation.
    pub fn describe(self) -> &'static str {
        match self {
            Tier::None => "no role",
            Tier::Admin => "an administrative role",
            Tier::Privileged => {
                "a privileged role (Privileged Role Administrator, a cloud role, or one that can mint tokens)"
            }
            Tier::Global => "Global Administrator",
        }
    }
}

fn grants_action(role: &RoleDefinition, action: &str) -> bool {
    role.role_permissions
        .iter()
        .any(|p| p.allowed_resource_actions.iter().any(|a| a == action))
}

/// The tier of one role, from what it allows; `is_enabled` is not looked at, so that a role
/// switched off for now still protects whoever holds it.
pub fn role_tier(role: &RoleDefinition) -> Tier {
    if grants_action(role, "*") {
        return Tier::Global;
    }
    let raises_privilege = [Permission::RoleAssignmentsWrite, Permission::ApiTokensWrite]
        .iter()
        .any(|p| grants_action(role, p.action()));
    if raises_privilege || role.resource.is_some() {
        Tier::Privileged
    } else {
        Tier::Admin
    }
}

/// The tier of a set of roles held (or held in reserve): the highest of them.
pub fn tier_of<'a>(roles: impl IntoIterator<Item = &'a RoleDefinition>) -> Tier {
    roles.into_iter().map(role_tier).max().unwrap_or(Tier::None)
}

/// The tier a caller acts with: only roles that are switched on count.
pub fn acting_tier<'a>(roles: impl IntoIterator<Item = &'a RoleDefinition>) -> Tier {
    tier_of(roles.into_iter().filter(|r| r.is_enabled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{RolePermission, RoleResource};
    use crate::roles::BuiltinRole;

    fn tier(role: BuiltinRole) -> Tier {
        role_tier(&role.definition())
    }

    #[test]
    fn builtin_roles_rank_as_entra_protects_them() {
        assert_eq!(tier(BuiltinRole::GlobalAdministrator), Tier::Global);
        assert_eq!(
            tier(BuiltinRole::PrivilegedRoleAdministrator),
            Tier::Privileged
        );
        for r in [
            BuiltinRole::UserAdministrator,
            BuiltinRole::ApplicationAdministrator,
            BuiltinRole::SecurityAdministrator,
            BuiltinRole::SecurityReader,
            BuiltinRole::ConditionalAccessAdministrator,
        ] {
            assert_eq!(tier(r), Tier::Admin, "{r:?}");
        }
        assert_eq!(tier_of([]), Tier::None);
    }

    #[test]
    fn custom_and_cloud_roles_rank_by_what_they_allow() {
        let mut minting = BuiltinRole::SecurityReader.definition();
        minting.role_permissions = vec![RolePermission {
            allowed_resource_actions: vec![Permission::ApiTokensWrite.action().into()],
        }];
        assert_eq!(role_tier(&minting), Tier::Privileged);

        let mut cloud = BuiltinRole::SecurityReader.definition();
        cloud.role_permissions = Vec::new();
        cloud.resource = Some(RoleResource::AzureRbac {
            connection_id: "c".into(),
            scope: "/subscriptions/x".into(),
            role_definition_id: "r".into(),
        });
        assert_eq!(role_tier(&cloud), Tier::Privileged);

        // The highest role decides; a switched-off role protects but does not empower.
        let mut off = BuiltinRole::GlobalAdministrator.definition();
        off.is_enabled = false;
        let ua = BuiltinRole::UserAdministrator.definition();
        assert_eq!(tier_of([&ua, &off]), Tier::Global);
        assert_eq!(acting_tier([&ua, &off]), Tier::Admin);
    }
}
