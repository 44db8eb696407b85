//! Subscription B: variants derived from Microsoft's examples, each changed where a control
//! turns (comments say what). Ids are rewritten into subscription B so that nothing joins
//! across subscriptions.
#![allow(clippy::unwrap_used)]

use axum::response::Response;
use serde_json::{json, Value};

use super::{arm, empty, ok, SUB_B};

const RG: &str = "/resourceGroups/rg-b/providers";

fn id(provider_path: &str) -> String {
    format!("/subscriptions/{SUB_B}{RG}/{provider_path}")
}

fn set(v: &mut Value, ptr: &str, x: Value) {
    let (parent, key) = ptr.rsplit_once('/').unwrap();
    let p = if parent.is_empty() {
        v
    } else {
        v.pointer_mut(parent).unwrap()
    };
    p.as_object_mut().unwrap().insert(key.to_string(), x);
}

fn first(rel: &str) -> Value {
    arm(rel)["value"][0].clone()
}

pub fn sub_b_list(rest: &str) -> Response {
    match rest {
        "microsoft.security/pricings" => {
            // VirtualMachines downgraded to Free; no other plan listed.
            let mut p = first("Microsoft.Security/ListPricings_example.json");
            set(&mut p, "/properties/pricingTier", json!("Free"));
            set(
                &mut p,
                "/id",
                json!(format!(
                    "/subscriptions/{SUB_B}/providers/Microsoft.Security/pricings/VirtualMachines"
                )),
            );
            ok(json!({"value": [p]}))
        }
        "microsoft.storage/storageaccounts" => ok(json!({"value": [stobad(), stogood()]})),
        "microsoft.keyvault/vaults" => {
            // RBAC, purge protection and no public network: the compliant vault.
            let mut v = first("Microsoft.KeyVault/listVaultByResourceGroup.json");
            set(
                &mut v,
                "/id",
                json!(id("Microsoft.KeyVault/vaults/kv-rbac")),
            );
            set(&mut v, "/name", json!("kv-rbac"));
            set(&mut v, "/properties/enableRbacAuthorization", json!(true));
            set(&mut v, "/properties/enablePurgeProtection", json!(true));
            set(&mut v, "/properties/publicNetworkAccess", json!("Disabled"));
            ok(json!({"value": [v]}))
        }
        "microsoft.sql/servers" => {
            let mut s = first("Microsoft.Sql/ServerList.json");
            set(&mut s, "/id", json!(id("Microsoft.Sql/servers/sql-open")));
            set(&mut s, "/name", json!("sql-open"));
            ok(json!({"value": [s]}))
        }
        "microsoft.network/networksecuritygroups" => {
            // nsg1 with RDP open to "*" and SSH open to "Internet".
            let mut n = first("Microsoft.Network/NetworkSecurityGroupListAll.json");
            let nid = id("Microsoft.Network/networkSecurityGroups/nsg-open");
            set(&mut n, "/id", json!(nid));
            set(&mut n, "/name", json!("nsg-open"));
            let rule = |name: &str, port: &str, src: &str, prio: u32| {
                json!({"name": name, "id": format!("{nid}/securityRules/{name}"),
                    "properties": {"protocol": "Tcp", "sourcePortRange": "*",
                        "destinationPortRange": port, "sourceAddressPrefix": src,
                        "destinationAddressPrefix": "*", "access": "Allow", "priority": prio,
                        "direction": "Inbound", "provisioningState": "Succeeded"}})
            };
            set(
                &mut n,
                "/properties/securityRules",
                json!([
                    rule("rdp", "3389", "*", 100),
                    rule("ssh", "22", "Internet", 110)
                ]),
            );
            ok(json!({"value": [n]}))
        }
        "microsoft.compute/virtualmachines" => {
            // The first example VM on a managed OS disk with Trusted Launch.
            let mut vm =
                first("Microsoft.Compute/VirtualMachine_ListBySubscription_ByLocation.json");
            set(
                &mut vm,
                "/id",
                json!(id("Microsoft.Compute/virtualMachines/vm-good")),
            );
            set(&mut vm, "/name", json!("vm-good"));
            let os = "/properties/storageProfile/osDisk";
            vm.pointer_mut(os)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .remove("vhd");
            set(
                &mut vm,
                &format!("{os}/managedDisk"),
                json!({"id": id("Microsoft.Compute/disks/disk-cmk")}),
            );
            set(&mut vm, "/properties/storageProfile/dataDisks", json!([]));
            set(
                &mut vm,
                "/properties/securityProfile",
                json!({"securityType": "TrustedLaunch",
                    "uefiSettings": {"secureBootEnabled": true, "vTpmEnabled": true}}),
            );
            ok(json!({"value": [vm]}))
        }
        "microsoft.compute/disks" => {
            // The first example disk, attached, customer-managed key, no public access,
            // export only with Entra ID.
            let mut d = first("Microsoft.Compute/Disk_ListBySubscription.json");
            set(&mut d, "/id", json!(id("Microsoft.Compute/disks/disk-cmk")));
            set(&mut d, "/name", json!("disk-cmk"));
            set(
                &mut d,
                "/managedBy",
                json!(id("Microsoft.Compute/virtualMachines/vm-good")),
            );
            set(&mut d, "/properties/diskState", json!("Attached"));
            set(
                &mut d,
                "/properties/encryption",
                json!({"type": "EncryptionAtRestWithCustomerKey",
                    "diskEncryptionSetId": id("Microsoft.Compute/diskEncryptionSets/des1")}),
            );
            set(&mut d, "/properties/networkAccessPolicy", json!("DenyAll"));
            set(&mut d, "/properties/publicNetworkAccess", json!("Disabled"));
            set(
                &mut d,
                "/properties/dataAccessAuthMode",
                json!("AzureActiveDirectory"),
            );
            ok(json!({"value": [d]}))
        }
        "microsoft.web/sites" => {
            // sitef6141, HTTPS only with a managed identity.
            let mut w = first("Microsoft.Web/ListWebApps.json");
            set(&mut w, "/id", json!(id("Microsoft.Web/sites/site-good")));
            set(&mut w, "/name", json!("site-good"));
            set(&mut w, "/properties/httpsOnly", json!(true));
            set(
                &mut w,
                "/identity",
                json!({"type": "SystemAssigned", "principalId": "22222222-0000-0000-0000-000000000001",
                    "tenantId": "2a0ff0de-96b2-4859-bb7c-a430d07a3e0c"}),
            );
            ok(json!({"value": [w]}))
        }
        "microsoft.network/networkwatchers" => {
            // A watcher in westus only (the subscription also uses eastus and japaneast).
            let mut n = first("Microsoft.Network/NetworkWatcherListAll.json");
            set(
                &mut n,
                "/id",
                json!(id("Microsoft.Network/networkWatchers/nw-west")),
            );
            set(&mut n, "/name", json!("nw-west"));
            set(&mut n, "/location", json!("westus"));
            ok(json!({"value": [n]}))
        }
        "microsoft.insights/activitylogalerts" => {
            // SampleActivityLogAlertRule1 watching NSG writes.
            let mut a = first("Microsoft.Insights/ActivityLogAlertRule_ListBySubscriptionId.json");
            set(
                &mut a,
                "/id",
                json!(id("microsoft.insights/activityLogAlerts/nsg-write")),
            );
            set(&mut a, "/name", json!("nsg-write"));
            set(
                &mut a,
                "/properties/condition/allOf",
                json!([{"field": "category", "equals": "Administrative"},
                    {"field": "operationName", "equals": "Microsoft.Network/networkSecurityGroups/write"}]),
            );
            set(&mut a, "/properties/enabled", json!(true));
            ok(json!({"value": [a]}))
        }
        _ => empty(),
    }
}

/// One permanent Owner (too few owners) and one User Access Administrator, served by
/// `role_assignments` as the fixed assignments of subscription B.
pub fn role_assignments() -> Vec<Value> {
    let base = first("Microsoft.Authorization/RoleAssignments_ListForScope.json");
    let ra = |name: &str, role: &str| {
        let mut r = base.clone();
        set(&mut r, "/name", json!(name));
        set(
            &mut r,
            "/id",
            json!(format!(
                "/subscriptions/{SUB_B}/providers/Microsoft.Authorization/roleAssignments/{name}"
            )),
        );
        set(
            &mut r,
            "/properties/roleDefinitionId",
            json!(format!(
                "/subscriptions/{SUB_B}/providers/Microsoft.Authorization/roleDefinitions/{role}"
            )),
        );
        set(
            &mut r,
            "/properties/scope",
            json!(format!("/subscriptions/{SUB_B}")),
        );
        r
    };
    vec![
        ra(
            "11111111-0000-0000-0000-000000000001",
            "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        ),
        ra(
            "11111111-0000-0000-0000-000000000002",
            "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        ),
    ]
}

/// GetSiteConfig.json with FTPS only and HTTP/2.
pub fn site_config() -> Value {
    let mut c = arm("Microsoft.Web/GetSiteConfig.json");
    set(
        &mut c,
        "/id",
        json!(id("Microsoft.Web/sites/site-good/config/web")),
    );
    set(&mut c, "/properties/ftpsState", json!("FtpsOnly"));
    set(&mut c, "/properties/http20Enabled", json!(true));
    set(&mut c, "/properties/minTlsVersion", json!("1.2"));
    set(&mut c, "/properties/remoteDebuggingEnabled", json!(false));
    c
}

fn storage(name: &str) -> Value {
    let mut s = first("Microsoft.Storage/StorageAccountList.json");
    set(
        &mut s,
        "/id",
        json!(id(&format!("Microsoft.Storage/storageAccounts/{name}"))),
    );
    set(&mut s, "/name", json!(name));
    s
}

/// sto1125 with HTTP allowed, TLS 1.0, anonymous blob access and cross-tenant replication.
fn stobad() -> Value {
    let mut s = storage("stobad");
    set(&mut s, "/properties/supportsHttpsTrafficOnly", json!(false));
    set(&mut s, "/properties/minimumTlsVersion", json!("TLS1_0"));
    set(&mut s, "/properties/allowBlobPublicAccess", json!(true));
    set(
        &mut s,
        "/properties/allowCrossTenantReplication",
        json!(true),
    );
    s
}

/// sto1125 with every storage-account control of CIS 3.0 satisfied.
fn stogood() -> Value {
    let mut s = storage("stogood");
    let p = "/properties";
    set(
        &mut s,
        &format!("{p}/supportsHttpsTrafficOnly"),
        json!(true),
    );
    set(&mut s, &format!("{p}/minimumTlsVersion"), json!("TLS1_2"));
    set(&mut s, &format!("{p}/allowBlobPublicAccess"), json!(false));
    set(&mut s, &format!("{p}/allowSharedKeyAccess"), json!(false));
    set(
        &mut s,
        &format!("{p}/allowCrossTenantReplication"),
        json!(false),
    );
    set(
        &mut s,
        &format!("{p}/publicNetworkAccess"),
        json!("Disabled"),
    );
    set(
        &mut s,
        &format!("{p}/defaultToOAuthAuthentication"),
        json!(true),
    );
    set(
        &mut s,
        &format!("{p}/networkAcls"),
        json!({"bypass": "AzureServices", "defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": []}),
    );
    set(
        &mut s,
        &format!("{p}/encryption/requireInfrastructureEncryption"),
        json!(true),
    );
    set(
        &mut s,
        &format!("{p}/keyPolicy"),
        json!({"keyExpirationPeriodInDays": 90}),
    );
    set(
        &mut s,
        &format!("{p}/keyCreationTime"),
        json!({"key1": "2026-10-01T00:00:00Z", "key2": "2026-10-01T00:00:00Z"}),
    );
    set(
        &mut s,
        &format!("{p}/privateEndpointConnections"),
        json!([{"id": id("Microsoft.Storage/storageAccounts/stogood/privateEndpointConnections/pe1"),
            "name": "pe1", "properties": {"privateLinkServiceConnectionState": {"status": "Approved"}}}]),
    );
    set(
        &mut s,
        "/sku",
        json!({"name": "Standard_GRS", "tier": "Standard"}),
    );
    s
}

/// BlobServicesGet.json with soft delete turned off (stobad) or on with versioning (stogood).
pub fn blob_service(lp: &str) -> Value {
    let mut b = arm("Microsoft.Storage/BlobServicesGet.json");
    let on = lp.contains("/stogood/");
    set(
        &mut b,
        "/properties/deleteRetentionPolicy",
        json!({"enabled": on, "days": 7}),
    );
    set(
        &mut b,
        "/properties/containerDeleteRetentionPolicy",
        json!({"enabled": on, "days": 7}),
    );
    set(&mut b, "/properties/isVersioningEnabled", json!(on));
    b
}

/// listKeys.json with an expiry and a rotation policy on the first key only.
pub fn keys(_lp: &str) -> Value {
    let mut k = arm("Microsoft.KeyVault/listKeys.json");
    set(
        &mut k,
        "/value/0/properties/attributes/exp",
        json!(1_893_456_000),
    );
    set(
        &mut k,
        "/value/0/properties/rotationPolicy",
        json!({"lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "rotate"}}]}),
    );
    k
}

/// One secret without an expiry, in the shape of a Keys_List item.
pub fn secrets(_lp: &str) -> Value {
    json!({"value": [{"id": id("Microsoft.KeyVault/vaults/kv-rbac/secrets/db-password"),
        "name": "db-password", "type": "Microsoft.KeyVault/vaults/secrets", "location": "westus",
        "properties": {"attributes": {"enabled": true, "created": 1596493796, "updated": 1596493796}}}]})
}

/// ServerBlobAuditingGet.json with auditing on and 120 days' retention.
pub fn auditing(_lp: &str) -> Value {
    let mut a = arm("Microsoft.Sql/ServerBlobAuditingGet.json");
    set(&mut a, "/properties/state", json!("Enabled"));
    set(&mut a, "/properties/retentionDays", json!(120));
    a
}

/// "Allow Azure services": the 0.0.0.0 rule.
pub fn sql_firewall(lp: &str) -> Value {
    json!({"value": [{"id": format!("{lp}/AllowAllWindowsAzureIps"), "name": "AllowAllWindowsAzureIps",
        "type": "Microsoft.Sql/servers/firewallRules",
        "properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}}]})
}

/// One user database and master (no database list example in the data set).
pub fn databases(lp: &str) -> Value {
    json!({"value": [
        {"id": format!("{lp}/testdb"), "name": "testdb", "type": "Microsoft.Sql/servers/databases",
         "location": "japaneast", "properties": {"status": "Online"}},
    ]})
}
