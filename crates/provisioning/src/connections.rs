//! Provisioning connections as administrators manage them: what a new connection may say,
//! its bearer token (returned once, stored as a hash), its status, and running it.

use serde::Deserialize;
use serde_json::{json, Map, Value};
use trustplane_model::Actor;
use trustplane_store::{Store, StoreError, SCIM_INBOUND};

/// What every SCIM bearer token starts with: it reaches `/scim/v2` and nothing else.
pub const SCIM_TOKEN_PREFIX: &str = "tpscim_";

/// Connection types named by the design that this version cannot create yet.
const NOT_YET: &[&str] = &["awsIdentityStore", "awsScim"];

/// Body of `POST /api/v1/provisioning/connections`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateConnection {
    /// `scimInbound`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A name for people.
    pub display_name: String,
    /// Settings of the type (none for `scimInbound`).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub rest: Map<String, Value>,
}

fn invalid(field: &'static str, message: String) -> StoreError {
    StoreError::Invalid { field, message }
}

/// Creates a connection; `public_url` is where this node is reached. The answer holds the
/// connection and, for `scimInbound`, its `token`, shown only now.
pub async fn create(
    store: &Store,
    actor: &Actor,
    body: CreateConnection,
    public_url: &str,
) -> Result<Value, StoreError> {
    if NOT_YET.contains(&body.kind.as_str()) {
        let why = format!(
            "`{}` is not yet supported by this version; only `scimInbound` connections can be created",
            body.kind
        );
        return Err(invalid("type", why));
    }
    if body.kind != SCIM_INBOUND {
        let why = "must be scimInbound (awsIdentityStore and awsScim are not yet supported)";
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

/// A connection's status, with its id, type and name.
pub async fn status(store: &Store, id: &str) -> Result<Value, StoreError> {
    let c = store.get_provisioning_connection(id).await?;
    let mut out = serde_json::to_value(&c.status).unwrap_or_default();
    if let Some(map) = out.as_object_mut() {
        map.insert("id".into(), Value::String(c.id));
        map.insert("type".into(), Value::String(c.kind));
        map.insert("displayName".into(), Value::String(c.display_name));
    }
    Ok(out)
}

/// Runs a connection now. A `scimInbound` connection has nothing to run: its client pushes.
pub async fn run(store: &Store, id: &str) -> Result<(), StoreError> {
    let c = store.get_provisioning_connection(id).await?;
    Err(StoreError::Conflict(format!(
        "`{}` is a {} connection: its SCIM client pushes every change, so there is nothing to run",
        c.display_name, c.kind
    )))
}
