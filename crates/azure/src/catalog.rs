//! What is collected: one entry per Resource Manager list (with the per-resource calls under
//! it) and per Microsoft Graph call, with the api-versions of Microsoft's own examples. The
//! document types are those `trustplane-posture` checks read.

/// A call made once per parent resource, at `<parent id><suffix>`.
pub(crate) struct Child {
    /// Document type.
    pub rtype: &'static str,
    /// Appended to the parent's id, e.g. `/blobServices/default` or `/keys`.
    pub suffix: &'static str,
    pub api: &'static str,
    /// A list (`{"value": [...]}`, paged) or one object (404 = does not exist).
    pub list: bool,
    /// Calls made once per resource this one returns.
    pub children: &'static [Child],
}

/// A subscription-wide list at `/subscriptions/{id}<path>`.
pub(crate) struct ArmList {
    /// Resource provider, named in collection errors.
    pub service: &'static str,
    pub rtype: &'static str,
    pub path: &'static str,
    pub api: &'static str,
    /// Extra query (already encoded), e.g. a `$filter`.
    pub query: &'static str,
    pub children: &'static [Child],
}

const fn list(
    service: &'static str,
    rtype: &'static str,
    path: &'static str,
    api: &'static str,
    children: &'static [Child],
) -> ArmList {
    ArmList {
        service,
        rtype,
        path,
        api,
        query: "",
        children,
    }
}

const fn one(rtype: &'static str, suffix: &'static str, api: &'static str) -> Child {
    Child {
        rtype,
        suffix,
        api,
        list: false,
        children: &[],
    }
}

const fn many(rtype: &'static str, suffix: &'static str, api: &'static str) -> Child {
    Child {
        rtype,
        suffix,
        api,
        list: true,
        children: &[],
    }
}

const STORAGE: &str = "2025-01-01";
const KEYVAULT: &str = "2023-07-01";
const SQL: &str = "2023-08-01";
const NETWORK: &str = "2024-05-01";
const WEB: &str = "2024-04-01";
/// Diagnostic settings only exist as a preview api-version.
pub(crate) const DIAGNOSTICS: &str = "2021-05-01-preview";
const AUTHORIZATION: &str = "2022-04-01";
/// Subscriptions_List / Subscriptions_Get.
pub(crate) const RESOURCES: &str = "2022-12-01";

/// Resource-level diagnostic settings (read for Key Vaults and Databricks workspaces).
const DIAG: Child = many(
    "azure.monitor.diagnostic_setting",
    "/providers/Microsoft.Insights/diagnosticSettings",
    DIAGNOSTICS,
);

pub(crate) const ARM_LISTS: &[ArmList] = &[
    list(
        "Microsoft.Security",
        "azure.security.pricing",
        "/providers/Microsoft.Security/pricings",
        "2024-01-01",
        &[],
    ),
    list(
        "Microsoft.Security",
        "azure.security.contact",
        "/providers/Microsoft.Security/securityContacts",
        "2023-12-01-preview",
        &[],
    ),
    list(
        "Microsoft.Security",
        "azure.security.auto_provisioning_setting",
        "/providers/Microsoft.Security/autoProvisioningSettings",
        "2017-08-01-preview",
        &[],
    ),
    list(
        "Microsoft.Security",
        "azure.security.setting",
        "/providers/Microsoft.Security/settings",
        "2022-05-01",
        &[],
    ),
    list(
        "Microsoft.Security",
        "azure.security.assessment",
        "/providers/Microsoft.Security/assessments",
        "2020-01-01",
        &[],
    ),
    list(
        "Microsoft.Storage",
        "azure.storage.account",
        "/providers/Microsoft.Storage/storageAccounts",
        STORAGE,
        &[
            one(
                "azure.storage.blob_service",
                "/blobServices/default",
                STORAGE,
            ),
            one(
                "azure.storage.file_service",
                "/fileServices/default",
                STORAGE,
            ),
        ],
    ),
    list(
        "Microsoft.KeyVault",
        "azure.keyvault.vault",
        "/providers/Microsoft.KeyVault/vaults",
        KEYVAULT,
        &[
            many("azure.keyvault.key", "/keys", KEYVAULT),
            many("azure.keyvault.secret", "/secrets", KEYVAULT),
            DIAG,
        ],
    ),
    list(
        "Microsoft.Sql",
        "azure.sql.server",
        "/providers/Microsoft.Sql/servers",
        SQL,
        &[
            one(
                "azure.sql.server_auditing_policy",
                "/auditingSettings/default",
                SQL,
            ),
            many("azure.sql.firewall_rule", "/firewallRules", SQL),
            one(
                "azure.sql.encryption_protector",
                "/encryptionProtector/current",
                SQL,
            ),
            many("azure.sql.server_administrator", "/administrators", SQL),
            Child {
                rtype: "azure.sql.database",
                suffix: "/databases",
                api: SQL,
                list: true,
                children: &[one(
                    "azure.sql.transparent_data_encryption",
                    "/transparentDataEncryption/current",
                    SQL,
                )],
            },
        ],
    ),
    list(
        "Microsoft.DBforPostgreSQL",
        "azure.postgresql.flexible_server",
        "/providers/Microsoft.DBforPostgreSQL/flexibleServers",
        "2024-08-01",
        &[
            many(
                "azure.postgresql.configuration",
                "/configurations",
                "2024-08-01",
            ),
            many(
                "azure.postgresql.firewall_rule",
                "/firewallRules",
                "2024-08-01",
            ),
        ],
    ),
    list(
        "Microsoft.DBforMySQL",
        "azure.mysql.flexible_server",
        "/providers/Microsoft.DBforMySQL/flexibleServers",
        "2023-12-30",
        &[many(
            "azure.mysql.configuration",
            "/configurations",
            "2023-12-30",
        )],
    ),
    list(
        "Microsoft.DocumentDB",
        "azure.cosmosdb.account",
        "/providers/Microsoft.DocumentDB/databaseAccounts",
        "2024-11-15",
        &[],
    ),
    list(
        "Microsoft.Network",
        "azure.network.nsg",
        "/providers/Microsoft.Network/networkSecurityGroups",
        NETWORK,
        &[],
    ),
    list(
        "Microsoft.Network",
        "azure.network.watcher",
        "/providers/Microsoft.Network/networkWatchers",
        NETWORK,
        &[many("azure.network.flow_log", "/flowLogs", NETWORK)],
    ),
    list(
        "Microsoft.Network",
        "azure.network.bastion_host",
        "/providers/Microsoft.Network/bastionHosts",
        NETWORK,
        &[],
    ),
    list(
        "Microsoft.Network",
        "azure.network.virtual_network",
        "/providers/Microsoft.Network/virtualNetworks",
        NETWORK,
        &[],
    ),
    // VirtualNetworkGateways can only be listed per resource group.
    list(
        "Microsoft.Resources",
        "azure.resources.resource_group",
        "/resourcegroups",
        RESOURCES,
        &[many(
            "azure.network.virtual_network_gateway",
            "/providers/Microsoft.Network/virtualNetworkGateways",
            NETWORK,
        )],
    ),
    list(
        "Microsoft.Network",
        "azure.network.application_gateway",
        "/providers/Microsoft.Network/applicationGateways",
        NETWORK,
        &[],
    ),
    list(
        "Microsoft.Network",
        "azure.network.waf_policy",
        "/providers/Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
        NETWORK,
        &[],
    ),
    list(
        "Microsoft.Compute",
        "azure.compute.vm",
        "/providers/Microsoft.Compute/virtualMachines",
        "2024-07-01",
        &[],
    ),
    list(
        "Microsoft.Compute",
        "azure.compute.disk",
        "/providers/Microsoft.Compute/disks",
        "2024-03-02",
        &[],
    ),
    list(
        "Microsoft.Web",
        "azure.web.site",
        "/providers/Microsoft.Web/sites",
        WEB,
        &[
            one("azure.web.site_config", "/config/web", WEB),
            one(
                "azure.web.site_auth_settings",
                "/config/authsettingsV2",
                WEB,
            ),
        ],
    ),
    list(
        "Microsoft.Insights",
        "azure.monitor.activity_log_alert",
        "/providers/Microsoft.Insights/activityLogAlerts",
        "2020-10-01",
        &[],
    ),
    list(
        "Microsoft.Insights",
        "azure.monitor.subscription_diagnostic_setting",
        "/providers/Microsoft.Insights/diagnosticSettings",
        DIAGNOSTICS,
        &[],
    ),
    list(
        "Microsoft.Insights",
        "azure.insights.component",
        "/providers/Microsoft.Insights/components",
        "2020-02-02",
        &[],
    ),
    list(
        "Microsoft.Databricks",
        "azure.databricks.workspace",
        "/providers/Microsoft.Databricks/workspaces",
        "2024-05-01",
        &[DIAG],
    ),
    list(
        "Microsoft.Authorization",
        "azure.authorization.role_assignment",
        "/providers/Microsoft.Authorization/roleAssignments",
        AUTHORIZATION,
        &[],
    ),
    ArmList {
        service: "Microsoft.Authorization",
        rtype: "azure.authorization.role_definition",
        path: "/providers/Microsoft.Authorization/roleDefinitions",
        api: AUTHORIZATION,
        // Only custom roles are judged; the built-in ones are hundreds of documents.
        query: "$filter=type%20eq%20%27CustomRole%27",
        children: &[],
    },
    list(
        "Microsoft.Authorization",
        "azure.authorization.role_assignment_schedule_instance",
        "/providers/Microsoft.Authorization/roleAssignmentScheduleInstances",
        "2020-10-01",
        &[],
    ),
];

/// A Microsoft Graph call (v1.0) for the tenant.
pub(crate) struct GraphCall {
    pub rtype: &'static str,
    pub path: &'static str,
    pub list: bool,
}

pub(crate) const GRAPH_CALLS: &[GraphCall] = &[
    GraphCall {
        rtype: "azure.entra.authorization_policy",
        path: "/v1.0/policies/authorizationPolicy",
        list: false,
    },
    GraphCall {
        rtype: "azure.entra.security_defaults_policy",
        path: "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy",
        list: false,
    },
    GraphCall {
        rtype: "azure.entra.user",
        // 999 is Graph's largest page for users.
        path: "/v1.0/users?$top=999",
        list: true,
    },
    GraphCall {
        rtype: "azure.entra.user_registration_details",
        path: "/v1.0/reports/authenticationMethods/userRegistrationDetails",
        list: true,
    },
    GraphCall {
        rtype: "azure.entra.directory_role",
        path: "/v1.0/directoryRoles",
        list: true,
    },
    GraphCall {
        rtype: "azure.entra.role_assignment",
        path: "/v1.0/roleManagement/directory/roleAssignments",
        list: true,
    },
];

/// Document type of a listed subscription.
pub const SUBSCRIPTION: &str = "azure.resources.subscription";

/// Every document type a call and its children can produce (for collection errors).
pub(crate) fn types_under(rtype: &'static str, children: &'static [Child]) -> Vec<&'static str> {
    let mut v = vec![rtype];
    for c in children {
        v.extend(types_under(c.rtype, c.children));
    }
    v
}
