//! `trustplane admin applications ...`: registrations with their SAML and OIDC settings,
//! client secrets (shown once), and import from SAML metadata.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

use crate::args::{AppProtocolArgs, AppsCommand, ListArgs, Output};
use crate::client::{enc, Client};
use crate::output;

const APP_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("appId", "appId"),
    ("displayName", "displayName"),
];

pub async fn apps(client: &Client, c: AppsCommand, out: Output) -> Result<()> {
    match c {
        AppsCommand::List(l) => {
            let items = client.list(&list_path(&l), l.all).await?;
            output::list(out, &items, APP_COLUMNS);
        }
        AppsCommand::Get { id } => output::one(out, &client.get(&app_path(&id)).await?),
        AppsCommand::Create {
            display_name,
            description,
            app_id,
            protocol,
        } => {
            let settings = protocol_settings(&protocol, &Map::new())?;
            let mut body = json!({
                "displayName": display_name,
                "description": description,
                "settings": settings,
            });
            if let Some(a) = app_id {
                body["appId"] = Value::String(a);
            }
            let app = client.post("/api/v1/applications", &body).await?;
            output::one(out, &app.unwrap_or(Value::Null));
        }
        AppsCommand::ImportMetadata {
            file,
            display_name,
            description,
        } => {
            let body = json!({
                "displayName": display_name,
                "description": description,
                "metadataXml": read_text(&file)?,
            });
            let app = client
                .post("/api/v1/applications/fromSamlMetadata", &body)
                .await?;
            output::one(out, &app.unwrap_or(Value::Null));
        }
        AppsCommand::Update {
            id,
            display_name,
            description,
            protocol,
        } => {
            let mut body = json!({});
            if let Some(v) = display_name {
                body["displayName"] = Value::String(v);
            }
            if let Some(v) = description {
                body["description"] = Value::String(v);
            }
            if protocol.any() {
                // The API replaces `settings` whole: start from what is there.
                let app = client.get(&app_path(&id)).await?;
                let current = app["settings"].as_object().cloned().unwrap_or_default();
                body["settings"] = Value::Object(protocol_settings(&protocol, &current)?);
            }
            if body.as_object().is_some_and(Map::is_empty) {
                bail!("nothing to change: give --display-name, --description or protocol settings");
            }
            output::one(out, &client.patch(&app_path(&id), &body).await?);
        }
        AppsCommand::AddSecret {
            id,
            display_name,
            end,
        } => {
            let body =
                json!({"passwordCredential": {"displayName": display_name, "endDateTime": end}});
            let secret = client
                .post(&format!("{}/addPassword", app_path(&id)), &body)
                .await?
                .unwrap_or(Value::Null);
            match out {
                Output::Json => output::one(out, &secret),
                Output::Table => {
                    println!(
                        "client secret (shown once): {}",
                        secret["secretText"].as_str().unwrap_or_default()
                    );
                    println!("key id: {}", secret["keyId"].as_str().unwrap_or_default());
                }
            }
        }
        AppsCommand::RemoveSecret { id, key_id } => {
            client
                .post(
                    &format!("{}/removePassword", app_path(&id)),
                    &json!({ "keyId": key_id }),
                )
                .await?;
            output::done(out, &format!("removed secret {key_id}"));
        }
        AppsCommand::Delete { id } => {
            client.delete(&app_path(&id)).await?;
            output::done(out, &format!("deleted application {id}"));
        }
    }
    Ok(())
}

fn app_path(id: &str) -> String {
    format!("/api/v1/applications/{}", enc(id))
}

fn list_path(l: &ListArgs) -> String {
    let mut path = format!("/api/v1/applications?$top={}", l.top);
    if let Some(f) = &l.filter {
        path.push_str(&format!("&$filter={}", enc(f)));
    }
    path
}

impl AppProtocolArgs {
    fn any(&self) -> bool {
        self.template.is_some()
            || !self.acs.is_empty()
            || self.session_duration.is_some()
            || !self.aws_accounts.is_empty()
            || !self.redirect_uris.is_empty()
            || self.saml_file.is_some()
            || self.oidc_file.is_some()
            || self.proxy_upstream.is_some()
            || self.proxy_external_url.is_some()
            || self.session_policy_file.is_some()
    }
}

/// `settings` with the flags and files applied over `current`. The server checks the result.
fn protocol_settings(
    p: &AppProtocolArgs,
    current: &Map<String, Value>,
) -> Result<Map<String, Value>> {
    let mut settings = current.clone();
    if let Some(file) = &p.saml_file {
        settings.insert("saml".into(), read_object(file)?);
    }
    if let Some(file) = &p.oidc_file {
        settings.insert("oidc".into(), read_object(file)?);
    }
    let saml_flags = p.template.is_some()
        || !p.acs.is_empty()
        || p.session_duration.is_some()
        || !p.aws_accounts.is_empty();
    if saml_flags {
        let saml = object_at(&mut settings, "saml");
        if let Some(t) = &p.template {
            let template = match t.as_str() {
                "aws-console" => "awsConsole",
                "aws-identity-center" => "awsIdentityCenter",
                _ => "generic",
            };
            saml.insert("template".into(), Value::String(template.into()));
        }
        if !p.acs.is_empty() {
            let acs: Vec<Value> = p
                .acs
                .iter()
                .enumerate()
                .map(|(i, url)| json!({"url": url, "index": i, "isDefault": i == 0}))
                .collect();
            saml.insert("assertionConsumerServices".into(), Value::Array(acs));
        }
        if let Some(d) = p.session_duration {
            saml.insert("sessionDuration".into(), json!(d));
        }
        if !p.aws_accounts.is_empty() {
            saml.insert("awsAccounts".into(), json!(p.aws_accounts));
        }
    }
    if !p.redirect_uris.is_empty() {
        object_at(&mut settings, "oidc").insert("redirectUris".into(), json!(p.redirect_uris));
    }
    proxy_settings(p, &mut settings)?;
    Ok(settings)
}

/// A proxied application: `settings.proxy` from the flags, and an OIDC client whose redirect
/// URI is the proxy's callback (added when missing).
fn proxy_settings(p: &AppProtocolArgs, settings: &mut Map<String, Value>) -> Result<()> {
    if p.proxy_upstream.is_none()
        && p.proxy_external_url.is_none()
        && p.session_policy_file.is_none()
    {
        return Ok(());
    }
    let proxy = object_at(settings, "proxy");
    if let Some(u) = &p.proxy_upstream {
        proxy.insert("upstream".into(), json!(u));
    }
    if let Some(u) = &p.proxy_external_url {
        proxy.insert("externalUrl".into(), json!(u.trim_end_matches('/')));
    }
    if let Some(file) = &p.session_policy_file {
        proxy.insert("sessionPolicy".into(), read_object(file)?);
    }
    let Some(external) = proxy.get("externalUrl").and_then(Value::as_str) else {
        bail!("a proxied application needs --proxy-external-url (and --proxy-upstream)");
    };
    let callback = format!(
        "{}{}",
        external.trim_end_matches('/'),
        trustplane_model::PROXY_CALLBACK_PATH
    );
    let oidc = object_at(settings, "oidc");
    let uris = oidc
        .entry("redirectUris")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Some(list) = uris.as_array_mut() {
        if !list.iter().any(|u| u.as_str() == Some(callback.as_str())) {
            list.push(Value::String(callback));
        }
    }
    Ok(())
}

fn object_at<'a>(settings: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = settings
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(m) => m,
        // Made an object just above.
        _ => unreachable!("settings.{key} is an object"),
    }
}

/// A file's text, or standard input's for `-`.
fn read_text(file: &Path) -> Result<String> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

/// A JSON object from a file (or standard input for `-`).
pub(crate) fn read_object(file: &Path) -> Result<Value> {
    let value: Value = serde_json::from_str(&read_text(file)?)
        .with_context(|| format!("{} is not JSON", file.display()))?;
    if !value.is_object() {
        bail!("{} must hold a JSON object", file.display());
    }
    Ok(value)
}
