//! `trustplane admin provisioning connections ...`: provisioning connections (names work
//! where ids do). A `scimInbound` connection's bearer token is printed once, at creation.

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
        ProvisioningConnectionsCommand::Delete { id } => {
            client.delete(&format!("{BASE}/{}", enc(&id))).await?;
            output::done(out, &format!("deleted provisioning connection {id}"));
        }
        ProvisioningConnectionsCommand::Create { kind, display_name } => {
            let made = client
                .post(BASE, &json!({ "type": kind, "displayName": display_name }))
                .await?
                .unwrap_or(Value::Null);
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
