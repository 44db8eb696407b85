//! CIS Azure Key Vault controls (3.0 section 3.3, 6.0 section 8.3).
//!
//! Inputs: `azure.keyvault.vault` (a Vaults_Get / list item), `azure.keyvault.key` (a
//! Keys_List item, management plane: `properties.attributes.exp`,
//! `properties.rotationPolicy`), `azure.keyvault.secret` (a Secrets_List item).

use super::util::*;
use crate::finding::{Severity, Status};
use crate::registry::{CheckCtx, CheckDef, Outcome};

const VAULT: &str = "azure.keyvault.vault";

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    vec![
        azure(
            "keyvault_rbac_enabled",
            "Vault uses Azure RBAC",
            Severity::Medium,
            &[VAULT],
            rbac,
        ),
        azure(
            "keyvault_recoverable",
            "Vault has soft delete and purge protection",
            Severity::High,
            &[VAULT],
            recoverable,
        ),
        azure(
            "keyvault_private_endpoints",
            "Vault uses private endpoints",
            Severity::Medium,
            &[VAULT],
            private_endpoints,
        ),
        azure(
            "keyvault_public_network_access_disabled",
            "Vault public network access disabled",
            Severity::Medium,
            &[VAULT],
            public_access,
        ),
        azure(
            "keyvault_rbac_key_expiration_set",
            "Keys in RBAC vaults expire",
            Severity::High,
            &[VAULT, "azure.keyvault.key"],
            rbac_keys,
        ),
        azure(
            "keyvault_key_expiration_set_in_non_rbac",
            "Keys in access-policy vaults expire",
            Severity::High,
            &[VAULT, "azure.keyvault.key"],
            non_rbac_keys,
        ),
        azure(
            "keyvault_rbac_secret_expiration_set",
            "Secrets in RBAC vaults expire",
            Severity::High,
            &[VAULT, "azure.keyvault.secret"],
            rbac_secrets,
        ),
        azure(
            "keyvault_non_rbac_secret_expiration_set",
            "Secrets in access-policy vaults expire",
            Severity::High,
            &[VAULT, "azure.keyvault.secret"],
            non_rbac_secrets,
        ),
        azure(
            "keyvault_key_rotation_enabled",
            "Keys have automatic rotation",
            Severity::Medium,
            &["azure.keyvault.key"],
            key_rotation,
        ),
    ]
}

fn rbac<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        VAULT,
        "/properties/enableRbacAuthorization",
        is_true,
        "RBAC authorization on",
        "vault uses access policies",
    );
}

fn recoverable<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, VAULT, out, |d| {
        // Soft delete is on by default since 2020; purge protection must be set explicitly.
        let soft = b(&d.raw, "/properties/enableSoftDelete").unwrap_or(true);
        let purge = b(&d.raw, "/properties/enablePurgeProtection").unwrap_or(false);
        let ok = soft && purge;
        let msg = if ok {
            "vault is recoverable"
        } else {
            "soft delete or purge protection off"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"enableSoftDelete": soft, "enablePurgeProtection": purge}),
        ))
    });
}

fn private_endpoints<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    prop_check(
        ctx,
        out,
        VAULT,
        "/properties/privateEndpointConnections",
        non_empty_array,
        "private endpoint connected",
        "no private endpoint",
    );
}

fn public_access<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&serde_json::Value>) -> bool {
        str_in(v, &["Disabled"])
    }
    prop_check(
        ctx,
        out,
        VAULT,
        "/properties/publicNetworkAccess",
        ok,
        "public network access disabled",
        "public network access enabled",
    );
}

/// Expiry of keys or secrets in vaults of one access model.
fn expiry<'a>(
    ctx: &CheckCtx<'a>,
    out: &mut Vec<Outcome<'a>>,
    item_type: &str,
    segment: &str,
    want_rbac: bool,
) {
    let vaults = by_lower_id(ctx, VAULT);
    per_doc(ctx, item_type, out, |d| {
        if b(&d.raw, "/properties/attributes/enabled") == Some(false) {
            return None;
        }
        let Some(vault) = azure_parent(&d.id, segment).and_then(|p| vaults.get(&p).copied()) else {
            // Without the vault its access model is unknown; say so once per item, for the
            // RBAC variant only, so the item is not counted twice.
            return want_rbac.then(|| {
                (
                    Status::Error,
                    "parent vault not in the inventory".into(),
                    ev!({"id": d.id}),
                )
            });
        };
        let rbac = b(&vault.raw, "/properties/enableRbacAuthorization").unwrap_or(false);
        if rbac != want_rbac {
            return None;
        }
        let exp = d
            .raw
            .at("/properties/attributes/exp")
            .filter(|v| !v.is_null());
        let msg = if exp.is_some() {
            "expiration date set"
        } else {
            "no expiration date"
        };
        Some((
            pass_if(exp.is_some()),
            msg.into(),
            ev!({"vault": vault.name, "rbac": rbac, "exp": exp}),
        ))
    });
}

fn rbac_keys<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    expiry(ctx, out, "azure.keyvault.key", "keys", true);
}

fn non_rbac_keys<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    expiry(ctx, out, "azure.keyvault.key", "keys", false);
}

fn rbac_secrets<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    expiry(ctx, out, "azure.keyvault.secret", "secrets", true);
}

fn non_rbac_secrets<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    expiry(ctx, out, "azure.keyvault.secret", "secrets", false);
}

fn key_rotation<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "azure.keyvault.key", out, |d| {
        if b(&d.raw, "/properties/attributes/enabled") == Some(false) {
            return None;
        }
        let rotate = arr(&d.raw, "/properties/rotationPolicy/lifetimeActions")
            .iter()
            .any(|a| s(a, "/action/type").is_some_and(|t| t.eq_ignore_ascii_case("rotate")));
        let msg = if rotate {
            "automatic rotation configured"
        } else {
            "no automatic rotation"
        };
        Some((
            pass_if(rotate),
            msg.into(),
            ev!({"rotationPolicy": d.raw.at("/properties/rotationPolicy")}),
        ))
    });
}
