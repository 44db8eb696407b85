//! `trustplane admin risky-users ...`: identity protection's risky users and detections;
//! confirm users compromised or dismiss their risk (names or ids).

use anyhow::Result;
use serde_json::{json, Value};

use crate::args::{Output, RiskyUsersCommand};
use crate::client::{enc, Client};
use crate::output;

const RISKY_USER_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("user", "userPrincipalName"),
    ("level", "riskLevel"),
    ("state", "riskState"),
    ("detail", "riskDetail"),
    ("updated", "riskLastUpdatedDateTime"),
];
const DETECTION_COLUMNS: &[(&str, &str)] = &[
    ("detected", "detectedDateTime"),
    ("user", "userPrincipalName"),
    ("type", "riskEventType"),
    ("level", "riskLevel"),
    ("state", "riskState"),
    ("ip", "ipAddress"),
    ("country", "country"),
    ("detail", "riskDetail"),
];

pub async fn risky_users(client: &Client, c: RiskyUsersCommand, out: Output) -> Result<()> {
    match c {
        RiskyUsersCommand::List => {
            let list = client.get("/api/v1/identityProtection/riskyUsers").await?;
            output::list(out, &items(&list), RISKY_USER_COLUMNS);
        }
        RiskyUsersCommand::Detections { user, top } => {
            let mut path = format!("/api/v1/identityProtection/riskDetections?$top={top}");
            if let Some(u) = user {
                path.push_str(&format!("&user={}", enc(&u)));
            }
            let list = client.get(&path).await?;
            output::list(out, &items(&list), DETECTION_COLUMNS);
        }
        RiskyUsersCommand::ConfirmCompromised { users } => {
            let done = client
                .post(
                    "/api/v1/identityProtection/riskyUsers/confirmCompromised",
                    &json!({ "userIds": users }),
                )
                .await?
                .unwrap_or(Value::Null);
            output::list(out, &items(&done), RISKY_USER_COLUMNS);
        }
        RiskyUsersCommand::Dismiss { users } => {
            let done = client
                .post(
                    "/api/v1/identityProtection/riskyUsers/dismiss",
                    &json!({ "userIds": users }),
                )
                .await?
                .unwrap_or(Value::Null);
            output::list(out, &items(&done), RISKY_USER_COLUMNS);
        }
    }
    Ok(())
}

fn items(v: &Value) -> Vec<Value> {
    v["value"].as_array().cloned().unwrap_or_default()
}
