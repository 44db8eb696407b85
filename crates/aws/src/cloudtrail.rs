//! CloudTrail (per region): trails in their home region with status and event selectors.

use aws_config::SdkConfig;
use aws_sdk_cloudtrail::Client;
use futures::StreamExt;
use serde_json::{json, Value};
use trustplane_posture::ResourceDoc;

use crate::common::{en, msg, task, ts, Scope, Task};

const TRAIL: &str = "aws.cloudtrail.trail";

/// The CloudTrail collection of one region.
pub(crate) fn tasks(conf: &SdkConfig, scope: &Scope) -> Vec<Task> {
    let c = Client::new(conf);
    vec![task(scope, "cloudtrail", &[TRAIL], |s| async move {
        trails(&c, &s).await
    })]
}

async fn trails(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    // Shadow trails (a multi-region trail seen from another region) are left out: each trail
    // is written once, by its home region.
    let out = c
        .describe_trails()
        .include_shadow_trails(false)
        .send()
        .await
        .map_err(msg)?;
    let docs = futures::stream::iter(out.trail_list().to_vec())
        .map(|t| async move {
            let arn = t.trail_arn().unwrap_or_default().to_string();
            let name = t.name().unwrap_or_default().to_string();
            match details(c, &arn).await {
                Ok((status, basic, advanced)) => s.doc(
                    TRAIL,
                    &arn,
                    &name,
                    json!({
                        "Name": t.name(),
                        "TrailARN": t.trail_arn(),
                        "HomeRegion": t.home_region(),
                        "S3BucketName": t.s3_bucket_name(),
                        "S3KeyPrefix": t.s3_key_prefix(),
                        "SnsTopicARN": t.sns_topic_arn(),
                        "IncludeGlobalServiceEvents": t.include_global_service_events(),
                        "IsMultiRegionTrail": t.is_multi_region_trail(),
                        "IsOrganizationTrail": t.is_organization_trail(),
                        "LogFileValidationEnabled": t.log_file_validation_enabled(),
                        "CloudWatchLogsLogGroupArn": t.cloud_watch_logs_log_group_arn(),
                        "CloudWatchLogsRoleArn": t.cloud_watch_logs_role_arn(),
                        "KmsKeyId": t.kms_key_id(),
                        "HasCustomEventSelectors": t.has_custom_event_selectors(),
                        "HasInsightSelectors": t.has_insight_selectors(),
                        "Status": status,
                        "EventSelectors": basic,
                        "AdvancedEventSelectors": advanced,
                    }),
                ),
                Err(m) => s.error("cloudtrail", &[TRAIL], &m, Some(&arn)),
            }
        })
        .buffer_unordered(s.fan_out)
        .collect::<Vec<_>>()
        .await;
    Ok(docs)
}

/// GetTrailStatus and GetEventSelectors of one trail.
async fn details(c: &Client, arn: &str) -> Result<(Value, Value, Value), String> {
    let st = c.get_trail_status().name(arn).send().await.map_err(msg)?;
    let status = json!({
        "IsLogging": st.is_logging(),
        "LatestDeliveryTime": ts(st.latest_delivery_time()),
        "LatestDeliveryError": st.latest_delivery_error(),
        "StartLoggingTime": ts(st.start_logging_time()),
        "StopLoggingTime": ts(st.stop_logging_time()),
    });
    let sel = c
        .get_event_selectors()
        .trail_name(arn)
        .send()
        .await
        .map_err(msg)?;
    let basic: Vec<Value> = sel
        .event_selectors()
        .iter()
        .map(|e| {
            json!({
                "ReadWriteType": en(e.read_write_type()),
                "IncludeManagementEvents": e.include_management_events(),
                "DataResources": e.data_resources().iter().map(|d| json!({"Type": d.r#type(), "Values": d.values()})).collect::<Vec<_>>(),
                "ExcludeManagementEventSources": e.exclude_management_event_sources(),
            })
        })
        .collect();
    let advanced: Vec<Value> = sel
        .advanced_event_selectors()
        .iter()
        .map(|a| {
            json!({
                "Name": a.name(),
                "FieldSelectors": a.field_selectors().iter().map(|f| json!({
                    "Field": f.field(),
                    "Equals": f.equals(),
                    "StartsWith": f.starts_with(),
                    "EndsWith": f.ends_with(),
                    "NotEquals": f.not_equals(),
                    "NotStartsWith": f.not_starts_with(),
                    "NotEndsWith": f.not_ends_with(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok((status, Value::Array(basic), Value::Array(advanced)))
}
