//! Azure checks over Microsoft's example responses and cloud-custodian's recorded
//! responses in shared/data/azure, plus non-compliant / compliant variants derived from them.
//! Results are exact per check and resource.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use trustplane_posture::{
    arm_docs, assess, AssessOptions, Inventory, Registry, ResourceDoc, Status,
};

use Status::{Error, Fail, Pass};

/// 2026-11-28T00:00:00Z.
const NOW: i64 = 1_795_824_000;
/// The account given to cloud-custodian's recorded subscription.
const C7N_SUB: &str = "sub-c7n";

fn read(rel: &str) -> Value {
    let p = common::data_dir().join("azure").join(rel);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// The 200 (or 201) body of an x-ms-examples file.
fn arm(rel: &str) -> Value {
    let v = read(&format!("arm-examples/{rel}"));
    let r = &v["responses"];
    if r["200"].is_object() {
        r["200"]["body"].clone()
    } else {
        r["201"]["body"].clone()
    }
}

/// The body of the n-th interaction of a cloud-custodian cassette.
fn cassette(rel: &str, n: usize) -> Value {
    let v = read(&format!("c7n-cassettes/{rel}"));
    match &v["interactions"][n]["response"]["body"]["data"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    }
}

fn docs(sub: &str, t: &str, body: &Value) -> Vec<ResourceDoc> {
    arm_docs(sub, t, body)
}

/// (check, "account:resource name") -> status for the given checks.
fn results(inv: &Inventory, checks: &[&str]) -> BTreeMap<(String, String), Status> {
    let opts = AssessOptions {
        now: NOW,
        ..Default::default()
    };
    let a = assess(inv, &[], &Registry::builtin(), &opts);
    let mut m = BTreeMap::new();
    for f in a.findings.iter().filter(|f| checks.contains(&&*f.check_id)) {
        let key = format!("{}:{}", f.resource.account, f.resource.name);
        let prev = m.insert((f.check_id.to_string(), key.clone()), f.status);
        assert!(prev.is_none(), "two findings for {} {key}", f.check_id);
    }
    m
}

fn assert_exact(actual: BTreeMap<(String, String), Status>, expected: &[(&str, &str, Status)]) {
    let exp: BTreeMap<(String, String), Status> = expected
        .iter()
        .map(|(c, r, s)| ((c.to_string(), r.to_string()), *s))
        .collect();
    for (k, v) in &exp {
        assert_eq!(actual.get(k), Some(v), "{k:?}");
    }
    for (k, v) in &actual {
        assert_eq!(exp.get(k), Some(v), "unexpected {k:?}");
    }
}

#[test]
fn defender_plans_contacts_and_auto_provisioning() {
    let mut d = Vec::new();
    d.extend(docs(
        "sub-arm",
        "azure.security.pricing",
        &arm("Microsoft.Security/ListPricings_example.json"),
    ));
    d.extend(docs(
        "sub-arm",
        "azure.security.contact",
        &arm("Microsoft.Security/GetSecurityContactsSubscription_example.json"),
    ));
    d.extend(docs(
        "sub-arm",
        "azure.security.auto_provisioning_setting",
        &arm("Microsoft.Security/GetAutoProvisioningSettingsSubscription_example.json"),
    ));
    d.extend(docs(
        C7N_SUB,
        "azure.security.pricing",
        &cassette("DefenderTest.test_azure_defender_pricing.json", 0),
    ));
    d.extend(docs(
        C7N_SUB,
        "azure.security.contact",
        &cassette("DefenderTest.test_azure_defender_contacts.json", 0),
    ));
    d.extend(docs(
        C7N_SUB,
        "azure.security.auto_provisioning_setting",
        &cassette("DefenderTest.test_azure_defender_autoprovisioning.json", 0),
    ));
    let inv = Inventory::from_docs(d);
    let checks = [
        "defender_ensure_defender_for_server_is_on",
        "defender_ensure_defender_for_app_services_is_on",
        "defender_ensure_defender_for_containers_is_on",
        "defender_ensure_defender_for_cosmosdb_is_on",
        "defender_ensure_defender_for_os_relational_databases_is_on",
        "defender_ensure_defender_cspm_is_on",
        "defender_ensure_defender_for_apis_is_on",
        "defender_containers_agentless_discovery_on",
        "defender_containers_vulnerability_assessment_on",
        "defender_ensure_notify_emails_to_owners",
        "defender_additional_email_configured_with_a_security_contact",
        "defender_ensure_notify_alerts_severity_is_high",
        "defender_attack_path_notifications_properly_configured",
        "defender_auto_provisioning_log_analytics_agent_vms_on",
    ];
    assert_exact(
        results(&inv, &checks),
        &[
            (
                "defender_ensure_defender_for_server_is_on",
                "sub-arm:VirtualMachines",
                Pass,
            ),
            (
                "defender_ensure_defender_for_app_services_is_on",
                "sub-arm:AppServices",
                Fail,
            ),
            (
                "defender_ensure_defender_for_containers_is_on",
                "sub-arm:Containers",
                Pass,
            ),
            (
                "defender_ensure_defender_for_cosmosdb_is_on",
                "sub-arm:sub-arm",
                Fail,
            ),
            (
                "defender_ensure_defender_for_os_relational_databases_is_on",
                "sub-arm:OpenSourceRelationalDatabases",
                Fail,
            ),
            (
                "defender_ensure_defender_cspm_is_on",
                "sub-arm:CloudPosture",
                Pass,
            ),
            (
                "defender_ensure_defender_for_apis_is_on",
                "sub-arm:sub-arm",
                Fail,
            ),
            (
                "defender_containers_agentless_discovery_on",
                "sub-arm:Containers",
                Fail,
            ),
            (
                "defender_containers_vulnerability_assessment_on",
                "sub-arm:Containers",
                Pass,
            ),
            (
                "defender_ensure_notify_emails_to_owners",
                "sub-arm:default",
                Pass,
            ),
            (
                "defender_additional_email_configured_with_a_security_contact",
                "sub-arm:default",
                Pass,
            ),
            (
                "defender_ensure_notify_alerts_severity_is_high",
                "sub-arm:default",
                Pass,
            ),
            (
                "defender_attack_path_notifications_properly_configured",
                "sub-arm:default",
                Fail,
            ),
            (
                "defender_auto_provisioning_log_analytics_agent_vms_on",
                "sub-arm:default",
                Pass,
            ),
            // cloud-custodian's recording: older api-versions, other tiers, Admin-only contact.
            (
                "defender_ensure_defender_for_server_is_on",
                "sub-c7n:VirtualMachines",
                Pass,
            ),
            (
                "defender_ensure_defender_for_app_services_is_on",
                "sub-c7n:AppServices",
                Pass,
            ),
            (
                "defender_ensure_defender_for_containers_is_on",
                "sub-c7n:Containers",
                Fail,
            ),
            (
                "defender_ensure_defender_for_cosmosdb_is_on",
                "sub-c7n:sub-c7n",
                Fail,
            ),
            (
                "defender_ensure_defender_for_os_relational_databases_is_on",
                "sub-c7n:OpenSourceRelationalDatabases",
                Fail,
            ),
            (
                "defender_ensure_defender_cspm_is_on",
                "sub-c7n:sub-c7n",
                Fail,
            ),
            (
                "defender_ensure_defender_for_apis_is_on",
                "sub-c7n:sub-c7n",
                Fail,
            ),
            (
                "defender_containers_agentless_discovery_on",
                "sub-c7n:Containers",
                Fail,
            ),
            (
                "defender_containers_vulnerability_assessment_on",
                "sub-c7n:Containers",
                Fail,
            ),
            (
                "defender_ensure_notify_emails_to_owners",
                "sub-c7n:default1",
                Fail,
            ),
            (
                "defender_additional_email_configured_with_a_security_contact",
                "sub-c7n:default1",
                Pass,
            ),
            (
                "defender_ensure_notify_alerts_severity_is_high",
                "sub-c7n:default1",
                Fail,
            ),
            (
                "defender_attack_path_notifications_properly_configured",
                "sub-c7n:default1",
                Fail,
            ),
            (
                "defender_auto_provisioning_log_analytics_agent_vms_on",
                "sub-c7n:default",
                Pass,
            ),
        ],
    );
}

/// A compliant account derived from cloud-custodian's `bfsdevstorage`.
fn good_storage_account() -> Value {
    let body = cassette("StorageTest.test_storage_blob_services.json", 0);
    let mut a = body["value"][0].clone();
    a["name"] = json!("stgood");
    a["id"] = json!("/subscriptions/sub-c7n/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stgood");
    a["sku"]["name"] = json!("Standard_GZRS");
    let p = &mut a["properties"];
    p["minimumTlsVersion"] = json!("TLS1_2");
    p["allowSharedKeyAccess"] = json!(false);
    p["publicNetworkAccess"] = json!("Disabled");
    p["allowCrossTenantReplication"] = json!(false);
    p["defaultToOAuthAuthentication"] = json!(true);
    p["networkAcls"]["defaultAction"] = json!("Deny");
    p["privateEndpointConnections"] = json!([{"id": "/subscriptions/sub-c7n/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stgood/privateEndpointConnections/pe1"}]);
    p["keyCreationTime"] = json!({"key1": "2026-11-01T00:00:00Z", "key2": "2026-11-02T00:00:00Z"});
    p["keyPolicy"] = json!({"keyExpirationPeriodInDays": 90});
    p["encryption"]["requireInfrastructureEncryption"] = json!(true);
    a
}

#[test]
fn storage_accounts_from_examples_recordings_and_a_compliant_variant() {
    let mut d = Vec::new();
    d.extend(docs(
        "sub-arm",
        "azure.storage.account",
        &arm("Microsoft.Storage/StorageAccountList.json"),
    ));
    d.extend(docs(
        C7N_SUB,
        "azure.storage.account",
        &cassette("StorageTest.test_storage_blob_services.json", 0),
    ));
    d.extend(docs(
        C7N_SUB,
        "azure.storage.account",
        &good_storage_account(),
    ));
    d.extend(docs(
        "sub-arm",
        "azure.storage.blob_service",
        &arm("Microsoft.Storage/BlobServicesGet.json"),
    ));
    d.extend(docs(
        C7N_SUB,
        "azure.storage.blob_service",
        &cassette("StorageTest.test_storage_blob_services.json", 1),
    ));
    let inv = Inventory::from_docs(d);
    let r = results(
        &inv,
        &[
            "storage_secure_transfer_required_is_enabled",
            "storage_ensure_minimum_tls_version_12",
            "storage_blob_public_access_level_is_disabled",
            "storage_default_network_access_rule_is_denied",
            "storage_key_rotation_90_days",
            "storage_geo_redundant_enabled",
            "storage_blob_soft_delete_enabled",
            "storage_container_soft_delete_enabled",
            "storage_blob_versioning_is_enabled",
        ],
    );
    let arm_accounts = [
        "sto1125", "sto3699", "sto8596", "sto6637", "sto834", "sto9174",
    ];
    let mut exp: Vec<(String, String, Status)> = Vec::new();
    let mut put = |c: &str, n: &str, s: Status| exp.push((c.to_string(), n.to_string(), s));
    for n in arm_accounts {
        let k = format!("sub-arm:{n}");
        // Microsoft's examples: HTTP allowed, no TLS floor, anonymous access not disabled,
        // no key creation time (age unknown), GRS.
        put("storage_secure_transfer_required_is_enabled", &k, Fail);
        put("storage_ensure_minimum_tls_version_12", &k, Fail);
        put("storage_blob_public_access_level_is_disabled", &k, Fail);
        put("storage_default_network_access_rule_is_denied", &k, Fail);
        put("storage_key_rotation_90_days", &k, Fail);
        put("storage_geo_redundant_enabled", &k, Pass);
    }
    // cloud-custodian's recorded accounts (real values; keys from 2022 are over 90 days old).
    for (n, https, tls, anon_off, deny, geo) in [
        ("bfsdevstorage", Pass, Fail, Pass, Fail, Fail),
        ("cs21003200215f0ad6b", Pass, Pass, Pass, Fail, Fail),
        ("dfhteststore", Pass, Pass, Fail, Pass, Pass),
        ("ccipstorageyenndgetjsvtg", Pass, Fail, Fail, Pass, Fail),
        ("cclgstorageyenndgetjsvtg", Fail, Fail, Fail, Fail, Fail),
        ("cctstorageyenndgetjsvtg", Fail, Fail, Fail, Fail, Fail),
        ("dfhflowlogs", Pass, Pass, Fail, Fail, Pass),
        ("stgood", Pass, Pass, Pass, Pass, Pass),
    ] {
        let k = format!("sub-c7n:{n}");
        put("storage_secure_transfer_required_is_enabled", &k, https);
        put("storage_ensure_minimum_tls_version_12", &k, tls);
        put("storage_blob_public_access_level_is_disabled", &k, anon_off);
        put("storage_default_network_access_rule_is_denied", &k, deny);
        put(
            "storage_key_rotation_90_days",
            &k,
            if n == "stgood" { Pass } else { Fail },
        );
        put("storage_geo_redundant_enabled", &k, geo);
    }
    // Blob services: Microsoft's example has blob soft delete and versioning but no container
    // soft delete; the recording has blob soft delete only.
    put("storage_blob_soft_delete_enabled", "sub-arm:default", Pass);
    put(
        "storage_container_soft_delete_enabled",
        "sub-arm:default",
        Fail,
    );
    put(
        "storage_blob_versioning_is_enabled",
        "sub-arm:default",
        Pass,
    );
    put("storage_blob_soft_delete_enabled", "sub-c7n:default", Pass);
    put(
        "storage_container_soft_delete_enabled",
        "sub-c7n:default",
        Fail,
    );
    put(
        "storage_blob_versioning_is_enabled",
        "sub-c7n:default",
        Fail,
    );
    let exp: Vec<(&str, &str, Status)> = exp
        .iter()
        .map(|(a, b, s)| (a.as_str(), b.as_str(), *s))
        .collect();
    assert_exact(r, &exp);

    // The derived account passes every account-level storage check.
    let all: Vec<&str> = trustplane_posture::checks::azure_storage::checks()
        .iter()
        .filter(|c| c.needs == ["azure.storage.account"])
        .map(|c| c.id)
        .collect();
    let r = results(&inv, &all);
    for ((c, k), s) in &r {
        if k == "sub-c7n:stgood" {
            assert_eq!(*s, Pass, "{c}");
        }
    }
    assert_eq!(
        r.keys().filter(|(_, k)| k == "sub-c7n:stgood").count(),
        all.len()
    );
}

/// A vault variant: `name` in resource group `rg`, RBAC or access policies.
fn vault(name: &str, rg: &str, rbac: bool, hardened: bool) -> Value {
    let mut v = arm("Microsoft.KeyVault/getVault.json");
    v["name"] = json!(name);
    v["id"] = json!(format!("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}"));
    v["properties"]["enableRbacAuthorization"] = json!(rbac);
    if hardened {
        v["properties"]["enableSoftDelete"] = json!(true);
        v["properties"]["enablePurgeProtection"] = json!(true);
        v["properties"]["publicNetworkAccess"] = json!("Disabled");
        v["properties"]["privateEndpointConnections"] = json!([{"id": "pe"}]);
    }
    v
}

#[test]
fn key_vaults_keys_and_secrets() {
    let mut d = Vec::new();
    d.extend(docs(
        "sub-kv",
        "azure.keyvault.vault",
        &arm("Microsoft.KeyVault/getVault.json"),
    ));
    d.extend(docs(
        "sub-kv2",
        "azure.keyvault.vault",
        &arm("Microsoft.KeyVault/listVaultByResourceGroup.json"),
    ));
    d.extend(docs(
        C7N_SUB,
        "azure.keyvault.vault",
        &cassette("KeyVaultTest.test_whitelist.json", 0),
    ));
    // Microsoft's listKeys belongs to `sample-vault-name` in `sample-group`: an access-policy
    // vault derived from the example; plus a hardened RBAC vault with one good key and one
    // secret without expiry.
    d.extend(docs(
        "sub-kv",
        "azure.keyvault.vault",
        &vault("sample-vault-name", "sample-group", false, false),
    ));
    d.extend(docs(
        "sub-kv",
        "azure.keyvault.vault",
        &vault("kv-good", "rg", true, true),
    ));
    d.extend(docs(
        "sub-kv",
        "azure.keyvault.key",
        &arm("Microsoft.KeyVault/listKeys.json"),
    ));
    let base = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-good";
    d.extend(docs("sub-kv", "azure.keyvault.key", &json!({
        "id": format!("{base}/keys/rotating"), "name": "rotating", "location": "westus",
        "properties": {"attributes": {"enabled": true, "exp": 1_830_000_000},
            "rotationPolicy": {"lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Rotate"}}]}}
    })));
    d.extend(docs("sub-kv", "azure.keyvault.secret", &json!({
        "id": format!("{base}/secrets/db-password"), "name": "db-password", "location": "westus",
        "properties": {"attributes": {"enabled": true}}
    })));
    // A key whose vault was not collected.
    d.extend(docs("sub-kv", "azure.keyvault.key", &json!({
        "id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/elsewhere/keys/k", "name": "orphan",
        "properties": {"attributes": {"enabled": true}}
    })));
    let inv = Inventory::from_docs(d);
    let r = results(
        &inv,
        &[
            "keyvault_rbac_enabled",
            "keyvault_recoverable",
            "keyvault_public_network_access_disabled",
            "keyvault_rbac_key_expiration_set",
            "keyvault_key_expiration_set_in_non_rbac",
            "keyvault_rbac_secret_expiration_set",
            "keyvault_key_rotation_enabled",
        ],
    );
    assert_exact(
        r,
        &[
            // getVault: access policies, no purge protection, public access enabled.
            ("keyvault_rbac_enabled", "sub-kv:sample-vault", Fail),
            ("keyvault_recoverable", "sub-kv:sample-vault", Fail),
            (
                "keyvault_public_network_access_disabled",
                "sub-kv:sample-vault",
                Fail,
            ),
            // listVaultByResourceGroup: soft delete on, purge protection not set.
            ("keyvault_rbac_enabled", "sub-kv2:sample-vault", Fail),
            ("keyvault_recoverable", "sub-kv2:sample-vault", Fail),
            (
                "keyvault_public_network_access_disabled",
                "sub-kv2:sample-vault",
                Fail,
            ),
            ("keyvault_rbac_enabled", "sub-kv:sample-vault-name", Fail),
            ("keyvault_recoverable", "sub-kv:sample-vault-name", Fail),
            (
                "keyvault_public_network_access_disabled",
                "sub-kv:sample-vault-name",
                Fail,
            ),
            ("keyvault_rbac_enabled", "sub-kv:kv-good", Pass),
            ("keyvault_recoverable", "sub-kv:kv-good", Pass),
            (
                "keyvault_public_network_access_disabled",
                "sub-kv:kv-good",
                Pass,
            ),
            (
                "keyvault_rbac_enabled",
                "sub-c7n:cckeyvault1yghq6zt4ewg2e",
                Fail,
            ),
            (
                "keyvault_recoverable",
                "sub-c7n:cckeyvault1yghq6zt4ewg2e",
                Fail,
            ),
            (
                "keyvault_public_network_access_disabled",
                "sub-c7n:cckeyvault1yghq6zt4ewg2e",
                Fail,
            ),
            (
                "keyvault_key_expiration_set_in_non_rbac",
                "sub-kv:sample-key-name-1",
                Fail,
            ),
            (
                "keyvault_key_expiration_set_in_non_rbac",
                "sub-kv:sample-key-name-2",
                Fail,
            ),
            ("keyvault_rbac_key_expiration_set", "sub-kv:rotating", Pass),
            ("keyvault_rbac_key_expiration_set", "sub-kv:orphan", Error),
            (
                "keyvault_rbac_secret_expiration_set",
                "sub-kv:db-password",
                Fail,
            ),
            (
                "keyvault_key_rotation_enabled",
                "sub-kv:sample-key-name-1",
                Fail,
            ),
            (
                "keyvault_key_rotation_enabled",
                "sub-kv:sample-key-name-2",
                Fail,
            ),
            ("keyvault_key_rotation_enabled", "sub-kv:rotating", Pass),
            ("keyvault_key_rotation_enabled", "sub-kv:orphan", Fail),
        ],
    );
}

#[test]
fn sql_servers_auditing_firewall_and_encryption() {
    let mut d = Vec::new();
    // Microsoft's examples: two servers; the auditing example (Disabled) is re-parented onto
    // the first; the second has no auditing document (ERROR, never a silent PASS).
    d.extend(docs(
        "sub-arm",
        "azure.sql.server",
        &arm("Microsoft.Sql/ServerList.json"),
    ));
    let first = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/sqlcrudtest-7398/providers/Microsoft.Sql/servers/sqlcrudtest-4645";
    let mut audit = arm("Microsoft.Sql/ServerBlobAuditingGet.json");
    audit["id"] = json!(format!("{first}/auditingSettings/default"));
    d.extend(docs("sub-arm", "azure.sql.server_auditing_policy", &audit));
    d.extend(docs("sub-arm", "azure.sql.firewall_rule", &json!({"value": [
        {"id": format!("{first}/firewallRules/office"), "name": "office", "properties": {"startIpAddress": "203.0.113.1", "endIpAddress": "203.0.113.20"}}
    ]})));
    let mut tde_off = arm("Microsoft.Sql/TransparentDataEncryptionGet.json");
    tde_off["id"] = json!(format!(
        "{first}/databases/legacy/transparentDataEncryption/current"
    ));
    tde_off["name"] = json!("legacy-tde");
    tde_off["properties"]["state"] = json!("Disabled");
    d.extend(docs(
        "sub-arm",
        "azure.sql.transparent_data_encryption",
        &arm("Microsoft.Sql/TransparentDataEncryptionGet.json"),
    ));
    d.extend(docs(
        "sub-arm",
        "azure.sql.transparent_data_encryption",
        &tde_off,
    ));
    // cloud-custodian's recordings: auditing Enabled with unlimited retention; the
    // "allow Azure services" rule (0.0.0.0) derived onto that server.
    d.extend(docs(
        C7N_SUB,
        "azure.sql.server",
        &cassette("SqlServerTest.auditing.json", 0),
    ));
    d.extend(docs(
        C7N_SUB,
        "azure.sql.server_auditing_policy",
        &cassette("SqlServerTest.auditing.json", 1),
    ));
    let c7n_server = "/subscriptions/ea42f556-5106-4743-99b0-c129bfa71a47/resourceGroups/test_sqlserver/providers/Microsoft.Sql/servers/cctestsqlserverotx7agz44aofe";
    d.extend(docs(C7N_SUB, "azure.sql.firewall_rule", &json!({"value": [
        {"id": format!("{c7n_server}/firewallRules/AllowAllWindowsAzureIps"), "name": "AllowAllWindowsAzureIps", "properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}}
    ]})));
    d.extend(docs(
        "sub-tde",
        "azure.sql.server",
        &cassette("SqlServerTest.test_data_encryption_filter.json", 0),
    ));
    d.extend(docs(
        "sub-tde",
        "azure.sql.encryption_protector",
        &cassette("SqlServerTest.test_data_encryption_filter.json", 1),
    ));
    d.extend(docs(
        "sub-tde",
        "azure.sql.encryption_protector",
        &cassette("SqlServerTest.test_data_encryption_filter.json", 2),
    ));
    let inv = Inventory::from_docs(d);
    let r = results(
        &inv,
        &[
            "sqlserver_auditing_enabled",
            "sqlserver_auditing_retention_90_days",
            "sqlserver_unrestricted_inbound_access",
            "sqlserver_tde_encrypted_with_cmk",
            "sqlserver_tde_encryption_enabled",
        ],
    );
    assert_exact(
        r,
        &[
            (
                "sqlserver_auditing_enabled",
                "sub-arm:sqlcrudtest-4645",
                Fail,
            ),
            (
                "sqlserver_auditing_enabled",
                "sub-arm:sqlcrudtest-6661",
                Error,
            ),
            (
                "sqlserver_auditing_enabled",
                "sub-c7n:cctestsqlserverotx7agz44aofe",
                Pass,
            ),
            (
                "sqlserver_auditing_enabled",
                "sub-tde:cfb-guhvauzm-test-sql-server",
                Error,
            ),
            (
                "sqlserver_auditing_enabled",
                "sub-tde:cfb-oapcxbui-test-sql-server-1",
                Error,
            ),
            (
                "sqlserver_auditing_retention_90_days",
                "sub-arm:sqlcrudtest-4645",
                Fail,
            ),
            (
                "sqlserver_auditing_retention_90_days",
                "sub-arm:sqlcrudtest-6661",
                Error,
            ),
            (
                "sqlserver_auditing_retention_90_days",
                "sub-c7n:cctestsqlserverotx7agz44aofe",
                Pass,
            ),
            (
                "sqlserver_auditing_retention_90_days",
                "sub-tde:cfb-guhvauzm-test-sql-server",
                Error,
            ),
            (
                "sqlserver_auditing_retention_90_days",
                "sub-tde:cfb-oapcxbui-test-sql-server-1",
                Error,
            ),
            (
                "sqlserver_unrestricted_inbound_access",
                "sub-arm:sqlcrudtest-4645",
                Pass,
            ),
            (
                "sqlserver_unrestricted_inbound_access",
                "sub-arm:sqlcrudtest-6661",
                Pass,
            ),
            (
                "sqlserver_unrestricted_inbound_access",
                "sub-c7n:cctestsqlserverotx7agz44aofe",
                Fail,
            ),
            (
                "sqlserver_unrestricted_inbound_access",
                "sub-tde:cfb-guhvauzm-test-sql-server",
                Pass,
            ),
            (
                "sqlserver_unrestricted_inbound_access",
                "sub-tde:cfb-oapcxbui-test-sql-server-1",
                Pass,
            ),
            (
                "sqlserver_tde_encrypted_with_cmk",
                "sub-arm:sqlcrudtest-4645",
                Error,
            ),
            (
                "sqlserver_tde_encrypted_with_cmk",
                "sub-arm:sqlcrudtest-6661",
                Error,
            ),
            (
                "sqlserver_tde_encrypted_with_cmk",
                "sub-c7n:cctestsqlserverotx7agz44aofe",
                Error,
            ),
            (
                "sqlserver_tde_encrypted_with_cmk",
                "sub-tde:cfb-guhvauzm-test-sql-server",
                Pass,
            ),
            (
                "sqlserver_tde_encrypted_with_cmk",
                "sub-tde:cfb-oapcxbui-test-sql-server-1",
                Fail,
            ),
            ("sqlserver_tde_encryption_enabled", "sub-arm:current", Pass),
            (
                "sqlserver_tde_encryption_enabled",
                "sub-arm:legacy-tde",
                Fail,
            ),
        ],
    );
}

/// cloud-custodian's NSG with rules that open RDP (a port range), SSH (any protocol, from
/// `Internet`) and UDP to the internet, and HTTPS only to a private range.
fn open_nsg() -> Value {
    let body = cassette("NetworkSecurityGroupTest.test_cidr_only_match.json", 0);
    let mut n = body["value"][0].clone();
    n["name"] = json!("nsg-open");
    n["id"] = json!("/subscriptions/sub-c7n/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg-open");
    let rule = |name: &str, proto: &str, src: &str, ports: Value| {
        let mut p = json!({"direction": "Inbound", "access": "Allow", "protocol": proto, "sourceAddressPrefix": src, "priority": 100});
        match ports {
            Value::Array(_) => p["destinationPortRanges"] = ports,
            other => p["destinationPortRange"] = other,
        }
        json!({"name": name, "properties": p})
    };
    let rules = n["properties"]["securityRules"].as_array_mut().unwrap();
    rules.push(rule("rdp-range", "Tcp", "*", json!(["3000-3400"])));
    rules.push(rule("ssh-any", "*", "Internet", json!("22")));
    rules.push(rule("dns-udp", "Udp", "0.0.0.0/0", json!("53")));
    rules.push(rule("https-private", "Tcp", "10.0.0.0/8", json!("443")));
    n
}

#[test]
fn network_security_groups_and_watchers() {
    let mut d = Vec::new();
    d.extend(docs(
        "sub-arm",
        "azure.network.nsg",
        &arm("Microsoft.Network/NetworkSecurityGroupListAll.json"),
    ));
    d.extend(docs(
        "sub-arm",
        "azure.network.watcher",
        &arm("Microsoft.Network/NetworkWatcherListAll.json"),
    ));
    d.extend(docs(
        C7N_SUB,
        "azure.network.nsg",
        &cassette("NetworkSecurityGroupTest.test_cidr_only_match.json", 0),
    ));
    d.extend(docs(C7N_SUB, "azure.network.nsg", &open_nsg()));
    let inv = Inventory::from_docs(d);
    let r = results(
        &inv,
        &[
            "network_rdp_internet_access_restricted",
            "network_ssh_internet_access_restricted",
            "network_udp_internet_access_restricted",
            "network_http_internet_access_restricted",
            "network_watcher_enabled",
        ],
    );
    let mut exp = Vec::new();
    for nsg in ["sub-arm:nsg1", "sub-arm:nsg3", "sub-c7n:c7n-nsg"] {
        for c in ["rdp", "ssh", "udp", "http"] {
            exp.push((
                format!("network_{c}_internet_access_restricted"),
                nsg.to_string(),
                Pass,
            ));
        }
    }
    for (c, s) in [("rdp", Fail), ("ssh", Fail), ("udp", Fail), ("http", Pass)] {
        exp.push((
            format!("network_{c}_internet_access_restricted"),
            "sub-c7n:nsg-open".to_string(),
            s,
        ));
    }
    // sub-arm uses westus (NSGs) and has watchers in eastus and westus; sub-c7n uses eastus
    // and has none.
    exp.push((
        "network_watcher_enabled".into(),
        "sub-arm:sub-arm/eastus".into(),
        Pass,
    ));
    exp.push((
        "network_watcher_enabled".into(),
        "sub-arm:sub-arm/westus".into(),
        Pass,
    ));
    exp.push((
        "network_watcher_enabled".into(),
        "sub-c7n:sub-c7n/eastus".into(),
        Fail,
    ));
    let exp: Vec<(&str, &str, Status)> = exp
        .iter()
        .map(|(a, b, s)| (a.as_str(), b.as_str(), *s))
        .collect();
    assert_exact(r, &exp);
}

#[test]
fn virtual_machines_and_disks() {
    let vms = arm("Microsoft.Compute/VirtualMachine_ListBySubscription_ByLocation.json");
    let mut good = vms["value"][1].clone();
    good["name"] = json!("vm-good");
    good["id"] = json!("/subscriptions/sub-arm/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-good");
    good["properties"]["storageProfile"]["osDisk"] = json!({"osType": "Windows", "name": "os", "createOption": "FromImage", "managedDisk": {"id": "/subscriptions/sub-arm/resourceGroups/rg/providers/Microsoft.Compute/disks/os"}});
    good["properties"]["securityProfile"] = json!({"securityType": "TrustedLaunch", "uefiSettings": {"secureBootEnabled": true, "vTpmEnabled": true}});
    let disks = arm("Microsoft.Compute/Disk_ListBySubscription.json");
    let mut disk_good = disks["value"][1].clone();
    disk_good["name"] = json!("disk-good");
    disk_good["id"] = json!(
        "/subscriptions/sub-arm/resourceGroups/rg/providers/Microsoft.Compute/disks/disk-good"
    );
    disk_good["properties"]["diskState"] = json!("Attached");
    disk_good["properties"]["encryption"] =
        json!({"type": "EncryptionAtRestWithCustomerKey", "diskEncryptionSetId": "des"});
    disk_good["properties"]["networkAccessPolicy"] = json!("DenyAll");
    disk_good["properties"]["dataAccessAuthMode"] = json!("AzureActiveDirectory");
    let mut d = Vec::new();
    d.extend(docs("sub-arm", "azure.compute.vm", &vms["value"][0]));
    d.extend(docs("sub-arm", "azure.compute.vm", &good));
    d.extend(docs("sub-arm", "azure.compute.disk", &disks));
    d.extend(docs("sub-arm", "azure.compute.disk", &disk_good));
    let inv = Inventory::from_docs(d);
    let r = results(
        &inv,
        &[
            "vm_ensure_using_managed_disks",
            "vm_trusted_launch_enabled",
            "vm_ensure_attached_disks_encrypted_with_cmk",
            "vm_ensure_unattached_disks_encrypted_with_cmk",
            "vm_disk_public_network_access_disabled",
            "vm_disk_data_access_auth_mode_enabled",
        ],
    );
    let mut exp = vec![
        (
            "vm_ensure_using_managed_disks",
            "sub-arm:{virtualMachineName}",
            Fail,
        ),
        (
            "vm_trusted_launch_enabled",
            "sub-arm:{virtualMachineName}",
            Fail,
        ),
        ("vm_ensure_using_managed_disks", "sub-arm:vm-good", Pass),
        ("vm_trusted_launch_enabled", "sub-arm:vm-good", Pass),
        (
            "vm_ensure_attached_disks_encrypted_with_cmk",
            "sub-arm:disk-good",
            Pass,
        ),
        (
            "vm_disk_public_network_access_disabled",
            "sub-arm:disk-good",
            Pass,
        ),
        (
            "vm_disk_data_access_auth_mode_enabled",
            "sub-arm:disk-good",
            Pass,
        ),
    ];
    // The three example disks: not attached, platform keys or ADE only, default network policy.
    for n in [
        "sub-arm:myManagedDisk1",
        "sub-arm:myManagedDisk2",
        "sub-arm:myManagedDisk3",
    ] {
        exp.push(("vm_ensure_unattached_disks_encrypted_with_cmk", n, Fail));
        exp.push(("vm_disk_public_network_access_disabled", n, Fail));
        exp.push(("vm_disk_data_access_auth_mode_enabled", n, Fail));
    }
    assert_exact(r, &exp);
}

#[test]
fn app_service_sites() {
    let sites = arm("Microsoft.Web/ListWebApps.json");
    let mut good = sites["value"][0].clone();
    let id = "/subscriptions/sub-arm/resourceGroups/rg/providers/Microsoft.Web/sites/site-good";
    good["name"] = json!("site-good");
    good["id"] = json!(id);
    good["identity"] = json!({"type": "SystemAssigned"});
    good["properties"]["httpsOnly"] = json!(true);
    good["properties"]["siteConfig"]["ftpsState"] = json!("FtpsOnly");
    good["properties"]["siteConfig"]["http20Enabled"] = json!(true);
    let mut d = Vec::new();
    d.extend(docs("sub-arm", "azure.web.site", &sites));
    d.extend(docs("sub-arm", "azure.web.site", &good));
    // GetSiteConfig belongs to sitef6141; an auth settings document only for site-good.
    d.extend(docs(
        "sub-arm",
        "azure.web.site_config",
        &arm("Microsoft.Web/GetSiteConfig.json"),
    ));
    d.extend(docs(
        "sub-arm",
        "azure.web.site_auth_settings",
        &json!({
            "id": format!("{id}/config/authsettingsV2"), "name": "authsettingsV2",
            "properties": {"platform": {"enabled": true}}
        }),
    ));
    let inv = Inventory::from_docs(d);
    let checks = [
        "app_ensure_http_is_redirected_to_https",
        "app_ensure_auth_is_set_up",
        "app_ftp_deployment_disabled",
        "app_minimum_tls_version_12",
        "app_register_with_identity",
        "app_ensure_using_http20",
        "app_remote_debugging_disabled",
    ];
    let r = results(&inv, &checks);
    let mut exp = Vec::new();
    for site in ["sub-arm:sitef6141", "sub-arm:sitef7252"] {
        for (c, s) in [
            ("app_ensure_http_is_redirected_to_https", Fail),
            ("app_ensure_auth_is_set_up", Error),
            ("app_ftp_deployment_disabled", Fail),
            ("app_minimum_tls_version_12", Pass),
            ("app_register_with_identity", Fail),
            ("app_ensure_using_http20", Fail),
            ("app_remote_debugging_disabled", Pass),
        ] {
            exp.push((c, site, s));
        }
    }
    for c in checks {
        exp.push((c, "sub-arm:site-good", Pass));
    }
    assert_exact(r, &exp);
}

#[test]
fn activity_log_alerts_and_diagnostic_settings() {
    let mut alerts = arm("Microsoft.Insights/ActivityLogAlertRule_ListBySubscriptionId.json");
    let mut nsg_alert = alerts["value"][0].clone();
    nsg_alert["name"] = json!("nsg-write");
    nsg_alert["id"] = json!("/subscriptions/sub-arm/resourceGroups/rg/providers/microsoft.insights/activityLogAlerts/nsg-write");
    nsg_alert["properties"]["condition"] = json!({"allOf": [
        {"field": "category", "equals": "Administrative"},
        {"field": "operationName", "equals": "Microsoft.Network/networkSecurityGroups/write"}]});
    let mut health = nsg_alert.clone();
    health["name"] = json!("health");
    health["id"] = json!("/subscriptions/sub-arm/resourceGroups/rg/providers/microsoft.insights/activityLogAlerts/health");
    health["properties"]["condition"] =
        json!({"allOf": [{"field": "category", "equals": "ServiceHealth"}]});
    let mut disabled = nsg_alert.clone();
    disabled["name"] = json!("nsg-delete-disabled");
    disabled["id"] = json!("/subscriptions/sub-arm/resourceGroups/rg/providers/microsoft.insights/activityLogAlerts/off");
    disabled["properties"]["enabled"] = json!(false);
    disabled["properties"]["condition"]["allOf"][1]["equals"] =
        json!("Microsoft.Network/networkSecurityGroups/delete");
    alerts["value"]
        .as_array_mut()
        .unwrap()
        .extend([nsg_alert, health, disabled]);
    let mut d = Vec::new();
    d.extend(docs("sub-arm", "azure.monitor.activity_log_alert", &alerts));
    d.extend(docs(
        "sub-arm",
        "azure.monitor.subscription_diagnostic_setting",
        &arm("Microsoft.Insights/listSubscriptionDiagnosticSettings.json"),
    ));
    d.extend(docs(
        C7N_SUB,
        "azure.monitor.subscription_diagnostic_setting",
        &cassette("SubscriptionDiagnosticSettingsFilterTest.diag.json", 1),
    ));
    // The storage account that receives sub-c7n's activity log, with Microsoft-managed keys.
    d.extend(docs(C7N_SUB, "azure.storage.account", &json!({
        "id": "/subscriptions/ea42f556-5106-4743-99b0-c129bfa71a47/resourceGroups/cfb-tjmypwym/providers/Microsoft.Storage/storageAccounts/cfbtjmypwym",
        "name": "cfbtjmypwym", "location": "eastus", "properties": {"encryption": {"keySource": "Microsoft.Storage"}}
    })));
    let inv = Inventory::from_docs(d);
    let mut checks: Vec<&str> = trustplane_posture::checks::azure_monitor::ALERTS
        .iter()
        .map(|(c, _)| *c)
        .collect();
    checks.extend([
        "monitor_diagnostic_settings_exists",
        "monitor_diagnostic_setting_with_appropriate_categories",
        "monitor_storage_account_with_activity_logs_cmk_encrypted",
    ]);
    let r = results(&inv, &checks);
    let mut exp: Vec<(String, String, Status)> = Vec::new();
    for (c, _) in trustplane_posture::checks::azure_monitor::ALERTS {
        let arm_result = match *c {
            "monitor_alert_create_update_nsg" => ("sub-arm:nsg-write", Pass),
            "monitor_alert_service_health_exists" => ("sub-arm:health", Pass),
            _ => ("sub-arm:sub-arm", Fail),
        };
        exp.push((c.to_string(), arm_result.0.to_string(), arm_result.1));
        exp.push((c.to_string(), "sub-c7n:sub-c7n".to_string(), Fail));
    }
    for (c, k, s) in [
        (
            "monitor_diagnostic_settings_exists",
            "sub-arm:sub-arm",
            Pass,
        ),
        (
            "monitor_diagnostic_settings_exists",
            "sub-c7n:sub-c7n",
            Pass,
        ),
        // Microsoft's example exports allLogs; the recording has Alert disabled.
        (
            "monitor_diagnostic_setting_with_appropriate_categories",
            "sub-arm:sub-arm",
            Pass,
        ),
        (
            "monitor_diagnostic_setting_with_appropriate_categories",
            "sub-c7n:sub-c7n",
            Fail,
        ),
        (
            "monitor_storage_account_with_activity_logs_cmk_encrypted",
            "sub-arm:ds4",
            Error,
        ),
        (
            "monitor_storage_account_with_activity_logs_cmk_encrypted",
            "sub-c7n:D5F8F41A-5AA9-49ED-8DE3-37A097699C3E-fail-all",
            Fail,
        ),
    ] {
        exp.push((c.to_string(), k.to_string(), s));
    }
    let exp: Vec<(&str, &str, Status)> = exp
        .iter()
        .map(|(a, b, s)| (a.as_str(), b.as_str(), *s))
        .collect();
    assert_exact(r, &exp);
}

const TENANT: &str = "tenant-1";

#[test]
fn entra_authorization_policy_and_unmapped_users() {
    let example: Value = read("graph-examples/authorizationpolicy-get.json");
    let mut hardened = example.clone();
    hardened["id"] = json!("authorizationPolicy-hardened");
    hardened["allowInvitesFrom"] = json!("adminsAndGuestInviters");
    hardened["guestUserRoleId"] = json!("2af84b1e-32c8-42b7-82bc-daa82404023b");
    hardened["defaultUserRolePermissions"]["allowedToCreateApps"] = json!(false);
    hardened["defaultUserRolePermissions"]["allowedToCreateTenants"] = json!(false);
    let mut d = Vec::new();
    d.extend(docs(TENANT, "azure.entra.authorization_policy", &example));
    d.extend(docs(
        "tenant-2",
        "azure.entra.authorization_policy",
        &hardened,
    ));
    d.extend(docs(
        TENANT,
        "azure.entra.user",
        &read("graph-examples/user-list.json"),
    ));
    let inv = Inventory::from_docs(d);
    let opts = AssessOptions {
        now: NOW,
        known_identities: Some(vec!["adams@contoso.com".into()]),
        ..Default::default()
    };
    let a = assess(&inv, &[], &Registry::builtin(), &opts);
    let mut m = BTreeMap::new();
    for f in &a.findings {
        m.insert(
            (
                f.check_id.to_string(),
                format!("{}:{}", f.resource.account, f.resource.id),
            ),
            f.status,
        );
    }
    let mut exp = Vec::new();
    for c in [
        "entra_policy_ensure_default_user_cannot_create_tenants",
        "entra_policy_ensure_default_user_cannot_create_apps",
        "entra_policy_guest_users_access_restrictions",
        "entra_policy_guest_invite_only_for_admin_roles",
    ] {
        exp.push((c, "tenant-1:authorizationPolicy", Fail));
        exp.push((c, "tenant-2:authorizationPolicy-hardened", Pass));
    }
    let users: Vec<_> = a
        .findings
        .iter()
        .filter(|f| &*f.check_id == "trustplane_azure_identity_unmapped")
        .collect();
    assert_eq!(users.len(), 2);
    let by_upn: BTreeMap<String, Status> = users
        .iter()
        .map(|f| {
            (
                f.evidence_value()["candidates"][0]
                    .as_str()
                    .unwrap()
                    .to_string(),
                f.status,
            )
        })
        .collect();
    assert_eq!(by_upn["adams@contoso.com"], Pass);
    assert_eq!(by_upn["admin@contoso.com"], Fail);
    for (c, k, s) in &exp {
        assert_eq!(m.get(&(c.to_string(), k.to_string())), Some(s), "{c} {k}");
    }
    assert_eq!(
        a.findings
            .iter()
            .filter(|f| f.check_id.starts_with("entra_policy"))
            .count(),
        8
    );
}

const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const UAA: &str = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";

/// A role assignment derived from Microsoft's RoleAssignments_ListForSubscription item.
fn assignment(n: usize, role: &str, principal: &str) -> Value {
    let mut a =
        arm("Microsoft.Authorization/RoleAssignments_ListForSubscription.json")["value"][0].clone();
    a["name"] = json!(format!("ra-{n}"));
    a["id"] = json!(format!("/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/providers/Microsoft.Authorization/roleAssignments/ra-{n}"));
    a["properties"]["roleDefinitionId"] = json!(format!("/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/providers/Microsoft.Authorization/roleDefinitions/{role}"));
    a["properties"]["principalId"] = json!(principal);
    a
}

#[test]
fn privileged_role_assignments_permanent_or_eligible() {
    let sub = "a925f2f7-5c63-4b7b-8799-25a5f97bc3b2";
    let scope = format!("/subscriptions/{sub}");
    let mut d = Vec::new();
    // The example itself (a non-privileged role) and four derived privileged assignments.
    d.extend(docs(
        sub,
        "azure.authorization.role_assignment",
        &arm("Microsoft.Authorization/RoleAssignments_ListForSubscription.json"),
    ));
    d.extend(docs(
        sub,
        "azure.authorization.role_assignment",
        &assignment(1, OWNER, "p-owner-permanent"),
    ));
    d.extend(docs(
        sub,
        "azure.authorization.role_assignment",
        &assignment(2, CONTRIBUTOR, "p-contributor-activated"),
    ));
    d.extend(docs(
        sub,
        "azure.authorization.role_assignment",
        &assignment(3, UAA, "p-uaa-timebound"),
    ));
    d.extend(docs(
        sub,
        "azure.authorization.role_assignment",
        &assignment(4, OWNER, "p-owner-2"),
    ));
    let instance = |principal: &str, role: &str, kind: &str, end: Value| {
        json!({
            "id": format!("{scope}/providers/Microsoft.Authorization/roleAssignmentScheduleInstances/{principal}"),
            "name": principal,
            "properties": {"scope": scope, "principalId": principal, "principalType": "User",
                "roleDefinitionId": format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
                "assignmentType": kind, "endDateTime": end, "memberType": "Direct", "status": "Provisioned"}
        })
    };
    let t = "azure.authorization.role_assignment_schedule_instance";
    d.extend(docs(
        sub,
        t,
        &instance(
            "p-contributor-activated",
            CONTRIBUTOR,
            "Activated",
            json!("2026-11-28T08:00:00Z"),
        ),
    ));
    d.extend(docs(
        sub,
        t,
        &instance(
            "p-uaa-timebound",
            UAA,
            "Assigned",
            json!("2027-01-01T00:00:00Z"),
        ),
    ));
    d.extend(docs(
        sub,
        t,
        &instance("p-owner-2", OWNER, "Assigned", Value::Null),
    ));
    let inv = Inventory::from_docs(d);
    let r = results(
        &inv,
        &[
            "trustplane_azure_permanent_privileged_assignment",
            "iam_role_user_access_admin_restricted",
            "iam_subscription_owner_count_2_to_3",
        ],
    );
    let k = |n: &str| format!("{sub}:{n}");
    let exp = [
        (
            "trustplane_azure_permanent_privileged_assignment",
            k("ra-1"),
            Fail,
        ),
        (
            "trustplane_azure_permanent_privileged_assignment",
            k("ra-2"),
            Pass,
        ),
        (
            "trustplane_azure_permanent_privileged_assignment",
            k("ra-3"),
            Pass,
        ),
        (
            "trustplane_azure_permanent_privileged_assignment",
            k("ra-4"),
            Fail,
        ),
        ("iam_role_user_access_admin_restricted", k(sub), Fail),
        ("iam_subscription_owner_count_2_to_3", k(sub), Pass),
    ];
    let exp: Vec<(&str, &str, Status)> = exp.iter().map(|(a, b, s)| (*a, b.as_str(), *s)).collect();
    assert_exact(r, &exp);
}

#[test]
fn azure_collection_error_turns_controls_into_error() {
    let mut d = docs(
        "sub-arm",
        "azure.storage.account",
        &arm("Microsoft.Storage/StorageAccountList.json"),
    );
    d.push(ResourceDoc::collection_error(
        trustplane_posture::Provider::Azure,
        "sub-err",
        "global",
        "Microsoft.Storage",
        &["azure.storage.account"],
        "429 Too Many Requests after retries",
        None,
    ));
    let inv = Inventory::from_docs(d);
    let r = results(&inv, &["storage_secure_transfer_required_is_enabled"]);
    assert_eq!(
        r.get(&(
            "storage_secure_transfer_required_is_enabled".into(),
            "sub-err:sub-err".into()
        )),
        Some(&Error)
    );
    assert_eq!(r.values().filter(|s| **s == Fail).count(), 6);
}

#[test]
fn custom_subscription_administrator_roles() {
    let example = arm("Microsoft.Authorization/GetRoleDefinitionById.json");
    // The example's type is a placeholder ("roletype"): not a custom role, no finding.
    let mut custom_narrow = example.clone();
    custom_narrow["name"] = json!("reader-plus");
    custom_narrow["id"] =
        json!("/subscriptions/subId/providers/Microsoft.Authorization/roleDefinitions/reader-plus");
    custom_narrow["properties"]["type"] = json!("CustomRole");
    let mut custom_owner = custom_narrow.clone();
    custom_owner["name"] = json!("super-owner");
    custom_owner["id"] =
        json!("/subscriptions/subId/providers/Microsoft.Authorization/roleDefinitions/super-owner");
    custom_owner["properties"]["permissions"][0]["actions"] = json!(["*"]);
    let mut d = docs("sub-rd", "azure.authorization.role_definition", &example);
    d.extend(docs(
        "sub-rd",
        "azure.authorization.role_definition",
        &custom_narrow,
    ));
    d.extend(docs(
        "sub-rd",
        "azure.authorization.role_definition",
        &custom_owner,
    ));
    let inv = Inventory::from_docs(d);
    assert_exact(
        results(&inv, &["iam_subscription_roles_owner_custom_not_created"]),
        &[
            (
                "iam_subscription_roles_owner_custom_not_created",
                "sub-rd:reader-plus",
                Pass,
            ),
            (
                "iam_subscription_roles_owner_custom_not_created",
                "sub-rd:super-owner",
                Fail,
            ),
        ],
    );
}

/// PostgreSQL / MySQL flexible servers and Cosmos DB: no recorded responses exist in the shared
/// data, so these documents are hand-written in the ARM shape (tests/fixtures/azure).
#[test]
fn database_servers_from_hand_written_fixtures() {
    let inv = Inventory::load_dir(&common::fixtures().join("azure")).unwrap();
    let checks: Vec<&str> = trustplane_posture::checks::azure_database::checks()
        .iter()
        .map(|c| c.id)
        .collect();
    let pg = [
        ("postgresql_flexible_server_enforce_ssl_enabled", Pass, Fail),
        ("postgresql_flexible_server_log_checkpoints_on", Pass, Fail),
        // pg-bad never had its throttle parameter collected: ERROR, not a guess.
        (
            "postgresql_flexible_server_connection_throttling_on",
            Pass,
            Error,
        ),
        (
            "postgresql_flexible_server_log_retention_days_greater_3",
            Pass,
            Fail,
        ),
        ("postgresql_flexible_server_log_connections_on", Pass, Fail),
        (
            "postgresql_flexible_server_log_disconnections_on",
            Pass,
            Fail,
        ),
        (
            "postgresql_flexible_server_allow_access_services_disabled",
            Pass,
            Fail,
        ),
    ];
    let my = [
        ("mysql_flexible_server_ssl_connection_enabled", Pass, Fail),
        ("mysql_flexible_server_minimum_tls_version_12", Pass, Fail),
        ("mysql_flexible_server_audit_log_enabled", Pass, Fail),
        (
            "mysql_flexible_server_audit_log_connection_activated",
            Pass,
            Fail,
        ),
    ];
    let mut exp: Vec<(&str, &str, Status)> = Vec::new();
    for (c, good, bad) in pg {
        exp.push((c, "sub-db:pg-good", good));
        exp.push((c, "sub-db:pg-bad", bad));
    }
    for (c, good, bad) in my {
        exp.push((c, "sub-db:my-good", good));
        exp.push((c, "sub-db:my-bad", bad));
    }
    for c in [
        "cosmosdb_account_firewall_use_selected_networks",
        "cosmosdb_account_use_private_endpoints",
    ] {
        exp.push((c, "sub-db:cosmos-good", Pass));
        exp.push((c, "sub-db:cosmos-open", Fail));
    }
    assert_exact(results(&inv, &checks), &exp);
}

/// CIS Azure 6.0 additions (gateways, WAF, VPN, Databricks, MFA registration, Defender
/// assessments): hand-written ARM / Graph shaped documents (tests/fixtures/azure/gateways.ndjson).
#[test]
fn azure_6_gateways_databricks_mfa_and_assessments() {
    let inv = Inventory::load_dir(&common::fixtures().join("azure")).unwrap();
    let mut checks: Vec<&str> = Vec::new();
    for list in [
        trustplane_posture::checks::azure_gateway::checks(),
        trustplane_posture::checks::azure_databricks::checks(),
        trustplane_posture::checks::azure_assessments::checks(),
    ] {
        checks.extend(list.iter().map(|c| c.id));
    }
    checks.extend([
        "entra_privileged_user_has_mfa",
        "entra_non_privileged_user_has_mfa",
    ]);
    let mut exp: Vec<(&str, &str, Status)> = vec![
        ("network_appgw_waf_enabled", "sub-gw:agw-good", Pass),
        ("network_appgw_waf_enabled", "sub-gw:agw-legacy", Fail),
        ("network_appgw_min_tls_12", "sub-gw:agw-good", Pass),
        ("network_appgw_min_tls_12", "sub-gw:agw-legacy", Fail),
        ("network_appgw_http2_enabled", "sub-gw:agw-good", Pass),
        ("network_appgw_http2_enabled", "sub-gw:agw-legacy", Fail),
        (
            "network_waf_request_body_inspection_enabled",
            "sub-gw:waf-good",
            Pass,
        ),
        (
            "network_waf_request_body_inspection_enabled",
            "sub-gw:waf-detect",
            Fail,
        ),
        (
            "network_waf_bot_protection_enabled",
            "sub-gw:waf-good",
            Pass,
        ),
        (
            "network_waf_bot_protection_enabled",
            "sub-gw:waf-detect",
            Fail,
        ),
        // The site-to-site-only gateway has no point-to-site configuration: no finding.
        (
            "network_vpn_gateway_entra_auth_only",
            "sub-gw:vpn-entra",
            Pass,
        ),
        (
            "network_vpn_gateway_entra_auth_only",
            "sub-gw:vpn-cert",
            Fail,
        ),
        (
            "entra_privileged_user_has_mfa",
            "tenant-mfa:admin@contoso.com",
            Pass,
        ),
        (
            "entra_privileged_user_has_mfa",
            "tenant-mfa:helpdesk-admin@contoso.com",
            Fail,
        ),
        (
            "entra_non_privileged_user_has_mfa",
            "tenant-mfa:Adams@contoso.com",
            Fail,
        ),
        // Defender assessments: NotApplicable and unrelated assessments give no finding.
        (
            "defender_ensure_system_updates_are_applied",
            "sub-gw:vm1-system-updates",
            Fail,
        ),
        (
            "defender_ensure_system_updates_are_applied",
            "sub-gw:vm2-system-updates",
            Pass,
        ),
        (
            "defender_assessments_vm_endpoint_protection_installed",
            "sub-gw:vm1-endpoint",
            Pass,
        ),
        // Subnet NSGs: both subnets have one / one has none / the VNet was not collected; the
        // workspace in a managed VNet has nothing to check.
        (
            "databricks_workspace_subnets_have_nsg",
            "sub-gw:dbw-good",
            Pass,
        ),
        (
            "databricks_workspace_subnets_have_nsg",
            "sub-gw:dbw-halfnsg",
            Fail,
        ),
        (
            "databricks_workspace_subnets_have_nsg",
            "sub-gw:dbw-lostvnet",
            Error,
        ),
    ];
    // Databricks workspaces: vnet injection, no public IP, public access disabled, private
    // endpoints, diagnostic logs.
    for (ws, vnet, no_ip, no_public, pe, logs) in [
        ("sub-gw:dbw-good", Pass, Pass, Pass, Pass, Pass),
        ("sub-gw:dbw-default", Fail, Fail, Fail, Fail, Fail),
        ("sub-gw:dbw-halfnsg", Pass, Pass, Pass, Fail, Fail),
        ("sub-gw:dbw-lostvnet", Pass, Pass, Fail, Fail, Fail),
    ] {
        exp.push(("databricks_workspace_vnet_injection_enabled", ws, vnet));
        exp.push(("databricks_workspace_no_public_ip_enabled", ws, no_ip));
        exp.push((
            "databricks_workspace_public_network_access_disabled",
            ws,
            no_public,
        ));
        exp.push(("databricks_workspace_private_endpoints", ws, pe));
        exp.push(("databricks_workspace_diagnostic_logs_enabled", ws, logs));
    }
    assert_exact(results(&inv, &checks), &exp);
}
