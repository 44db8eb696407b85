//! `trustplane admin incidents ...`: alerts grouped by person and address; status, owner and
//! comments.

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

use crate::args::{IncidentsCommand, Output};
use crate::client::{enc, Client};
use crate::output;

const INCIDENT_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("incident", "displayName"),
    ("severity", "severity"),
    ("status", "status"),
    ("alerts", "alertCount"),
    ("owner", "assignedTo"),
    ("last activity", "lastActivityDateTime"),
];

/// An incident's id from what was typed: its id, or a person (UPN or id) for the most
/// recently active incident about them.
async fn incident_id(client: &Client, given: &str) -> Result<String> {
    let looks_like_id =
        given.len() == 36 && given.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if looks_like_id {
        return Ok(given.to_string());
    }
    let found = client
        .list(
            &format!("/api/v1/incidents?person={}&$top=1", enc(given)),
            false,
        )
        .await?;
    match found.first().and_then(|i| i["id"].as_str()) {
        Some(id) => Ok(id.to_string()),
        None => bail!("no incident about {given}"),
    }
}

pub async fn run(client: &Client, c: IncidentsCommand, out: Output) -> Result<()> {
    match c {
        IncidentsCommand::List {
            status,
            person,
            top,
        } => {
            let mut path = format!("/api/v1/incidents?$top={top}");
            if let Some(s) = status {
                path.push_str(&format!("&status={}", enc(&s)));
            }
            if let Some(p) = person {
                path.push_str(&format!("&person={}", enc(&p)));
            }
            let items = client.list(&path, false).await?;
            output::list(out, &items, INCIDENT_COLUMNS);
        }
        IncidentsCommand::Show { id } => {
            let id = incident_id(client, &id).await?;
            let incident = client
                .get(&format!("/api/v1/incidents/{}", enc(&id)))
                .await?;
            output::one(out, &incident);
        }
        IncidentsCommand::Update {
            id,
            status,
            assign,
            unassign,
        } => {
            let mut body = Map::new();
            if let Some(s) = status {
                body.insert("status".into(), Value::String(s));
            }
            if let Some(a) = assign {
                body.insert("assignedTo".into(), Value::String(a));
            }
            if unassign {
                body.insert("assignedTo".into(), Value::Null);
            }
            if body.is_empty() {
                bail!("nothing to change: give --status, --assign or --unassign");
            }
            let id = incident_id(client, &id).await?;
            let incident = client
                .patch(
                    &format!("/api/v1/incidents/{}", enc(&id)),
                    &Value::Object(body),
                )
                .await?;
            output::one(out, &incident);
        }
        IncidentsCommand::Comment { id, comment } => {
            let id = incident_id(client, &id).await?;
            let incident = client
                .post(
                    &format!("/api/v1/incidents/{}/comments", enc(&id)),
                    &json!({ "comment": comment }),
                )
                .await?
                .unwrap_or(Value::Null);
            output::one(out, &incident);
        }
    }
    Ok(())
}
