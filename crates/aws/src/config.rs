//! AWS Config (per region): recorders and their status, in the API's camelCase names.

use aws_config::SdkConfig;
use aws_sdk_config::Client;
use serde_json::json;
use trustplane_posture::ResourceDoc;

use crate::common::{en, msg, task, ts, Scope, Task};

const RECORDERS: &str = "aws.config.recorders";

/// The Config collection of one region.
pub(crate) fn tasks(conf: &SdkConfig, scope: &Scope) -> Vec<Task> {
    let c = Client::new(conf);
    vec![task(scope, "config", &[RECORDERS], |s| async move {
        recorders(&c, &s).await
    })]
}

async fn recorders(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let rec = c
        .describe_configuration_recorders()
        .send()
        .await
        .map_err(msg)?;
    let st = c
        .describe_configuration_recorder_status()
        .send()
        .await
        .map_err(msg)?;
    let recorders: Vec<_> = rec
        .configuration_recorders()
        .iter()
        .map(|r| {
            json!({
                "name": r.name(),
                "roleARN": r.role_arn(),
                "recordingGroup": r.recording_group().map(|g| json!({
                    "allSupported": g.all_supported(),
                    "includeGlobalResourceTypes": g.include_global_resource_types(),
                    "resourceTypes": g.resource_types().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                })),
            })
        })
        .collect();
    let statuses: Vec<_> = st
        .configuration_recorders_status()
        .iter()
        .map(|r| {
            json!({
                "name": r.name(),
                "recording": r.recording(),
                "lastStatus": en(r.last_status()),
                "lastStartTime": ts(r.last_start_time()),
                "lastStopTime": ts(r.last_stop_time()),
                "lastErrorCode": r.last_error_code(),
                "lastErrorMessage": r.last_error_message(),
            })
        })
        .collect();
    let id = format!(
        "arn:aws:config:{}:{}:configuration-recorders",
        s.region, s.account
    );
    Ok(vec![s.doc(
        RECORDERS,
        &id,
        "configuration recorders",
        json!({"ConfigurationRecorders": recorders, "ConfigurationRecordersStatus": statuses}),
    )])
}
