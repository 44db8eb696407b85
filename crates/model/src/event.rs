//! The one shape for everything that happens: directory changes, security decisions, and later
//! sign-ins, tokens, elevations, findings and cloud log records. The audit trail stores it, the
//! detection pipeline reads it, the console shows it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Who did it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// Object id of the user or application, or `system` for Trustplane itself.
    pub id: String,
    /// A readable name (UPN, application name).
    pub display_name: Option<String>,
    /// Source address of the request, if it came over the network.
    pub ip_address: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
}

impl Actor {
    /// Trustplane itself (start-up, background jobs).
    pub fn system() -> Self {
        Actor {
            id: "system".into(),
            display_name: Some("Trustplane".into()),
            ip_address: None,
            user_agent: None,
        }
    }
}

/// What it was done to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Kind of object: `user`, `group`, `application`, `roleAssignment`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Its id.
    pub id: String,
    /// A readable name.
    pub display_name: Option<String>,
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Done or allowed.
    Success,
    /// Refused or failed.
    Failure,
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Position in the audit trail (1, 2, ...); 0 before it is stored.
    pub sequence: i64,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub activity_date_time: OffsetDateTime,
    /// Area: `directory`, `authorization`, `system`, ...
    pub category: String,
    /// What happened, e.g. `user.create`.
    pub activity: String,
    /// Who did it.
    pub initiated_by: Actor,
    /// What it was done to.
    pub target: Option<Target>,
    /// How it ended.
    pub result: Outcome,
    /// Why it ended that way, for failures and decisions.
    pub result_reason: Option<String>,
    /// The object before the change.
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The object after the change.
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}
