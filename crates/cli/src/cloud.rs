//! `trustplane admin accounts ...` and `trustplane admin log-sources ...`: connected clouds
//! through the admin API.

use anyhow::Result;
use reqwest::Method;
use serde_json::{json, Value};

use crate::args::{AccountsCommand, LogSourcesCommand, Output};
use crate::client::{enc, Client};
use crate::output;

const ACCOUNT_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("provider", "provider"),
    ("account", "account"),
    ("name", "displayName"),
    ("enabled", "enabled"),
    ("lastScan", "lastScanAt"),
    ("status", "lastStatus"),
];
const SCAN_COLUMNS: &[(&str, &str)] = &[
    ("started", "startedAt"),
    ("finished", "finishedAt"),
    ("status", "status"),
    ("new", "summary.new"),
    ("resolved", "summary.resolved"),
    ("openFailures", "summary.openFailures"),
    ("error", "error"),
];
const SOURCE_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "displayName"),
    ("region", "region"),
    ("lastKey", "lastKey"),
    ("objects", "objectsRead"),
    ("failed", "objectsFailed"),
    ("records", "recordsRead"),
    ("lastPoll", "lastPolledAt"),
    ("error", "lastError"),
];

fn some(v: Option<Value>) -> Value {
    v.unwrap_or(Value::Null)
}

pub async fn accounts(client: &Client, c: AccountsCommand, out: Output) -> Result<()> {
    match c {
        AccountsCommand::List => output::list(
            out,
            &client.list("/api/v1/posture/accounts", false).await?,
            ACCOUNT_COLUMNS,
        ),
        AccountsCommand::Show { id } => output::one(
            out,
            &client
                .get(&format!("/api/v1/posture/accounts/{}", enc(&id)))
                .await?,
        ),
        AccountsCommand::ConnectAws {
            account_id,
            role_arn,
            regions,
            endpoint_url,
            display_name,
            disabled,
        } => {
            let body = json!({
                "provider": "aws", "accountId": account_id, "roleArn": role_arn,
                "regions": regions, "endpointUrl": endpoint_url,
                "displayName": display_name, "enabled": !disabled,
            });
            output::one(
                out,
                &some(client.post("/api/v1/posture/accounts", &body).await?),
            );
        }
        AccountsCommand::ConnectAzure {
            subscription_id,
            tenant_id,
            client_id,
            client_secret_stdin: _,
            arm_endpoint,
            graph_endpoint,
            login_endpoint,
            display_name,
            disabled,
        } => {
            let secret = crate::client::secret_from_stdin("client secret")?;
            let body = json!({
                "provider": "azure", "subscriptionId": subscription_id, "tenantId": tenant_id,
                "clientId": client_id, "clientSecret": secret, "armEndpoint": arm_endpoint,
                "graphEndpoint": graph_endpoint, "loginEndpoint": login_endpoint,
                "displayName": display_name, "enabled": !disabled,
            });
            output::one(
                out,
                &some(client.post("/api/v1/posture/accounts", &body).await?),
            );
        }
        AccountsCommand::Disconnect { id } => {
            client
                .delete(&format!("/api/v1/posture/accounts/{}", enc(&id)))
                .await?;
            output::done(out, "disconnected");
        }
        AccountsCommand::Scan { id } => {
            let scan = some(
                client
                    .post(
                        &format!("/api/v1/posture/accounts/{}/scan", enc(&id)),
                        &json!({}),
                    )
                    .await?,
            );
            output::one(out, &scan);
        }
        AccountsCommand::Scans { id } => output::list(
            out,
            &client
                .list(
                    &format!("/api/v1/posture/accounts/{}/scans", enc(&id)),
                    false,
                )
                .await?,
            SCAN_COLUMNS,
        ),
        AccountsCommand::Schedule { interval_secs } => {
            let schedule = match interval_secs {
                Some(secs) => some(
                    client
                        .call(
                            Method::PUT,
                            "/api/v1/posture/schedule",
                            Some(&json!({ "intervalSecs": secs })),
                        )
                        .await?,
                ),
                None => client.get("/api/v1/posture/schedule").await?,
            };
            output::one(out, &schedule);
        }
    }
    Ok(())
}

pub async fn log_sources(client: &Client, c: LogSourcesCommand, out: Output) -> Result<()> {
    match c {
        LogSourcesCommand::List => output::list(
            out,
            &client.list("/api/v1/detect/sources", false).await?,
            SOURCE_COLUMNS,
        ),
        LogSourcesCommand::Show { id } => output::one(
            out,
            &client
                .get(&format!("/api/v1/detect/sources/{}", enc(&id)))
                .await?,
        ),
        LogSourcesCommand::Add {
            bucket,
            prefix,
            region,
            role_arn,
            endpoint_url,
            poll_interval_secs,
            display_name,
            disabled,
        } => {
            let body = json!({
                "bucket": bucket, "prefix": prefix, "region": region, "roleArn": role_arn,
                "endpointUrl": endpoint_url, "pollIntervalSecs": poll_interval_secs,
                "displayName": display_name, "enabled": !disabled,
            });
            output::one(
                out,
                &some(client.post("/api/v1/detect/sources", &body).await?),
            );
        }
        LogSourcesCommand::Remove { id } => {
            client
                .delete(&format!("/api/v1/detect/sources/{}", enc(&id)))
                .await?;
            output::done(out, "removed");
        }
        LogSourcesCommand::Poll { id } => output::one(
            out,
            &some(
                client
                    .post(
                        &format!("/api/v1/detect/sources/{}/poll", enc(&id)),
                        &json!({}),
                    )
                    .await?,
            ),
        ),
    }
    Ok(())
}
