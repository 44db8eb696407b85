//! A proxied web application's settings (`settings.proxy`): where the identity-aware proxy
//! forwards to, the address people use, and the application's own session policy.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The path under an external URL where the proxy receives the OIDC code; it is the proxied
/// application's registered redirect URI.
pub const PROXY_CALLBACK_PATH: &str = "/.trustplane/callback";

/// Longest URL accepted in proxy settings.
const MAX_URL: usize = 2048;
/// Most entries in any list of a session policy.
const MAX_LIST: usize = 64;
/// Longest entry in any list of a session policy.
const MAX_ENTRY: usize = 256;

/// `settings.proxy` of an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxySettings {
    /// Where requests go: `http(s)://host[:port][/base]`.
    pub upstream: String,
    /// What people type: `http(s)://host[:port]`; only this host is served.
    pub external_url: String,
    /// Trustplane's own session policy for the application.
    #[serde(default)]
    pub session_policy: AppSessionPolicy,
}

/// An application's own session policy. It always applies; conditional access's
/// `sessionControls.cloudAppSecurity` adds monitoring (`monitorOnly`, `mcasConfigured`) or
/// download blocking (`blockDownloads`) for the sessions it selects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppSessionPolicy {
    /// Every request goes to the detection pipeline and the person's timeline.
    #[serde(default)]
    pub monitor: bool,
    /// Downloads are refused in every session (not only where conditional access says so).
    #[serde(default)]
    pub block_downloads: bool,
    /// What counts as a download besides `Content-Disposition: attachment`.
    #[serde(default)]
    pub downloads: DownloadRule,
    /// Uploads refused by type or size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_uploads: Option<UploadRule>,
    /// Path prefixes that need a second factor proven recently.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_up_paths: Vec<String>,
}

/// Which responses are downloads: every `Content-Disposition: attachment`, and these.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DownloadRule {
    /// MIME types (`application/pdf`, or `application/*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mime_types: Vec<String>,
    /// Responses at least this large (by `Content-Length`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_bytes: Option<u64>,
}

/// Which uploads are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadRule {
    /// File name extensions, without the dot (`exe`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    /// MIME types of the body or of a multipart part (`application/x-msdownload`, `image/*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mime_types: Vec<String>,
    /// Bodies larger than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
}

fn check_url(field: &str, raw: &str, path_allowed: bool) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|e| format!("settings.proxy.{field}: {e}"))?;
    let ok = raw.len() <= MAX_URL
        && matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && (path_allowed || url.path() == "/");
    if !ok {
        let shape = if path_allowed {
            "http(s)://host[:port][/path]"
        } else {
            "http(s)://host[:port]"
        };
        return Err(format!(
            "settings.proxy.{field}: must be {shape} without credentials, query or fragment"
        ));
    }
    Ok(())
}

fn check_list(field: &str, list: &[String]) -> Result<(), String> {
    if list.len() > MAX_LIST {
        return Err(format!(
            "settings.proxy.sessionPolicy.{field}: at most {MAX_LIST} entries"
        ));
    }
    if let Some(bad) = list.iter().find(|e| {
        e.is_empty() || e.len() > MAX_ENTRY || e.chars().any(|c| c.is_control() || c == ' ')
    }) {
        return Err(format!(
            "settings.proxy.sessionPolicy.{field}: `{bad}` is not a valid entry"
        ));
    }
    Ok(())
}

impl ProxySettings {
    /// The proxy settings of an application, `None` if it has none; `Err` says what is wrong.
    pub fn from_settings(settings: &Map<String, Value>) -> Result<Option<ProxySettings>, String> {
        let Some(raw) = settings.get("proxy") else {
            return Ok(None);
        };
        let s: ProxySettings =
            serde_json::from_value(raw.clone()).map_err(|e| format!("settings.proxy: {e}"))?;
        s.validate()?;
        Ok(Some(s))
    }

    /// Checks the URLs and the bounds of every list.
    pub fn validate(&self) -> Result<(), String> {
        check_url("upstream", &self.upstream, true)?;
        check_url("externalUrl", &self.external_url, false)?;
        let p = &self.session_policy;
        check_list("downloads.mimeTypes", &p.downloads.mime_types)?;
        check_list("stepUpPaths", &p.step_up_paths)?;
        if let Some(bad) = p.step_up_paths.iter().find(|s| !s.starts_with('/')) {
            return Err(format!(
                "settings.proxy.sessionPolicy.stepUpPaths: `{bad}` must start with /"
            ));
        }
        if let Some(u) = &p.block_uploads {
            check_list("blockUploads.extensions", &u.extensions)?;
            check_list("blockUploads.mimeTypes", &u.mime_types)?;
        }
        Ok(())
    }

    /// The external URL without a trailing `/`.
    pub fn origin(&self) -> &str {
        self.external_url.trim_end_matches('/')
    }

    /// The OIDC redirect URI the proxy uses for this application.
    pub fn redirect_uri(&self) -> String {
        format!("{}{PROXY_CALLBACK_PATH}", self.origin())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Option<ProxySettings>, String> {
        ProxySettings::from_settings(v.as_object().unwrap_or(&Map::new()))
    }

    #[test]
    fn a_proxy_needs_two_plain_urls() {
        let ok = parse(json!({"proxy": {"upstream": "http://127.0.0.1:9000/base", "externalUrl": "https://wiki.example.com"}}))
            .unwrap_or_default();
        assert_eq!(
            ok.map(|s| s.redirect_uri()),
            Some("https://wiki.example.com/.trustplane/callback".to_string())
        );
        for bad in [
            json!({"proxy": {"upstream": "ftp://x", "externalUrl": "https://a"}}),
            json!({"proxy": {"upstream": "http://u:p@x", "externalUrl": "https://a"}}),
            json!({"proxy": {"upstream": "http://x", "externalUrl": "https://a/path"}}),
            json!({"proxy": {"upstream": "http://x", "externalUrl": "https://a?q=1"}}),
            json!({"proxy": {"upstream": "http://x"}}),
            json!({"proxy": {"upstream": "http://x", "externalUrl": "https://a", "extra": 1}}),
            json!({"proxy": {"upstream": "http://x", "externalUrl": "https://a",
                "sessionPolicy": {"stepUpPaths": ["admin"]}}}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
        assert_eq!(parse(json!({})), Ok(None));
    }
}
