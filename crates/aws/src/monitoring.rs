//! The CIS monitoring chain (per region): CloudWatch Logs metric filters, CloudWatch metric
//! alarms, SNS subscriptions.

use aws_config::SdkConfig;
use serde_json::json;
use trustplane_posture::ResourceDoc;

use crate::common::{en, msg, task, Scope, Task};

/// The monitoring collections of one region.
pub(crate) fn tasks(conf: &SdkConfig, scope: &Scope) -> Vec<Task> {
    let logs = aws_sdk_cloudwatchlogs::Client::new(conf);
    let cw = aws_sdk_cloudwatch::Client::new(conf);
    let sns = aws_sdk_sns::Client::new(conf);
    vec![
        task(scope, "logs", &["aws.logs.metric_filter"], |s| async move {
            metric_filters(&logs, &s).await
        }),
        task(
            scope,
            "cloudwatch",
            &["aws.cloudwatch.alarm"],
            |s| async move { alarms(&cw, &s).await },
        ),
        task(scope, "sns", &["aws.sns.subscription"], |s| async move {
            subscriptions(&sns, &s).await
        }),
    ]
}

async fn metric_filters(
    c: &aws_sdk_cloudwatchlogs::Client,
    s: &Scope,
) -> Result<Vec<ResourceDoc>, String> {
    let filters = c
        .describe_metric_filters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    Ok(filters
        .iter()
        .map(|f| {
            let name = f.filter_name().unwrap_or_default();
            let group = f.log_group_name().unwrap_or_default();
            let id = format!(
                "arn:aws:logs:{}:{}:log-group:{group}:metric-filter/{name}",
                s.region, s.account
            );
            s.doc(
                "aws.logs.metric_filter",
                &id,
                name,
                json!({
                    "filterName": f.filter_name(),
                    "filterPattern": f.filter_pattern(),
                    "logGroupName": f.log_group_name(),
                    "creationTime": f.creation_time(),
                    "metricTransformations": f.metric_transformations().iter().map(|m| json!({
                        "metricName": m.metric_name(),
                        "metricNamespace": m.metric_namespace(),
                        "metricValue": m.metric_value(),
                        "defaultValue": m.default_value(),
                    })).collect::<Vec<_>>(),
                }),
            )
        })
        .collect())
}

async fn alarms(c: &aws_sdk_cloudwatch::Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let pages = c
        .describe_alarms()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    Ok(pages
        .iter()
        .flat_map(|p| p.metric_alarms())
        .map(|a| {
            let name = a.alarm_name().unwrap_or_default();
            s.doc(
                "aws.cloudwatch.alarm",
                a.alarm_arn().unwrap_or(name),
                name,
                json!({
                    "AlarmName": a.alarm_name(),
                    "AlarmArn": a.alarm_arn(),
                    "MetricName": a.metric_name(),
                    "Namespace": a.namespace(),
                    "Statistic": en(a.statistic()),
                    "Period": a.period(),
                    "EvaluationPeriods": a.evaluation_periods(),
                    "Threshold": a.threshold(),
                    "ComparisonOperator": en(a.comparison_operator()),
                    "ActionsEnabled": a.actions_enabled(),
                    "AlarmActions": a.alarm_actions(),
                    "StateValue": en(a.state_value()),
                }),
            )
        })
        .collect())
}

async fn subscriptions(c: &aws_sdk_sns::Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let subs = c
        .list_subscriptions()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    Ok(subs
        .iter()
        .enumerate()
        .map(|(n, x)| {
            // Pending subscriptions have no ARN ("PendingConfirmation"): keep them, with an id
            // that is still unique.
            let arn = x.subscription_arn().unwrap_or_default();
            let id = if arn.starts_with("arn:") {
                arn.to_string()
            } else {
                format!("{}#pending-{n}", x.topic_arn().unwrap_or_default())
            };
            s.doc(
                "aws.sns.subscription",
                &id,
                x.endpoint().unwrap_or_default(),
                json!({
                    "SubscriptionArn": x.subscription_arn(),
                    "Owner": x.owner(),
                    "Protocol": x.protocol(),
                    "Endpoint": x.endpoint(),
                    "TopicArn": x.topic_arn(),
                }),
            )
        })
        .collect())
}
