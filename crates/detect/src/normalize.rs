//! Normalisation of CloudTrail and Azure records to [`EventSummary`], and the Sigma log source
//! each belongs to (so that rules for other sources are not even tried).

use rsigma_parser::LogSource;
use serde_json::Value;

use crate::record::{Actor, EventSummary, Outcome, Provider};

/// Looks up a dotted path in nested JSON objects.
fn path<'a>(v: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(v, |cur, key| cur.get(key))
}

/// The first of `paths` that holds a non-empty scalar, as a string.
fn first_str(v: &Value, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| match path(v, p)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

fn epoch(time: Option<&str>) -> Option<i64> {
    let t = time?;
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.timestamp())
        .or_else(|| {
            // Log Analytics sometimes drops the zone designator.
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|d| d.and_utc().timestamp())
        })
}

pub(crate) fn classify(v: &Value) -> Provider {
    let has = |k: &str| v.get(k).is_some();
    if has("eventSource") && has("eventName") {
        Provider::Aws
    } else if is_trustplane(v) {
        Provider::Trustplane
    } else if has("operationName")
        || has("OperationName")
        || has("OperationNameValue")
        || has("resourceId")
        || has("riskEventType")
        || (has("category") && has("properties"))
    {
        Provider::Azure
    } else {
        Provider::Unknown
    }
}

/// Trustplane's own events: the audit trail's shape (`activityDateTime`, `activity`,
/// `initiatedBy`) with the sign-in, authentication or proxy (identity-aware proxy session)
/// category.
fn is_trustplane(v: &Value) -> bool {
    matches!(
        v.get("category").and_then(Value::as_str),
        Some("signIn" | "authentication" | "proxy")
    ) && v.get("activity").is_some()
        && v.get("initiatedBy").is_some()
}

pub(crate) fn trustplane_logsource(v: &Value) -> LogSource {
    let service = match v.get("category").and_then(Value::as_str) {
        Some("signIn") => "signin",
        Some("proxy") => "proxy",
        _ => "audit",
    };
    LogSource {
        product: Some("trustplane".into()),
        service: Some(service.into()),
        ..LogSource::default()
    }
}

/// Trustplane's sign-in and audit entries: the actor is `initiatedBy` (for a sign-in, the user
/// signing in; `unknown` when no user matched the name tried, which is then the UPN).
pub(crate) fn trustplane(v: &Value) -> EventSummary {
    let time = first_str(v, &["activityDateTime"]);
    let outcome = match first_str(v, &["result"]).as_deref() {
        Some("success") => Outcome::Success,
        Some("failure") => Outcome::Failure,
        _ => Outcome::Unknown,
    };
    let id = first_str(v, &["initiatedBy.id"]).filter(|id| id != "unknown" && id != "system");
    // A sign-in names the account tried in `after`; elsewhere `after` is the changed object.
    let upn = if v.get("category").and_then(Value::as_str) == Some("signIn") {
        first_str(v, &["after.userPrincipalName", "initiatedBy.displayName"])
    } else {
        first_str(v, &["initiatedBy.displayName"])
    };
    EventSummary {
        epoch_secs: epoch(time.as_deref()),
        time,
        provider: Provider::Trustplane,
        source: Some("trustplane".into()),
        action: first_str(v, &["activity"]),
        actor: Actor {
            upn,
            object_id: id,
            ..Actor::default()
        },
        source_ip: first_str(v, &["initiatedBy.ipAddress", "after.ipAddress"]),
        outcome,
        error: match outcome {
            Outcome::Failure => first_str(v, &["resultReason"]),
            _ => None,
        },
        region: None,
        account: None,
    }
}

pub(crate) fn aws_logsource() -> LogSource {
    LogSource {
        product: Some("aws".into()),
        service: Some("cloudtrail".into()),
        ..LogSource::default()
    }
}

pub(crate) fn aws(v: &Value) -> EventSummary {
    let arn = first_str(v, &["userIdentity.arn"]);
    let kind = first_str(v, &["userIdentity.type"]);
    // An assumed role's ARN ends in `assumed-role/<role>/<session>`; the session name is
    // what federation (and Identity Center) set to the person's name.
    let session_name = arn.as_deref().and_then(|a| {
        let rest = a.split(":assumed-role/").nth(1)?;
        rest.split_once('/').map(|(_, s)| s.to_string())
    });
    let error = first_str(v, &["errorCode"]);
    let console_failed = path(v, "responseElements.ConsoleLogin")
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("failure"));
    let outcome = if error.is_some() || console_failed {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    let time = first_str(v, &["eventTime", "@timestamp"]);
    let summary = EventSummary {
        epoch_secs: epoch(time.as_deref()),
        time,
        provider: Provider::Aws,
        source: first_str(v, &["eventSource"]),
        action: first_str(v, &["eventName"]),
        actor: Actor {
            kind,
            arn,
            principal_id: first_str(v, &["userIdentity.principalId"]),
            session_name,
            user_name: first_str(
                v,
                &["userIdentity.userName", "userIdentity.onBehalfOf.userId"],
            ),
            account_id: first_str(v, &["userIdentity.accountId"]),
            ..Actor::default()
        },
        source_ip: first_str(v, &["sourceIPAddress"]),
        outcome,
        error: error.or_else(|| console_failed.then(|| "ConsoleLogin failure".to_string())),
        region: first_str(v, &["awsRegion"]),
        account: first_str(v, &["recipientAccountId", "userIdentity.accountId"]),
    };
    summary
}

/// The SigmaHQ `service` of an Azure record, from its export category or table name.
fn azure_service(v: &Value) -> Option<&'static str> {
    let label = first_str(v, &["category", "Category", "Type"]).unwrap_or_default();
    let service = match label.to_ascii_lowercase().as_str() {
        "signinlogs"
        | "noninteractiveusersigninlogs"
        | "aadnoninteractiveusersigninlogs"
        | "serviceprincipalsigninlogs"
        | "aadserviceprincipalsigninlogs"
        | "managedidentitysigninlogs" => "signinlogs",
        "auditlogs" => "auditlogs",
        "userriskevents" | "aaduserriskevents" | "riskyusers" | "aadriskyusers" => "riskdetection",
        "administrative" | "security" | "servicehealth" | "alert" | "recommendation" | "policy"
        | "autoscale" | "resourcehealth" | "azureactivity" => "activitylogs",
        _ if v.get("LoggedByService").is_some()
            || path(v, "properties.loggedByService").is_some() =>
        {
            "auditlogs"
        }
        _ if v.get("riskEventType").is_some() => "riskdetection",
        _ => return None,
    };
    Some(service)
}

pub(crate) fn azure_logsource(v: &Value) -> LogSource {
    LogSource {
        product: Some("azure".into()),
        service: azure_service(v).map(String::from),
        ..LogSource::default()
    }
}

/// `e` is the record with JSON text columns already expanded.
pub(crate) fn azure(e: &Value) -> EventSummary {
    let result = first_str(
        e,
        &[
            "resultType",
            "ResultType",
            "properties.status.errorCode",
            "Result",
            "properties.result",
            "ActivityStatusValue",
        ],
    );
    let outcome = match result.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("0" | "success" | "succeeded") => Outcome::Success,
        Some("failure" | "failed" | "timeout") => Outcome::Failure,
        Some(s) if s.parse::<i64>().is_ok_and(|n| n != 0) => Outcome::Failure,
        _ => Outcome::Unknown,
    };
    let error = match outcome {
        Outcome::Failure => first_str(
            e,
            &[
                "resultDescription",
                "ResultDescription",
                "properties.status.failureReason",
                "ResultReason",
                "properties.resultReason",
            ],
        )
        .or(result),
        _ => None,
    };
    let time = first_str(
        e,
        &[
            "time",
            "TimeGenerated",
            "properties.createdDateTime",
            "properties.activityDateTime",
            "activityDateTime",
        ],
    );
    let oid = "identity.claims.http://schemas.microsoft.com/identity/claims/objectidentifier";
    let summary = EventSummary {
        epoch_secs: epoch(time.as_deref()),
        time,
        provider: Provider::Azure,
        source: first_str(
            e,
            &[
                "ResourceProviderValue",
                "resourceProviderName.value",
                "LoggedByService",
                "properties.loggedByService",
                "category",
                "Category",
            ],
        ),
        action: first_str(
            e,
            &[
                "operationName",
                "OperationNameValue",
                "OperationName",
                "riskEventType",
            ],
        ),
        actor: Actor {
            caller: first_str(e, &["caller", "Caller"]),
            upn: first_str(
                e,
                &[
                    "properties.userPrincipalName",
                    "UserPrincipalName",
                    "properties.initiatedBy.user.userPrincipalName",
                    "InitiatedBy.user.userPrincipalName",
                    "identity.claims.http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
                ],
            ),
            object_id: first_str(
                e,
                &[
                    "properties.userId",
                    "UserId",
                    "properties.initiatedBy.user.id",
                    "InitiatedBy.user.id",
                    "properties.initiatedBy.app.servicePrincipalId",
                    "InitiatedBy.app.servicePrincipalId",
                ],
            )
            .or_else(|| claim(e, oid)),
            ..Actor::default()
        },
        source_ip: first_str(
            e,
            &[
                "callerIpAddress",
                "CallerIpAddress",
                "IPAddress",
                "properties.ipAddress",
                "properties.initiatedBy.user.ipAddress",
                "InitiatedBy.user.ipAddress",
            ],
        ),
        outcome,
        error,
        region: first_str(e, &["location", "Location"]),
        account: first_str(
            e,
            &[
                "tenantId",
                "TenantId",
                "AADTenantId",
                "SubscriptionId",
                "subscriptionId",
            ],
        ),
    };
    summary
}

/// Claims are keyed by URIs that contain dots, so they cannot be reached by a dotted path.
fn claim(v: &Value, dotted: &str) -> Option<String> {
    let uri = dotted.strip_prefix("identity.claims.")?;
    v.get("identity")?
        .get("claims")?
        .get(uri)?
        .as_str()
        .map(String::from)
}

pub(crate) fn unknown(v: &Value) -> EventSummary {
    let time = first_str(v, &["time", "eventTime", "@timestamp", "timestamp"]);
    EventSummary {
        epoch_secs: epoch(time.as_deref()),
        time,
        provider: Provider::Unknown,
        source: None,
        action: None,
        actor: Actor::default(),
        source_ip: None,
        outcome: Outcome::Unknown,
        error: None,
        region: None,
        account: None,
    }
}

/// Log Analytics stores nested columns (`InitiatedBy`, `TargetResources`, ...) as JSON text.
/// Returns a copy with such text, at the top level and under `properties`, parsed into JSON,
/// or `None` when there is none.
pub(crate) fn expand_json_text(v: &Value) -> Option<Value> {
    fn expand_map(map: &mut serde_json::Map<String, Value>) -> bool {
        let mut changed = false;
        for value in map.values_mut() {
            if let Value::String(s) = value {
                let t = s.trim_start();
                if t.starts_with('{') || t.starts_with('[') {
                    if let Ok(parsed @ (Value::Object(_) | Value::Array(_))) =
                        serde_json::from_str::<Value>(s)
                    {
                        *value = parsed;
                        changed = true;
                    }
                }
            }
        }
        changed
    }
    let needs = |m: &serde_json::Map<String, Value>| {
        m.values().any(|x| {
            x.as_str()
                .is_some_and(|s| s.trim_start().starts_with(['{', '[']))
        })
    };
    let obj = v.as_object()?;
    let props = obj.get("properties").and_then(Value::as_object);
    if !needs(obj) && !props.is_some_and(needs) {
        return None;
    }
    let mut copy = v.clone();
    let mut changed = false;
    if let Some(m) = copy.as_object_mut() {
        changed |= expand_map(m);
        if let Some(Value::Object(p)) = m.get_mut("properties") {
            changed |= expand_map(p);
        }
    }
    changed.then_some(copy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn assumed_role_session_and_failures() {
        let v = json!({
            "eventSource": "sts.amazonaws.com", "eventName": "GetCallerIdentity",
            "eventTime": "2024-01-01T00:00:10Z",
            "errorCode": "AccessDenied",
            "userIdentity": {
                "type": "AssumedRole",
                "arn": "arn:aws:sts::111122223333:assumed-role/Admins/alice@example.com",
                "principalId": "AROAEXAMPLE:alice@example.com",
                "accountId": "111122223333"
            },
            "recipientAccountId": "111122223333"
        });
        assert_eq!(classify(&v), Provider::Aws);
        let s = aws(&v);
        assert_eq!(s.actor.session_name.as_deref(), Some("alice@example.com"));
        assert_eq!(s.outcome, Outcome::Failure);
        assert_eq!(s.error.as_deref(), Some("AccessDenied"));
        assert_eq!(s.epoch_secs, Some(1_704_067_210));
    }

    #[test]
    fn console_login_failure_without_error_code() {
        let v = json!({"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
                       "responseElements": {"ConsoleLogin": "Failure"}});
        assert_eq!(aws(&v).outcome, Outcome::Failure);
    }

    #[test]
    fn azure_services() {
        let svc = |v: Value| azure_logsource(&v).service;
        assert_eq!(
            svc(json!({"category": "SignInLogs"})).as_deref(),
            Some("signinlogs")
        );
        assert_eq!(
            svc(json!({"category": "NonInteractiveUserSignInLogs"})).as_deref(),
            Some("signinlogs")
        );
        assert_eq!(
            svc(json!({"category": "AuditLogs"})).as_deref(),
            Some("auditlogs")
        );
        assert_eq!(
            svc(json!({"Type": "AzureActivity"})).as_deref(),
            Some("activitylogs")
        );
        assert_eq!(
            svc(json!({"category": "Administrative"})).as_deref(),
            Some("activitylogs")
        );
        assert_eq!(
            svc(json!({"category": "UserRiskEvents"})).as_deref(),
            Some("riskdetection")
        );
        assert_eq!(
            svc(json!({"Category": "ApplicationManagement", "LoggedByService": "Core Directory"}))
                .as_deref(),
            Some("auditlogs")
        );
        assert_eq!(svc(json!({"category": "Something"})), None);
    }

    #[test]
    fn json_text_columns_are_expanded() {
        let v = json!({"OperationName": "x", "InitiatedBy": "{\"user\":{\"id\":\"1\"}}", "Note": "{not json"});
        let e = expand_json_text(&v).unwrap();
        assert_eq!(e["InitiatedBy"]["user"]["id"], "1");
        assert_eq!(e["Note"], "{not json");
        assert!(expand_json_text(&json!({"a": "b"})).is_none());
    }
}
