//! Conditional-access policies and named locations as an administrator changes them: Graph
//! JSON checked field by field, PATCH merged, and each policy change reviewed before it is
//! stored (turned report-only when it would apply to its author if asked, refused when it would
//! block every Global Administrator unless forced). Also the what-if evaluation with the
//! directory's facts filled in.

use serde_json::{json, Value};
use trustplane_access::{
    parse_input, resolve_country, ConditionalAccessPolicy, NamedLocation, PolicyState,
};
use trustplane_model::{Actor, User};
use trustplane_store::{CaKind, Store, StoreError};

use crate::ca::ConditionalAccess;
use crate::ca_guard;
use crate::RequestContext;

/// Why a change is not stored.
#[derive(Debug, thiserror::Error)]
pub enum PolicyChangeError {
    /// The JSON is not a valid policy or location; `field` names the first bad field.
    #[error("{detail}")]
    Invalid {
        /// Every problem, `field: message; …`.
        detail: String,
        /// The first bad field, when one is to blame.
        field: Option<String>,
    },
    /// The change would block every Global Administrator, and was not forced.
    #[error("{0}")]
    WouldLockOut(String),
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(detail: impl Into<String>) -> PolicyChangeError {
    PolicyChangeError::Invalid {
        detail: detail.into(),
        field: None,
    }
}

/// How a policy change is to be reviewed.
#[derive(Debug, Default, Clone, Copy)]
pub struct ChangeOptions {
    /// Store the change even though it would block every Global Administrator.
    pub force: bool,
    /// Store an enabled policy as report-only when its conditions match the author.
    pub report_only_if_it_applies_to_me: bool,
}

/// Who changes conditional access, and from where.
pub struct Author<'a> {
    /// As recorded in the audit trail.
    pub actor: &'a Actor,
    /// The person.
    pub user: &'a User,
    /// Their request.
    pub ctx: &'a RequestContext,
}

/// Parses and validates a policy; gives its display name and state.
pub fn check_policy(body: &Value) -> Result<(String, String), PolicyChangeError> {
    let policy = ConditionalAccessPolicy::from_json(&body.to_string())
        .map_err(|e| invalid(e.to_string()))?;
    let errors = policy.validate();
    if let Some(first) = errors.first() {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field(), e.message()))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(PolicyChangeError::Invalid {
            detail,
            field: Some(first.field().to_string()),
        });
    }
    let name = policy.display_name.clone().unwrap_or_default();
    if name.trim().is_empty() {
        return Err(invalid("displayName must not be empty"));
    }
    Ok((name, policy.state.as_str().to_string()))
}

/// Parses and validates a named location; gives its display name.
pub fn check_location(body: &Value) -> Result<String, PolicyChangeError> {
    let location =
        NamedLocation::from_json(&body.to_string()).map_err(|e| invalid(e.to_string()))?;
    let errors = location.validate();
    if !errors.is_empty() {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field(), e.message()))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(invalid(detail));
    }
    Ok(location.display_name().unwrap_or_default().to_string())
}

/// Graph PATCH: the given top-level properties replace the stored ones.
pub fn merge(mut stored: Value, patch: Value) -> Result<Value, PolicyChangeError> {
    let (Some(target), Value::Object(fields)) = (stored.as_object_mut(), patch) else {
        return Err(invalid("the body must be a JSON object"));
    };
    for (k, v) in fields {
        if k == "id" {
            continue;
        }
        target.insert(k, v);
    }
    Ok(stored)
}

/// Reviews a policy about to be stored as `body` (replacing the stored one with `replacing`,
/// if any): may turn it report-only, refuses a change that locks every Global Administrator
/// out unless forced, and returns the warnings to show with the stored policy.
async fn review_change(
    ca: &ConditionalAccess,
    store: &Store,
    author: &Author<'_>,
    options: ChangeOptions,
    body: &mut Value,
    replacing: Option<&str>,
) -> Result<Vec<String>, PolicyChangeError> {
    let mut warnings = ca_guard::unresolved_references(store, body).await?;
    let parse = |v: &Value| ConditionalAccessPolicy::from_json(&v.to_string());
    let mut policy = parse(body).map_err(|e| invalid(e.to_string()))?;
    if options.report_only_if_it_applies_to_me
        && policy.state == PolicyState::Enabled
        && ca_guard::applies_to(ca, store, &policy, author.user, author.ctx).await?
    {
        policy.state = PolicyState::ReportOnly;
        if let Some(obj) = body.as_object_mut() {
            obj.insert("state".into(), Value::String(policy.state.as_str().into()));
        }
        warnings.push(
            "stored report-only: the policy applies to you; enable it once its report shows it does what you want"
                .into(),
        );
    }
    if policy.state != PolicyState::Enabled {
        return Ok(warnings);
    }
    let mut candidate: Vec<ConditionalAccessPolicy> = Vec::new();
    for stored in store.list_ca(CaKind::Policy).await? {
        let same = replacing.is_some_and(|id| stored.get("id").and_then(Value::as_str) == Some(id));
        if !same {
            if let Ok(p) = parse(&stored) {
                candidate.push(p);
            }
        }
    }
    candidate.push(policy);
    if let Some(culprits) =
        ca_guard::blocks_every_global_admin(ca, store, &candidate, author.ctx).await?
    {
        let message = format!(
            "this would block every Global Administrator from signing in (by {}); make it report-only first, exclude an emergency-access account, or send force=true",
            if culprits.is_empty() { "the policies together".to_string() } else { culprits.join(", ") }
        );
        if !options.force {
            return Err(PolicyChangeError::WouldLockOut(message));
        }
        warnings.push(format!("forced: {message}"));
    }
    Ok(warnings)
}

/// The stored policy with the review's warnings, as an OData-style annotation.
fn with_warnings(mut stored: Value, warnings: Vec<String>) -> Value {
    if !warnings.is_empty() {
        if let Some(obj) = stored.as_object_mut() {
            obj.insert("@trustplane.warnings".into(), json!(warnings));
        }
    }
    stored
}

/// Creates a policy after its review; answers it with `@trustplane.warnings`.
pub async fn create_policy(
    ca: &ConditionalAccess,
    store: &Store,
    author: &Author<'_>,
    options: ChangeOptions,
    mut body: Value,
) -> Result<Value, PolicyChangeError> {
    check_policy(&body)?;
    let warnings = review_change(ca, store, author, options, &mut body, None).await?;
    let (name, state) = check_policy(&body)?;
    let stored = store
        .create_ca(author.actor, CaKind::Policy, body, &name, Some(&state))
        .await?;
    Ok(with_warnings(stored, warnings))
}

/// Applies a Graph PATCH to a policy (by id or name) after its review.
pub async fn update_policy(
    ca: &ConditionalAccess,
    store: &Store,
    author: &Author<'_>,
    options: ChangeOptions,
    id: &str,
    patch: Value,
) -> Result<Value, PolicyChangeError> {
    let id = store.resolve_ca_id(CaKind::Policy, id).await?;
    let mut merged = merge(store.get_ca(CaKind::Policy, &id).await?, patch)?;
    check_policy(&merged)?;
    let warnings = review_change(ca, store, author, options, &mut merged, Some(&id)).await?;
    let (name, state) = check_policy(&merged)?;
    let stored = store
        .update_ca(
            author.actor,
            CaKind::Policy,
            &id,
            merged,
            &name,
            Some(&state),
        )
        .await?;
    Ok(with_warnings(stored, warnings))
}

/// Creates a named location. Policies refer to locations by id, so a new location gets one
/// before it is checked.
pub async fn create_location(
    store: &Store,
    actor: &Actor,
    mut body: Value,
) -> Result<Value, PolicyChangeError> {
    if let Some(obj) = body.as_object_mut() {
        let has_id = obj
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        if !has_id {
            obj.insert("id".into(), Value::String(trustplane_model::new_id()));
        }
    }
    let name = check_location(&body)?;
    Ok(store
        .create_ca(actor, CaKind::NamedLocation, body, &name, None)
        .await?)
}

/// Applies a Graph PATCH to a named location.
pub async fn update_location(
    store: &Store,
    actor: &Actor,
    id: &str,
    patch: Value,
) -> Result<Value, PolicyChangeError> {
    let merged = merge(store.get_ca(CaKind::NamedLocation, id).await?, patch)?;
    let name = check_location(&merged)?;
    Ok(store
        .update_ca(actor, CaKind::NamedLocation, id, merged, &name, None)
        .await?)
}

/// What-if against the stored policies. The body is the flat input or Graph's evaluate body;
/// when it names a user of this directory and gives no groups or roles, the directory's are
/// used.
pub async fn what_if(
    ca: &ConditionalAccess,
    store: &Store,
    body: &Value,
) -> Result<Value, PolicyChangeError> {
    let mut ctx = parse_input(&body.to_string()).map_err(|e| invalid(e.to_string()))?;
    if let Some(user_id) = ctx.user_id.clone() {
        if let Ok(user) = store.get_user(&user_id).await {
            ctx.user_id = Some(user.id.clone());
            if ctx.group_ids.is_empty() {
                ctx.group_ids = store.group_ids_of(&user.id, true).await?;
            }
            if ctx.role_ids.is_empty() {
                ctx.role_ids = store
                    .effective_roles(&user.id)
                    .await?
                    .into_iter()
                    .map(|r| r.template_id)
                    .collect();
            }
        }
    }
    if let Some(lookup) = ca.geoip() {
        resolve_country(&mut ctx, lookup);
    }
    let set = ca.policy_set().await?;
    Ok(serde_json::to_value(set.explain(&ctx)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_replaces_top_level_properties_but_never_the_id() {
        let stored = json!({"id": "p1", "displayName": "A", "state": "enabled"});
        let merged = merge(stored, json!({"id": "p2", "state": "disabled"})).unwrap();
        assert_eq!(
            merged,
            json!({"id": "p1", "displayName": "A", "state": "disabled"})
        );
        assert!(matches!(
            merge(json!({"id": "p1"}), json!([1])),
            Err(PolicyChangeError::Invalid { .. })
        ));
    }

    #[test]
    fn an_invalid_policy_names_its_first_bad_field() {
        let err = check_policy(&json!({
            "displayName": "x",
            "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}},
            "grantControls": {"operator": "XOR", "builtInControls": ["mfa"]}
        }))
        .unwrap_err();
        let PolicyChangeError::Invalid { field, .. } = err else {
            panic!("expected invalid, got {err:?}");
        };
        assert!(field.is_some_and(|f| f.contains("grantControls")));
    }
}
