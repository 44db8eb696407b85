//! CIS AWS storage controls (3.0 section 2, 7.0 sections 3 and 6.1).
//!
//! Inputs: `aws.s3.bucket` (`Name`, `Policy` (object or JSON string), `Versioning`
//! (GetBucketVersioning), `PublicAccessBlockConfiguration`, `Logging` (GetBucketLogging)),
//! `aws.s3.account_public_access_block`, `aws.ec2.ebs_encryption_by_default` (per region),
//! `aws.rds.db_instance` (a DescribeDBInstances item), `aws.efs.file_system`.

use serde_json::Value;

use super::aws_iam::policy_document;
use super::util::*;
use crate::finding::Severity;
use crate::inventory::Provider;
use crate::registry::{CheckCtx, CheckDef, Outcome};

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
            "s3_bucket_secure_transport_policy",
            "Bucket policy denies HTTP",
            Severity::Medium,
            &["aws.s3.bucket"],
            secure_transport,
        ),
        def(
            "s3_bucket_no_mfa_delete",
            "Bucket has MFA delete",
            Severity::Medium,
            &["aws.s3.bucket"],
            mfa_delete,
        ),
        def(
            "s3_bucket_level_public_access_block",
            "Bucket blocks public access",
            Severity::High,
            &["aws.s3.bucket", "aws.s3.account_public_access_block"],
            bucket_pab,
        ),
        def(
            "s3_account_level_public_access_blocks",
            "Account blocks S3 public access",
            Severity::High,
            &["aws.s3.account_public_access_block"],
            account_pab,
        ),
        def(
            "ec2_ebs_default_encryption",
            "EBS encryption by default in every region",
            Severity::Medium,
            &["aws.ec2.ebs_encryption_by_default"],
            ebs_default,
        ),
        def(
            "rds_instance_storage_encrypted",
            "RDS storage encrypted",
            Severity::Medium,
            &["aws.rds.db_instance"],
            rds_encrypted,
        ),
        def(
            "rds_instance_minor_version_upgrade_enabled",
            "RDS auto minor version upgrade",
            Severity::Low,
            &["aws.rds.db_instance"],
            rds_minor,
        ),
        def(
            "rds_instance_no_public_access",
            "RDS not publicly accessible",
            Severity::High,
            &["aws.rds.db_instance"],
            rds_public,
        ),
        def(
            "efs_encryption_at_rest_enabled",
            "EFS encrypted at rest",
            Severity::Medium,
            &["aws.efs.file_system"],
            efs_encrypted,
        ),
    ]
}

fn secure_transport<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "aws.s3.bucket", out, |d| {
        let policy = policy_document(d.raw.get("Policy"));
        let ok = policy.as_ref().is_some_and(denies_http);
        let msg = match (&policy, ok) {
            (None, _) => "bucket has no policy",
            (Some(_), true) => "bucket policy denies requests without TLS",
            (Some(_), false) => "bucket policy does not deny requests without TLS",
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"has_policy": policy.is_some(), "denies_insecure_transport": ok}),
        ))
    });
}

/// A `Deny` for every principal on `s3:*` (or `*`) when `aws:SecureTransport` is false.
fn denies_http(policy: &Value) -> bool {
    one_or_many(policy.get("Statement")).into_iter().any(|st| {
        let deny = st.get("Effect").and_then(Value::as_str) == Some("Deny");
        let principal = match st.get("Principal") {
            Some(Value::String(p)) => p == "*",
            Some(p) => one_or_many(p.get("AWS"))
                .iter()
                .any(|a| a.as_str() == Some("*")),
            None => false,
        };
        let action = one_or_many(st.get("Action"))
            .iter()
            .any(|a| matches!(a.as_str(), Some("s3:*") | Some("*")));
        let cond = st
            .at("/Condition/Bool/aws:SecureTransport")
            .map(|v| match v {
                Value::Bool(x) => !*x,
                Value::String(x) => x.eq_ignore_ascii_case("false"),
                Value::Array(a) => a
                    .iter()
                    .any(|x| x.as_str().is_some_and(|x| x.eq_ignore_ascii_case("false"))),
                _ => false,
            })
            .unwrap_or(false);
        deny && principal && action && cond
    })
}

fn mfa_delete<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "aws.s3.bucket", out, |d| {
        let v = s(&d.raw, "/Versioning/MFADelete");
        let ok = v == Some("Enabled");
        let msg = if ok {
            "MFA delete enabled"
        } else {
            "MFA delete not enabled"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"Versioning": d.raw.get("Versioning")}),
        ))
    });
}

const PAB_FLAGS: [&str; 4] = [
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
];

fn all_blocked(cfg: Option<&Value>) -> bool {
    cfg.is_some_and(|c| {
        PAB_FLAGS
            .iter()
            .all(|f| c.get(*f).and_then(Value::as_bool) == Some(true))
    })
}

fn bucket_pab<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    let by_account: std::collections::HashMap<&str, &Value> = ctx
        .inventory
        .of_type("aws.s3.account_public_access_block")
        .filter_map(|a| {
            a.raw
                .get("PublicAccessBlockConfiguration")
                .map(|c| (a.account.as_str(), c))
        })
        .collect();
    per_doc(ctx, "aws.s3.bucket", out, |d| {
        let bucket = d.raw.get("PublicAccessBlockConfiguration");
        let account = by_account.get(d.account.as_str()).copied();
        let ok = all_blocked(bucket) || all_blocked(account);
        let msg = if ok {
            "public access blocked"
        } else {
            "public access not fully blocked at bucket or account level"
        };
        Some((
            pass_if(ok),
            msg.into(),
            ev!({"bucket": bucket, "account": account}),
        ))
    });
}

fn account_pab<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_account_singleton(
        ctx,
        Provider::Aws,
        "aws.s3.account_public_access_block",
        out,
        |d| {
            let cfg = d.raw.get("PublicAccessBlockConfiguration");
            let ok = all_blocked(cfg);
            let msg = if ok {
                "account-level public access block on"
            } else {
                "account-level public access block not fully on"
            };
            (
                pass_if(ok),
                msg.into(),
                ev!({"PublicAccessBlockConfiguration": cfg}),
            )
        },
    );
}

fn ebs_default<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_region_singleton(ctx, "aws.ec2.ebs_encryption_by_default", out, |d| {
        let on = b(&d.raw, "/EbsEncryptionByDefault").unwrap_or(false);
        let msg = if on {
            "EBS encryption by default on"
        } else {
            "EBS encryption by default off"
        };
        (pass_if(on), msg.into(), ev!({"EbsEncryptionByDefault": on}))
    });
}

fn rds_flag<'a>(
    ctx: &CheckCtx<'a>,
    out: &mut Vec<Outcome<'a>>,
    field: &'static str,
    want: bool,
    good: &'static str,
    bad: &'static str,
) {
    per_doc(ctx, "aws.rds.db_instance", out, |d| {
        let v = b(&d.raw, &format!("/{field}")).unwrap_or(!want);
        let ok = v == want;
        Some((
            pass_if(ok),
            if ok { good } else { bad }.into(),
            ev!({ field: v }),
        ))
    });
}

fn rds_encrypted<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    rds_flag(
        ctx,
        out,
        "StorageEncrypted",
        true,
        "storage encrypted",
        "storage not encrypted",
    );
}

fn rds_minor<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    rds_flag(
        ctx,
        out,
        "AutoMinorVersionUpgrade",
        true,
        "auto minor version upgrade on",
        "auto minor version upgrade off",
    );
}

fn rds_public<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    rds_flag(
        ctx,
        out,
        "PubliclyAccessible",
        false,
        "not publicly accessible",
        "publicly accessible",
    );
}

fn efs_encrypted<'a>(ctx: &CheckCtx<'a>, out: &mut Vec<Outcome<'a>>) {
    per_doc(ctx, "aws.efs.file_system", out, |d| {
        let on = b(&d.raw, "/Encrypted").unwrap_or(false);
        Some((
            pass_if(on),
            if on { "encrypted" } else { "not encrypted" }.into(),
            ev!({"Encrypted": on}),
        ))
    });
}
