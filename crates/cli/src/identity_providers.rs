//! `trustplane admin identity-providers ...`: upstream OpenID Connect providers through the
//! admin API. The client secret is read from standard input, never from the command line.

use anyhow::Result;
use serde_json::{json, Value};

use crate::args::{IdentityProvidersCommand, Output};
use crate::client::{enc, Client};
use crate::output;

const COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "displayName"),
    ("issuer", "issuer"),
    ("domains", "domains"),
    ("linkBy", "settings.linkBy"),
    ("trustMfa", "settings.trustMfa"),
];

pub async fn run(client: &Client, c: IdentityProvidersCommand, out: Output) -> Result<()> {
    let path = |id: &str, rest: &str| format!("/api/v1/identityProviders/{}{rest}", enc(id));
    match c {
        IdentityProvidersCommand::List => output::list(
            out,
            &client.list("/api/v1/identityProviders", false).await?,
            COLUMNS,
        ),
        IdentityProvidersCommand::Show { id } => {
            output::one(out, &client.get(&path(&id, "")).await?)
        }
        IdentityProvidersCommand::Create {
            r#type,
            display_name,
            issuer,
            client_id,
            client_secret_stdin: _,
            domains,
            scopes,
            link_by,
            anchor_claim,
            subject_claim,
            trust_mfa,
            jit_provisioning,
        } => {
            let secret = crate::client::secret_from_stdin("client secret")?;
            let mut mapping = serde_json::Map::new();
            if let Some(a) = anchor_claim {
                mapping.insert("anchor".into(), Value::String(a));
            }
            if let Some(s) = subject_claim {
                mapping.insert("subject".into(), Value::String(s));
            }
            let mut body = json!({
                "type": r#type, "issuer": issuer, "clientId": client_id, "clientSecret": secret,
                "domains": domains, "linkBy": link_by, "trustMfa": trust_mfa,
                "jitProvisioning": jit_provisioning, "claimMapping": mapping,
            });
            if let Some(name) = display_name {
                body["displayName"] = Value::String(name);
            }
            if !scopes.is_empty() {
                body["scopes"] = json!(scopes);
            }
            let created = client.post("/api/v1/identityProviders", &body).await?;
            output::one(out, &created.unwrap_or(Value::Null));
        }
        IdentityProvidersCommand::Test { id } => {
            let info = client.post(&path(&id, "/test"), &json!({})).await?;
            output::one(out, &info.unwrap_or(Value::Null));
        }
        IdentityProvidersCommand::Delete { id } => {
            client.delete(&path(&id, "")).await?;
            output::done(out, "deleted; users it created stay as local users");
        }
    }
    Ok(())
}
