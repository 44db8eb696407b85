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
    assert_exact(results(&inv, &checks), &[
        ("defender_ensure_defender_for_server_is_on", "sub-arm:VirtualMachines", Pass),
        ("defender_ensure_defender_for_app_services_is_on", "sub-arm:AppServices", Fail),
        ("defender_ensure_defender_for_containers_is_on", "sub-arm:Containers", Pass),
        ("defender_ensure_defender_for_cosmosdb_is_on", "sub-arm:sub-arm", Fail),
        ("defender_ensure_defender_for_os_relational_databases_is_on", "sub-arm:OpenSourceRelationalDatabases", Fail),
        ("defender_ensure_defender_cspm_is_on", "sub-arm:CloudPosture", Pass),
        ("defender_ensure_defender_for_apis_is_on", "sub-arm:sub-arm", Fail),
        ("defender_containers_agentless_discovery_on", "sub-arm:Containers", Fail),
        ("defender_containers_vulnerability_assessment_on", "sub-arm:Containers", Pass),
        ("defender_ensure_notify_emails_to_owners", "sub-arm:default", Pass),
        ("defender_additional_email_configured_with_a_security_contact", "sub-arm:default", Pass),
        ("defender_ensure_notify_alerts_severity_is_high", "sub-arm:default", Pass),
        ("defender_attack_path_notifications_properly_configured", "sub-arm:default", Fail),
        ("defender_auto_provisioning_log_analytics_agent_vms_on", "sub-arm:default", Pass),
        // cloud-custodian's recording: older api-versions, other tiers, Admin-only contact.
        ("defender_ensure_defender_for_server_is_on", "sub-c7n:VirtualMachines", Pass),
        ("defender_ensure_defender_for_app_services_is_on", "sub-c7n:AppServices", Pass),
        ("defender_ensure_defender_for_containers_is_on", "sub-c7n:Containers", Fail),
        ("defender_ensure_defender_for_cosmosdb_is_on", "sub-c7n:sub-c7n", Fail),
        ("defender_ensure_defender_for_os_relational_databases_is_on", "sub-c7n:OpenSourceRelationalDatabases", Fail),
        ("defender_ensure_defender_cspm_is_on", "sub-c7n:sub-c7n", Fail),
        ("defender_ensure_defender_for_apis_is_on", "sub-c7n:sub-c7n", Fail),
        ("defender_containers_agentless_discovery_on", "sub-c7n:Containers", Fail),
        ("defender_containers_vulnerability_assessment_on", "sub-c7n:Containers", Fail),
        ("defender_ensure_notify_emails_to_owners", "sub-c7n:default1", Fail),
        ("defender_additional_email_configured_with_a_security_contact", "sub-c7n:default1", Pass),
        ("defender_ensure_notify_alerts_severity_is_high", "sub-c7n:default1", Fail),
        ("defender_attack_path_notifications_properly_configured", "sub-c7n:default1", Fail),
        ("defender_auto_provisioning_log_analytics_agent_vms_on", "sub-c7n:default", Pass),
    ]);
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
    d.extend(docs("sub-arm", "azure.storage.account", &arm("Microsoft.Storage/StorageAccountList.json")));
    d.extend(docs(C7N_SUB, "azure.storage.account", &cassette("StorageTest.test_storage_blob_services.json", 0)));
    d.extend(docs(C7N_SUB, "azure.storage.account", &good_storage_account()));
    d.extend(docs("sub-arm", "azure.storage.blob_service", &arm("Microsoft.Storage/BlobServicesGet.json")));
    d.extend(docs(C7N_SUB, "azure.storage.blob_service", &cassette("StorageTest.test_storage_blob_services.json", 1)));
    let inv = Inventory::from_docs(d);
    let r = results(&inv, &[
        "storage_secure_transfer_required_is_enabled",
        "storage_ensure_minimum_tls_version_12",
        "storage_blob_public_access_level_is_disabled",
        "storage_default_network_access_rule_is_denied",
        "storage_key_rotation_90_days",
        "storage_geo_redundant_enabled",
        "storage_blob_soft_delete_enabled",
        "storage_container_soft_delete_enabled",
        "storage_blob_versioning_is_enabled",
    ]);
    let arm_accounts = ["sto1125", "sto3699", "sto8596", "sto6637", "sto834", "sto9174"];
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
        put("storage_key_rotation_90_days", &k, if n == "stgood" { Pass } else { Fail });
        put("storage_geo_redundant_enabled", &k, geo);
    }
    // Blob services: Microsoft's example has blob soft delete and versioning but no container
    // soft delete; the recording has blob soft delete only.
    put("storage_blob_soft_delete_enabled", "sub-arm:default", Pass);
    put("storage_container_soft_delete_enabled", "sub-arm:default", Fail);
    put("storage_blob_versioning_is_enabled", "sub-arm:default", Pass);
    put("storage_blob_soft_delete_enabled", "sub-c7n:default", Pass);
    put("storage_container_soft_delete_enabled", "sub-c7n:default", Fail);
    put("storage_blob_versioning_is_enabled", "sub-c7n:default", Fail);
    let exp: Vec<(&str, &str, Status)> = exp.iter().map(|(a, b, s)| (a.as_str(), b.as_str(), *s)).collect();
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
    assert_eq!(r.keys().filter(|(_, k)| k == "sub-c7n:stgood").count(), all.len());
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
    d.extend(docs("sub-kv", "azure.keyvault.vault", &arm("Microsoft.KeyVault/getVault.json")));
    d.extend(docs("sub-kv2", "azure.keyvault.vault", &arm("Microsoft.KeyVault/listVaultByResourceGroup.json")));
    d.extend(docs(C7N_SUB, "azure.keyvault.vault", &cassette("KeyVaultTest.test_whitelist.json", 0)));
    // Microsoft's listKeys belongs to `sample-vault-name` in `sample-group`: an access-policy
    // vault derived from the example; plus a hardened RBAC vault with one good key and one
    // secret without expiry.
    d.extend(docs("sub-kv", "azure.keyvault.vault", &vault("sample-vault-name", "sample-group", false, false)));
    d.extend(docs("sub-kv", "azure.keyvault.vault", &vault("kv-good", "rg", true, true)));
    d.extend(docs("sub-kv", "azure.keyvault.key", &arm("Microsoft.KeyVault/listKeys.json")));
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
    let r = results(&inv, &[
        "keyvault_rbac_enabled",
        "keyvault_recoverable",
        "keyvault_public_network_access_disabled",
        "keyvault_rbac_key_expiration_set",
        "keyvault_key_expiration_set_in_non_rbac",
        "keyvault_rbac_secret_expiration_set",
        "keyvault_key_rotation_enabled",
    ]);
    assert_exact(r, &[
        // getVault: access policies, no purge protection, public access enabled.
        ("keyvault_rbac_enabled", "sub-kv:sample-vault", Fail),
        ("keyvault_recoverable", "sub-kv:sample-vault", Fail),
        ("keyvault_public_network_access_disabled", "sub-kv:sample-vault", Fail),
        // listVaultByResourceGroup: soft delete on, purge protection not set.
        ("keyvault_rbac_enabled", "sub-kv2:sample-vault", Fail),
        ("keyvault_recoverable", "sub-kv2:sample-vault", Fail),
        ("keyvault_public_network_access_disabled", "sub-kv2:sample-vault", Fail),
        ("keyvault_rbac_enabled", "sub-kv:sample-vault-name", Fail),
        ("keyvault_recoverable", "sub-kv:sample-vault-name", Fail),
        ("keyvault_public_network_access_disabled", "sub-kv:sample-vault-name", Fail),
        ("keyvault_rbac_enabled", "sub-kv:kv-good", Pass),
        ("keyvault_recoverable", "sub-kv:kv-good", Pass),
        ("keyvault_public_network_access_disabled", "sub-kv:kv-good", Pass),
        ("keyvault_rbac_enabled", "sub-c7n:cckeyvault1yghq6zt4ewg2e", Fail),
        ("keyvault_recoverable", "sub-c7n:cckeyvault1yghq6zt4ewg2e", Fail),
        ("keyvault_public_network_access_disabled", "sub-c7n:cckeyvault1yghq6zt4ewg2e", Fail),
        ("keyvault_key_expiration_set_in_non_rbac", "sub-kv:sample-key-name-1", Fail),
        ("keyvault_key_expiration_set_in_non_rbac", "sub-kv:sample-key-name-2", Fail),
        ("keyvault_rbac_key_expiration_set", "sub-kv:rotating", Pass),
        ("keyvault_rbac_key_expiration_set", "sub-kv:orphan", Error),
        ("keyvault_rbac_secret_expiration_set", "sub-kv:db-password", Fail),
        ("keyvault_key_rotation_enabled", "sub-kv:sample-key-name-1", Fail),
        ("keyvault_key_rotation_enabled", "sub-kv:sample-key-name-2", Fail),
        ("keyvault_key_rotation_enabled", "sub-kv:rotating", Pass),
        ("keyvault_key_rotation_enabled", "sub-kv:orphan", Fail),
    ]);
}
