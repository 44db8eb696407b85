//! Bearer tokens: given directly, or from the OAuth2 client-credentials grant.

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

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
}

pub(crate) async fn acquire(
    client: &reqwest::Client,
    options: &Options,
) -> Result<Tokens, AzureError> {
    match &options.credential {
        Credential::Token { arm, graph } => {
            if arm.trim().is_empty() {
                return Err(AzureError::Options("empty access token".to_string()));
            }
            Ok(Tokens {
                arm: arm.clone(),
                graph: graph.clone(),
            })
        }
        Credential::ClientSecret {
            tenant_id,
            client_id,
            client_secret,
        } => {
            let url = token_url(&options.login_endpoint, tenant_id)?;
            let arm = client_credentials(client, &url, client_id, client_secret, ARM_SCOPE).await?;
            let graph = if options.graph {
                Some(client_credentials(client, &url, client_id, client_secret, GRAPH_SCOPE).await?)
            } else {
                None
            };
            Ok(Tokens { arm, graph })
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
) -> Result<String, AzureError> {
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
    serde_json::from_slice::<TokenResponse>(&body)
        .map(|t| t.access_token)
        .map_err(|e| AzureError::Token {
            url: url.to_string(),
            status: status.as_u16(),
            message: format!("no access_token in the response: {e}"),
        })
}
