//! `Microsoft.Authorization/roleAssignments` kept in memory, at any scope: PUT, GET, DELETE of
//! one assignment and the list at a scope, with ARM's answers (201 created, 409
//! `RoleAssignmentExists` for a role already given to the principal at the scope, whatever the
//! name, 200 or 204 on delete). Objects have the shape of RoleAssignments_ListForScope.json.
//!
//! Subscriptions A and B also list their fixed assignments (the published example, the
//! variants), which cannot be changed; [`super::SUB_RBAC`] has none.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::{arm, arm_error, ok, variants, Srv, SUB_A, SUB_B, TENANT};

/// Lower-case path of the role assignments under a scope.
const MARK: &str = "/providers/microsoft.authorization/roleassignments";
/// Assignments per page of a list (small, so that paging is exercised).
pub const PAGE: usize = 2;
const EXAMPLE: &str = "Microsoft.Authorization/RoleAssignments_ListForScope.json";

impl Srv {
    /// Every assignment made by PUT or seeded, oldest first, as ARM objects. The fixed ones of
    /// subscriptions A and B are not included.
    pub fn role_assignments(&self) -> Vec<Value> {
        self.assignments.lock().unwrap().clone()
    }

    /// Adds an assignment as if made outside Trustplane (portal, CLI), under a name of its
    /// own, and returns it. Panics if the role is already given to the principal there.
    pub fn seed_role_assignment(
        &self,
        scope: &str,
        role_definition_id: &str,
        principal_id: &str,
    ) -> Value {
        let mut store = self.assignments.lock().unwrap();
        assert!(
            !store
                .iter()
                .any(|v| same_grant(v, scope, role_definition_id, principal_id)),
            "{role_definition_id} is already given to {principal_id} at {scope}"
        );
        let name = format!("5eed0000-0000-4000-8000-{:012x}", store.len() + 1);
        let v = object(scope, &name, role_definition_id, principal_id, "User");
        store.push(v.clone());
        v
    }

    /// From now on, a PUT for this principal answers 400 `PrincipalNotFound`, as ARM does for
    /// an object id its directory does not know. [`super::UNKNOWN_PRINCIPAL`] always does.
    pub fn refuse_principal(&self, principal_id: &str) {
        self.refused_principals
            .lock()
            .unwrap()
            .insert(principal_id.to_ascii_lowercase());
    }

    /// Whether PUT and DELETE of role assignments answer 403 `AuthorizationFailed`, as for a
    /// caller without `Microsoft.Authorization/roleAssignments/write` (or `/delete`).
    pub fn deny_role_assignment_writes(&self, deny: bool) {
        self.deny_role_writes.store(deny, Ordering::SeqCst);
    }
}

/// Answers a role-assignment request; `None` if `path` is not one.
pub(super) fn route(
    s: &Srv,
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
) -> Option<Response> {
    let lp = path.to_ascii_lowercase();
    let at = lp.rfind(MARK)?;
    // ASCII lower-casing keeps the byte offsets.
    let scope = &path[..at];
    let rest = &path[at + MARK.len()..];
    if rest.is_empty() {
        return Some(if *method == Method::GET {
            list(s, path, scope, query)
        } else {
            arm_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", path)
        });
    }
    // Not `/roleAssignmentScheduleInstances` and the like.
    let name = rest.strip_prefix('/').filter(|n| !n.contains('/'))?;
    Some(match *method {
        Method::PUT => put(s, scope, name, body),
        Method::DELETE => delete(s, scope, name),
        Method::GET => match find(s, scope, name) {
            Some(v) => ok(v),
            None => arm_error(
                StatusCode::NOT_FOUND,
                "RoleAssignmentNotFound",
                &format!("The role assignment '{name}' is not found."),
            ),
        },
        _ => arm_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", path),
    })
}

fn put(s: &Srv, scope: &str, name: &str, body: &[u8]) -> Response {
    let n = s.role_puts.fetch_add(1, Ordering::SeqCst);
    if s.mode.throttle_role_writes && n == 0 {
        let mut r = arm_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "throttled",
        );
        r.headers_mut().insert("retry-after", "1".parse().unwrap());
        return r;
    }
    let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |ptr: &str| req.pointer(ptr).and_then(Value::as_str).map(str::to_string);
    let (Some(role), Some(principal)) = (
        text("/properties/roleDefinitionId"),
        text("/properties/principalId"),
    ) else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "properties.roleDefinitionId and properties.principalId are required.",
        );
    };
    if !is_guid(name) {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRoleAssignmentId",
            &format!("The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."),
        );
    }
    if s.deny_role_writes.load(Ordering::SeqCst) {
        return denied("write", scope, name);
    }
    let refused = principal.eq_ignore_ascii_case(super::UNKNOWN_PRINCIPAL)
        || s.refused_principals
            .lock()
            .unwrap()
            .contains(&principal.to_ascii_lowercase());
    if refused {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "PrincipalNotFound",
            &format!(
                "Principal {} does not exist in the directory {TENANT}. Check that you have the correct principal ID.",
                principal.replace('-', "")
            ),
        );
    }
    let mut store = s.assignments.lock().unwrap();
    let same_name = store.iter().find(|v| is_named(v, scope, name));
    let exists = || {
        arm_error(
            StatusCode::CONFLICT,
            "RoleAssignmentExists",
            "The role assignment already exists.",
        )
    };
    if let Some(v) = same_name {
        // ARM answers a repeated PUT with 409 too, not 200.
        return if same_grant(v, scope, &role, &principal) {
            exists()
        } else {
            arm_error(
                StatusCode::BAD_REQUEST,
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            )
        };
    }
    if store
        .iter()
        .any(|v| same_grant(v, scope, &role, &principal))
    {
        return exists();
    }
    let ptype = text("/properties/principalType").unwrap_or_else(|| "User".to_string());
    let v = object(scope, name, &role, &principal, &ptype);
    store.push(v.clone());
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

fn delete(s: &Srv, scope: &str, name: &str) -> Response {
    if s.deny_role_writes.load(Ordering::SeqCst) {
        return denied("delete", scope, name);
    }
    let mut store = s.assignments.lock().unwrap();
    match store.iter().position(|v| is_named(v, scope, name)) {
        Some(i) => ok(store.remove(i)),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

fn denied(action: &str, scope: &str, name: &str) -> Response {
    arm_error(
        StatusCode::FORBIDDEN,
        "AuthorizationFailed",
        &format!(
            "The client does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/{action}' over scope '{scope}/providers/Microsoft.Authorization/roleAssignments/{name}' or the scope is invalid."
        ),
    )
}

fn find(s: &Srv, scope: &str, name: &str) -> Option<Value> {
    s.assignments
        .lock()
        .unwrap()
        .iter()
        .find(|v| is_named(v, scope, name))
        .cloned()
}

/// The list at `scope`: with `$filter=atScope()` the assignments at the scope and above it,
/// without it those below as well; `PAGE` at a time.
fn list(s: &Srv, path: &str, scope: &str, query: &str) -> Response {
    let at_scope_only = query.to_ascii_lowercase().contains("atscope()");
    let want = scope.to_lowercase();
    let mut items = fixed(&want);
    items.extend(
        s.assignments
            .lock()
            .unwrap()
            .iter()
            .filter(|v| {
                let have = prop(v, "scope").to_lowercase();
                let at_or_above = have == want || want.starts_with(&format!("{have}/"));
                at_or_above || (!at_scope_only && have.starts_with(&format!("{want}/")))
            })
            .cloned(),
    );
    let mut skip = 0;
    let mut kept = Vec::new();
    for kv in query.split('&') {
        match kv.strip_prefix("$skiptoken=") {
            Some(n) => skip = n.parse().unwrap_or(0),
            None => kept.push(kv),
        }
    }
    let page: Vec<Value> = items.iter().skip(skip).take(PAGE).cloned().collect();
    if skip + PAGE < items.len() {
        let next = format!(
            "{}{path}?{}&$skiptoken={}",
            s.base,
            kept.join("&"),
            skip + PAGE
        );
        ok(json!({"value": page, "nextLink": next}))
    } else {
        ok(json!({"value": page}))
    }
}

/// Assignments of subscriptions A and B that are part of their fixed data.
fn fixed(lower_scope: &str) -> Vec<Value> {
    if lower_scope == format!("/subscriptions/{SUB_A}") {
        arm(EXAMPLE)["value"].as_array().unwrap().clone()
    } else if lower_scope == format!("/subscriptions/{SUB_B}") {
        variants::role_assignments()
    } else {
        Vec::new()
    }
}

/// A new assignment in the shape of the published example.
fn object(scope: &str, name: &str, role: &str, principal: &str, principal_type: &str) -> Value {
    let mut v = arm(EXAMPLE)["value"][0].clone();
    v["id"] = json!(format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    ));
    v["name"] = json!(name);
    let p = &mut v["properties"];
    p["roleDefinitionId"] = json!(role);
    p["principalId"] = json!(principal);
    p["principalType"] = json!(principal_type);
    p["scope"] = json!(scope);
    v
}

fn prop<'a>(v: &'a Value, key: &str) -> &'a str {
    v["properties"][key].as_str().unwrap_or_default()
}

fn is_named(v: &Value, scope: &str, name: &str) -> bool {
    v["name"]
        .as_str()
        .unwrap_or_default()
        .eq_ignore_ascii_case(name)
        && prop(v, "scope").to_lowercase() == scope.to_lowercase()
}

/// Same scope, principal and role (by the role definition's GUID: ARM accepts it with or
/// without a subscription prefix).
fn same_grant(v: &Value, scope: &str, role: &str, principal: &str) -> bool {
    let guid = |id: &str| {
        id.rsplit('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    prop(v, "scope").to_lowercase() == scope.to_lowercase()
        && prop(v, "principalId").eq_ignore_ascii_case(principal)
        && guid(prop(v, "roleDefinitionId")) == guid(role)
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}
