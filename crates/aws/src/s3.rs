//! S3 (global listing, per-bucket settings in the bucket's region) and the account-level
//! public access block (S3 Control).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use futures::StreamExt;
use serde_json::{json, Value};
use trustplane_posture::ResourceDoc;

use crate::client::{authority, for_region, StripAccountHost};
use crate::common::{code, en, msg, task, Scope, Task};

const BUCKET: &str = "aws.s3.bucket";
const ACCOUNT_PAB: &str = "aws.s3.account_public_access_block";

/// The S3 collections of one account.
pub(crate) fn tasks(conf: &SdkConfig, scope: &Scope) -> Vec<Task> {
    vec![
        task(scope, "s3", &[BUCKET], {
            let conf = conf.clone();
            |s| async move { buckets(conf, &s).await }
        }),
        task(scope, "s3control", &[ACCOUNT_PAB], {
            let conf = conf.clone();
            |s| async move { account_pab(&conf, &s).await }
        }),
    ]
}

fn s3_client(conf: &SdkConfig) -> aws_sdk_s3::Client {
    // Emulators serve buckets by path, not as virtual hosts.
    let path_style = conf.endpoint_url().is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(path_style)
            .build(),
    )
}

/// One S3 client per bucket region: per-bucket calls must go to the bucket's region.
struct Clients {
    conf: SdkConfig,
    by_region: Mutex<HashMap<String, aws_sdk_s3::Client>>,
}

impl Clients {
    fn get(&self, region: &str) -> aws_sdk_s3::Client {
        let mut map = match self.by_region.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.entry(region.to_string())
            .or_insert_with(|| s3_client(&for_region(&self.conf, region)))
            .clone()
    }
}

async fn buckets(conf: SdkConfig, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let global = s3_client(&conf);
    let list = global
        .list_buckets()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    let names: Vec<String> = list
        .iter()
        .flat_map(|p| p.buckets())
        .filter_map(|b| b.name().map(str::to_string))
        .collect();
    let clients = Arc::new(Clients {
        conf,
        by_region: Mutex::new(HashMap::new()),
    });
    let docs = futures::stream::iter(names)
        .map(|name| {
            let clients = clients.clone();
            let global = global.clone();
            async move {
                let arn = format!("arn:aws:s3:::{name}");
                match bucket(&global, &clients, &name).await {
                    Ok((region, raw)) => s.in_region(&region).doc(BUCKET, &arn, &name, raw),
                    Err(m) => s.error("s3", &[BUCKET], &m, Some(&arn)),
                }
            }
        })
        .buffer_unordered(s.fan_out)
        .collect::<Vec<_>>()
        .await;
    Ok(docs)
}

/// Location, policy, versioning, public access block, logging and encryption of one bucket.
async fn bucket(
    global: &aws_sdk_s3::Client,
    clients: &Clients,
    name: &str,
) -> Result<(String, Value), String> {
    let loc = global
        .get_bucket_location()
        .bucket(name)
        .send()
        .await
        .map_err(msg)?;
    // An empty location constraint means us-east-1; "EU" is the legacy name of eu-west-1.
    let region = match loc.location_constraint().map(|l| l.as_str()) {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(r) => r.to_string(),
    };
    let c = clients.get(&region);
    let policy = match c.get_bucket_policy().bucket(name).send().await {
        Ok(out) => out
            .policy()
            .map_or(Value::Null, |p| Value::String(p.to_string())),
        Err(e) if code(&e) == Some("NoSuchBucketPolicy") => Value::Null,
        Err(e) => return Err(msg(e)),
    };
    let v = c
        .get_bucket_versioning()
        .bucket(name)
        .send()
        .await
        .map_err(msg)?;
    let versioning = json!({"Status": en(v.status()), "MFADelete": en(v.mfa_delete())});
    let pab = match c.get_public_access_block().bucket(name).send().await {
        Ok(out) => out
            .public_access_block_configuration()
            .map_or(Value::Null, |p| {
                json!({
                    "BlockPublicAcls": p.block_public_acls(),
                    "IgnorePublicAcls": p.ignore_public_acls(),
                    "BlockPublicPolicy": p.block_public_policy(),
                    "RestrictPublicBuckets": p.restrict_public_buckets(),
                })
            }),
        Err(e) if code(&e) == Some("NoSuchPublicAccessBlockConfiguration") => Value::Null,
        Err(e) => return Err(msg(e)),
    };
    let l = c
        .get_bucket_logging()
        .bucket(name)
        .send()
        .await
        .map_err(msg)?;
    let logging = json!({
        "LoggingEnabled": l.logging_enabled().map(|le| json!({"TargetBucket": le.target_bucket(), "TargetPrefix": le.target_prefix()})),
    });
    let encryption = match c.get_bucket_encryption().bucket(name).send().await {
        Ok(out) => out
            .server_side_encryption_configuration()
            .map_or(Value::Null, |cfg| {
                json!({"Rules": cfg.rules().iter().map(|r| json!({
                    "ApplyServerSideEncryptionByDefault": r.apply_server_side_encryption_by_default().map(|d| json!({
                        "SSEAlgorithm": d.sse_algorithm().as_str(),
                        "KMSMasterKeyID": d.kms_master_key_id(),
                    })),
                    "BucketKeyEnabled": r.bucket_key_enabled(),
                })).collect::<Vec<_>>()})
            }),
        Err(e) if code(&e) == Some("ServerSideEncryptionConfigurationNotFoundError") => Value::Null,
        Err(e) => return Err(msg(e)),
    };
    Ok((
        region.clone(),
        json!({
            "Name": name,
            "BucketRegion": region,
            "Policy": policy,
            "Versioning": versioning,
            "PublicAccessBlockConfiguration": pab,
            "Logging": logging,
            "ServerSideEncryptionConfiguration": encryption,
        }),
    ))
}

async fn account_pab(conf: &SdkConfig, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let mut b = aws_sdk_s3control::config::Builder::from(conf);
    if let Some(url) = conf.endpoint_url() {
        b = b.interceptor(StripAccountHost {
            authority: authority(url),
        });
    }
    let c = aws_sdk_s3control::Client::from_conf(b.build());
    let cfg = match c
        .get_public_access_block()
        .account_id(&s.account)
        .send()
        .await
    {
        Ok(out) => out
            .public_access_block_configuration()
            .map_or(Value::Null, |p| {
                json!({
                    "BlockPublicAcls": p.block_public_acls(),
                    "IgnorePublicAcls": p.ignore_public_acls(),
                    "BlockPublicPolicy": p.block_public_policy(),
                    "RestrictPublicBuckets": p.restrict_public_buckets(),
                })
            }),
        // Not configured: the answer is "nothing blocked", not a failure.
        Err(e) if code(&e) == Some("NoSuchPublicAccessBlockConfiguration") => Value::Null,
        Err(e) => return Err(msg(e)),
    };
    let id = format!("arn:aws:s3:::account/{}/public-access-block", s.account);
    Ok(vec![s.doc(
        ACCOUNT_PAB,
        &id,
        "account public access block",
        json!({ "PublicAccessBlockConfiguration": cfg }),
    )])
}
