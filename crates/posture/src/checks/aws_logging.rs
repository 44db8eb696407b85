//! CIS AWS logging controls (3.0 section 3, 7.0 section 4) and Security Hub.
//!
//! Inputs: `aws.cloudtrail.trail` (a DescribeTrails item stored once, in its home region, plus
//! `Status` from GetTrailStatus and `EventSelectors` / `AdvancedEventSelectors` from
//! GetEventSelectors), `aws.config.recorders` (per region: `ConfigurationRecorders` and
//! `ConfigurationRecordersStatus`), `aws.kms.key` (`KeyMetadata` plus `KeyRotationEnabled`),
//! `aws.ec2.vpc`, `aws.ec2.flow_log`, `aws.securityhub.hub` (per region: DescribeHub, `HubArn`
//! null when not enabled), and `aws.s3.bucket` for the trail bucket.

use std::collections::BTreeSet;

use serde_json::Value;

use super::util::*;
use crate::finding::{Severity, Status};
use crate::inventory::{Provider, ResourceDoc, GLOBAL};
use crate::registry::{CheckCtx, CheckDef, Outcome};

const TRAIL: &str = "aws.cloudtrail.trail";

const fn def(
    id: &'static str,
    title: &'static str,
    severity: Severity,
    needs: &'static [&'static str],
    run: crate::registry::CheckFn,
) -> CheckDef {
    CheckDef {
        id,
        title,
        provider: Provider::Aws,
        severity,
        needs,
        run,
        applies: None,
    }
}

/// The checks of this module.
pub fn checks() -> Vec<CheckDef> {
    vec![
        def(
            "cloudtrail_multi_region_enabled",
            "A logging multi-region trail records management events",
            Severity::High,
            &[TRAIL],
            multi_region,
        ),
        def(
            "cloudtrail_log_file_validation_enabled",
            "Trail log file validation",
            Severity::Medium,
            &[TRAIL],
            validation,
        ),
        def(
            "cloudtrail_kms_encryption_enabled",
            "Trail encrypted with KMS",
            Severity::Medium,
            &[TRAIL],
            trail_kms,
        ),
        def(
            "cloudtrail_logs_s3_bucket_access_logging_enabled",
            "Trail bucket has access logging",
            Severity::Medium,
            &[TRAIL, "aws.s3.bucket"],
            trail_bucket_logging,
        ),
        def(
            "cloudtrail_s3_dataevents_write_enabled",
            "S3 object-level write events logged",
            Severity::Low,
            &[TRAIL],
            data_write,
        ),
        def(
            "cloudtrail_s3_dataevents_read_enabled",
            "S3 object-level read events logged",
            Severity::Low,
            &[TRAIL],
            data_read,
        ),
        def(
            "config_recorder_all_regions_enabled",
            "AWS Config recording in every region",
            Severity::Medium,
            &["aws.config.recorders"],
            config_recorders,
        ),
        def(
            "kms_cmk_rotation_enabled",
            "Customer symmetric KMS keys rotate",
            Severity::Medium,
            &["aws.kms.key"],
            kms_rotation,
        ),
        def(
            "vpc_flow_logs_enabled",
            "Every VPC has flow logs",
            Severity::Medium,
            &["aws.ec2.vpc", "aws.ec2.flow_log"],
            flow_logs,
        ),
        def(
            "securityhub_enabled",
            "Security Hub enabled in every region",
            Severity::Medium,
            &["aws.securityhub.hub"],
            security_hub,
        ),
    ]
}

/// Trails of an account, once each (by ARN).
pub fn trails<'a>(ctx: &CheckCtx<'a>, account: &str) -> Vec<&'a ResourceDoc> {
    let mut seen = BTreeSet::new();
    ctx.inventory
        .of_type(TRAIL)
        .filter(|d| d.account == account)
        .filter(|d| seen.insert(s(&d.raw, "/TrailARN").unwrap_or(&d.id).to_string()))
        .collect()
}

/// Whether the trail records all (read and write) management events.
pub fn logs_all_management_events(t: &Value) -> bool {
    let basic = arr(t, "/EventSelectors");
    let advanced = arr(t, "/AdvancedEventSelectors");
    if basic.is_empty() && advanced.is_empty() {
        // A trail without selectors records every management event.
        return true;
    }
    let b_ok = basic.iter().any(|sel| {
        b(sel, "/IncludeManagementEvents").unwrap_or(true)
            && s(sel, "/ReadWriteType").unwrap_or("All") == "All"
    });
    let a_ok = advanced.iter().any(|sel| {
        let fields = arr(sel, "/FieldSelectors");
        let mgmt = fields.iter().any(|f| {
            s(f, "/Field") == Some("eventCategory")
                && arr(f, "/Equals")
                    .iter()
                    .any(|v| v.as_str() == Some("Management"))
        });
        let read_only_filter = fields.iter().any(|f| s(f, "/Field") == Some("readOnly"));
        mgmt && !read_only_filter
    });
    b_ok || a_ok
}

fn multi_region<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    for a in collected_accounts(ctx, Provider::Aws, TRAIL) {
        let good: Vec<&str> = trails(ctx, &a)
            .into_iter()
            .filter(|t| {
                b(&t.raw, "/IsMultiRegionTrail") == Some(true)
                    && b(&t.raw, "/Status/IsLogging") == Some(true)
                    && logs_all_management_events(&t.raw)
            })
            .map(|t| t.name.as_str())
            .collect();
        let st = pass_if(!good.is_empty());
        let msg = if good.is_empty() {
            "no logging multi-region trail records all management events"
        } else {
            "a multi-region trail is logging all management events"
        };
        out.push(scope_outcome(
            Provider::Aws,
            &a,
            GLOBAL,
            st,
            msg,
            ev!({"trails": good}),
        ));
    }
}

fn validation<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, TRAIL, out, |d| {
        let on = b(&d.raw, "/LogFileValidationEnabled").unwrap_or(false);
        Some((
            pass_if(on),
            if on {
                "log file validation on"
            } else {
                "log file validation off"
            }
            .into(),
            ev!({"LogFileValidationEnabled": on}),
        ))
    });
}

fn trail_kms<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, TRAIL, out, |d| {
        let key = s(&d.raw, "/KmsKeyId").filter(|k| !k.is_empty());
        Some((
            pass_if(key.is_some()),
            if key.is_some() {
                "logs encrypted with KMS"
            } else {
                "logs not encrypted with KMS"
            }
            .into(),
            ev!({"KmsKeyId": key}),
        ))
    });
}

fn trail_bucket_logging<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, TRAIL, out, |d| {
        let name = s(&d.raw, "/S3BucketName")?;
        let bucket = ctx
            .inventory
            .of_type("aws.s3.bucket")
            .find(|bk| bk.name == name || s(&bk.raw, "/Name") == Some(name));
        let Some(bucket) = bucket else {
            // The bucket may live in a log-archive account that was not scanned.
            return Some((
                Status::Error,
                format!("trail bucket `{name}` is not in the inventory").into(),
                ev!({"S3BucketName": name}),
            ));
        };
        let target = bucket
            .raw
            .at("/Logging/LoggingEnabled")
            .filter(|v| !v.is_null());
        let ok = target.is_some();
        let msg = if ok {
            "trail bucket has access logging"
        } else {
            "trail bucket has no access logging"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"S3BucketName": name, "LoggingEnabled": target}),
        ))
    });
}

/// Whether a trail records S3 object data events for every bucket, for reads or writes.
fn s3_data_events(t: &Value, want_read: bool) -> bool {
    let rw_ok = |rw: &str| {
        rw == "All" || (want_read && rw == "ReadOnly") || (!want_read && rw == "WriteOnly")
    };
    let basic = arr(t, "/EventSelectors").iter().any(|sel| {
        rw_ok(s(sel, "/ReadWriteType").unwrap_or("All"))
            && arr(sel, "/DataResources").iter().any(|r| {
                s(r, "/Type") == Some("AWS::S3::Object")
                    && arr(r, "/Values")
                        .iter()
                        .any(|v| matches!(v.as_str(), Some("arn:aws:s3") | Some("arn:aws:s3:::")))
            })
    });
    let advanced = arr(t, "/AdvancedEventSelectors").iter().any(|sel| {
        let fields = arr(sel, "/FieldSelectors");
        let has = |field: &str, value: &str| {
            fields.iter().any(|f| {
                s(f, "/Field") == Some(field)
                    && arr(f, "/Equals").iter().any(|v| v.as_str() == Some(value))
            })
        };
        let read_only = fields.iter().find(|f| s(f, "/Field") == Some("readOnly"));
        let rw = match read_only {
            None => true,
            Some(f) => arr(f, "/Equals")
                .iter()
                .any(|v| v.as_str() == Some(if want_read { "true" } else { "false" })),
        };
        let narrowed = fields
            .iter()
            .any(|f| s(f, "/Field") == Some("resources.ARN"));
        has("eventCategory", "Data") && has("resources.type", "AWS::S3::Object") && rw && !narrowed
    });
    basic || advanced
}

fn data_events<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>, read: bool) {
    for a in collected_accounts(ctx, Provider::Aws, TRAIL) {
        let good: Vec<&str> = trails(ctx, &a)
            .into_iter()
            .filter(|t| {
                b(&t.raw, "/IsMultiRegionTrail") == Some(true) && s3_data_events(&t.raw, read)
            })
            .map(|t| t.name.as_str())
            .collect();
        let kind = if read { "read" } else { "write" };
        let msg = if good.is_empty() {
            format!("no multi-region trail logs S3 object {kind} events for all buckets")
        } else {
            format!("S3 object {kind} events logged")
        };
        out.push(scope_outcome(
            Provider::Aws,
            &a,
            GLOBAL,
            pass_if(!good.is_empty()),
            msg,
            ev!({"trails": good}),
        ));
    }
}

fn data_write<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    data_events(ctx, out, false);
}

fn data_read<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    data_events(ctx, out, true);
}

fn config_recorders<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_region_singleton(ctx, "aws.config.recorders", out, |d| {
        let statuses = arr(&d.raw, "/ConfigurationRecordersStatus");
        let good: Vec<&str> = arr(&d.raw, "/ConfigurationRecorders")
            .iter()
            .filter(|r| b(r, "/recordingGroup/allSupported").unwrap_or(true))
            .filter_map(|r| s(r, "/name"))
            .filter(|name| {
                statuses.iter().any(|st| {
                    s(st, "/name") == Some(*name)
                        && b(st, "/recording") == Some(true)
                        && !s(st, "/lastStatus").is_some_and(|x| x.eq_ignore_ascii_case("failure"))
                })
            })
            .collect();
        let msg = if good.is_empty() {
            "no Config recorder recording all resources"
        } else {
            "Config recorder recording"
        };
        (
            pass_if(!good.is_empty()),
            msg.into(),
            ev!({"recording": good}),
        )
    });
}

fn kms_rotation<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "aws.kms.key", out, |d| {
        let m = d.raw.get("KeyMetadata")?;
        let customer = s(m, "/KeyManager") == Some("CUSTOMER");
        let symmetric = s(m, "/KeySpec")
            .or_else(|| s(m, "/CustomerMasterKeySpec"))
            .unwrap_or("SYMMETRIC_DEFAULT")
            == "SYMMETRIC_DEFAULT";
        let enabled = s(m, "/KeyState").unwrap_or("Enabled") == "Enabled";
        if !(customer && symmetric && enabled) {
            return None;
        }
        let on = b(&d.raw, "/KeyRotationEnabled").unwrap_or(false);
        Some((
            pass_if(on),
            if on {
                "key rotation on"
            } else {
                "key rotation off"
            }
            .into(),
            ev!({"KeyRotationEnabled": on}),
        ))
    });
}

fn flow_logs<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let mut active: BTreeSet<(&str, &str)> = BTreeSet::new();
    for f in ctx.inventory.of_type("aws.ec2.flow_log") {
        if s(&f.raw, "/FlowLogStatus").unwrap_or("ACTIVE") == "ACTIVE" {
            if let Some(r) = s(&f.raw, "/ResourceId") {
                active.insert((f.account.as_str(), r));
            }
        }
    }
    per_doc(ctx, "aws.ec2.vpc", out, |d| {
        let vpc = s(&d.raw, "/VpcId").unwrap_or(&d.id);
        let embedded = arr(&d.raw, "/FlowLogs")
            .iter()
            .any(|f| s(f, "/FlowLogStatus").unwrap_or("ACTIVE") == "ACTIVE");
        let ok = embedded || active.contains(&(d.account.as_str(), vpc));
        Some((
            pass_if(ok),
            if ok {
                "VPC has an active flow log"
            } else {
                "VPC has no flow log"
            }
            .into(),
            ev!({"VpcId": vpc, "flow_log": ok}),
        ))
    });
}

fn security_hub<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_region_singleton(ctx, "aws.securityhub.hub", out, |d| {
        let hub = s(&d.raw, "/HubArn");
        (
            pass_if(hub.is_some()),
            if hub.is_some() {
                "Security Hub enabled"
            } else {
                "Security Hub not enabled"
            }
            .into(),
            ev!({"HubArn": hub}),
        )
    });
}
