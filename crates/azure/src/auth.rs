//! Bearer tokens: given directly, or from the OAuth2 client-credentials grant.

use std::time::{Duration, Instant};

use reqwest::Url;
use serde::Deserialize;

use crate::error::{chain, AzureError};
use crate::http::error_message;
use crate::options::{Credential, Options};

/// Scope of Resource Manager tokens.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// Scope of Microsoft Graph tokens.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

pub(crate) struct Tokens {
    pub arm: String,
    pub graph: Option<String>,
}

/// A Resource Manager token and when to fetch a new one (never for a given token).
pub(crate) struct ArmToken {
    pub value: String,
    pub refresh_at: Option<Instant>,
}

impl ArmToken {
    /// Still good for a while.
    pub(crate) fn fresh(&self) -> bool {
        self.refresh_at.is_none_or(|t| Instant::now() < t)
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Seconds; a number from Entra ID, a string from some other token services.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl TokenResponse {
    /// When to fetch a new token: five minutes before expiry, or half-way for short lives.
    fn refresh_at(&self, fetched: Instant) -> Option<Instant> {
        let secs = match self.expires_in.as_ref()? {
            serde_json::Value::Number(n) => n.as_u64()?,
            serde_json::Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        // A day at most, whatever the answer says.
        let secs = secs.min(86_400);
        let early = (secs / 2).min(300);
        fetched.checked_add(Duration::from_secs(secs - early))
    }
}

pub(crate) async fn acquire(
    client: &reqwest::Client,
    options: &Options,
) -> Result<Tokens, AzureError> {
    let arm = arm_token(client, options).await?.value;
    let graph = match &options.credential {
        Credential::Token { graph, .. } => graph.clone(),
        Credential::ClientSecret {
            tenant_id,
            client_id,
            client_secret,
        } if options.graph => {
            let url = token_url(&options.login_endpoint, tenant_id)?;
            let t = client_credentials(client, &url, client_id, client_secret, GRAPH_SCOPE).await?;
            Some(t.access_token)
        }
        Credential::ClientSecret { .. } => None,
    };
    Ok(Tokens { arm, graph })
}

/// The Resource Manager token of the credential: as given, or from the token endpoint.
pub(crate) async fn arm_token(
    client: &reqwest::Client,
    options: &Options,
) -> Result<ArmToken, AzureError> {
    match &options.credential {
        Credential::Token { arm, .. } => {
            if arm.trim().is_empty() {
                return Err(AzureError::Options("empty access token".to_string()));
            }
            Ok(ArmToken {
                value: arm.clone(),
                refresh_at: None,
            })
        }
        Credential::ClientSecret {
            tenant_id,
            client_id,
            client_secret,
        } => {
            let url = token_url(&options.login_endpoint, tenant_id)?;
            let fetched = Instant::now();
            let t = client_credentials(client, &url, client_id, client_secret, ARM_SCOPE).await?;
            Ok(ArmToken {
                refresh_at: t.refresh_at(fetched),
                value: t.access_token,
            })
        }
    }
}

fn token_url(login: &str, tenant: &str) -> Result<Url, AzureError> {
    if tenant.is_empty()
        || !tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
    {
        return Err(AzureError::Options(format!("invalid tenant id `{tenant}`")));
    }
    let s = format!("{}/{tenant}/oauth2/v2.0/token", login.trim_end_matches('/'));
    Url::parse(&s).map_err(|e| AzureError::Options(format!("login endpoint `{login}`: {e}")))
}

async fn client_credentials(
    client: &reqwest::Client,
    url: &Url,
    client_id: &str,
    client_secret: &str,
    scope: &str,
) -> Result<TokenResponse, AzureError> {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", client_secret),
        ("scope", scope),
    ];
    let resp = client
        .post(url.clone())
        .form(&form)
        .send()
        .await
        .map_err(|e| AzureError::Unreachable {
            url: url.to_string(),
            message: chain(&e),
        })?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| AzureError::Unreachable {
        url: url.to_string(),
        message: chain(&e),
    })?;
    if !status.is_success() {
        return Err(AzureError::Token {
            url: url.to_string(),
            status: status.as_u16(),
            message: error_message(&body),
        });
    }
    serde_json::from_slice::<TokenResponse>(&body).map_err(|e| AzureError::Token {
        url: url.to_string(),
        status: status.as_u16(),
        message: format!("no access_token in the response: {e}"),
    })
}
