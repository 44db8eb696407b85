//! Talking to an upstream provider: its discovery document, its JWKS (cached, fetched again
//! when a token names a key not seen yet: key rotation), and its token endpoint.
//!
//! Every answer is bounded in size and time; redirects are not followed; endpoints must be
//! `https://` (or `http://` on loopback), as the issuer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::settings::check_url;
use super::UpstreamError;

/// Largest answer read from a provider.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// Longest wait for a provider.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a discovery document and JWKS are used before being fetched again.
pub const CACHE_MS: i64 = 60 * 60 * 1000;
/// Shortest gap between two JWKS fetches forced by an unknown key (a flood of tokens with
/// made-up `kid`s must not turn into a flood of fetches).
pub const REFETCH_GAP_MS: i64 = 30 * 1000;

/// What discovery says about a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Where people are sent to sign in.
    pub authorization_endpoint: String,
    /// Where codes are redeemed.
    pub token_endpoint: String,
    /// The provider's keys.
    pub jwks_uri: String,
}

#[derive(Clone)]
struct Cached {
    metadata: Metadata,
    jwks: Value,
    fetched_ms: i64,
    jwks_fetched_ms: i64,
}

/// The HTTP side of upstream sign-in, with a per-provider cache.
pub struct ProviderClient {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
}

impl Default for ProviderClient {
    fn default() -> Self {
        Self::new()
    }
}

impl ProviderClient {
    /// A client that follows no redirects and waits at most [`TIMEOUT`].
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .build()
            .unwrap_or_default();
        ProviderClient {
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, issuer: &str) -> Option<Cached> {
        self.cache.lock().ok().and_then(|c| c.get(issuer).cloned())
    }

    fn remember(&self, issuer: &str, entry: Cached) {
        if let Ok(mut c) = self.cache.lock() {
            // Providers are few; a bound all the same.
            if c.len() > 1000 {
                c.clear();
            }
            c.insert(issuer.to_string(), entry);
        }
    }

    /// The provider's metadata and keys, from the cache while fresh.
    pub async fn metadata(
        &self,
        issuer: &str,
        now_ms: i64,
    ) -> Result<(Metadata, Value), UpstreamError> {
        if let Some(c) = self.cached(issuer) {
            if now_ms - c.fetched_ms < CACHE_MS {
                return Ok((c.metadata, c.jwks));
            }
        }
        let metadata = self.discover(issuer).await?;
        let jwks = self.jwks(&metadata.jwks_uri).await?;
        self.remember(
            issuer,
            Cached {
                metadata: metadata.clone(),
                jwks: jwks.clone(),
                fetched_ms: now_ms,
                jwks_fetched_ms: now_ms,
            },
        );
        Ok((metadata, jwks))
    }

    /// Fetches the JWKS again (a token named a key not in the cached set), unless that was
    /// done within [`REFETCH_GAP_MS`]; `None` when it was not fetched.
    pub async fn refresh_keys(
        &self,
        issuer: &str,
        now_ms: i64,
    ) -> Result<Option<Value>, UpstreamError> {
        let Some(mut c) = self.cached(issuer) else {
            return Ok(None);
        };
        if now_ms - c.jwks_fetched_ms < REFETCH_GAP_MS {
            return Ok(None);
        }
        let jwks = self.jwks(&c.metadata.jwks_uri).await?;
        c.jwks = jwks.clone();
        c.jwks_fetched_ms = now_ms;
        self.remember(issuer, c);
        Ok(Some(jwks))
    }

    /// Reads `{issuer}/.well-known/openid-configuration` and checks it (OpenID Connect
    /// Discovery §4.3: its `issuer` must be the one asked for).
    pub async fn discover(&self, issuer: &str) -> Result<Metadata, UpstreamError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let doc = self.get_json(&url).await?;
        if doc["issuer"].as_str() != Some(issuer) {
            return Err(UpstreamError::Provider(format!(
                "the discovery document names another issuer than `{issuer}`"
            )));
        }
        let endpoint = |name: &'static str| -> Result<String, UpstreamError> {
            let text = doc[name].as_str().ok_or_else(|| {
                UpstreamError::Provider(format!("the discovery document has no {name}"))
            })?;
            check_url(name, text).map_err(|e| UpstreamError::Provider(e.to_string()))?;
            Ok(text.to_string())
        };
        let methods = doc["code_challenge_methods_supported"].as_array();
        if methods.is_some_and(|m| !m.iter().any(|v| v.as_str() == Some("S256"))) {
            return Err(UpstreamError::Provider(
                "the provider does not support PKCE with S256".into(),
            ));
        }
        Ok(Metadata {
            authorization_endpoint: endpoint("authorization_endpoint")?,
            token_endpoint: endpoint("token_endpoint")?,
            jwks_uri: endpoint("jwks_uri")?,
        })
    }

    async fn jwks(&self, uri: &str) -> Result<Value, UpstreamError> {
        let jwks = self.get_json(uri).await?;
        if !jwks["keys"].is_array() {
            return Err(UpstreamError::Provider("the JWKS has no keys".into()));
        }
        Ok(jwks)
    }

    /// Redeems a code (client_secret_basic, with the PKCE verifier); returns the ID token.
    pub async fn redeem(
        &self,
        token_endpoint: &str,
        client_id: &str,
        client_secret: &str,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<String, UpstreamError> {
        // RFC 6749 §2.3.1: the id and secret are form-encoded before the basic encoding.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let answer = self
            .http
            .post(token_endpoint)
            .basic_auth(enc(client_id), Some(enc(client_secret)))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| UpstreamError::Provider(format!("token endpoint: {}", without_url(&e))))?;
        let status = answer.status();
        let body = bounded(answer).await?;
        if !status.is_success() {
            let error = body["error"].as_str().unwrap_or("no error code");
            return Err(UpstreamError::Refused(format!(
                "the provider refused the code: {}",
                error.chars().take(64).collect::<String>()
            )));
        }
        body["id_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| UpstreamError::Provider("the token answer has no id_token".into()))
    }

    async fn get_json(&self, url: &str) -> Result<Value, UpstreamError> {
        let answer = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| UpstreamError::Provider(format!("{url}: {}", without_url(&e))))?;
        if !answer.status().is_success() {
            return Err(UpstreamError::Provider(format!(
                "{url} answered {}",
                answer.status().as_u16()
            )));
        }
        bounded(answer).await
    }
}

/// A transport error's text without the URL (which the caller names itself).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "");
    }
    if e.is_timeout() {
        return "no answer in time".into();
    }
    if e.is_connect() {
        return "cannot connect".into();
    }
    text
}

/// Reads a JSON body of at most [`MAX_ANSWER_BYTES`].
async fn bounded(mut answer: reqwest::Response) -> Result<Value, UpstreamError> {
    if answer
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(UpstreamError::Provider("the answer is too large".into()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(|e| UpstreamError::Provider(without_url(&e)))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(UpstreamError::Provider("the answer is too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body)
        .map_err(|_| UpstreamError::Provider("the answer is not JSON".into()))
}
