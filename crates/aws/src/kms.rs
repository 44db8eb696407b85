//! KMS (per region): keys with their metadata and rotation status.

use aws_config::SdkConfig;
use aws_sdk_kms::types::{KeyManagerType, KeySpec, KeyState};
use aws_sdk_kms::Client;
use futures::StreamExt;
use serde_json::{json, Value};
use trustplane_posture::ResourceDoc;

use crate::common::{en, msg, task, ts, Scope, Task};

const KEY: &str = "aws.kms.key";

/// The KMS collection of one region.
pub(crate) fn tasks(conf: &SdkConfig, scope: &Scope) -> Vec<Task> {
    let c = Client::new(conf);
    vec![task(
        scope,
        "kms",
        &[KEY],
        |s| async move { keys(&c, &s).await },
    )]
}

async fn keys(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let keys = c
        .list_keys()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    let docs = futures::stream::iter(keys)
        .map(|k| async move {
            let id = k.key_id().unwrap_or_default().to_string();
            let arn = k.key_arn().unwrap_or(&id).to_string();
            match key(c, &id).await {
                Ok(raw) => s.doc(KEY, &arn, &id, raw),
                Err(m) => s.error("kms", &[KEY], &m, Some(&arn)),
            }
        })
        .buffer_unordered(s.fan_out)
        .collect::<Vec<_>>()
        .await;
    Ok(docs)
}

async fn key(c: &Client, id: &str) -> Result<Value, String> {
    let out = c.describe_key().key_id(id).send().await.map_err(msg)?;
    let Some(m) = out.key_metadata() else {
        return Err(format!("DescribeKey {id}: no KeyMetadata"));
    };
    // Rotation applies to enabled customer-managed symmetric keys only; asking for others
    // is an error (asymmetric, HMAC) or not meaningful (AWS-managed keys rotate yearly).
    let rotatable = m.key_manager() == Some(&KeyManagerType::Customer)
        && m.key_spec().is_none_or(|k| *k == KeySpec::SymmetricDefault)
        && m.key_state() == Some(&KeyState::Enabled);
    let rotation = if rotatable {
        let r = c
            .get_key_rotation_status()
            .key_id(id)
            .send()
            .await
            .map_err(msg)?;
        Value::Bool(r.key_rotation_enabled())
    } else {
        Value::Null
    };
    Ok(json!({
        "KeyMetadata": {
            "KeyId": m.key_id(),
            "Arn": m.arn(),
            "AWSAccountId": m.aws_account_id(),
            "Description": m.description(),
            "CreationDate": ts(m.creation_date()),
            "Enabled": m.enabled(),
            "KeyState": en(m.key_state()),
            "KeyManager": en(m.key_manager()),
            "KeySpec": en(m.key_spec()),
            "KeyUsage": en(m.key_usage()),
            "Origin": en(m.origin()),
            "MultiRegion": m.multi_region(),
        },
        "KeyRotationEnabled": rotation,
    }))
}
