//! IAM Access Analyzer and Security Hub (per region): per-region singletons.

use aws_config::SdkConfig;
use serde_json::{json, Value};
use trustplane_posture::ResourceDoc;

use crate::common::{code, describe, en, msg, task, ts, Scope, Task};

/// The Access Analyzer and Security Hub collections of one region.
pub(crate) fn tasks(conf: &SdkConfig, scope: &Scope) -> Vec<Task> {
    let aa = aws_sdk_accessanalyzer::Client::new(conf);
    let hub = aws_sdk_securityhub::Client::new(conf);
    vec![
        task(
            scope,
            "accessanalyzer",
            &["aws.accessanalyzer.analyzers"],
            |s| async move { analyzers(&aa, &s).await },
        ),
        task(
            scope,
            "securityhub",
            &["aws.securityhub.hub"],
            |s| async move { security_hub(&hub, &s).await },
        ),
    ]
}

async fn analyzers(
    c: &aws_sdk_accessanalyzer::Client,
    s: &Scope,
) -> Result<Vec<ResourceDoc>, String> {
    let list = c
        .list_analyzers()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    let items: Vec<Value> = list
        .iter()
        .map(|a| {
            json!({
                "arn": a.arn(),
                "name": a.name(),
                "type": a.r#type().as_str(),
                "status": a.status().as_str(),
                "createdAt": ts(Some(a.created_at())),
            })
        })
        .collect();
    let id = format!(
        "arn:aws:access-analyzer:{}:{}:analyzers",
        s.region, s.account
    );
    Ok(vec![s.doc(
        "aws.accessanalyzer.analyzers",
        &id,
        "analyzers",
        json!({ "analyzers": items }),
    )])
}

async fn security_hub(
    c: &aws_sdk_securityhub::Client,
    s: &Scope,
) -> Result<Vec<ResourceDoc>, String> {
    let raw = match c.describe_hub().send().await {
        Ok(out) => json!({
            "HubArn": out.hub_arn(),
            "SubscribedAt": out.subscribed_at(),
            "AutoEnableControls": out.auto_enable_controls(),
            "ControlFindingGenerator": en(out.control_finding_generator()),
        }),
        // "not subscribed to AWS Security Hub" is the answer for a region without a hub.
        Err(e)
            if code(&e) == Some("InvalidAccessException")
                && describe(&e).contains("not subscribed") =>
        {
            json!({ "HubArn": null })
        }
        Err(e) => return Err(msg(e)),
    };
    let id = format!("arn:aws:securityhub:{}:{}:hub/default", s.region, s.account);
    Ok(vec![s.doc("aws.securityhub.hub", &id, "hub", raw)])
}
