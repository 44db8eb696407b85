//! What a change to conditional access would do before it is stored: references that resolve
//! to nothing in this directory, whether a policy applies to the administrator making the
//! change, and whether the change would block every Global Administrator (Entra warns of the
//! same: a tenant's policies imported elsewhere lock everyone out).

use serde_json::Value;
use trustplane_access::{ConditionalAccessPolicy, NamedLocation, Outcome, PolicySet, PolicyState};
use trustplane_model::User;
use trustplane_store::{CaKind, Store, StoreError};

use crate::ca::{ConditionalAccess, PORTAL_APP_ID};
use crate::{ClientApp, RequestContext};

/// Special values Graph allows in place of ids.
const USER_KEYWORDS: &[&str] = &["All", "None", "GuestsOrExternalUsers"];
const LOCATION_KEYWORDS: &[&str] = &["All", "AllTrusted"];
const APP_KEYWORDS: &[&str] = &[
    "All",
    "None",
    "Office365",
    "MicrosoftAdminPortals",
    PORTAL_APP_ID,
    "trustplane-pim",
];

fn ids<'a>(policy: &'a Value, path: &[&str]) -> Vec<&'a str> {
    let mut v = policy;
    for key in path {
        match v.get(key) {
            Some(next) => v = next,
            None => return Vec::new(),
        }
    }
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// References of a Graph policy that name nothing here: an excluded group that does not
/// exist excludes no one, an included location that does not exist matches nothing.
pub async fn unresolved_references(
    store: &Store,
    policy: &Value,
) -> Result<Vec<String>, StoreError> {
    let mut warnings = Vec::new();
    let roles = store.list_role_definitions().await?;
    for side in ["include", "exclude"] {
        for id in ids(policy, &["conditions", "users", &format!("{side}Users")]) {
            if !USER_KEYWORDS.contains(&id) && missing(store.get_user(id).await)? {
                warnings.push(format!(
                    "conditions.users.{side}Users: no user `{id}` in this directory"
                ));
            }
        }
        for id in ids(policy, &["conditions", "users", &format!("{side}Groups")]) {
            if missing(store.get_group(id).await)? {
                warnings.push(format!(
                    "conditions.users.{side}Groups: no group `{id}` in this directory"
                ));
            }
        }
        for id in ids(policy, &["conditions", "users", &format!("{side}Roles")]) {
            if !roles
                .iter()
                .any(|r| r.id.eq_ignore_ascii_case(id) || r.template_id.eq_ignore_ascii_case(id))
            {
                warnings.push(format!(
                    "conditions.users.{side}Roles: no role `{id}` in this directory"
                ));
            }
        }
        for id in ids(
            policy,
            &["conditions", "locations", &format!("{side}Locations")],
        ) {
            if !LOCATION_KEYWORDS.contains(&id)
                && missing(store.get_ca(CaKind::NamedLocation, id).await)?
            {
                warnings.push(format!(
                    "conditions.locations.{side}Locations: no named location `{id}`"
                ));
            }
        }
        for id in ids(
            policy,
            &["conditions", "applications", &format!("{side}Applications")],
        ) {
            if !APP_KEYWORDS.contains(&id) && missing(store.get_application(id).await)? {
                warnings.push(format!(
                    "conditions.applications.{side}Applications: no application `{id}`"
                ));
            }
        }
    }
    Ok(warnings)
}

fn missing<T>(found: Result<T, StoreError>) -> Result<bool, StoreError> {
    match found {
        Ok(_) => Ok(false),
        Err(StoreError::NotFound { .. }) => Ok(true),
        // A name several objects share still names something.
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn stored_locations(store: &Store) -> Result<Vec<NamedLocation>, StoreError> {
    Ok(store
        .list_ca(CaKind::NamedLocation)
        .await?
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

/// Whether `policy`'s conditions match `user` signing in to Trustplane from this request.
pub async fn applies_to(
    ca: &ConditionalAccess,
    store: &Store,
    policy: &ConditionalAccessPolicy,
    user: &User,
    req: &RequestContext,
) -> Result<bool, StoreError> {
    let mut enabled = policy.clone();
    enabled.state = PolicyState::Enabled;
    let Ok(set) = PolicySet::compile(&[enabled], &stored_locations(store).await?) else {
        return Ok(false);
    };
    let ctx = ca
        .context(user, ClientApp::Browser, req, PORTAL_APP_ID, &[])
        .await?;
    Ok(!set.evaluate(&ctx).enforced().is_empty())
}

/// With `candidate` as the whole set of policies, the names of the policies that would keep
/// every enabled Global Administrator out of Trustplane, signing in from this request with a
/// second factor; `None` when at least one would still get in, or there is none to check.
pub async fn blocks_every_global_admin(
    ca: &ConditionalAccess,
    store: &Store,
    candidate: &[ConditionalAccessPolicy],
    req: &RequestContext,
) -> Result<Option<Vec<String>>, StoreError> {
    let admins = store.global_administrators().await?;
    if admins.is_empty() {
        return Ok(None);
    }
    let Ok(set) = PolicySet::compile(candidate, &stored_locations(store).await?) else {
        // An invalid set is refused on its own grounds before this is asked.
        return Ok(None);
    };
    let mut culprits: Vec<String> = Vec::new();
    for admin in &admins {
        let ctx = ca
            .context(admin, ClientApp::Browser, req, PORTAL_APP_ID, &["mfa"])
            .await?;
        let decision = set.evaluate(&ctx);
        if decision.result() == Outcome::Allow {
            return Ok(None);
        }
        let names = decision
            .enforced()
            .iter()
            .filter(|a| a.outcome() != Outcome::Allow)
            .filter_map(|a| candidate.get(a.index()))
            .filter_map(|p| p.display_name.clone());
        for name in names {
            if !culprits.contains(&name) {
                culprits.push(name);
            }
        }
    }
    Ok(Some(culprits))
}
