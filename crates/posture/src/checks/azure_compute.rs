//! CIS Azure virtual machine and disk controls (3.0 section 8).
//!
//! Inputs: `azure.compute.vm` (a VirtualMachines_List item), `azure.compute.disk` (a
//! Disks_List item).

use serde_json::Value;

use super::util::*;
use crate::finding::Severity;
use crate::registry::{CheckCtx, CheckDef, Outcome};

const VM: &str = "azure.compute.vm";
const DISK: &str = "azure.compute.disk";

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    vec![
        azure(
            "vm_ensure_using_managed_disks",
            "VMs use managed disks",
            Severity::Medium,
            &[VM],
            managed_disks,
        ),
        azure(
            "vm_ensure_attached_disks_encrypted_with_cmk",
            "Attached disks use a customer-managed key",
            Severity::Medium,
            &[DISK],
            attached_cmk,
        ),
        azure(
            "vm_ensure_unattached_disks_encrypted_with_cmk",
            "Unattached disks use a customer-managed key",
            Severity::Medium,
            &[DISK],
            unattached_cmk,
        ),
        azure(
            "vm_disk_public_network_access_disabled",
            "Disks not reachable from all networks",
            Severity::Medium,
            &[DISK],
            disk_network,
        ),
        azure(
            "vm_disk_data_access_auth_mode_enabled",
            "Disk export requires Entra ID",
            Severity::Low,
            &[DISK],
            disk_auth_mode,
        ),
        azure(
            "vm_trusted_launch_enabled",
            "VMs use Trusted Launch",
            Severity::Medium,
            &[VM],
            trusted_launch,
        ),
    ]
}

fn managed_disks<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, VM, out, |d| {
        let os = d.raw.at("/properties/storageProfile/osDisk");
        let os_managed =
            os.is_some_and(|o| o.get("managedDisk").is_some() && o.get("vhd").is_none());
        let unmanaged_data: Vec<&str> = arr(&d.raw, "/properties/storageProfile/dataDisks")
            .iter()
            .filter(|x| x.get("managedDisk").is_none() || x.get("vhd").is_some())
            .filter_map(|x| s(x, "/name"))
            .collect();
        let ok = os_managed && unmanaged_data.is_empty();
        let msg = if ok {
            "all disks managed"
        } else {
            "VM uses unmanaged (VHD) disks"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"os_disk_managed": os_managed, "unmanaged_data_disks": unmanaged_data}),
        ))
    });
}

fn attached(d: &Value) -> bool {
    match s(d, "/properties/diskState") {
        Some(st) => !st.eq_ignore_ascii_case("Unattached"),
        None => s(d, "/managedBy").is_some(),
    }
}

fn cmk_impl<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>, want_attached: bool) {
    per_doc(ctx, DISK, out, |d| {
        if attached(&d.raw) != want_attached {
            return None;
        }
        let t = s(&d.raw, "/properties/encryption/type");
        let ok = matches!(
            t,
            Some("EncryptionAtRestWithCustomerKey")
                | Some("EncryptionAtRestWithPlatformAndCustomerKeys")
        );
        Some((
            pass_if(ok),
            format!(
                "disk encryption {}",
                t.unwrap_or("EncryptionAtRestWithPlatformKey (default)")
            )
            .into(),
            ev!({"encryption_type": t}),
        ))
    });
}

fn attached_cmk<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    cmk_impl(ctx, out, true);
}

fn unattached_cmk<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    cmk_impl(ctx, out, false);
}

fn disk_network<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, DISK, out, |d| {
        // Absent policy means AllowAll, the Azure default.
        let policy = s(&d.raw, "/properties/networkAccessPolicy").unwrap_or("AllowAll");
        let public = s(&d.raw, "/properties/publicNetworkAccess");
        let ok = !policy.eq_ignore_ascii_case("AllowAll")
            || public.is_some_and(|p| p.eq_ignore_ascii_case("Disabled"));
        let msg = if ok {
            "disk not reachable from all networks"
        } else {
            "disk reachable from all networks"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"networkAccessPolicy": policy, "publicNetworkAccess": public}),
        ))
    });
}

fn disk_auth_mode<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    fn ok(v: Option<&Value>) -> bool {
        str_in(v, &["AzureActiveDirectory"])
    }
    prop_check(
        ctx,
        out,
        DISK,
        "/properties/dataAccessAuthMode",
        ok,
        "export requires Entra ID",
        "export does not require Entra ID",
    );
}

fn trusted_launch<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, VM, out, |d| {
        let sp = d.raw.at("/properties/securityProfile");
        let t = sp.and_then(|x| s(x, "/securityType"));
        let boot = sp
            .and_then(|x| b(x, "/uefiSettings/secureBootEnabled"))
            .unwrap_or(false);
        let vtpm = sp
            .and_then(|x| b(x, "/uefiSettings/vTpmEnabled"))
            .unwrap_or(false);
        let ok = t.is_some_and(|x| x.eq_ignore_ascii_case("TrustedLaunch")) && boot && vtpm;
        let msg = if ok {
            "Trusted Launch with secure boot and vTPM"
        } else {
            "Trusted Launch not fully on"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"securityType": t, "secureBootEnabled": boot, "vTpmEnabled": vtpm}),
        ))
    });
}
