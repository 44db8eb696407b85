//! Controls answered by Microsoft Defender for Cloud's own assessments (CIS Azure 3.0 3.1.10,
//! 6.0 8.1.3.3 and 8.1.10).
//!
//! Input: `azure.security.assessment` (an Assessments_List item at subscription scope: one
//! per assessed resource, `properties.displayName`, `properties.status.code` Healthy /
//! Unhealthy / NotApplicable, `properties.resourceDetails`). Assessments are matched by
//! display name, case-insensitively, because their keys differ between Defender versions.

use super::util::*;
use crate::finding::{Severity, Status};
use crate::registry::{CheckCtx, CheckDef, Outcome};

const ASSESSMENT: &str = "azure.security.assessment";

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    vec![
        azure(
            "defender_ensure_system_updates_are_applied",
            "Defender finds system updates applied",
            Severity::High,
            &[ASSESSMENT],
            system_updates,
        ),
        azure(
            "defender_assessments_vm_endpoint_protection_installed",
            "Defender finds endpoint protection installed",
            Severity::High,
            &[ASSESSMENT],
            endpoint_protection,
        ),
    ]
}

fn by_name<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>, needles: &'static [&'static str]) {
    per_doc(ctx, ASSESSMENT, out, |d| {
        let name = s(&d.raw, "/properties/displayName")?.to_ascii_lowercase();
        if !needles.iter().any(|n| name.contains(n)) {
            return None;
        }
        let code = s(&d.raw, "/properties/status/code").unwrap_or("");
        let resource = s(&d.raw, "/properties/resourceDetails/Id")
            .or_else(|| s(&d.raw, "/properties/resourceDetails/id"));
        let status = match code.to_ascii_lowercase().as_str() {
            "healthy" => Status::Pass,
            "unhealthy" => Status::Fail,
            _ => return None,
        };
        Some((
            status,
            format!("Defender assessment is {code}").into(),
            ev!({"displayName": s(&d.raw, "/properties/displayName"), "status": code, "resource": resource}),
        ))
    });
}

fn system_updates<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    by_name(ctx, out, &["system updates"]);
}

fn endpoint_protection<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    by_name(ctx, out, &["endpoint protection", "edr solution"]);
}
