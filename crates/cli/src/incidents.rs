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
            let incident = client
                .patch(
                    &format!("/api/v1/incidents/{}", enc(&id)),
                    &Value::Object(body),
                )
                .await?;
            output::one(out, &incident);
        }
        IncidentsCommand::Comment { id, comment } => {
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
