//! Timeline entries as OCSF 1.3 events, for a SIEM that reads OCSF (Amazon Security Lake,
//! Splunk, Sentinel's ASIM converters): sign-ins and tokens as Authentication (3002), PIM
//! grants and removals as User Access Management (3005), and everything else, cloud calls
//! included, as API Activity (6003). The source entry is kept under `unmapped`.

use serde_json::{json, Map, Value};

use crate::timeline::{Source, Subject, TimelineEntry};

const OCSF_VERSION: &str = "1.3.0";

/// OCSF's `auth_protocol_id` values used here.
const AUTH_PROTOCOL_OTHER: u32 = 99;
const AUTH_PROTOCOL_SAML: u32 = 5;
const AUTH_PROTOCOL_OAUTH2: u32 = 6;

/// What class, activity and class-specific fields an entry maps to.
struct Class {
    category_uid: u32,
    category_name: &'static str,
    class_uid: u32,
    class_name: &'static str,
    activity_id: u32,
    activity_name: &'static str,
    fields: Map<String, Value>,
}

/// The OCSF event for one timeline entry about `subject`.
pub fn event(e: &TimelineEntry, subject: &Subject) -> Value {
    let class = classify(e, subject);
    let (status_id, status) = match e.result.as_str() {
        "success" => (1, "Success"),
        "failure" => (2, "Failure"),
        _ => (0, "Unknown"),
    };
    let mut out = json!({
        "category_uid": class.category_uid,
        "category_name": class.category_name,
        "class_uid": class.class_uid,
        "class_name": class.class_name,
        "activity_id": class.activity_id,
        "activity_name": class.activity_name,
        "type_uid": class.class_uid * 100 + class.activity_id,
        "time": e.at,
        "severity_id": 1,
        "severity": "Informational",
        "status_id": status_id,
        "status": status,
        "message": e.summary,
        "metadata": {
            "version": OCSF_VERSION,
            "product": { "name": "Trustplane", "vendor_name": "Trustplane" },
            "log_name": e.source.as_str(),
        },
        "src_endpoint": { "ip": e.ip_address },
        "unmapped": e.detail,
    });
    if let Some(reason) = e.detail.get("resultReason").and_then(Value::as_str) {
        out["status_detail"] = Value::String(reason.to_string());
    }
    if let (Some(map), fields) = (out.as_object_mut(), class.fields) {
        map.extend(fields);
    }
    out
}

fn user(subject: &Subject) -> Value {
    json!({ "uid": subject.id, "name": subject.upn, "type_id": 1, "type": "User" })
}

fn fields(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn classify(e: &TimelineEntry, subject: &Subject) -> Class {
    match e.source {
        Source::Trustplane => classify_audit(e, subject),
        Source::Aws | Source::Azure => cloud_api(e, subject),
    }
}

fn target_name(e: &TimelineEntry) -> Value {
    let t = &e.detail["target"];
    t.get("displayName")
        .filter(|v| v.is_string())
        .or_else(|| t.get("id"))
        .cloned()
        .unwrap_or(Value::Null)
}

fn authentication(
    e: &TimelineEntry,
    subject: &Subject,
    activity: (u32, &'static str),
    protocol: (u32, &str),
) -> Class {
    let after = &e.detail["after"];
    let methods: Vec<&str> = after["authenticationMethodsUsed"]
        .as_array()
        .map(|m| m.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut f = vec![
        ("user", user(subject)),
        ("service", json!({ "name": target_name(e) })),
        ("auth_protocol_id", json!(protocol.0)),
        ("auth_protocol", json!(protocol.1)),
    ];
    if !methods.is_empty() {
        f.push(("is_mfa", json!(methods.len() > 1)));
    }
    Class {
        category_uid: 3,
        category_name: "Identity & Access Management",
        class_uid: 3002,
        class_name: "Authentication",
        activity_id: activity.0,
        activity_name: activity.1,
        fields: fields(f),
    }
}

fn classify_audit(e: &TimelineEntry, subject: &Subject) -> Class {
    let a = e.activity.as_str();
    if e.category == "signIn" {
        return authentication(e, subject, (1, "Logon"), (AUTH_PROTOCOL_OTHER, "Other"));
    }
    if a == "saml.response" {
        let protocol = (AUTH_PROTOCOL_SAML, "SAML");
        return authentication(e, subject, (99, "Other"), protocol);
    }
    if a.starts_with("oidc.token") || a.starts_with("oidc.code") || a.starts_with("oidc.refresh") {
        let protocol = (AUTH_PROTOCOL_OAUTH2, "OAUTH 2.0");
        return authentication(e, subject, (99, "Other"), protocol);
    }
    if e.category == "pim" {
        let grant = matches!(
            a,
            "pim.activation.start" | "pim.assignment.hold" | "pim.grant.cloudGrant"
        );
        let revoke = matches!(
            a,
            "pim.activation.expire"
                | "pim.activation.deactivate"
                | "pim.activation.revoke"
                | "pim.assignment.release"
                | "pim.grant.cloudRevoke"
        );
        if grant || revoke {
            let after = &e.detail["after"];
            let role = after
                .get("roleDefinitionId")
                .cloned()
                .unwrap_or_else(|| target_name(e));
            return Class {
                category_uid: 3,
                category_name: "Identity & Access Management",
                class_uid: 3005,
                class_name: "User Access Management",
                activity_id: if grant { 1 } else { 2 },
                activity_name: if grant {
                    "Assign Privileges"
                } else {
                    "Revoke Privileges"
                },
                fields: fields(vec![
                    ("user", user(subject)),
                    ("privileges", json!([role])),
                    (
                        "resources",
                        json!([{ "uid": after.get("directoryScopeId"), "type": "scope" }]),
                    ),
                ]),
            };
        }
    }
    let actor = &e.detail["initiatedBy"];
    let target = &e.detail["target"];
    Class {
        category_uid: 6,
        category_name: "Application Activity",
        class_uid: 6003,
        class_name: "API Activity",
        activity_id: crud(a.rsplit('.').next().unwrap_or(a)),
        activity_name: crud_name(crud(a.rsplit('.').next().unwrap_or(a))),
        fields: fields(vec![
            (
                "actor",
                json!({ "user": { "uid": actor.get("id"), "name": actor.get("displayName") } }),
            ),
            (
                "api",
                json!({ "operation": a, "service": { "name": "Trustplane" } }),
            ),
            (
                "resources",
                json!([{ "uid": target.get("id"), "name": target.get("displayName"), "type": target.get("type") }]),
            ),
            ("user", user(subject)),
        ]),
    }
}

fn cloud_api(e: &TimelineEntry, subject: &Subject) -> Class {
    let s = &e.detail;
    let actor = &s["actor"];
    let provider = match e.source {
        Source::Azure => "Azure",
        _ => "AWS",
    };
    Class {
        category_uid: 6,
        category_name: "Application Activity",
        class_uid: 6003,
        class_name: "API Activity",
        activity_id: crud(&e.activity),
        activity_name: crud_name(crud(&e.activity)),
        fields: fields(vec![
            (
                "actor",
                json!({
                    "user": {
                        "uid": subject.id,
                        "name": subject.upn,
                        "credential_uid": actor.get("principalId"),
                    },
                    "session": { "uid": actor.get("sessionName") },
                    "idp": { "name": actor.get("arn") },
                }),
            ),
            (
                "api",
                json!({ "operation": e.activity, "service": { "name": s.get("source") } }),
            ),
            (
                "cloud",
                json!({ "provider": provider, "region": s.get("region"), "account": { "uid": s.get("account") } }),
            ),
        ]),
    }
}

/// The CRUD activity an operation name suggests (`CreateRole`, `role.create`,
/// `Microsoft.Authorization/roleAssignments/write`), 99 (Other) when it says nothing.
fn crud(operation: &str) -> u32 {
    let op = operation.rsplit('/').next().unwrap_or(operation);
    let lower = op.to_ascii_lowercase();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| lower.starts_with(p));
    if starts(&["create", "add", "put", "attach", "run", "register", "issue"]) {
        1
    } else if starts(&[
        "get", "list", "describe", "read", "lookup", "search", "find",
    ]) {
        2
    } else if starts(&[
        "update", "modify", "set", "change", "enable", "disable", "write",
    ]) {
        3
    } else if starts(&["delete", "remove", "detach", "terminate", "revoke"]) {
        4
    } else {
        99
    }
}

fn crud_name(id: u32) -> &'static str {
    match id {
        1 => "Create",
        2 => "Read",
        3 => "Update",
        4 => "Delete",
        _ => "Other",
    }
}

#[cfg(test)]
mod tests {
    use super::crud;

    #[test]
    fn operations_map_to_their_crud_activity() {
        assert_eq!(crud("CreateAccessKey"), 1);
        assert_eq!(crud("create"), 1);
        assert_eq!(crud("DescribeInstances"), 2);
        assert_eq!(crud("Microsoft.Authorization/roleAssignments/write"), 3);
        assert_eq!(crud("DeleteTrail"), 4);
        assert_eq!(crud("StopLogging"), 99);
    }
}
