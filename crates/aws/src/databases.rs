//! RDS instances and EFS file systems (per region).

use aws_config::SdkConfig;
use serde_json::json;
use trustplane_posture::ResourceDoc;

use crate::common::{msg, task, Scope, Task};

/// The database and file-system collections of one region.
pub(crate) fn tasks(conf: &SdkConfig, scope: &Scope) -> Vec<Task> {
    let rds = aws_sdk_rds::Client::new(conf);
    let efs = aws_sdk_efs::Client::new(conf);
    vec![
        task(scope, "rds", &["aws.rds.db_instance"], |s| async move {
            db_instances(&rds, &s).await
        }),
        task(scope, "efs", &["aws.efs.file_system"], |s| async move {
            file_systems(&efs, &s).await
        }),
    ]
}

async fn db_instances(c: &aws_sdk_rds::Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let list = c
        .describe_db_instances()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    Ok(list
        .iter()
        .map(|d| {
            let name = d.db_instance_identifier().unwrap_or_default();
            s.doc(
                "aws.rds.db_instance",
                d.db_instance_arn().unwrap_or(name),
                name,
                json!({
                    "DBInstanceIdentifier": d.db_instance_identifier(),
                    "DBInstanceArn": d.db_instance_arn(),
                    "Engine": d.engine(),
                    "EngineVersion": d.engine_version(),
                    "DBInstanceStatus": d.db_instance_status(),
                    "StorageEncrypted": d.storage_encrypted(),
                    "KmsKeyId": d.kms_key_id(),
                    "AutoMinorVersionUpgrade": d.auto_minor_version_upgrade(),
                    "PubliclyAccessible": d.publicly_accessible(),
                    "MultiAZ": d.multi_az(),
                }),
            )
        })
        .collect())
}

async fn file_systems(c: &aws_sdk_efs::Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let list = c
        .describe_file_systems()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    Ok(list
        .iter()
        .map(|f| {
            let id = f.file_system_id();
            s.doc(
                "aws.efs.file_system",
                f.file_system_arn().unwrap_or(id),
                f.name().unwrap_or(id),
                json!({
                    "FileSystemId": f.file_system_id(),
                    "FileSystemArn": f.file_system_arn(),
                    "Name": f.name(),
                    "Encrypted": f.encrypted(),
                    "KmsKeyId": f.kms_key_id(),
                    "LifeCycleState": f.life_cycle_state().as_str(),
                }),
            )
        })
        .collect())
}
