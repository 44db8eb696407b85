//! What to collect, from where, with which credentials.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A request's progress, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A request (one page, retries included) started.
    Started,
    /// It ended, answered or failed.
    Finished,
}

/// A function told of every request as it starts and ends; it must be quick.
#[derive(Clone)]
pub struct ProgressHook(pub Arc<dyn Fn(Progress) + Send + Sync>);

impl fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressHook")
    }
}

/// Public Azure Resource Manager.
pub const ARM_ENDPOINT: &str = "https://management.azure.com";
/// Public Microsoft Graph.
pub const GRAPH_ENDPOINT: &str = "https://graph.microsoft.com";
/// Public Entra ID (Azure AD) token service.
pub const LOGIN_ENDPOINT: &str = "https://login.microsoftonline.com";

/// How to authenticate.
#[derive(Clone)]
pub enum Credential {
    /// Bearer tokens obtained elsewhere (`az account get-access-token`, a managed identity).
    /// Without a Graph token the Entra ID types are recorded as collection errors.
    Token {
        /// Token for `https://management.azure.com`.
        arm: String,
        /// Token for `https://graph.microsoft.com`, if any.
        graph: Option<String>,
    },
    /// A service principal with a client secret (OAuth2 client-credentials grant).
    /// Certificate credentials are not supported yet.
    ClientSecret {
        /// Directory (tenant) id.
        tenant_id: String,
        /// Application (client) id.
        client_id: String,
        /// Client secret.
        client_secret: String,
    },
}

impl Credential {
    /// From the environment: `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET`
    /// (service principal), else `AZURE_ACCESS_TOKEN` (+ optional `AZURE_GRAPH_ACCESS_TOKEN`).
    pub fn from_env() -> Option<Credential> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        if let (Some(tenant_id), Some(client_id), Some(client_secret)) = (
            var("AZURE_TENANT_ID"),
            var("AZURE_CLIENT_ID"),
            var("AZURE_CLIENT_SECRET"),
        ) {
            return Some(Credential::ClientSecret {
                tenant_id,
                client_id,
                client_secret,
            });
        }
        var("AZURE_ACCESS_TOKEN").map(|arm| Credential::Token {
            arm,
            graph: var("AZURE_GRAPH_ACCESS_TOKEN"),
        })
    }
}

// Secrets never reach logs or panic messages.
impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Token { graph, .. } => f
                .debug_struct("Token")
                .field("arm", &"<redacted>")
                .field("graph", &graph.as_ref().map(|_| "<redacted>"))
                .finish(),
            Credential::ClientSecret {
                tenant_id,
                client_id,
                ..
            } => f
                .debug_struct("ClientSecret")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
        }
    }
}

/// Options of [`crate::collect`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Resource Manager base URL (no trailing path).
    pub arm_endpoint: String,
    /// Microsoft Graph base URL; `/v1.0/...` is appended.
    pub graph_endpoint: String,
    /// Token service base URL; `/{tenant}/oauth2/v2.0/token` is appended.
    pub login_endpoint: String,
    /// Subscriptions to scan; empty = every subscription the credential can see.
    pub subscriptions: Vec<String>,
    /// Credentials.
    pub credential: Credential,
    /// The tenant that Graph documents belong to; default: the service principal's tenant,
    /// else the `tenantId` of the first subscription listed.
    pub tenant_id: Option<String>,
    /// Collect Microsoft Graph (Entra ID) data.
    pub graph: bool,
    /// Requests in flight at once, over all subscriptions.
    pub max_concurrency: usize,
    /// Retries of one request after 429 / 503.
    pub max_retries: u32,
    /// Upper bound on one wait between retries, whatever `Retry-After` asks for.
    pub max_retry_wait: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Told of every request as it starts and ends.
    pub progress: Option<ProgressHook>,
}

impl Options {
    /// Public-cloud endpoints, every visible subscription, 8 requests at once, 4 retries.
    pub fn new(credential: Credential) -> Self {
        Options {
            arm_endpoint: ARM_ENDPOINT.to_string(),
            graph_endpoint: GRAPH_ENDPOINT.to_string(),
            login_endpoint: LOGIN_ENDPOINT.to_string(),
            subscriptions: Vec::new(),
            credential,
            tenant_id: None,
            graph: true,
            max_concurrency: 8,
            max_retries: 4,
            max_retry_wait: Duration::from_secs(60),
            timeout: Duration::from_secs(60),
            progress: None,
        }
    }
}
