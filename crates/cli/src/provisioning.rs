//! `trustplane admin provisioning connections ...`: provisioning connections (names work
//! where ids do). A `scimInbound` connection's bearer token is printed once, at creation; an
//! `awsScim` connection's token is read from a file (or standard input), never from the
//! command line, where other users of the machine could see it.

use anyhow::Result;
use serde_json::{json, Value};

use crate::args::{Output, ProvisioningCommand, ProvisioningConnectionsCommand};
use crate::client::{enc, Client};
use crate::output;

const CONNECTION_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("type", "type"),
    ("name", "displayName"),
    ("created", "createdDateTime"),
    ("last change", "status.lastChangeDateTime"),
];

const BASE: &str = "/api/v1/provisioning/connections";

pub async fn provisioning(client: &Client, c: ProvisioningCommand, out: Output) -> Result<()> {
    let ProvisioningCommand::Connections(c) = c;
    match c {
        ProvisioningConnectionsCommand::List => {
            output::list(out, &client.list(BASE, false).await?, CONNECTION_COLUMNS);
        }
        ProvisioningConnectionsCommand::Show { id } => {
            output::one(out, &client.get(&format!("{BASE}/{}", enc(&id))).await?);
        }
        ProvisioningConnectionsCommand::Status { id } => {
            output::one(
                out,
                &client.get(&format!("{BASE}/{}/status", enc(&id))).await?,
            );
        }
        ProvisioningConnectionsCommand::Run { id } => {
            let ran = client
                .post(&format!("{BASE}/{}/run", enc(&id)), &json!({}))
                .await?
                .unwrap_or(Value::Null);
            output::one(out, &ran);
        }
        ProvisioningConnectionsCommand::Confirm { id } => {
            let ran = client
                .post(&format!("{BASE}/{}/confirm", enc(&id)), &json!({}))
                .await?
                .unwrap_or(Value::Null);
            output::one(out, &ran);
        }
        ProvisioningConnectionsCommand::Delete { id } => {
            client.delete(&format!("{BASE}/{}", enc(&id))).await?;
            output::done(out, &format!("deleted provisioning connection {id}"));
        }
        ProvisioningConnectionsCommand::Create {
            kind,
            display_name,
            identity_store_id,
            region,
            endpoint,
            role_arn,
            scim_url,
            token_file,
            scope_groups,
            delete_threshold_percent,
        } => {
            let mut body = json!({ "type": kind, "displayName": display_name });
            for (field, value) in [
                ("identityStoreId", identity_store_id),
                ("region", region),
                ("endpoint", endpoint),
                ("roleArn", role_arn),
                ("url", scim_url),
            ] {
                if let Some(v) = value {
                    body[field] = json!(v);
                }
            }
            if let Some(path) = token_file {
                body["token"] = json!(read_token(&path)?);
            }
            if !scope_groups.is_empty() {
                body["scopeGroups"] = json!(scope_groups);
            }
            if let Some(p) = delete_threshold_percent {
                body["deleteThresholdPercent"] = json!(p);
            }
            let made = client.post(BASE, &body).await?.unwrap_or(Value::Null);
            match out {
                Output::Json => output::one(out, &made),
                Output::Table => {
                    println!(
                        "created {} connection {} ({})",
                        made["type"].as_str().unwrap_or_default(),
                        made["displayName"].as_str().unwrap_or_default(),
                        made["id"].as_str().unwrap_or_default()
                    );
                    if let Some(url) = made["settings"]["baseUrl"].as_str() {
                        println!("SCIM base URL: {url}");
                    }
                    if let Some(token) = made["token"].as_str() {
                        println!("bearer token (shown once): {token}");
                    }
                }
            }
        }
    }
    Ok(())
}

/// The token in a file (`-`: standard input), without its line end.
fn read_token(path: &std::path::Path) -> Result<String> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(std::io::stdin(), 64 * 1024),
            &mut s,
        )?;
        s
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
    };
    Ok(text.trim().to_string())
}
