//! CIS Azure storage account controls (3.0 section 4, 6.0 section 9).
//!
//! Inputs: `azure.storage.account` (a StorageAccounts_List item), `azure.storage.blob_service`
//! (BlobServices_GetServiceProperties), `azure.storage.file_service`
//! (FileServices_GetServiceProperties).

use serde_json::Value;

use super::util::*;
use crate::finding::Severity;
use crate::registry::{CheckCtx, CheckDef, Outcome};

const ACCOUNT: &str = "azure.storage.account";
const BLOB: &str = "azure.storage.blob_service";
const FILE: &str = "azure.storage.file_service";
/// CIS 9.3.1.2: account keys regenerated within 90 days.
pub const KEY_ROTATION_DAYS: i64 = 90;

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    vec![
        azure(
            "storage_secure_transfer_required_is_enabled",
            "Secure transfer required",
            Severity::High,
            &[ACCOUNT],
            secure_transfer,
        ),
        azure(
            "storage_infrastructure_encryption_enabled",
            "Infrastructure encryption on",
            Severity::Low,
            &[ACCOUNT],
            infra_encryption,
        ),
        azure(
            "storage_key_rotation_reminders_enabled",
            "Key rotation reminders (key expiration policy) set",
            Severity::Low,
            &[ACCOUNT],
            rotation_reminders,
        ),
        azure(
            "storage_key_rotation_90_days",
            "Access keys regenerated within 90 days",
            Severity::Medium,
            &[ACCOUNT],
            key_rotation,
        ),
        azure(
            "storage_account_key_access_disabled",
            "Shared key access disabled",
            Severity::Medium,
            &[ACCOUNT],
            key_access,
        ),
        azure(
            "storage_account_public_network_access_disabled",
            "Public network access disabled",
            Severity::Medium,
            &[ACCOUNT],
            public_network,
        ),
        azure(
            "storage_default_network_access_rule_is_denied",
            "Default network rule is Deny",
            Severity::Medium,
            &[ACCOUNT],
            default_deny,
        ),
        azure(
            "storage_ensure_azure_services_are_trusted_to_access_is_enabled",
            "Trusted Azure services bypass on",
            Severity::Low,
            &[ACCOUNT],
            trusted_services,
        ),
        azure(
            "storage_ensure_private_endpoints_in_storage_accounts",
            "Private endpoints used",
            Severity::Medium,
            &[ACCOUNT],
            private_endpoints,
        ),
        azure(
            "storage_ensure_minimum_tls_version_12",
            "Minimum TLS 1.2",
            Severity::Medium,
            &[ACCOUNT],
            min_tls,
        ),
        azure(
            "storage_cross_tenant_replication_disabled",
            "Cross-tenant replication disabled",
            Severity::Medium,
            &[ACCOUNT],
            cross_tenant,
        ),
        azure(
            "storage_blob_public_access_level_is_disabled",
            "Anonymous blob access disabled",
            Severity::High,
            &[ACCOUNT],
            blob_public,
        ),
        azure(
            "storage_default_to_entra_authorization_enabled",
            "Portal defaults to Entra authorization",
            Severity::Low,
            &[ACCOUNT],
            default_oauth,
        ),
        azure(
            "storage_geo_redundant_enabled",
            "Geo-redundant replication",
            Severity::Low,
            &[ACCOUNT],
            geo_redundant,
        ),
        azure(
            "storage_ensure_soft_delete_is_enabled",
            "Blob and container soft delete on",
            Severity::Medium,
            &[BLOB],
            soft_delete_both,
        ),
        azure(
            "storage_blob_soft_delete_enabled",
            "Blob soft delete on",
            Severity::Medium,
            &[BLOB],
            soft_delete_blobs,
        ),
        azure(
            "storage_container_soft_delete_enabled",
            "Container soft delete on",
            Severity::Medium,
            &[BLOB],
            soft_delete_containers,
        ),
        azure(
            "storage_blob_versioning_is_enabled",
            "Blob versioning on",
            Severity::Low,
            &[BLOB],
            versioning,
        ),
        azure(
            "storage_ensure_file_shares_soft_delete_is_enabled",
            "File share soft delete on",
            Severity::Medium,
            &[FILE],
            file_soft_delete,
        ),
        azure(
            "storage_smb_protocol_version_is_latest",
            "SMB 3.1.1 only",
            Severity::Medium,
            &[FILE],
            smb_version,
        ),
        azure(
            "storage_smb_channel_encryption_with_secure_algorithm",
            "SMB channel encryption AES-256-GCM",
            Severity::Medium,
            &[FILE],
            smb_encryption,
        ),
    ]
}

fn secure_transfer<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        ACCOUNT,
        "/properties/supportsHttpsTrafficOnly",
        is_true,
        "HTTPS required",
        "HTTP allowed",
    );
}

fn infra_encryption<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        ACCOUNT,
        "/properties/encryption/requireInfrastructureEncryption",
        is_true,
        "infrastructure encryption on",
        "infrastructure encryption off",
    );
}

fn rotation_reminders<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&Value>) -> bool {
        v.and_then(Value::as_i64).is_some_and(|d| d > 0)
    }
    prop_check(
        ctx,
        out,
        ACCOUNT,
        "/properties/keyPolicy/keyExpirationPeriodInDays",
        ok,
        "key expiration reminder set",
        "no key expiration reminder",
    );
}

fn key_rotation<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, ACCOUNT, out, |d| {
        let k1 = age_days(ctx, &d.raw, "/properties/keyCreationTime/key1");
        let k2 = age_days(ctx, &d.raw, "/properties/keyCreationTime/key2");
        // Accounts created before key tracking have no creation time: unknown, so not a PASS.
        let ok = matches!((k1, k2), (Some(a), Some(b)) if a <= KEY_ROTATION_DAYS && b <= KEY_ROTATION_DAYS);
        let msg = if ok {
            "keys regenerated within 90 days"
        } else {
            "a key is older than 90 days (or its age is unknown)"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"key1_age_days": k1, "key2_age_days": k2}),
        ))
    });
}

fn key_access<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        ACCOUNT,
        "/properties/allowSharedKeyAccess",
        is_false,
        "shared key access disabled",
        "shared key access allowed",
    );
}

fn public_network<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&Value>) -> bool {
        str_in(v, &["Disabled"])
    }
    prop_check(
        ctx,
        out,
        ACCOUNT,
        "/properties/publicNetworkAccess",
        ok,
        "public network access disabled",
        "public network access not disabled",
    );
}

fn default_deny<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&Value>) -> bool {
        str_in(v, &["Deny"])
    }
    prop_check(
        ctx,
        out,
        ACCOUNT,
        "/properties/networkAcls/defaultAction",
        ok,
        "default network action Deny",
        "default network action Allow",
    );
}

fn trusted_services<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&Value>) -> bool {
        v.and_then(Value::as_str).is_some_and(|b| {
            b.split(',')
                .any(|x| x.trim().eq_ignore_ascii_case("AzureServices"))
        })
    }
    prop_check(
        ctx,
        out,
        ACCOUNT,
        "/properties/networkAcls/bypass",
        ok,
        "trusted Azure services may bypass",
        "trusted Azure services not allowed",
    );
}

fn private_endpoints<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        ACCOUNT,
        "/properties/privateEndpointConnections",
        non_empty_array,
        "private endpoint connected",
        "no private endpoint",
    );
}

fn min_tls<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&Value>) -> bool {
        str_in(v, &["TLS1_2", "TLS1_3"])
    }
    prop_check(
        ctx,
        out,
        ACCOUNT,
        "/properties/minimumTlsVersion",
        ok,
        "minimum TLS 1.2 or later",
        "TLS below 1.2 accepted",
    );
}

fn cross_tenant<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        ACCOUNT,
        "/properties/allowCrossTenantReplication",
        is_false,
        "cross-tenant replication disabled",
        "cross-tenant replication not disabled",
    );
}

fn blob_public<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        ACCOUNT,
        "/properties/allowBlobPublicAccess",
        is_false,
        "anonymous blob access disabled",
        "anonymous blob access not disabled",
    );
}

fn default_oauth<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        ACCOUNT,
        "/properties/defaultToOAuthAuthentication",
        is_true,
        "defaults to Entra authorization",
        "defaults to key authorization",
    );
}

fn geo_redundant<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&Value>) -> bool {
        v.and_then(Value::as_str).is_some_and(|n| {
            n.to_ascii_uppercase().contains("GRS") || n.to_ascii_uppercase().contains("GZRS")
        })
    }
    prop_check(
        ctx,
        out,
        ACCOUNT,
        "/sku/name",
        ok,
        "geo-redundant SKU",
        "not geo-redundant",
    );
}

fn soft_delete<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>, blobs: bool, containers: bool) {
    per_doc(ctx, BLOB, out, |d| {
        let b_on = b(&d.raw, "/properties/deleteRetentionPolicy/enabled").unwrap_or(false);
        let c_on = b(&d.raw, "/properties/containerDeleteRetentionPolicy/enabled").unwrap_or(false);
        let ok = (!blobs || b_on) && (!containers || c_on);
        let msg = if ok {
            "soft delete on"
        } else {
            "soft delete off"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"blob_soft_delete": b_on, "container_soft_delete": c_on}),
        ))
    });
}

fn soft_delete_both<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    soft_delete(ctx, out, true, true);
}

fn soft_delete_blobs<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    soft_delete(ctx, out, true, false);
}

fn soft_delete_containers<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    soft_delete(ctx, out, false, true);
}

fn versioning<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        BLOB,
        "/properties/isVersioningEnabled",
        is_true,
        "versioning on",
        "versioning off",
    );
}

fn file_soft_delete<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        FILE,
        "/properties/shareDeleteRetentionPolicy/enabled",
        is_true,
        "file share soft delete on",
        "file share soft delete off",
    );
}

/// Semicolon-separated SMB settings where every listed value must be in `allowed`.
fn only(v: Option<&Value>, allowed: &[&str]) -> bool {
    v.and_then(Value::as_str).is_some_and(|x| {
        let items: Vec<&str> = x
            .split(';')
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .collect();
        !items.is_empty()
            && items
                .iter()
                .all(|i| allowed.iter().any(|a| a.eq_ignore_ascii_case(i)))
    })
}

fn smb_version<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&Value>) -> bool {
        only(v, &["SMB3.1.1"])
    }
    prop_check(
        ctx,
        out,
        FILE,
        "/properties/protocolSettings/smb/versions",
        ok,
        "only SMB 3.1.1",
        "older SMB versions allowed",
    );
}

fn smb_encryption<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&Value>) -> bool {
        only(v, &["AES-256-GCM"])
    }
    prop_check(
        ctx,
        out,
        FILE,
        "/properties/protocolSettings/smb/channelEncryption",
        ok,
        "only AES-256-GCM",
        "weaker SMB channel encryption allowed",
    );
}
