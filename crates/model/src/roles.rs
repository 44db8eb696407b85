//! Built-in directory roles and the permissions the admin API checks.
//!
//! Ids are Entra's role template ids, so exported policies and tools that name roles by id
//! (conditional access `includeRoles`, for instance) work unchanged.

use crate::directory::{RoleDefinition, RolePermission};

/// An action the admin API authorises. Its string form goes into `allowedResourceActions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read users, groups, applications, roles and assignments.
    DirectoryRead,
    /// Create, change and delete users.
    UsersWrite,
    /// Create, change and delete groups and their memberships.
    GroupsWrite,
    /// Create, change and delete applications.
    ApplicationsWrite,
    /// Create and remove role assignments.
    RoleAssignmentsWrite,
    /// Read the audit trail.
    AuditRead,
    /// Issue admin API tokens for users (Global Administrator only).
    ApiTokensWrite,
    /// Create, change and delete conditional-access policies and named locations.
    PoliciesWrite,
    /// Push logs, handle alerts, take responses, manage response policies.
    AlertsWrite,
    /// Create, sync and delete directory sources (Active Directory and LDAP connections).
    /// Only Global Administrators hold it: a source writes users, groups and memberships.
    DirectorySourcesWrite,
}

impl Permission {
    /// The action name used in role definitions.
    pub fn action(self) -> &'static str {
        match self {
            Permission::DirectoryRead => "trustplane.directory/read",
            Permission::UsersWrite => "trustplane.directory/users/write",
            Permission::GroupsWrite => "trustplane.directory/groups/write",
            Permission::ApplicationsWrite => "trustplane.directory/applications/write",
            Permission::RoleAssignmentsWrite => "trustplane.directory/roleAssignments/write",
            Permission::AuditRead => "trustplane.auditLogs/read",
            Permission::ApiTokensWrite => "trustplane.apiTokens/write",
            Permission::PoliciesWrite => "trustplane.conditionalAccess/write",
            Permission::AlertsWrite => "trustplane.alerts/write",
            Permission::DirectorySourcesWrite => "trustplane.directory/sources/write",
        }
    }
}

impl RoleDefinition {
    /// Whether this role allows `permission`.
    pub fn allows(&self, permission: Permission) -> bool {
        self.is_enabled
            && self.role_permissions.iter().any(|p| {
                p.allowed_resource_actions
                    .iter()
                    .any(|a| a == "*" || a == permission.action())
            })
    }
}

/// The built-in roles, in a fixed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinRole {
    /// Everything.
    GlobalAdministrator,
    /// Manages role assignments.
    PrivilegedRoleAdministrator,
    /// Manages users and groups.
    UserAdministrator,
    /// Manages applications.
    ApplicationAdministrator,
    /// Reads everything security-related and manages security settings.
    SecurityAdministrator,
    /// Reads everything security-related.
    SecurityReader,
    /// Manages conditional-access policies.
    ConditionalAccessAdministrator,
}

impl BuiltinRole {
    /// The Entra role template id.
    pub fn id(self) -> &'static str {
        match self {
            BuiltinRole::GlobalAdministrator => "62e90394-69f5-4237-9190-012177145e10",
            BuiltinRole::PrivilegedRoleAdministrator => "e8611ab8-c189-46e8-94e1-60213ab1f814",
            BuiltinRole::UserAdministrator => "fe930be7-5e62-47db-91af-98c3a49a38b1",
            BuiltinRole::ApplicationAdministrator => "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
            BuiltinRole::SecurityAdministrator => "194ae4cb-b126-40b2-bd5b-6091b380977d",
            BuiltinRole::SecurityReader => "5d6b6bb7-de71-4623-b4af-96380a352509",
            BuiltinRole::ConditionalAccessAdministrator => "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        }
    }

    /// The role's definition.
    pub fn definition(self) -> RoleDefinition {
        use Permission::*;
        let (name, description, permissions): (&str, &str, &[Permission]) = match self {
            BuiltinRole::GlobalAdministrator => (
                "Global Administrator",
                "Can manage all aspects of the directory and the services that use it.",
                &[],
            ),
            BuiltinRole::PrivilegedRoleAdministrator => (
                "Privileged Role Administrator",
                "Can manage role assignments and privileged access.",
                &[DirectoryRead, RoleAssignmentsWrite, AuditRead],
            ),
            BuiltinRole::UserAdministrator => (
                "User Administrator",
                "Can manage users and groups.",
                &[DirectoryRead, UsersWrite, GroupsWrite],
            ),
            BuiltinRole::ApplicationAdministrator => (
                "Application Administrator",
                "Can create and manage application registrations.",
                &[DirectoryRead, ApplicationsWrite],
            ),
            BuiltinRole::SecurityAdministrator => (
                "Security Administrator",
                "Can read security information and manage security settings.",
                &[DirectoryRead, AuditRead, PoliciesWrite, AlertsWrite],
            ),
            BuiltinRole::ConditionalAccessAdministrator => (
                "Conditional Access Administrator",
                "Can manage conditional-access policies and named locations.",
                &[DirectoryRead, PoliciesWrite],
            ),
            BuiltinRole::SecurityReader => (
                "Security Reader",
                "Can read security information and reports.",
                &[DirectoryRead, AuditRead],
            ),
        };
        let actions = if self == BuiltinRole::GlobalAdministrator {
            vec!["*".to_string()]
        } else {
            permissions.iter().map(|p| p.action().to_string()).collect()
        };
        RoleDefinition {
            id: self.id().to_string(),
            display_name: name.to_string(),
            description: description.to_string(),
            is_built_in: true,
            is_enabled: true,
            template_id: self.id().to_string(),
            role_permissions: vec![RolePermission {
                allowed_resource_actions: actions,
            }],
            resource: None,
        }
    }
}

/// All built-in role definitions.
pub fn builtin_roles() -> Vec<RoleDefinition> {
    use BuiltinRole::*;
    [
        GlobalAdministrator,
        PrivilegedRoleAdministrator,
        UserAdministrator,
        ApplicationAdministrator,
        SecurityAdministrator,
        SecurityReader,
        ConditionalAccessAdministrator,
    ]
    .into_iter()
    .map(BuiltinRole::definition)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_administrator_allows_everything_and_readers_cannot_write() {
        let global = BuiltinRole::GlobalAdministrator.definition();
        let reader = BuiltinRole::SecurityReader.definition();
        assert!(global.allows(Permission::RoleAssignmentsWrite));
        assert!(reader.allows(Permission::AuditRead));
        assert!(!reader.allows(Permission::UsersWrite));
        assert!(!BuiltinRole::UserAdministrator
            .definition()
            .allows(Permission::RoleAssignmentsWrite));
    }

    #[test]
    fn builtin_ids_are_distinct() {
        let roles = builtin_roles();
        let mut ids: Vec<_> = roles.iter().map(|r| r.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), roles.len());
    }
}
