//! `trustplane admin roles ...` (role definitions) and `trustplane admin keys ...` (signing
//! key rotation).

use anyhow::{bail, Result};
use serde_json::{json, Value};

use crate::args::{KeysCommand, Output, RolesCommand};
use crate::client::{enc, Client};
use crate::output;

const ROLE_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("displayName", "displayName"),
    ("isBuiltIn", "isBuiltIn"),
    ("cloud", "resource.type"),
    ("description", "description"),
];

pub async fn roles(client: &Client, c: RolesCommand, out: Output) -> Result<()> {
    match c {
        RolesCommand::List => {
            let roles = client.list("/api/v1/roleDefinitions", false).await?;
            output::list(out, &roles, ROLE_COLUMNS);
        }
        RolesCommand::Get { role } => output::one(out, &client.get(&role_path(&role)).await?),
        RolesCommand::Create {
            display_name,
            description,
            resource_file,
        } => {
            let mut body = json!({"displayName": display_name, "description": description});
            if let Some(file) = resource_file {
                body["resource"] = crate::apps::read_object(&file)?;
            }
            let role = client.post("/api/v1/roleDefinitions", &body).await?;
            output::one(out, &role.unwrap_or(Value::Null));
        }
        RolesCommand::Update {
            role,
            display_name,
            description,
            resource_file,
            no_resource,
        } => {
            let mut body = json!({});
            if let Some(v) = display_name {
                body["displayName"] = Value::String(v);
            }
            if let Some(v) = description {
                body["description"] = Value::String(v);
            }
            if let Some(file) = resource_file {
                body["resource"] = crate::apps::read_object(&file)?;
            }
            if no_resource {
                body["resource"] = Value::Null;
            }
            if body.as_object().is_some_and(|b| b.is_empty()) {
                bail!("nothing to change: give --display-name, --description or a resource");
            }
            output::one(out, &client.patch(&role_path(&role), &body).await?);
        }
        RolesCommand::Delete { role } => {
            client.delete(&role_path(&role)).await?;
            output::done(out, &format!("deleted role {role}"));
        }
    }
    Ok(())
}

pub async fn keys(client: &Client, c: KeysCommand, out: Output) -> Result<()> {
    let KeysCommand::Rotate {
        kind,
        algorithm,
        overlap_hours,
    } = c;
    let answer = if kind == "oidc" {
        let mut body = json!({ "algorithm": algorithm });
        if let Some(h) = overlap_hours {
            body["overlapSeconds"] = json!(u64::from(h) * 3600);
        }
        client.post("/api/v1/oidc/keys/rotate", &body).await?
    } else {
        client
            .post(
                "/api/v1/saml/signingKeys/rotate",
                &json!({ "overlapHours": overlap_hours }),
            )
            .await?
    };
    let answer = answer.unwrap_or(Value::Null);
    match out {
        Output::Json => output::one(out, &answer),
        Output::Table => {
            let id = answer["keyId"]
                .as_str()
                .or_else(|| answer["id"].as_str())
                .unwrap_or_default();
            println!("new {kind} signing key: {id}");
            println!(
                "the old key stays published for {} hours",
                overlap_hours.unwrap_or(168)
            );
        }
    }
    Ok(())
}

fn role_path(role: &str) -> String {
    format!("/api/v1/roleDefinitions/{}", enc(role))
}
