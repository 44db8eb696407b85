//! Safe defaults for a new install, after Entra's security defaults: block legacy
//! authentication, and require MFA for the built-in administrator roles. They are ordinary
//! Graph JSON policies, so administrators can see, export and edit them.

use serde_json::json;

use crate::policy::ConditionalAccessPolicy;

/// Id of the default policy that blocks legacy authentication.
pub const BLOCK_LEGACY_AUTH_ID: &str = "7f1e0c5a-0d1e-4a11-9b7e-000000000001";
/// Id of the default policy that requires MFA for administrators.
pub const ADMIN_MFA_ID: &str = "7f1e0c5a-0d1e-4a11-9b7e-000000000002";

/// Role template ids of the administrator roles the defaults protect, with their names.
pub const ADMIN_ROLES: &[(&str, &str)] = &[
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
    ),
    (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Privileged Role Administrator",
    ),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Application Administrator",
    ),
    (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
    ),
    ("5d6b6bb7-de71-4623-b4af-96380a352509", "Security Reader"),
];

/// The default policies as Graph JSON documents.
pub fn security_defaults_json() -> Vec<serde_json::Value> {
    let roles: Vec<&str> = ADMIN_ROLES.iter().map(|(id, _)| *id).collect();
    vec![
        json!({
            "@odata.type": "#microsoft.graph.conditionalAccessPolicy",
            "id": BLOCK_LEGACY_AUTH_ID,
            "displayName": "Security defaults: block legacy authentication",
            "state": "enabled",
            "conditions": {
                "users": { "includeUsers": ["All"], "excludeUsers": [], "includeGroups": [],
                           "excludeGroups": [], "includeRoles": [], "excludeRoles": [] },
                "applications": { "includeApplications": ["All"], "excludeApplications": [],
                                  "includeUserActions": [] },
                "clientAppTypes": ["exchangeActiveSync", "other"],
                "signInRiskLevels": [],
                "userRiskLevels": []
            },
            "grantControls": { "operator": "OR", "builtInControls": ["block"],
                               "customAuthenticationFactors": [], "termsOfUse": [] }
        }),
        json!({
            "@odata.type": "#microsoft.graph.conditionalAccessPolicy",
            "id": ADMIN_MFA_ID,
            "displayName": "Security defaults: require MFA for administrators",
            "state": "enabled",
            "conditions": {
                "users": { "includeUsers": [], "excludeUsers": [], "includeGroups": [],
                           "excludeGroups": [], "includeRoles": roles, "excludeRoles": [] },
                "applications": { "includeApplications": ["All"], "excludeApplications": [],
                                  "includeUserActions": [] },
                "clientAppTypes": ["all"],
                "signInRiskLevels": [],
                "userRiskLevels": []
            },
            "grantControls": { "operator": "OR", "builtInControls": ["mfa"],
                               "customAuthenticationFactors": [], "termsOfUse": [] }
        }),
    ]
}

/// The default policies, typed. They are valid by construction (a test checks it); a
/// document that somehow fails to parse is left out rather than panicking.
pub fn security_defaults() -> Vec<ConditionalAccessPolicy> {
    security_defaults_json()
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect()
}
