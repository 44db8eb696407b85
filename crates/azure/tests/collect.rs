//! The collector against a local stand-in for Entra ID, Resource Manager and Microsoft Graph
//! that serves Microsoft's example responses (see `server`), then CIS Azure 3.0 over what it
//! collected, asserted exactly.
#![allow(clippy::unwrap_used, clippy::panic)]

mod server;

use std::collections::BTreeMap;
use std::time::Duration;

use trustplane_azure::{collect, AzureError, Credential, Options, ResourceDoc};
use trustplane_posture::{assess, AssessOptions, Benchmark, Inventory, Registry, Status};

use server::{Mode, SUB_A, SUB_B, TENANT};

/// 2026-11-28T00:00:00Z.
const NOW: i64 = 1_795_824_000;

fn options(base: &str, credential: Credential) -> Options {
    let mut o = Options::new(credential);
    o.arm_endpoint = base.to_string();
    o.graph_endpoint = base.to_string();
    o.login_endpoint = base.to_string();
    o.max_retry_wait = Duration::from_millis(50);
    o.timeout = Duration::from_secs(20);
    o
}

fn sp() -> Credential {
    Credential::ClientSecret {
        tenant_id: TENANT.to_string(),
        client_id: "app-1".to_string(),
        client_secret: "s3cret+/=".to_string(),
    }
}

fn token() -> Credential {
    Credential::Token {
        arm: server::ARM_TOKEN.to_string(),
        graph: Some(server::GRAPH_TOKEN.to_string()),
    }
}

fn of_type<'a>(docs: &'a [ResourceDoc], t: &str) -> Vec<&'a ResourceDoc> {
    docs.iter().filter(|d| d.resource_type == t).collect()
}

fn short(account: &str) -> &str {
    &account[..8.min(account.len())]
}

/// (CIS 3.0 control, check, "account:resource") -> statuses, for PASS / FAIL / ERROR.
fn cis_results(docs: Vec<ResourceDoc>) -> BTreeMap<(String, String, String), Vec<Status>> {
    let path = server::data_dir().join("../cis/cis_3.0_azure.json");
    let bench = Benchmark::load(&path).unwrap();
    let inv = Inventory::from_docs(docs);
    let opts = AssessOptions {
        now: NOW,
        ..Default::default()
    };
    let a = assess(&inv, &[bench], &Registry::builtin(), &opts);
    let mut m: BTreeMap<(String, String, String), Vec<Status>> = BTreeMap::new();
    for f in &a.findings {
        if f.status == Status::Manual {
            continue;
        }
        for c in f.controls.iter() {
            let key = (
                c.id.clone(),
                f.check_id.to_string(),
                format!("{}:{}", short(&f.resource.account), f.resource.name),
            );
            m.entry(key).or_default().push(f.status);
        }
    }
    for v in m.values_mut() {
        v.sort_by_key(|s| s.as_str());
    }
    m
}

/// Checks that CIS Azure 3.0 does not map (identity, Trustplane's own), by check id.
const OTHER_CHECKS: &[&str] = &[
    "entra_privileged_user_has_mfa",
    "entra_non_privileged_user_has_mfa",
    "entra_security_defaults_enabled",
    "iam_role_user_access_admin_restricted",
    "iam_subscription_owner_count_2_to_3",
    "iam_subscription_roles_owner_custom_not_created",
    "trustplane_azure_permanent_privileged_assignment",
];

/// (check, "account:resource") -> statuses for the given checks, without benchmarks.
fn check_results(docs: &[ResourceDoc], checks: &[&str]) -> BTreeMap<(String, String), Vec<Status>> {
    let inv = Inventory::from_docs(docs.to_vec());
    let opts = AssessOptions {
        now: NOW,
        ..Default::default()
    };
    let a = assess(&inv, &[], &Registry::builtin(), &opts);
    let mut m: BTreeMap<(String, String), Vec<Status>> = BTreeMap::new();
    for f in a.findings.iter().filter(|f| checks.contains(&&*f.check_id)) {
        let key = (
            f.check_id.to_string(),
            format!("{}:{}", short(&f.resource.account), f.resource.name),
        );
        m.entry(key).or_default().push(f.status);
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collects_examples_and_assesses_cis_azure_3() {
    let srv = server::start(Mode {
        throttle_pricings: true,
        ..Default::default()
    })
    .await;
    let docs = collect(&options(&srv.base, sp())).await.unwrap();

    // Client credentials: one token per scope, with the form fields of RFC 6749 4.4.
    let forms = srv.token_forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 2);
    let scopes: Vec<&str> = forms.iter().map(|f| f["scope"].as_str()).collect();
    assert_eq!(
        scopes,
        [
            "https://management.azure.com/.default",
            "https://graph.microsoft.com/.default"
        ]
    );
    for f in &forms {
        assert_eq!(f["grant_type"], "client_credentials");
        assert_eq!(f["client_id"], "app-1");
        assert_eq!(f["client_secret"], "s3cret+/=");
        assert_eq!(f.len(), 4);
    }
    assert_eq!(srv.hits(&format!("/{TENANT}/oauth2/v2.0/token")), 2);

    // 429 with Retry-After: retried once, then served.
    let pricings = format!("/subscriptions/{SUB_A}/providers/Microsoft.Security/pricings");
    assert_eq!(srv.hits(&pricings), 2);
    let a_pricings = of_type(&docs, "azure.security.pricing")
        .into_iter()
        .filter(|d| d.account == SUB_A)
        .count();
    assert_eq!(a_pricings, 13);

    // Paging: subscriptions, storage accounts (ARM nextLink) and users (@odata.nextLink).
    let subs: Vec<&str> = of_type(&docs, trustplane_azure::SUBSCRIPTION)
        .iter()
        .map(|d| d.account.as_str())
        .collect();
    assert_eq!(subs, [SUB_A, SUB_B]);
    assert_eq!(srv.hits("/subscriptions"), 2);
    let storage: Vec<&str> = of_type(&docs, "azure.storage.account")
        .iter()
        .filter(|d| d.account == SUB_A)
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(
        storage,
        ["sto1125", "sto3699", "sto8596", "sto6637", "sto834", "sto9174"]
    );
    let users: Vec<(&str, &str)> = of_type(&docs, "azure.entra.user")
        .iter()
        .map(|d| (d.account.as_str(), d.name.as_str()))
        .collect();
    assert_eq!(
        users,
        [(TENANT, "Adams@contoso.com"), (TENANT, "admin@contoso.com")]
    );

    // Children keep the id of the parent they were listed under.
    let blob = of_type(&docs, "azure.storage.blob_service");
    assert_eq!(blob.len(), 8);
    assert!(blob.iter().any(|d| d.id
        == "/subscriptions/{subscription-id}/resourceGroups/res2627/providers/Microsoft.Storage/storageAccounts/sto1125/blobServices/default"));
    let keys: Vec<&str> = of_type(&docs, "azure.keyvault.key")
        .iter()
        .filter(|d| d.account == SUB_A)
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(keys, [
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sample-group/providers/Microsoft.KeyVault/vaults/sample-vault/keys/sample-key-name-1",
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sample-group/providers/Microsoft.KeyVault/vaults/sample-vault/keys/sample-key-name-2",
    ]);

    // Virtual network gateways are listed per resource group.
    assert_eq!(
        srv.hits(&format!(
            "/subscriptions/{SUB_A}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworkGateways"
        )),
        1
    );

    // The only failed call: Graph's registration details (no Entra ID P1/P2 licence).
    let errors = of_type(&docs, "collection_error");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].account, TENANT);
    assert_eq!(
        errors[0].raw["resource_types"],
        serde_json::json!(["azure.entra.user_registration_details"])
    );
    let msg = errors[0].raw["message"].as_str().unwrap();
    assert!(
        msg.starts_with("GET /v1.0/reports/authenticationMethods/userRegistrationDetails: HTTP 403: Authentication_RequestFromNonPremiumTenantOrB2CTenant"),
        "{msg}"
    );

    let by_check = check_results(&docs, OTHER_CHECKS);
    if std::env::var_os("TP_PRINT").is_some() {
        for ((k, r), st) in &by_check {
            println!(
                "OTHER ({k:?}, {r:?}, &[{}]),",
                st.iter()
                    .map(|x| format!("{x:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let want_other: BTreeMap<(String, String), Vec<Status>> = OTHER
        .iter()
        .map(|(k, r, s)| ((k.to_string(), r.to_string()), s.to_vec()))
        .collect();
    assert_eq!(by_check, want_other);

    let got = cis_results(docs);
    if std::env::var_os("TP_PRINT").is_some() {
        for ((c, k, r), s) in &got {
            println!(
                "    ({c:?}, {k:?}, {r:?}, &[{}]),",
                s.iter()
                    .map(|x| format!("{x:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let want: BTreeMap<(String, String, String), Vec<Status>> = EXPECTED
        .iter()
        .map(|(c, k, r, s)| ((c.to_string(), k.to_string(), r.to_string()), s.to_vec()))
        .collect();
    for (k, v) in &want {
        assert_eq!(got.get(k), Some(v), "{k:?}");
    }
    for (k, v) in &got {
        assert_eq!(want.get(k), Some(v), "unexpected {k:?}");
    }
}

use Status::{Error, Fail, Pass};

type Row = (&'static str, &'static str, &'static str, &'static [Status]);

/// Generated with TP_PRINT=1 and checked against the checks' logic and the served data.
#[rustfmt::skip]
const EXPECTED: &[Row] = &[
    ("2.14", "entra_policy_ensure_default_user_cannot_create_apps", "31c75423:Authorization Policy", &[Fail]),
    ("2.15", "entra_policy_guest_users_access_restrictions", "31c75423:Authorization Policy", &[Fail]),
    ("2.16", "entra_policy_guest_invite_only_for_admin_roles", "31c75423:Authorization Policy", &[Fail]),
    ("2.3", "entra_policy_ensure_default_user_cannot_create_tenants", "31c75423:Authorization Policy", &[Fail]),
    ("3.1.1.1", "defender_auto_provisioning_log_analytics_agent_vms_on", "291bba3f:default", &[Pass]),
    ("3.1.12", "defender_ensure_notify_emails_to_owners", "291bba3f:default", &[Pass]),
    ("3.1.12", "defender_ensure_notify_emails_to_owners", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.1.13", "defender_additional_email_configured_with_a_security_contact", "291bba3f:default", &[Pass]),
    ("3.1.13", "defender_additional_email_configured_with_a_security_contact", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.1.14", "defender_ensure_notify_alerts_severity_is_high", "291bba3f:default", &[Pass]),
    ("3.1.14", "defender_ensure_notify_alerts_severity_is_high", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.1.16", "defender_ensure_defender_for_dns_is_on", "291bba3f:Dns", &[Pass]),
    ("3.1.16", "defender_ensure_defender_for_dns_is_on", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.1.3.1", "defender_ensure_defender_for_server_is_on", "291bba3f:VirtualMachines", &[Pass]),
    ("3.1.3.1", "defender_ensure_defender_for_server_is_on", "72ac930a:VirtualMachines", &[Fail]),
    ("3.1.4.1", "defender_ensure_defender_for_containers_is_on", "291bba3f:Containers", &[Pass]),
    ("3.1.4.1", "defender_ensure_defender_for_containers_is_on", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.1.4.2", "defender_containers_agentless_discovery_on", "291bba3f:Containers", &[Fail]),
    ("3.1.4.2", "defender_containers_agentless_discovery_on", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.1.4.3", "defender_containers_vulnerability_assessment_on", "291bba3f:Containers", &[Pass]),
    ("3.1.4.3", "defender_containers_vulnerability_assessment_on", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.1.5.1", "defender_ensure_defender_for_storage_is_on", "291bba3f:StorageAccounts", &[Pass]),
    ("3.1.5.1", "defender_ensure_defender_for_storage_is_on", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.1.6.1", "defender_ensure_defender_for_app_services_is_on", "291bba3f:AppServices", &[Fail]),
    ("3.1.6.1", "defender_ensure_defender_for_app_services_is_on", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.1.7.1", "defender_ensure_defender_for_cosmosdb_is_on", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Fail]),
    ("3.1.7.1", "defender_ensure_defender_for_cosmosdb_is_on", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.1.7.2", "defender_ensure_defender_for_os_relational_databases_is_on", "291bba3f:OpenSourceRelationalDatabases", &[Fail]),
    ("3.1.7.2", "defender_ensure_defender_for_os_relational_databases_is_on", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.1.7.3", "defender_ensure_defender_for_azure_sql_databases_is_on", "291bba3f:SqlServers", &[Pass]),
    ("3.1.7.3", "defender_ensure_defender_for_azure_sql_databases_is_on", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.1.7.4", "defender_ensure_defender_for_sql_servers_is_on", "291bba3f:SqlServerVirtualMachines", &[Pass]),
    ("3.1.7.4", "defender_ensure_defender_for_sql_servers_is_on", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.1.8.1", "defender_ensure_defender_for_keyvault_is_on", "291bba3f:KeyVaults", &[Pass]),
    ("3.1.8.1", "defender_ensure_defender_for_keyvault_is_on", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.1.9.1", "defender_ensure_defender_for_arm_is_on", "291bba3f:Arm", &[Pass]),
    ("3.1.9.1", "defender_ensure_defender_for_arm_is_on", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("3.3.1", "keyvault_rbac_key_expiration_set", "72ac930a:sample-key-name-1", &[Pass]),
    ("3.3.1", "keyvault_rbac_key_expiration_set", "72ac930a:sample-key-name-2", &[Fail]),
    ("3.3.2", "keyvault_key_expiration_set_in_non_rbac", "291bba3f:sample-key-name-1", &[Fail]),
    ("3.3.2", "keyvault_key_expiration_set_in_non_rbac", "291bba3f:sample-key-name-2", &[Fail]),
    ("3.3.3", "keyvault_rbac_secret_expiration_set", "72ac930a:db-password", &[Fail]),
    ("3.3.5", "keyvault_recoverable", "291bba3f:sample-vault", &[Fail]),
    ("3.3.5", "keyvault_recoverable", "72ac930a:kv-rbac", &[Pass]),
    ("3.3.6", "keyvault_rbac_enabled", "291bba3f:sample-vault", &[Fail]),
    ("3.3.6", "keyvault_rbac_enabled", "72ac930a:kv-rbac", &[Pass]),
    ("3.3.7", "keyvault_private_endpoints", "291bba3f:sample-vault", &[Fail]),
    ("3.3.7", "keyvault_private_endpoints", "72ac930a:kv-rbac", &[Fail]),
    ("3.3.8", "keyvault_key_rotation_enabled", "291bba3f:sample-key-name-1", &[Fail]),
    ("3.3.8", "keyvault_key_rotation_enabled", "291bba3f:sample-key-name-2", &[Fail]),
    ("3.3.8", "keyvault_key_rotation_enabled", "72ac930a:sample-key-name-1", &[Pass]),
    ("3.3.8", "keyvault_key_rotation_enabled", "72ac930a:sample-key-name-2", &[Fail]),
    ("4.1", "storage_secure_transfer_required_is_enabled", "291bba3f:sto1125", &[Fail]),
    ("4.1", "storage_secure_transfer_required_is_enabled", "291bba3f:sto3699", &[Fail]),
    ("4.1", "storage_secure_transfer_required_is_enabled", "291bba3f:sto6637", &[Fail]),
    ("4.1", "storage_secure_transfer_required_is_enabled", "291bba3f:sto834", &[Fail]),
    ("4.1", "storage_secure_transfer_required_is_enabled", "291bba3f:sto8596", &[Fail]),
    ("4.1", "storage_secure_transfer_required_is_enabled", "291bba3f:sto9174", &[Fail]),
    ("4.1", "storage_secure_transfer_required_is_enabled", "72ac930a:stobad", &[Fail]),
    ("4.1", "storage_secure_transfer_required_is_enabled", "72ac930a:stogood", &[Pass]),
    ("4.10", "storage_ensure_soft_delete_is_enabled", "291bba3f:default", &[Fail, Fail, Fail, Fail, Fail, Fail]),
    ("4.10", "storage_ensure_soft_delete_is_enabled", "72ac930a:default", &[Fail, Pass]),
    ("4.15", "storage_ensure_minimum_tls_version_12", "291bba3f:sto1125", &[Fail]),
    ("4.15", "storage_ensure_minimum_tls_version_12", "291bba3f:sto3699", &[Fail]),
    ("4.15", "storage_ensure_minimum_tls_version_12", "291bba3f:sto6637", &[Fail]),
    ("4.15", "storage_ensure_minimum_tls_version_12", "291bba3f:sto834", &[Fail]),
    ("4.15", "storage_ensure_minimum_tls_version_12", "291bba3f:sto8596", &[Fail]),
    ("4.15", "storage_ensure_minimum_tls_version_12", "291bba3f:sto9174", &[Fail]),
    ("4.15", "storage_ensure_minimum_tls_version_12", "72ac930a:stobad", &[Fail]),
    ("4.15", "storage_ensure_minimum_tls_version_12", "72ac930a:stogood", &[Pass]),
    ("4.16", "storage_cross_tenant_replication_disabled", "291bba3f:sto1125", &[Fail]),
    ("4.16", "storage_cross_tenant_replication_disabled", "291bba3f:sto3699", &[Fail]),
    ("4.16", "storage_cross_tenant_replication_disabled", "291bba3f:sto6637", &[Fail]),
    ("4.16", "storage_cross_tenant_replication_disabled", "291bba3f:sto834", &[Fail]),
    ("4.16", "storage_cross_tenant_replication_disabled", "291bba3f:sto8596", &[Fail]),
    ("4.16", "storage_cross_tenant_replication_disabled", "291bba3f:sto9174", &[Fail]),
    ("4.16", "storage_cross_tenant_replication_disabled", "72ac930a:stobad", &[Fail]),
    ("4.16", "storage_cross_tenant_replication_disabled", "72ac930a:stogood", &[Pass]),
    ("4.17", "storage_blob_public_access_level_is_disabled", "291bba3f:sto1125", &[Fail]),
    ("4.17", "storage_blob_public_access_level_is_disabled", "291bba3f:sto3699", &[Fail]),
    ("4.17", "storage_blob_public_access_level_is_disabled", "291bba3f:sto6637", &[Fail]),
    ("4.17", "storage_blob_public_access_level_is_disabled", "291bba3f:sto834", &[Fail]),
    ("4.17", "storage_blob_public_access_level_is_disabled", "291bba3f:sto8596", &[Fail]),
    ("4.17", "storage_blob_public_access_level_is_disabled", "291bba3f:sto9174", &[Fail]),
    ("4.17", "storage_blob_public_access_level_is_disabled", "72ac930a:stobad", &[Fail]),
    ("4.17", "storage_blob_public_access_level_is_disabled", "72ac930a:stogood", &[Pass]),
    ("4.2", "storage_infrastructure_encryption_enabled", "291bba3f:sto1125", &[Fail]),
    ("4.2", "storage_infrastructure_encryption_enabled", "291bba3f:sto3699", &[Fail]),
    ("4.2", "storage_infrastructure_encryption_enabled", "291bba3f:sto6637", &[Fail]),
    ("4.2", "storage_infrastructure_encryption_enabled", "291bba3f:sto834", &[Fail]),
    ("4.2", "storage_infrastructure_encryption_enabled", "291bba3f:sto8596", &[Fail]),
    ("4.2", "storage_infrastructure_encryption_enabled", "291bba3f:sto9174", &[Fail]),
    ("4.2", "storage_infrastructure_encryption_enabled", "72ac930a:stobad", &[Fail]),
    ("4.2", "storage_infrastructure_encryption_enabled", "72ac930a:stogood", &[Pass]),
    ("4.6", "storage_account_public_network_access_disabled", "291bba3f:sto1125", &[Fail]),
    ("4.6", "storage_account_public_network_access_disabled", "291bba3f:sto3699", &[Fail]),
    ("4.6", "storage_account_public_network_access_disabled", "291bba3f:sto6637", &[Fail]),
    ("4.6", "storage_account_public_network_access_disabled", "291bba3f:sto834", &[Fail]),
    ("4.6", "storage_account_public_network_access_disabled", "291bba3f:sto8596", &[Fail]),
    ("4.6", "storage_account_public_network_access_disabled", "291bba3f:sto9174", &[Fail]),
    ("4.6", "storage_account_public_network_access_disabled", "72ac930a:stobad", &[Fail]),
    ("4.6", "storage_account_public_network_access_disabled", "72ac930a:stogood", &[Pass]),
    ("4.7", "storage_default_network_access_rule_is_denied", "291bba3f:sto1125", &[Fail]),
    ("4.7", "storage_default_network_access_rule_is_denied", "291bba3f:sto3699", &[Fail]),
    ("4.7", "storage_default_network_access_rule_is_denied", "291bba3f:sto6637", &[Fail]),
    ("4.7", "storage_default_network_access_rule_is_denied", "291bba3f:sto834", &[Fail]),
    ("4.7", "storage_default_network_access_rule_is_denied", "291bba3f:sto8596", &[Fail]),
    ("4.7", "storage_default_network_access_rule_is_denied", "291bba3f:sto9174", &[Fail]),
    ("4.7", "storage_default_network_access_rule_is_denied", "72ac930a:stobad", &[Fail]),
    ("4.7", "storage_default_network_access_rule_is_denied", "72ac930a:stogood", &[Pass]),
    ("4.8", "storage_ensure_azure_services_are_trusted_to_access_is_enabled", "291bba3f:sto1125", &[Fail]),
    ("4.8", "storage_ensure_azure_services_are_trusted_to_access_is_enabled", "291bba3f:sto3699", &[Fail]),
    ("4.8", "storage_ensure_azure_services_are_trusted_to_access_is_enabled", "291bba3f:sto6637", &[Fail]),
    ("4.8", "storage_ensure_azure_services_are_trusted_to_access_is_enabled", "291bba3f:sto834", &[Fail]),
    ("4.8", "storage_ensure_azure_services_are_trusted_to_access_is_enabled", "291bba3f:sto8596", &[Pass]),
    ("4.8", "storage_ensure_azure_services_are_trusted_to_access_is_enabled", "291bba3f:sto9174", &[Fail]),
    ("4.8", "storage_ensure_azure_services_are_trusted_to_access_is_enabled", "72ac930a:stobad", &[Fail]),
    ("4.8", "storage_ensure_azure_services_are_trusted_to_access_is_enabled", "72ac930a:stogood", &[Pass]),
    ("4.9", "storage_ensure_private_endpoints_in_storage_accounts", "291bba3f:sto1125", &[Fail]),
    ("4.9", "storage_ensure_private_endpoints_in_storage_accounts", "291bba3f:sto3699", &[Fail]),
    ("4.9", "storage_ensure_private_endpoints_in_storage_accounts", "291bba3f:sto6637", &[Fail]),
    ("4.9", "storage_ensure_private_endpoints_in_storage_accounts", "291bba3f:sto834", &[Fail]),
    ("4.9", "storage_ensure_private_endpoints_in_storage_accounts", "291bba3f:sto8596", &[Fail]),
    ("4.9", "storage_ensure_private_endpoints_in_storage_accounts", "291bba3f:sto9174", &[Fail]),
    ("4.9", "storage_ensure_private_endpoints_in_storage_accounts", "72ac930a:stobad", &[Fail]),
    ("4.9", "storage_ensure_private_endpoints_in_storage_accounts", "72ac930a:stogood", &[Pass]),
    ("5.1.1", "sqlserver_auditing_enabled", "291bba3f:sqlcrudtest-4645", &[Fail]),
    ("5.1.1", "sqlserver_auditing_enabled", "291bba3f:sqlcrudtest-6661", &[Fail]),
    ("5.1.1", "sqlserver_auditing_enabled", "72ac930a:sql-open", &[Pass]),
    ("5.1.2", "sqlserver_unrestricted_inbound_access", "291bba3f:sqlcrudtest-4645", &[Pass]),
    ("5.1.2", "sqlserver_unrestricted_inbound_access", "291bba3f:sqlcrudtest-6661", &[Pass]),
    ("5.1.2", "sqlserver_unrestricted_inbound_access", "72ac930a:sql-open", &[Fail]),
    ("5.1.3", "sqlserver_tde_encrypted_with_cmk", "291bba3f:sqlcrudtest-4645", &[Fail]),
    ("5.1.3", "sqlserver_tde_encrypted_with_cmk", "291bba3f:sqlcrudtest-6661", &[Fail]),
    ("5.1.3", "sqlserver_tde_encrypted_with_cmk", "72ac930a:sql-open", &[Pass]),
    ("5.1.4", "sqlserver_azuread_administrator_enabled", "291bba3f:sqlcrudtest-4645", &[Fail]),
    ("5.1.4", "sqlserver_azuread_administrator_enabled", "291bba3f:sqlcrudtest-6661", &[Fail]),
    ("5.1.4", "sqlserver_azuread_administrator_enabled", "72ac930a:sql-open", &[Fail]),
    ("5.1.5", "sqlserver_tde_encryption_enabled", "291bba3f:current", &[Pass, Pass]),
    ("5.1.6", "sqlserver_auditing_retention_90_days", "291bba3f:sqlcrudtest-4645", &[Fail]),
    ("5.1.6", "sqlserver_auditing_retention_90_days", "291bba3f:sqlcrudtest-6661", &[Fail]),
    ("5.1.6", "sqlserver_auditing_retention_90_days", "72ac930a:sql-open", &[Pass]),
    ("6.1.2", "monitor_diagnostic_setting_with_appropriate_categories", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Pass]),
    ("6.1.2", "monitor_diagnostic_setting_with_appropriate_categories", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("6.1.3", "monitor_storage_account_with_activity_logs_cmk_encrypted", "291bba3f:ds4", &[Error]),
    ("6.1.4", "keyvault_logging_enabled", "291bba3f:sample-vault", &[Pass]),
    ("6.1.4", "keyvault_logging_enabled", "72ac930a:kv-rbac", &[Fail]),
    ("6.2.1", "monitor_alert_create_policy_assignment", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Fail]),
    ("6.2.1", "monitor_alert_create_policy_assignment", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("6.2.10", "monitor_alert_delete_public_ip_address_rule", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Fail]),
    ("6.2.10", "monitor_alert_delete_public_ip_address_rule", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("6.2.2", "monitor_alert_delete_policy_assignment", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Fail]),
    ("6.2.2", "monitor_alert_delete_policy_assignment", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("6.2.3", "monitor_alert_create_update_nsg", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Fail]),
    ("6.2.3", "monitor_alert_create_update_nsg", "72ac930a:nsg-write", &[Pass]),
    ("6.2.4", "monitor_alert_delete_nsg", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Fail]),
    ("6.2.4", "monitor_alert_delete_nsg", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("6.2.5", "monitor_alert_create_update_security_solution", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Fail]),
    ("6.2.5", "monitor_alert_create_update_security_solution", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("6.2.6", "monitor_alert_delete_security_solution", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Fail]),
    ("6.2.6", "monitor_alert_delete_security_solution", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("6.2.7", "monitor_alert_create_update_sqlserver_fr", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Fail]),
    ("6.2.7", "monitor_alert_create_update_sqlserver_fr", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("6.2.8", "monitor_alert_delete_sqlserver_fr", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Fail]),
    ("6.2.8", "monitor_alert_delete_sqlserver_fr", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("6.2.9", "monitor_alert_create_update_public_ip_address_rule", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Fail]),
    ("6.2.9", "monitor_alert_create_update_public_ip_address_rule", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("6.3.1", "appinsights_ensure_is_configured", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Fail]),
    ("6.3.1", "appinsights_ensure_is_configured", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("7.1", "network_rdp_internet_access_restricted", "291bba3f:nsg1", &[Pass]),
    ("7.1", "network_rdp_internet_access_restricted", "291bba3f:nsg3", &[Pass]),
    ("7.1", "network_rdp_internet_access_restricted", "72ac930a:nsg-open", &[Fail]),
    ("7.2", "network_ssh_internet_access_restricted", "291bba3f:nsg1", &[Pass]),
    ("7.2", "network_ssh_internet_access_restricted", "291bba3f:nsg3", &[Pass]),
    ("7.2", "network_ssh_internet_access_restricted", "72ac930a:nsg-open", &[Fail]),
    ("7.3", "network_udp_internet_access_restricted", "291bba3f:nsg1", &[Pass]),
    ("7.3", "network_udp_internet_access_restricted", "291bba3f:nsg3", &[Pass]),
    ("7.3", "network_udp_internet_access_restricted", "72ac930a:nsg-open", &[Pass]),
    ("7.4", "network_http_internet_access_restricted", "291bba3f:nsg1", &[Pass]),
    ("7.4", "network_http_internet_access_restricted", "291bba3f:nsg3", &[Pass]),
    ("7.4", "network_http_internet_access_restricted", "72ac930a:nsg-open", &[Pass]),
    ("7.6", "network_watcher_enabled", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05/eastus", &[Pass]),
    ("7.6", "network_watcher_enabled", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05/eastus2(stage)", &[Fail]),
    ("7.6", "network_watcher_enabled", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05/japaneast", &[Fail]),
    ("7.6", "network_watcher_enabled", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05/westus", &[Pass]),
    ("7.6", "network_watcher_enabled", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71/eastus", &[Fail]),
    ("7.6", "network_watcher_enabled", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71/japaneast", &[Fail]),
    ("7.6", "network_watcher_enabled", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71/westus", &[Pass]),
    ("8.1", "network_bastion_host_exists", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Fail]),
    ("8.1", "network_bastion_host_exists", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("8.11", "vm_trusted_launch_enabled", "291bba3f:{virtualMachineName}", &[Fail, Fail]),
    ("8.11", "vm_trusted_launch_enabled", "72ac930a:vm-good", &[Pass]),
    ("8.2", "vm_ensure_using_managed_disks", "291bba3f:{virtualMachineName}", &[Fail, Fail]),
    ("8.2", "vm_ensure_using_managed_disks", "72ac930a:vm-good", &[Pass]),
    ("8.3", "vm_ensure_attached_disks_encrypted_with_cmk", "72ac930a:disk-cmk", &[Pass]),
    ("8.4", "vm_ensure_unattached_disks_encrypted_with_cmk", "291bba3f:myManagedDisk1", &[Fail]),
    ("8.4", "vm_ensure_unattached_disks_encrypted_with_cmk", "291bba3f:myManagedDisk2", &[Fail]),
    ("8.4", "vm_ensure_unattached_disks_encrypted_with_cmk", "291bba3f:myManagedDisk3", &[Fail]),
    ("8.5", "vm_disk_public_network_access_disabled", "291bba3f:myManagedDisk1", &[Fail]),
    ("8.5", "vm_disk_public_network_access_disabled", "291bba3f:myManagedDisk2", &[Fail]),
    ("8.5", "vm_disk_public_network_access_disabled", "291bba3f:myManagedDisk3", &[Fail]),
    ("8.5", "vm_disk_public_network_access_disabled", "72ac930a:disk-cmk", &[Pass]),
    ("8.6", "vm_disk_data_access_auth_mode_enabled", "291bba3f:myManagedDisk1", &[Fail]),
    ("8.6", "vm_disk_data_access_auth_mode_enabled", "291bba3f:myManagedDisk2", &[Fail]),
    ("8.6", "vm_disk_data_access_auth_mode_enabled", "291bba3f:myManagedDisk3", &[Fail]),
    ("8.6", "vm_disk_data_access_auth_mode_enabled", "72ac930a:disk-cmk", &[Pass]),
    ("9.1", "app_ensure_http_is_redirected_to_https", "291bba3f:sitef6141", &[Fail]),
    ("9.1", "app_ensure_http_is_redirected_to_https", "291bba3f:sitef7252", &[Fail]),
    ("9.1", "app_ensure_http_is_redirected_to_https", "72ac930a:site-good", &[Pass]),
    ("9.10", "app_ensure_using_http20", "291bba3f:sitef6141", &[Fail]),
    ("9.10", "app_ensure_using_http20", "291bba3f:sitef7252", &[Fail]),
    ("9.10", "app_ensure_using_http20", "72ac930a:site-good", &[Pass]),
    ("9.12", "app_remote_debugging_disabled", "291bba3f:sitef6141", &[Pass]),
    ("9.12", "app_remote_debugging_disabled", "291bba3f:sitef7252", &[Pass]),
    ("9.12", "app_remote_debugging_disabled", "72ac930a:site-good", &[Pass]),
    ("9.2", "app_ensure_auth_is_set_up", "291bba3f:sitef6141", &[Fail]),
    ("9.2", "app_ensure_auth_is_set_up", "291bba3f:sitef7252", &[Fail]),
    ("9.2", "app_ensure_auth_is_set_up", "72ac930a:site-good", &[Pass]),
    ("9.3", "app_ftp_deployment_disabled", "291bba3f:sitef6141", &[Fail]),
    ("9.3", "app_ftp_deployment_disabled", "291bba3f:sitef7252", &[Fail]),
    ("9.3", "app_ftp_deployment_disabled", "72ac930a:site-good", &[Pass]),
    ("9.4", "app_minimum_tls_version_12", "291bba3f:sitef6141", &[Pass]),
    ("9.4", "app_minimum_tls_version_12", "291bba3f:sitef7252", &[Pass]),
    ("9.4", "app_minimum_tls_version_12", "72ac930a:site-good", &[Pass]),
    ("9.5", "app_register_with_identity", "291bba3f:sitef6141", &[Fail]),
    ("9.5", "app_register_with_identity", "291bba3f:sitef7252", &[Fail]),
    ("9.5", "app_register_with_identity", "72ac930a:site-good", &[Pass]),
];

#[rustfmt::skip]
const OTHER: &[(&str, &str, &[Status])] = &[
    ("entra_non_privileged_user_has_mfa", "31c75423:31c75423-32d6-4322-88b7-c478bdde4858", &[Error]),
    ("entra_privileged_user_has_mfa", "31c75423:31c75423-32d6-4322-88b7-c478bdde4858", &[Error]),
    ("entra_security_defaults_enabled", "31c75423:Security Defaults", &[Fail]),
    ("iam_role_user_access_admin_restricted", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Pass]),
    ("iam_role_user_access_admin_restricted", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("iam_subscription_owner_count_2_to_3", "291bba3f:291bba3f-e0a5-47bc-a099-3bdcb2a50a05", &[Fail]),
    ("iam_subscription_owner_count_2_to_3", "72ac930a:72ac930a-f34e-42d8-b06d-dc2a9e12ed71", &[Fail]),
    ("trustplane_azure_permanent_privileged_assignment", "72ac930a:11111111-0000-0000-0000-000000000001", &[Fail]),
    ("trustplane_azure_permanent_privileged_assignment", "72ac930a:11111111-0000-0000-0000-000000000002", &[Fail]),
];

#[tokio::test]
async fn token_endpoint_refusal_is_a_clear_error() {
    let srv = server::start(Mode {
        token_401: true,
        ..Default::default()
    })
    .await;
    let err = collect(&options(&srv.base, sp())).await.unwrap_err();
    match &err {
        AzureError::Token {
            status, message, ..
        } => {
            assert_eq!(*status, 401);
            assert_eq!(
                message,
                "invalid_client: AADSTS7000215: Invalid client secret provided."
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("refused the credentials"), "{err}");
    // Nothing else was called.
    assert_eq!(srv.hits("/subscriptions"), 0);
}

#[tokio::test]
async fn forbidden_subscription_list_is_a_clear_error() {
    let srv = server::start(Mode {
        subscriptions_403: true,
        ..Default::default()
    })
    .await;
    let err = collect(&options(&srv.base, token())).await.unwrap_err();
    match &err {
        AzureError::Unauthorized {
            status, message, ..
        } => {
            assert_eq!(*status, 403);
            assert!(message.starts_with("AuthorizationFailed: "), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn wrong_token_is_a_clear_error() {
    let srv = server::start(Mode::default()).await;
    let cred = Credential::Token {
        arm: "expired".to_string(),
        graph: None,
    };
    let err = collect(&options(&srv.base, cred)).await.unwrap_err();
    assert!(
        matches!(err, AzureError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn arm_down_is_a_clear_error() {
    // A port that was free a moment ago: connection refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}");
    for subs in [vec![], vec![SUB_A.to_string()]] {
        let mut o = options(&base, token());
        o.subscriptions = subs;
        let err = collect(&o).await.unwrap_err();
        match &err {
            AzureError::Unreachable { url, .. } => {
                assert!(url.starts_with(&format!("{base}/subscriptions")), "{url}")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn malformed_json_becomes_a_collection_error_naming_the_call() {
    let srv = server::start(Mode {
        malformed_nsg: true,
        ..Default::default()
    })
    .await;
    let mut o = options(&srv.base, token());
    o.subscriptions = vec![SUB_A.to_string()];
    o.graph = false;
    let docs = collect(&o).await.unwrap();
    let errors = of_type(&docs, "collection_error");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = errors[0];
    assert_eq!(e.account, SUB_A);
    assert_eq!(e.name, "Microsoft.Network");
    assert_eq!(
        e.raw["resource_types"],
        serde_json::json!(["azure.network.nsg"])
    );
    let msg = e.raw["message"].as_str().unwrap();
    assert!(
        msg.starts_with(&format!(
            "GET /subscriptions/{SUB_A}/providers/Microsoft.Network/networkSecurityGroups?api-version=2024-05-01: malformed response: invalid JSON"
        )),
        "{msg}"
    );
    assert!(of_type(&docs, "azure.network.nsg").is_empty());
    // The NSG controls are ERROR for the subscription, never PASS.
    let got = cis_results(docs);
    for c in ["7.1", "7.2", "7.3", "7.4"] {
        let rows: Vec<_> = got.iter().filter(|((id, _, _), _)| id == c).collect();
        assert_eq!(rows.len(), 1, "{c}: {rows:?}");
        assert_eq!(rows[0].0 .2, format!("291bba3f:{SUB_A}"));
        assert_eq!(rows[0].1, &vec![Error]);
    }
}

#[tokio::test]
async fn bearer_token_without_graph_records_graph_as_not_collected() {
    let srv = server::start(Mode::default()).await;
    let mut o = options(
        &srv.base,
        Credential::Token {
            arm: server::ARM_TOKEN.to_string(),
            graph: None,
        },
    );
    o.subscriptions = vec![SUB_B.to_string()];
    let docs = collect(&o).await.unwrap();
    let errors = of_type(&docs, "collection_error");
    assert_eq!(errors.len(), 1);
    // Tenant from the subscription, since a bare token names none.
    assert_eq!(errors[0].account, "2a0ff0de-96b2-4859-bb7c-a430d07a3e0c");
    assert_eq!(errors[0].name, "Microsoft.Graph");
    assert!(of_type(&docs, "azure.entra.user").is_empty());
    assert_eq!(srv.hits("/v1.0/users"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallelism_is_bounded() {
    let srv = server::start(Mode {
        delay_ms: 20,
        ..Default::default()
    })
    .await;
    let mut o = options(&srv.base, token());
    o.max_concurrency = 3;
    let docs = collect(&o).await.unwrap();
    assert!(of_type(&docs, "azure.storage.account").len() == 8);
    let peak = srv.peak.load(std::sync::atomic::Ordering::SeqCst);
    // Calls do overlap, and never more than the bound.
    assert_eq!(peak, 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let srv = server::start(Mode {
        throttle_pricings: true,
        ..Default::default()
    })
    .await;
    let mut o = options(&srv.base, token());
    o.subscriptions = vec![SUB_A.to_string()];
    o.graph = false;
    o.max_retry_wait = Duration::from_secs(5);
    let started = std::time::Instant::now();
    let docs = collect(&o).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(of_type(&docs, "azure.security.pricing").len(), 13);
    assert!(of_type(&docs, "collection_error").is_empty());
}

#[tokio::test]
async fn throttled_beyond_the_retries_becomes_a_collection_error() {
    let srv = server::start(Mode {
        throttle_pricings_always: true,
        ..Default::default()
    })
    .await;
    let mut o = options(&srv.base, token());
    o.subscriptions = vec![SUB_A.to_string()];
    o.graph = false;
    o.max_retries = 2;
    o.max_retry_wait = Duration::from_millis(10);
    let docs = collect(&o).await.unwrap();
    let pricings = format!("/subscriptions/{SUB_A}/providers/Microsoft.Security/pricings");
    assert_eq!(srv.hits(&pricings), 3);
    let errors = of_type(&docs, "collection_error");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].raw["resource_types"],
        serde_json::json!(["azure.security.pricing"])
    );
    assert_eq!(
        errors[0].raw["message"],
        format!("GET {pricings}?api-version=2024-01-01: HTTP 429: TooManyRequests: throttled")
    );
    // Every Defender plan control is ERROR for the subscription.
    let got = cis_results(docs);
    let plans: Vec<_> = got
        .iter()
        .filter(|((_, check, _), _)| check.starts_with("defender_ensure_defender_for_"))
        .collect();
    assert_eq!(plans.len(), 11);
    assert!(plans.iter().all(|(_, st)| **st == vec![Error]), "{plans:?}");
}
