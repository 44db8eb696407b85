//! A small client of the admin API that turns problem documents into one-line errors.

use std::path::PathBuf;

use anyhow::{Context, Result};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::args::ApiArgs;

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

#[derive(Serialize, Deserialize, Default)]
pub struct Profile {
    pub url: Option<String>,
    pub token: Option<String>,
}

pub fn profile_path(args: &ApiArgs) -> Option<PathBuf> {
    args.profile.clone().or_else(|| {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/trustplane/cli.toml"))
    })
}

fn read_profile(args: &ApiArgs) -> Result<Profile> {
    let Some(path) = profile_path(args) else {
        return Ok(Profile::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            toml_profile(&text).with_context(|| format!("cannot read profile {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Profile::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read profile {}", path.display())),
    }
}

fn toml_profile(text: &str) -> Result<Profile> {
    use figment::providers::{Format, Toml};
    Ok(figment::Figment::from(Toml::string(text)).extract()?)
}

impl Client {
    pub fn new(args: &ApiArgs) -> Result<Self> {
        let profile = read_profile(args)?;
        let base = args.url.clone().or(profile.url).context(
            "no server URL: pass --url, set TRUSTPLANE_URL, or run `trustplane admin login`",
        )?;
        let token = args.token.clone().or(profile.token).context(
            "no token: pass --token, set TRUSTPLANE_TOKEN, or run `trustplane admin login`",
        )?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("trustplane-cli/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
        })
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status.is_success() {
            if status == StatusCode::NO_CONTENT || text.is_empty() {
                return Ok(None);
            }
            return Ok(Some(
                serde_json::from_str(&text)
                    .context("the server answered something that is not JSON")?,
            ));
        }
        Err(problem(status, &text))
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        Ok(self
            .call(Method::GET, path, None)
            .await?
            .unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Option<Value>> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// POSTs raw bytes (log files) and reads the JSON answer.
    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> Result<Value> {
        let resp = self
            .http
            .post(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .body(body)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(problem(status, &text));
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// GETs a document that is not JSON (SAML metadata).
    pub async fn get_text(&self, path: &str) -> Result<String> {
        let resp = self
            .http
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(problem(status, &text));
        }
        Ok(text)
    }

    /// GETs a long answer (an export) and copies it to `out` as it arrives.
    pub async fn get_to(&self, path: &str, out: &mut dyn std::io::Write) -> Result<()> {
        let mut resp = self
            .http
            .get(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            // An export of a long window takes longer than an API call may.
            .timeout(std::time::Duration::from_secs(3600))
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        let status = resp.status();
        if !status.is_success() {
            let text = resp.text().await.unwrap_or_default();
            return Err(problem(status, &text));
        }
        while let Some(chunk) = resp
            .chunk()
            .await
            .context("the answer was cut short; the export is incomplete")?
        {
            out.write_all(&chunk)?;
        }
        out.flush()?;
        Ok(())
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value> {
        Ok(self
            .call(Method::PATCH, path, Some(body))
            .await?
            .unwrap_or(Value::Null))
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Option<Value>> {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<()> {
        self.call(Method::DELETE, path, None).await.map(|_| ())
    }

    /// Reads a collection, following `@odata.nextLink` when `all` is set.
    pub async fn list(&self, first: &str, all: bool) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut next = Some(first.to_string());
        while let Some(path) = next.take() {
            let page = self.get(&path).await?;
            if let Some(v) = page.get("value").and_then(Value::as_array) {
                items.extend(v.iter().cloned());
            }
            if all {
                next = page
                    .get("@odata.nextLink")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
        }
        Ok(items)
    }
}

/// A one-line error from a problem document (or the start of whatever else was answered).
fn problem(status: StatusCode, text: &str) -> anyhow::Error {
    let detail = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("detail").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| text.chars().take(200).collect());
    anyhow::anyhow!(
        "{} {}: {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        detail
    )
}

/// Percent-encodes a query or path value.
/// One line of standard input holding a secret (`what` names it in the error when empty).
pub fn secret_from_stdin(what: &str) -> Result<String> {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let secret = line.trim_end_matches(['\r', '\n']);
    if secret.is_empty() {
        anyhow::bail!("no {what} on standard input");
    }
    Ok(secret.to_string())
}

pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
