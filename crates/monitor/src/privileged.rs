//! Privileged activity that no elevation explains. Trustplane knows which AWS roles it hands
//! out just in time (role definitions with an `awsSamlRole` resource that someone is eligible
//! for) and when each person's activations ran, so a CloudTrail call made with such a role
//! outside every activation of the person behind the session is suspicious:
//!
//! - the session was used after the activation ended (AWS sessions outlive it);
//! - the session is named after a person who never activated the role;
//! - the session is named after nobody Trustplane knows.
//!
//! It also flags ways into a federated account that bypass Trustplane altogether: an IAM user
//! or the root user signing in to the console, and access keys turned into a console session
//! (`GetFederationToken`, `GetSigninToken`). Each finding becomes an alert like a Sigma match.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};
use trustplane_detect::{Provider, Record};
use trustplane_model::{to_ms, RoleResource, Timestamp};
use trustplane_store::{Store, StoreError};

/// Clock skew allowed between CloudTrail and Trustplane around an activation's start and end.
const GRACE_MS: i64 = 60_000;

/// Activations of one person and role read for one check.
const ACTIVATIONS_READ: usize = 50;

/// Rule ids of the alerts raised here (stable: response policies may name them).
pub const OUTSIDE_ACTIVATION_RULE: &str = "trustplane-privileged-use-outside-activation";
/// Rule id of console access that bypasses Trustplane's federation.
pub const BYPASS_RULE: &str = "trustplane-federation-bypass";

/// The managed roles and federated accounts, read once per batch of records.
#[derive(Debug, Default)]
pub(crate) struct PrivilegedRoles {
    /// Role ARN (lower-cased) → (role definition id, name) for roles under PIM.
    managed: HashMap<String, (String, String)>,
    /// Accounts where some role is reached through Trustplane's SAML federation.
    federated_accounts: HashSet<String>,
}

/// A finding, ready to become an alert.
#[derive(Debug)]
pub(crate) struct Finding {
    pub rule_id: &'static str,
    pub title: &'static str,
    pub level: &'static str,
    /// What Trustplane knows that explains the finding; added to the record's evidence.
    pub detail: Value,
}

impl PrivilegedRoles {
    pub(crate) async fn load(store: &Store) -> Result<Self, StoreError> {
        let mut roles = PrivilegedRoles::default();
        for role in store.list_role_definitions().await? {
            if let Some(RoleResource::AwsSamlRole { account_id, .. }) = &role.resource {
                roles.federated_accounts.insert(account_id.clone());
            }
        }
        for role in store.pim_managed_cloud_roles().await? {
            if let Some(RoleResource::AwsSamlRole { role_arn, .. }) = &role.resource {
                roles.managed.insert(
                    role_arn.to_ascii_lowercase(),
                    (role.id.clone(), role.display_name.clone()),
                );
            }
        }
        Ok(roles)
    }

    fn is_empty(&self) -> bool {
        self.managed.is_empty() && self.federated_accounts.is_empty()
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Checks one record; `person` is who it was resolved to (id), `at` its event time.
pub(crate) async fn check(
    store: &Store,
    roles: &PrivilegedRoles,
    record: &Record,
    person: Option<&str>,
    at: Option<Timestamp>,
) -> Result<Option<Finding>, StoreError> {
    if roles.is_empty() || record.provider() != Provider::Aws {
        return Ok(None);
    }
    let v = &record.original;
    let identity_type = text(v, "/userIdentity/type").unwrap_or("");
    let event = text(v, "/eventName").unwrap_or("");
    let account = text(v, "/recipientAccountId")
        .or_else(|| text(v, "/userIdentity/accountId"))
        .unwrap_or("");
    if roles.federated_accounts.contains(account) {
        if let Some(f) = bypass(identity_type, event, v) {
            return Ok(Some(f));
        }
    }
    if identity_type != "AssumedRole" {
        return Ok(None);
    }
    let Some(issuer) = text(v, "/userIdentity/sessionContext/sessionIssuer/arn") else {
        return Ok(None);
    };
    let Some((role_id, role_name)) = roles.managed.get(&issuer.to_ascii_lowercase()) else {
        return Ok(None);
    };
    let session = record.summary().actor.session_name.clone();
    let role = json!({ "roleDefinitionId": role_id, "roleName": role_name, "roleArn": issuer, "sessionName": session });
    let Some(person) = person else {
        return Ok(Some(Finding {
            rule_id: OUTSIDE_ACTIVATION_RULE,
            title: "Privileged AWS role used by a session Trustplane did not issue",
            level: "high",
            detail: json!({ "reason": "the role session is named after nobody in the directory", "role": role }),
        }));
    };
    if store.holds_role_standing(person, role_id).await? {
        return Ok(None);
    }
    let at = at.unwrap_or_else(|| store.clock().now_ms());
    let activations = store
        .activations_of(person, role_id, ACTIVATIONS_READ)
        .await?;
    let covering = activations.iter().any(|a| {
        let start = a.activated_date_time.map(to_ms).unwrap_or(i64::MAX);
        let end = a.end_date_time.map(to_ms).unwrap_or(i64::MAX);
        start - GRACE_MS <= at && at <= end.saturating_add(GRACE_MS)
    });
    if covering {
        return Ok(None);
    }
    // The latest activation that had ended by then is the one the session most likely came from.
    let ended_before = activations
        .iter()
        .filter(|a| a.end_date_time.is_some_and(|e| to_ms(e) < at))
        .max_by_key(|a| a.end_date_time.map(to_ms));
    Ok(Some(match ended_before {
        Some(a) => Finding {
            rule_id: OUTSIDE_ACTIVATION_RULE,
            title: "Privileged AWS role used after its activation ended",
            level: "high",
            detail: json!({
                "reason": "the role was used after the person's activation of it ended",
                "role": role,
                "activation": {
                    "requestId": a.id,
                    "activatedDateTime": a.activated_date_time.map(rfc3339),
                    "endDateTime": a.end_date_time.map(rfc3339),
                    "state": a.state.as_str(),
                },
            }),
        },
        None => Finding {
            rule_id: OUTSIDE_ACTIVATION_RULE,
            title: "Privileged AWS role used by a person who never activated it",
            level: "high",
            detail: json!({
                "reason": "the role session is named after a person with no activation of the role at that time",
                "role": role,
            }),
        },
    }))
}

/// Console access to a federated account that does not come through Trustplane.
fn bypass(identity_type: &str, event: &str, v: &Value) -> Option<Finding> {
    let who = text(v, "/userIdentity/arn").unwrap_or("");
    match (identity_type, event) {
        ("IAMUser" | "Root", "ConsoleLogin") => Some(Finding {
            rule_id: BYPASS_RULE,
            title: "AWS console sign-in that bypasses Trustplane",
            level: "medium",
            detail: json!({ "reason": "an IAM user or the root user signed in to the console of an account federated through Trustplane", "identity": who }),
        }),
        ("IAMUser", "GetFederationToken" | "GetSigninToken") => Some(Finding {
            rule_id: BYPASS_RULE,
            title: "AWS access key turned into console access, bypassing Trustplane",
            level: "medium",
            detail: json!({ "reason": "an IAM user's access key asked for a federation or sign-in token in an account federated through Trustplane", "identity": who }),
        }),
        _ => None,
    }
}
