//! How a proxy is started: where Trustplane is, where to listen, and which applications (by
//! their OIDC client credentials) to serve. The same settings run inside `trustplane serve`
//! (a `[proxy]` table) or as `trustplane proxy --config FILE`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One application the proxy serves; everything else about it (upstream, external URL,
/// session policy) is read from its Trustplane registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppCredentials {
    /// The application's OIDC client id (its `appId`).
    pub client_id: String,
    /// A client secret of the application.
    pub client_secret: String,
}

/// A proxy's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// Trustplane's public URL (the OIDC issuer), e.g. `https://id.example.com`.
    pub trustplane_url: String,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The applications served (one listener serves them all, told apart by `Host`).
    pub apps: Vec<AppCredentials>,
    /// How often a session is checked again with Trustplane (revocation, risk, policies);
    /// a change of the person's address is checked at once.
    #[serde(default = "default_recheck")]
    pub recheck_seconds: u64,
    /// How long the upstream may take to start answering.
    #[serde(default = "default_upstream_timeout")]
    pub upstream_timeout_seconds: u64,
    /// Peers whose `X-Forwarded-For` is believed (a load balancer in front).
    #[serde(default)]
    pub trusted_proxies: Vec<IpAddr>,
    /// A PKCS#8 P-256 key (DER) that signs identity assertions; created there when missing.
    /// Without one, a new key is made at each start.
    #[serde(default)]
    pub signing_key_file: Option<PathBuf>,
}

fn default_recheck() -> u64 {
    5
}

fn default_upstream_timeout() -> u64 {
    30
}

impl ProxyConfig {
    /// Checks what can be checked before starting.
    pub fn validate(&self) -> Result<(), String> {
        let url =
            url::Url::parse(&self.trustplane_url).map_err(|e| format!("trustplane_url: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err("trustplane_url: must be http(s)://host[:port]".into());
        }
        if self.apps.is_empty() {
            return Err("apps: name at least one application (client_id, client_secret)".into());
        }
        if self
            .apps
            .iter()
            .any(|a| a.client_id.is_empty() || a.client_secret.is_empty())
        {
            return Err("apps: every application needs client_id and client_secret".into());
        }
        if !(1..=3600).contains(&self.recheck_seconds) {
            return Err("recheck_seconds: must be between 1 and 3600".into());
        }
        if !(1..=3600).contains(&self.upstream_timeout_seconds) {
            return Err("upstream_timeout_seconds: must be between 1 and 3600".into());
        }
        Ok(())
    }
}
