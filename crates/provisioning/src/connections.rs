//! Provisioning connections as administrators manage them: what a new connection may say,
//! an inbound connection's bearer token (returned once, stored as a hash), an outbound one's
//! settings (checked field by field; a SCIM token sealed, never returned), its status, running
//! it and confirming a held run.

use serde::Deserialize;
use serde_json::{json, Map, Value};
use trustplane_model::Actor;
use trustplane_store::{Store, StoreError, AWS_SCIM, SCIM_INBOUND};

use crate::outbound::{self, is_outbound, Mode, Outbound};

/// What every SCIM bearer token starts with: it reaches `/scim/v2` and nothing else.
pub const SCIM_TOKEN_PREFIX: &str = "tpscim_";

/// Body of `POST /api/v1/provisioning/connections`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateConnection {
    /// `scimInbound`, `awsIdentityStore` or `awsScim`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A name for people.
    pub display_name: String,
    /// Settings of the type: none for `scimInbound`; `identityStoreId`, `region` (and for
    /// tests `endpoint`) for `awsIdentityStore`; `url` and `token` for `awsScim`; and for both
    /// outbound kinds `scopeGroups` (ids or names; none: everyone) and
    /// `deleteThresholdPercent` (default 10).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub rest: Map<String, Value>,
}

fn invalid(field: &'static str, message: String) -> StoreError {
    StoreError::Invalid { field, message }
}

/// Creates a connection; `public_url` is where this node is reached. The answer holds the
/// connection and, for `scimInbound`, its `token`, shown only now. An `awsScim` token is
/// sealed with the node's master key and never returned.
pub async fn create(
    store: &Store,
    outbound: &Outbound,
    actor: &Actor,
    body: CreateConnection,
    public_url: &str,
) -> Result<Value, StoreError> {
    if is_outbound(&body.kind) {
        let (settings, token) = outbound::settings::parse(store, &body.kind, &body.rest).await?;
        let id = trustplane_model::new_id();
        let sealed = match &token {
            Some(t) => Some(outbound.seal(&id, t)?),
            None => None,
        };
        let mut kept = serde_json::to_value(&settings).unwrap_or_default();
        if body.kind == AWS_SCIM {
            kept["hasToken"] = Value::Bool(true);
        }
        let c = store
            .create_outbound_connection(actor, id, &body.kind, &body.display_name, kept, sealed)
            .await?;
        return Ok(serde_json::to_value(&c).unwrap_or_default());
    }
    if body.kind != SCIM_INBOUND {
        let why = "must be scimInbound, awsIdentityStore or awsScim";
        return Err(invalid("type", why.into()));
    }
    if let Some(field) = body.rest.keys().next() {
        let field: String = field.chars().take(64).collect();
        return Err(invalid(
            "settings",
            format!("`{field}` is not a setting of a scimInbound connection"),
        ));
    }
    let (token, token_hash) = trustplane_authn::new_prefixed_token(SCIM_TOKEN_PREFIX);
    let settings = json!({ "baseUrl": format!("{}/scim/v2", public_url.trim_end_matches('/')) });
    let connection = store
        .create_provisioning_connection(
            actor,
            SCIM_INBOUND,
            &body.display_name,
            settings,
            Some(token_hash),
        )
        .await?;
    let mut out = serde_json::to_value(&connection).unwrap_or_default();
    if let Some(map) = out.as_object_mut() {
        map.insert("token".into(), Value::String(token));
    }
    Ok(out)
}

/// A connection's status, with its id, type and name; for an outbound connection also the
/// last run's report (`lastRun`: changes pushed, failures with the cloud's reason, drift) and
/// the run waiting for confirmation (`held`), if any.
pub async fn status(store: &Store, id: &str) -> Result<Value, StoreError> {
    let c = store.get_provisioning_connection(id).await?;
    let mut out = serde_json::to_value(&c.status).unwrap_or_default();
    if let Some(map) = out.as_object_mut() {
        map.insert("id".into(), Value::String(c.id.clone()));
        map.insert("type".into(), Value::String(c.kind.clone()));
        map.insert("displayName".into(), Value::String(c.display_name));
        if is_outbound(&c.kind) {
            let (report, held) = store.outbound_report(&c.id).await?;
            map.insert("lastRun".into(), report.unwrap_or(Value::Null));
            map.insert("held".into(), held.unwrap_or(Value::Null));
        }
    }
    Ok(out)
}

/// Runs a connection now (reading the target and repairing drift); its report. A
/// `scimInbound` connection has nothing to run: its client pushes (409).
pub async fn run(
    store: &Store,
    outbound: &Outbound,
    actor: &Actor,
    id: &str,
) -> Result<Value, StoreError> {
    let c = store.get_provisioning_connection(id).await?;
    if is_outbound(&c.kind) {
        store
            .audit_provisioning_action(actor, "provisioningConnection.run", &c)
            .await?;
    }
    outbound.run(&c.id, Mode::Reconcile).await
}

/// Confirms the run held back by accidental-delete prevention and runs it; 409 when none is
/// held. Audited.
pub async fn confirm(
    store: &Store,
    outbound: &Outbound,
    actor: &Actor,
    id: &str,
) -> Result<Value, StoreError> {
    let c = store.get_provisioning_connection(id).await?;
    let (_, held) = store.outbound_report(&c.id).await?;
    if held.is_none() {
        return Err(StoreError::Conflict(format!(
            "`{}` has no run waiting for confirmation",
            c.display_name
        )));
    }
    store
        .audit_provisioning_action(actor, "provisioningConnection.confirm", &c)
        .await?;
    outbound.run(&c.id, Mode::Confirm).await
}
