//! Names wherever ids are taken (users by UPN, groups and roles by name), and names instead
//! of GUIDs in tables. The server resolves most names itself; these helpers cover the places
//! where the CLI must send an id, and the tables it prints.

use std::collections::HashMap;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::client::{enc, Client};

/// Distinct principals looked up for one table; past that the ids stay.
const MAX_LOOKUPS: usize = 200;

/// A user's id from an id or a UPN.
pub async fn user_id(client: &Client, id_or_upn: &str) -> Result<String> {
    if !id_or_upn.contains('@') {
        return Ok(id_or_upn.to_string());
    }
    let user = client
        .get(&format!("/api/v1/users/{}", enc(id_or_upn)))
        .await?;
    id_of(&user)
}

/// A user's or group's id from an id, a UPN or a group's name.
pub async fn principal_id(client: &Client, name: &str) -> Result<String> {
    if name.contains('@') {
        return user_id(client, name).await;
    }
    match client.get(&format!("/api/v1/groups/{}", enc(name))).await {
        Ok(group) => id_of(&group),
        // Not a group: a user's id, which the server checks.
        Err(_) => Ok(name.to_string()),
    }
}

fn id_of(object: &Value) -> Result<String> {
    object
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .context("the server returned an object without an id")
}

/// Adds `principalName` and `roleName` to role assignments for a table.
pub async fn name_assignments(client: &Client, items: &mut [Value]) -> Result<()> {
    let roles: HashMap<String, String> = client
        .list("/api/v1/roleDefinitions", false)
        .await?
        .iter()
        .filter_map(|r| {
            Some((
                r["id"].as_str()?.to_string(),
                r["displayName"].as_str()?.to_string(),
            ))
        })
        .collect();
    let mut principals: HashMap<String, String> = HashMap::new();
    for item in items.iter_mut() {
        let role = item["roleDefinitionId"].as_str().unwrap_or_default();
        let role_name = roles.get(role).cloned().unwrap_or_else(|| role.to_string());
        let principal = item["principalId"].as_str().unwrap_or_default().to_string();
        if !principals.contains_key(&principal) && principals.len() < MAX_LOOKUPS {
            let name = principal_name(client, &principal).await;
            principals.insert(principal.clone(), name.unwrap_or_else(|| principal.clone()));
        }
        let principal_name = principals.get(&principal).cloned().unwrap_or(principal);
        if let Some(obj) = item.as_object_mut() {
            obj.insert("roleName".into(), Value::String(role_name));
            obj.insert("principalName".into(), Value::String(principal_name));
        }
    }
    Ok(())
}

/// A user's UPN or a group's name.
async fn principal_name(client: &Client, id: &str) -> Option<String> {
    if let Ok(user) = client.get(&format!("/api/v1/users/{}", enc(id))).await {
        return user["userPrincipalName"].as_str().map(str::to_string);
    }
    let group = client
        .get(&format!("/api/v1/groups/{}", enc(id)))
        .await
        .ok()?;
    group["displayName"].as_str().map(str::to_string)
}
